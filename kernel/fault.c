/*
 * Faults at user level: exceptions (page faults included) of a thread that
 * has a fault handler become a call to that handler (abi/airlock/ipc.h).
 * The message is built by the kernel in the thread object (kmsg_mr), the
 * reply lands there too, so the thread's UTCB is never touched; a map item
 * in the reply is placed around the fault address. BKL held.
 */
#include <stddef.h>
#include "kernel/fault.h"
#include "kernel/upcall.h"
#include "kernel/ipc.h"
#include "kernel/cap.h"
#include "kernel/thread.h"
#include "kernel/task.h"
#include "kernel/cpu.h"
#include "abi/airlock/errno.h"
#include "abi/airlock/layout.h"
#include <arch/trap.h>
#include <arch/cpu.h>

/* the fault message: vector, error, address, then the registers */
void fault_fill(uint64_t *m, const struct trap_frame *tf, uint64_t addr)
{
    m[AL_FR_VECTOR] = (uint64_t)tf->vector;
    m[AL_FR_ERROR] = tf->error;
    m[AL_FR_ADDR] = addr;
    m[AL_FR_RIP] = tf->rip;
    m[AL_FR_RSP] = tf->rsp;
    m[AL_FR_RFLAGS] = tf->rflags;
    m[AL_FR_RAX] = tf->rax;
    m[AL_FR_RBX] = tf->rbx;
    m[AL_FR_RCX] = tf->rcx;
    m[AL_FR_RDX] = tf->rdx;
    m[AL_FR_RSI] = tf->rsi;
    m[AL_FR_RDI] = tf->rdi;
    m[AL_FR_RBP] = tf->rbp;
    m[AL_FR_R8] = tf->r8;
    m[AL_FR_R9] = tf->r9;
    m[AL_FR_R10] = tf->r10;
    m[AL_FR_R11] = tf->r11;
    m[AL_FR_R12] = tf->r12;
    m[AL_FR_R13] = tf->r13;
    m[AL_FR_R14] = tf->r14;
    m[AL_FR_R15] = tf->r15;
}

int fault_ipc(struct trap_frame *tf, uint64_t addr)
{
    struct thread *self = current();
    struct cap *h = &self->fault_handler;
    if (!self->task || h->type != AL_CAP_ENDPOINT)
        return 0;
    uint64_t *m = self->kmsg_mr;
    uint64_t label = tf->vector == VEC_PF ? AL_LABEL_PAGE_FAULT : AL_LABEL_EXCEPTION;
    self->kmsg = KMSG_OWN;
    self->fault_addr_ipc = addr;
    self->kmsg_tag = 0;
    uint64_t tag = AL_TAG(AL_FR_COUNT, 0, label);
    long r;
    if (fault_fast_call(self, h, tag, tf, addr)) {
        r = self->ipc_result; /* (the message went straight into the handler's UTCB) */
    } else {
        fault_fill(m, tf, addr);
        r = ipc_send(self, h->obj, tag, h->badge, 0, 1, AL_TIMEOUT_NEVER);
    }
    self->kmsg = 0;
    if (r)
        return 0; /* the handler went away: the thread dies */
    tag = self->kmsg_tag;
    if (AL_TAG_LABEL(tag) == AL_FAULT_KILL)
        return 0;
    if (AL_TAG_WORDS(tag) >= AL_FR_COUNT && !fault_set_regs(tf, &m[AL_FR_RIP]))
        return 0; /* not a context to resume: the thread dies */
    return 1;
}

long fault_string(struct thread *self, struct thread *t, uint64_t addr, uint64_t error, int64_t timeout)
{
    struct cap *h = &t->fault_handler;
    if (h->type != AL_CAP_ENDPOINT)
        return -AL_EFAULT;
    uint64_t *m = self->kmsg_mr;
    fault_fill(m, thread_frame(t), addr); /* the registers of its ipc call */
    m[AL_FR_VECTOR] = VEC_PF;
    m[AL_FR_ERROR] = error;
    self->kmsg = t == self ? KMSG_OWN : KMSG_PROXY;
    self->fault_addr_ipc = addr;
    self->kmsg_tag = 0;
    long r = ipc_send(self, h->obj, AL_TAG(AL_FR_COUNT, 0, AL_LABEL_PAGE_FAULT), h->badge, 0, 1, timeout);
    self->kmsg = 0;
    if (r == -AL_ETIMEDOUT)
        return -AL_ETIME;
    if (r || AL_TAG_LABEL(self->kmsg_tag) == AL_FAULT_KILL)
        return -AL_EFAULT;
    return 0; /* (register words in the reply are ignored: the thread is in ipc) */
}

/* the handler capability of thread t becomes a copy of the caller's
 * endpoint capability `slot` (SEND needed), or none (slot -1) */
long fault_set_handler(struct thread *t, int64_t slot)
{
    if (slot == -1) {
        cap_delete(&t->fault_handler);
        return 0;
    }
    /* the new handler is checked before the old one goes: a mistyped slot
     * must not leave the thread without its pager */
    long err = 0;
    struct cap *c = cap_lookup(current()->task, (uint64_t)slot, AL_CAP_ENDPOINT, AL_R_SEND, &err);
    if (!c)
        return err;
    /* (c lies in a capability space; nothing is derived from a thread's
     * handler capability, so deleting it cannot touch c) */
    cap_delete(&t->fault_handler);
    return cap_derive(c, &t->fault_handler, AL_R_SEND, 0);
}
