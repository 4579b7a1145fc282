/*
 * String items: bulk data copied by the kernel from the sender's memory
 * into the receiver's receive buffers, during an IPC (docs/ABI.md section
 * 5.14, docs/ARCHITECTURE.md section 11.10).
 *
 * transfer() (kernel/ipc.c) checks a message's string items with
 * xfer_prepare, which also checks the receiver's buffers and makes the
 * transfer record; the words and other items move first, then the
 * operation that found its partner calls xfer_start and the copy runs.
 *
 * Who copies. Both threads stay in the kernel until the copy ends: the one
 * that found its partner (the *driver*) copies, the other waits blocked in
 * IPC_XFER. The copy walks both page tables and moves bytes from frame to
 * frame through the direct map (arch_copy_bulk); nothing is mapped
 * anywhere for it, and the kernel never takes a page fault of its own on
 * user memory. A page missing on one side (not present, not user, or, on
 * the receiving side, not writable) becomes a page-fault message to that
 * side's pager, on behalf of that side's thread (fault_string): its
 * handler capability and badge, its registers, the faulting address in its
 * space. The driver sends it and waits for the answer; when the other side
 * faulted, it waits in that thread's place (kmsg = KMSG_PROXY), and the
 * pager's map item lands in that thread's task (xfer_proxy_task).
 * Device pages end the copy with -AL_EFAULT.
 *
 * Preemption. The driver copies at most XFER_CHUNK bytes under the BKL
 * with interrupts off, then passes a preemption point: it releases the
 * BKL, lets pending interrupts in for one instruction, takes the BKL back
 * and reschedules if asked to. The record keeps the position; nothing read
 * before a preemption point is trusted after it (each page is looked up
 * again, and a side that left is seen).
 *
 * Ending. Whoever drives when the copy ends (done, cut, a fault nobody
 * resolved, the transfer timeout, a side gone) finishes it for both:
 * results and lengths into the UTCBs, the sender's call turned into a
 * wait for the reply, the other thread woken, the record freed. A thread
 * that leaves (killed) is detached by xfer_leave; the driver sees it at
 * its next stretch, or at once if it waits for a pager in that thread's
 * place.
 *
 * The record is one kernel frame, owned by the transfer: only the driver
 * frees it (xfer_finish, or xfer_leave of a driver that dies).
 *
 * BKL held, interrupts off, except inside xfer_preempt.
 */
#include <stddef.h>
#include "kernel/ipc_impl.h"
#include "kernel/task.h"
#include "kernel/cpu.h"
#include "kernel/fault.h"
#include "kernel/frame.h"
#include "kernel/kmem.h"
#include "kernel/usercopy.h"
#include "kernel/panic.h"
#include "abi/airlock/errno.h"
#include "abi/airlock/ipc.h"
#include <arch/paging.h>
#include <arch/pagetable.h>
#include <arch/timer.h>
#include <arch/copy.h>
#include "lib/string.h"

/* bytes copied between two preemption points (4 pages: 2048 MOVSQ
 * iterations and at most 10 page-table walks) */
#define XFER_CHUNK   (16 * 1024)
#define XFER_SRC_MAX (AL_MR_COUNT / 2) /* string items in one message */
#define XS_SEND      0
#define XS_RECV      1

/* copy_stretch results besides 0 (done) and -AL_Exxx */
#define XC_MORE  1 /* a stretch ended: preemption point */
#define XC_FAULT 2 /* a page is missing: x->fault_* */

struct xfer_range {
    uint64_t addr, len;
};

struct xfer {
    struct thread *side[2]; /* sender, receiver; NULL once that thread left */
    struct task *task[2];
    struct kmem *kmem;       /* pays for this frame: the sender's task's budget */
    int driver;              /* the side that copies */
    int call;                /* the sender waits for a reply afterwards */
    long abort;              /* a side left: the copy ends with this */
    uint64_t reply_deadline; /* clock_ns() ending the caller's reply wait; 0: none */
    uint64_t deadline;       /* clock_ns() ending the transfer's pager waits; 0: none */
    uint64_t done, total;    /* bytes copied; bytes offered */
    unsigned nsrc, ndst, si, di;
    uint64_t soff, doff;
    int fault_side;
    uint64_t fault_addr, fault_error;
    struct xfer_range src[XFER_SRC_MAX], dst[AL_STR_BUFS];
    unsigned char item_mr[XFER_SRC_MAX]; /* where string item k lies in the receiver's mr[] */
};
_Static_assert(sizeof(struct xfer) <= 4096, "a transfer record is one frame");

#define PF_P 1
#define PF_W 2
#define PF_U 4

/* ---- preparing: checks before anything changes ---- */

/* one string item of the sender's (the payload and the length from its
 * kind word): -AL_E2BIG or -AL_EFAULT when it cannot be copied at all */
long xfer_check_item(uint64_t kind, uint64_t addr)
{
    uint64_t len = AL_STRING_LEN(kind);
    if ((kind >> 8) & 0xff)
        return -AL_EINVAL; /* no rights bits for strings */
    if (len > AL_STR_MAX_LEN)
        return -AL_E2BIG;
    if (len && !user_range_ok(addr, len))
        return -AL_EFAULT;
    return 0;
}

/* the receiver's buffers, read once from its UTCB into x */
static long read_buffers(struct xfer *x, const struct al_utcb *ru)
{
    uint64_t n = ru->str_count;
    if (n > AL_STR_BUFS)
        return -AL_EINVAL;
    for (unsigned i = 0; i < n; i++) {
        struct xfer_range b = {ru->str_buf[i].addr, ru->str_buf[i].len};
        if (b.len > AL_STR_MAX_LEN)
            return -AL_E2BIG;
        if (b.len && !user_range_ok(b.addr, b.len))
            return -AL_EFAULT;
        for (unsigned j = 0; j < i; j++) /* overlapping buffers: which byte would win? */
            if (b.len && x->dst[j].len && b.addr < x->dst[j].addr + x->dst[j].len && x->dst[j].addr < b.addr + b.len)
                return -AL_EINVAL;
        x->dst[i] = b;
    }
    x->ndst = (unsigned)n;
    return 0;
}

static uint64_t deadline_of(uint64_t ns)
{
    if (!ns)
        return 0;
    if (ns > IPC_TIMEOUT_MAX)
        ns = IPC_TIMEOUT_MAX;
    return clock_ns() + ns;
}

long xfer_prepare(struct thread *s, struct thread *r, const uint64_t *item, uint64_t items, uint64_t words,
                  struct xfer **xp)
{
    struct kmem *k = s->task ? s->task->kmem : NULL;
    if (kmem_charge(k, 1))
        return -AL_EDQUOT;
    uint64_t pa = frame_alloc();
    if (!pa) {
        kmem_uncharge(k, 1);
        return -AL_ENOMEM;
    }
    struct xfer *x = p2v(pa);
    memset(x, 0, offsetof(struct xfer, src)); /* (the ranges are written as they are filled in) */
    x->kmem = k;
    long e = read_buffers(x, r->utcb);
    if (e) {
        kmem_uncharge(k, 1);
        frame_free(pa);
        *xp = XFER_RECV_BAD;
        return e;
    }
    for (uint64_t k = 0; k < items; k++)
        if ((item[2 * k] & 0xff) == AL_ITEM_STRING) {
            x->src[x->nsrc] = (struct xfer_range){item[2 * k + 1], AL_STRING_LEN(item[2 * k])};
            x->item_mr[x->nsrc++] = (unsigned char)(words + 2 * k);
            x->total += AL_STRING_LEN(item[2 * k]);
        }
    x->side[XS_SEND] = s;
    x->side[XS_RECV] = r;
    x->task[XS_SEND] = s->task;
    x->task[XS_RECV] = r->task;
    /* the smaller of the two limits (0: none) */
    uint64_t ts = s->utcb->xfer_timeout, tr = r->utcb->xfer_timeout;
    x->deadline = deadline_of(!ts ? tr : !tr ? ts : ts < tr ? ts : tr);
    *xp = x;
    return 0;
}

void xfer_discard(struct xfer *x)
{
    kmem_uncharge(x->kmem, 1);
    frame_free(v2p_direct(x));
}

/* ---- copying ---- */

/* The frame behind user address va of `side`, for reading or writing:
 * its physical address, 0 if the side's pager must provide it (x->fault_*
 * set), or 1 for a page no string may touch (device memory). */
static uint64_t side_page(struct xfer *x, int side, uint64_t va)
{
    uint64_t need = PTE_P | PTE_U | (side == XS_RECV ? PTE_W : 0);
    uint64_t pte = pt_lookup(x->task[side]->pml4, va & ~0xfffULL, NULL);
    if ((pte & need) != need) {
        x->fault_side = side;
        x->fault_addr = va;
        x->fault_error = PF_U | (side == XS_RECV ? PF_W : 0) | ((pte & PTE_P) ? PF_P : 0) | AL_PF_STRING;
        return 0;
    }
    if (pte & (PTE_PCD | PTE_PWT))
        return 1;
    return pte & PTE_ADDR;
}

static inline uint64_t min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* copy one stretch of at most XFER_CHUNK bytes: 0 when everything was
 * copied, XC_MORE, XC_FAULT, -AL_EOVERFLOW (the receive buffers are full),
 * -AL_EFAULT (device memory) */
static long copy_stretch(struct xfer *x)
{
    assert_kernel_locked();
    uint64_t budget = XFER_CHUNK;
    while (x->done < x->total) {
        while (x->soff == x->src[x->si].len) { /* (done < total: a later string has bytes) */
            x->si++;
            x->soff = 0;
        }
        while (x->di < x->ndst && x->doff == x->dst[x->di].len) {
            x->di++;
            x->doff = 0;
        }
        if (x->di == x->ndst)
            return -AL_EOVERFLOW;
        if (!budget)
            return XC_MORE;
        uint64_t sa = x->src[x->si].addr + x->soff, da = x->dst[x->di].addr + x->doff;
        uint64_t n = min64(min64(x->src[x->si].len - x->soff, x->dst[x->di].len - x->doff),
                           min64(min64(4096 - (sa & 0xfff), 4096 - (da & 0xfff)), budget));
        uint64_t sp = side_page(x, XS_SEND, sa);
        if (sp <= 1)
            return sp ? -AL_EFAULT : XC_FAULT;
        uint64_t dp = side_page(x, XS_RECV, da);
        if (dp <= 1)
            return dp ? -AL_EFAULT : XC_FAULT;
        arch_copy_bulk((char *)p2v(dp) + (da & 0xfff), (const char *)p2v(sp) + (sa & 0xfff), n);
        x->soff += n;
        x->doff += n;
        x->done += n;
        budget -= n;
    }
    return 0;
}

/* A preemption point: the BKL is released and interrupts let in, so other
 * CPUs and a timer or IPI that wants a reschedule get their turn. */
static void xfer_preempt(void)
{
    bkl_unlock();
    arch_irq_window();
    bkl_lock();
    if (this_entry()->pending & PENDING_RESCHED)
        schedule(); /* (a thread killed meanwhile ends in there: xfer_leave) */
}

/* ---- ending ---- */

/* where byte `pos` of the receive stream lies in the receiver's memory */
static uint64_t stream_addr(const struct xfer *x, uint64_t pos)
{
    for (unsigned b = 0; b < x->ndst; b++) {
        if (pos < x->dst[b].len)
            return x->dst[b].addr + pos;
        pos -= x->dst[b].len;
    }
    return 0;
}

/* the receiver's string items say what arrived where */
static void report_strings(const struct xfer *x, struct al_utcb *ru)
{
    uint64_t pos = 0;
    for (unsigned k = 0; k < x->nsrc; k++) {
        uint64_t got = x->done > pos ? min64(x->src[k].len, x->done - pos) : 0;
        ru->mr[x->item_mr[k]] = AL_STRING(got);
        ru->mr[x->item_mr[k] + 1] = got ? stream_addr(x, pos) : 0;
        pos += x->src[k].len;
    }
    ru->xfer_len = x->done;
}

/* End the transfer with `st` for both sides (called by the driver `self`):
 * the other side is woken, or, after a successful call, waits for the
 * reply; returns self's result. The record is freed. */
static long xfer_finish(struct xfer *x, struct thread *self, long st)
{
    assert_kernel_locked();
    struct thread *s = x->side[XS_SEND], *r = x->side[XS_RECV];
    if (!st && (!s || !r))
        st = -AL_ECANCELED;
    if (r) {
        report_strings(x, r->utcb);
        r->xfer = NULL;
    }
    if (s) {
        s->utcb->xfer_len = x->done;
        s->xfer = NULL;
    }
    int call = x->call && !st;
    uint64_t reply_deadline = x->reply_deadline;
    xfer_discard(x);
    ENTRY_INC(ipc_slow);
    if (call) {
        reply_drop_older(r, s);
        reply_link(s, r);
        if (s != self) {
            s->ipc_state = IPC_REPLY; /* still blocked: now for the reply */
            if (reply_deadline)
                sched_sleep_add(s, reply_deadline);
        }
    } else if (s && s != self) {
        ipc_wake(s, st);
    }
    if (r && r != self)
        ipc_wake(r, st);
    if (call && s == self) {
        int64_t left = -1;
        if (reply_deadline) {
            uint64_t now = clock_ns();
            left = reply_deadline > now ? (int64_t)(reply_deadline - now) : 1;
        }
        return ipc_block(self, IPC_REPLY, left);
    }
    return st;
}

/* a thread leaves the transfer for good (killed): the other side learns it */
void xfer_leave(struct thread *t)
{
    assert_kernel_locked();
    struct xfer *x = t->xfer;
    if (!x)
        return;
    int me = x->side[XS_SEND] == t ? XS_SEND : XS_RECV;
    t->xfer = NULL;
    x->side[me] = NULL;
    x->abort = -AL_ECANCELED;
    struct thread *o = x->side[!me];
    if (x->driver == me) {
        /* nobody copies any more: the other side waits in IPC_XFER */
        if (o) {
            x->driver = !me;
            xfer_finish(x, o, -AL_ECANCELED);
            ipc_wake(o, -AL_ECANCELED);
        } else {
            xfer_discard(x);
        }
    } else if (o && o->state == T_BLOCKED && o->kmsg && (o->ipc_state == IPC_SEND || o->ipc_state == IPC_REPLY)) {
        /* the driver waits for its pager: stop waiting, the copy is over */
        ipc_timeout(o);
        ipc_wake(o, -AL_ECANCELED);
    }
}

/* ---- driving ---- */

static int64_t pager_timeout(const struct xfer *x)
{
    if (!x->deadline)
        return AL_TIMEOUT_NEVER;
    uint64_t now = clock_ns();
    return x->deadline > now ? (int64_t)(x->deadline - now) : 0;
}

/* copy as `self` until the transfer ends; returns self's result */
static long xfer_drive(struct xfer *x, struct thread *self)
{
    for (;;) {
        assert(x->side[x->driver] == self && self->xfer == x);
        long st = x->abort ? x->abort : self->killed ? -AL_ECANCELED : copy_stretch(x);
        if (st == XC_MORE) {
            xfer_preempt();
            continue;
        }
        if (st == XC_FAULT) {
            /* a page of either side: that side's pager, for that side's
             * thread (we wait in its place if it is the other one) */
            int64_t left = pager_timeout(x);
            st = left ? fault_string(self, x->side[x->fault_side], x->fault_addr, x->fault_error, left) : -AL_ETIME;
            if (!st || x->abort)
                continue; /* resolved (or the other side left): look again */
        }
        return xfer_finish(x, self, st);
    }
}

long xfer_start(struct thread *s, struct thread *r, int call, int64_t reply_timeout)
{
    struct xfer *x = s->xfer;
    struct thread *self = current();
    int me = s == self ? XS_SEND : XS_RECV;
    assert(x->side[XS_SEND] == s && x->side[XS_RECV] == r && (self == s || self == r));
    struct thread *o = x->side[!me];
    x->driver = me;
    x->call = call;
    if (call) {
        if (me == XS_SEND)
            x->reply_deadline = reply_timeout > 0 ? clock_ns() + (uint64_t)reply_timeout : 0;
        else
            x->reply_deadline = o->sleeping ? o->wake_at : 0; /* its timeout keeps covering the reply */
    }
    sched_sleep_cancel(o);
    o->ipc_state = IPC_XFER;
    o->ipc_ep = NULL;
    o->ipc_result = 0;
    self->xfer = o->xfer = x;
    return xfer_drive(x, self);
}

struct task *xfer_proxy_task(struct thread *t)
{
    struct xfer *x = t->xfer;
    return x && x->side[x->fault_side] ? x->task[x->fault_side] : NULL;
}
