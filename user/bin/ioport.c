/*
 * I/O ports by capability (KTAP). Started with ports=all: slot
 * AL_SLOT_IOPORTS holds a copy of the root task's capability for all ports.
 *
 * The port used is the PCI configuration address register 0xcf8 (32 bits,
 * reads back what was written; the kernel does not use PCI configuration
 * space). Port accesses that fault go to a handler thread that skips the
 * one-byte instruction (in/out with DX, CLI, STI, HLT are all one byte)
 * and counts the fault, so one thread can try and carry on.
 *
 * Child tasks (ports, cap_give, IPC cap items, revocation on another CPU)
 * run code of this image: its text pages are mapped into them, plus a
 * stack page and a page shared with us. Their code touches nothing else:
 * no globals, no string constants.
 */
#include "user/lib/airlock.h"
#include "user/lib/child.h"
#include "abi/airlock/boot.h"

#define EP        10 /* the fault handler's endpoint */
#define SUB       11 /* [PORT, PORT + 4), derived from AL_SLOT_IOPORTS */
#define SUB2      12
#define TASK      20 /* child tasks */
#define CHILD_EP  13 /* endpoint we send to a child through */
#define PORT      0xcf8
#define CHILD_CAP 5            /* the slot of a child's port capability */
#define CHILD_IPC 6            /* a child's endpoint (from us) */
#define SHARED    0x50000000UL /* shared page, the same address in the child */
#define CSTACK    0x50001000UL /* a child's stack page (ours: where we fill it) */

static char stack[16384] __attribute__((aligned(16)));
static char stack2[16384] __attribute__((aligned(16)));
static volatile unsigned long nfaults, last_vector;

static long handler(void *arg)
{
    long ep = (long)arg;
    struct al_utcb *u = al_utcb();
    long r = al_ipc(AL_IPC_RECV, 0, 0, ep, AL_TIMEOUT_NEVER);
    for (;;) {
        if (r) {
            r = al_ipc(AL_IPC_RECV, 0, 0, ep, AL_TIMEOUT_NEVER);
            continue;
        }
        if (AL_TAG_LABEL(u->tag) == 0xdead)
            return 0;
        last_vector = u->mr[AL_FR_VECTOR];
        nfaults++;
        u->mr[AL_FR_RIP] += 1; /* in, out, cli, sti, hlt: one byte each */
        r = al_ipc(AL_IPC_REPLY_RECV, 0, AL_TAG(AL_FR_COUNT, 0, 0), ep, AL_TIMEOUT_NEVER);
    }
}

static inline void outl_(unsigned port, unsigned v)
{
    __asm__ volatile("outl %%eax, %%dx" ::"a"(v), "d"(port) : "memory");
}

static inline unsigned inl_(unsigned port)
{
    unsigned v = 0xdeadbeef;
    __asm__ volatile("inl %%dx, %%eax" : "+a"(v) : "d"(port) : "memory");
    return v;
}

static inline unsigned char inb_(unsigned port)
{
    unsigned char v = 0x5a;
    __asm__ volatile("inb %%dx, %%al" : "+a"(v) : "d"(port) : "memory");
    return v;
}

/* does writing v to PORT and reading it back work, without a fault? */
static int port_works(unsigned v)
{
    unsigned long f = nfaults;
    outl_(PORT, v);
    unsigned r = inl_(PORT);
    return nfaults == f && r == v;
}

/* both the write and the read fault */
static int port_faults(void)
{
    unsigned long f = nfaults;
    outl_(PORT, 0x80000010);
    (void)inl_(PORT);
    return nfaults == f + 2 && last_vector == 13;
}

/* ---- child tasks ---- */

struct shared {
    volatile unsigned long mode, successes, value, ready;
};
enum { C_ONCE = 1, C_RECV, C_LOOP };

/* A child's only thread. Runs in another task: uses its stack, the shared
 * page (arg) and system calls; a port access it may not make ends it (#GP). */
static __attribute__((noreturn, noinline)) void child_main(unsigned long arg)
{
    struct shared *sh = (struct shared *)arg;
    if (sh->mode == C_RECV) {
        al_utcb()->rcv_cap_slot = CHILD_CAP;
        sh->ready = 1;
        al_ipc(AL_IPC_RECV, 0, 0, CHILD_IPC, AL_TIMEOUT_NEVER);
    }
    if (sh->mode == C_LOOP) {
        for (unsigned v = 0x80000000;; v += 4) {
            outl_(PORT, v);
            sh->value = inl_(PORT);
            sh->successes++;
        }
    }
    outl_(PORT, 0x80000abc);
    sh->value = inl_(PORT);
    al_exit(0);
    for (;;)
        ;
}

static struct shared *sh = (struct shared *)SHARED;

/* a new task in slot TASK running child_main in `mode` on `cpu`, given our
 * capability `give` (-1: none) in its slot CHILD_CAP; 0 or an error */
static long child_start(unsigned long mode, long give, long cpu)
{
    long r = child_task_create(TASK, "ioport-child");
    if (r < 0)
        return r;
    if ((r = al_task_map(TASK, AL_FPAGE(SHARED, 12), SHARED, AL_MAP_RW)) < 0 ||
        (r = al_task_map(TASK, AL_FPAGE(CSTACK, 12), CSTACK, AL_MAP_RW)) < 0)
        return r;
    sh->mode = mode;
    sh->successes = sh->value = sh->ready = 0;
    if (give >= 0 && (r = al_cap_give(TASK, give, CHILD_CAP, AL_R_ALL)) < 0)
        return r;
    if (mode == C_RECV && (r = al_cap_give(TASK, CHILD_EP, CHILD_IPC, AL_R_RECV)) < 0)
        return r;
    r = al_thread_create_in(TASK, (unsigned long)child_main, CSTACK + 4096 - 8, SHARED, 100, cpu);
    return r < 0 ? r : 0;
}

/* wait for the child task, then drop it; how it ended */
static struct al_task_end child_end(void)
{
    struct al_task_end e = {0, 0};
    al_task_wait(TASK, &e);
    al_cap_delete(TASK);
    return e;
}

/* ---- our own thread on another CPU ---- */

static volatile int spin_stop;
static volatile unsigned long spin_ok, spin_faulted;

static long spinner(void *arg)
{
    (void)arg;
    al_thread_set_handler(0, EP);
    while (!spin_stop) {
        unsigned long f = nfaults;
        outl_(PORT, 0x80000020);
        (void)inl_(PORT);
        if (nfaults != f) {
            spin_faulted = 1;
            break;
        }
        spin_ok++;
    }
    al_thread_set_handler(0, -1);
    return 0;
}

int main(int argc, char **argv)
{
    (void)argc, (void)argv;
    struct al_cap_info ci;
    long r;
    int other = ncpus() > 1 ? 1 : 0;
    ktap_plan(17 + other);
    al_endpoint_create(EP);
    al_endpoint_create(CHILD_EP);
    al_thread_set_affinity(0, 0);
    thread_spawn(handler, (void *)EP, stack, sizeof stack, 150, -1);
    al_thread_set_handler(0, EP);
    if (mem_alloc((void *)SHARED, 12, AL_MAP_RW) < 0 || mem_alloc((void *)CSTACK, 12, AL_MAP_RW) < 0)
        printf("ioport: no memory from sigma0\n");

    r = al_cap_info(AL_SLOT_IOPORTS, &ci);
    ktap_result(r == 0 && ci.type == AL_CAP_IOPORT && ci.id == AL_IOPORT_ID(0, 65536) && ci.rights == AL_R_CONTROL,
                "slot %d: an ioport capability for all ports (id %#lx)", AL_SLOT_IOPORTS, ci.id);
    ktap_result(port_works(0x80000004) && port_works(0x80001238), "with it, out and in work (port %#x)", PORT);

    /* the kernel's ports stay denied (reads only: harmless if they worked) */
    unsigned long f = nfaults;
    static const unsigned kports[] = {0x21, 0xa1, 0x40, 0x43, 0x61, 0xf4, 0x3d5, 0x3fd};
    for (unsigned i = 0; i < sizeof kports / sizeof kports[0]; i++)
        (void)inb_(kports[i]);
    ktap_result(nfaults == f + 8 && last_vector == 13, "the kernel's ports fault even so (%lu of 8)", nfaults - f);

    f = nfaults;
    __asm__ volatile("cli" ::: "memory");
    __asm__ volatile("sti" ::: "memory");
    __asm__ volatile("hlt" ::: "memory");
    ktap_result(nfaults == f + 3 && last_vector == 13, "CLI, STI, HLT fault with ports granted (IOPL 0)");

    /* ioport_derive's errors, in their check order */
    int e = 1;
    e &= al_ioport_derive(99, SUB, PORT, 4, AL_R_ALL) == -AL_EBADCAP;              /* empty */
    e &= al_ioport_derive(AL_SLOT_BOOT_EP, SUB, PORT, 4, AL_R_ALL) == -AL_EBADCAP; /* an endpoint */
    e &= al_ioport_derive(-1, SUB, PORT, 4, AL_R_ALL) == -AL_EBADCAP;
    e &= al_ioport_derive(AL_SLOT_IOPORTS, 256, PORT, 4, AL_R_ALL) == -AL_EBADCAP;
    e &= al_ioport_derive(AL_SLOT_IOPORTS, EP, PORT, 4, AL_R_ALL) == -AL_EEXIST;
    e &= al_ioport_derive(AL_SLOT_IOPORTS, SUB, PORT, 4, 0x10) == -AL_EINVAL;
    e &= al_ioport_derive(AL_SLOT_IOPORTS, SUB, PORT, 0, AL_R_ALL) == -AL_EINVAL;
    e &= al_ioport_derive(AL_SLOT_IOPORTS, SUB, 0xffff, 2, AL_R_ALL) == -AL_EINVAL;
    e &= al_ioport_derive(AL_SLOT_IOPORTS, SUB, 0x10000, 1, AL_R_ALL) == -AL_EINVAL;
    e &= al_ioport_derive(AL_SLOT_IOPORTS, SUB, 0xff00, ~0UL, AL_R_ALL) == -AL_EINVAL; /* wraps */
    e &= al_ioport_derive(AL_SLOT_IOPORTS, SUB, 0, 65537, AL_R_ALL) == -AL_EINVAL;
    ktap_result(e, "ioport_derive: bad slots, wrong type, bad rights, empty and wrapping ranges");
    e = 1;
    e &= al_ioport_derive(AL_SLOT_IOPORTS, SUB, 0x3f8, 1, AL_R_ALL) == -AL_EPERM;
    e &= al_ioport_derive(AL_SLOT_IOPORTS, SUB, 0x20, 1, AL_R_ALL) == -AL_EPERM;
    e &= al_ioport_derive(AL_SLOT_IOPORTS, SUB, 0x40, 4, AL_R_ALL) == -AL_EPERM;
    e &= al_ioport_derive(AL_SLOT_IOPORTS, SUB, 0xf4, 1, AL_R_ALL) == -AL_EPERM;
    e &= al_ioport_derive(AL_SLOT_IOPORTS, SUB, 0x0, 0x10000, AL_R_ALL) == -AL_EPERM;
    e &= al_ioport_derive(AL_SLOT_IOPORTS, SUB, 0x3f0, 0x10, AL_R_ALL) == -AL_EPERM; /* overlaps COM1 */
    ktap_result(e, "ioport_derive: ranges with the kernel's ports (0x3f8, 0x20, 0x40, 0xf4) are refused");

    r = al_ioport_derive(AL_SLOT_IOPORTS, SUB, PORT, 4, AL_R_ALL);
    long r2 = al_cap_info(SUB, &ci);
    ktap_result(r == 0 && r2 == 0 && ci.type == AL_CAP_IOPORT && ci.id == AL_IOPORT_ID(PORT, 4) &&
                    ci.rights == AL_R_CONTROL,
                "derived [%#x, %#x): id %#lx", PORT, PORT + 4, ci.id);
    e = 1;
    e &= al_ioport_derive(SUB, SUB2, PORT - 4, 4, AL_R_ALL) == -AL_EPERM; /* below */
    e &= al_ioport_derive(SUB, SUB2, PORT + 2, 4, AL_R_ALL) == -AL_EPERM; /* past the end */
    e &= al_ioport_derive(SUB, SUB2, PORT + 1, 2, 0) == 0;                /* inside, no CONTROL */
    e &= al_ioport_derive(SUB2, 14, PORT + 1, 1, AL_R_ALL) == -AL_EPERM;  /* needs CONTROL */
    e &= al_cap_copy(SUB2, 14, AL_R_ALL, 5) == -AL_EPERM;                 /* no badge */
    e &= al_cap_copy(SUB2, 14, AL_R_ALL, 0) == 0 && al_cap_info(14, &ci) == 0 && ci.id == AL_IOPORT_ID(PORT + 1, 2);
    al_cap_delete(SUB2);
    e &= al_cap_info(14, &ci) == -AL_EBADCAP; /* deleted with its source */
    ktap_result(e, "sub-ranges outside the source are refused; CONTROL needed to derive; cap_copy works");

    /* the union: deleting the sub-range leaves the ports of the whole one */
    al_cap_delete(SUB);
    ktap_result(port_works(0x80000044), "ports stay while another capability covers them");

    /* another task never sees ours: a child without a capability dies */
    struct al_task_end end;
    for (int cpu = 0; cpu <= other; cpu++) {
        port_works(0x80000040); /* our ports are in our CPU's bitmap (CPU 0) */
        r = child_start(C_ONCE, -1, cpu);
        end = child_end();
        ktap_result(r == 0 && end.how == AL_THREAD_FAULTED && end.status == 13,
                    "a task without a capability, on CPU %d, faults (#GP) while we hold ports (%ld, %ld/%ld)", cpu, r,
                    end.how, end.status);
    }

    /* cap_give: the child's ports work */
    r = al_ioport_derive(AL_SLOT_IOPORTS, SUB, PORT, 4, AL_R_ALL);
    long r1 = child_start(C_ONCE, SUB, other);
    end = child_end();
    ktap_result(r == 0 && r1 == 0 && end.how == AL_THREAD_EXITED && sh->value == 0x80000abc,
                "given by cap_give, the child's in and out work (%ld %ld, %#lx)", r, r1, sh->value);

    /* an IPC capability item */
    r = child_start(C_RECV, -1, other);
    while (r == 0 && !sh->ready)
        al_yield();
    struct al_utcb *u = al_utcb();
    u->mr[0] = AL_ITEM_CAP;
    u->mr[1] = SUB;
    r1 = al_ipc(AL_IPC_SEND, CHILD_EP, AL_TAG(0, 1, 0), 0, AL_TIMEOUT_NEVER);
    end = child_end();
    ktap_result(r == 0 && r1 == 0 && end.how == AL_THREAD_EXITED && sh->value == 0x80000abc,
                "sent as an IPC capability item, the child's in and out work (%ld %ld, %#lx)", r, r1, sh->value);

    /* revocation reaches a child running on another CPU before cap_revoke returns */
    r = child_start(C_LOOP, SUB, other);
    while (r == 0 && sh->successes < 100)
        al_yield();
    r1 = al_cap_revoke(SUB);
    unsigned long seen = sh->successes;
    end = child_end();
    ktap_result(r == 0 && r1 == 0 && end.how == AL_THREAD_FAULTED && end.status == 13 && sh->successes <= seen + 1,
                "cap_revoke: a child on CPU %d faults at once (%lu accesses before, %lu after)", other, seen,
                sh->successes - seen);
    ktap_result(port_works(0x80000048), "our own ports are untouched by revoking what we gave");

    /* and a thread of our own task on another CPU, when we delete them all */
    r = thread_spawn(spinner, 0, stack2, sizeof stack2, 100, other);
    while (r > 0 && spin_ok < 100)
        al_yield();
    al_cap_delete(AL_SLOT_IOPORTS);
    seen = spin_ok;
    while (r > 0 && !spin_faulted)
        al_yield();
    spin_stop = 1;
    al_thread_join(r, 0);
    ktap_result(r > 0 && spin_faulted && spin_ok <= seen + 1,
                "cap_delete: our thread on CPU %d faults at once (%lu accesses after)", other, spin_ok - seen);
    ktap_result(port_faults(), "without capabilities, in and out fault again");
    ktap_result(al_cap_info(AL_SLOT_IOPORTS, &ci) == -AL_EBADCAP &&
                    al_ioport_derive(AL_SLOT_IOPORTS, SUB, PORT, 4, AL_R_ALL) == -AL_EBADCAP,
                "the capability is gone");

    al_thread_set_handler(0, -1);
    al_ipc(AL_IPC_SEND, EP, AL_TAG(0, 0, 0xdead), 0, AL_TIMEOUT_NEVER);
    return ktap_failures();
}
