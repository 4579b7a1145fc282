#ifndef KERNEL_FAULT_H
#define KERNEL_FAULT_H
#include <stdint.h>
struct trap_frame;
struct thread;
/* The current thread took an exception in user mode (addr: CR2 for page
 * faults). If it has a fault handler, call it and wait for the answer:
 * returns 1 to resume (the frame may have been rewritten), 0 if the thread
 * must die (no handler, handler gone, or told to die). */
int fault_ipc(struct trap_frame *tf, uint64_t addr);
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
