/* IPC system calls other than ipc itself (kernel/ipc_fast.c): endpoint_create
 * and reply_save. BKL held. */
#include "kernel/ipc_impl.h"
#include "kernel/syscall.h"
#include "kernel/cap.h"
#include "kernel/task.h"
#include "kernel/cpu.h"
#include "abi/airlock/errno.h"

SYSCALL_DEFINE(endpoint_create)
{
    long err = 0;
    struct cap *slot = cap_empty_slot(current()->task, a0, &err);
    if (!slot)
        return err;
    struct endpoint *ep = endpoint_create(current()->task->kmem, &err);
    if (!ep)
        return err;
    cap_install(slot, AL_CAP_ENDPOINT, AL_R_SEND | AL_R_RECV | AL_R_GRANT, ep, 0);
    return 0;
}

/* reply_save(slot): keep the pending reply to the last caller in a slot */
SYSCALL_DEFINE(reply_save)
{
    struct thread *self = current();
    long err = 0;
    struct cap *slot = cap_empty_slot(self->task, a0, &err);
    if (!slot)
        return err;
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
