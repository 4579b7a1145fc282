/* Capability system calls. Slots are indices into the caller's cspace. BKL held. */
#include "kernel/syscall.h"
#include "kernel/cap.h"
#include "kernel/thread.h"
#include "kernel/task.h"
#include "kernel/cpu.h"
#include "kernel/usercopy.h"
#include "abi/airlock/errno.h"
#include "lib/string.h"
#include <arch/cpu.h>

static struct cap *full_slot(uint64_t idx, long *err)
{
    struct cap *c = cap_slot(current()->task, idx);
    if (!c || !c->type) {
        *err = -AL_EBADCAP;
        return NULL;
    }
    return c;
}

/* cap_copy(src, dst, rights, badge): derive a copy with rights & mask */
SYSCALL_DEFINE(cap_copy)
{
    long err = 0;
    struct cap *src = full_slot(a0, &err);
    if (!src)
        return err;
    struct cap *dst = cap_slot(current()->task, a1);
    if (!dst)
        return -AL_EBADCAP;
    if (a2 & ~(uint64_t)AL_R_ALL)
        return -AL_EINVAL;
    return cap_derive(src, dst, (int)a2, a3);
}

SYSCALL_DEFINE(cap_delete)
{
    struct cap *c = cap_slot(current()->task, a0);
    if (!c)
        return -AL_EBADCAP;
    cap_delete(c); /* deleting an empty slot is allowed and does nothing */
    return 0;
}

SYSCALL_DEFINE(cap_revoke)
{
    long err = 0;
    struct cap *c = full_slot(a0, &err);
    if (!c)
        return err;
    cap_revoke(c);
    return 0;
}

SYSCALL_DEFINE(cap_info)
{
    long err = 0;
    struct cap *c = full_slot(a0, &err);
    if (!c)
        return err;
    struct al_cap_info info;
    memset(&info, 0, sizeof info);
    cap_describe(c, &info);
    /* an identity that does not reveal the kernel address: keyed with a
     * secret taken at boot */
    static uint64_t secret;
    if (!secret)
        secret = rdtsc() * 0x9e3779b97f4a7c15ULL | 1;
    uint64_t x = (uint64_t)c->obj ^ secret;
    x = (x ^ (x >> 31)) * 0xbf58476d1ce4e5b9ULL;
    info.object = (x ^ (x >> 29)) * secret;
    return copy_to_user(current()->task, a1, &info, sizeof info);
}
