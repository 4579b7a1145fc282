/*
 * Kernel object types behind capabilities: one table, indexed by
 * enum al_cap_type, gives each type's operations. Capability code
 * (kernel/cap.c) calls only these; adding an object type means writing its
 * ops in its own file and adding one line to the table in kernel/object.c.
 *
 * Contracts (all called with the big kernel lock held, interrupts off):
 * - ref(obj): a new capability names obj (install or derive).
 * - release(c, obj): the capability in slot c that named obj was deleted.
 *   The slot is already unlinked and empty (only its address and holder
 *   still identify it); the type drops the reference and destroys obj when its
 *   lifetime rule says so (see each type). It may delete other
 *   capabilities (a destroyed task's), never c's derivation tree.
 * - describe(c, info): fills the type-specific part of struct
 *   al_cap_info (the id); may be NULL (id 0).
 * - prepare(dst): may be NULL. Before a capability of this type is
 *   derived into the empty slot dst (which may fail: -AL_Exxx, nothing
 *   changed), e.g. to allocate what the slot's holder needs for it.
 * - installed(c): may be NULL. The slot c has just been filled (by
 *   cap_install or a derivation) and linked; c->holder is its task.
 */
#ifndef KERNEL_OBJECT_H
#define KERNEL_OBJECT_H
#include "abi/airlock/ipc.h"

struct cap;

struct obj_ops {
    const char *name;
    void (*ref)(void *obj);
    void (*release)(struct cap *c, void *obj);
    void (*describe)(const struct cap *c, struct al_cap_info *info);
    int (*prepare)(struct cap *dst);
    void (*installed)(struct cap *c);
};

/* indexed by enum al_cap_type; NULL for AL_CAP_NONE and unknown types */
extern const struct obj_ops *const obj_types[AL_CAP_TYPES];

/* each type's operations, defined in its own file */
extern const struct obj_ops endpoint_ops; /* kernel/endpoint.c */
extern const struct obj_ops reply_ops;    /* kernel/endpoint.c */
extern const struct obj_ops task_ops;     /* kernel/task.c */
extern const struct obj_ops thread_ops;   /* kernel/thread.c */
extern const struct obj_ops ioport_ops;   /* kernel/ioport.c */
extern const struct obj_ops irq_control_ops; /* kernel/irqobj.c */
extern const struct obj_ops irq_ops;         /* kernel/irqobj.c */
extern const struct obj_ops iomem_ops;       /* kernel/iomem.c */
#endif
