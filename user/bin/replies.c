/*
 * Reply capabilities and cancellation (KTAP): a server saves a caller's
 * reply capability, serves another caller first and answers the first one
 * later through the saved capability; a saved reply that is deleted, a
 * server that dies owing a reply, and a server that takes a newer call
 * without answering all end the caller's wait with ECANCELED; a call whose
 * reply does not come in time ends with ETIMEDOUT; a thread blocked in IPC
 * can be suspended and resumed.
 */
#include "user/lib/airlock.h"

#define EP 10
#define R1 20
#define MS 1000000L
static char stacks[6][16384] __attribute__((aligned(16)));
static volatile long result[4];
static volatile unsigned long reply_word[4];

static long caller(void *arg)
{
    long i = (long)arg;
    struct al_utcb *u = al_utcb();
    u->mr[0] = (unsigned long)i;
    result[i] = al_ipc(AL_IPC_CALL, EP, AL_TAG(1, 0, i), 0, AL_TIMEOUT_NEVER);
    reply_word[i] = u->mr[0];
    return 0;
}

static long timed_caller(void *arg)
{
    (void)arg;
    result[3] = al_ipc(AL_IPC_CALL, EP, AL_TAG(0, 0, 3), 0, 30 * MS);
    return 0;
}

/* receives one call and exits without replying */
static long dying_server(void *arg)
{
    (void)arg;
    al_ipc(AL_IPC_RECV, 0, 0, EP, AL_TIMEOUT_NEVER);
    return 0;
}

int main(void)
{
    struct al_utcb *u = al_utcb();
    long st;
    ktap_plan(9);
    al_endpoint_create(EP);
    al_thread_set_prio(0, 150);
    al_thread_set_affinity(0, 0);

    /* a deferred reply through a saved reply capability */
    long c0 = thread_spawn(caller, (void *)0, stacks[0], sizeof stacks[0], 100, 0);
    long r = al_ipc(AL_IPC_RECV, 0, 0, EP, AL_TIMEOUT_NEVER);
    ktap_result(r == 0 && AL_TAG_LABEL(u->tag) == 0 && al_reply_save(R1) == 0, "save the first caller's reply");
    struct al_cap_info ci;
    long ir = al_cap_info(R1, &ci);
    ktap_result(ir == 0 && ci.type == AL_CAP_REPLY && al_reply_save(R1 + 1) == -AL_ECANCELED,
                "it is a reply capability; nothing else is owed now");
    long c1 = thread_spawn(caller, (void *)1, stacks[1], sizeof stacks[1], 100, 0);
    r = al_ipc(AL_IPC_RECV, 0, 0, EP, AL_TIMEOUT_NEVER);
    u->mr[0] = 111;
    long r1 = al_ipc(AL_IPC_REPLY, -1, AL_TAG(1, 0, 0), 0, 0); /* the second caller first */
    u->mr[0] = 100;
    long r0 = al_ipc(AL_IPC_REPLY, R1, AL_TAG(1, 0, 0), 0, 0); /* then the first, through the slot */
    al_thread_join(c0, &st);
    al_thread_join(c1, &st);
    ktap_result(r == 0 && r1 == 0 && r0 == 0 && result[0] == 0 && result[1] == 0 && reply_word[0] == 100 &&
                    reply_word[1] == 111,
                "both callers got their own reply, the first one later");
    ktap_result(al_cap_info(R1, &ci) == -AL_EBADCAP && al_ipc(AL_IPC_REPLY, R1, 0, 0, 0) == -AL_EBADCAP,
                "a reply capability is used up by its reply");

    /* deleting a saved reply cancels the caller */
    c0 = thread_spawn(caller, (void *)0, stacks[0], sizeof stacks[0], 100, 0);
    al_ipc(AL_IPC_RECV, 0, 0, EP, AL_TIMEOUT_NEVER);
    al_reply_save(R1);
    al_cap_delete(R1);
    al_thread_join(c0, &st);
    ktap_result(result[0] == -AL_ECANCELED, "deleting the saved reply: the caller gets ECANCELED (%ld)", result[0]);

    /* taking a newer call without answering cancels the older caller */
    c0 = thread_spawn(caller, (void *)0, stacks[0], sizeof stacks[0], 100, 0);
    al_ipc(AL_IPC_RECV, 0, 0, EP, AL_TIMEOUT_NEVER);
    c1 = thread_spawn(caller, (void *)1, stacks[1], sizeof stacks[1], 100, 0);
    al_ipc(AL_IPC_RECV, 0, 0, EP, AL_TIMEOUT_NEVER);
    al_thread_join(c0, &st);
    al_ipc(AL_IPC_REPLY, -1, AL_TAG(1, 0, 0), 0, 0);
    al_thread_join(c1, &st);
    ktap_result(result[0] == -AL_ECANCELED && result[1] == 0,
                "a newer call taken without answering: the older caller gets ECANCELED");

    /* a server that dies owing a reply */
    al_thread_set_prio(0, 100);
    long srv = thread_spawn(dying_server, 0, stacks[2], sizeof stacks[2], 120, 0);
    al_sleep(5 * MS);
    c0 = thread_spawn(caller, (void *)0, stacks[0], sizeof stacks[0], 100, 0);
    al_thread_join(srv, &st);
    al_thread_join(c0, &st);
    ktap_result(result[0] == -AL_ECANCELED, "the server died owing the reply: ECANCELED (%ld)", result[0]);

    /* the reply does not come in time */
    long tc = thread_spawn(timed_caller, 0, stacks[3], sizeof stacks[3], 100, 0);
    al_ipc(AL_IPC_RECV, 0, 0, EP, AL_TIMEOUT_NEVER);
    al_thread_join(tc, &st);
    ktap_result(result[3] == -AL_ETIMEDOUT && al_ipc(AL_IPC_REPLY, -1, 0, 0, 0) == -AL_ECANCELED,
                "the call's timeout covers the wait for the reply: ETIMEDOUT, and the late reply finds no one");

    /* a thread blocked in IPC can be suspended and resumed */
    c0 = thread_spawn(caller, (void *)2, stacks[4], sizeof stacks[4], 100, 0);
    al_sleep(5 * MS); /* it now waits on the endpoint */
    al_thread_suspend(c0);
    r = al_ipc(AL_IPC_RECV, 0, 0, EP, AL_TIMEOUT_NEVER);
    u->mr[0] = 222;
    al_ipc(AL_IPC_REPLY, -1, AL_TAG(1, 0, 0), 0, 0);
    al_sleep(10 * MS);
    int still = reply_word[2] == 0;
    al_thread_resume(c0);
    al_thread_join(c0, &st);
    ktap_result(r == 0 && still && reply_word[2] == 222 && result[2] == 0,
                "a suspended caller keeps its reply and runs on once resumed");
    return ktap_failures();
}
