/* User entry: the kernel starts a boot module with RDI = argc, RSI = argv
 * and RSP 16-byte aligned (SysV process entry). */
    .text
    .globl _start
_start:
    xorl %ebp, %ebp
    andq $-16, %rsp
    call main
    movq %rax, %rdi
    call exit
    ud2
