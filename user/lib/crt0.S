/* User entry: the kernel starts a boot module with RDI = argc, RSI = argv
 * and RSP 16-byte aligned (SysV process entry). */
    .text
    .globl _start
_start:
    xorl %ebp, %ebp
    andq $-16, %rsp
    call main
    movslq %eax, %rdi                   /* int main() */
    call exit
    ud2

/* First code of a thread made by thread_spawn(): RDI -> {fn, arg} at the
 * top of its stack. Calls fn(arg) and exits the thread with its result. */
    .globl al_thread_shim
al_thread_shim:
    xorl %ebp, %ebp
    andq $-16, %rsp
    movq (%rdi), %rax
    movq 8(%rdi), %rdi
    call *%rax
    movq %rax, %rdi
    call exit
    ud2
