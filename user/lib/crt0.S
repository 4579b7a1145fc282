/* Program entry: the SysV layout on the stack ([RSP] = argc, argv[] above
 * it, RSP 16-byte aligned; lib/argv.c builds it for the kernel's and the
 * root task's loaders) and RDI = 0. A non-zero RDI means RDI = argc and
 * RSI = argv instead (a program started by other means). */
    .text
    .globl _start
_start:
    xorl %ebp, %ebp
    testq %rdi, %rdi
    jnz .Largs_in_registers
    movq (%rsp), %rdi
    leaq 8(%rsp), %rsi
.Largs_in_registers:
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
