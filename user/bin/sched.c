/*
 * Scheduler tests (KTAP): strict preemption by a higher priority, round
 * robin inside a priority, yield alternation, suspend/resume, and the
 * rights checks of the thread calls. Everything runs pinned to one CPU
 * (the last one), so the results do not depend on the CPU count.
 */
#include "user/lib/airlock.h"

#define MS 1000000UL
static char stacks[8][16384] __attribute__((aligned(16)));
static volatile int stop, done;
static volatile unsigned long counts[4];
static volatile unsigned long woke_at, wanted_at;
static int cpu;

static long high_prio(void *arg)
{
    (void)arg;
    wanted_at = (unsigned long)al_clock() + 30 * MS;
    al_sleep(30 * MS);
    woke_at = (unsigned long)al_clock();
    done = 1;
    return 0;
}

static long counter(void *arg)
{
    long i = (long)arg;
    while (!stop)
        counts[i]++;
    return 0;
}

static volatile int turn;
static volatile int alternations_bad;
static long pinger(void *arg)
{
    long me = (long)arg;
    for (int i = 0; i < 200; i++) {
        if (turn != me)
            alternations_bad++;
        turn = !me;
        al_yield();
    }
    return 0;
}

int main(void)
{
    int n = ncpus();
    cpu = n - 1;
    ktap_plan(15);
    al_thread_set_affinity(0, cpu);
    al_thread_set_prio(0, 50);

    /* 1. preemption: a busy low-priority thread (us) is preempted by a
     * higher-priority one whose sleep ends, within one time slice */
    long t = thread_spawn(high_prio, 0, stacks[0], sizeof stacks[0], 150, cpu);
    unsigned long spins = 0;
    while (!done)
        spins++; /* no system call: only preemption lets it run */
    long st;
    al_thread_join(t, &st);
    unsigned long lat = woke_at - wanted_at;
    ktap_result(woke_at >= wanted_at && lat < 30 * MS,
                "higher priority preempts a busy thread: latency %lu us (bound 30000: one 20 ms slice + one tick)",
                lat / 1000);

    /* 2. round robin: three equal threads share the CPU */
    al_thread_set_prio(0, 150);
    long ids[3];
    for (long i = 0; i < 3; i++)
        ids[i] = thread_spawn(counter, (void *)i, stacks[i], sizeof stacks[i], 100, cpu);
    al_sleep(600 * MS);
    stop = 1;
    for (int i = 0; i < 3; i++)
        al_thread_join(ids[i], &st);
    unsigned long sum = counts[0] + counts[1] + counts[2], mean = sum / 3;
    int fair = mean > 0;
    for (int i = 0; i < 3; i++)
        if (counts[i] < mean * 3 / 4 || counts[i] > mean * 5 / 4)
            fair = 0;
    ktap_result(fair, "round robin: shares %lu%% %lu%% %lu%% (each within 25%% of a third)",
                counts[0] * 100 / (sum ? sum : 1), counts[1] * 100 / (sum ? sum : 1),
                counts[2] * 100 / (sum ? sum : 1));

    /* 3. yield alternates strictly between two equal threads */
    al_thread_set_prio(0, 150);
    turn = 0;
    long p0 = thread_spawn(pinger, (void *)0, stacks[0], sizeof stacks[0], 100, cpu);
    long p1 = thread_spawn(pinger, (void *)1, stacks[1], sizeof stacks[1], 100, cpu);
    al_thread_join(p0, &st);
    al_thread_join(p1, &st);
    ktap_result(alternations_bad == 0, "yield alternates two equal threads (%d out of turn)", alternations_bad);

    /* 4. suspend / resume */
    stop = 0;
    counts[3] = 0;
    long w = thread_spawn(counter, (void *)3, stacks[3], sizeof stacks[3], 100, cpu);
    al_sleep(50 * MS);
    ktap_result(al_thread_suspend(w) == 0, "suspend");
    unsigned long c1 = counts[3];
    al_sleep(50 * MS);
    unsigned long c2 = counts[3];
    ktap_result(c1 == c2 && c1 > 0, "a suspended thread does not run (%lu -> %lu)", c1, c2);
    ktap_result(al_thread_resume(w) == 0, "resume");
    al_sleep(50 * MS);
    ktap_result(counts[3] > c2, "a resumed thread runs again");
    stop = 1;
    al_thread_join(w, &st);

    /* 5. rights and bad arguments */
    ktap_result(al_thread_set_prio(0, AL_PRIO_MAX_USER + 1) == -AL_EPERM, "priority above the task's limit: EPERM");
    ktap_result(al_thread_set_prio(0, 256) == -AL_EINVAL && al_thread_set_prio(0, -1) == -AL_EINVAL,
                "priority out of range: EINVAL");
    ktap_result(al_thread_set_affinity(0, n) == -AL_EINVAL && al_thread_set_affinity(0, -2) == -AL_EINVAL,
                "affinity to a CPU that does not exist: EINVAL");
    ktap_result(al_thread_suspend(999999) == -AL_ESRCH && al_thread_set_prio(1, 10) == -AL_ESRCH,
                "threads of other tasks or none at all: ESRCH");
    ktap_result(al_thread_join(0, 0) == -AL_EINVAL && al_thread_join(al_thread_self(), 0) == -AL_EINVAL,
                "join self: EINVAL");
    ktap_result(al_thread_create((void (*)(void *))AL_KERNEL_BASE, stacks[0], 0, 100, -1) == -AL_EFAULT &&
                    al_thread_create((void (*)(void *))0x400000, (void *)AL_TRAMPOLINE, 0, 100, -1) == -AL_EFAULT,
                "thread_create with a kernel entry or stack: EFAULT");
    ktap_result(al_thread_create((void (*)(void *))0x400000, stacks[0] + 4096, 0, 201, -1) == -AL_EPERM &&
                    al_thread_create((void (*)(void *))0x400000, stacks[0] + 4096, 0, 100, 64) == -AL_EINVAL,
                "thread_create beyond the priority limit or on a bad CPU");
    long bad_status;
    ktap_result(al_thread_join(999999, &bad_status) == -AL_ESRCH, "join of an unknown thread: ESRCH");
    return ktap_failures();
}
