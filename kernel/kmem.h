/*
 * kernel/kmem.h - kernel-memory budgets (issue 12; docs/ARCHITECTURE.md,
 * section 11.12).
 *
 * Every task has a budget record, counted in 4 KiB frames: limit (what its
 * creator gave it), used (frames its objects hold, plus the limits of the
 * budgets it handed to its children) and peak. A charge beyond the limit is
 * refused (-AL_EDQUOT); the record of a task that died stays until its last
 * charged object is gone (an endpoint whose capability lives on in another
 * task), then its limit goes back to its parent. A chain of budgets can
 * only shrink: a child's limit is part of its parent's used.
 *
 * Mapping-database nodes are smaller than a frame: a record counts them and
 * charges one frame per KMEM_NODES_PER_FRAME (rounded up).
 *
 * Pure bookkeeping: no frames are allocated here (the records come from a
 * static pool), so tests/host/test_kmem.c runs this file as it is.
 * Locking: big kernel lock (no internal locking).
 */
#ifndef KERNEL_KMEM_H
#define KERNEL_KMEM_H
#include <stdint.h>

#define KMEM_RECORDS         1024         /* records alive at once (tasks, and dead tasks with objects left) */
#define KMEM_NODES_PER_FRAME 56           /* 4096 / sizeof(struct mapnode) */
#define KMEM_EDQUOT          122          /* = AL_EDQUOT */
#define KMEM_BOOT_TASK       (1ULL << 40) /* sigma0's and root's limits while the kernel builds them */
#define KMEM_SIGMA0_SPARE    256          /* sigma0's budget beyond what its boot mappings took */
#define KMEM_CHILD_DEFAULT   64           /* a task_create'd task's budget, until kmem_set changes it */

struct kmem {
    uint64_t limit, used, peak;
    uint64_t nodes;     /* mapping-database nodes charged */
    uint64_t node_room; /* nodes that fit the node frames charged, beyond `nodes` (< 2 frames' worth) */
    uint64_t tables;    /* page tables charged (freed with the address space) */
    uint64_t pages;     /* kernel-made user pages charged (UTCBs, images) */
    struct kmem *parent;
    unsigned children; /* live records whose parent this is */
    unsigned id;       /* the task's id (0: the kernel's record) */
    int dead;          /* its task was destroyed */
    int in_use;        /* pool slot taken */
};

/* the kernel's own record: the root of every chain (limit set by
 * kmem_kernel_init, then sigma0's and the root task's limits are in its
 * used) */
extern struct kmem kmem_kernel;
void kmem_kernel_init(uint64_t limit);

/* a new record under parent with the given limit, charged to parent
 * (-KMEM_EDQUOT if parent cannot pay, NULL with *err = -12 if the pool is
 * empty) */
struct kmem *kmem_new(struct kmem *parent, uint64_t limit, unsigned id, long *err);
/* its task is gone: the record goes once nothing is charged to it */
void kmem_task_gone(struct kmem *k);
/* change a record's limit: the difference moves from or to its parent.
 * -KMEM_EDQUOT if the parent cannot pay, -22 if limit < used. */
long kmem_set_limit(struct kmem *k, uint64_t limit);

/* a dead record with nothing charged goes (its limit back to its parent) */
void kmem_release(struct kmem *k);

/* charge n frames: 0, or -KMEM_EDQUOT (nothing charged). k NULL: the
 * kernel's own allocations, not counted. Inline: the string and map paths
 * charge. Invariant: used <= limit. */
static inline long kmem_charge(struct kmem *k, uint64_t n)
{
    if (!k)
        return 0;
    if (n > k->limit - k->used)
        return -KMEM_EDQUOT;
    k->used += n;
    if (k->used > k->peak)
        k->peak = k->used;
    return 0;
}

static inline void kmem_uncharge(struct kmem *k, uint64_t n)
{
    if (!k)
        return;
    k->used = n > k->used ? 0 : k->used - n; /* never wraps */
    if (k->dead && k->used == 0)
        kmem_release(k);
}
/* one mapping-database node: inline, on the page-fault path. A frame is
 * charged when a node does not fit those charged; one is given back only
 * when two frames' worth are free, so that a map and an unmap in turn do
 * not charge and give back a frame each time (the frames charged are
 * (nodes + node_room) / KMEM_NODES_PER_FRAME); kmem_nodes_gone gives back
 * the rest when the task's last node has gone */
long kmem_charge_node_slow(struct kmem *k);
void kmem_uncharge_node_slow(struct kmem *k);
static inline long kmem_charge_node(struct kmem *k)
{
    if (k && k->node_room) {
        k->node_room--;
        k->nodes++;
        return 0;
    }
    return kmem_charge_node_slow(k);
}
static inline void kmem_uncharge_node(struct kmem *k)
{
    if (k && k->node_room < 2 * KMEM_NODES_PER_FRAME - 1 && k->nodes) {
        k->node_room++;
        k->nodes--;
        return;
    }
    kmem_uncharge_node_slow(k);
}

/* the task's nodes are all gone (task_destroy): the spare node frame back */
void kmem_nodes_gone(struct kmem *k);

/* records in use (for the leak tests) */
unsigned kmem_records(void);
/* more records, carved out of mem (bytes long, aligned for struct kmem),
 * which stays the records' for good: the kernel gives a frame when the
 * pool is empty (task_create), so the pool never limits the number of
 * tasks, the budgets do; kmem_records_added says how many bytes it has
 * had (al_stats' cache_frames counts them) */
void kmem_records_add(void *mem, unsigned long bytes);
unsigned long kmem_records_added(void);

/* The payer of the page tables that pt_map allocates (kernel/map.h
 * kmem_pt_map sets it for the call; the arch allocator charges it). */
extern struct kmem *kmem_payer;
extern int kmem_refused; /* set when a table was refused for the payer's budget */
#endif
