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
/* The kernel's string copy found page `addr` missing for thread self
 * (kernel/ipc_string.c): a page-fault message (error: the x86 error bits
 * and AL_PF_STRING) to self's handler on self's behalf, waiting at most
 * `timeout` ns (AL_TIMEOUT_NEVER: no limit). 0 when the handler answered
 * (look again), -AL_ETIME when it did not in time, -AL_EFAULT when there
 * is none, it refused (AL_FAULT_KILL) or it went away. */
long fault_string(struct thread *self, uint64_t addr, uint64_t error, int64_t timeout);
#endif
