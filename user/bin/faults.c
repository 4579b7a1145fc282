/*
 * Faults at user level (KTAP), and their benchmarks (`faults bench`):
 * a page fault resolved by a pager thread answering with a map item, an
 * exception handler that emulates an instruction by rewriting registers,
 * one that kills, a protection fault fixed by changing the mapping, and
 * the errors. The faulting thread's UTCB stays as it was.
 */
#include "user/lib/airlock.h"
#include "lib/string.h"

#define EP         10
#define PAGER_PAGE 0x50000000UL /* where the pager keeps pages it hands out */
#define FAULT_AREA 0x60000000UL /* touched unmapped: each access faults once */
#define RO_PAGE    0x70000000UL
#define MAGIC      0xfa017ed00d5UL

static char stack[16384] __attribute__((aligned(16)));
static char stack2[16384] __attribute__((aligned(16)));
static char stack3[16384] __attribute__((aligned(16)));
static volatile int mode; /* what the handler does */
static volatile unsigned long handled, last_addr, last_vector;

enum { H_PAGER = 1, H_SKIP_UD2, H_KILL, H_MAKE_RW, H_BAD_RIP, H_RETRY, H_MAP_P, H_PAGER_POOL, H_BAD_RSP };

#define POOL 0x5c000000UL /* a 1 MiB block the pager got from sigma0 beforehand */
static unsigned long pool_next = POOL;

#define P_RW 0x58000000UL /* a page the handler maps out, with map_rights */
static volatile int map_rights;

/* the handler thread: serves fault messages on endpoint `arg` until told to stop */
static long handler(void *arg)
{
    long ep = (long)arg;
    struct al_utcb *u = al_utcb();
    unsigned long next_page = PAGER_PAGE;
    long r = al_ipc(AL_IPC_RECV, 0, 0, ep, AL_TIMEOUT_NEVER);
    for (;;) {
        if (r) {
            r = al_ipc(AL_IPC_RECV, 0, 0, ep, AL_TIMEOUT_NEVER);
            continue;
        }
        if (AL_TAG_LABEL(u->tag) == 0xdead)
            return 0; /* the test is over */
        handled++;
        last_addr = u->mr[AL_FR_ADDR];
        last_vector = u->mr[AL_FR_VECTOR];
        unsigned long reply = AL_TAG(0, 0, 0);
        if (mode == H_PAGER && AL_TAG_LABEL(u->tag) == AL_LABEL_PAGE_FAULT) {
            long id = mem_alloc((void *)next_page, 12, AL_MAP_RW);
            if (id >= 0) {
                *(volatile unsigned long *)(next_page + (last_addr & 0xff8)) = MAGIC ^ (last_addr & ~0xfffUL);
                u->mr[0] = AL_ITEM_MAP | (AL_MAP_RW << 8);
                u->mr[1] = AL_FPAGE(next_page, 12);
                reply = AL_TAG(0, 1, 0);
                next_page += 4096;
            }
        } else if (mode == H_PAGER_POOL && AL_TAG_LABEL(u->tag) == AL_LABEL_PAGE_FAULT) {
            /* the usual pager: hand out a page of memory it already holds */
            u->mr[0] = AL_ITEM_MAP | (AL_MAP_RW << 8);
            u->mr[1] = AL_FPAGE(pool_next, 12);
            reply = AL_TAG(0, 1, 0);
            pool_next += 4096;
        } else if (mode == H_SKIP_UD2) {
            u->mr[AL_FR_RIP] += 2; /* ud2 is two bytes */
            u->mr[AL_FR_RAX] = 42;
            reply = AL_TAG(AL_FR_COUNT, 0, 0);
        } else if (mode == H_KILL) {
            reply = AL_TAG(0, 0, AL_FAULT_KILL);
        } else if (mode == H_MAKE_RW) {
            /* the page is read-only: replace it by a writable one */
            mem_alloc((void *)RO_PAGE, 12, AL_MAP_RW);
        } else if (mode == H_MAP_P) {
            u->mr[0] = AL_ITEM_MAP | ((unsigned long)map_rights << 8);
            u->mr[1] = AL_FPAGE(P_RW, 12);
            reply = AL_TAG(0, 1, 0);
        } else if (mode == H_BAD_RIP) {
            u->mr[AL_FR_RIP] = AL_KERNEL_BASE;
            reply = AL_TAG(AL_FR_COUNT, 0, 0);
        } else if (mode == H_BAD_RSP) {
            u->mr[AL_FR_RIP] += 2;
            u->mr[AL_FR_RSP] = 0x8000000000000000UL; /* non-canonical */
            reply = AL_TAG(AL_FR_COUNT, 0, 0);
        }
        r = al_ipc(AL_IPC_REPLY_RECV, 0, reply, ep, AL_TIMEOUT_NEVER);
    }
    return 0;
}

static long ud2_with_rax(void)
{
    long rax = 1;
    __asm__ volatile("ud2" : "+a"(rax) : : "memory");
    return rax;
}

static long killed_thread(void *arg)
{
    (void)arg;
    al_thread_set_handler(0, EP);
    __asm__ volatile("ud2");
    return 0;
}

static long bad_rip_thread(void *arg)
{
    (void)arg;
    al_thread_set_handler(0, EP);
    __asm__ volatile("ud2");
    return 0;
}

static int bench(void)
{
    struct al_stats a, b;
    al_thread_set_handler(0, EP);
    /* page faults resolved by the pager from memory it holds (each page
     * touched once) */
    mem_alloc((void *)POOL, 20, AL_MAP_RW);
    mode = H_PAGER_POOL;
    const int N = 200;
    for (int i = 0; i < 20; i++)
        (void)*(volatile unsigned long *)(FAULT_AREA + 0x100000 + (unsigned long)i * 4096);
    al_stats(&a, sizeof a);
    uint64_t t0 = rdtsc();
    for (int i = 0; i < N; i++)
        (void)*(volatile unsigned long *)(FAULT_AREA + (unsigned long)i * 4096);
    uint64_t t1 = rdtsc();
    al_stats(&b, sizeof b);
    printf("bench: page fault -> user pager (map item) -> resumed  %5lu instructions/op  CR3 writes/op %lu\n",
           (unsigned long)((t1 - t0) / N), (b.cr3_writes - a.cr3_writes - 2) / N);
    /* exceptions emulated by the handler */
    mode = H_SKIP_UD2;
    for (int i = 0; i < 20; i++)
        ud2_with_rax();
    al_stats(&a, sizeof a);
    t0 = rdtsc();
    for (int i = 0; i < N; i++)
        ud2_with_rax();
    t1 = rdtsc();
    al_stats(&b, sizeof b);
    printf("bench: exception -> user handler -> back    %5lu instructions/op  CR3 writes/op %lu\n",
           (unsigned long)((t1 - t0) / N), (b.cr3_writes - a.cr3_writes - 2) / N);
    /* protection fault -> the handler maps the page writable -> retry;
     * then the page is made read-only again (unmap taking W away) */
    mem_alloc((void *)P_RW, 12, AL_MAP_RW);
    mode = H_MAP_P;
    map_rights = AL_MAP_R;
    volatile unsigned long *x = (volatile unsigned long *)(FAULT_AREA + 0x800000);
    (void)*x; /* first touch: mapped read-only */
    map_rights = AL_MAP_RW;
    for (int i = 0; i < 20; i++) {
        *x = (unsigned long)i;
        al_unmap(AL_FPAGE(P_RW, 12), AL_MAP_W);
    }
    al_stats(&a, sizeof a);
    uint64_t fault_only = 0;
    t0 = rdtsc();
    for (int i = 0; i < N; i++) {
        uint64_t s = rdtsc();
        *x = (unsigned long)i; /* protection fault, fixed by the handler, retried */
        fault_only += rdtsc() - s;
        al_unmap(AL_FPAGE(P_RW, 12), AL_MAP_W);
    }
    t1 = rdtsc();
    al_stats(&b, sizeof b);
    /* the fault alone, from the write to its retired retry (includes the
     * pair of RDTSCs around it, a few instructions) */
    printf("bench: protection fault -> handler maps RW -> retry (fault only)  %5lu instructions/op\n",
           (unsigned long)(fault_only / N));
    printf("bench: protection fault -> handler maps RW -> retry (+ unmap W)  %5lu instructions/op  CR3 writes/op %lu  "
           "INVLPG/op %lu\n",
           (unsigned long)((t1 - t0) / N), (b.cr3_writes - a.cr3_writes - 2) / N, (b.invlpg - a.invlpg) / N);
    al_thread_set_handler(0, -1);
    al_ipc(AL_IPC_SEND, EP, AL_TAG(0, 0, 0xdead), 0, AL_TIMEOUT_NEVER);
    return 0;
}

int main(int argc, char **argv)
{
    al_endpoint_create(EP);
    al_thread_set_affinity(0, 0);
    thread_spawn(handler, (void *)EP, stack, sizeof stack, 150, 0);
    if (argc > 1 && !strcmp(argv[1], "bench"))
        return bench();
    if (argc > 1 && !strcmp(argv[1], "pf-loop")) { /* for profiling: page faults only */
        al_thread_set_handler(0, EP);
        mem_alloc((void *)POOL, 20, AL_MAP_RW);
        mode = H_PAGER_POOL;
        for (int i = 0; i < 256; i++)
            (void)*(volatile unsigned long *)(FAULT_AREA + (unsigned long)i * 4096);
        al_thread_set_handler(0, -1);
        al_ipc(AL_IPC_SEND, EP, AL_TAG(0, 0, 0xdead), 0, AL_TIMEOUT_NEVER);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "exc-loop")) { /* for profiling: exceptions only */
        al_thread_set_handler(0, EP);
        mode = H_SKIP_UD2;
        for (int i = 0; i < 2000; i++)
            ud2_with_rax();
        al_thread_set_handler(0, -1);
        al_ipc(AL_IPC_SEND, EP, AL_TAG(0, 0, 0xdead), 0, AL_TIMEOUT_NEVER);
        return 0;
    }
    struct al_utcb *u = al_utcb();
    long st;
    ktap_plan(14);
    ktap_result(al_thread_set_handler(0, 99) == -AL_EBADCAP && al_thread_set_handler(999999, EP) == -AL_ESRCH,
                "thread_set_handler: bad slot EBADCAP, unknown thread ESRCH");
    al_cap_copy(EP, 11, AL_R_RECV, 0);
    ktap_result(al_thread_set_handler(0, 11) == -AL_EPERM, "a handler endpoint needs the SEND right");
    ktap_result(al_thread_set_handler(0, EP) == 0, "this thread's faults go to the handler");
    /* a mistyped slot leaves the armed handler in place */
    int still_armed = al_thread_set_handler(0, 99) == -AL_EBADCAP && al_thread_set_handler(0, 11) == -AL_EPERM;
    mode = H_SKIP_UD2;
    ktap_result(still_armed && ud2_with_rax() == 42 && last_vector == 6,
                "a refused new handler (bad slot, no SEND) keeps the old one: the next fault still reaches it");

    /* page faults resolved by the pager */
    mode = H_PAGER;
    for (int i = 0; i < 4; i++)
        u->mr[i] = 0x5a5a0000UL + (unsigned long)i;
    unsigned long v = *(volatile unsigned long *)(FAULT_AREA + 0x2008);
    int utcb_ok = 1;
    for (int i = 0; i < 4; i++)
        utcb_ok &= u->mr[i] == 0x5a5a0000UL + (unsigned long)i;
    ktap_result(v == (MAGIC ^ (FAULT_AREA + 0x2000)) && last_addr == FAULT_AREA + 0x2008 && last_vector == 14,
                "a page fault resolved by the pager's map item: the thread read the pager's data (%#lx)", v);
    ktap_result(utcb_ok, "the faulting thread's message registers are untouched");
    ktap_result(al_map_info(FAULT_AREA + 0x2000) == (AL_MAP_RW | AL_MAP_MANAGED), "the page is now mapped here");

    /* an exception emulated: skip ud2, set RAX */
    mode = H_SKIP_UD2;
    ktap_result(ud2_with_rax() == 42 && last_vector == 6, "#UD emulated by the handler (RIP and RAX rewritten)");

    /* a protection fault fixed by changing the mapping, then retried */
    mem_alloc((void *)RO_PAGE, 12, AL_MAP_R);
    mode = H_MAKE_RW;
    unsigned long before = handled;
    *(volatile unsigned long *)RO_PAGE = 7;
    ktap_result(handled == before + 1 && *(volatile unsigned long *)RO_PAGE == 7 &&
                    al_map_info(RO_PAGE) == (AL_MAP_RW | AL_MAP_MANAGED),
                "write to a read-only page: the handler remaps it writable, the write is retried");

    /* rights taken away take effect at once on this CPU too (the kernel
     * skips its own flush on the kernel CR3 and relies on the exit's CR3
     * write): W removed from a page this thread has just written, the next
     * write faults again */
    mem_alloc((void *)P_RW, 12, AL_MAP_RW);
    mode = H_MAP_P;
    map_rights = AL_MAP_RW;
    volatile unsigned long *y = (volatile unsigned long *)(FAULT_AREA + 0x900000);
    before = handled;
    *y = 1; /* not present: the handler maps P_RW here, writable */
    long uw = al_unmap(AL_FPAGE(P_RW, 12), AL_MAP_W);
    int ro = al_map_info((unsigned long)y) == (AL_MAP_R | AL_MAP_MANAGED);
    *y = 2; /* read-only now: must fault, the handler maps it RW again */
    ktap_result(uw >= 0 && ro && handled == before + 2 && *y == 2 && *(volatile unsigned long *)P_RW == 2,
                "W taken away by unmap: the thread's next write faults at once (%lu faults, unmap %ld)",
                handled - before, uw);

    /* the handler kills */
    mode = H_KILL;
    long t = thread_spawn(killed_thread, 0, stack2, sizeof stack2, 100, 0);
    long how = al_thread_join(t, &st);
    ktap_result(how == AL_THREAD_FAULTED && st == 6, "a handler's AL_FAULT_KILL ends the thread (vector %ld)", st);

    /* a reply that would resume in the kernel kills instead */
    mode = H_BAD_RIP;
    t = thread_spawn(bad_rip_thread, 0, stack2, sizeof stack2, 100, 0);
    how = al_thread_join(t, &st);
    ktap_result(how == AL_THREAD_FAULTED, "a reply with a kernel RIP: the thread dies, the kernel does not care");
    mode = H_BAD_RSP;
    t = thread_spawn(bad_rip_thread, 0, stack2, sizeof stack2, 100, 0);
    how = al_thread_join(t, &st);
    ktap_result(how == AL_THREAD_FAULTED, "a reply with a non-canonical RSP: the thread dies");
    /* a handler on another CPU (the general path) */
    int n = ncpus();
    al_endpoint_create(EP + 2);
    long h2 = thread_spawn(handler, (void *)(EP + 2), stack3, sizeof stack3, 150, n - 1);
    al_thread_set_handler(0, EP + 2);
    mode = H_SKIP_UD2;
    long r2 = ud2_with_rax();
    ktap_result(r2 == 42, "a handler on CPU %d emulates #UD for a thread on CPU 0", n - 1);
    al_thread_set_handler(0, -1);
    al_ipc(AL_IPC_SEND, EP + 2, AL_TAG(0, 0, 0xdead), 0, AL_TIMEOUT_NEVER);
    al_thread_join(h2, &st);
    al_ipc(AL_IPC_SEND, EP, AL_TAG(0, 0, 0xdead), 0, AL_TIMEOUT_NEVER);
    return ktap_failures();
}
