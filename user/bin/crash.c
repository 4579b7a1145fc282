/* crash KIND: raise one exception in user mode; the kernel must terminate
 * this program with a report and carry on with the next one. */
#include "user/lib/airlock.h"
#include "lib/string.h"

int main(int argc, char **argv)
{
    const char *k = argc > 1 ? argv[1] : "null";
    volatile int zero = 0;
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
    if (!strcmp(k, "tf-syscall")) {
        /* single-step flag set across SYSCALL: FMASK clears TF in the kernel;
         * the #DB must come in user mode after SYSRET, never in the kernel */
        __asm__ volatile("movl $0, %%eax; pushfq; orq $0x100, (%%rsp); popfq; syscall; nop" ::
                             : "rax", "rcx", "r11", "memory");
    }
    if (!strcmp(k, "tf-int80")) {
        __asm__ volatile("movl $0, %%eax; pushfq; orq $0x100, (%%rsp); popfq; int $0x80; nop" ::: "rax", "memory");
    }
    if (!strcmp(k, "sysret-hole")) {
        /* jump to the last canonical user address: never mapped */
        ((void (*)(void))0x00007ffffffffffeULL)();
    }
    printf("crash: survived '%s'\n", k);
    return 1;
}
