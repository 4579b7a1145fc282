/* Sleep accuracy against the kernel clock, and clock monotonicity on every CPU. */
#include "user/lib/airlock.h"

#define MS 1000000UL
static char stacks[64][8192] __attribute__((aligned(16)));

static long monotonic(void *arg)
{
    (void)arg;
    long prev = al_clock();
    for (int i = 0; i < 2000; i++) {
        long now = al_clock();
        if (now < prev)
            return 1;
        prev = now;
    }
    return 0;
}

int main(void)
{
    const unsigned long req[] = {1 * MS, 10 * MS, 50 * MS, 100 * MS};
    ktap_plan(6);
    for (int i = 0; i < 4; i++) {
        long t0 = al_clock();
        long r = al_sleep(req[i]);
        long t1 = al_clock();
        unsigned long d = (unsigned long)(t1 - t0);
        ktap_result(r == 0 && d >= req[i] && d < req[i] + 25 * MS,
                    "sleep %lu ms took %lu us (bound: +25 ms, tick 10 ms)", req[i] / MS, d / 1000);
    }
    int n = ncpus(), ok = 1;
    long ids[64];
    for (int i = 0; i < n; i++)
        ids[i] = thread_spawn(monotonic, 0, stacks[i], sizeof stacks[i], 100, i);
    for (int i = 0; i < n; i++) {
        long st = -1;
        al_thread_join(ids[i], &st);
        ok &= st == 0;
    }
    ktap_result(ok, "the clock never goes backwards on any of %d CPUs", n);
    ktap_result(al_sleep(3600UL * 1000 * MS + 1) == -AL_EINVAL, "sleep longer than an hour: EINVAL");
    return ktap_failures();
}
