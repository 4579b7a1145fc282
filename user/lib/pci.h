/*
 * The PCI server's protocol (user/bin/pci.c; docs/DRIVERS.md, section 4).
 *
 * The PCI server owns PCI configuration space (ports 0xcf8-0xcff), all
 * device memory and I/O ports, and the IRQ-control capability. A driver
 * reaches it through a send capability whose badge names the one device
 * it drives (the root task mints it from the module word pci=VVVV:DDDD[:N],
 * the N-th device with those IDs, in slot AL_SLOT_PCI); everything it asks
 * is about that device only:
 *
 *   PCI_INFO        -> mr[0..]: struct pci_info, PCI_INFO_WORDS words
 *   PCI_CFG_READ    mr[0] = offset, mr[1] = size (1, 2, 4; aligned)
 *                   -> mr[0] = value
 *   PCI_CFG_WRITE   mr[0] = offset, mr[1] = size, mr[2] = value; writes to
 *                   the BARs, the expansion ROM BAR and the MSI
 *                   capability are refused (the server owns them)
 *   PCI_BAR         mr[0] = BAR index -> a capability item: device memory
 *                   (AL_CAP_IOMEM) or I/O ports (AL_CAP_IOPORT) for exactly
 *                   that BAR, received in the caller's rcv_cap_slot
 *   PCI_IRQ         mr[0] = PCI_IRQ_MSI or PCI_IRQ_INTX -> a capability
 *                   item: an IRQ object (AL_CAP_IRQ) for the device's
 *                   interrupt, MSI (the server programs the device's MSI
 *                   capability and turns INTx off) or its INTx line (level,
 *                   shared with the other devices on the line; MSI off,
 *                   INTx on). Asking again replaces the previous object
 *                   (revoked: a restarted driver starts afresh).
 *
 * Replies: label 0 on success; label 1 with -AL_Exxx in mr[0] on failure
 * (EINVAL: bad label, offset, size or index; EPERM: a register the server
 * keeps; ENOENT: no such BAR, no MSI capability, no interrupt pin; EBADCAP:
 * the caller's badge names no device).
 */
#ifndef USER_LIB_PCI_H
#define USER_LIB_PCI_H

#include "abi/airlock/boot.h" /* AL_SLOT_PCI, AL_SLOT_SERVICE */

#define PCI_INFO      1
#define PCI_CFG_READ  2
#define PCI_CFG_WRITE 3
#define PCI_BAR       4
#define PCI_IRQ       5

#define PCI_IRQ_MSI  1
#define PCI_IRQ_INTX 2

/* badge of a driver's capability: device n (0, 1, ...) with these IDs */
#define PCI_BADGE(vendor, device, n) (1UL << 40 | (unsigned long)(n) << 32 | (unsigned long)(device) << 16 | (vendor))

#define PCI_BAR_MEM    1
#define PCI_BAR_IO     2
#define PCI_BAR_64     4 /* a 64-bit memory BAR (the next index is its upper half) */
#define PCI_BAR_PREFETCH 8

struct pci_info {
    unsigned long bdf;         /* bus << 8 | device << 3 | function */
    unsigned long vendor, device;
    unsigned long class_code;  /* class << 16 | subclass << 8 | prog-if */
    unsigned long revision;
    unsigned long irq_pin;     /* 1..4 = INTA..INTD, 0: none */
    unsigned long irq_line;    /* as the firmware routed it (ISA IRQ) */
    unsigned long msi;         /* offset of the MSI capability, 0: none */
    unsigned long bar_base[6], bar_size[6], bar_flags[6];
};
#define PCI_INFO_WORDS (sizeof(struct pci_info) / sizeof(unsigned long))

/* client side (user/lib/pci.c): 0 or -AL_Exxx */
long pci_info(struct pci_info *out);
long pci_cfg_read(unsigned off, unsigned size, unsigned *value);
long pci_cfg_write(unsigned off, unsigned size, unsigned value);
long pci_bar(unsigned index, long slot);
long pci_irq(unsigned kind, long slot);
#endif
