/*
 * make bench: create an address space, run a thread in it, destroy it: the
 * counterpart of Linux's fork + exit + wait. Each round: task_create, the
 * program's text pages and one stack page mapped into it (task_map: the
 * mapping database, page tables), thread_create_in, the thread's exit,
 * task_wait, and the task capability's deletion (the task, its page
 * tables and mappings go). Minimum over the rounds, under -icount: RDTSC
 * counts instructions; CR3 writes from the kernel's counters.
 * Then a thread created in our own task, run to its exit and joined (its
 * object, kernel stack and UTCB charged to our budget and given back).
 */
#include "user/lib/airlock.h"

#define TASK   20
#define STACK  0x50000000UL
#define ROUNDS 50

extern char __executable_start[], etext[];

static __attribute__((noreturn, noinline)) void child(void)
{
    al_exit(0);
    for (;;)
        ;
}

static long round_trip(void)
{
    long r = al_task_create(TASK, "bench-child");
    if (r < 0)
        return r;
    for (unsigned long va = (unsigned long)__executable_start & ~0xfffUL; va < (unsigned long)etext; va += 4096)
        if ((r = al_task_map(TASK, AL_FPAGE(va, 12), va, AL_MAP_R | AL_MAP_X)) < 0)
            return r;
    if ((r = al_task_map(TASK, AL_FPAGE(STACK, 12), STACK, AL_MAP_RW)) < 0)
        return r;
    if ((r = al_thread_create_in(TASK, (unsigned long)child, STACK + 4096 - 8, 0, 100, -1)) < 0)
        return r;
    struct al_task_end e;
    if ((r = al_task_wait(TASK, &e)) < 0)
        return r;
    return al_cap_delete(TASK);
}

static char tstack[4096] __attribute__((aligned(16)));

static long tchild(void *arg)
{
    (void)arg;
    return 0;
}

static long thread_round(void)
{
    long tid = thread_spawn(tchild, 0, tstack, sizeof tstack, 100, -1), st;
    if (tid < 0)
        return tid;
    long r = al_thread_join(tid, &st);
    return r < 0 ? r : 0;
}

/* the fewest instructions of ROUNDS calls of round (after one to warm the
 * kernel's caches), and the CR3 writes per call (x100); -1 on a failure.
 * The rounds are one marked region (40: tasks, 41: threads) for the
 * outside instrument and tools/profile.py. */
static long measure(long (*round)(void), int region, uint64_t *best, uint64_t *cr3_x100)
{
    long r = round();
    if (r)
        return r;
    *best = ~0ULL;
    struct al_stats a, b;
    al_stats(&a, sizeof a);
    if (region == 40)
        BENCH_REGION_BEGIN(40);
    else
        BENCH_REGION_BEGIN(41);
    for (int i = 0; i < ROUNDS && !r; i++) {
        uint64_t t0 = rdtsc();
        r = round();
        uint64_t t1 = rdtsc();
        if (t1 - t0 < *best)
            *best = t1 - t0;
    }
    if (region == 40)
        BENCH_REGION_END(40);
    else
        BENCH_REGION_END(41);
    if (r)
        return r;
    al_stats(&b, sizeof b);
    *cr3_x100 = (b.cr3_writes - a.cr3_writes - 2) * 100 / ROUNDS;
    return 0;
}

int main(void)
{
    if (mem_alloc((void *)STACK, 12, AL_MAP_RW) < 0)
        return 1;
    unsigned long pages = ((unsigned long)etext - ((unsigned long)__executable_start & ~0xfffUL) + 4095) / 4096 + 1;
    uint64_t best, cr3;
    long r = measure(round_trip, 40, &best, &cr3);
    if (r) {
        printf("taskbench: failed (%ld)\n", r);
        return 1;
    }
    printf("bench: %-24s %5lu.00 instructions/op  CR3 writes/op %lu.%02lu  (%lu pages mapped)  region 40 ops %d\n",
           "task create + run + destroy", (unsigned long)best, (unsigned long)(cr3 / 100), (unsigned long)(cr3 % 100),
           pages, ROUNDS);
    if ((r = measure(thread_round, 41, &best, &cr3))) {
        printf("taskbench: thread round failed (%ld)\n", r);
        return 1;
    }
    printf("bench: %-24s %5lu.00 instructions/op  CR3 writes/op %lu.%02lu  region 41 ops %d\n", "thread create + join",
           (unsigned long)best, (unsigned long)(cr3 / 100), (unsigned long)(cr3 % 100), ROUNDS);
    return 0;
}
