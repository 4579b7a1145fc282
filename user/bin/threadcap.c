/* Thread capabilities (KTAP): control a thread through a capability, and
 * the errors for missing rights, wrong types and dead threads. */
#include "user/lib/airlock.h"

#define TC 50
static char stack[16384] __attribute__((aligned(16)));
static volatile unsigned long count;
static volatile int stop;

static long counter(void *arg)
{
    (void)arg;
    while (!stop)
        count++;
    return 7;
}

int main(void)
{
    struct al_cap_info ci;
    ktap_plan(12);
    al_thread_set_affinity(0, 0);
    long tid = thread_spawn(counter, 0, stack, sizeof stack, 100, 0);
    ktap_result(tid > 0 && al_thread_cap(-1, tid, TC) == 0, "thread_cap for our own thread");
    long ir = al_cap_info(TC, &ci);
    ktap_result(ir == 0 && ci.type == AL_CAP_THREAD && ci.rights == AL_R_CONTROL, "it is a thread capability");
    ktap_result(ci.id == (unsigned long)tid, "cap_info names the thread's id (%lu)", ci.id);
    long tk = al_task_create(TC + 3, "tc-task");
    ktap_result(tk > 0 && al_cap_info(TC + 3, &ci) == 0 && ci.type == AL_CAP_TASK && ci.id == (unsigned long)tk &&
                    al_cap_info(AL_SLOT_BOOT_EP, &ci) == 0 && ci.type == AL_CAP_ENDPOINT && ci.id == 0 &&
                    al_cap_delete(TC + 3) == 0,
                "cap_info of a task capability names the task's id; an endpoint's id is 0");
    long st = al_thread_control(TC, AL_TC_STATE, 0);
    ktap_result(st == AL_TS_RUNNABLE || st == AL_TS_RUNNING, "state through the capability (%ld)", st);
    al_sleep(20000000);
    ktap_result(al_thread_control(TC, AL_TC_SUSPEND, 0) == 0 &&
                    al_thread_control(TC, AL_TC_STATE, 0) == AL_TS_SUSPENDED,
                "suspend through the capability");
    unsigned long c1 = count;
    al_sleep(20000000);
    ktap_result(count == c1 && al_thread_control(TC, AL_TC_RESUME, 0) == 0, "suspended: no progress; resumed");
    al_cap_copy(TC, TC + 1, 0, 0);
    ktap_result(al_thread_control(TC + 1, AL_TC_SUSPEND, 0) == -AL_EPERM, "a copy without CONTROL: EPERM");
    ktap_result(al_thread_control(TC, AL_TC_SET_PRIO, AL_PRIO_MAX_USER + 1) == -AL_EPERM &&
                    al_thread_control(TC, 99, 0) == -AL_EINVAL &&
                    al_thread_control(TC, AL_TC_SET_AFFINITY, 1000) == -AL_EINVAL,
                "priority above the limit, unknown operation, bad CPU");
    ktap_result(al_thread_control(AL_SLOT_BOOT_EP, AL_TC_STATE, 0) == -AL_EBADCAP &&
                    al_thread_cap(-1, 999999, TC + 2) == -AL_ESRCH &&
                    al_thread_cap(AL_SLOT_BOOT_EP, tid, TC + 2) == -AL_EBADCAP,
                "wrong capability type, unknown thread");
    stop = 1;
    long status = 0;
    al_thread_join(tid, &status);
    ktap_result(status == 7 && al_thread_control(TC, AL_TC_STATE, 0) == -AL_ESRCH,
                "after the thread is gone: ESRCH (the capability stays valid to hold)");
    ktap_result(al_cap_delete(TC) == 0 && al_cap_delete(TC + 1) == 0, "delete the capabilities");
    return ktap_failures();
}
