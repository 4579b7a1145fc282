/* Synchronous IPC; see ipc.h for the state machine. BKL held throughout. */
#include "kernel/ipc.h"
#include "kernel/cap.h"
#include "kernel/thread.h"
#include "kernel/task.h"
#include "kernel/cpu.h"
#include "kernel/frame.h"
#include "kernel/panic.h"
#include "kernel/syscall.h"
#include "abi/airlock/errno.h"
#include "abi/airlock/ipc.h"
#include <arch/paging.h>
#include <arch/timer.h>
#include "lib/string.h"
#include "kernel/mapdb.h"
#include "kernel/sys_map.h"
#include "kernel/switch.h"
#include "kernel/bootinfo.h"
#include "kernel/fault.h"

int ipc_fastpath_enabled = 1;

/* ---- endpoints ---- */

struct endpoint *endpoint_create(void)
{
    uint64_t pa = frame_alloc();
    if (!pa)
        return NULL;
    struct endpoint *ep = p2v(pa);
    memset(ep, 0, sizeof *ep);
    return ep;
}

static void q_remove(struct thread **q, struct thread *t)
{
    if (t->ipc_prev)
        t->ipc_prev->ipc_next = t->ipc_next;
    else
        *q = t->ipc_next;
    if (t->ipc_next)
        t->ipc_next->ipc_prev = t->ipc_prev;
    t->ipc_next = t->ipc_prev = NULL;
}

/* by priority, FIFO within a priority */
static void q_insert(struct thread **q, struct thread *t)
{
    struct thread *prev = NULL, *cur = *q;
    while (cur && cur->prio >= t->prio) {
        prev = cur;
        cur = cur->ipc_next;
    }
    t->ipc_prev = prev;
    t->ipc_next = cur;
    if (cur)
        cur->ipc_prev = t;
    if (prev)
        prev->ipc_next = t;
    else
        *q = t;
}

static void wake(struct thread *t, long result)
{
    t->ipc_state = IPC_NONE;
    t->ipc_ep = NULL;
    t->ipc_result = result;
    sched_sleep_cancel(t);
    sched_enqueue(t);
}

/* a caller stops waiting for its reply: forget every reference to it */
static void unlink_reply(struct thread *caller)
{
    if (caller->reply_server && caller->reply_server->reply_to == caller)
        caller->reply_server->reply_to = NULL;
    caller->reply_server = NULL;
    if (caller->reply_slot) {
        struct cap *c = caller->reply_slot;
        caller->reply_slot = NULL;
        cap_delete(c);
    }
}

void endpoint_put(struct endpoint *ep)
{
    assert(ep->refs > 0);
    if (--ep->refs)
        return;
    while (ep->sendq) {
        struct thread *t = ep->sendq;
        q_remove(&ep->sendq, t);
        wake(t, -AL_ECANCELED);
    }
    while (ep->recvq) {
        struct thread *t = ep->recvq;
        q_remove(&ep->recvq, t);
        wake(t, -AL_ECANCELED);
    }
    frame_free(v2p_direct(ep));
}

/* a caller whose reply can no longer come: it gets -AL_ECANCELED */
static void cancel_caller(struct thread *caller)
{
    if (caller->ipc_state != IPC_REPLY)
        return;
    unlink_reply(caller);
    wake(caller, -AL_ECANCELED);
}

void reply_cap_dropped(struct cap *c)
{
    struct thread *caller = c->obj;
    if (caller->reply_slot == c) {
        caller->reply_slot = NULL;
        cancel_caller(caller); /* nobody can answer it any more */
    }
}

void ipc_timeout(struct thread *t)
{
    if (t->ipc_state == IPC_SEND)
        q_remove(&t->ipc_ep->sendq, t);
    else if (t->ipc_state == IPC_RECV)
        q_remove(&t->ipc_ep->recvq, t);
    else if (t->ipc_state == IPC_REPLY)
        unlink_reply(t);
    t->ipc_state = IPC_NONE;
    t->ipc_ep = NULL;
    t->ipc_result = -AL_ETIMEDOUT;
}

void ipc_thread_dies(struct thread *t)
{
    /* a server that dies owes its caller a reply: cancel the call */
    if (t->reply_to) {
        struct thread *caller = t->reply_to;
        t->reply_to = NULL;
        caller->reply_server = NULL;
        if (caller->ipc_state == IPC_REPLY) {
            unlink_reply(caller);
            wake(caller, -AL_ECANCELED);
        }
    }
}

/* ---- message transfer ---- */

/* Where a map item answering a fault lands: the aligned block of the
 * flexpage's size (2^order) around the thread's fault address. */
static inline uint64_t fault_block(const struct thread *t, uint64_t order)
{
    return t->fault_addr_ipc & ~((1ULL << order) - 1);
}

/* Copy the message of `s` (tag, badge) into r's UTCB. Typed items are
 * validated first, so a bad item changes nothing: at most one capability
 * item (needs the GRANT right on the endpoint used; lands in the
 * receiver's rcv_cap_slot) and any number of map/grant items (the sender's
 * pages must be in the mapping database; they land in the receiver's
 * rcv_window at the flexpage's offset within it). */
static long transfer(struct thread *s, struct thread *r, uint64_t tag, uint64_t badge, int grant)
{
    uint64_t words = AL_TAG_WORDS(tag), items = AL_TAG_ITEMS(tag);
    struct al_utcb *su = s->utcb, *ru = r->utcb;
    /* a thread in a fault IPC sends the kernel-made message and takes its
     * reply in the thread object (kmsg_mr): its UTCB is not touched */
    const uint64_t *from = s->kmsg ? s->kmsg_mr : su->mr;
    if (r->kmsg && words > AL_FR_COUNT)
        words = AL_FR_COUNT;
    struct cap *src = NULL, *dst = NULL;
    int cap_rights = 0;
    uint64_t win = 0;
    int have_win = 0;
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
            long e = map_pages_check(s->task, base, r->task, to, n, (uint32_t)(rights & 7), type == AL_ITEM_GRANT);
            if (e)
                return e;
            dest[k] = to;
        } else {
            return -AL_EINVAL;
        }
    }
    for (uint64_t k = 0; k < items; k++) {
        uint64_t kind = item[2 * k], pay = item[2 * k + 1];
        if ((kind & 0xff) == AL_ITEM_CAP)
            continue;
        long e = map_pages_checked(s->task, AL_FPAGE_BASE(pay), r->task, dest[k], (1ULL << AL_FPAGE_ORDER(pay)) / 4096,
                                   (uint32_t)((kind >> 8) & 7), (kind & 0xff) == AL_ITEM_GRANT);
        if (e)
            return e;
    }
    if (dst) {
        long e = cap_derive(src, dst, cap_rights, 0);
        if (e)
            return e;
    }
    if (r->kmsg) {
        for (uint64_t i = 0; i < words; i++)
            r->kmsg_mr[i] = from[i];
        r->kmsg_tag = tag;
        return 0;
    }
    for (uint64_t i = 0; i < words; i++)
        ru->mr[i] = from[i];
    for (uint64_t k = 0; k < 2 * items; k++)
        ru->mr[words + k] = item[k];
    ru->tag = tag;
    ru->badge = badge;
    return 0;
}

static long check_tag(uint64_t tag)
{
    uint64_t words = AL_TAG_WORDS(tag), items = AL_TAG_ITEMS(tag);
    if (words + 2 * items > AL_MR_COUNT || (tag >> 48))
        return -AL_EMSGSIZE;
    return 0;
}

/* block the current thread in `state`; returns its result when woken */
static long block(struct thread *self, int state, int64_t timeout)
{
    self->ipc_state = state;
    self->state = T_BLOCKED;
    self->ipc_result = 0;
    if (timeout > 0)
        sched_sleep_add(self, clock_ns() + (uint64_t)timeout);
    schedule();
    return self->ipc_result;
}

/* after a message was taken from `s`: a sender is released, a caller now
 * waits for the reply from `r` */
static void sender_done(struct thread *s, struct thread *r)
{
    if (s->ipc_call) {
        s->ipc_state = IPC_REPLY;
        s->ipc_ep = NULL;
        s->reply_gen++;
        s->reply_server = r;
        if (r->reply_to && r->reply_to != s) {
            struct thread *older = r->reply_to; /* an older, unsaved reply is dropped */
            r->reply_to = NULL;
            cancel_caller(older);
        }
        r->reply_to = s;
    } else {
        wake(s, 0);
    }
}

long ipc_send(struct thread *self, struct endpoint *ep, uint64_t tag, uint64_t badge, int grant, int call,
              int64_t timeout)
{
    struct thread *r = ep->recvq;
    self->ipc_call = call;
    if (r) {
        long e = transfer(self, r, tag, badge, grant);
        if (e)
            return e;
        q_remove(&ep->recvq, r);
        if (call) {
            if (r->reply_to && r->reply_to != self) {
                struct thread *older = r->reply_to;
                r->reply_to = NULL;
                cancel_caller(older);
            }
            r->reply_to = self;
            self->reply_server = r;
            self->reply_gen++;
            wake(r, 0);
            this_entry()->ipc_slow++;
            return block(self, IPC_REPLY, timeout);
        }
        wake(r, 0);
        this_entry()->ipc_slow++;
        return 0;
    }
    if (timeout == 0)
        return -AL_ETIMEDOUT;
    self->ipc_tag = tag;
    self->ipc_badge = badge;
    self->ipc_grant = grant;
    self->ipc_ep = ep;
    q_insert(&ep->sendq, self);
    return block(self, IPC_SEND, timeout);
}

long ipc_recv(struct thread *self, struct endpoint *ep, int64_t timeout)
{
    while (ep->sendq) {
        struct thread *s = ep->sendq;
        long e = transfer(s, self, s->ipc_tag, s->ipc_badge, s->ipc_grant);
        q_remove(&ep->sendq, s);
        if (e) { /* the sender's message is bad: its send fails */
            wake(s, e);
            continue;
        }
        sender_done(s, self); /* a caller's timeout keeps covering its reply */
        this_entry()->ipc_slow++;
        return 0;
    }
    if (timeout == 0)
        return -AL_ETIMEDOUT;
    self->ipc_ep = ep;
    q_insert(&ep->recvq, self);
    return block(self, IPC_RECV, timeout);
}

/* reply to `caller` (which must still wait for us); the reply is one-shot */
static long do_reply(struct thread *self, struct thread *caller, uint64_t tag)
{
    long e = transfer(self, caller, tag, 0, 1);
    unlink_reply(caller);
    if (self->reply_to == caller)
        self->reply_to = NULL;
    if (e) {
        wake(caller, e);
        return e;
    }
    wake(caller, 0);
    this_entry()->ipc_slow++;
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

/* ---- fast path ----
 * Straight-line versions of the two halves of an RPC for the common case:
 * infinite timeout, <= IPC_FAST_WORDS untyped words, the partner waiting,
 * allowed on this CPU, nothing queued on this CPU (the caller blocks, so the
 * partner is then the best thread to run whatever its priority), no
 * timeouts or saved replies involved. The *_target checks decide; anything
 * else goes to the general path, with the same result. */

/* tag bits that must be clear: typed items, bit 7, anything above the label */
#define FAST_TAG_MASK 0xffff00000000ff80ULL

/* The partner may run here at once: the fast paths block the caller, and
 * with nothing queued on this CPU the partner is the best choice whatever
 * its priority. */
static inline int fast_partner_ok(struct cpu *c, struct thread *t)
{
    return ipc_fastpath_enabled && !c->rq.nr && (t->affinity < 0 || (unsigned)t->affinity == c->index) &&
           !t->fast_blockers;
}

static inline void copy_words(struct thread *s, struct thread *r, uint64_t tag, uint64_t badge)
{
    uint64_t n = AL_TAG_WORDS(tag);
    unsigned long *to = r->utcb->mr, *from = s->utcb->mr;
    switch (n) { /* n <= IPC_FAST_WORDS: straight-line copies */
    case 8:
        to[7] = from[7]; /* fall through */
    case 7:
        to[6] = from[6]; /* fall through */
    case 6:
        to[5] = from[5]; /* fall through */
    case 5:
        to[4] = from[4]; /* fall through */
    case 4:
        to[3] = from[3]; /* fall through */
    case 3:
        to[2] = from[2]; /* fall through */
    case 2:
        to[1] = from[1]; /* fall through */
    case 1:
        to[0] = from[0]; /* fall through */
    default:
        break;
    }
    r->utcb->tag = tag;
    r->utcb->badge = badge;
}

__attribute__((noinline)) static long ipc_general(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4);

/* the receiver a fast call can go to, or NULL */
static inline struct thread *fast_call_target(struct cpu *c, struct thread *self, uint64_t slot, uint64_t tag,
                                              struct cap **capp)
{
    if (slot >= AL_CSPACE_SLOTS || (tag & FAST_TAG_MASK) || AL_TAG_WORDS(tag) > IPC_FAST_WORDS)
        return NULL;
    struct cap *cap = &self->task->cspace->slot[slot];
    if (cap->type != AL_CAP_ENDPOINT || !(cap->rights & AL_R_SEND))
        return NULL;
    struct thread *r = ((struct endpoint *)cap->obj)->recvq;
    if (!r || r->reply_to || !fast_partner_ok(c, r))
        return NULL;
    *capp = cap;
    return r;
}

static inline long fast_call(struct cpu *c, struct thread *self, struct thread *r, struct cap *cap, uint64_t tag)
{
    struct endpoint *ep = cap->obj;
    ep->recvq = r->ipc_next;
    if (r->ipc_next)
        r->ipc_next->ipc_prev = NULL;
    r->ipc_next = NULL;
    copy_words(self, r, tag, cap->badge);
    /* (ipc_ep and ipc_result of the blocked side are set by whoever ends
     * its wait; queue links of a running thread are already NULL) */
    r->ipc_state = IPC_NONE;
    r->ipc_result = 0;
    r->reply_to = self;
    self->reply_server = r;
    self->reply_gen++;
    self->ipc_state = IPC_REPLY;
    self->state = T_BLOCKED;
    ENTRY_INC(ipc_fast);
    sched_switch_direct(c, self, r);
    return self->ipc_result;
}

/* the endpoint a fast reply-and-receive waits on afterwards, or NULL */
static inline struct endpoint *fast_rr_target(struct cpu *c, struct thread *self, uint64_t slot, uint64_t tag)
{
    struct thread *caller = self->reply_to;
    if (!caller || slot >= AL_CSPACE_SLOTS || (tag & FAST_TAG_MASK) || AL_TAG_WORDS(tag) > IPC_FAST_WORDS)
        return NULL;
    struct cap *cap = &self->task->cspace->slot[slot];
    if (cap->type != AL_CAP_ENDPOINT || !(cap->rights & AL_R_RECV))
        return NULL;
    struct endpoint *ep = cap->obj;
    if (ep->sendq || ep->recvq || caller->ipc_state != IPC_REPLY || caller->reply_slot || !fast_partner_ok(c, caller))
        return NULL;
    return ep;
}

static inline long fast_reply_recv(struct cpu *c, struct thread *self, struct endpoint *ep, uint64_t tag)
{
    struct thread *caller = self->reply_to;
    copy_words(self, caller, tag, 0);
    self->reply_to = NULL;
    caller->reply_server = NULL;
    caller->ipc_state = IPC_NONE;
    caller->ipc_result = 0;
    ep->recvq = self; /* the queue was empty; our links are NULL */
    self->ipc_ep = ep;
    self->ipc_state = IPC_RECV;
    self->state = T_BLOCKED;
    ENTRY_INC(ipc_fast);
    sched_switch_direct(c, self, caller);
    return self->ipc_result;
}

/* ---- fast path for fault handlers ----
 * The same two halves for a fault IPC: the faulting thread calls a handler
 * that waits (fault_fast_call, from kernel/fault.c), and the handler answers
 * with untyped words only and waits again (a reply of up to AL_FR_COUNT
 * words into the thread object). Same conditions as above otherwise. */
int fault_fast_call(struct thread *self, struct cap *h, uint64_t tag, const struct trap_frame *tf, uint64_t addr)
{
    struct cpu *c = this_cpu();
    struct endpoint *ep = h->obj;
    struct thread *r = ep->recvq;
    if (!r || r->reply_to || !fast_partner_ok(c, r))
        return 0;
    ep->recvq = r->ipc_next;
    if (r->ipc_next)
        r->ipc_next->ipc_prev = NULL;
    r->ipc_next = NULL;
    fault_fill(r->utcb->mr, tf, addr);
    r->utcb->tag = tag;
    r->utcb->badge = h->badge;
    r->ipc_state = IPC_NONE;
    r->ipc_result = 0;
    r->reply_to = self;
    self->reply_server = r;
    self->reply_gen++;
    self->ipc_state = IPC_REPLY;
    self->state = T_BLOCKED;
    ENTRY_INC(ipc_fast);
    sched_switch_direct(c, self, r);
    return 1;
}

static struct endpoint *fast_fault_rr_target(struct cpu *c, struct thread *self, uint64_t slot, uint64_t tag)
{
    struct thread *caller = self->reply_to;
    /* untyped words, or the words and one map/grant item (a pager's answer) */
    if (!caller || !caller->kmsg || slot >= AL_CSPACE_SLOTS || (tag & (FAST_TAG_MASK & ~0xff00ULL)) ||
        AL_TAG_ITEMS(tag) > 1 || AL_TAG_WORDS(tag) > AL_FR_COUNT)
        return NULL;
    struct cap *cap = &self->task->cspace->slot[slot];
    if (cap->type != AL_CAP_ENDPOINT || !(cap->rights & AL_R_RECV))
        return NULL;
    struct endpoint *ep = cap->obj;
    /* the caller's kmsg is its only blocker allowed here */
    if (ep->sendq || ep->recvq || caller->ipc_state != IPC_REPLY || caller->reply_slot || caller->suspended ||
        caller->sleeping || !ipc_fastpath_enabled || c->rq.nr ||
        (caller->affinity >= 0 && (unsigned)caller->affinity != c->index))
        return NULL;
    return ep;
}

__attribute__((noinline)) static long ipc_general(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4);

__attribute__((noinline)) static long fast_fault_reply_recv(struct cpu *c, struct thread *self, struct endpoint *ep,
                                                            uint64_t slot, uint64_t tag)
{
    struct thread *caller = self->reply_to;
    uint64_t n = AL_TAG_WORDS(tag);
    long result = 0;
    if (AL_TAG_ITEMS(tag)) {
        /* the pager's map (or grant) item, read once and checked before
         * anything changes; anything unusual takes the general path, which
         * fails the same way and tells both sides */
        uint64_t kind = self->utcb->mr[n], pay = self->utcb->mr[n + 1];
        uint64_t type = kind & 0xff, rights = (kind >> 8) & AL_R_ALL, order = AL_FPAGE_ORDER(pay);
        uint64_t to = fault_block(caller, order);
        if ((type != AL_ITEM_MAP && type != AL_ITEM_GRANT) || (rights & ~7ULL) || !fpage_ok(pay) ||
            !fpage_ok(AL_FPAGE(to, order)) ||
            map_pages_check(self->task, AL_FPAGE_BASE(pay), caller->task, to, (1ULL << order) / 4096, (uint32_t)rights,
                            type == AL_ITEM_GRANT))
            return ipc_general(AL_IPC_REPLY_RECV, 0, tag, slot, (uint64_t)AL_TIMEOUT_NEVER);
        result = map_pages_checked(self->task, AL_FPAGE_BASE(pay), caller->task, to, (1ULL << order) / 4096,
                                   (uint32_t)rights, type == AL_ITEM_GRANT);
    }
    for (uint64_t i = 0; i < n; i++)
        caller->kmsg_mr[i] = self->utcb->mr[i];
    caller->kmsg_tag = tag;
    self->reply_to = NULL;
    caller->reply_server = NULL;
    caller->ipc_state = IPC_NONE;
    caller->ipc_result = result; /* (only running out of memory can fail the map now) */
    ep->recvq = self;
    self->ipc_ep = ep;
    self->ipc_state = IPC_RECV;
    self->state = T_BLOCKED;
    ENTRY_INC(ipc_fast);
    sched_switch_direct(c, self, caller);
    return self->ipc_result;
}

/* ---- system calls ---- */

SYSCALL_DEFINE(endpoint_create)
{
    struct cap *slot = cap_slot(current()->task, a0);
    if (!slot)
        return -AL_EBADCAP;
    if (slot->type)
        return -AL_EEXIST;
    struct endpoint *ep = endpoint_create();
    if (!ep)
        return -AL_ENOMEM;
    cap_install(slot, AL_CAP_ENDPOINT, AL_R_SEND | AL_R_RECV | AL_R_GRANT, ep, 0);
    return 0;
}

#define IPC_TIMEOUT_MAX (3600LL * 1000000000LL)

/* ipc(op, cap, tag, rcv_cap, timeout_ns) */
SYSCALL_DEFINE(ipc)
{
    if ((int64_t)a4 == AL_TIMEOUT_NEVER) {
        struct cpu *c = this_cpu();
        struct thread *self = c->current;
        if (a0 == AL_IPC_CALL) {
            struct cap *cap;
            struct thread *r = fast_call_target(c, self, a1, a2, &cap);
            if (r)
                return fast_call(c, self, r, cap, a2);
        } else if (a0 == AL_IPC_REPLY_RECV) {
            struct endpoint *ep = fast_rr_target(c, self, a3, a2);
            if (ep)
                return fast_reply_recv(c, self, ep, a2);
            ep = fast_fault_rr_target(c, self, a3, a2);
            if (ep)
                return fast_fault_reply_recv(c, self, ep, a3, a2);
        }
    }
    return ipc_general(a0, a1, a2, a3, a4);
}

__attribute__((noinline)) static long ipc_general(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4)
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

/* reply_save(slot): keep the pending reply to the last caller in a slot */
SYSCALL_DEFINE(reply_save)
{
    struct thread *self = current();
    struct cap *slot = cap_slot(self->task, a0);
    if (!slot)
        return -AL_EBADCAP;
    if (slot->type)
        return -AL_EEXIST;
    struct thread *caller = self->reply_to;
    if (!caller || caller->ipc_state != IPC_REPLY)
        return -AL_ECANCELED;
    if (caller->reply_slot)
        return -AL_EBUSY;
    cap_install(slot, AL_CAP_REPLY, 0, caller, 0);
    slot->reply_gen = caller->reply_gen;
    caller->reply_slot = slot;
    self->reply_to = NULL;
    caller->reply_server = NULL;
    return 0;
}

/* kernel_control(op, value): test and benchmark knobs, available only when
 * the kernel command line says `ktest` (or ktest=...) or `bench` */
SYSCALL_DEFINE(kernel_control)
{
    char v[16];
    if (!bootinfo_flag("ktest") && !bootinfo_arg("ktest", v, sizeof v) && !bootinfo_flag("bench"))
        return -AL_EPERM;
    if (a0 == AL_KCTL_IPC_FASTPATH) {
        if (a1 > 1)
            return -AL_EINVAL;
        long old = ipc_fastpath_enabled;
        ipc_fastpath_enabled = (int)a1;
        return old;
    }
    return -AL_EINVAL;
}
