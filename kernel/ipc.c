/*
 * IPC, the general path: message transfer (words, capability and map
 * items), send, receive, reply, and the ipc system call's slow half (the
 * fast paths in kernel/ipc_fast.c hand everything else here). See ipc.h
 * for the state machine. BKL held throughout, interrupts off.
 */
#include "kernel/ipc_impl.h"
#include "kernel/vcpu.h"
#include "kernel/cap.h"
#include "kernel/task.h"
#include "kernel/cpu.h"
#include "kernel/map.h"
#include "kernel/irqobj.h"
#include "kernel/fault.h"
#include "kernel/panic.h"
#include "abi/airlock/errno.h"
#include "abi/airlock/ipc.h"
#include <arch/timer.h>

/* a transfer stopped half-way (out of memory, docs/ABI.md section 5.8):
 * its strings are not copied */
static long xfer_fail(struct thread *s, long e)
{
    if (s->xfer) {
        xfer_discard(s->xfer);
        s->xfer = NULL;
    }
    return e;
}

/* The typed items of s's message to r (tag: the message's; `from`: the
 * sender's words, `words`: how many the receiver takes), validated first,
 * so a bad item changes nothing: at most one capability item (needs the
 * GRANT right on the endpoint used; lands in the receiver's rcv_cap_slot),
 * any number of map/grant items (the sender's pages must be in the mapping
 * database; they land in the receiver's rcv_window at the flexpage's
 * offset within it) and string items (checked here with the receiver's
 * buffers: then it returns XFER_PENDING with the transfer record in
 * s->xfer, and the caller runs the copy with xfer_start; an error caused
 * by the receiver's buffers leaves XFER_RECV_BAD there, see
 * recv_at_fault). Then the items go to r's message registers after the
 * words (not for a receiver in a fault IPC). Out of line: most messages
 * have none, and their path stays short. */
static __attribute__((noinline)) long transfer_items(struct thread *s, struct thread *r, uint64_t tag, int grant,
                                                     const uint64_t *from, uint64_t words)
{
    uint64_t items = AL_TAG_ITEMS(tag);
    struct al_utcb *ru = r->utcb;
    /* where map items land: r's task, or, for an answer r waits for in its
     * string-copy partner's place, the partner's */
    struct task *rt = r->kmsg == KMSG_PROXY ? xfer_proxy_task(r) : r->task;
    if (!rt)
        return -AL_ECANCELED;
    struct cap *src = NULL, *dst = NULL;
    int cap_rights = 0;
    uint64_t win = 0;
    int have_win = 0;
    unsigned nstr = 0;
    /* the items are read once: the sender's other threads may change its
     * UTCB while we work, so what was checked is what is carried out */
    uint64_t item[AL_MR_COUNT], dest[AL_MR_COUNT / 2]; /* dest: where map item k lands */
    for (uint64_t k = 0; k < 2 * items; k++)
        item[k] = from[AL_TAG_WORDS(tag) + k];
    for (uint64_t k = 0; k < items; k++) {
        uint64_t kind = item[2 * k], pay = item[2 * k + 1];
        uint64_t type = kind & 0xff, rights = (kind >> 8) & AL_R_ALL;
        if (type == AL_ITEM_CAP) {
            if (src)
                return -AL_EINVAL; /* one capability per message */
            if (!grant)
                return -AL_EPERM;
            src = cap_slot(s->task, pay);
            if (!src || !src->type)
                return -AL_EBADCAP;
            if (src->type == AL_CAP_REPLY)
                return -AL_EPERM;
            if (src->type == AL_CAP_TASK && src->obj == r->task)
                return -AL_EINVAL; /* a task naming itself would never die */
            if (r->kmsg)
                return -AL_EINVAL;            /* a fault reply carries no capability */
            int64_t rslot = ru->rcv_cap_slot; /* read once: the receiver's task may change it */
            dst = rslot < 0 ? NULL : cap_slot(r->task, (uint64_t)rslot);
            if (!dst || dst->type)
                return -AL_EINVAL; /* the receiver accepts no capability there */
            cap_rights = (int)rights;
        } else if (type == AL_ITEM_MAP || type == AL_ITEM_GRANT) {
            if (!have_win) {
                win = ru->rcv_window;
                have_win = 1;
            }
            if (!fpage_ok(pay) || (rights & ~7ULL))
                return -AL_EINVAL;
            uint64_t n = (1ULL << AL_FPAGE_ORDER(pay)) / 4096, base = AL_FPAGE_BASE(pay);
            uint64_t to;
            if (r->kmsg) {
                /* a faulting thread: the aligned block of the flexpage's size
                 * around its fault address */
                to = fault_block(r, AL_FPAGE_ORDER(pay));
                if (!fpage_ok(AL_FPAGE(to, AL_FPAGE_ORDER(pay))))
                    return -AL_EINVAL;
            } else {
                if (!win || !fpage_ok(win) || AL_FPAGE_ORDER(pay) > AL_FPAGE_ORDER(win))
                    return -AL_EINVAL; /* no or too small receive window */
                to = AL_FPAGE_BASE(win) + (base & ((1ULL << AL_FPAGE_ORDER(win)) - 1));
            }
            long e = map_pages_check(s->task, base, rt, to, n, (uint32_t)(rights & 7), type == AL_ITEM_GRANT, NULL);
            if (e)
                return e;
            dest[k] = to;
        } else if (type == AL_ITEM_STRING) {
            if (r->kmsg)
                return -AL_EINVAL; /* a fault reply carries no string */
            long e = xfer_check_item(kind, pay);
            if (e)
                return e;
            nstr++;
        } else {
            return -AL_EINVAL;
        }
    }
    long ret = 0;
    if (nstr) {
        long e = xfer_prepare(s, r, item, items, words, &s->xfer);
        if (e)
            return e;
        ret = XFER_PENDING;
    }
    for (uint64_t k = 0; k < items; k++) {
        uint64_t kind = item[2 * k], pay = item[2 * k + 1];
        if ((kind & 0xff) != AL_ITEM_MAP && (kind & 0xff) != AL_ITEM_GRANT)
            continue;
        long e = map_pages_checked(s->task, AL_FPAGE_BASE(pay), rt, dest[k], (1ULL << AL_FPAGE_ORDER(pay)) / 4096,
                                   (uint32_t)((kind >> 8) & 7), (kind & 0xff) == AL_ITEM_GRANT, NULL);
        if (e)
            return xfer_fail(s, e);
    }
    if (dst) {
        long e = cap_derive(src, dst, cap_rights, 0);
        if (e)
            return xfer_fail(s, e);
    }
    if (!r->kmsg)
        for (uint64_t k = 0; k < 2 * items; k++)
            ru->mr[words + k] = item[k];
    return ret;
}

/* Copy the message of `s` (tag, badge) into r's UTCB: the typed items
 * first (transfer_items: 0, XFER_PENDING, or an error and nothing
 * changed), then the words, the tag and the badge. */
static long transfer(struct thread *s, struct thread *r, uint64_t tag, uint64_t badge, int grant)
{
    assert_kernel_locked();
    uint64_t words = AL_TAG_WORDS(tag);
    struct al_utcb *su = s->utcb, *ru = r->utcb;
    /* a thread in a fault IPC sends the kernel-made message and takes its
     * reply in the thread object (kmsg_mr): its UTCB is not touched */
    const uint64_t *from = s->kmsg ? s->kmsg_mr : su->mr;
    if (r->kmsg && words > AL_FR_COUNT)
        words = AL_FR_COUNT;
    long ret = 0;
    if (__builtin_expect(AL_TAG_ITEMS(tag) != 0, 0)) {
        ret = transfer_items(s, r, tag, grant, from, words);
        if (ret < 0)
            return ret;
    }
    if (r->kmsg) {
        for (uint64_t i = 0; i < words; i++)
            r->kmsg_mr[i] = from[i];
        r->kmsg_tag = tag;
        return ret;
    }
    for (uint64_t i = 0; i < words; i++)
        ru->mr[i] = from[i];
    ru->tag = tag;
    ru->badge = badge;
    return ret;
}

/* after a failed transfer: were the receiver's buffers at fault? */
static int recv_at_fault(struct thread *s)
{
    int bad = s->xfer == XFER_RECV_BAD;
    s->xfer = NULL;
    return bad;
}

static long check_tag(uint64_t tag)
{
    uint64_t words = AL_TAG_WORDS(tag), items = AL_TAG_ITEMS(tag);
    if (words + 2 * items > AL_MR_COUNT || (tag >> 48))
        return -AL_EMSGSIZE;
    return 0;
}

/* block the current thread in `state`; returns its result when woken */
static inline long block(struct thread *self, int state, int64_t timeout)
{
    self->ipc_state = state;
    if (self->killed) { /* killed while it ran: not queued, it ends on its way out */
        ipc_timeout(self);
        return -AL_ECANCELED;
    }
    if (__builtin_expect(self->upcall_due, 0) && (state == IPC_SEND || state == IPC_RECV) && !self->xfer &&
        vcpu_owed(self)) { /* an upcall came meanwhile: it is entered instead */
        ipc_timeout(self);
        return -AL_EINTR;
    }
    self->state = T_BLOCKED;
    self->ipc_result = 0;
    if (timeout > 0)
        sched_sleep_add(self, clock_ns() + (uint64_t)timeout);
    schedule();
    if (__builtin_expect(self->irq_wait != NULL, 0)) /* an IRQ message's wait ends here: the receive returns */
        irqobj_wait_end(self, 1);
    return self->ipc_result;
}

long ipc_block(struct thread *self, int state, int64_t timeout)
{
    return block(self, state, timeout);
}

/* after a message was taken from `s`: a sender is released, a caller now
 * waits for the reply from `r` */
static void sender_done(struct thread *s, struct thread *r)
{
    if (s->ipc_call) {
        s->ipc_ep = NULL;
        s->ipc_state = IPC_REPLY;
        reply_drop_older(r, s);
        reply_link(s, r);
    } else {
        ipc_wake(s, 0);
    }
}

long ipc_send(struct thread *self, struct endpoint *ep, uint64_t tag, uint64_t badge, int grant, int call,
              int64_t timeout)
{
    struct thread *r = ep->recvq;
    self->ipc_call = call;
    if (r) {
        long e = transfer(self, r, tag, badge, grant);
        if (e < 0) {
            if (recv_at_fault(self)) { /* the receiver's buffers are bad: it learns it too */
                ipc_q_remove(&ep->recvq, r);
                ipc_wake(r, e);
            }
            return e;
        }
        ipc_q_remove(&ep->recvq, r);
        if (e) /* XFER_PENDING */
            return xfer_start(self, r, call, timeout);
        if (call) {
            reply_drop_older(r, self);
            reply_link(self, r);
            ipc_wake(r, 0);
            ENTRY_INC(ipc_slow);
            return block(self, IPC_REPLY, timeout);
        }
        ipc_wake(r, 0);
        ENTRY_INC(ipc_slow);
        return 0;
    }
    if (timeout == 0)
        return -AL_ETIMEDOUT;
    self->ipc_tag = tag;
    self->ipc_badge = badge;
    self->ipc_grant = grant;
    self->ipc_ep = ep;
    ipc_q_insert(&ep->sendq, self);
    return block(self, IPC_SEND, timeout);
}

/* ipc_recv took s's message and transfer() said e (not 0): strings to
 * copy now (our result), or the sender's message was bad (its send fails;
 * RECV_NEXT: take the next sender) or our buffers were (our receive fails
 * too). Out of line, so the common receive keeps its short path. */
#define RECV_NEXT 1
static __attribute__((noinline)) long recv_unusual(struct thread *self, struct thread *s, long e)
{
    if (e == XFER_PENDING)
        return xfer_start(s, self, s->ipc_call, 0);
    ipc_wake(s, e);
    return recv_at_fault(s) ? e : RECV_NEXT;
}

static long ipc_recv(struct thread *self, struct endpoint *ep, int64_t timeout)
{
    while (ep->sendq) {
        struct thread *s = ep->sendq;
        if (irqobj_take(s, self)) /* an IRQ object's message, not a thread's */
            return 0;
        long e = transfer(s, self, s->ipc_tag, s->ipc_badge, s->ipc_grant);
        ipc_q_remove(&ep->sendq, s);
        if (e) {
            e = recv_unusual(self, s, e);
            if (e == RECV_NEXT)
                continue;
            return e;
        }
        sender_done(s, self); /* a caller's timeout keeps covering its reply */
        ENTRY_INC(ipc_slow);
        return 0;
    }
    if (timeout == 0)
        return -AL_ETIMEDOUT;
    self->ipc_ep = ep;
    ipc_q_insert(&ep->recvq, self);
    return block(self, IPC_RECV, timeout);
}

/* reply to `caller` (which must still wait for us); the reply is one-shot */
static long do_reply(struct thread *self, struct thread *caller, uint64_t tag)
{
    long e = transfer(self, caller, tag, 0, 1);
    ipc_unlink_reply(caller);
    if (self->reply_to == caller)
        self->reply_to = NULL;
    if (e < 0) {
        recv_at_fault(self);
        ipc_wake(caller, e);
        return e;
    }
    if (e) /* XFER_PENDING */
        return xfer_start(self, caller, 0, 0);
    ipc_wake(caller, 0);
    ENTRY_INC(ipc_slow);
    return 0;
}

static struct thread *reply_target(struct thread *self, int64_t slot, long *err)
{
    if (slot < 0) {
        if (!self->reply_to || self->reply_to->ipc_state != IPC_REPLY) {
            *err = -AL_ECANCELED;
            return NULL;
        }
        return self->reply_to;
    }
    struct cap *c = cap_lookup(self->task, (uint64_t)slot, AL_CAP_REPLY, 0, err);
    if (!c)
        return NULL;
    struct thread *caller = c->obj;
    if (caller->ipc_state != IPC_REPLY || caller->reply_gen != c->reply_gen) {
        cap_delete(c);
        *err = -AL_ECANCELED;
        return NULL;
    }
    return caller;
}



/* everything the fast paths do not take, with the same results */
long ipc_general(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4)
{
    int64_t timeout = (int64_t)a4;
    struct thread *self = current();
    struct task *task = self->task;
    long err = 0;
    if (timeout < AL_TIMEOUT_NEVER || timeout > IPC_TIMEOUT_MAX)
        return -AL_EINVAL;
    uint64_t tag = a2;
    switch (a0) {
    case AL_IPC_SEND:
    case AL_IPC_CALL: {
        if ((err = check_tag(tag)))
            return err;
        struct cap *c = cap_lookup(task, a1, AL_CAP_ENDPOINT, AL_R_SEND, &err);
        if (!c)
            return err;
        return ipc_send(self, c->obj, tag, c->badge, c->rights & AL_R_GRANT, a0 == AL_IPC_CALL, timeout);
    }
    case AL_IPC_RECV: {
        struct cap *c = cap_lookup(task, a3, AL_CAP_ENDPOINT, AL_R_RECV, &err);
        if (!c)
            return err;
        return ipc_recv(self, c->obj, timeout);
    }
    case AL_IPC_REPLY:
    case AL_IPC_REPLY_RECV: {
        if ((err = check_tag(tag)))
            return err;
        struct endpoint *ep = NULL;
        if (a0 == AL_IPC_REPLY_RECV) {
            struct cap *c = cap_lookup(task, a3, AL_CAP_ENDPOINT, AL_R_RECV, &err);
            if (!c)
                return err;
            ep = c->obj;
        }
        struct thread *caller = reply_target(self, a0 == AL_IPC_REPLY ? (int64_t)a1 : -1, &err);
        if (caller) {
            long r = do_reply(self, caller, tag);
            if (r < 0 && a0 == AL_IPC_REPLY)
                return r;
        } else if (a0 == AL_IPC_REPLY) {
            return err;
        }
        return ep ? ipc_recv(self, ep, timeout) : 0;
    }
    default:
        return -AL_EINVAL;
    }
}

