/*
 * Child tasks that run code of this program's image (tests: kill, ioport,
 * strcopy). The child's threads may touch only what the parent maps for
 * them besides the text: no .rodata or .data (so no switch jump tables and
 * no constants the compiler places there; pass values in shared memory).
 */
#ifndef USER_LIB_CHILD_H
#define USER_LIB_CHILD_H

/* task_create into `slot`, then this image's text mapped read + execute at
 * the same addresses in it: 0, or the first error */
long child_task_create(long slot, const char *name);
#endif
