/*
 * sigma0: the root pager. The kernel gave it every free frame (mapped at
 * AL_SIGMA0_BASE + physical address) and described them at AL_BOOTINFO.
 * It hands out naturally aligned blocks by map items, remembers which
 * client (badge of the capability it called with) got what, and takes a
 * block back by revoking every mapping derived from it. Device memory is
 * not sigma0's: drivers map it by capability (iomem_map).
 */
#include "user/lib/airlock.h"
#include "abi/airlock/boot.h"
#include "lib/string.h"

#define MAX_PFN    (1UL << 20) /* 4 GiB of RAM */
#define MAX_ALLOCS 8192

static unsigned long freemap[MAX_PFN / 64]; /* bit set: free page */
static unsigned long lo_pfn = MAX_PFN, hi_pfn, nfree, ntotal, hint;
static struct {
    unsigned long pfn, order, owner;
    int used;
} allocs[MAX_ALLOCS];

static int is_free(unsigned long p)
{
    return (freemap[p / 64] >> (p % 64)) & 1;
}
static void set_free(unsigned long p, int f)
{
    if (f)
        freemap[p / 64] |= 1UL << (p % 64);
    else
        freemap[p / 64] &= ~(1UL << (p % 64));
}

static long alloc_block(unsigned order)
{
    unsigned long n = 1UL << (order - 12);
    unsigned long start = order == 12 ? hint : lo_pfn;
    for (int pass = 0; pass < 2; pass++) {
        unsigned long p = (start + n - 1) & ~(n - 1);
        for (; p + n <= hi_pfn; p += n) {
            unsigned long k = 0;
            while (k < n && is_free(p + k))
                k++;
            if (k == n) {
                for (k = 0; k < n; k++)
                    set_free(p + k, 0);
                nfree -= n;
                if (order == 12)
                    hint = p + 1;
                return (long)p;
            }
        }
        start = lo_pfn;
    }
    return -AL_ENOMEM;
}

/* take allocation i back: revoke every mapping derived from it */
static void release(int i)
{
    unsigned long n = 1UL << (allocs[i].order - 12);
    al_unmap(AL_FPAGE(AL_SIGMA0_BASE + allocs[i].pfn * 4096, allocs[i].order), 0);
    for (unsigned long k = 0; k < n; k++)
        set_free(allocs[i].pfn + k, 1);
    nfree += n;
    allocs[i].used = 0;
}

static void reply_err(long e)
{
    al_utcb()->mr[0] = (unsigned long)e;
}

/* handle one request in the UTCB; returns the reply tag */
static unsigned long serve(unsigned long tag, unsigned long badge)
{
    struct al_utcb *u = al_utcb();
    unsigned long label = AL_TAG_LABEL(tag);
    if (label == AL_S0_ALLOC) {
        unsigned long order = u->mr[0], rights = u->mr[1];
        if (order < AL_FPAGE_MIN_ORDER || order > AL_FPAGE_MAX_ORDER || !(rights & AL_MAP_R) || (rights & ~7UL))
            return reply_err(-AL_EINVAL), AL_TAG(1, 0, 1);
        int slot = -1;
        for (int i = 0; i < MAX_ALLOCS && slot < 0; i++)
            if (!allocs[i].used)
                slot = i;
        long p = slot < 0 ? -AL_ENOMEM : alloc_block((unsigned)order);
        if (p < 0)
            return reply_err(p), AL_TAG(1, 0, 1);
        /* a block never carries its previous owner's data */
        memset((void *)(AL_SIGMA0_BASE + (unsigned long)p * 4096), 0, 1UL << order);
        allocs[slot].pfn = (unsigned long)p;
        allocs[slot].order = order;
        allocs[slot].owner = badge;
        allocs[slot].used = 1;
        u->mr[0] = AL_SIGMA0_BASE + (unsigned long)p * 4096; /* the allocation id */
        u->mr[1] = AL_ITEM_MAP | (rights << 8);
        u->mr[2] = AL_FPAGE(AL_SIGMA0_BASE + (unsigned long)p * 4096, order);
        return AL_TAG(1, 1, 0);
    }
    if (label == AL_S0_FREE) {
        unsigned long id = u->mr[0];
        for (int i = 0; i < MAX_ALLOCS; i++)
            if (allocs[i].used && AL_SIGMA0_BASE + allocs[i].pfn * 4096 == id && allocs[i].owner == badge) {
                release(i);
                u->mr[0] = 0;
                return AL_TAG(1, 0, 0);
            }
        return reply_err(-AL_ENOENT), AL_TAG(1, 0, 1);
    }
    if (label == AL_S0_RECLAIM) {
        if (badge != 0)
            return reply_err(-AL_EPERM), AL_TAG(1, 0, 1);
        unsigned long owner = u->mr[0], n = 0;
        for (int i = 0; i < MAX_ALLOCS; i++)
            if (allocs[i].used && allocs[i].owner == owner) {
                release(i);
                n++;
            }
        u->mr[0] = n;
        return AL_TAG(1, 0, 0);
    }
    if (label == AL_S0_INFO) {
        u->mr[0] = nfree;
        u->mr[1] = ntotal;
        return AL_TAG(2, 0, 0);
    }
    return reply_err(-AL_EINVAL), AL_TAG(1, 0, 1);
}

int main(void)
{
    const struct al_sigma0_info *info = (const struct al_sigma0_info *)AL_BOOTINFO;
    if (info->magic != AL_BOOT_MAGIC) {
        printf("sigma0: no memory description\n");
        return 1;
    }
    for (unsigned long i = 0; i < info->nranges; i++) {
        unsigned long p0 = info->range[i].base / 4096, n = info->range[i].npages;
        for (unsigned long p = p0; p < p0 + n && p < MAX_PFN; p++) {
            set_free(p, 1);
            ntotal++;
        }
        if (p0 < lo_pfn)
            lo_pfn = p0;
        if (p0 + n > hi_pfn)
            hi_pfn = p0 + n < MAX_PFN ? p0 + n : MAX_PFN;
    }
    nfree = ntotal;
    hint = lo_pfn;
    printf("sigma0: %lu pages (%lu MiB) to hand out\n", ntotal, ntotal / 256);
    struct al_utcb *u = al_utcb();
    long r = al_ipc(AL_IPC_RECV, 0, 0, AL_SLOT_SIGMA0, AL_TIMEOUT_NEVER);
    for (;;) {
        if (r) {
            r = al_ipc(AL_IPC_RECV, 0, 0, AL_SLOT_SIGMA0, AL_TIMEOUT_NEVER);
            continue;
        }
        unsigned long label = AL_TAG_LABEL(u->tag);
        unsigned long reply = serve(u->tag, u->badge);
        if (AL_TAG_ITEMS(reply)) {
            /* a mapping: if it cannot be delivered, take the block back */
            unsigned long id = u->mr[0];
            if (al_ipc(AL_IPC_REPLY, -1, reply, 0, 0) != 0 && label == AL_S0_ALLOC)
                for (int i = 0; i < MAX_ALLOCS; i++)
                    if (allocs[i].used && AL_SIGMA0_BASE + allocs[i].pfn * 4096 == id)
                        release(i);
            r = al_ipc(AL_IPC_RECV, 0, 0, AL_SLOT_SIGMA0, AL_TIMEOUT_NEVER);
        } else {
            r = al_ipc(AL_IPC_REPLY_RECV, 0, reply, AL_SLOT_SIGMA0, AL_TIMEOUT_NEVER);
        }
    }
}
