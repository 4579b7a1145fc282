/*
 * System-call fuzzer: thousands of calls with random numbers and arguments
 * drawn from hostile values (NULL, kernel, trampoline and non-canonical
 * addresses, straddling ranges, huge lengths, bad slots, negative numbers).
 * The kernel must answer every one with a result or a documented error and
 * never panic. Calls that would legitimately stop the fuzzer itself (exit,
 * long sleeps, blocking IPC, suspending itself, unmapping its own image)
 * are tamed; everything else goes through as drawn.
 *   fuzz [iterations] [seed]
 */
#include "user/lib/airlock.h"

static uint64_t rng;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* the fuzzer's target buffer: two pages from sigma0 with nothing mapped
 * around them, so calls that write past it fault in the kernel's checks
 * rather than overwrite the fuzzer */
#define BUF      0x30000000UL
#define BUF_SIZE 8192
static volatile unsigned long canary[64];

static void quick_exit_thread(void *arg)
{
    (void)arg;
    for (;;)
        al_exit(0);
}

static uint64_t value(void)
{
    static const uint64_t pool[] = {
        0,
        1,
        2,
        3,
        7,
        8,
        15,
        16,
        255,
        256,
        4096,
        4097,
        (uint64_t)-1,
        (uint64_t)-2,
        (uint64_t)-4096,
        0x7fffffffffffffffULL,
        0x8000000000000000ULL,
        0xffffffff,
        0x100000000ULL,
        AL_KERNEL_BASE,
        AL_KERNEL_BASE + 0x100000,
        AL_DIRECT_MAP,
        AL_TRAMPOLINE,
        AL_TRAMP_CPU_AREAS,
        AL_KSTACK_REGION,
        0x0000800000000000ULL,
        0x00007ffffffff000ULL,
        AL_USER_HI - 8,
        AL_USER_LO - 1,
        AL_UTCB_BASE,
        AL_UTCB_BASE + 4096,
        AL_USER_STACK_TOP - 8,
        AL_USER_STACK_TOP,
        0x400000,
        0x401000,
        0x30000000,
        AL_FPAGE(0x30000000, 12),
        AL_FPAGE(0x30000000, 22),
        AL_FPAGE(0x400000, 12),
        AL_FPAGE(AL_KERNEL_BASE, 12),
        AL_TAG(3, 0, 1),
        AL_TAG(70, 0, 0),
        AL_TAG(1, 1, 0),
        AL_TAG(0, 5, 0),
    };
    switch (rnd() % 6) {
    case 0:
        return BUF + rnd() % BUF_SIZE;
    case 1:
        return rnd();
    case 2:
        return rnd() % 300;
    default:
        return pool[rnd() % (sizeof pool / sizeof pool[0])];
    }
}

int main(int argc, char **argv)
{
    int ok;
    long iters = argc > 1 ? strtol_simple(argv[1], &ok) : 20000;
    rng = argc > 2 ? (uint64_t)strtol_simple(argv[2], &ok) : 0x1234567;
    if (!rng)
        rng = 1;
    long self = al_thread_self();
    if (mem_alloc((void *)BUF, 13, AL_MAP_RW) < 0) {
        printf("fuzz: no memory\n");
        return 1;
    }
    for (int i = 0; i < 64; i++)
        canary[i] = 0xc0ffee00 + (unsigned long)i;
    ktap_plan(4);
    unsigned long errs = 0, oks = 0;
    for (long i = 0; i < iters; i++) {
        uint64_t nr = rnd() % (AL_SYS_COUNT + 3);
        uint64_t a[6];
        for (int k = 0; k < 6; k++)
            a[k] = value();
        switch (nr) {
        case AL_SYS_exit:
            continue;
        case AL_SYS_debug_write:
            /* bad pointers and lengths go through; a readable buffer prints
             * nothing (its contents are random bytes) */
            if (al_map_info(a[0]) >= 0)
                a[1] = 0;
            break;
        case AL_SYS_thread_create:
        case AL_SYS_thread_create_in:
            a[nr == AL_SYS_thread_create ? 0 : 1] = (uint64_t)quick_exit_thread;
            break;
        case AL_SYS_thread_suspend:
        case AL_SYS_thread_join:
            if (a[0] == 0 || a[0] == (uint64_t)self)
                continue;
            break;
        case AL_SYS_sleep:
            if (a[0] <= 3600ULL * 1000000000ULL)
                a[0] %= 2000000;
            break;
        case AL_SYS_ipc:
            if ((int64_t)a[4] >= -1 && (int64_t)a[4] <= 3600LL * 1000000000LL)
                a[4] = 0; /* never block: there is no partner */
            break;
        case AL_SYS_task_wait:
            break;
        case AL_SYS_unmap:
            a[1] &= ~(uint64_t)AL_UNMAP_SELF; /* keep our own image and stack */
            break;
        case AL_SYS_thread_control:
            if (a[1] == AL_TC_SUSPEND)
                continue;
            break;
        case AL_SYS_thread_set_prio:
            if (a[0] == 0 || a[0] == (uint64_t)self)
                a[1] = 100;
            break;
        case AL_SYS_cap_delete:
        case AL_SYS_cap_revoke:
            if (a[0] == AL_SLOT_BOOT_EP || a[0] == 2)
                continue; /* keep what root gave us */
            break;
        default:
            break;
        }
        long r = al_syscall6((long)nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4], (long)a[5]);
        if (r < 0)
            errs++;
        else
            oks++;
        if (nr >= AL_SYS_COUNT && r != -AL_ENOSYS) {
            printf("    # syscall %lu (unknown) returned %ld\n", (unsigned long)nr, r);
            errs += 1000000;
        }
    }
    al_kernel_control(AL_KCTL_IPC_FASTPATH, 1);
    al_thread_set_prio(0, 100);
    ktap_result(errs < 1000000, "%ld random system calls answered (%lu ok, %lu errors); unknown numbers: ENOSYS", iters,
                oks, errs);
    int intact = 1;
    for (int i = 0; i < 64; i++)
        intact &= canary[i] == 0xc0ffee00 + (unsigned long)i;
    ktap_result(intact, "our own memory is intact");
    struct al_stats st;
    ktap_result(al_null() == 0 && al_stats(&st, sizeof st) == (long)sizeof st, "the kernel still serves us");
    /* drop everything the fuzzing made, so the root task's leak check is exact
     * (the buffer's pages go back to sigma0 when the task ends) */
    for (long s = 3; s < AL_CSPACE_SLOTS; s++)
        al_cap_delete(s);
    al_sleep(50000000); /* let the short-lived threads finish */
    ktap_result(1, "cleaned up (the root task checks for leaked kernel memory)");
    return ktap_failures();
}
