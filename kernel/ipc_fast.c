/*
 * IPC fast paths: straight-line versions of the two halves of an RPC for
 * the common case, for ordinary messages and for fault messages.
 *
 *   call          a thread calls an endpoint whose first receiver waits
 *                 (fast_call; fault_fast_call when the kernel calls a
 *                 fault handler on a faulting thread's behalf)
 *   reply + recv  the server answers the caller it owes and waits again on
 *                 an endpoint with nobody queued (fast_reply_recv; for a
 *                 fault, fast_fault_reply_recv, whose reply may carry one
 *                 map item)
 *
 * Conditions: infinite timeout, untyped words only (<= IPC_FAST_WORDS; a
 * fault reply up to AL_FR_COUNT words and one map item), the partner
 * waiting, allowed on this CPU, nothing queued on this CPU (the caller
 * blocks, so the partner is then the best thread to run whatever its
 * priority), no timeouts or saved replies involved. The *_target checks
 * decide; anything else goes to ipc_general (kernel/ipc.c), which gives
 * the same result (tested with the fast path disabled through
 * kernel_control). Each path ends in one of two switch helpers, so the
 * state changes of a call and of a reply are written once.
 *
 * BKL held, interrupts off, on the caller's kernel stack.
 */
#include "kernel/ipc_impl.h"
#include "kernel/irqobj.h"
#include "kernel/cap.h"
#include "kernel/task.h"
#include "kernel/cpu.h"
#include "kernel/map.h"
#include "kernel/nospec.h"
#include "kernel/fault.h"
#include "kernel/switch.h"
#include "kernel/syscall.h"
#include "abi/airlock/errno.h"
#include "abi/airlock/ipc.h"

int ipc_fast_off;

/* tag bits that must be clear: typed items, bit 7, anything above the label */
#define FAST_TAG_MASK 0xffff00000000ff80ULL

/* A fast path may run on this CPU now: it is enabled, and nothing is
 * queued here, so the partner (the caller blocks) is the best thread to
 * run whatever its priority. Tested before anything else: it costs two
 * loads and fails whenever the CPU has other work. */
static inline int fast_cpu_ok(struct cpu *c)
{
    return !ipc_fast_off && !c->rq.nr;
}

/* the partner may run on this CPU (each path tests the partner's
 * fast_blockers itself) */
static inline int fast_partner_here(struct cpu *c, struct thread *t)
{
    return t->affinity < 0 || (unsigned)t->affinity == c->index;
}

/* the endpoint capability in `slot` of self's task with `right`, or NULL */
static inline struct cap *fast_ep_cap(struct thread *self, uint64_t slot, uint8_t right)
{
    if (!array_index_check_nospec(&slot, AL_CSPACE_SLOTS)) /* clamped under speculation too */
        return NULL;
    struct cap *cap = &self->task->cspace->slot[slot];
    if (cap->type != AL_CAP_ENDPOINT || !(cap->rights & right))
        return NULL;
    return cap;
}

static inline void copy_words(const uint64_t *from, struct al_utcb *ru, uint64_t tag, uint64_t badge)
{
    unsigned long *to = ru->mr;
    switch (AL_TAG_WORDS(tag)) { /* <= IPC_FAST_WORDS: straight-line copies */
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
    ru->tag = tag;
    ru->badge = badge;
}

/* The switch of a fast call: r, the first receiver on ep, takes self's
 * call (its message already in r's UTCB); self waits for the reply. */
static inline __attribute__((always_inline)) long fast_call_switch(struct cpu *c, struct thread *self, struct thread *r, struct endpoint *ep)
{
    ep->recvq = r->ipc_next;
    if (r->ipc_next)
        r->ipc_next->ipc_prev = NULL;
    r->ipc_next = NULL;
    /* (ipc_ep and ipc_result of the blocked side are set by whoever ends
     * its wait; queue links of a running thread are already NULL) */
    r->ipc_state = IPC_NONE;
    r->ipc_result = 0;
    reply_link(self, r);
    self->ipc_state = IPC_REPLY;
    self->state = T_BLOCKED;
    ENTRY_INC(ipc_fast);
    sched_switch_direct(c, self, r);
    return self->ipc_result;
}

/* The switch of a fast reply-and-receive: the caller (its reply and
 * ipc_result already in place) runs; self waits on ep, whose queues are
 * empty. */
static inline __attribute__((always_inline)) long fast_reply_switch(struct cpu *c, struct thread *self, struct thread *caller, struct endpoint *ep)
{
    self->reply_to = NULL;
    caller->reply_server = NULL;
    caller->ipc_state = IPC_NONE;
    ep->recvq = self; /* the queue was empty; our links are NULL */
    self->ipc_ep = ep;
    self->ipc_state = IPC_RECV;
    self->state = T_BLOCKED;
    ENTRY_INC(ipc_fast);
    sched_switch_direct(c, self, caller);
    if (__builtin_expect(self->irq_wait != NULL, 0)) /* (woken by an IRQ message: as in block()) */
        irqobj_wait_end(self, 1);
    return self->ipc_result;
}

/* ---- calls ---- */

/* the receiver a fast call can go to, or NULL */
static inline struct thread *fast_call_target(struct cpu *c, struct thread *self, uint64_t slot, uint64_t tag,
                                              struct cap **capp)
{
    if ((tag & FAST_TAG_MASK) || AL_TAG_WORDS(tag) > IPC_FAST_WORDS || !fast_cpu_ok(c))
        return NULL;
    struct cap *cap = fast_ep_cap(self, slot, AL_R_SEND);
    if (!cap)
        return NULL;
    struct thread *r = ((struct endpoint *)cap->obj)->recvq;
    if (!r || r->reply_to || r->fast_blockers || !fast_partner_here(c, r))
        return NULL;
    *capp = cap;
    return r;
}

int fault_fast_call(struct thread *self, struct cap *h, uint64_t tag, const struct trap_frame *tf, uint64_t addr)
{
    struct cpu *c = this_cpu();
    struct endpoint *ep = h->obj;
    struct thread *r = ep->recvq;
    if (!fast_cpu_ok(c) || !r || r->reply_to || r->fast_blockers || !fast_partner_here(c, r))
        return 0;
    /* the fault words straight into the handler's UTCB */
    fault_fill(r->utcb->mr, tf, addr);
    r->utcb->tag = tag;
    r->utcb->badge = h->badge;
    fast_call_switch(c, self, r, ep);
    return 1;
}

/* ---- replies ---- */

/* the endpoint a fast reply-and-receive waits on afterwards, or NULL */
static inline struct endpoint *fast_rr_target(struct cpu *c, struct thread *self, uint64_t slot, uint64_t tag)
{
    struct thread *caller = self->reply_to;
    /* (a caller in a fault IPC has kmsg set: fast_fault_rr_target's case) */
    if (!caller || (tag & FAST_TAG_MASK) || AL_TAG_WORDS(tag) > IPC_FAST_WORDS || caller->fast_blockers ||
        !fast_cpu_ok(c))
        return NULL;
    struct cap *cap = fast_ep_cap(self, slot, AL_R_RECV);
    if (!cap)
        return NULL;
    struct endpoint *ep = cap->obj;
    if (ep->sendq || ep->recvq || caller->ipc_state != IPC_REPLY || caller->reply_slot ||
        !fast_partner_here(c, caller))
        return NULL;
    return ep;
}

/* the same for the answer to a fault message: untyped words, or the words
 * and one map/grant item (a pager's answer); the caller's kmsg is the
 * only blocker allowed (KMSG_OWN: the answer to a thread waiting in its
 * string-copy partner's place, KMSG_PROXY, takes the general path) */
static inline struct endpoint *fast_fault_rr_target(struct cpu *c, struct thread *self, uint64_t slot, uint64_t tag)
{
    struct thread *caller = self->reply_to;
    if (!caller || caller->kmsg != KMSG_OWN || (tag & (FAST_TAG_MASK & ~0xff00ULL)) || AL_TAG_ITEMS(tag) > 1 ||
        AL_TAG_WORDS(tag) > AL_FR_COUNT || !fast_cpu_ok(c))
        return NULL;
    struct cap *cap = fast_ep_cap(self, slot, AL_R_RECV);
    if (!cap)
        return NULL;
    struct endpoint *ep = cap->obj;
    if (ep->sendq || ep->recvq || caller->ipc_state != IPC_REPLY || caller->reply_slot || caller->suspended ||
        caller->sleeping || !fast_partner_here(c, caller))
        return NULL;
    return ep;
}

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
        struct mapnode *first;
        if ((type != AL_ITEM_MAP && type != AL_ITEM_GRANT) || (rights & ~7ULL) || !fpage_ok(pay) ||
            !fpage_ok(AL_FPAGE(to, order)) ||
            map_pages_check(self->task, AL_FPAGE_BASE(pay), caller->task, to, (1ULL << order) / 4096, (uint32_t)rights,
                            type == AL_ITEM_GRANT, &first))
            return ipc_general(AL_IPC_REPLY_RECV, 0, tag, slot, (uint64_t)AL_TIMEOUT_NEVER);
        result = map_pages_checked(self->task, AL_FPAGE_BASE(pay), caller->task, to, (1ULL << order) / 4096,
                                   (uint32_t)rights, type == AL_ITEM_GRANT, first);
    }
    for (uint64_t i = 0; i < n; i++)
        caller->kmsg_mr[i] = self->utcb->mr[i];
    caller->kmsg_tag = tag;
    caller->ipc_result = result; /* (only running out of memory can fail the map now) */
    return fast_reply_switch(c, self, caller, ep);
}

/* ---- the system call ---- */

/* ipc(op, cap, tag, rcv_cap, timeout_ns) */
SYSCALL_DEFINE(ipc)
{
    if ((int64_t)a4 == AL_TIMEOUT_NEVER) {
        struct cpu *c = this_cpu();
        struct thread *self = c->current;
        if (a0 == AL_IPC_CALL) {
            struct cap *cap;
            struct thread *r = fast_call_target(c, self, a1, a2, &cap);
            if (r) {
                copy_words(self->utcb->mr, r->utcb, a2, cap->badge);
                return fast_call_switch(c, self, r, cap->obj);
            }
        } else if (a0 == AL_IPC_REPLY_RECV) {
            struct endpoint *ep = fast_rr_target(c, self, a3, a2);
            if (ep) {
                struct thread *caller = self->reply_to;
                copy_words(self->utcb->mr, caller->utcb, a2, 0);
                caller->ipc_result = 0;
                return fast_reply_switch(c, self, caller, ep);
            }
            ep = fast_fault_rr_target(c, self, a3, a2);
            if (ep)
                return fast_fault_reply_recv(c, self, ep, a3, a2);
        }
    }
    return ipc_general(a0, a1, a2, a3, a4);
}
