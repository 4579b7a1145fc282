/*
 * Capabilities. Each task has a capability space: AL_CSPACE_SLOTS slots,
 * each empty or naming one kernel object with rights and a badge. A task
 * can name only what its slots hold. Derived capabilities (cap_copy, IPC
 * transfer) are linked into a derivation tree, so revoking a capability
 * deletes everything derived from it, in every task.
 *
 * Object lifetime: endpoints are reference counted by their capabilities;
 * the last deletion destroys the endpoint and cancels its waiters. Reply
 * capabilities are one-shot and name a caller blocked for its reply.
 *
 * Locking: BKL.
 */
#ifndef KERNEL_CAP_H
#define KERNEL_CAP_H
#include <stdint.h>
#include "abi/airlock/ipc.h"

struct task;
struct thread;

struct cap {
    uint8_t type; /* enum al_cap_type */
    uint8_t rights;
    uint16_t pad;
    union {
        uint32_t reply_gen; /* reply caps: the call they answer */
        struct {
            uint16_t first, last; /* ioport caps: the ports [first, last] */
        } ports;
    };
    uint64_t badge;
    void *obj;
    struct cap *parent, *child, *next, *prev; /* derivation tree */
    /* the task whose capability space this slot is in (NULL: a slot in a
     * thread object, the fault handler's). Set when the space is created
     * and kept while capabilities come and go: not part of the content
     * that install, derive and delete write. */
    struct task *holder;
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct cap) == 64, "a capability slot is 64 bytes");

struct cspace {
    struct cap slot[AL_CSPACE_SLOTS];
};

int cspace_create(struct task *t);
void cspace_destroy(struct task *t);
/* the slot, if idx is in range (any content), else NULL */
struct cap *cap_slot(struct task *t, uint64_t idx);
/* the slot if it holds a cap of type `type` with all of `rights`, else
 * NULL and *err = -AL_EBADCAP (empty/wrong type/out of range) or -AL_EPERM */
struct cap *cap_lookup(struct task *t, uint64_t idx, int type, int rights, long *err);
/* make dst (empty) a child of src with rights & mask; a badge may be set
 * only on an unbadged endpoint capability */
int cap_derive(struct cap *src, struct cap *dst, int rights_mask, uint64_t badge);
/* install a new root capability for obj (dst must be empty) */
void cap_install(struct cap *dst, int type, int rights, void *obj, uint64_t badge);
/* the same for I/O-port capabilities, which carry their range [first,
 * last] in the slot: a new root (cap_install_ports) and a child naming a
 * sub-range of src (cap_derive_ports; the caller checked the range) */
void cap_install_ports(struct cap *dst, int rights, unsigned first, unsigned last);
int cap_derive_ports(struct cap *src, struct cap *dst, int rights_mask, unsigned first, unsigned last);
void cap_delete(struct cap *c); /* revokes its descendants too */
/* type, rights, badge and the object's id for cap_info (not `object`) */
void cap_describe(const struct cap *c, struct al_cap_info *info);
void cap_revoke(struct cap *c); /* deletes all descendants, keeps c */
#endif
