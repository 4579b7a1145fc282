/*
 * IRQ objects and the IRQ-control capability; see irqobj.h. BKL held,
 * interrupts off, throughout.
 *
 * An object is a slot of a fixed pool: its device vector (bound to the
 * source from creation to destruction, its sink this object), the
 * endpoint it is bound to (a reference to it), the badge, the state of its
 * one message, and a queue node. States of a bound object:
 *   idle         no message outstanding; an arrival makes one
 *   queued       the message waits on ep->sendq (no receiver was there);
 *                a receive takes it (irqobj_take) -> taken
 *   taken        a receiver got it; arrivals are only counted until
 *                irq_ack -> idle (and at once a new message if any
 *                arrival was counted meanwhile)
 * `count` holds the arrivals not yet reported by a message, so every
 * arrival is reported exactly once (its word mr[1]).
 *
 * Lines (ISA IRQs, GSIs): the objects on one GSI share its vector and a
 * struct irqline (kernel/irqline.h, indexed by the vector), which decides
 * the line's mask: unmasked while a member is bound, none owes an
 * acknowledgement (level) and it is not throttled. Several members only
 * if all were created AL_IRQ_SHARED (level lines). An arrival goes to
 * every member (line_arrived). MSIs have no line: the sink is the object.
 *
 * Storms: a level line is throttled for the rest of the timer tick after
 * IRQLINE_STORM_LIMIT arrivals in it; irqobj_tick (the boot CPU's timer
 * tick) starts a new tick and unmasks the throttled lines that want it.
 */
#include "kernel/irqobj.h"
#include <arch/cpu.h>
#include "kernel/irq.h"
#include "kernel/irqline.h"
#include "kernel/kmem.h"
#include "kernel/ipc_impl.h"
#include "kernel/bkl.h"
#include "kernel/cap.h"
#include "kernel/bootinfo.h"
#include "kernel/cpu.h"
#include "kernel/nospec.h"
#include "kernel/object.h"
#include "kernel/panic.h"
#include "kernel/syscall.h"
#include "kernel/task.h"
#include "kernel/thread.h"
#include "kernel/usercopy.h"
#include "abi/airlock/boot.h"
#include "abi/airlock/errno.h"
#include "abi/airlock/ipc.h"
#include <arch/irq.h>
#include <arch/vcpu.h>
#include "kernel/vcpu.h"

_Static_assert(AL_IRQ_LEVEL == ARCH_IRQ_LEVEL && AL_IRQ_LOW == ARCH_IRQ_LOW,
               "the ABI's line flags are the architecture's");

#define IRQOBJ_MAX 32 /* IRQ objects at once (each owns a device vector, or shares its line's) */
_Static_assert(IRQOBJ_MAX <= IRQLINE_MAX_MEMBERS, "a line names its members by pool slot");

struct irqobj {
    /* the queue node on ep->sendq while the message waits; only its
     * queue links and prio are used (the IPC queues are of threads) */
    struct thread node;
    int used;
    unsigned refs; /* capabilities naming it */
    unsigned vector;
    unsigned kind;       /* AL_IRQ_ISA, AL_IRQ_MSI, AL_IRQ_GSI */
    uint32_t line;       /* ISA IRQ, GSI, or (MSI) the vector */
    struct endpoint *ep; /* bound to (a reference), or NULL */
    struct thread *uthread; /* upcall mode: bound to this thread's bit ubit, or NULL */
    unsigned ubit;
    uint64_t badge;
    int queued;          /* node on ep->sendq */
    int taken;           /* the message was received, not yet acknowledged */
    unsigned long count; /* arrivals not yet reported */
    /* statistics (irq_info) */
    unsigned long arrivals, messages, coalesced;
    long last_cpu; /* CPU index of the last arrival, -1 none */
    uint64_t first_at; /* TSC of the oldest arrival not yet reported */
    unsigned long latency[AL_IRQ_LAT_BUCKETS], latency_max, latency_min;
    unsigned long upcalls;    /* handler entries by the kernel reporting its arrivals */
    int direct;               /* its CPU's gate leads to its thread (kernel/vcpu.c) */
    unsigned long directs;    /* handler runs through that gate (counted at their return) */
    int gone;                 /* released while a direct gate was still up elsewhere: freed when it is down */
    uint64_t fast_base;       /* the trampoline's count for the vector at creation */
    uint32_t gen;             /* bumped when freed: a receiver's wait names the object it was for */
    struct kmem *kmem;        /* charged a frame for it (its creator's budget) */
};

static struct irqobj pool[IRQOBJ_MAX];
/* the line of each GSI vector IRQ objects hold, by vector (unused: zero) */
static struct irqline lines[256];
static uint64_t epoch;         /* timer ticks, for the storm throttle */
static unsigned nthrottled;    /* lines throttled since the last tick (at least) */
char irq_control_space;

static unsigned id_of(const struct irqobj *o)
{
    return (unsigned)(o - pool);
}

/* the object's line, or NULL for an MSI */
static struct irqline *line_of(const struct irqobj *o)
{
    return o->kind == AL_IRQ_MSI ? NULL : &lines[o->vector];
}

/* the line's mask as irqline_want says; the IOAPIC is only written on a
 * change (irq.c tracks the mask). Neither call can fail: the object's
 * vector is routed to its GSI from irq_create to its end, and the
 * architecture masks from what it wrote, never from a read (decision 73) */
static void line_apply(struct irqobj *o)
{
    struct irqline *l = line_of(o);
    if (!l)
        return;
    struct irq_vec_info vi;
    irq_vector_info(o->vector, &vi);
    int want = irqline_want(l), rc = 0;
    if (want && vi.masked)
        rc = irq_unmask(o->vector);
    else if (!want && !vi.masked)
        rc = irq_mask(o->vector);
    debug_assert(rc == 0);
    (void)rc;
}

static uint64_t irq_id(const struct irqobj *o)
{
    return AL_IRQ_ID(o->kind, o->line);
}

/* an arrival's wait (TSC cycles from its arrival in the trampoline to its
 * driver: a message in the UTCB, or the handler entered) */
static void record_wait(struct irqobj *o, uint64_t wait)
{
    uint64_t w = wait / AL_IRQ_LAT_BASE;
    unsigned b = w ? 64 - (unsigned)__builtin_clzll(w) : 0; /* 1 + floor(log2(w)) */
    o->latency[b < AL_IRQ_LAT_BUCKETS ? b : AL_IRQ_LAT_BUCKETS - 1]++;
    if (wait > o->latency_max)
        o->latency_max = wait;
    if (wait < o->latency_min)
        o->latency_min = wait;
}

/* The wait of a message ends when the receiver's receive returns, which
 * happens only when the receiver runs again: a woken receiver carries the
 * wait (thread.irq_wait*) to the point where its receive resumes. */
void irqobj_wait_end(struct thread *t, int returned)
{
    assert_kernel_locked();
    struct irqobj *o = t->irq_wait;
    if (!o)
        return;
    if (returned && o->gen == t->irq_wait_gen) /* (not freed meanwhile: a free bumps it) */
        record_wait(o, rdtsc() - t->irq_wait_at);
    t->irq_wait = NULL;
}

/* The trampoline's deliveries are timed by the trampoline (arrival to
 * its IRET into the handler) into a ring per CPU, which the kernel reads
 * at every tick, at irq_info and before a vector's route changes: each
 * wait goes to the object the vector was routed for then. */
static uint8_t routed[256]; /* vector -> the object (pool index + 1) of its route */

static void fast_wait(unsigned vector, uint64_t wait)
{
    if (routed[vector])
        record_wait(&pool[routed[vector] - 1], wait);
}

static void collect_waits(void)
{
    arch_vcpu_waits(fast_wait); /* (a lost one shows as a histogram short of the path counts) */
}

/* the message into r's UTCB: it reports every arrival counted so far (the
 * callers end its wait: at once when r takes it in its own receive, when
 * r returns if it is woken) */
static void put_msg(struct irqobj *o, struct thread *r)
{
    struct al_utcb *u = r->utcb;
    u->mr[0] = irq_id(o);
    u->mr[1] = o->count;
    u->tag = AL_TAG(2, 0, AL_LABEL_IRQ);
    u->badge = o->badge;
    o->messages++;
    o->coalesced += o->count - 1;
    o->count = 0;
    o->taken = 1;
}

/* bound, idle, with arrivals counted: the message goes to the first
 * receiver waiting on the endpoint, or waits on its send queue */
static void deliver(struct irqobj *o)
{
    assert_kernel_locked();
    struct irqline *l = line_of(o);
    if (l)
        irqline_sent(l, id_of(o)); /* owed until acknowledged */
    struct endpoint *ep = o->ep;
    struct thread *r = ep->recvq;
    if (r) {
        ipc_q_remove(&ep->recvq, r);
        put_msg(o, r);
        debug_assert(!r->irq_wait); /* (blocked since its last return) */
        r->irq_wait = o; /* its oldest arrival's wait, ended where the receive resumes */
        r->irq_wait_gen = o->gen;
        r->irq_wait_at = o->first_at;
        ipc_wake(r, 0);
        return;
    }
    o->node.prio = PRIO_MAX; /* ahead of every thread's message */
    ipc_q_insert(&ep->sendq, &o->node);
    o->queued = 1;
}

int irqobj_take(struct thread *node, struct thread *r)
{
    if ((char *)node < (char *)pool || (char *)node >= (char *)(pool + IRQOBJ_MAX))
        return 0;
    struct irqobj *o = (struct irqobj *)node; /* node is the first member */
    assert(o->used && o->queued && o->ep);
    ipc_q_remove(&o->ep->sendq, node);
    o->queued = 0;
    put_msg(o, r);
    record_wait(o, rdtsc() - o->first_at); /* (r's own receive: it returns now) */
    return 1;
}

/* one arrival for the object: counted; a message if bound and idle. An
 * unbound member of a line does not count it for a message: its line is
 * masked unless another member is bound, and then the arrival is the
 * others' (an MSI counts it, to be reported when bound). */
/* upcall mode: every arrival is posted (counted in the thread's state
 * area); a level line stays masked until irq_ack (out of line: the
 * message path below stays as short as it was) */
static __attribute__((noinline)) void upcall_arrival(struct irqobj *o)
{
    if (!o->count++)
        o->first_at = arch_irq_arrived_at();
    if (line_of(o))
        irqline_sent(line_of(o), id_of(o));
    vcpu_post(o->uthread, o->ubit, 1);
}

static inline __attribute__((always_inline)) void obj_arrival(struct irqobj *o, long cpu)
{
    o->arrivals++;
    o->last_cpu = cpu;
    if (o->uthread) {
        upcall_arrival(o);
        return;
    }
    if (!o->ep && o->kind != AL_IRQ_MSI)
        return;
    if (!o->count++)
        o->first_at = arch_irq_arrived_at();
    if (o->ep && !o->queued && !o->taken)
        deliver(o);
}

/* an MSI vector's sink: an arrival (kernel/irq.c, before the EOI) */
static void arrived(void *arg)
{
    assert_kernel_locked();
    obj_arrival(arg, (long)this_cpu()->index);
}

/* a line's sink (kernel/irq.c masked it first if level, before the EOI):
 * every member hears of it. A level line stays masked: each bound member
 * either gets a message now or already owes an acknowledgement. */
static void line_arrived(void *arg)
{
    struct irqline *l = arg;
    assert_kernel_locked();
    if (irqline_arrival(l, epoch))
        nthrottled++;
    long cpu = (long)this_cpu()->index;
    for (uint32_t m = l->members; m; m &= m - 1)
        obj_arrival(&pool[__builtin_ctz(m)], cpu);
}

void irqobj_tick(void)
{
    assert_kernel_locked();
    epoch++;
    collect_waits();
    if (!nthrottled)
        return;
    nthrottled = 0;
    for (unsigned v = 0; v < 256; v++)
        if (lines[v].members && irqline_tick(&lines[v]))
            line_apply(&pool[__builtin_ctz(lines[v].members)]);
}

/* no endpoint any more: the message withdrawn; its debt to the line
 * forgiven (a line is masked if nobody is bound, unmasked if the others
 * owe nothing) */
/* upcall mode: an MSI or an edge line (nothing to mask) is the
 * trampoline's to deliver while its thread runs, with the thread's
 * registration */
static void route(struct irqobj *o)
{
    struct thread *t = o->uthread;
    struct irqline *l = line_of(o);
    if (l && l->level)
        return;
    collect_waits(); /* (the vector's deliveries so far were for the route before) */
    routed[o->vector] = (uint8_t)(id_of(o) + 1);
    arch_vcpu_route(o->vector, t->kstack_top, o->ubit, t->utcb_va + AL_UPCALL_OFFSET, t->upcall_entry,
                    t->upcall_stack_lo, t->upcall_stack_top);
}

void irqobj_upcall_reroute(struct thread *t)
{
    for (unsigned b = 0; b < AL_UPCALL_BITS; b++)
        if (t->upcall_irq[b])
            route(&pool[t->upcall_irq[b] - 1]);
}

/* upcall mode: no thread any more; the trampoline forgets the vector */
static void unbind_upcall(struct irqobj *o)
{
    struct thread *t = o->uthread;
    t->upcall_irq[o->ubit] = 0;
    if (o->direct && vcpu_direct_unbind(id_of(o))) /* down now (else at its CPU's next exit or switch) */
        o->direct = 0;
    o->uthread = NULL;
    o->ubit = 0;
    o->count = 0;
    collect_waits();
    if (routed[o->vector] == id_of(o) + 1)
        routed[o->vector] = 0;
    arch_vcpu_route(o->vector, 0, 0, 0, 0, 0, 0);
    if (line_of(o)) {
        irqline_unbind(line_of(o), id_of(o));
        line_apply(o);
    }
}

static void unbind(struct irqobj *o)
{
    assert_kernel_locked();
    if (o->uthread)
        unbind_upcall(o);
    if (!o->ep)
        return;
    if (o->queued)
        ipc_q_remove(&o->ep->sendq, &o->node);
    struct endpoint *ep = o->ep;
    o->ep = NULL;
    o->queued = o->taken = 0;
    o->count = 0;
    o->badge = 0;
    if (line_of(o)) {
        irqline_unbind(line_of(o), id_of(o));
        line_apply(o);
    }
    endpoint_ops.release(NULL, ep); /* the binding's reference */
}

/* the object's source and vector go; its pool slot is free */
static void free_obj(struct irqobj *o)
{
    struct irqline *l = line_of(o);
    if (!l || irqline_leave(l, id_of(o)) == 0) {
        irq_vector_free(o->vector); /* (its sink cleared) */
        if (l)
            *l = (struct irqline){0};
    }
    o->used = 0;
    o->gen++;
    kmem_uncharge(o->kmem, 1);
    o->kmem = NULL;
}

void irqobj_direct_down(unsigned idx)
{
    assert(idx < IRQOBJ_MAX && pool[idx].direct);
    struct irqobj *o = &pool[idx];
    o->direct = 0;
    if (o->gone)
        free_obj(o);
}

static void irq_ref(void *obj)
{
    ((struct irqobj *)obj)->refs++;
}

/* the last capability: unbound; the last member of a line (or an MSI):
 * the line masked and unrouted, the vector freed, so another task may
 * take the source */
static void irq_release(struct cap *c, void *obj)
{
    (void)c;
    struct irqobj *o = obj;
    assert(o->refs > 0);
    if (--o->refs)
        return;
    unbind(o);
    if (o->direct) { /* the gate is still up on its CPU: the vector stays ours until it is down */
        o->gone = 1;
        return;
    }
    free_obj(o);
}

static void irq_describe(const struct cap *c, struct al_cap_info *info)
{
    info->id = irq_id(c->obj);
}

/* IRQ objects live while a capability names them (counted). */
const struct obj_ops irq_ops = {
    .name = "irq",
    .ref = irq_ref,
    .release = irq_release,
    .describe = irq_describe,
};

static void irq_control_release(struct cap *c, void *obj)
{
    (void)c;
    (void)obj;
}

/* No lifetime: the authority over the machine's interrupt sources. */
const struct obj_ops irq_control_ops = {
    .name = "irq-control",
    .release = irq_control_release,
};

void irqobj_grant_root(struct task *root)
{
    struct cap *slot = cap_slot(root, AL_SLOT_IRQ_CONTROL);
    if (!slot || slot->type)
        panic("system: cannot give the root task its IRQ-control capability");
    cap_install(slot, AL_CAP_IRQ_CONTROL, AL_R_CONTROL, &irq_control_space, 0);
}

/* irq_create's second half: the free pool object o becomes the source a2
 * (kind), a3 (line), a4 (flags), a5 (MSI address out); 0 or an error,
 * nothing held on an error */
static long setup_obj(struct irqobj *o, struct task *self, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
    unsigned id = id_of(o);
    uint32_t gen = o->gen; /* (kept across uses: a receiver's wait names it) */
    /* a line: its GSI and flags; joined if objects hold it already */
    uint32_t gsi = (uint32_t)a3;
    unsigned flags = (unsigned)a4 & (AL_IRQ_LEVEL | AL_IRQ_LOW);
    int shared = (a4 & AL_IRQ_SHARED) != 0;
    /* an ISA line: the firmware's GSI (the MADT's overrides), and its
     * trigger and polarity unless the caller gives them (a PCI line the
     * chipset routes to an ISA input is level-triggered whatever the MADT
     * says of the ISA line: the PCI server knows, the MADT does not) */
    unsigned given = flags;
    if (a2 == AL_IRQ_ISA && arch_irq_isa_to_gsi((unsigned)a3, &gsi, &flags))
        return -AL_EINVAL;
    if (a2 == AL_IRQ_ISA && a4)
        flags = given;
    int held = a2 == AL_IRQ_MSI ? -AL_ENOENT : irq_gsi_vector(gsi);
    if (held >= 0) {
        int rc = irqline_join(&lines[held], id, shared, (flags & AL_IRQ_LEVEL) != 0, flags);
        if (rc)
            return rc; /* -AL_EBUSY: held alone, or shared in another way */
        *o = (struct irqobj){.used = 1, .vector = (unsigned)held, .kind = (unsigned)a2, .line = (uint32_t)a3,
                             .last_cpu = -1, .latency_min = ~0UL, .fast_base = arch_vcpu_fast_count((unsigned)held),
                             .gen = gen};
        return 0;
    }
    int v = irq_vector_alloc();
    if (v < 0)
        return v;
    uint32_t dest = this_cpu()->apic_id;
    struct al_irq_msi msg = {0};
    int rc;
    if (a2 == AL_IRQ_ISA || a2 == AL_IRQ_GSI)
        rc = irq_bind_gsi((unsigned)v, gsi, flags, dest);
    else {
        uint64_t addr;
        uint32_t data;
        rc = irq_bind_msi((unsigned)v, dest, &addr, &data);
        msg.addr = addr;
        msg.data = data;
        if (rc == 0 && copy_to_user(self, a5, &msg, sizeof msg))
            rc = -AL_EFAULT;
    }
    if (rc) {
        irq_vector_free((unsigned)v);
        return rc;
    }
    *o = (struct irqobj){.used = 1, .vector = (unsigned)v, .kind = (unsigned)a2, .last_cpu = -1,
                         .latency_min = ~0UL, .fast_base = arch_vcpu_fast_count((unsigned)v), .gen = gen};
    o->line = a2 == AL_IRQ_MSI ? (uint32_t)v : (uint32_t)a3;
    if (a2 == AL_IRQ_MSI) {
        irq_set_sink((unsigned)v, arrived, o);
    } else {
        rc = irqline_join(&lines[v], id, shared, (flags & AL_IRQ_LEVEL) != 0, flags);
        assert(rc == 0); /* the line was free: its first member */
        irq_set_sink((unsigned)v, line_arrived, &lines[v]);
    }
    return 0;
}

/* irq_create(ctl, slot, kind, line, flags, msi): an IRQ object for the
 * source (kind, line, flags) in our empty slot `slot`, from our
 * IRQ-control capability ctl (CONTROL); for an MSI the message is written
 * to *msi. Checks in docs/ABI.md's order. */
SYSCALL_DEFINE(irq_create)
{
    long err = 0;
    struct task *self = current()->task;
    if (!cap_lookup(self, a0, AL_CAP_IRQ_CONTROL, AL_R_CONTROL, &err))
        return err;
    struct cap *dst = cap_empty_slot(self, a1, &err);
    if (!dst)
        return err;
    switch (a2) {
    case AL_IRQ_ISA: /* flags 0: the firmware's trigger and polarity */
    case AL_IRQ_GSI:
        if (a3 > (a2 == AL_IRQ_ISA ? 15 : UINT32_MAX) ||
            (a4 & ~(uint64_t)(AL_IRQ_LEVEL | AL_IRQ_LOW | AL_IRQ_SHARED)) ||
            ((a4 & AL_IRQ_SHARED) && !(a4 & AL_IRQ_LEVEL)))
            return -AL_EINVAL;
        break;
    case AL_IRQ_MSI:
        if (a3 || a4)
            return -AL_EINVAL;
        if (!user_range_ok(a5, sizeof(struct al_irq_msi)))
            return -AL_EFAULT;
        break;
    default:
        return -AL_EINVAL;
    }
    struct irqobj *o = NULL;
    for (unsigned i = 0; i < IRQOBJ_MAX && !o; i++)
        if (!pool[i].used)
            o = &pool[i];
    if (!o)
        return -AL_ENOMEM;
    if (kmem_charge(self->kmem, 1)) /* the object, as an endpoint: a frame's worth (decision 66) */
        return -AL_EDQUOT;
    long rc = setup_obj(o, self, a2, a3, a4, a5);
    if (rc) {
        kmem_uncharge(self->kmem, 1);
        return rc;
    }
    o->kmem = self->kmem;
    cap_install(dst, AL_CAP_IRQ, AL_R_CONTROL, o, 0);
    return 0;
}

/* Ready for the next message (bound, none outstanding): the object owes
 * its line nothing; what arrived meanwhile is sent at once; then the line
 * is unmasked if no member owes an acknowledgement (an MSI has no line) */
static void rearm(struct irqobj *o)
{
    if (line_of(o))
        irqline_acked(line_of(o), id_of(o));
    if (o->count)
        deliver(o);
    line_apply(o);
}

/* the IRQ object in the caller's slot (CONTROL), which must be bound */
static struct irqobj *bound_irq(uint64_t slot, long *err)
{
    struct cap *c = cap_lookup(current()->task, slot, AL_CAP_IRQ, AL_R_CONTROL, err);
    if (!c)
        return NULL;
    struct irqobj *o = c->obj;
    if (!o->ep && !o->uthread) {
        *err = -AL_EINVAL;
        return NULL;
    }
    return o;
}

/* irq_bind(irq, ep, badge): deliver to the endpoint in our slot ep (RECV) */
SYSCALL_DEFINE(irq_bind)
{
    long err = 0;
    struct task *self = current()->task;
    struct cap *c = cap_lookup(self, a0, AL_CAP_IRQ, AL_R_CONTROL, &err);
    if (!c)
        return err;
    struct cap *e = cap_lookup(self, a1, AL_CAP_ENDPOINT, AL_R_RECV, &err);
    if (!e)
        return err;
    struct irqobj *o = c->obj;
    if (o->ep || o->uthread)
        return -AL_EBUSY;
    o->ep = e->obj;
    endpoint_ops.ref(o->ep);
    o->badge = a2;
    if (line_of(o))
        irqline_bind(line_of(o), id_of(o));
    rearm(o); /* enabled only now; an MSI that arrived before is sent */
    return 0;
}

/* irq_bind_upcall(irq, tid, bit): deliver as upcalls to our thread tid
 * (0: the caller), which has registered (upcall_register), reported in
 * its state area under bit `bit`. An MSI or an edge-triggered line is
 * given to the trampoline's fast path too (nothing to mask: the
 * trampoline can deliver it without the kernel). Checks in docs/ABI.md's
 * order. */
/* the checks irq_bind_upcall and irq_bind_direct share, in docs/ABI.md's
 * order: the IRQ object (returned) in slot `slot`, our thread tid (0: the
 * caller) registered, the bit free */
static struct irqobj *upcall_target(uint64_t slot, uint64_t tid, uint64_t bit, struct thread **tp, long *err)
{
    struct task *self = current()->task;
    struct cap *c = cap_lookup(self, slot, AL_CAP_IRQ, AL_R_CONTROL, err);
    if (!c)
        return NULL;
    struct thread *t = tid == 0 ? current() : tid <= UINT32_MAX ? thread_by_id(self, (unsigned)tid) : NULL;
    if (!t || t->state == T_DEAD || t->killed)
        return *err = -AL_ESRCH, NULL;
    if (!t->upcall || bit >= AL_UPCALL_BITS)
        return *err = -AL_EINVAL, NULL;
    struct irqobj *o = c->obj;
    if (o->ep || o->uthread || o->direct || t->upcall_irq[array_index_nospec(bit, AL_UPCALL_BITS)])
        return *err = -AL_EBUSY, NULL;
    *tp = t;
    return o;
}

/* bound: arrivals go to t's bit */
static void bind_upcall(struct irqobj *o, struct thread *t, unsigned bit)
{
    o->uthread = t;
    o->ubit = bit;
    t->upcall_irq[bit] = (uint8_t)(id_of(o) + 1);
    struct irqline *l = line_of(o);
    if (l)
        irqline_bind(l, id_of(o));
    route(o);
    if (l) {
        irqline_acked(l, id_of(o));
        line_apply(o); /* enabled only now */
    }
    if (o->count) /* an MSI that arrived before */
        vcpu_post(t, bit, o->count);
}

/* irq_bind_upcall(irq, tid, bit): deliver as upcalls to our thread tid
 * (0: the caller), which has registered (upcall_register), reported in
 * its state area under bit `bit`. An MSI or an edge-triggered line is
 * given to the trampoline's fast path too (nothing to mask: the
 * trampoline can deliver it without the kernel). */
SYSCALL_DEFINE(irq_bind_upcall)
{
    long err = 0;
    struct thread *t;
    struct irqobj *o = upcall_target(a0, a1, a2, &t, &err);
    if (!o)
        return err;
    bind_upcall(o, t, (unsigned)array_index_nospec(a2, AL_UPCALL_BITS));
    return 0;
}

/* irq_bind_direct(irq, bit, entry, stack): as irq_bind_upcall to the
 * caller, and while the caller runs on its CPU, that CPU's IDT gate for the
 * vector leads straight to entry in ring 3, on the stack ending at stack
 * (kernel/vcpu.c). The caller is pinned to the CPU the interrupt goes to;
 * an MSI or an edge line; one per CPU. */
SYSCALL_DEFINE(irq_bind_direct)
{
    long err = 0;
    struct thread *t;
    /* the kernel command line word `nodirectgates` turns them off, so
     * that a measurement can compare with and without (decision 64) */
    if (bootinfo_flag("nodirectgates"))
        return -AL_EPERM;
    struct irqobj *o = upcall_target(a0, 0, a1, &t, &err);
    if (!o)
        return err;
    if (a2 < AL_USER_LO || a2 >= AL_USER_HI || a3 < AL_USER_LO + AL_PAGE_SIZE || a3 > AL_USER_HI)
        return -AL_EFAULT;
    struct irq_vec_info vi;
    irq_vector_info(o->vector, &vi);
    struct irqline *l = line_of(o);
    if ((a3 & 15) || (l && l->level) || t->affinity < 0 || cpus[t->affinity].apic_id != vi.dest)
        return -AL_EINVAL;
    long r = vcpu_direct_bind(t, id_of(o), o->vector, a2, a3);
    if (r)
        return r;
    o->direct = 1;
    bind_upcall(o, t, (unsigned)array_index_nospec(a1, AL_UPCALL_BITS));
    return 0;
}

uint64_t irqobj_upcall_entered(unsigned idx, uint64_t now)
{
    debug_assert(idx < IRQOBJ_MAX);
    struct irqobj *o = &pool[idx];
    if (!o->used || !o->count)
        return 0;
    record_wait(o, now - o->first_at);
    o->upcalls++;
    o->count = 0;
    return o->first_at;
}

void irqobj_direct_returned(unsigned idx)
{
    assert(idx < IRQOBJ_MAX);
    pool[idx].directs++;
    pool[idx].arrivals++;
}

void irqobj_upcall_release(struct thread *t)
{
    for (unsigned b = 0; b < AL_UPCALL_BITS; b++)
        if (t->upcall_irq[b])
            unbind_upcall(&pool[t->upcall_irq[b] - 1]);
}

/* irq_ack(irq): the message was served; the next one may come */
SYSCALL_DEFINE(irq_ack)
{
    long err = 0;
    struct irqobj *o = bound_irq(a0, &err);
    if (!o)
        return err;
    if (o->uthread) {
        /* upcall mode: the line may come again (nothing owed for an MSI) */
        if (line_of(o)) {
            irqline_acked(line_of(o), id_of(o));
            line_apply(o);
        }
        return 0;
    }
    if (!o->taken)
        return 0; /* nothing received to acknowledge */
    o->taken = 0;
    rearm(o); /* (a level line was masked at its arrival) */
    return 0;
}

/* irq_detach(irq): no more messages; the source stays the object's */
SYSCALL_DEFINE(irq_detach)
{
    long err = 0;
    struct irqobj *o = bound_irq(a0, &err);
    if (!o)
        return err;
    unbind(o);
    return 0;
}

/* the IRQ object in the caller's slot (CONTROL), bound or not */
static struct irqobj *held_irq(uint64_t slot, long *err)
{
    struct cap *c = cap_lookup(current()->task, slot, AL_CAP_IRQ, AL_R_CONTROL, err);
    return c ? c->obj : NULL;
}

/* irq_set_cpu(irq, cpu, msi): deliver to CPU `cpu` (an online CPU's
 * index) from now on. A line (the whole line, for a shared one) is
 * rerouted at once; an MSI's new message is written to *msi for the
 * driver to program (until then the device keeps sending to the old CPU,
 * on the same vector: delivered and counted as before). Checks in
 * docs/ABI.md's order; nothing changes on an error. */
SYSCALL_DEFINE(irq_set_cpu)
{
    long err = 0;
    struct irqobj *o = held_irq(a0, &err);
    if (!o)
        return err;
    if (a1 >= ncpus || !cpus[array_index_nospec(a1, ncpus)].online)
        return -AL_EINVAL;
    uint32_t dest = cpus[array_index_nospec(a1, ncpus)].apic_id;
    if (o->kind != AL_IRQ_MSI)
        return irq_set_dest(o->vector, dest, NULL, NULL);
    if (!user_range_ok(a2, sizeof(struct al_irq_msi)))
        return -AL_EFAULT;
    uint64_t addr;
    uint32_t data;
    int rc = arch_msi_compose(o->vector, dest, &addr, &data); /* the message first: */
    if (rc)
        return rc;
    struct al_irq_msi msg = {.addr = addr, .data = data};
    if (copy_to_user(current()->task, a2, &msg, sizeof msg))
        return -AL_EFAULT; /* (nothing changed) */
    return irq_set_dest(o->vector, dest, &addr, &data);
}

/* the CPU index whose hardware ID is apic_id, -1 if none */
static long cpu_of(uint32_t apic_id)
{
    for (unsigned i = 0; i < ncpus; i++)
        if (cpus[i].apic_id == apic_id)
            return (long)i;
    return -1;
}

/* the object's state and statistics (docs/ABI.md, struct al_irq_info) */
static void irq_info_of(const struct irqobj *o, struct al_irq_info *out)
{
    collect_waits(); /* (the trampoline's, up to now) */
    struct irq_vec_info vi;
    irq_vector_info(o->vector, &vi);
    const struct irqline *l = line_of(o);
    *out = (struct al_irq_info){
        .id = irq_id(o),
        .vector = o->vector,
        .cpu = cpu_of(vi.dest),
        .last_cpu = o->last_cpu,
        .arrivals = o->arrivals,
        .messages = o->messages,
        .coalesced = o->coalesced,
        .latency_max = o->latency_max,
        .latency_min = o->latency_min == ~0UL ? 0 : o->latency_min,
    };
    uint64_t fast = arch_vcpu_fast_count(o->vector) - o->fast_base;
    out->arrivals += fast;
    out->paths[AL_IRQ_PATH_IPC] = o->messages;
    out->paths[AL_IRQ_PATH_UPCALL] = o->upcalls;
    out->paths[AL_IRQ_PATH_TRAMPOLINE] = fast;
    out->paths[AL_IRQ_PATH_DIRECT] = o->directs;
    for (unsigned i = 0; i < AL_IRQ_LAT_BUCKETS; i++)
        out->latency[i] = o->latency[i];
    if (o->ep || o->uthread)
        out->flags |= AL_IRQ_INFO_BOUND;
    if (o->uthread)
        out->flags |= AL_IRQ_INFO_UPCALL;
    if (o->queued || o->taken)
        out->flags |= AL_IRQ_INFO_PENDING;
    if (l) {
        out->flags |= l->flags | (l->shared ? AL_IRQ_SHARED : 0) | (vi.masked ? AL_IRQ_INFO_MASKED : 0) |
                      (l->throttled ? AL_IRQ_INFO_THROTTLED : 0);
        out->throttled = l->throttles;
    }
}

/* irq_info(irq, out): the object's state and statistics into *out */
SYSCALL_DEFINE(irq_info)
{
    long err = 0;
    struct irqobj *o = held_irq(a0, &err);
    if (!o)
        return err;
    struct al_irq_info info;
    irq_info_of(o, &info);
    if (copy_to_user(current()->task, a1, &info, sizeof info))
        return -AL_EFAULT;
    return 0;
}

/* irq_list(out, max): the state and statistics of every IRQ object in use,
 * whoever holds it (information only, as thread_list: the shell's `irq`
 * command), the first max of them into out[]; returns how many exist */
SYSCALL_DEFINE(irq_list)
{
    _Static_assert(IRQOBJ_MAX == AL_IRQ_LIST_MAX, "irq_list's limit is the pool's size");
    if (a1 > IRQOBJ_MAX)
        return -AL_E2BIG;
    if (!user_range_ok(a0, a1 * sizeof(struct al_irq_info)))
        return -AL_EFAULT;
    uint64_t n = 0;
    for (unsigned i = 0; i < IRQOBJ_MAX; i++) {
        if (!pool[i].used)
            continue;
        if (n < a1) {
            struct al_irq_info info;
            irq_info_of(&pool[i], &info);
            if (copy_to_user(current()->task, a0 + n * sizeof info, &info, sizeof info))
                return -AL_EFAULT;
        }
        n++;
    }
    return (long)n;
}
