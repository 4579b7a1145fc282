/*
 * Hostile system-call arguments: every call must fail with the documented
 * error (and the kernel must survive). Output: KTAP subtests.
 */
#include "user/lib/airlock.h"

static char buf[64] = "a valid buffer\n";

static long wr(const void *p, unsigned long n)
{
    return al_debug_write(p, n);
}
static long wr80(const void *p, unsigned long n)
{
    return al_int80_6(AL_SYS_debug_write, (long)p, (long)n, 0, 0, 0, 0);
}

int main(void)
{
    struct al_stats st;
    /* nothing is mapped above the initial stack */
    const uint64_t stack_top = AL_USER_STACK_TOP;
    const struct {
        const char *name;
        uint64_t ptr, len;
    } bad[] = {
        {"NULL", 0, 1},
        {"NULL length 0", 0, 0},
        {"below the user window", 0xfff, 1},
        {"kernel text", AL_KERNEL_BASE + 0x100000, 16},
        {"direct map", AL_DIRECT_MAP, 16},
        {"trampoline", AL_TRAMPOLINE, 16},
        {"kernel stacks", AL_KSTACK_REGION, 16},
        {"non-canonical", 0x0000800000000000ULL, 16},
        {"non-canonical high", 0x8000000000000000ULL, 16},
        {"all ones", ~0ULL, 1},
        {"straddles the user/kernel boundary", AL_USER_HI - 8, 16},
        {"straddles the canonical hole", 0x00007ffffffffff0ULL, 32},
        {"length wraps the address space", (uint64_t)buf, ~0ULL - 4},
        {"unmapped user page", 0x10000000, 16},
        {"straddles into an unmapped page", stack_top - 8, 16},
    };
    int n = (int)(sizeof bad / sizeof bad[0]);
    ktap_plan(2 * n + 8);
    for (int i = 0; i < n; i++) {
        long r = wr((const void *)bad[i].ptr, bad[i].len);
        long want = bad[i].len > (1UL << 20) ? -AL_E2BIG : -AL_EFAULT;
        ktap_result(r == want, "debug_write %s -> %ld", bad[i].name, r);
        r = wr80((const void *)bad[i].ptr, bad[i].len);
        ktap_result(r == want, "int80 debug_write %s -> %ld", bad[i].name, r);
    }
    ktap_result(wr(buf, 15) == 15, "debug_write of a valid buffer");
    ktap_result(wr((const void *)(stack_top - 1), 1) == 1, "debug_write of the last mapped byte");
    ktap_result(al_stats((struct al_stats *)AL_KERNEL_BASE, sizeof st) == -AL_EFAULT, "stats into kernel memory");
    ktap_result(al_stats((struct al_stats *)0x401000, sizeof st) == -AL_EFAULT, "stats into read-only text");
    ktap_result(al_stats(&st, 0) == -AL_EINVAL, "stats with size 0");
    ktap_result(al_stats(&st, sizeof st) == (long)sizeof st && st.syscalls > 0, "stats works");
    ktap_result(al_syscall6(AL_SYS_COUNT, 0, 0, 0, 0, 0, 0) == -AL_ENOSYS, "unknown syscall number");
    ktap_result(al_syscall6(-1L, 0, 0, 0, 0, 0, 0) == -AL_ENOSYS &&
                    al_int80_6(1L << 40, 0, 0, 0, 0, 0, 0) == -AL_ENOSYS,
                "negative and huge syscall numbers");
    return ktap_failures();
}
