/*
 * The shared-line and storm logic of one interrupt line; contract in
 * kernel/irqline.h. Pure (host-tested): the caller holds the BKL.
 */
#include "kernel/irqline.h"
#include "abi/airlock/errno.h"

static uint32_t bit(unsigned id)
{
    return (uint32_t)1 << id;
}

int irqline_join(struct irqline *l, unsigned id, int shared, int level, unsigned flags)
{
    if (id >= IRQLINE_MAX_MEMBERS || (l->members & bit(id)))
        return -AL_EINVAL;
    if (!l->members) {
        *l = (struct irqline){.members = bit(id), .shared = !!shared, .level = !!level, .flags = flags};
        return 0;
    }
    if (!shared || !l->shared || flags != l->flags || !!level != l->level)
        return -AL_EBUSY; /* held alone, or by others in another way */
    l->members |= bit(id);
    return 0;
}

unsigned irqline_leave(struct irqline *l, unsigned id)
{
    if (id >= IRQLINE_MAX_MEMBERS)
        return 0;
    l->members &= ~bit(id);
    l->bound &= ~bit(id);
    l->owing &= ~bit(id);
    unsigned n = 0;
    for (uint32_t m = l->members; m; m &= m - 1)
        n++;
    return n;
}

void irqline_bind(struct irqline *l, unsigned id)
{
    if (id < IRQLINE_MAX_MEMBERS)
        l->bound |= bit(id) & l->members;
}

void irqline_unbind(struct irqline *l, unsigned id)
{
    if (id < IRQLINE_MAX_MEMBERS) {
        l->bound &= ~bit(id);
        l->owing &= ~bit(id);
    }
}

void irqline_sent(struct irqline *l, unsigned id)
{
    if (id < IRQLINE_MAX_MEMBERS)
        l->owing |= bit(id) & l->bound;
}

void irqline_acked(struct irqline *l, unsigned id)
{
    if (id < IRQLINE_MAX_MEMBERS)
        l->owing &= ~bit(id);
}

int irqline_arrival(struct irqline *l, uint64_t epoch)
{
    l->arrivals++;
    if (!l->level)
        return 0;
    if (epoch != l->epoch) {
        l->epoch = epoch;
        l->burst = 0;
    }
    if (++l->burst < IRQLINE_STORM_LIMIT || l->throttled)
        return 0;
    l->throttled = 1;
    l->throttles++;
    return 1;
}

int irqline_tick(struct irqline *l)
{
    int was = l->throttled;
    l->throttled = 0;
    return was;
}

int irqline_want(const struct irqline *l)
{
    return l->bound && !l->throttled && !(l->level && l->owing);
}
