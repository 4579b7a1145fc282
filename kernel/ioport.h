/*
 * I/O-port capabilities and the port set of each task (kernel/ioport.c).
 *
 * A task may use the ports named by the ioport capabilities in its
 * capability space (the union of their ranges), minus the ports the kernel
 * keeps (arch_ioport_reserved). The set is kept as a permission bitmap
 * only while the task holds an ioport capability. A CPU's hardware bitmap
 * (<arch/ioport.h>) holds the set of one task, cpu->io_task, or none:
 * switches between tasks without ports never touch it (section "I/O
 * ports" of docs/ARCHITECTURE.md).
 *
 * Locking: the big kernel lock, interrupts off, for everything here.
 */
#ifndef KERNEL_IOPORT_H
#define KERNEL_IOPORT_H
#include <stdint.h>

struct task;
struct cpu;
struct cap;

/* the object every ioport capability names (the ports are in the slot) */
extern char ioport_space;

/* Capabilities were deleted: every CPU that holds the old set of a task
 * whose ports shrank gets the new one, and the CPUs that run such a task
 * have taken an interrupt (IPI, waited for) before this returns. Called
 * by cap_delete and cap_revoke after their deletions. */
void ioport_commit_slow(void);
extern struct task *ioport_dirty;
static inline void ioport_commit(void)
{
    if (ioport_dirty)
        ioport_commit_slow();
}

/* After a switch on a CPU whose bitmap holds a set (SWITCH_PORTS): load
 * the set of the current thread's task, or none (sched_switch_tail). */
void ioport_switch(struct cpu *c);
/* A task is being destroyed: it holds no capability any more; forget it. */
void ioport_task_gone(struct task *t);
/* system start: the root task's capability for all ports (AL_SLOT_IOPORTS) */
void ioport_grant_root(struct task *root);
#endif
