#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H
struct trap_frame;

/* Print a banner, the message, this CPU's registers and a symbolized
 * backtrace, stop the machine (QEMU: exit through isa-debug-exit). */
_Noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, for a fatal trap: adds vector, error code, CR2 and the frame. */
_Noreturn void panic_trap(const struct trap_frame *tf, const char *what);
int panic_in_progress(void);
_Noreturn void assert_fail(const char *expr, const char *file, int line, const char *func);

#define assert(e) ((e) ? (void)0 : assert_fail(#e, __FILE__, __LINE__, __func__))
/* a contract of a hot path: checked in DEBUG builds only */
#ifdef DEBUG
#define debug_assert(e) assert(e)
#else
#define debug_assert(e) ((void)0)
#endif

/* symbolize: name of the function containing addr and the offset in it */
const char *ksym_lookup(unsigned long addr, unsigned long *offset);
void backtrace_from(unsigned long rbp, unsigned long rip);
#endif
