#ifndef KERNEL_SYSTEM_H
#define KERNEL_SYSTEM_H
/* indices of the sigma0 and root modules; 1 if both are there */
int system_find(int *sigma0, int *root);
/* start sigma0 and root, wait for root; returns its exit status (-1 if it
 * failed to start or was killed) */
int system_start(int sigma0, int root, int ktap, unsigned ktap_first);
#endif
