/*
 * Micro-benchmarks, run under QEMU -icount shift=0 where RDTSC counts guest
 * instructions. Each figure is the minimum over RUNS runs of ITERS
 * operations, minus the cost of the same loop without the operation.
 * CR3 writes, TLB flushes and FPU saves per operation come from the
 * kernel's own counters (stats system call).
 */
#include "user/lib/airlock.h"

#define ITERS 1000
#define RUNS  20

static inline void null_syscall(void)
{
    long nr = AL_SYS_null;
    __asm__ volatile("syscall" : "+a"(nr) : : "rcx", "r11", "memory");
}

static inline void null_int80(void)
{
    long nr = AL_SYS_null;
    __asm__ volatile("int $0x80" : "+a"(nr) : : "memory");
}

static inline void nothing(void)
{
    long nr = AL_SYS_null;
    __asm__ volatile("" : "+a"(nr) : : "rcx", "r11", "memory");
}

#define LOOP(op)                                                                                                       \
    ({                                                                                                                 \
        uint64_t best = ~0ULL;                                                                                         \
        for (int r = 0; r < RUNS; r++) {                                                                               \
            uint64_t t0 = rdtsc();                                                                                     \
            for (int i = 0; i < ITERS; i++)                                                                            \
                op();                                                                                                  \
            uint64_t t1 = rdtsc();                                                                                     \
            if (t1 - t0 < best)                                                                                        \
                best = t1 - t0;                                                                                        \
        }                                                                                                              \
        best;                                                                                                          \
    })

/* what one stats call itself adds to the counters (measured: 2 CR3
 * writes; 2 TLB flushes without PCID, none with it) */
static struct al_stats self_cost;

static void report(const char *name, uint64_t best, uint64_t base, const struct al_stats *a, const struct al_stats *b,
                   uint64_t ops, int region)
{
    uint64_t cr3 = b->cr3_writes - a->cr3_writes - self_cost.cr3_writes;
    uint64_t tlb = b->tlb_flushes - a->tlb_flushes - self_cost.tlb_flushes;
    uint64_t per = (best - base) / ITERS, frac = ((best - base) % ITERS) * 100 / ITERS;
    printf("bench: %-24s %5lu.%02lu instructions/op  CR3 writes/op %lu.%02lu  TLB flushes/op %lu.%02lu  "
           "FPU saves/op %lu.%02lu  region %d ops %lu\n",
           name, (unsigned long)per, (unsigned long)frac, (unsigned long)(cr3 / ops),
           (unsigned long)(cr3 % ops * 100 / ops), (unsigned long)(tlb / ops), (unsigned long)(tlb % ops * 100 / ops),
           (unsigned long)((b->fpu_saves - a->fpu_saves) / ops),
           (unsigned long)((b->fpu_saves - a->fpu_saves) % ops * 100 / ops), region, (unsigned long)ops);
}

int main(void)
{
    struct al_stats a, b;
    al_stats(&a, sizeof a);
    al_stats(&b, sizeof b);
    self_cost.cr3_writes = b.cr3_writes - a.cr3_writes;
    self_cost.tlb_flushes = b.tlb_flushes - a.tlb_flushes;
    uint64_t base = LOOP(nothing);
    printf("bench: loop overhead %lu instructions per %d iterations (subtracted)\n", (unsigned long)base, ITERS);

    /* the regions cover exactly what the counters cover, less the second
     * stats call (which report() subtracts) */
    al_stats(&a, sizeof a);
    BENCH_REGION_BEGIN(1);
    uint64_t sc = LOOP(null_syscall);
    BENCH_REGION_END(1);
    al_stats(&b, sizeof b);
    report("null syscall (SYSCALL)", sc, base, &a, &b, (uint64_t)ITERS * RUNS, 1);

    al_stats(&a, sizeof a);
    BENCH_REGION_BEGIN(2);
    uint64_t in = LOOP(null_int80);
    BENCH_REGION_END(2);
    al_stats(&b, sizeof b);
    report("null syscall (int 0x80)", in, base, &a, &b, (uint64_t)ITERS * RUNS, 2);
    return 0;
}
