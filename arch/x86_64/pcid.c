/* The PCID pool: see pcid.h. */
#include "arch/x86_64/pcid.h"

static int is_used(const struct pcid_pool *p, unsigned i)
{
    return (p->used[i / 64] >> (i % 64)) & 1;
}

void pcid_pool_init(struct pcid_pool *p, unsigned n)
{
    for (unsigned i = 0; i < sizeof p->used / sizeof p->used[0]; i++)
        p->used[i] = 0;
    p->n = n > PCID_POOL_MAX ? PCID_POOL_MAX : n;
    p->next = 1;
    p->live = 0;
    p->shared = 0;
}

unsigned pcid_alloc(struct pcid_pool *p)
{
    if (p->live >= p->n) {
        p->shared++;
        return PCID_SHARED;
    }
    /* round robin from the last one handed out: a freed tag is reused as
     * late as possible (not needed for correctness, its tag was flushed;
     * it spreads the tags, as a hardware TLB may keep some per tag) */
    for (unsigned k = 0; k < p->n; k++) {
        unsigned i = p->next + k;
        if (i > p->n)
            i -= p->n;
        if (!is_used(p, i)) {
            p->used[i / 64] |= 1ULL << (i % 64);
            p->live++;
            p->next = i == p->n ? 1 : i + 1;
            return i;
        }
    }
    p->shared++; /* unreachable while live counts the bits */
    return PCID_SHARED;
}

int pcid_free(struct pcid_pool *p, unsigned pcid)
{
    if (pcid == PCID_SHARED)
        return 0;
    if (pcid == PCID_KERNEL || pcid > p->n || !is_used(p, pcid))
        return -1;
    p->used[pcid / 64] &= ~(1ULL << (pcid % 64));
    p->live--;
    return 0;
}
