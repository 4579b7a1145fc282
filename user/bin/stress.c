/*
 * Thread stress: thousands of threads created and exited across all CPUs,
 * joined and checked; afterwards the kernel must have exactly as many free
 * frames and thread objects as before.
 */
#include "user/lib/airlock.h"

#define BATCH 16
#define TOTAL 2048
static char stacks[BATCH][8192] __attribute__((aligned(16)));

static long work(void *arg)
{
    long v = (long)arg;
    volatile long x = 0;
    for (int i = 0; i < 200; i++)
        x += v;
    return x / 200;
}

static long count_threads(void)
{
    static struct al_thread_info info[8];
    return al_thread_list(info, 8);
}

int main(void)
{
    struct al_stats a, b;
    ktap_plan(3);
    long threads_before = count_threads();
    al_stats(&a, sizeof a);
    int wrong = 0, failed = 0;
    for (long done = 0; done < TOTAL; done += BATCH) {
        long ids[BATCH];
        for (long i = 0; i < BATCH; i++) {
            ids[i] = thread_spawn(work, (void *)(done + i), stacks[i], sizeof stacks[i], 100, -1);
            if (ids[i] < 0)
                failed++;
        }
        for (long i = 0; i < BATCH; i++) {
            long st = -1;
            if (ids[i] >= 0 && (al_thread_join(ids[i], &st) != AL_THREAD_EXITED || st != done + i))
                wrong++;
        }
    }
    al_stats(&b, sizeof b);
    ktap_result(!failed && !wrong, "%d threads created, run and joined (%d failed, %d wrong results)", TOTAL, failed,
                wrong);
    ktap_result(a.free_frames == b.free_frames, "no frame leaked (%lu free before, %lu after)", a.free_frames,
                b.free_frames);
    ktap_result(count_threads() == threads_before && a.live_threads == b.live_threads,
                "no thread object leaked (%ld before, %ld after; kernel count %lu, %lu)", threads_before,
                count_threads(), a.live_threads, b.live_threads);
    return ktap_failures();
}
