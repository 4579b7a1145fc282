/*
 * Threads: the unit of execution. A user thread belongs to a task (address
 * space); kernel threads (idle, the boot loader thread) have task == NULL.
 *
 * Memory: a struct thread occupies one frame from the frame allocator (the
 * FPU save area lives in the same frame when it fits); its kernel stack is
 * a slot of the kernel-stack region with an unmapped guard below it. Both
 * are freed by whoever reaps the thread after it died (thread_join, or the
 * CPU that switched away from it), never by the thread itself.
 *
 * Locking: all thread state is protected by the big kernel lock, which is
 * held whenever kernel code runs with a thread context.
 */
#ifndef KERNEL_THREAD_H
#define KERNEL_THREAD_H
#include <stdint.h>
#include "abi/airlock/syscall.h"
#include <arch/trap.h>
#include "abi/airlock/ipc.h"
#include "abi/airlock/upcall.h"
#include "kernel/cap.h"

struct endpoint;
struct cap;
struct xfer;
struct irqobj;

enum thread_state { T_NEW, T_RUNNABLE, T_RUNNING, T_BLOCKED, T_SUSPENDED, T_DEAD };

/* how a thread ended */
enum thread_end { END_NONE, END_EXIT, END_FAULT, END_KILLED };
/* how a thread ended, as thread_join and task_wait report it */
static inline int thread_end_abi(enum thread_end e)
{
    return e == END_EXIT ? AL_THREAD_EXITED : e == END_KILLED ? AL_THREAD_KILLED : AL_THREAD_FAULTED;
}

#define PRIO_MAX      255 /* highest */
#define PRIO_DEFAULT  100
#define PRIO_USER_MAX 200 /* boot modules' tasks may use up to this */
#define SLICE_TICKS   2   /* round-robin time slice, in timer ticks */

struct task;

struct thread {
    uint64_t ksp;        /* saved kernel RSP while switched out */
    uint64_t kstack_top; /* trap frame ends here */
    int kstack_slot;     /* kernel-stack region slot, -1 once freed */
    struct task *task;   /* NULL for kernel threads */
    struct kmem *kmem;   /* pays for its frame and kernel stack (its task's budget; NULL: kernel) */
    uint64_t cr3;        /* the task's PML4, or the kernel's */
    enum thread_state state;
    unsigned id;
    int prio;     /* 0..255, higher runs first; -1: idle */
    int affinity; /* CPU index, or -1: any */
    unsigned cpu; /* CPU it runs / last ran / is queued on */
    int slice;    /* ticks left in the time slice */
    /* conditions that keep a thread off the IPC fast path, in one word so
     * the fast path tests them with one load */
    union {
        struct {
            uint16_t suspended; /* suspend requested: not schedulable */
            uint16_t sleeping;  /* on the sleep list (sleep or IPC timeout) */
            uint16_t kmsg;      /* in a fault IPC: messages go to and from kmsg_mr, not the UTCB */
            uint16_t killed;    /* thread_kill: ends at its next return to user mode */
        };
        uint64_t fast_blockers;
    };
    struct thread *rq_next, *rq_prev; /* run queue (per CPU, per priority) */
    struct thread *wait_next;         /* sleep list */
    uint64_t wake_at;                 /* sleep deadline, clock_ns() */
    struct thread *joiner;            /* thread blocked in thread_join on us */
    struct thread *task_next;         /* task's thread list */
    struct thread *all_next;          /* every thread object (thread_list) */
    enum thread_end end;
    long exit_status; /* END_EXIT: status; END_FAULT: vector */
    uint64_t fault_addr, fault_rip, fault_error;
    uint64_t cpu_ns; /* CPU time, sampled at timer ticks */
    unsigned long switches, migrations;
    void *fpu;     /* XSAVE/FXSAVE area, 64-byte aligned */
    unsigned refs; /* thread capabilities naming it */
    int freed;     /* released, kept only for its capabilities */
    /* UTCB: one user page, also reached by the kernel through the direct map */
    struct al_utcb *utcb; /* kernel view */
    uint64_t utcb_va;     /* user view (FS base) */
    int utcb_slot;
    /* IPC state (kernel/ipc.c) */
    int ipc_state;           /* enum ipc_state */
    uint32_t reply_gen;      /* caller: counts calls, makes reply caps one-shot */
    struct endpoint *ipc_ep; /* queued on this endpoint */
    struct thread *ipc_next, *ipc_prev;
    long ipc_result;             /* returned when woken */
    uint64_t ipc_tag, ipc_badge; /* a blocked sender's message */
    int ipc_call, ipc_grant;
    struct thread *reply_to;     /* server: the caller owed a reply */
    struct thread *reply_server; /* caller: the server that owes us */
    struct cap *reply_slot;      /* caller: a saved reply capability naming us */
    struct xfer *xfer;           /* a string transfer this thread takes part in (kernel/ipc_string.c) */
    /* faults at user level (kernel/fault.c) */
    uint64_t kmsg_tag;       /* the handler's reply tag */
    uint64_t fault_addr_ipc; /* where a reply's map item is placed */
    uint64_t kmsg_mr[AL_FR_COUNT];
    struct cap fault_handler; /* an endpoint capability held for the thread (type 0: none) */
    /* upcalls (kernel/vcpu.c): NULL upcall = not registered */
    struct al_upcall_state *upcall; /* kernel view of the state area in the UTCB */
    uint64_t upcall_entry, upcall_stack_lo, upcall_stack_top;
    int upcall_due;        /* an arrival since the last look: check at the next exit to user mode */
    uint8_t upcall_irq[AL_UPCALL_BITS]; /* per bit: the IRQ object bound to it (kernel/irqobj.c), 0: none */
    /* an IRQ message received while blocked: its wait ends when this
     * thread's receive returns (kernel/irqobj.c): the object (NULL: none;
     * never dereferenced past a changed generation), its generation, the
     * arrival's TSC */
    struct irqobj *irq_wait;
    uint32_t irq_wait_gen;
    uint64_t irq_wait_at;
    char name[32];
};

#define THREAD_FPU_OFFSET 1024 /* the FPU area's place in the thread frame */

void thread_init_cpu(unsigned cpu); /* create the idle thread of a CPU */
/* The boot context becomes a kernel thread on a proper stack: call fn on it. */
_Noreturn void thread_boot(void (*fn)(void));
/* An AP enters its idle thread (BKL held). */
_Noreturn void thread_enter_idle(void);
/* A user thread of task t starting at rip with stack rsp and rdi/rsi args.
 * Not yet runnable: thread_start() it. NULL when out of memory. */
/* NULL with *err = -AL_EDQUOT (t's budget: the thread's frame, kernel
 * stack and UTCB page) or -AL_ENOMEM */
struct thread *thread_create_user(struct task *t, uint64_t rip, uint64_t rsp, uint64_t rdi, uint64_t rsi, long *err);
struct thread *thread_create_kernel(void (*fn)(void *), void *arg, const char *name);
void thread_start(struct thread *t);
/* Wait until t is dead, then free it. Returns how it ended. */
enum thread_end thread_join(struct thread *t, long *status);
/* End t (END_KILLED) without running any more of its user code: a thread
 * blocked in IPC or asleep is taken off its queues and made runnable, a
 * suspended one too, and each ends when it is next switched in
 * (sched_switch_tail, while SWITCH_KILL is set); a running one is stopped
 * as a suspension stops it and ends in schedule(). A thread blocked in
 * thread_join or task_wait ends once what it waits for has ended (killing
 * a whole task: its own threads do). BKL held. */
void thread_kill(struct thread *t);
/* the current thread ends here if it was killed (returns otherwise) */
void thread_kill_point(void);
/* Free a dead thread nobody will join (task teardown). The object itself
 * stays while thread capabilities name it (t->freed), see thread_put. */
void thread_free(struct thread *t);
_Noreturn void thread_exit(long status);
/* Terminate the current user thread for an exception it caused, with a
 * one-line report. fault_addr: CR2 for #PF, else 0. */
_Noreturn void thread_fault(struct trap_frame *tf, uint64_t fault_addr);
/* The thread's user trap frame */
struct trap_frame *thread_frame(struct thread *t);
struct thread *thread_by_id(struct task *t, unsigned id);
void thread_suspend(struct thread *t);
void thread_resume(struct thread *t);

/* thread_create / thread_create_in: all argument checks, then a started
 * thread; returns its id or -AL_Exxx (kernel/sys_thread.c) */
long thread_spawn_checked(struct task *t, uint64_t entry, uint64_t stack, uint64_t arg, uint64_t prio, uint64_t cpu);

/* scheduler (kernel/sched.c); BKL held for all of these */
void sched_enqueue(struct thread *t);                /* make runnable (wakes a CPU) */
void sched_dequeue(struct thread *t);                /* remove a RUNNABLE thread */
void schedule(void);                                 /* switch to the best runnable thread */
long sched_yield(void);                              /* returns 0 */
void sched_tick(void);                               /* timer interrupt, this CPU */
void sched_sleep_until(uint64_t ns);                 /* block current until clock_ns() >= ns */
void sched_sleep_add(struct thread *t, uint64_t ns); /* arm a wake-up (IPC timeouts) */
void sched_sleep_cancel(struct thread *t);
void sched_set_prio(struct thread *t, int prio);
void sched_set_affinity(struct thread *t, int cpu);
void sched_kick(unsigned cpu); /* make a CPU reschedule soon */
void sched_switch_tail(void);  /* after every switch: reap */
void sched_idle_loop(void *arg); /* body of each CPU's idle thread */
/* free a dead thread's kernel stack (the CPU that switched away from it) */
void thread_release_stack(struct thread *t);

extern struct thread *all_threads;

/* accounting for leak tests */
unsigned long thread_live_count(void);
#endif
