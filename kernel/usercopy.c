#include "kernel/usercopy.h"
#include "kernel/task.h"
#include "abi/airlock/errno.h"
#include "abi/airlock/layout.h"
#include <arch/paging.h>
#include "lib/string.h"

/* check every page of [ua, ua+len) for the access; returns 0 or -EFAULT */
static int check_pages(struct task *t, uint64_t ua, uint64_t len, uint64_t need)
{
    if (!user_range_ok(ua, len))
        return -AL_EFAULT;
    if (!len)
        return 0;
    for (uint64_t p = ua & ~0xfffULL; p < ua + len; p += 4096) {
        uint64_t pte = pt_lookup(t->pml4, p, NULL);
        if ((pte & (PTE_P | PTE_U | need)) != (PTE_P | PTE_U | need))
            return -AL_EFAULT;
    }
    return 0;
}

static int copy(struct task *t, uint64_t ua, void *kbuf, size_t len, int to_user)
{
    int r = check_pages(t, ua, len, to_user ? PTE_W : 0);
    if (r)
        return r;
    char *k = kbuf;
    while (len) {
        uint64_t pte = pt_lookup(t->pml4, ua, NULL);
        uint64_t off = ua & 0xfff;
        size_t n = 4096 - off < len ? 4096 - off : len;
        char *u = (char *)p2v((pte & PTE_ADDR) + off);
        if (to_user)
            memcpy(u, k, n);
        else
            memcpy(k, u, n);
        k += n;
        ua += n;
        len -= n;
    }
    return 0;
}

int copy_from_user(struct task *t, void *dst, uint64_t usrc, size_t len)
{
    return copy(t, usrc, dst, len, 0);
}

int copy_to_user(struct task *t, uint64_t udst, const void *src, size_t len)
{
    return copy(t, udst, (void *)src, len, 1);
}
