/*
 * IPC tests inside one task (threads as clients and servers), KTAP:
 * message sizes, call/reply, reply-and-receive servers with several
 * clients, timeouts, priority ordering of waiters, cross-CPU IPC, saved
 * reply capabilities, every kind of bad capability / rights / length /
 * receive slot, the fast path against the general path, and a
 * sequence-numbered integrity stress across CPUs.
 */
#include "user/lib/airlock.h"

#define EP  10
#define EP2 11
#define MS  1000000L
static char stacks[16][16384] __attribute__((aligned(16)));
static int n;

static long call(long cap, unsigned long tag)
{
    return al_ipc(AL_IPC_CALL, cap, tag, 0, AL_TIMEOUT_NEVER);
}

/* echo server: replies with the words reversed and the label + 1; label 0xdead stops it */
static long echo_server(void *arg)
{
    long ep = (long)arg;
    struct al_utcb *u = al_utcb();
    long r = al_ipc(AL_IPC_RECV, 0, 0, ep, AL_TIMEOUT_NEVER);
    while (r == 0) {
        unsigned long tag = u->tag, w = AL_TAG_WORDS(tag);
        if (AL_TAG_LABEL(tag) == 0xdead) {
            al_ipc(AL_IPC_REPLY, -1, 0, 0, 0);
            return 0;
        }
        unsigned long tmp[AL_MR_COUNT];
        for (unsigned long i = 0; i < w; i++)
            tmp[i] = u->mr[w - 1 - i];
        for (unsigned long i = 0; i < w; i++)
            u->mr[i] = tmp[i] ^ u->badge;
        r = al_ipc(AL_IPC_REPLY_RECV, 0, AL_TAG(w, 0, AL_TAG_LABEL(tag) + 1), ep, AL_TIMEOUT_NEVER);
    }
    return r;
}

static int roundtrip(long cap, unsigned long words, unsigned long badge)
{
    struct al_utcb *u = al_utcb();
    for (unsigned long i = 0; i < words; i++)
        u->mr[i] = 0x1000 + i * 7;
    if (call(cap, AL_TAG(words, 0, 0x42)) != 0)
        return 0;
    if (AL_TAG_WORDS(u->tag) != words || AL_TAG_LABEL(u->tag) != 0x43)
        return 0;
    for (unsigned long i = 0; i < words; i++)
        if (u->mr[i] != ((0x1000 + (words - 1 - i) * 7) ^ badge))
            return 0;
    return 1;
}

static void stop_server(long cap)
{
    call(cap, AL_TAG(0, 0, 0xdead));
}

/* priority ordering: senders of different priorities queue on EP2 */
static volatile int order[8], norder;
static long prio_sender(void *arg)
{
    long label = (long)arg;
    al_ipc(AL_IPC_SEND, EP2, AL_TAG(0, 0, label), 0, AL_TIMEOUT_NEVER);
    return 0;
}

/* integrity stress: client i sends seq numbers; server checks and echoes */
#define PAIRS 3
#define MSGS  3000
static volatile long stress_bad;
static long stress_server(void *arg)
{
    long ep = 20 + (long)arg;
    struct al_utcb *u = al_utcb();
    unsigned long expect = 0;
    long r = al_ipc(AL_IPC_RECV, 0, 0, ep, AL_TIMEOUT_NEVER);
    while (r == 0) {
        if (u->mr[0] != expect || u->mr[1] != ~expect)
            stress_bad++;
        expect++;
        u->mr[0] = u->mr[0] + 1;
        if (expect == MSGS) {
            al_ipc(AL_IPC_REPLY, -1, AL_TAG(1, 0, 0), 0, 0);
            return 0;
        }
        r = al_ipc(AL_IPC_REPLY_RECV, 0, AL_TAG(1, 0, 0), ep, AL_TIMEOUT_NEVER);
    }
    return r;
}
static long stress_client(void *arg)
{
    long ep = 20 + (long)arg;
    struct al_utcb *u = al_utcb();
    for (unsigned long i = 0; i < MSGS; i++) {
        u->mr[0] = i;
        u->mr[1] = ~i;
        if (call(ep, AL_TAG(2, 0, 0)) != 0 || u->mr[0] != i + 1)
            stress_bad++;
    }
    return 0;
}

/* one server, several clients at once (on different CPUs), each with its
 * own badge; the server answers every call with the words + the badge */
#define CLIENTS 4
#define CALLS   400
static volatile long multi_bad;
static long multi_server(void *arg)
{
    (void)arg;
    struct al_utcb *u = al_utcb();
    long served = 0;
    long r = al_ipc(AL_IPC_RECV, 0, 0, 23, AL_TIMEOUT_NEVER);
    while (r == 0) {
        u->mr[0] += u->badge;
        if (++served == CLIENTS * CALLS) {
            al_ipc(AL_IPC_REPLY, -1, AL_TAG(1, 0, 0), 0, 0);
            return served;
        }
        r = al_ipc(AL_IPC_REPLY_RECV, 0, AL_TAG(1, 0, 0), 23, AL_TIMEOUT_NEVER);
    }
    return -1;
}
static long multi_client(void *arg)
{
    long i = (long)arg;
    struct al_utcb *u = al_utcb();
    for (long k = 0; k < CALLS; k++) {
        unsigned long v = ((unsigned long)i << 32) | (unsigned long)k;
        u->mr[0] = v;
        if (call(30 + i, AL_TAG(1, 0, 0)) != 0 || u->mr[0] != v + 0x100 + (unsigned long)i)
            multi_bad++;
    }
    return 0;
}

/* receives once on EP2 with rcv_cap_slot = arg and checks what arrived */
static long cap_receiver(void *arg)
{
    long slot = (long)arg;
    struct al_utcb *u = al_utcb();
    u->rcv_cap_slot = slot;
    if (al_ipc(AL_IPC_RECV, 0, 0, EP2, AL_TIMEOUT_NEVER) != 0)
        return 1;
    if (slot < 0)
        return AL_TAG_ITEMS(u->tag) == 0 ? 2 : 3;
    struct al_cap_info ci;
    if (al_cap_info(slot, &ci) || ci.type != AL_CAP_ENDPOINT || ci.rights != (AL_R_SEND | AL_R_RECV))
        return 4;
    al_cap_delete(slot);
    return AL_TAG_LABEL(u->tag) == 7 ? 0 : 5;
}

int main(void)
{
    n = ncpus();
    struct al_utcb *u = al_utcb();
    long st;
    ktap_plan(32);
    ktap_result(u && u->self == u && u->rcv_cap_slot == -1, "UTCB at %%fs:0 (%p)", (void *)u);
    ktap_result(al_endpoint_create(EP) == 0, "endpoint_create");
    ktap_result(al_endpoint_create(EP) == -AL_EEXIST, "endpoint_create into a used slot: EEXIST");
    ktap_result(al_endpoint_create(AL_CSPACE_SLOTS) == -AL_EBADCAP && al_endpoint_create(-1) == -AL_EBADCAP,
                "endpoint_create out of range: EBADCAP");

    /* a server on another CPU (if any), the client here */
    long srv = thread_spawn(echo_server, (void *)EP, stacks[0], sizeof stacks[0], 100, n > 1 ? 1 : 0);
    al_thread_set_affinity(0, 0);
    int ok = 1;
    for (unsigned long w = 0; w <= AL_MR_COUNT; w++)
        ok &= roundtrip(EP, w, 0);
    ktap_result(ok, "call/reply with 0..%d words (server on CPU %d, client on CPU 0)", AL_MR_COUNT, n > 1 ? 1 : 0);
    ktap_result(call(EP, AL_TAG(AL_MR_COUNT + 1, 0, 0)) == -AL_EMSGSIZE &&
                    call(EP, AL_TAG(AL_MR_COUNT - 1, 1, 0)) == -AL_EMSGSIZE,
                "more than %d message registers: EMSGSIZE", AL_MR_COUNT);

    /* badges: a minted copy tells the server who calls */
    ktap_result(al_cap_copy(EP, 12, AL_R_SEND, 0xb00) == 0, "mint a badged send-only copy");
    ktap_result(roundtrip(12, 3, 0xb00), "the server sees the badge");
    ktap_result(al_cap_copy(12, 13, AL_R_SEND, 0xc00) == -AL_EPERM, "re-badging a badged capability: EPERM");
    ktap_result(al_ipc(AL_IPC_RECV, 0, 0, 12, 0) == -AL_EPERM, "receive without the RECV right: EPERM");
    ktap_result(al_cap_copy(12, 14, AL_R_ALL, 0) == 0 && al_ipc(AL_IPC_RECV, 0, 0, 14, 0) == -AL_EPERM,
                "rights cannot grow through a copy");
    struct al_cap_info ci;
    long ir = al_cap_info(14, &ci);
    ktap_result(ir == 0 && ci.type == AL_CAP_ENDPOINT && ci.rights == AL_R_SEND && ci.badge == 0xb00,
                "cap_info: type %d rights %d badge %#lx", ci.type, ci.rights, ci.badge);
    ktap_result(al_cap_revoke(12) == 0 && al_cap_info(14, &ci) == -AL_EBADCAP && al_cap_info(12, &ci) == 0,
                "revoke deletes what was derived, keeps the capability");
    ktap_result(al_cap_delete(12) == 0 && call(12, 0) == -AL_EBADCAP, "deleted capability: EBADCAP");
    ktap_result(call(99, 0) == -AL_EBADCAP && call(AL_CSPACE_SLOTS + 5, 0) == -AL_EBADCAP && call(-3, 0) == -AL_EBADCAP,
                "empty, out-of-range and negative slots: EBADCAP");
    ktap_result(al_ipc(77, EP, 0, 0, 0) == -AL_EINVAL && al_ipc(AL_IPC_CALL, EP, 0, 0, -5) == -AL_EINVAL,
                "bad operation or timeout: EINVAL");

    /* timeouts */
    ktap_result(al_endpoint_create(EP2) == 0 && al_ipc(AL_IPC_RECV, 0, 0, EP2, 0) == -AL_ETIMEDOUT &&
                    al_ipc(AL_IPC_SEND, EP2, 0, 0, 0) == -AL_ETIMEDOUT,
                "timeout 0 with no partner: ETIMEDOUT at once");
    long t0 = al_clock();
    long r = al_ipc(AL_IPC_RECV, 0, 0, EP2, 30 * MS);
    long dt = al_clock() - t0;
    ktap_result(r == -AL_ETIMEDOUT && dt >= 30 * MS && dt < 60 * MS, "30 ms receive timeout took %ld us", dt / 1000);

    /* priority ordering of queued senders (all on CPU 0 below us) */
    al_thread_set_prio(0, 150);
    long ids[4];
    const long prios[4] = {60, 120, 90, 120};
    for (long i = 0; i < 4; i++)
        ids[i] = thread_spawn(prio_sender, (void *)(i + 1), stacks[2 + i], sizeof stacks[2 + i], prios[i], 0);
    al_sleep(20 * MS); /* all four are queued now */
    int seq[4];
    for (int i = 0; i < 4; i++) {
        al_ipc(AL_IPC_RECV, 0, 0, EP2, AL_TIMEOUT_NEVER);
        seq[i] = (int)AL_TAG_LABEL(u->tag);
    }
    for (int i = 0; i < 4; i++)
        al_thread_join(ids[i], &st);
    al_thread_set_prio(0, 100);
    ktap_result(seq[0] == 2 && seq[1] == 4 && seq[2] == 3 && seq[3] == 1,
                "waiters served by priority, FIFO within one (%d %d %d %d)", seq[0], seq[1], seq[2], seq[3]);

    /* capability transfer through IPC, and a refused receive slot */
    u->mr[0] = AL_ITEM_CAP | (AL_R_SEND << 8);
    u->mr[1] = EP;
    ktap_result(al_ipc(AL_IPC_SEND, EP2, AL_TAG(0, 1, 0), 0, 0) == -AL_ETIMEDOUT, "cap item with nobody waiting");
    long rx = thread_spawn(cap_receiver, (void *)30, stacks[2], sizeof stacks[2], 100, 0);
    al_sleep(10 * MS);
    u->mr[0] = AL_ITEM_CAP | ((AL_R_SEND | AL_R_RECV) << 8);
    u->mr[1] = EP;
    ktap_result(al_ipc(AL_IPC_SEND, EP2, AL_TAG(0, 1, 7), 0, AL_TIMEOUT_NEVER) == 0, "send a capability item");
    al_thread_join(rx, &st);
    ktap_result(st == 0, "received into the slot the receiver named, rights reduced to SEND|RECV");
    rx = thread_spawn(cap_receiver, (void *)-1, stacks[2], sizeof stacks[2], 100, 0);
    al_sleep(10 * MS);
    u->mr[0] = AL_ITEM_CAP | (AL_R_SEND << 8);
    u->mr[1] = EP;
    long e1 = al_ipc(AL_IPC_SEND, EP2, AL_TAG(0, 1, 7), 0, 0);
    u->mr[1] = 77;
    long e2 = al_ipc(AL_IPC_SEND, EP2, AL_TAG(0, 1, 7), 0, 0);
    al_cap_copy(EP2, 15, AL_R_SEND, 0); /* no GRANT right */
    u->mr[0] = AL_ITEM_CAP | (AL_R_SEND << 8);
    u->mr[1] = EP;
    long e3 = al_ipc(AL_IPC_SEND, 15, AL_TAG(0, 1, 7), 0, 0);
    u->mr[0] = 9;
    long e4 = al_ipc(AL_IPC_SEND, EP2, AL_TAG(0, 1, 7), 0, 0);
    ktap_result(e1 == -AL_EINVAL && e2 == -AL_EBADCAP && e3 == -AL_EPERM && e4 == -AL_EINVAL,
                "receiver accepts no capability / empty source / no GRANT right / unknown item: %ld %ld %ld %ld", e1,
                e2, e3, e4);
    al_ipc(AL_IPC_SEND, EP2, AL_TAG(0, 0, 1), 0, AL_TIMEOUT_NEVER); /* release the receiver */
    al_thread_join(rx, &st);
    ktap_result(st == 2, "the refused receiver got only the plain message afterwards");
    al_cap_delete(15);

    /* fast path against the general path: identical results */
    struct al_stats a, b;
    al_stats(&a, sizeof a);
    ok = 1;
    for (unsigned long w = 0; w <= 8; w++)
        ok &= roundtrip(EP, w, 0);
    al_stats(&b, sizeof b);
    unsigned long fast_on = b.ipc_fast - a.ipc_fast;
    long old = al_kernel_control(AL_KCTL_IPC_FASTPATH, 0);
    al_stats(&a, sizeof a);
    int ok2 = 1;
    for (unsigned long w = 0; w <= 8; w++)
        ok2 &= roundtrip(EP, w, 0);
    al_stats(&b, sizeof b);
    unsigned long fast_off = b.ipc_fast - a.ipc_fast;
    al_kernel_control(AL_KCTL_IPC_FASTPATH, old);
    ktap_result(ok && ok2, "identical replies with the fast path on and off");
    ktap_result(fast_off == 0, "fast path off: no fast IPC (%lu)", fast_off);
    ktap_result(n > 1 || fast_on > 0, "fast path on: %lu of 18 IPCs took it (server %s)", fast_on,
                n > 1 ? "on another CPU: general path" : "on this CPU");

    stop_server(EP);
    al_thread_join(srv, &st);
    ktap_result(st == 0, "server ended cleanly");

    /* integrity stress: pairs spread over the CPUs */
    long sids[PAIRS], cids[PAIRS];
    for (long p = 0; p < PAIRS; p++) {
        al_endpoint_create(20 + p);
        sids[p] = thread_spawn(stress_server, (void *)p, stacks[6 + p], sizeof stacks[6 + p], 100, (p * 2) % n);
        cids[p] = thread_spawn(stress_client, (void *)p, stacks[10 + p], sizeof stacks[10 + p], 100, (p * 2 + 1) % n);
    }
    for (long p = 0; p < PAIRS; p++) {
        al_thread_join(cids[p], &st);
        al_thread_join(sids[p], &st);
    }
    ktap_result(stress_bad == 0, "%d pairs x %d sequence-numbered calls: none lost, duplicated or reordered (%ld bad)",
                PAIRS, MSGS, stress_bad);

    /* one server, several clients */
    al_endpoint_create(23);
    for (long i = 0; i < CLIENTS; i++)
        al_cap_copy(23, 30 + i, AL_R_SEND, 0x100 + i);
    long ms = thread_spawn(multi_server, 0, stacks[6], sizeof stacks[6], 100, 0);
    long mc[CLIENTS];
    for (long i = 0; i < CLIENTS; i++)
        mc[i] = thread_spawn(multi_client, (void *)i, stacks[10 + i % 4], sizeof stacks[10], 100, i % n);
    for (long i = 0; i < CLIENTS; i++)
        al_thread_join(mc[i], &st);
    long served = 0;
    al_thread_join(ms, &served);
    ktap_result(multi_bad == 0 && served == CLIENTS * CALLS,
                "reply-and-receive server with %d concurrent clients (badges tell them apart): %ld served, %ld bad",
                CLIENTS, served, multi_bad);

    /* deleting an endpoint cancels its waiters */
    ktap_result(al_cap_delete(EP2) == 0 && al_cap_delete(EP2) == 0, "delete (twice is harmless)");
    ktap_result(al_ipc(AL_IPC_SEND, EP2, 0, 0, 0) == -AL_EBADCAP, "send on a deleted endpoint: EBADCAP");
    return ktap_failures();
}
