/* crash KIND: raise one exception in user mode; the kernel must terminate
 * this program with a report and carry on with the next one.
 * crash tf-many N [M]: N threads, one after the other and spread over the
 * CPUs, each single-stepping across a system call (the single-step kinds
 * below in turn); each must end with #DB (vector 1) and the system must
 * stay up. With M, it goes on (up to 50 N threads) until the kernel has
 * counted M more NMIs: the nmi suite injects them meanwhile. KTAP. */
#include "user/lib/airlock.h"
#include "lib/string.h"

#define TF 0x100

/* TF set by POPF traps after the instruction that follows it; the user's
 * TF is in R11 across SYSCALL and in the frame across INT, so whatever the
 * kernel does with a #DB that reaches it, the step traps again in user mode
 * after the return: each of these ends with #DB (vector 1), never returns */
static void step_kind(const char *k)
{
    if (!strcmp(k, "tf-syscall")) {
        /* single-step flag set across SYSCALL: FMASK clears TF in the kernel;
         * the #DB must come in user mode after SYSRET (on hardware, which
         * steps SYSCALL on the masked TF) or be dismissed in the kernel
         * first (an emulator that steps it on the old TF) */
        __asm__ volatile("movl $0, %%eax; pushfq; orq %0, (%%rsp); popfq; syscall; nop" ::"i"(TF)
                         : "rax", "rcx", "r11", "memory");
    }
    if (!strcmp(k, "tf-int80")) {
        __asm__ volatile("movl $0, %%eax; pushfq; orq %0, (%%rsp); popfq; int $0x80; nop" ::"i"(TF)
                         : "rax", "memory");
    }
    if (!strcmp(k, "movss-syscall")) {
        /* the step of the MOV SS is delayed past the next instruction: on
         * hardware the #DB arrives at CPL 0 on the first instruction of the
         * SYSCALL entry (user GS, user CR3, user RSP): IST, dismissed */
        __asm__ volatile("movl $0, %%eax; movw %%ss, %%dx; pushfq; orq %0, (%%rsp); popfq;"
                         "movw %%dx, %%ss; syscall; nop" ::"i"(TF)
                         : "rax", "rcx", "rdx", "r11", "memory");
    }
    if (!strcmp(k, "movss-int80")) {
        /* the same across INT $0x80 (POP SS, CVE-2018-8897's other half, is
         * #UD in 64-bit mode: MOV SS is the only way there); the #DB lands on
         * the vector stub, on the entry stack */
        __asm__ volatile("movl $0, %%eax; movw %%ss, %%dx; pushfq; orq %0, (%%rsp); popfq;"
                         "movw %%dx, %%ss; int $0x80; nop" ::"i"(TF)
                         : "rax", "rdx", "memory");
    }
}

static const char *const step_kinds[] = {"tf-syscall", "movss-syscall", "tf-int80", "movss-int80"};
#define NKINDS (sizeof step_kinds / sizeof step_kinds[0])

static long stepper(void *arg)
{
    step_kind(step_kinds[(unsigned long)arg % NKINDS]);
    return 0; /* not reached: the #DB ends the thread */
}

static char stack[16384] __attribute__((aligned(16)));

static int tf_many(long n, long want_nmis)
{
    struct al_stats st;
    long ended_db = 0, rounds = 0, other = 0, cpus = ncpus();
    unsigned long nmi0 = al_stats(&st, sizeof st) == (long)sizeof st ? st.nmis : 0, nmis = nmi0;
    ktap_plan(2);
    for (; rounds < n || (want_nmis > 0 && (long)(nmis - nmi0) < want_nmis && rounds < 50 * n); rounds++) {
        long tid = thread_spawn(stepper, (void *)rounds, stack, sizeof stack, 100, rounds % cpus);
        long status = -1, how = tid > 0 ? al_thread_join(tid, &status) : tid;
        if (how == AL_THREAD_FAULTED && status == 1)
            ended_db++;
        else if (other++ < 5)
            printf("crash: thread %ld (%s) ended with %ld, status %ld\n", rounds,
                   step_kinds[rounds % NKINDS], how, status);
        if (al_stats(&st, sizeof st) == (long)sizeof st)
            nmis = st.nmis;
    }
    ktap_result(ended_db == rounds, "%ld of %ld single-stepping threads ended with #DB (vector 1)", ended_db, rounds);
    ktap_result((long)(nmis - nmi0) >= want_nmis, "%lu NMIs meanwhile (wanted %ld)", nmis - nmi0, want_nmis);
    return ktap_failures();
}

int main(int argc, char **argv)
{
    const char *k = argc > 1 ? argv[1] : "null";
    volatile int zero = 0;
    int ok;
    if (!strcmp(k, "tf-many"))
        return tf_many(argc > 2 ? strtol_simple(argv[2], &ok) : 100, argc > 3 ? strtol_simple(argv[3], &ok) : 0);
    step_kind(k);
    if (!strcmp(k, "null"))
        return *(volatile int *)0; // cppcheck-suppress nullPointer ; deliberate
    if (!strcmp(k, "de"))
        return 10 / zero;
    if (!strcmp(k, "ud"))
        __asm__ volatile("ud2");
    if (!strcmp(k, "bp"))
        __asm__ volatile("int3");
    if (!strcmp(k, "gp-cli"))
        __asm__ volatile("cli");
    if (!strcmp(k, "gp-hlt"))
        __asm__ volatile("hlt");
    if (!strcmp(k, "gp-int"))
        __asm__ volatile("int $2"); /* NMI vector, DPL 0 */
    if (!strcmp(k, "gp-noncanon"))
        return *(volatile int *)0x8000000000000000ULL;
    if (!strcmp(k, "gp-cr3"))
        __asm__ volatile("mov %%cr3, %%rax" ::: "rax");
    if (!strcmp(k, "gp-wrmsr"))
        __asm__ volatile("wrmsr" ::"c"(0xC0000082), "a"(0), "d"(0));
    if (!strcmp(k, "io"))
        __asm__ volatile("outb %%al, $0x80" ::"a"(0));
    if (!strcmp(k, "stack")) {
        /* run off the bottom of the user stack */
        volatile char big[4096];
        big[0] = 1;
        return main(argc, argv) + big[0];
    }
    if (!strcmp(k, "sysret-hole")) {
        /* jump to the last canonical user address: never mapped */
        ((void (*)(void))0x00007ffffffffffeULL)();
    }
    printf("crash: survived '%s'\n", k);
    return 1;
}
