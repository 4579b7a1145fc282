/*
 * Two tasks talking over the boot endpoint (slot AL_SLOT_BOOT_EP):
 *   ipcpair server   echo server in its own address space (start=bg)
 *   ipcpair client   KTAP tests: cross-address-space call/reply, badges,
 *                    a capability passed to the other task and used there
 *   ipcpair bench    the client side of the IPC round-trip benchmark
 *   ipcpair bench-server  its server (start=bg)
 * The server answers label 0xdead by exiting.
 */
#include "user/lib/airlock.h"
#include "lib/string.h"

#define BOOT  AL_SLOT_BOOT_EP
#define MY_EP 10
#define GOT   5

static int server(void)
{
    struct al_utcb *u = al_utcb();
    al_thread_set_affinity(0, 0);
    u->rcv_cap_slot = GOT;
    long r = al_ipc(AL_IPC_RECV, 0, 0, BOOT, AL_TIMEOUT_NEVER);
    while (r == 0) {
        unsigned long tag = u->tag, label = AL_TAG_LABEL(tag);
        if (label == 0xdead) {
            al_ipc(AL_IPC_REPLY, -1, 0, 0, 0);
            return 0;
        }
        if (label == 0xca9) {
            /* got a capability: say hello through it, then drop it */
            struct al_cap_info ci;
            long ok = al_cap_info(GOT, &ci) == 0 && ci.type == AL_CAP_ENDPOINT && ci.rights == AL_R_SEND;
            al_ipc(AL_IPC_REPLY, -1, AL_TAG(0, 0, ok), 0, 0);
            u->mr[0] = 0x5a5a;
            al_ipc(AL_IPC_SEND, GOT, AL_TAG(1, 0, 0x77), 0, AL_TIMEOUT_NEVER);
            al_cap_delete(GOT);
            r = al_ipc(AL_IPC_RECV, 0, 0, BOOT, AL_TIMEOUT_NEVER);
            continue;
        }
        u->mr[0] += u->badge;
        r = al_ipc(AL_IPC_REPLY_RECV, 0, AL_TAG(AL_TAG_WORDS(tag), 0, label + 1), BOOT, AL_TIMEOUT_NEVER);
    }
    return 1;
}

/* the benchmark's server: answers every call with the message as it came
 * (one word), until label 0xdead; nothing else in the loop */
static int bench_server(void)
{
    struct al_utcb *u = al_utcb();
    al_thread_set_affinity(0, 0);
    long r = al_ipc(AL_IPC_RECV, 0, 0, BOOT, AL_TIMEOUT_NEVER);
    while (r == 0 && AL_TAG_LABEL(u->tag) != 0xdead)
        r = al_ipc(AL_IPC_REPLY_RECV, 0, AL_TAG(1, 0, 0), BOOT, AL_TIMEOUT_NEVER);
    al_ipc(AL_IPC_REPLY, -1, 0, 0, 0);
    return 0;
}

static long call(long cap, unsigned long tag)
{
    return al_ipc(AL_IPC_CALL, cap, tag, 0, AL_TIMEOUT_NEVER);
}

static int client(void)
{
    struct al_utcb *u = al_utcb();
    al_thread_set_affinity(0, 0);
    ktap_plan(5);
    u->mr[0] = 1000;
    u->mr[1] = 2;
    long r = call(BOOT, AL_TAG(2, 0, 10));
    ktap_result(r == 0 && u->mr[0] == 1000 && u->mr[1] == 2 && AL_TAG_LABEL(u->tag) == 11,
                "call into another address space and back");
    al_cap_copy(BOOT, 20, AL_R_SEND, 0x77);
    u->mr[0] = 1000;
    r = call(20, AL_TAG(1, 0, 10));
    ktap_result(r == 0 && u->mr[0] == 1000 + 0x77, "the server sees our badge (%#lx)", u->mr[0] - 1000);
    /* pass a send capability to our own endpoint to the server */
    al_endpoint_create(MY_EP);
    u->mr[0] = AL_ITEM_CAP | (AL_R_SEND << 8);
    u->mr[1] = MY_EP;
    r = call(BOOT, AL_TAG(0, 1, 0xca9));
    ktap_result(r == 0 && AL_TAG_LABEL(u->tag) == 1, "the capability arrived in the server's task with SEND only");
    r = al_ipc(AL_IPC_RECV, 0, 0, MY_EP, 1000000000L);
    ktap_result(r == 0 && u->mr[0] == 0x5a5a && AL_TAG_LABEL(u->tag) == 0x77, "the server used it to send to us");
    /* the server cannot reach our endpoint once it deleted its copy, and we
     * never gave it anything else: revoke and check it is gone for good */
    ktap_result(al_cap_revoke(MY_EP) == 0, "revoke what we handed out");
    call(BOOT, AL_TAG(0, 0, 0xdead));
    return ktap_failures();
}

#define ROUNDS 2000
static int bench(void)
{
    struct al_utcb *u = al_utcb();
    al_thread_set_affinity(0, 0);
    al_sleep(20000000);
    for (int pass = 0; pass < 2; pass++) {
        long old = al_kernel_control(AL_KCTL_IPC_FASTPATH, pass == 0);
        struct al_stats a, b;
        /* what one stats call adds itself: 2 CR3 writes, and 2 TLB
         * flushes without PCID (none with it) */
        al_stats(&a, sizeof a);
        al_stats(&b, sizeof b);
        unsigned long self_cr3 = b.cr3_writes - a.cr3_writes, self_tlb = b.tlb_flushes - a.tlb_flushes;
        for (int i = 0; i < 200; i++)
            call(BOOT, AL_TAG(1, 0, 1));
        al_stats(&a, sizeof a);
        if (pass == 0) /* (a region id must be a literal) */
            BENCH_REGION_BEGIN(3);
        else
            BENCH_REGION_BEGIN(4);
        uint64_t t0 = rdtsc();
        for (int i = 0; i < ROUNDS; i++) {
            u->mr[0] = (unsigned long)i;
            call(BOOT, AL_TAG(1, 0, 1));
        }
        uint64_t t1 = rdtsc();
        if (pass == 0)
            BENCH_REGION_END(3);
        else
            BENCH_REGION_END(4);
        al_stats(&b, sizeof b);
        al_kernel_control(AL_KCTL_IPC_FASTPATH, old);
        unsigned long cr3 = b.cr3_writes - a.cr3_writes - self_cr3;
        unsigned long tlb = b.tlb_flushes - a.tlb_flushes - self_tlb;
        printf("bench: IPC round trip, 1 word, 2 spaces (%s)  %5lu instructions/op  CR3 writes/op %lu.%02lu  "
               "TLB flushes/op %lu.%02lu  FPU saves/op %lu.%02lu  fast %lu slow %lu  region %d ops %d\n",
               pass == 0 ? "fast path" : "general path", (unsigned long)((t1 - t0) / ROUNDS), cr3 / ROUNDS,
               cr3 % ROUNDS * 100 / ROUNDS, tlb / ROUNDS, tlb % ROUNDS * 100 / ROUNDS, (b.fpu_saves - a.fpu_saves) / ROUNDS,
               (b.fpu_saves - a.fpu_saves) % ROUNDS * 100 / ROUNDS, b.ipc_fast - a.ipc_fast, b.ipc_slow - a.ipc_slow,
               3 + pass, ROUNDS);
    }
    call(BOOT, AL_TAG(0, 0, 0xdead));
    return 0;
}

int main(int argc, char **argv)
{
    const char *role = argc > 1 ? argv[1] : "";
    if (!strcmp(role, "server"))
        return server();
    if (!strcmp(role, "client"))
        return client();
    if (!strcmp(role, "bench"))
        return bench();
    if (!strcmp(role, "bench-server"))
        return bench_server();
    printf("usage: ipcpair server|client|bench\n");
    return 2;
}
