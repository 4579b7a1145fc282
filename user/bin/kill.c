/*
 * task_kill (KTAP): a child task is ended whatever its one thread is doing:
 * spinning in user mode (on this CPU, at a lower priority, and on another
 * CPU), blocked in IPC receive, waiting for a reply, asleep, suspended, and
 * a child with several threads in several states at once. task_wait then
 * reports AL_THREAD_KILLED, the kernel takes the task down (its frames come
 * back), and an endpoint the child was queued on still works.
 *
 * Child tasks run code of this image: its text pages are mapped into them,
 * plus two stack pages and a page shared with us (as in ioport.c).
 */
#include "user/lib/airlock.h"
#include "user/lib/child.h"

#define TASK     20
#define EP       10 /* an endpoint the child blocks on (its slot CHILD_EP there) */
#define CHILD_EP 5
#define SHARED   0x50000000UL
#define CSTACK   0x50001000UL /* two stack pages: the child's threads */
#define CSTACK2  0x50002000UL

struct shared {
    volatile unsigned long mode, spins, ready, spins2;
};
enum { K_SPIN = 1, K_RECV, K_CALL, K_SLEEP, K_SUSPENDED, K_MANY };

static struct shared *sh = (struct shared *)SHARED;

static __attribute__((noreturn, noinline)) void child_spin2(void *arg)
{
    struct shared *s = arg;
    for (;;)
        s->spins2++;
}

/* the child's first thread: runs in the child task; touches only its stack,
 * the shared page and system calls */
static __attribute__((noreturn, noinline)) void child_main(unsigned long arg)
{
    struct shared *s = (struct shared *)arg;
    /* (an if chain: a switch's jump table would be in .rodata, not mapped here) */
    unsigned long mode = s->mode;
    if (mode == K_RECV) {
        s->ready = 1;
        al_ipc(AL_IPC_RECV, 0, 0, CHILD_EP, AL_TIMEOUT_NEVER);
    } else if (mode == K_CALL) {
        s->ready = 1;
        al_ipc(AL_IPC_CALL, CHILD_EP, AL_TAG(0, 0, 1), 0, AL_TIMEOUT_NEVER);
    } else if (mode == K_SLEEP) {
        s->ready = 1;
        al_sleep(10000000000UL);
    } else if (mode == K_SUSPENDED) {
        s->ready = 1;
        al_thread_suspend(0);
    } else if (mode == K_MANY) {
        /* a second thread spinning, and this one blocked in receive */
        al_thread_create(child_spin2, (void *)(CSTACK2 + 4096 - 8), (void *)arg, 90, -1);
        s->ready = 1;
        al_ipc(AL_IPC_RECV, 0, 0, CHILD_EP, AL_TIMEOUT_NEVER);
    } else {
        s->ready = 1;
        for (;;)
            s->spins++;
    }
    al_exit(7); /* (never, if the kill works) */
    for (;;)
        ;
}

static long child_start(unsigned long mode, long prio, long cpu)
{
    long r = child_task_create(TASK, "kill-child");
    if (r < 0)
        return r;
    if ((r = al_task_map(TASK, AL_FPAGE(SHARED, 12), SHARED, AL_MAP_RW)) < 0 ||
        (r = al_task_map(TASK, AL_FPAGE(CSTACK, 12), CSTACK, AL_MAP_RW)) < 0 ||
        (r = al_task_map(TASK, AL_FPAGE(CSTACK2, 12), CSTACK2, AL_MAP_RW)) < 0)
        return r;
    sh->mode = mode;
    sh->spins = sh->ready = sh->spins2 = 0;
    if ((r = al_cap_give(TASK, EP, CHILD_EP, AL_R_ALL)) < 0)
        return r;
    r = al_thread_create_in(TASK, (unsigned long)child_main, CSTACK + 4096 - 8, SHARED, prio, cpu);
    return r < 0 ? r : 0;
}

static unsigned long kernel_frames(void)
{
    struct al_stats st;
    al_stats(&st, sizeof st);
    return st.free_frames + st.cache_frames;
}

/* start a child, let it reach its state, kill it, wait: 1 if it ended
 * killed (and, with check_frames, gave back every kernel frame) */
static int kill_one(unsigned long mode, long prio, long cpu, const char *what)
{
    unsigned long before = kernel_frames();
    long r = child_start(mode, prio, cpu);
    for (int i = 0; i < 200 && !sh->ready; i++)
        al_sleep(1000000);
    if (mode == K_SPIN || mode == K_MANY)
        for (int i = 0; i < 200 && !(mode == K_SPIN ? sh->spins : sh->spins2); i++)
            al_sleep(1000000);
    al_sleep(2000000); /* into the blocking call */
    long k = al_task_kill(TASK);
    struct al_task_end e = {0, 0};
    long w = al_task_wait(TASK, &e);
    unsigned long spins = sh->spins + sh->spins2;
    al_sleep(2000000);
    int still = sh->spins + sh->spins2 != spins; /* nothing runs on after the kill */
    al_cap_delete(TASK);
    unsigned long after = kernel_frames();
    int ok = r == 0 && sh->ready && k == 0 && w == 0 && e.how == AL_THREAD_KILLED && e.status == 0 && !still &&
             after >= before;
    ktap_result(ok, "killed while %s: task_wait says killed (%ld %ld %ld how %ld), nothing runs on, %ld frames back",
                what, r, k, w, e.how, (long)(after - before));
    return ok;
}

int main(int argc, char **argv)
{
    (void)argc, (void)argv;
    struct al_cpu_info self;
    al_cpu_self(&self);
    long other = ncpus() > 1 ? (long)(self.index + 1) % ncpus() : -1;
    ktap_plan(11);
    /* the shared page and the children's stacks, one 16 KiB block */
    if (mem_alloc((void *)SHARED, 14, AL_MAP_RW) < 0)
        return 1;
    al_endpoint_create(EP);
    /* warm the kernel's caches (page tables, node slab) for the frame counts */
    child_start(K_SLEEP, 100, -1);
    al_task_kill(TASK);
    al_task_wait(TASK, 0);
    al_cap_delete(TASK);

    kill_one(K_SPIN, 90, self.index, "spinning at a lower priority on our CPU");
    kill_one(K_SPIN, 100, other, other >= 0 ? "spinning on another CPU" : "spinning (one CPU)");
    kill_one(K_RECV, 100, -1, "blocked in receive");
    kill_one(K_CALL, 100, -1, "waiting in a call nobody receives");
    kill_one(K_SLEEP, 100, -1, "asleep");
    kill_one(K_SUSPENDED, 100, -1, "suspended");
    kill_one(K_MANY, 100, other, "one thread in receive, one spinning");

    /* killed at once, whatever it is doing then (starting, running into its
     * receive, entering the kernel): each must end, none may block for good */
    int all = 1;
    for (int i = 0; i < 40 && all; i++) {
        long r = child_start(i % 2 ? K_RECV : K_SLEEP, 100, other);
        long k = al_task_kill(TASK);
        struct al_task_end e = {0, 0};
        long w = al_task_wait(TASK, &e);
        al_cap_delete(TASK);
        all = r == 0 && k == 0 && w == 0 && e.how == AL_THREAD_KILLED;
    }
    ktap_result(all, "killed right after its start, 40 times: every task ends (none blocks for good)");

    /* the endpoint still works: a thread of ours receives what we send */
    struct al_utcb *u = al_utcb();
    long s = al_ipc(AL_IPC_SEND, EP, AL_TAG(0, 0, 5), 0, 0);
    ktap_result(s == -AL_ETIMEDOUT && al_ipc(AL_IPC_RECV, 0, 0, EP, 0) == -AL_ETIMEDOUT,
                "the endpoint the children were queued on is empty afterwards (%ld)", s);
    (void)u;
    /* bad arguments */
    ktap_result(al_task_kill(77) == -AL_EBADCAP && al_task_kill(EP) == -AL_EBADCAP && al_task_kill(-1) == -AL_EBADCAP,
                "task_kill without a task capability: EBADCAP");
    long t = al_task_create(TASK, "empty");
    ktap_result(t >= 0 && al_task_kill(TASK) == 0 && al_cap_delete(TASK) == 0, "a task without threads: nothing to do");
    return ktap_failures();
}
