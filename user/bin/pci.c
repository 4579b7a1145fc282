/*
 * The PCI server (protocol: user/lib/pci.h; docs/DRIVERS.md, section 4).
 *
 * Started by the root task with serve=pci ports=all mem=all irqs=1
 * start=server. It enumerates configuration space through configuration
 * mechanism #1 (ports 0xcf8/0xcfc: every bus, device and function; Airlock
 * has no AML interpreter, and the ports reach every function QEMU and PC
 * firmware expose), sizes every BAR, finds each function's interrupt pin,
 * line and MSI capability, prints the list, and then serves drivers: each
 * driver's capability carries a badge naming exactly one device, and
 * everything it gets (configuration registers, BARs as capabilities, an
 * IRQ object) is that device's.
 *
 * The server keeps what it hands out in its own slots (a capability passed
 * in IPC is derived from the sender's: deleting ours revokes the
 * driver's): one per BAR, made the first time it is asked for, and one
 * IRQ object per device, replaced (the old one revoked) when asked again.
 *
 * Configuration registers the server owns are refused to drivers: the
 * BARs and the expansion ROM BAR (a driver moving its BAR could overlay
 * another device's or RAM) and the MSI capability (its address and data
 * select the CPU and vector: only the server, having made the IRQ object,
 * writes them). The command register is the driver's (decode enables, bus
 * master, INTx disable).
 *
 * INTx: the line is the one the firmware wrote into the interrupt line
 * register (the PC's PIRQ routing to ISA IRQs), created as an ISA line:
 * the kernel applies the MADT's override for it (QEMU: level,
 * active-high), and shared, since several functions may use one line.
 */
#include "user/lib/airlock.h"
#include "user/lib/pci.h"
#include "user/lib/portio.h"
#include "abi/airlock/boot.h"
#include "lib/string.h"
#include "lib/format.h"

#define MAX_DEVS  32
#define SLOT_BARS 16                      /* 16 + dev * 6 + bar: BAR capabilities */
#define SLOT_IRQS (SLOT_BARS + MAX_DEVS * 6) /* + dev: IRQ objects */
_Static_assert(SLOT_IRQS + MAX_DEVS <= AL_CSPACE_SLOTS, "the server's slots fit");

#define CFG_ADDR 0xcf8
#define CFG_DATA 0xcfc

static struct dev {
    struct pci_info info;
    unsigned char bar_cap[6]; /* the BAR's capability is in our slot */
    unsigned char irq_cap;
} devs[MAX_DEVS];
static unsigned ndevs;

static unsigned addr(unsigned bdf, unsigned off)
{
    return 0x80000000u | bdf << 8 | (off & 0xfc);
}
static unsigned cfg_read32(unsigned bdf, unsigned off)
{
    outl(CFG_ADDR, addr(bdf, off));
    return inl(CFG_DATA);
}
static unsigned cfg_read(unsigned bdf, unsigned off, unsigned size)
{
    unsigned v = cfg_read32(bdf, off) >> (8 * (off & 3));
    return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}
static void cfg_write(unsigned bdf, unsigned off, unsigned size, unsigned v)
{
    outl(CFG_ADDR, addr(bdf, off));
    if (size == 4)
        outl(CFG_DATA, v);
    else if (size == 2)
        outw(CFG_DATA + (off & 2), (unsigned short)v);
    else
        outb(CFG_DATA + (off & 3), (unsigned char)v);
}

/* size the BARs of a function (decoding off meanwhile, as the spec asks) */
static void size_bars(struct dev *d)
{
    unsigned bdf = (unsigned)d->info.bdf, cmd = cfg_read(bdf, 0x04, 2);
    unsigned nbars = (cfg_read(bdf, 0x0e, 1) & 0x7f) == 0 ? 6 : 2; /* type 1 (bridges): two */
    cfg_write(bdf, 0x04, 2, cmd & ~3u);
    for (unsigned i = 0; i < nbars; i++) {
        unsigned off = 0x10 + 4 * i, orig = cfg_read32(bdf, off);
        cfg_write(bdf, off, 4, 0xffffffffu);
        unsigned mask = cfg_read32(bdf, off);
        cfg_write(bdf, off, 4, orig);
        if (!mask)
            continue; /* not implemented */
        if (orig & 1) { /* I/O */
            unsigned long size = (unsigned long)(~(mask & ~3u) & 0xffff) + 1;
            if (!(mask & ~3u))
                continue;
            d->info.bar_base[i] = orig & ~3u;
            d->info.bar_size[i] = size;
            d->info.bar_flags[i] = PCI_BAR_IO;
            continue;
        }
        unsigned long base = orig & ~0xfu, m = mask & ~0xfu;
        unsigned long flags = PCI_BAR_MEM | ((orig & 8) ? PCI_BAR_PREFETCH : 0);
        if (((orig >> 1) & 3) == 2 && i + 1 < nbars) { /* 64-bit: the upper half follows */
            unsigned hi = cfg_read32(bdf, off + 4);
            cfg_write(bdf, off + 4, 4, 0xffffffffu);
            unsigned mhi = cfg_read32(bdf, off + 4);
            cfg_write(bdf, off + 4, 4, hi);
            base |= (unsigned long)hi << 32;
            m |= (unsigned long)mhi << 32;
            flags |= PCI_BAR_64;
        } else {
            m |= 0xffffffff00000000UL;
        }
        if (!(m & ~0xfUL))
            continue;
        d->info.bar_base[i] = base;
        d->info.bar_size[i] = ~m + 1;
        d->info.bar_flags[i] = flags;
        if (flags & PCI_BAR_64)
            i++;
    }
    cfg_write(bdf, 0x04, 2, cmd);
}

static unsigned find_msi(unsigned bdf)
{
    if (!(cfg_read(bdf, 0x06, 2) & 0x10)) /* no capability list */
        return 0;
    unsigned off = cfg_read(bdf, 0x34, 1) & 0xfc;
    for (unsigned k = 0; off >= 0x40 && k < 48; k++) { /* bounded: a looping list is hostile */
        if (cfg_read(bdf, off, 1) == 0x05)
            return off;
        off = cfg_read(bdf, off + 1, 1) & 0xfc;
    }
    return 0;
}

static void add(unsigned bdf)
{
    if (ndevs == MAX_DEVS)
        return;
    struct dev *d = &devs[ndevs++];
    unsigned id = cfg_read32(bdf, 0), cls = cfg_read32(bdf, 0x08);
    d->info.bdf = bdf;
    d->info.vendor = id & 0xffff;
    d->info.device = id >> 16;
    d->info.class_code = cls >> 8;
    d->info.revision = cls & 0xff;
    d->info.irq_pin = cfg_read(bdf, 0x3d, 1);
    d->info.irq_line = cfg_read(bdf, 0x3c, 1);
    if (d->info.irq_pin > 4)
        d->info.irq_pin = 0; /* hostile or broken: no interrupt */
    d->info.msi = find_msi(bdf);
    size_bars(d);
    /* one line, one printf: lines of several tasks interleave per call */
    char line[320];
    unsigned n = (unsigned)fmt_snprintf(line, sizeof line, "pci: %02lx:%02lx.%lx %04lx:%04lx class %06lx",
                                        d->info.bdf >> 8, (d->info.bdf >> 3) & 31, d->info.bdf & 7, d->info.vendor,
                                        d->info.device, d->info.class_code);
    for (unsigned i = 0; i < 6; i++)
        if (d->info.bar_flags[i] && n < sizeof line)
            n += (unsigned)fmt_snprintf(line + n, sizeof line - n, " bar%u %s %#lx+%#lx", i,
                                        (d->info.bar_flags[i] & PCI_BAR_IO) ? "io" : "mem", d->info.bar_base[i],
                                        d->info.bar_size[i]);
    if (d->info.irq_pin && n < sizeof line)
        n += (unsigned)fmt_snprintf(line + n, sizeof line - n, " INT%c line %lu", (int)('A' + d->info.irq_pin - 1),
                                    d->info.irq_line);
    if (d->info.msi && n < sizeof line)
        fmt_snprintf(line + n, sizeof line - n, " msi@%#lx", d->info.msi);
    printf("%s\n", line);
}

static void enumerate(void)
{
    for (unsigned bus = 0; bus < 256; bus++)
        for (unsigned dev = 0; dev < 32; dev++) {
            unsigned bdf = bus << 8 | dev << 3;
            if ((cfg_read32(bdf, 0) & 0xffff) == 0xffff)
                continue;
            unsigned nfn = (cfg_read(bdf, 0x0e, 1) & 0x80) ? 8 : 1;
            for (unsigned fn = 0; fn < nfn; fn++)
                if ((cfg_read32(bdf | fn, 0) & 0xffff) != 0xffff)
                    add(bdf | fn);
        }
}

/* the device a badge names, or NULL */
static struct dev *dev_of(unsigned long badge)
{
    if (!(badge >> 40))
        return NULL;
    unsigned vendor = badge & 0xffff, device = (badge >> 16) & 0xffff, n = (badge >> 32) & 0xff;
    for (unsigned i = 0; i < ndevs; i++)
        if (devs[i].info.vendor == vendor && devs[i].info.device == device && n-- == 0)
            return &devs[i];
    return NULL;
}

/* a register the server owns: the BARs, the ROM BAR, the MSI capability */
static int server_owned(struct dev *d, unsigned off, unsigned size)
{
    unsigned end = off + size;
    if (off < 0x28 && end > 0x10)
        return 1;
    if (off < 0x34 && end > 0x30)
        return 1;
    if (d->info.msi && off < d->info.msi + 24 && end > d->info.msi)
        return 1;
    return 0;
}

static unsigned long err(long e)
{
    al_utcb()->mr[0] = (unsigned long)e;
    return AL_TAG(1, 0, 1);
}

/* a reply carrying our capability in slot */
static unsigned long give(long slot)
{
    struct al_utcb *u = al_utcb();
    u->mr[0] = AL_ITEM_CAP | ((unsigned long)AL_R_ALL << 8);
    u->mr[1] = (unsigned long)slot;
    return AL_TAG(0, 1, 0);
}

static unsigned long bar(struct dev *d, unsigned long i)
{
    if (i >= 6)
        return err(-AL_EINVAL);
    if (!d->info.bar_flags[i])
        return err(-AL_ENOENT);
    long slot = SLOT_BARS + (d - devs) * 6 + (long)i;
    if (!d->bar_cap[i]) {
        long r;
        if (d->info.bar_flags[i] & PCI_BAR_IO) {
            r = al_ioport_derive(AL_SLOT_IOPORTS, slot, d->info.bar_base[i], d->info.bar_size[i], 0);
        } else {
            /* whole pages: a BAR smaller than a page gets its page */
            unsigned long base = d->info.bar_base[i] & ~0xfffUL;
            unsigned long end = (d->info.bar_base[i] + d->info.bar_size[i] + 0xfff) & ~0xfffUL;
            r = al_iomem_derive(AL_SLOT_IOMEM, slot, base, end - base, 0);
        }
        if (r)
            return err(r);
        d->bar_cap[i] = 1;
    }
    return give(slot);
}

static unsigned long irq(struct dev *d, unsigned long kind)
{
    unsigned bdf = (unsigned)d->info.bdf;
    long slot = SLOT_IRQS + (d - devs);
    if (kind != PCI_IRQ_MSI && kind != PCI_IRQ_INTX)
        return err(-AL_EINVAL);
    if (kind == PCI_IRQ_MSI && !d->info.msi)
        return err(-AL_ENOENT);
    if (kind == PCI_IRQ_INTX && (!d->info.irq_pin || d->info.irq_line > 15))
        return err(-AL_ENOENT);
    /* a driver asking again (restarted) gets a fresh object; the old one
     * is revoked from whoever still holds it */
    if (d->irq_cap) {
        al_cap_delete(slot);
        d->irq_cap = 0;
    }
    unsigned cmd = cfg_read(bdf, 0x04, 2), msi = (unsigned)d->info.msi;
    unsigned ctl = msi ? cfg_read(bdf, msi + 2, 2) : 0;
    if (msi) /* MSI off while the object changes */
        cfg_write(bdf, msi + 2, 2, ctl & ~1u);
    long r;
    if (kind == PCI_IRQ_MSI) {
        struct al_irq_msi m;
        r = al_irq_create(AL_SLOT_IRQ_CONTROL, slot, AL_IRQ_MSI, 0, 0, &m);
        if (r)
            return err(r);
        cfg_write(bdf, msi + 4, 4, (unsigned)m.addr);
        unsigned data = msi + 8;
        if (ctl & 0x80) { /* 64-bit address */
            cfg_write(bdf, msi + 8, 4, 0);
            data = msi + 12;
        }
        cfg_write(bdf, data, 2, (unsigned)m.data);
        cfg_write(bdf, msi + 2, 2, (ctl & ~0x70u) | 1u); /* one message, enabled */
        cfg_write(bdf, 0x04, 2, cmd | 0x400);            /* INTx off */
    } else {
        r = al_irq_create(AL_SLOT_IRQ_CONTROL, slot, AL_IRQ_ISA, d->info.irq_line, AL_IRQ_LEVEL | AL_IRQ_SHARED, 0);
        if (r)
            return err(r);
        cfg_write(bdf, 0x04, 2, cmd & ~0x400u); /* INTx on */
    }
    d->irq_cap = 1;
    return give(slot);
}

static unsigned long serve(unsigned long tag, unsigned long badge)
{
    struct al_utcb *u = al_utcb();
    struct dev *d = dev_of(badge);
    if (!d)
        return err(-AL_EBADCAP);
    unsigned long label = AL_TAG_LABEL(tag), off = u->mr[0], size = u->mr[1];
    switch (label) {
    case PCI_INFO: {
        const unsigned long *w = (const unsigned long *)&d->info;
        for (unsigned i = 0; i < PCI_INFO_WORDS; i++)
            u->mr[i] = w[i];
        return AL_TAG(PCI_INFO_WORDS, 0, 0);
    }
    case PCI_CFG_READ:
    case PCI_CFG_WRITE:
        if ((size != 1 && size != 2 && size != 4) || off >= 256 || (off & (size - 1)))
            return err(-AL_EINVAL);
        if (label == PCI_CFG_READ) {
            u->mr[0] = cfg_read((unsigned)d->info.bdf, (unsigned)off, (unsigned)size);
            return AL_TAG(1, 0, 0);
        }
        if (server_owned(d, (unsigned)off, (unsigned)size))
            return err(-AL_EPERM);
        cfg_write((unsigned)d->info.bdf, (unsigned)off, (unsigned)size, (unsigned)u->mr[2]);
        return AL_TAG(0, 0, 0);
    case PCI_BAR:
        return bar(d, off);
    case PCI_IRQ:
        return irq(d, off);
    }
    return err(-AL_EINVAL);
}

int main(void)
{
    enumerate();
    printf("pci: %u functions\n", ndevs);
    struct al_utcb *u = al_utcb();
    long r = al_ipc(AL_IPC_RECV, 0, 0, AL_SLOT_SERVICE, AL_TIMEOUT_NEVER);
    for (;;) {
        if (r) {
            r = al_ipc(AL_IPC_RECV, 0, 0, AL_SLOT_SERVICE, AL_TIMEOUT_NEVER);
            continue;
        }
        unsigned long reply = serve(u->tag, u->badge);
        r = al_ipc(AL_IPC_REPLY_RECV, 0, reply, AL_SLOT_SERVICE, AL_TIMEOUT_NEVER);
    }
}
