/*
 * Device memory by capability (kernel/iomem.c; docs/ABI.md, section 5.13).
 * Locking: the big kernel lock, interrupts off.
 */
#ifndef KERNEL_IOMEM_H
#define KERNEL_IOMEM_H
struct task;
/* system start: the root task's capability for all physical addresses
 * below AL_IOMEM_LIMIT (AL_SLOT_IOMEM, rights CONTROL) */
void iomem_grant_root(struct task *root);
#endif
