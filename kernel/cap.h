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
    union {
        uint64_t badge; /* endpoint caps (0 elsewhere, except:) */
        struct {
            uint32_t first, last; /* iomem caps: the page frames [first, last] */
        } mem;
    };
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
/* the slot idx of t if it is empty, else NULL and *err = -AL_EBADCAP (out
 * of range) or -AL_EEXIST (full): where a call puts a new capability */
struct cap *cap_empty_slot(struct task *t, uint64_t idx, long *err);
/* the checks the calls that derive a sub-range share (ioport_derive,
 * iomem_derive), in their documented order: slot src of t holds a
 * capability of `type` with AL_R_CONTROL, slot dst is empty, rights has
 * only AL_R_ALL bits. 0 with *srcp and *dstp set, or the error. */
long cap_derive_args(struct task *t, uint64_t src, uint64_t dst, uint64_t rights, int type, struct cap **srcp,
                     struct cap **dstp);
/* the slot if it holds a cap of type `type` with all of `rights`, else
 * NULL and *err = -AL_EBADCAP (empty/wrong type/out of range) or -AL_EPERM */
struct cap *cap_lookup(struct task *t, uint64_t idx, int type, int rights, long *err);
/* make dst (empty) a child of src with rights & mask; a badge may be set
 * only on an unbadged endpoint capability */
int cap_derive(struct cap *src, struct cap *dst, int rights_mask, uint64_t badge);
/* install a new root capability for obj (dst must be empty) */
void cap_install(struct cap *dst, int type, int rights, void *obj, uint64_t badge);
/* the same for the types that carry a range in the slot (I/O ports:
 * ports [first, last]; device memory: page frames [first, last]): a new root
 * (cap_install_range) and a child naming a sub-range of src
 * (cap_derive_range; the caller checked the range) */
void cap_install_range(struct cap *dst, int type, int rights, void *obj, uint32_t first, uint32_t last);
int cap_derive_range(struct cap *src, struct cap *dst, int rights_mask, uint32_t first, uint32_t last);
void cap_delete(struct cap *c); /* revokes its descendants too */
/* type, rights, badge and the object's id for cap_info (not `object`) */
void cap_describe(const struct cap *c, struct al_cap_info *info);
void cap_revoke(struct cap *c); /* deletes all descendants, keeps c */
#endif
