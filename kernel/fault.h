#ifndef KERNEL_FAULT_H
#define KERNEL_FAULT_H
#include <stdint.h>
#include <arch/trap.h>
#include <arch/cpu.h>
#include "abi/airlock/ipc.h"
#include "abi/airlock/layout.h"
struct trap_frame;
struct thread;
/* The current thread took an exception in user mode (addr: CR2 for page
 * faults). If it has a fault handler, call it and wait for the answer:
 * returns 1 to resume (the frame may have been rewritten), 0 if the thread
 * must die (no handler, handler gone, or told to die). */
int fault_ipc(struct trap_frame *tf, uint64_t addr);
/* a user context from words r[0..] in the order of the fault message's
 * words from AL_FR_RIP on (rip, rsp, rflags, rax, ... r15; also struct
 * al_upcall_regs) into tf: RIP must be a user address and RSP canonical
 * user (else 0, tf untouched); RFLAGS keeps only the arithmetic flags, TF
 * and DF. Returns 1 when done. */
#define FAULT_RFLAGS_USER 0xdd5ULL /* CF PF AF ZF SF TF DF OF */
static inline int fault_set_regs(struct trap_frame *tf, const uint64_t *r)
{
    uint64_t rip = r[AL_FR_RIP - AL_FR_RIP], rsp = r[AL_FR_RSP - AL_FR_RIP];
    if (rip < AL_USER_LO || rip >= AL_USER_HI)
        return 0; /* not a place to resume at */
    if (rsp >= 0x0000800000000000ULL)
        return 0; /* IRET must never see a kernel or non-canonical stack */
#define R(name) r[AL_FR_##name - AL_FR_RIP]
    tf->rip = rip;
    tf->rsp = rsp;
    tf->rflags = (R(RFLAGS) & FAULT_RFLAGS_USER) | RFLAGS_IF | 2;
    tf->rax = R(RAX);
    tf->rbx = R(RBX);
    tf->rcx = R(RCX);
    tf->rdx = R(RDX);
    tf->rsi = R(RSI);
    tf->rdi = R(RDI);
    tf->rbp = R(RBP);
    tf->r8 = R(R8);
    tf->r9 = R(R9);
    tf->r10 = R(R10);
    tf->r11 = R(R11);
    tf->r12 = R(R12);
    tf->r13 = R(R13);
    tf->r14 = R(R14);
    tf->r15 = R(R15);
#undef R
    return 1;
}
long fault_set_handler(struct thread *t, int64_t slot);
/* write the AL_FR_COUNT words of a fault message for frame tf */
void fault_fill(uint64_t *m, const struct trap_frame *tf, uint64_t addr);
/* The kernel's string copy (kernel/ipc_string.c), run by thread self,
 * found page `addr` of thread t's task missing (t: self or its partner):
 * a page-fault message (error: the x86 error bits and AL_PF_STRING) to
 * t's handler on t's behalf (t's registers and badge; a map item in the
 * answer lands in t's task), self waiting for the answer in t's place, at
 * most `timeout` ns (AL_TIMEOUT_NEVER: no limit). 0 when the handler
 * answered (look again), -AL_ETIME when it did not in time, -AL_EFAULT
 * when there is none, it refused (AL_FAULT_KILL) or it went away. */
long fault_string(struct thread *self, struct thread *t, uint64_t addr, uint64_t error, int64_t timeout);
/* thread->kmsg: in a fault message of its own, or in one it waits for in
 * its string-copy partner's place */
#define KMSG_OWN   1
#define KMSG_PROXY 2
#endif
