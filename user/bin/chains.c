/*
 * Deep chains must not exhaust the kernel stack: a capability derived 240
 * times over, a page mapped on 2000 times (each mapping derived from the
 * previous one), and 150 tasks each holding the only capability to the
 * next. Deleting, unmapping and dropping the first link takes all of it
 * down; the root task then checks that no kernel memory leaked.
 */
#include "user/lib/airlock.h"

#define EP    10
#define HOPS  2000
#define V(i)  (0x40000000UL + (unsigned long)(i)*4096)
#define TASKS 150
#define TASK0 100

static char stack[16384] __attribute__((aligned(16)));

/* receives one map item per call into the window given in mr[0] of the
 * request before (protocol: the sender announces the window first) */
static long receiver(void *arg)
{
    (void)arg;
    struct al_utcb *u = al_utcb();
    for (int i = 1; i <= HOPS; i++) {
        u->rcv_window = AL_FPAGE(V(i), 12);
        if (al_ipc(AL_IPC_RECV, 0, 0, EP, AL_TIMEOUT_NEVER))
            return i;
    }
    return 0;
}

int main(void)
{
    struct al_cap_info ci;
    ktap_plan(7);
    /* capabilities */
    al_endpoint_create(EP);
    int ok = 1;
    for (long s = EP + 1; s < AL_CSPACE_SLOTS; s++)
        ok &= al_cap_copy(s - 1, s, AL_R_ALL, 0) == 0;
    ktap_result(ok, "a capability derived %d times over", AL_CSPACE_SLOTS - EP - 1);
    ktap_result(al_cap_delete(EP) == 0 && al_cap_info(AL_CSPACE_SLOTS - 1, &ci) == -AL_EBADCAP,
                "deleting the first deletes the whole chain");

    /* mappings: V(0) from sigma0, then V(i) mapped from V(i-1) by an IPC map item */
    al_endpoint_create(EP);
    long id = mem_alloc((void *)V(0), 12, AL_MAP_RW);
    *(volatile unsigned long *)V(0) = 0x11223344;
    long t = thread_spawn(receiver, 0, stack, sizeof stack, 100, -1);
    struct al_utcb *u = al_utcb();
    ok = id >= 0;
    for (int i = 1; ok && i <= HOPS; i++) {
        u->mr[0] = AL_ITEM_MAP | (AL_MAP_RW << 8);
        u->mr[1] = AL_FPAGE(V(i - 1), 12);
        ok = al_ipc(AL_IPC_SEND, EP, AL_TAG(0, 1, 0), 0, AL_TIMEOUT_NEVER) == 0;
    }
    long st = -1;
    al_thread_join(t, &st);
    ktap_result(ok && st == 0 && *(volatile unsigned long *)V(HOPS) == 0x11223344,
                "a page mapped on %d times, each from the last", HOPS);
    ktap_result(al_unmap(AL_FPAGE(V(0), 12), 0) == 1 && al_map_info(V(1)) == -AL_ENOENT &&
                    al_map_info(V(HOPS)) == -AL_ENOENT && al_map_info(V(0)) >= 0,
                "unmapping the first revokes all %d", HOPS);
    mem_free(id);
    al_cap_delete(EP);

    /* tasks: each holds a capability to the next (a copy of ours, so
     * deleting ours revokes it too) */
    struct al_stats before, after;
    al_stats(&before, sizeof before);
    ok = 1;
    for (long i = 0; i < TASKS; i++)
        ok &= al_task_create(TASK0 + i, "link") > 0;
    for (long i = 0; i + 1 < TASKS; i++)
        ok &= al_cap_give(TASK0 + i, TASK0 + i + 1, 5, AL_R_CONTROL) == 0;
    al_stats(&after, sizeof after);
    long created = (long)(after.live_tasks - before.live_tasks);
    for (long i = 1; i < TASKS; i++)
        al_cap_delete(TASK0 + i);
    ktap_result(ok, "%d tasks, each holding a capability to the next", TASKS);
    ktap_result(created == TASKS, "the kernel counts %d more live tasks (%ld)", TASKS, created);
    ktap_result(al_cap_delete(TASK0) == 0 && al_stats(&after, sizeof after) > 0 && after.live_tasks == before.live_tasks,
                "dropping the first destroys them all (%lu live tasks again)", after.live_tasks);
    return ktap_failures();
}
