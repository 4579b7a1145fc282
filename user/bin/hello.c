/* The first user program: greets through the debug_write system call. */
#include "user/lib/airlock.h"

int main(int argc, char **argv)
{
    printf("Hello from user mode! I am '%s' with %d argument(s):", argv[0], argc - 1);
    for (int i = 1; i < argc; i++)
        printf(" %s", argv[i]);
    printf("\n");
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    printf("hello: running in ring %d; the kernel is not mapped here\n", cs & 3);
    return 0;
}
