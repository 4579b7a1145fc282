/*
 * Calls from architecture code up into generic kernel code.
 *
 * arch/$(ARCH)/ includes, of kernel/, only kernel/panic.h (panic, assert),
 * kernel/console.h (kprintf), kernel/frame.h (the frame allocator),
 * kernel/cpu.h (the per-CPU descriptor it fills in and reads) and this
 * header, which lists every other generic function it calls: the entry
 * points of the big kernel lock, the scheduler, threads and faults, and
 * the boot information and command line. tools/check-layout.sh enforces the list of
 * headers. The generic files that define these functions include this
 * header too, so a declaration here cannot drift from its definition.
 */
#ifndef KERNEL_UPCALL_H
#define KERNEL_UPCALL_H
#include <stdint.h>
#include <arch/percpu.h>

struct trap_frame;
struct thread;

/* the big kernel lock (kernel/bkl.c): trap_dispatch and AP start-up take
 * it, the SYSCALL path takes it in entry.S */
void bkl_lock(void);
void bkl_unlock(void);

/* the scheduler (kernel/sched.c), BKL held: the timer tick, a reschedule
 * before returning to user mode, the reap after a switch (switch.S) */
void sched_tick(void);
void schedule(void);
void sched_switch_tail(void);

/* threads (kernel/thread.c) */
void thread_init_cpu(unsigned cpu);  /* create CPU cpu's idle thread */
_Noreturn void thread_enter_idle(void); /* an AP becomes its idle thread (BKL held) */
_Noreturn void thread_exit(long status); /* a kernel thread's function returned */
uint64_t thread_kstack_top(const struct thread *t);
/* the current thread's kernel stack [lo, hi), 0 if it has none (boot) */
int thread_kstack_bounds(unsigned long *lo, unsigned long *hi);

/* an exception from user mode (kernel/fault.c, kernel/thread.c): to the
 * thread's fault handler (1: resume), else the thread ends */
int fault_ipc(struct trap_frame *tf, uint64_t addr);
_Noreturn void thread_fault(struct trap_frame *tf, uint64_t fault_addr);

/* on the way out to user mode with work pending in this CPU's entry area
 * (PENDING_RESCHED, PENDING_UPCALL; kernel/syscall.c): from the SYSCALL
 * exit path (entry.S), trap_dispatch and upcall_return, BKL held; tf is
 * the thread's user frame, which an upcall rewrites. Loops until nothing
 * is pending. */
void user_exit_work(struct trap_frame *tf);
/* the upcall step of it (kernel/vcpu.c) */
void vcpu_exit_work(struct trap_frame *tf);
/* the same from trap_dispatch, with the common cases (a reschedule only,
 * an upcall only) as short as a direct call */
static inline void user_exit_work_trap(struct trap_frame *tf)
{
    uint64_t p = arch_pending();
    if (p == PENDING_RESCHED) {
        arch_pending_clear(PENDING_RESCHED);
        schedule();
        if (!arch_pending())
            return;
    } else if (p == PENDING_UPCALL) { /* (an interrupt for the thread it interrupted) */
        arch_pending_clear(PENDING_UPCALL);
        vcpu_exit_work(tf);
        if (!arch_pending())
            return;
    }
    user_exit_work(tf);
}

/* a #GP from user mode (kernel/ioport.c): 1 if the current task has I/O
 * ports that this CPU's bitmap did not hold; they are loaded now and the
 * instruction is to be retried */
int ioport_fault(void);

/* a device interrupt arrived on vector (kernel/irq.c; the architecture's
 * dispatch of its device-vector range, BKL held): counted, a level line
 * masked, handed to the vector's IRQ object, acknowledged. 0 if no one allocated the vector: the caller
 * handles it as unexpected (counts it and acknowledges it). */
int irq_arrived(unsigned vector);

/* the ACPI RSDP the boot loader passed (Multiboot2), 0 if none
 * (kernel/bootinfo.c) */
int bootinfo_rsdp(uint8_t out[36]);
/* the kernel command line's options (kernel/bootinfo.c; bootinfo.h says
 * more): the CPU features the command line turns off (nopcid, pcids=N,
 * nox2apic; docs/ABI.md section 8) */
const char *bootinfo_arg(const char *key, char *buf, unsigned len);
int bootinfo_flag(const char *key);
#endif
