/*
 * FPU/SSE state isolation: several threads keep distinct values in SSE
 * registers across yields, preemptions and forced migrations (each thread
 * moves itself to another CPU every few rounds) and check them every time;
 * they also run a floating-point recurrence whose result is checked
 * against the same computation done alone beforehand.
 */
#include "user/lib/airlock.h"

#define THREADS 6
#define ROUNDS  400
static char stacks[THREADS][16384] __attribute__((aligned(16)));
static volatile unsigned long bad[THREADS];
static double expect[THREADS], got[THREADS];
static int ncpu;

static double recurrence(long k, int n)
{
    double x = 1.0 + (double)k / 7.0;
    for (int i = 0; i < n; i++)
        x = x * 1.0000001 + (double)k * 0.5 - x * 1e-7;
    return x;
}

/* xmm8..xmm11 hold the pattern across a yield system call */
static int keep_across_yield(uint64_t p)
{
    uint64_t o8, o9, o10, o11;
    __asm__ volatile("movq %[p], %%xmm8\n\t"
                     "movq %[p], %%xmm9\n\t"
                     "paddq %%xmm9, %%xmm9\n\t"
                     "movq %[p], %%xmm10\n\t"
                     "pxor %%xmm11, %%xmm11\n\t"
                     "psubq %%xmm10, %%xmm11\n\t"
                     "movl %[nr], %%eax\n\t"
                     "syscall\n\t"
                     "movq %%xmm8, %[o8]\n\t"
                     "movq %%xmm9, %[o9]\n\t"
                     "movq %%xmm10, %[o10]\n\t"
                     "movq %%xmm11, %[o11]"
                     : [o8] "=r"(o8), [o9] "=r"(o9), [o10] "=r"(o10), [o11] "=r"(o11)
                     : [p] "r"(p), [nr] "i"(AL_SYS_yield)
                     : "rax", "rcx", "r11", "xmm8", "xmm9", "xmm10", "xmm11", "memory");
    return o8 == p && o9 == 2 * p && o10 == p && o11 == -p;
}

static long worker(void *arg)
{
    long k = (long)arg;
    double x = 1.0 + (double)k / 7.0;
    for (int r = 0; r < ROUNDS; r++) {
        uint64_t pattern = 0x1111111111111111ULL * (uint64_t)(k + 1) + (uint64_t)r;
        if (!keep_across_yield(pattern))
            bad[k]++;
        for (int i = 0; i < 500; i++)
            x = x * 1.0000001 + (double)k * 0.5 - x * 1e-7;
        if (ncpu > 1 && r % 20 == 19)
            al_thread_set_affinity(0, (k + r / 20) % ncpu);
    }
    got[k] = x;
    return 0;
}

int main(void)
{
    ncpu = ncpus();
    ktap_plan(3);
    for (long k = 0; k < THREADS; k++)
        expect[k] = recurrence(k, ROUNDS * 500);
    long ids[THREADS];
    for (long k = 0; k < THREADS; k++)
        ids[k] = thread_spawn(worker, (void *)k, stacks[k], sizeof stacks[k], 100, -1);
    /* observe migrations while they run */
    static struct al_thread_info info[256];
    unsigned long migrations = 0;
    for (long k = 0; k < THREADS; k++) {
        long st;
        long n = al_thread_list(info, 256);
        for (long i = 0; i < n && i < 256; i++)
            for (long j = 0; j < THREADS; j++)
                if ((long)info[i].tid == ids[j] && info[i].migrations > migrations)
                    migrations = info[i].migrations;
        al_thread_join(ids[k], &st);
    }
    unsigned long nbad = 0;
    int same = 1;
    for (int k = 0; k < THREADS; k++) {
        nbad += bad[k];
        if (got[k] != expect[k])
            same = 0;
    }
    ktap_result(nbad == 0, "SSE registers survive %d yields in each of %d threads (%lu corrupted)", ROUNDS, THREADS,
                nbad);
    ktap_result(same, "floating-point results identical to the single-threaded run");
    ktap_result(ncpu == 1 || migrations > 0, "threads migrated between CPUs (max %lu migrations seen, %d CPUs)",
                migrations, ncpu);
    return ktap_failures();
}
