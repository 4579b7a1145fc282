/*
 * Endpoints and their wait queues, and the bookkeeping of pending replies:
 * the part of IPC that objects going away (capability deletion, timeouts,
 * dying threads) reach. The message paths are in kernel/ipc.c (general)
 * and kernel/ipc_fast.c. BKL held throughout.
 */
#include "kernel/ipc_impl.h"
#include "kernel/object.h"
#include "kernel/cap.h"
#include "kernel/thread.h"
#include "kernel/frame.h"
#include "kernel/kmem.h"
#include "kernel/panic.h"
#include "abi/airlock/errno.h"
#include <arch/paging.h>
#include "lib/string.h"

struct endpoint *endpoint_create(struct kmem *k, long *err)
{
    if (kmem_charge(k, 1)) {
        *err = -AL_EDQUOT;
        return NULL;
    }
    uint64_t pa = frame_alloc();
    if (!pa) {
        kmem_uncharge(k, 1);
        *err = -AL_ENOMEM;
        return NULL;
    }
    struct endpoint *ep = p2v(pa);
    memset(ep, 0, sizeof *ep);
    ep->kmem = k;
    return ep;
}





static void endpoint_release(struct cap *c, void *obj)
{
    struct endpoint *ep = obj;
    (void)c;
    assert(ep->refs > 0);
    if (--ep->refs)
        return;
    while (ep->sendq) {
        struct thread *t = ep->sendq;
        ipc_q_remove(&ep->sendq, t);
        ipc_wake(t, -AL_ECANCELED);
    }
    while (ep->recvq) {
        struct thread *t = ep->recvq;
        ipc_q_remove(&ep->recvq, t);
        ipc_wake(t, -AL_ECANCELED);
    }
    kmem_uncharge(ep->kmem, 1);
    frame_free(v2p_direct(ep));
}


/* a saved reply capability was deleted (slot c, now empty) */
static void reply_release(struct cap *c, void *obj)
{
    struct thread *caller = obj;
    if (caller->reply_slot == c) {
        caller->reply_slot = NULL;
        ipc_cancel_caller(caller); /* nobody can answer it any more */
    }
}

void ipc_timeout(struct thread *t)
{
    if (t->ipc_state == IPC_SEND)
        ipc_q_remove(&t->ipc_ep->sendq, t);
    else if (t->ipc_state == IPC_RECV)
        ipc_q_remove(&t->ipc_ep->recvq, t);
    else if (t->ipc_state == IPC_REPLY)
        ipc_unlink_reply(t);
    else if (t->ipc_state == IPC_XFER)
        xfer_leave(t); /* killed while its partner copies strings */
    t->ipc_state = IPC_NONE;
    t->ipc_ep = NULL;
    t->ipc_result = -AL_ETIMEDOUT;
}

/* ipc_thread_dies with something to do (out of line: a thread that ends
 * normally owes no reply and copies no string) */
static __attribute__((noinline)) void thread_dies_ipc(struct thread *t)
{
    if (t->xfer)
        xfer_leave(t); /* it drove a string copy */
    /* a server that dies owes its caller a reply: cancel the call */
    if (t->reply_to) {
        struct thread *caller = t->reply_to;
        t->reply_to = NULL;
        caller->reply_server = NULL;
        if (caller->ipc_state == IPC_REPLY) {
            ipc_unlink_reply(caller);
            ipc_wake(caller, -AL_ECANCELED);
        }
    }
}

void ipc_thread_dies(struct thread *t)
{
    if ((uintptr_t)t->reply_to | (uintptr_t)t->xfer)
        thread_dies_ipc(t);
}

static void endpoint_ref(void *obj)
{
    ((struct endpoint *)obj)->refs++;
}

/* Endpoints live while a capability names them; the last deletion cancels
 * every waiter (-AL_ECANCELED) and frees the endpoint. */
const struct obj_ops endpoint_ops = {
    .name = "endpoint",
    .ref = endpoint_ref,
    .release = endpoint_release,
};

static void reply_describe(const struct cap *c, struct al_cap_info *info)
{
    info->id = ((const struct thread *)c->obj)->id;
}

/* A reply capability names a caller blocked for its reply and holds no
 * reference: it is one-shot (reply_gen) and its deletion cancels the call. */
const struct obj_ops reply_ops = {
    .name = "reply",
    .release = reply_release,
    .describe = reply_describe,
};
