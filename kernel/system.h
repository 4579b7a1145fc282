#ifndef KERNEL_SYSTEM_H
#define KERNEL_SYSTEM_H
#include <stdint.h>
/* the boot CPU's first C code (kernel/main.c), called by arch/x86_64/boot.S
 * with the boot loader's magic number and boot-information address */
_Noreturn void kmain(uint32_t magic, uint64_t info_phys);
/* indices of the sigma0 and root modules; 1 if both are there */
int system_find(int *sigma0, int *root);
/* start sigma0 and root, wait for root; returns its exit status (-1 if it
 * failed to start or was killed) */
int system_start(int sigma0, int root, int ktap, unsigned ktap_first);
#endif
