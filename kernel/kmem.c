/* Kernel-memory budgets: see kmem.h. */
#include "kernel/kmem.h"

/* unlimited until system_start sets it to what it handed out */
struct kmem kmem_kernel = {.limit = UINT64_MAX / 2, .in_use = 1};
struct kmem *kmem_payer;
int kmem_refused;

static struct kmem pool[KMEM_RECORDS];
static unsigned records;
static unsigned long more_bytes; /* given by kmem_records_add */
static struct kmem *free_list; /* linked through parent; NULL and !pool_ready: not built yet */
static int pool_ready;

void kmem_kernel_init(uint64_t limit)
{
    kmem_kernel.limit = limit;
}

unsigned kmem_records(void)
{
    return records;
}

void kmem_records_add(void *mem, unsigned long bytes)
{
    struct kmem *r = mem;
    for (unsigned long i = bytes / sizeof *r; i-- > 0;) {
        r[i] = (struct kmem){.parent = free_list};
        free_list = &r[i];
    }
    more_bytes += bytes;
}

unsigned long kmem_records_added(void)
{
    return more_bytes;
}

void kmem_release(struct kmem *k)
{
    /* iteratively: the parent may be a dead record emptied by this */
    while (k && k != &kmem_kernel && k->dead && k->used == 0 && k->children == 0) {
        struct kmem *p = k->parent;
        uint64_t lim = k->limit;
        *k = (struct kmem){.parent = free_list};
        free_list = k;
        records--;
        p->children--;
        p->used -= lim;
        k = p;
    }
}

/* invariant: (nodes + node_room) % KMEM_NODES_PER_FRAME == 0, node_room < 2 * KMEM_NODES_PER_FRAME */
long kmem_charge_node_slow(struct kmem *k)
{
    if (!k)
        return 0;
    if (!k->node_room) {
        long r = kmem_charge(k, 1);
        if (r)
            return r;
        k->node_room = KMEM_NODES_PER_FRAME;
    }
    k->node_room--;
    k->nodes++;
    return 0;
}

void kmem_uncharge_node_slow(struct kmem *k)
{
    if (!k || !k->nodes)
        return;
    k->nodes--;
    if (++k->node_room == 2 * KMEM_NODES_PER_FRAME) {
        k->node_room = KMEM_NODES_PER_FRAME;
        kmem_uncharge(k, 1);
    }
}

void kmem_nodes_gone(struct kmem *k)
{
    if (!k || k->nodes)
        return;
    uint64_t frames = k->node_room / KMEM_NODES_PER_FRAME;
    k->node_room = 0;
    kmem_uncharge(k, frames);
}

struct kmem *kmem_new(struct kmem *parent, uint64_t limit, unsigned id, long *err)
{
    if (!pool_ready) {
        for (unsigned i = KMEM_RECORDS; i-- > 0;) {
            pool[i].parent = free_list;
            free_list = &pool[i];
        }
        pool_ready = 1;
    }
    struct kmem *k = free_list;
    if (!k) {
        *err = -12;
        return 0;
    }
    long r = kmem_charge(parent, limit);
    if (r) {
        *err = r;
        return 0;
    }
    free_list = k->parent;
    *k = (struct kmem){.limit = limit, .parent = parent, .id = id, .in_use = 1};
    parent->children++;
    records++;
    return k;
}

long kmem_set_limit(struct kmem *k, uint64_t limit)
{
    if (limit < k->used)
        return -22;
    if (limit > k->limit) {
        long r = kmem_charge(k->parent, limit - k->limit);
        if (r)
            return r;
    } else {
        k->parent->used -= k->limit - limit;
    }
    k->limit = limit;
    return 0;
}

void kmem_task_gone(struct kmem *k)
{
    k->dead = 1;
    kmem_release(k);
}
