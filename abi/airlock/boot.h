/*
 * System start (docs/ABI.md, "System start"). The kernel starts two tasks:
 *   sigma0  owns all user memory: every free frame the kernel does not keep
 *           for itself is mapped in sigma0 at AL_SIGMA0_BASE + physical
 *           address (mapping-database roots). Its memory ranges are described
 *           at AL_BOOTINFO. Device memory is not sigma0's: it goes by
 *           capability (AL_CAP_IOMEM, root's slot AL_SLOT_IOMEM).
 *   root    gets the other boot modules (mapped read-only at AL_MODULES),
 *           their list at AL_BOOTINFO, a capability to sigma0 and the boot
 *           endpoint; it loads the modules into new tasks and starts them.
 * Boot modules are recognised by name: the module whose file name starts
 * with "sigma0" and the one starting with "root".
 */
#ifndef AIRLOCK_ABI_BOOT_H
#define AIRLOCK_ABI_BOOT_H

#define AL_SLOT_SIGMA0 2 /* sigma0's endpoint: RECV in sigma0, SEND elsewhere */
/* root only: an ioport capability for all ports [0, 65536), rights CONTROL;
 * the ports the kernel keeps are never permitted through it (docs/ABI.md) */
#define AL_SLOT_IOPORTS 3
/* a module given a second I/O-port range (the root task's ports=A:N,B:M): it */
#define AL_SLOT_IOPORTS2 6
/* root only: the IRQ-control capability (AL_CAP_IRQ_CONTROL, rights CONTROL):
 * irq_create makes IRQ objects from it (docs/ABI.md, section 5.12) */
#define AL_SLOT_IRQ_CONTROL 4
/* root only: a device-memory capability for all physical addresses
 * [0, AL_IOMEM_LIMIT), rights CONTROL; only device pages can be mapped
 * through it (docs/ABI.md, section 5.13) */
#define AL_SLOT_IOMEM 5
/* The slots of the system's services sit at the top of the capability
 * space, away from the low slots programs pick for their own objects (a
 * program started from the shell holds AL_SLOT_CONSOLE). */
/* a server's receive endpoint (module word serve=NAME, user/bin/root.c) */
#define AL_SLOT_SERVICE 250
/* a driver's send capability to the PCI server, badged with its device
 * (module word pci=VVVV:DDDD[:N]; the protocol: user/lib/pci.h) */
#define AL_SLOT_PCI 251
/* send capabilities to the system's servers (module word use=NAME,...;
 * a server is started with serve=NAME and receives in AL_SLOT_SERVICE):
 * the UART driver (user/lib/uart.h), the keyboard driver (user/lib/kbd.h),
 * the console server (user/lib/console.h), init, the root task
 * (user/lib/init.h) */
#define AL_SLOT_UART    252
#define AL_SLOT_KBD     253
#define AL_SLOT_CONSOLE 254
#define AL_SLOT_INIT    255

#define AL_BOOT_MAGIC    0x41697242ULL /* "BriA" */
#define AL_BOOT_MAX_MODS 32
#define AL_BOOT_CMDLINE  160

struct al_boot_module {
    unsigned long va; /* the image, read-only, in the root task */
    unsigned long size;
    char cmdline[AL_BOOT_CMDLINE];
};

/* at AL_BOOTINFO in the root task (two pages, read-only) */
struct al_bootinfo {
    unsigned long magic;
    unsigned long nmods;
    unsigned long ktap;       /* the kernel runs its tests in KTAP: report modules too */
    unsigned long ktap_first; /* number of the first module's KTAP line */
    unsigned long ncpus;
    struct al_boot_module mods[AL_BOOT_MAX_MODS];
};

/* at AL_BOOTINFO in sigma0 (one page, read-only): its physical memory */
#define AL_S0_MAX_RANGES 250
struct al_sigma0_info {
    unsigned long magic;
    unsigned long nranges;
    struct {
        unsigned long base, npages; /* physical; sigma0 maps it at AL_SIGMA0_BASE + base */
    } range[AL_S0_MAX_RANGES];
};

/* the sigma0 protocol: label of the request; replies have label 0 on
 * success, else 1 with -AL_Exxx in mr[0] */
#define AL_S0_ALLOC                                                                                                    \
    1                  /* mr[0] = order (12..22), mr[1] = rights; reply: a map item into the                           \
                          caller's rcv_window, mr[0] = allocation id */
#define AL_S0_FREE   2 /* mr[0] = allocation id: revoked everywhere and reused */
/* label 3 (device memory) is retired: device memory goes by capability */
#define AL_S0_INFO   4 /* reply: mr[0] = free pages, mr[1] = pages owned */
#define AL_S0_RECLAIM                                                                                                  \
    5 /* mr[0] = a client's badge: everything it still holds comes back; accepted only                                 \
         from sigma0's unbadged capability (the root task) */
#endif
