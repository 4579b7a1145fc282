/*
 * Thread-switch benchmark: two instances, each a task of its own, pinned
 * to CPU 0 at the same priority, yield to each other. One round is
 * A -> B -> A: two system calls and two switches between address spaces.
 * Run under -icount shift=0 (RDTSC = instructions); see tools/ktest.py.
 */
#include "user/lib/airlock.h"

int main(int argc, char **argv)
{
    int ok;
    long rounds = argc > 1 ? strtol_simple(argv[1], &ok) : 2000;
    al_thread_set_affinity(0, 0);
    al_sleep(50000000); /* let the partner start */
    struct al_stats a, b;
    for (long i = 0; i < rounds / 4; i++)
        al_yield();
    al_stats(&a, sizeof a);
    uint64_t t0 = rdtsc();
    long n = rounds / 2;
    for (long i = 0; i < n; i++)
        al_yield();
    uint64_t t1 = rdtsc();
    al_stats(&b, sizeof b);
    /* keep yielding until the partner has surely finished its own timed
     * loop too: printing now would land inside the partner's measurement */
    for (long i = 0; i < n; i++)
        al_yield();
    /* each of our yields is one round; the stats call pair adds 4 CR3 writes
     * (ours and, while we wait, nothing else runs on CPU 0) */
    unsigned long cr3 = b.cr3_writes - a.cr3_writes;
    printf("bench: thread switch (yield, 2 spaces)  %5lu instructions/round  CR3 writes/round %lu.%02lu  "
           "FPU saves/round %lu.%02lu (%ld rounds, %s)\n",
           (unsigned long)((t1 - t0) / (uint64_t)n), cr3 / (unsigned long)n,
           cr3 % (unsigned long)n * 100 / (unsigned long)n, (b.fpu_saves - a.fpu_saves) / (unsigned long)n,
           (b.fpu_saves - a.fpu_saves) % (unsigned long)n * 100 / (unsigned long)n, n, argv[0]);
    for (long i = 0; i < rounds / 4; i++)
        al_yield();
    return 0;
}
