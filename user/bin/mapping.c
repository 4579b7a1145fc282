/*
 * Memory at user level (KTAP): pages from sigma0 mapped along a chain
 * A -> B -> C (A is this task; B and C are tasks it creates, running a
 * small piece of A's own text that A maps into them), revocation of the
 * whole chain by unmap, rights that only shrink along it, grant, mapping
 * what one does not own, bad flexpages, and map items in IPC (receive
 * window checks).
 */
#include "user/lib/airlock.h"
#include "abi/airlock/boot.h"

#define MAGIC  0x6d6170706564UL /* "mapped" */
#define P      0x30000000UL     /* A's page */
#define Q      0x30001000UL     /* A's page to grant */
#define PB     0x31000000UL     /* where B sees it */
#define QB     0x31001000UL
#define PC     0x32000000UL /* where C sees it */
#define CTL    0x33000000UL /* a control page shared with B and C */
#define STK    0x34000000UL /* stack pages for the helper threads */
#define B_SLOT 40
#define C_SLOT 41
#define C_IN_B 5 /* B's capability to C */
#define EP     42

enum { OP_MAP_TO_C = 1, OP_READ, OP_INFO, OP_WRITE };

struct ctl {
    volatile long op, arg, result, value, stage, done;
};

extern char __executable_start[], etext[];

/* Runs in B or C: uses nothing but its argument and system calls. */
__attribute__((noinline)) static void helper(struct ctl *c)
{
    long op = c->op;
    if (op == OP_MAP_TO_C) {
        c->result = al_task_map(C_IN_B, AL_FPAGE(PB, 12), PC, c->arg);
    } else if (op == OP_READ) {
        c->result = al_map_info(c->arg);
        c->value = *(volatile unsigned long *)c->arg;
    } else if (op == OP_INFO) {
        c->result = al_map_info(c->arg);
    } else if (op == OP_WRITE) {
        c->stage = 1;
        *(volatile unsigned long *)c->arg = 1;
        c->stage = 2;
    }
    c->done = 1;
    for (;;)
        al_exit(0);
}

static struct ctl *ctl = (struct ctl *)CTL;

/* run one helper operation in task `slot` and wait for it */
static long run(long slot, long op, long arg, struct al_task_end *end)
{
    ctl->op = op;
    ctl->arg = arg;
    ctl->result = ctl->value = ctl->stage = ctl->done = 0;
    long t = al_thread_create_in(slot, (unsigned long)helper, STK + (slot == B_SLOT ? 4096 : 8192) - 16, CTL, 100, -1);
    if (t < 0)
        return t;
    return al_task_wait(slot, end);
}

/* map A's text, the control page and a stack page into a helper task */
static int prepare(long slot, unsigned long stack_page)
{
    unsigned long lo = (unsigned long)__executable_start & ~0xfffUL;
    for (unsigned long va = lo; va < (unsigned long)etext; va += 4096)
        if (al_task_map(slot, AL_FPAGE(va, 12), va, AL_MAP_RX))
            return 0;
    return !al_task_map(slot, AL_FPAGE(CTL, 12), CTL, AL_MAP_RW) &&
           !al_task_map(slot, AL_FPAGE(stack_page, 12), stack_page, AL_MAP_RW);
}

static char rstack[8192] __attribute__((aligned(16)));
static volatile long rcv_result;
static volatile unsigned long rcv_window;

static long receiver(void *arg)
{
    (void)arg;
    struct al_utcb *u = al_utcb();
    u->rcv_window = rcv_window;
    rcv_result = al_ipc(AL_IPC_RECV, 0, 0, EP, 2000000000L);
    return 0;
}

/* send one map item of `fpage` to a receiver thread with window `win` */
static long send_map(unsigned long fpage, unsigned long win, int rights)
{
    rcv_window = win;
    rcv_result = 1;
    long t = thread_spawn(receiver, 0, rstack, sizeof rstack, 100, 0);
    al_sleep(5000000);
    struct al_utcb *u = al_utcb();
    u->mr[0] = AL_ITEM_MAP | ((unsigned long)rights << 8);
    u->mr[1] = fpage;
    long r = al_ipc(AL_IPC_SEND, EP, AL_TAG(0, 1, 0), 0, 1000000000L);
    if (r)
        al_ipc(AL_IPC_SEND, EP, AL_TAG(0, 0, 0), 0, AL_TIMEOUT_NEVER); /* release the receiver */
    long st;
    al_thread_join(t, &st);
    return r;
}

int main(void)
{
    struct al_task_end end;
    ktap_plan(27);
    al_thread_set_affinity(0, 0);
    long idp = mem_alloc((void *)P, 12, AL_MAP_RW);
    long idq = mem_alloc((void *)Q, 12, AL_MAP_RW);
    long idc = mem_alloc((void *)CTL, 12, AL_MAP_RW);
    long ids = mem_alloc((void *)STK, 13, AL_MAP_RW);
    ktap_result(idp >= 0 && idq >= 0 && idc >= 0 && ids >= 0 && al_map_info(P) == (AL_MAP_RW | AL_MAP_MANAGED),
                "pages from sigma0 (RW, in the mapping database)");
    /* memory never arrives with someone else's data: dirty a block, give it
     * back, and check every block handed out afterwards */
    long idz = mem_alloc((void *)0x36000000, 16, AL_MAP_RW);
    for (unsigned long off = 0; idz >= 0 && off < 65536; off += 8)
        *(volatile unsigned long *)(0x36000000 + off) = 0xdeadbeefUL;
    mem_free(idz);
    int zero = 1;
    for (int round = 0; round < 4; round++) {
        long id = mem_alloc((void *)0x37000000, 16, AL_MAP_RW);
        for (unsigned long off = 0; id >= 0 && off < 65536; off += 8)
            zero &= *(volatile unsigned long *)(0x37000000 + off) == 0;
        zero &= id >= 0;
        mem_free(id);
    }
    ktap_result(zero, "fresh memory from sigma0 is zero (also after another owner dirtied it)");
    *(volatile unsigned long *)P = MAGIC;
    ktap_result(al_task_create(B_SLOT, "map-B") > 0 && al_task_create(C_SLOT, "map-C") > 0 && prepare(B_SLOT, STK) &&
                    prepare(C_SLOT, STK + 4096),
                "tasks B and C with A's text, a control page and a stack");
    ktap_result(al_cap_give(B_SLOT, C_SLOT, C_IN_B, AL_R_CONTROL) == 0, "B gets a capability to C");

    /* A -> B -> C */
    ktap_result(al_task_map(B_SLOT, AL_FPAGE(P, 12), PB, AL_MAP_RW) == 0, "A maps its page into B");
    long r = run(B_SLOT, OP_MAP_TO_C, AL_MAP_RW, &end);
    ktap_result(r == 0 && ctl->done && ctl->result == 0, "B maps it on into C (%ld)", ctl->result);
    r = run(C_SLOT, OP_READ, PC, &end);
    ktap_result(r == 0 && ctl->value == MAGIC && ctl->result == (AL_MAP_RW | AL_MAP_MANAGED),
                "C reads A's data through the chain");
    ktap_result(al_unmap(AL_FPAGE(P, 12), 0) == 1, "A unmaps (keeping its own mapping)");
    run(C_SLOT, OP_INFO, PC, &end);
    long c_after = ctl->result;
    run(B_SLOT, OP_INFO, PB, &end);
    ktap_result(c_after == -AL_ENOENT && ctl->result == -AL_ENOENT, "revoked in B and in C");
    ktap_result(al_map_info(P) == (AL_MAP_RW | AL_MAP_MANAGED) && *(volatile unsigned long *)P == MAGIC,
                "A still has its page");

    /* read-only cannot be upgraded along the chain */
    ktap_result(al_task_map(B_SLOT, AL_FPAGE(P, 12), PB, AL_MAP_R) == 0, "A maps its page read-only into B");
    run(B_SLOT, OP_MAP_TO_C, AL_MAP_RW, &end);
    long mapped = ctl->result;
    run(C_SLOT, OP_INFO, PC, &end);
    ktap_result(mapped == 0 && ctl->result == (AL_MAP_R | AL_MAP_MANAGED),
                "B asks for RW into C: C gets read-only (%#lx)", (unsigned long)ctl->result);
    r = run(C_SLOT, OP_WRITE, PC, &end);
    ktap_result(ctl->stage == 1 && !ctl->done && *(volatile unsigned long *)P == MAGIC,
                "C's write faults and changes nothing");
    ktap_result(al_unmap(AL_FPAGE(P, 12), AL_MAP_R) == 1, "unmap with rights R: the derived mappings go");

    /* grant */
    *(volatile unsigned long *)Q = MAGIC + 1;
    ktap_result(al_task_map(B_SLOT, AL_FPAGE(Q, 12), QB, AL_MAP_RW | AL_MAP_GRANT) == 0, "A grants a page to B");
    r = run(B_SLOT, OP_READ, QB, &end);
    ktap_result(al_map_info(Q) == -AL_ENOENT && ctl->value == MAGIC + 1 && ctl->result == (AL_MAP_RW | AL_MAP_MANAGED),
                "grant: gone from A, present in B");

    /* what one does not own */
    ktap_result(al_task_map(B_SLOT, AL_FPAGE(0x50000000, 12), PB, AL_MAP_R) == -AL_EPERM,
                "mapping an unmapped page: EPERM");
    ktap_result(al_task_map(B_SLOT, AL_FPAGE(AL_UTCB_BASE, 12), PB, AL_MAP_R) == -AL_EINVAL,
                "mapping the kernel's UTCB area: EINVAL");
    ktap_result(al_task_map(B_SLOT, AL_FPAGE(P, 11), PB, AL_MAP_R) == -AL_EINVAL &&
                    al_task_map(B_SLOT, AL_FPAGE(P, 23), PB, AL_MAP_R) == -AL_EINVAL &&
                    al_task_map(B_SLOT, AL_FPAGE(P + 4096, 13), PB, AL_MAP_R) == -AL_EINVAL &&
                    al_task_map(B_SLOT, AL_FPAGE(AL_KERNEL_BASE, 12), PB, AL_MAP_R) == -AL_EINVAL &&
                    al_task_map(B_SLOT, AL_FPAGE(P, 12), AL_TRAMPOLINE, AL_MAP_R) == -AL_EINVAL,
                "bad flexpages (order, alignment, kernel addresses): EINVAL");
    ktap_result(al_task_map(AL_SLOT_BOOT_EP, AL_FPAGE(P, 12), PB, AL_MAP_R) == -AL_EBADCAP &&
                    al_task_map(77, AL_FPAGE(P, 12), PB, AL_MAP_R) == -AL_EBADCAP,
                "task_map without a task capability: EBADCAP");
    ktap_result(al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(0xb8000, 12), PB, AL_MAP_RW) == -AL_EBADCAP,
                "device memory needs an iomem capability: EBADCAP");

    /* map items in IPC, within this task: a second view of P */
    al_endpoint_create(EP);
    ktap_result(send_map(AL_FPAGE(P, 12), AL_FPAGE(0x38000000, 16), AL_MAP_R) == 0 && rcv_result == 0 &&
                    al_map_info(0x38000000) == (AL_MAP_R | AL_MAP_MANAGED) &&
                    *(volatile unsigned long *)0x38000000 == MAGIC,
                "map item lands in the receive window (read-only view)");
    ktap_result(send_map(AL_FPAGE(P, 12), 0, AL_MAP_R) == -AL_EINVAL, "receiver without a window: EINVAL");
    ktap_result(send_map(AL_FPAGE(STK, 13), AL_FPAGE(0x39000000, 12), AL_MAP_R) == -AL_EINVAL,
                "window smaller than the flexpage: EINVAL");
    ktap_result(send_map(AL_FPAGE(0x50000000, 12), AL_FPAGE(0x39000000, 12), AL_MAP_R) == -AL_EPERM,
                "map item of pages the sender does not have: EPERM");

    /* a map whose own first page revokes its second source page (the
     * replaced destination is the source's ancestor): it stops, it does not
     * crash the kernel */
    long ids8 = mem_alloc((void *)0x3a000000, 13, AL_MAP_RW);
    long idq8 = mem_alloc((void *)0x3b000000, 12, AL_MAP_RW);
    long r1 = send_map(AL_FPAGE(0x3b000000, 12), AL_FPAGE(0x3a001000, 12), AL_MAP_RW); /* S1 := from Q */
    long r2 = send_map(AL_FPAGE(0x3a000000, 13), AL_FPAGE(0x3b000000, 13), AL_MAP_RW); /* Q, Q+4K := S0, S1 */
    ktap_result(ids8 >= 0 && idq8 >= 0 && r1 == 0 && r2 == -AL_EPERM && al_null() == 0,
                "a map that revokes its own source half-way stops with EPERM (%ld, %ld)", r1, r2);
    mem_free(ids8);
    mem_free(idq8);

    al_cap_delete(B_SLOT);
    al_cap_delete(C_SLOT);
    mem_free(idp);
    mem_free(idc);
    mem_free(ids);
    mem_free(idq);
    ktap_result(al_map_info(P) == -AL_ENOENT && al_map_info(0x38000000) == -AL_ENOENT,
                "freeing to sigma0 revokes every view");
    return ktap_failures();
}
