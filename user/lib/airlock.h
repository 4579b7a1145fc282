/*
 * The Airlock user runtime: system call stubs (generated from the one list,
 * abi/airlock/syscalls.def), console output and a few helpers.
 */
#ifndef USER_AIRLOCK_H
#define USER_AIRLOCK_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include "abi/airlock/syscall.h"
#include "abi/airlock/errno.h"
#include "abi/airlock/layout.h"
#include "abi/airlock/ipc.h"

/* raw SYSCALL with up to six arguments; see abi/airlock/syscall.h */
static inline long al_syscall6(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
    register long r10 __asm__("r10") = a3;
    register long r8 __asm__("r8") = a4;
    register long r9 __asm__("r9") = a5;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret), "+D"(a0), "+S"(a1), "+d"(a2), "+r"(r10), "+r"(r8), "+r"(r9)
                     : "a"(nr)
                     : "rcx", "r11", "memory");
    return ret;
}
/* no arguments: only RAX is loaded (RDI..R9 come back unchanged) */
static inline long al_syscall0(long nr)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr) : "rcx", "r11", "memory");
    return ret;
}
/* the same through `int $0x80` (for comparison and tests) */
static inline long al_int80_6(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
    register long r10 __asm__("r10") = a3;
    register long r8 __asm__("r8") = a4;
    register long r9 __asm__("r9") = a5;
    long ret;
    __asm__ volatile("int $0x80"
                     : "=a"(ret), "+D"(a0), "+S"(a1), "+d"(a2), "+r"(r10), "+r"(r8), "+r"(r9)
                     : "a"(nr)
                     : "memory");
    return ret;
}

#define AL_ARGS_0()
#define AL_ARGS_1(a)                (long)(a)
#define AL_ARGS_2(a, b)             (long)(a), (long)(b)
#define AL_ARGS_3(a, b, c)          (long)(a), (long)(b), (long)(c)
#define AL_ARGS_4(a, b, c, d)       (long)(a), (long)(b), (long)(c), (long)(d)
#define AL_ARGS_5(a, b, c, d, e)    (long)(a), (long)(b), (long)(c), (long)(d), (long)(e)
#define AL_ARGS_6(a, b, c, d, e, f) (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f)
#define AL_PAD_0                    0, 0, 0, 0, 0, 0
#define AL_PAD_1                    0, 0, 0, 0, 0
#define AL_PAD_2                    0, 0, 0, 0
#define AL_PAD_3                    0, 0, 0
#define AL_PAD_4                    0, 0
#define AL_PAD_5                    0
#define AL_PAD_6

struct al_stats;
struct al_thread_info;
struct al_cpu_info;
struct al_cap_info;
struct al_irq_msi;
#define AL_STUB_0(nr, args)        al_syscall0(nr)
#define AL_STUB_N(nr, nargs, args) al_syscall6(nr, AL_ARGS_##nargs args AL_COMMA_##nargs AL_PAD_##nargs)
#define AL_STUB_1(nr, args)        AL_STUB_N(nr, 1, args)
#define AL_STUB_2(nr, args)        AL_STUB_N(nr, 2, args)
#define AL_STUB_3(nr, args)        AL_STUB_N(nr, 3, args)
#define AL_STUB_4(nr, args)        AL_STUB_N(nr, 4, args)
#define AL_STUB_5(nr, args)        AL_STUB_N(nr, 5, args)
#define AL_STUB_6(nr, args)        AL_STUB_N(nr, 6, args)
#define SYSCALL(nr, name, nargs, params, args)                                                                         \
    static inline long al_##name params                                                                                \
    {                                                                                                                  \
        return AL_STUB_##nargs(nr, args);                                                                              \
    }
#define AL_COMMA_0
#define AL_COMMA_1 ,
#define AL_COMMA_2 ,
#define AL_COMMA_3 ,
#define AL_COMMA_4 ,
#define AL_COMMA_5 ,
#define AL_COMMA_6
#include "abi/airlock/syscalls.def"
#undef SYSCALL

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
int puts(const char *s);
/* printf's output goes to the console server when the task holds a send
 * capability in AL_SLOT_CONSOLE (user/lib/libc.c), else to the kernel's log
 * (debug_write); console_output(0) sends it to the log whatever the task
 * holds, console_output(1) undoes that */
void console_output(int on);
long strtol_simple(const char *s, int *ok);
unsigned long strtoul_hex(const char *s, int *ok);
_Noreturn void exit(long status);

/* Start fn(arg) in a new thread of this task on [stack, stack+size) with
 * priority prio on CPU cpu (-1: any). Returns the thread id or -AL_Exxx.
 * The thread ends with fn's return value as its exit status. */
long thread_spawn(long (*fn)(void *), void *arg, void *stack, unsigned long size, long prio, long cpu);
/* number of online CPUs */
int ncpus(void);
/* Region markers for the instrument outside the guest
 * (tools/qemu-plugin/counters.c): a long NOP to the CPU, whose displacement
 * names the region (id: a literal below 0x10000). Under `make bench` and
 * the budget check, QEMU's plugin counts CR3 writes, INVLPG/INVPCID,
 * XSAVE/XRSTOR, WRMSR and REP iterations between BEGIN and END and prints
 * them; the runner checks the kernel's own counters against them. */
#define BENCH_REGION_BEGIN(id)                                                                                         \
    __asm__ volatile(".byte 0x66, 0x0f, 0x1f, 0x84, 0x00\n\t.long 0x41520000 + " #id ::: "memory")
#define BENCH_REGION_END(id)                                                                                           \
    __asm__ volatile(".byte 0x66, 0x0f, 0x1f, 0x84, 0x00\n\t.long 0x41530000 + " #id ::: "memory")

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* this thread's UTCB (message registers) */
static inline struct al_utcb *al_utcb(void)
{
    struct al_utcb *u;
    __asm__ volatile("movq %%fs:0, %0" : "=r"(u));
    return u;
}

/* upcalls (user/lib/vcpu.c, user/lib/upcall.S; abi/airlock/upcall.h) */
typedef void al_upcall_fn_t(struct al_upcall_state *st);
extern al_upcall_fn_t *al_upcall_fn; /* what al_upcall_entry calls (one per program) */
void al_upcall_entry(void);
/* register the calling thread: fn runs on [stack, stack + size) with vif
 * clear whenever an upcall comes; flags: AL_UPCALL_ENABLE */
long al_upcall_setup(al_upcall_fn_t *fn, void *stack, unsigned long size, long flags);
/* a direct gate (the calling thread, pinned to the CPU the interrupt goes
 * to, registered): irq's arrivals run fn straight from the CPU, counted
 * under bit, on [stack, stack + size) while the thread runs there */
void al_upcall_direct_entry(void);
extern unsigned long al_upcall_direct_bit;
long al_upcall_direct(long irq, unsigned long bit, void *stack, unsigned long size);
/* this thread's state area */
static inline struct al_upcall_state *al_upcall_state(void)
{
    return (struct al_upcall_state *)((char *)al_utcb() + AL_UPCALL_OFFSET);
}
/* take bit b's arrivals: how many there were since the last take (0 is
 * possible: a take may have had them already) */
static inline unsigned long al_upcall_take(struct al_upcall_state *st, unsigned b)
{
    __atomic_fetch_and(&st->pending, ~(1UL << b), __ATOMIC_SEQ_CST); /* first: an arrival after it sets it again */
    return __atomic_exchange_n(&st->count[b], 0UL, __ATOMIC_SEQ_CST);
}
/* set vif (outside a handler); what is pending already is entered now */
static inline void al_upcall_enable(struct al_upcall_state *st)
{
    __atomic_store_n(&st->vif, 1UL, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&st->pending, __ATOMIC_SEQ_CST))
        al_upcall_return(AL_UPCALL_POLL);
}
static inline void al_upcall_disable(struct al_upcall_state *st)
{
    __atomic_store_n(&st->vif, 0UL, __ATOMIC_SEQ_CST);
}

/* memory from sigma0 (user/lib/mem.c): a naturally aligned block of 2^order
 * bytes mapped at va with rights (AL_MAP_*); returns an allocation id */
long mem_alloc(void *va, unsigned order, int rights);
long mem_free(long id);                                      /* revoked everywhere, back to sigma0 */
long mem_info(unsigned long *free_pages, unsigned long *total_pages);
long mem_reclaim(unsigned long badge); /* root task: a dead client's memory back to sigma0 */

/* KTAP helpers for user test programs: output is indented as a subtest of
 * the module's own KTAP line. */
void ktap_plan(int n);
void ktap_result(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ktap_failures(void);
#endif
