/* The PCI server's protocol, client side (user/lib/pci.h). */
#include "user/lib/airlock.h"
#include "user/lib/pci.h"

static long pci_call(unsigned long label, unsigned long words)
{
    struct al_utcb *u = al_utcb();
    long r = al_ipc(AL_IPC_CALL, AL_SLOT_PCI, AL_TAG(words, 0, label), 0, AL_TIMEOUT_NEVER);
    if (r)
        return r;
    if (AL_TAG_LABEL(u->tag) != 0)
        return (long)u->mr[0];
    return 0;
}

long pci_info(struct pci_info *out)
{
    long r = pci_call(PCI_INFO, 0);
    if (!r) {
        unsigned long *w = (unsigned long *)out;
        for (unsigned i = 0; i < PCI_INFO_WORDS; i++)
            w[i] = al_utcb()->mr[i];
    }
    return r;
}

long pci_cfg_read(unsigned off, unsigned size, unsigned *value)
{
    struct al_utcb *u = al_utcb();
    u->mr[0] = off;
    u->mr[1] = size;
    long r = pci_call(PCI_CFG_READ, 2);
    if (!r)
        *value = (unsigned)u->mr[0];
    return r;
}

long pci_cfg_write(unsigned off, unsigned size, unsigned value)
{
    struct al_utcb *u = al_utcb();
    u->mr[0] = off;
    u->mr[1] = size;
    u->mr[2] = value;
    return pci_call(PCI_CFG_WRITE, 3);
}

/* a capability item in the reply lands in slot */
static long cap_call(unsigned long label, unsigned long arg, long slot)
{
    struct al_utcb *u = al_utcb();
    u->rcv_cap_slot = slot;
    u->mr[0] = arg;
    long r = pci_call(label, 1);
    u->rcv_cap_slot = -1;
    return r;
}

long pci_bar(unsigned index, long slot)
{
    return cap_call(PCI_BAR, index, slot);
}

long pci_irq(unsigned kind, long slot)
{
    return cap_call(PCI_IRQ, kind, slot);
}
