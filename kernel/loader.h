/*
 * Boot-module loader: validates an ELF64 image (kernel/elf.c), builds a
 * task for it (segments, a stack, argv), audits the address space and
 * creates its first thread (not yet started).
 */
#ifndef KERNEL_LOADER_H
#define KERNEL_LOADER_H
#include <stdint.h>
struct task;
struct thread;

#define LOADER_MAX_ARGS 16

/* the endpoint every boot module finds in slot AL_SLOT_BOOT_EP */
struct endpoint *boot_endpoint(void);

/* image: kernel pointer to the module bytes; cmdline: "path arg..." */
int loader_load(const void *image, uint64_t size, const char *cmdline, struct task **task, struct thread **thread,
                const char **why);
#endif
