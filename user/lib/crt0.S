/* User entry: the kernel starts a boot module with RDI = argc, RSI = argv
 * and RSP 16-byte aligned minus 8 (as after a call). */
    .text
    .globl _start
_start:
    xorl %ebp, %ebp
    call main
    movq %rax, %rdi
    call exit
    ud2
