/*
 * The pool of process-context identifiers (PCIDs) for user address spaces:
 * pure logic, host-tested (tests/host/test_pcid.c).
 *
 * PCID 0 is the kernel's (the tag of every entry made before CR4.PCIDE
 * was set, SDM Vol. 3A 4.10.1). User spaces get 1..n from the pool. When
 * none is free, a space gets PCID_SHARED, the last tag, which all such
 * spaces share: their CR3 value does not set the no-flush bit, so each
 * load of one of them drops what another left under that tag
 * (docs/ARCHITECTURE.md section 10.6, decision 56). A PCID comes back to
 * the pool only after its space is gone and its tag was invalidated on
 * every CPU that may hold it (tlb_space_free), so a new owner never finds
 * an old owner's translations.
 *
 * Locking: the caller's (the big kernel lock in the kernel).
 */
#ifndef ARCH_X86_64_PCID_H
#define ARCH_X86_64_PCID_H
#include <stdint.h>

#define PCID_KERNEL    0u
#define PCID_SHARED    4095u /* the overflow tag, shared, flushed on every load */
#define PCID_POOL_MAX  4094u /* 1..4094 */

struct pcid_pool {
    uint64_t used[4096 / 64]; /* bit p: PCID p is owned by a space */
    unsigned n;               /* PCIDs 1..n may be handed out */
    unsigned next;            /* where the next search starts (round robin) */
    unsigned live;            /* PCIDs handed out and not yet freed */
    uint64_t shared;          /* spaces given PCID_SHARED (a count, for reports) */
};

/* n: how many tags (1..PCID_POOL_MAX; larger values are clamped, 0 means
 * none: every space shares PCID_SHARED) */
void pcid_pool_init(struct pcid_pool *p, unsigned n);
/* a free PCID in 1..n, or PCID_SHARED when none is free */
unsigned pcid_alloc(struct pcid_pool *p);
/* give a PCID back (its tag must have been invalidated everywhere);
 * PCID_SHARED is not the pool's and is ignored. Returns -1 for a PCID
 * that is not handed out (a caller's bug), 0 otherwise. */
int pcid_free(struct pcid_pool *p, unsigned pcid);
#endif
