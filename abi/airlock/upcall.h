/*
 * Upcalls: interrupts delivered into a running driver thread (docs/ABI.md,
 * section 5.15; docs/ARCHITECTURE.md, section 11.11).
 *
 * A thread registers an entry point and an interrupt stack
 * (upcall_register); IRQ objects bound to it in upcall mode
 * (irq_bind_upcall, each with a bit 0..63 of the driver's choice) then
 * interrupt it instead of sending messages: the kernel saves where the
 * thread was (RIP, RSP, RFLAGS) in the thread's state area, clears the
 * virtual interrupt flag and resumes the thread at its entry point on the
 * interrupt stack. Every other register still holds the interrupted
 * code's value there. The handler returns with upcall_return, which
 * restores the saved context, every register, at once, or enters the
 * handler again if more interrupts are pending.
 *
 * The state area lives in the thread's own UTCB page, at AL_UPCALL_OFFSET
 * (%fs:AL_UPCALL_OFFSET in the thread): memory the kernel allocated, that
 * is always mapped and writable, and that the kernel reaches through its
 * own mapping of the frame. No other address is ever named, so no
 * registration can point the kernel at memory the thread cannot write.
 *
 * Kernel and thread write the area concurrently: the kernel adds to
 * count[b] and sets pending bit b with atomic instructions; the handler
 * takes them with atomic exchanges (al_upcall_take in user/lib).
 */
#ifndef AIRLOCK_ABI_UPCALL_H
#define AIRLOCK_ABI_UPCALL_H

#define AL_UPCALL_OFFSET 2048 /* the state area's place in the UTCB page */
#define AL_UPCALL_BITS   64

/* how the current handler entry was made (state->path) */
#define AL_UPCALL_PATH_KERNEL     1 /* the kernel's C code (any CPU, any state of the thread) */
#define AL_UPCALL_PATH_TRAMPOLINE 2 /* the trampoline, without entering the kernel */
#define AL_UPCALL_PATH_AGAIN      3 /* upcall_return found more pending */
#define AL_UPCALL_PATH_DIRECT     4 /* a direct ring-3 gate (set by the entry code: the kernel never ran) */

/* upcall_register flags */
#define AL_UPCALL_ENABLE 1 /* start with the virtual interrupt flag set */

/* upcall_return flags */
#define AL_UPCALL_POLL 1 /* not from a handler: enter it now if vif is set and interrupts are pending */

/* irq_info: deliveries by path (paths[]) */
#define AL_IRQ_PATH_IPC        0 /* a message */
#define AL_IRQ_PATH_UPCALL     1 /* an upcall made by the kernel's C code */
#define AL_IRQ_PATH_TRAMPOLINE 2 /* counted by the trampoline's fast path */
#define AL_IRQ_PATH_DIRECT     3 /* a ring-3 IDT gate: handler runs (counted at their return) */
#define AL_IRQ_PATHS           4

#ifndef __ASSEMBLER__
/* the interrupted context: RIP, RSP and RFLAGS written by whoever delivered
 * the upcall, the general registers by the handler's entry code (the
 * kernel never sees them at a delivery from the trampoline) */
struct al_upcall_regs { /* (the order of the AL_FR_* words from rip on: one check for both) */
    unsigned long rip, rsp, rflags;
    unsigned long rax, rbx, rcx, rdx, rsi, rdi, rbp;
    unsigned long r8, r9, r10, r11, r12, r13, r14, r15;
};

struct al_upcall_state {
    /* 1: upcalls may be delivered. The kernel clears it when it enters the
     * handler; upcall_return sets it when it restores the context. The
     * thread may set it itself (then it checks `pending` and calls
     * upcall_return(AL_UPCALL_POLL) if any is set). */
    volatile unsigned long vif;
    volatile unsigned long pending; /* bit b: count[b] has arrivals not yet taken */
    /* 0 at a fresh entry: the general registers still hold the interrupted
     * code's values, and the entry code stores them into saved and sets
     * this to 1. An entry made again by upcall_return finds 1 (saved is
     * complete; the registers are the handler's). */
    volatile unsigned long regs_saved;
    volatile unsigned long path;       /* AL_UPCALL_PATH_* of this entry */
    volatile unsigned long entries;    /* handler entries so far */
    volatile unsigned long arrived_at; /* TSC at the arrival of the interrupt that caused this entry (0: unknown) */
    unsigned long reserved[2];
    struct al_upcall_regs saved;
    volatile unsigned long count[AL_UPCALL_BITS]; /* arrivals per bit */
    /* the context a direct gate interrupted, written by the entry code
     * (al_upcall_direct_entry) from the registers and the CPU's frame;
     * upcall_direct_return restores it (apart from `saved`: a direct
     * entry may interrupt a handler the kernel entered) */
    struct al_upcall_regs direct_saved;
};
#endif
#endif
