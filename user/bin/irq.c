/*
 * IRQ objects delivered as IPC (KTAP). Started with irqs=1 (the root
 * task's IRQ-control capability in AL_SLOT_IRQ_CONTROL) and
 * ports=0xcf8:8 (PCI configuration space), on a machine with QEMU's edu
 * PCI device (`-device edu`, the `irq` suite of tools/ktest.py).
 *
 * The driver finds edu on bus 0, maps its BAR0 through sigma0's device
 * memory, creates an MSI IRQ object, programs edu's MSI capability with
 * the message irq_create wrote, and makes edu raise interrupts through its
 * register 0x60 (acknowledged at 0x64).
 *
 * Modes (first argument): none, the whole test; `hold`: take ISA IRQ 8
 * and exit holding it; `take`: ISA IRQ 8 can be taken (after the holder
 * died); `rtc` (with ports=0x70:2): a level-triggered line, the RTC's.
 */
#include "user/lib/airlock.h"
#include "user/lib/portio.h"
#include "user/lib/rtc.h"
#include "abi/airlock/boot.h"
#include "lib/string.h"

#define EP    10 /* our endpoint for interrupt messages */
#define EP_S  11 /* the same, SEND only */
#define IRQ   12 /* the MSI IRQ object */
#define IRQ2  13
#define SPARE 14
#define BADGE 0x1e9
#define MMIO  0x40100000UL

#define PCI_ADDR         0xCF8
#define PCI_DATA         0xCFC
#define PCI_COMMAND      0x04
#define PCI_CMD_MEM      (1u << 1)
#define PCI_CMD_MASTER   (1u << 2)
#define PCI_CMD_INTX_OFF (1u << 10)
#define PCI_BAR0         0x10
#define PCI_CAP_PTR      0x34
#define PCI_CAP_MSI      0x05
#define MSI_CTL_ENABLE   (1u << 0)
#define MSI_CTL_64       (1u << 7)
#define MSI_CTL_MME      (7u << 4)
#define EDU_ID           0x11e81234u
#define EDU_STATUS       0x24
#define EDU_RAISE        0x60
#define EDU_ACK          0x64

static unsigned cfg_read(unsigned dev, unsigned off)
{
    outl(PCI_ADDR, 0x80000000u | dev << 11 | (off & 0xfc));
    return inl(PCI_DATA) >> (8 * (off & 3));
}
static void cfg_write16(unsigned dev, unsigned off, unsigned short v)
{
    outl(PCI_ADDR, 0x80000000u | dev << 11 | (off & 0xfc));
    outw(PCI_DATA + (off & 2), v);
}
static void cfg_write32(unsigned dev, unsigned off, unsigned v)
{
    outl(PCI_ADDR, 0x80000000u | dev << 11 | (off & 0xfc));
    outl(PCI_DATA, v);
}

static volatile unsigned *edu;
static unsigned dev, cap, ctl;

/* edu raises an interrupt (an MSI once enabled); it has arrived (or not)
 * 10 ms later. The status bit is cleared again. */
static void raise_one(void)
{
    edu[EDU_RAISE / 4] = 1;
    al_sleep(10000000);
    edu[EDU_ACK / 4] = 1;
}

/* a message waiting on EP now: its label, badge and words; 0 if none */
static int got(unsigned long *id, unsigned long *n)
{
    struct al_utcb *u = al_utcb();
    if (al_ipc(AL_IPC_RECV, 0, 0, EP, 0) != 0)
        return 0;
    if (AL_TAG_LABEL(u->tag) != AL_LABEL_IRQ || AL_TAG_WORDS(u->tag) != 2 || u->badge != BADGE)
        return -1;
    *id = u->mr[0];
    *n = u->mr[1];
    return 1;
}

static char stack[16384] __attribute__((aligned(16)));

static long raiser(void *arg)
{
    (void)arg;
    al_sleep(20000000);
    edu[EDU_RAISE / 4] = 1;
    return 0;
}

/* edu on bus 0 and its MSI capability; 0 if absent */
static int edu_find(void)
{
    for (dev = 0; dev < 32; dev++)
        if (cfg_read(dev, 0) == EDU_ID)
            break;
    if (dev == 32)
        return 0;
    for (unsigned off = cfg_read(dev, PCI_CAP_PTR) & 0xfc, k = 0; off >= 0x40 && k < 48; k++) {
        unsigned w = cfg_read(dev, off);
        if ((w & 0xff) == PCI_CAP_MSI) {
            cap = off;
            break;
        }
        off = (w >> 8) & 0xfc;
    }
    return cap != 0;
}

static int hold_or_take(int hold)
{
    ktap_plan(1);
    long r = al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ2, AL_IRQ_ISA, 8, 0, 0);
    struct al_cap_info ci;
    long r2 = al_cap_info(IRQ2, &ci);
    ktap_result(r == 0 && r2 == 0 && ci.type == AL_CAP_IRQ && ci.id == AL_IRQ_ID(AL_IRQ_ISA, 8), "%s: ISA IRQ 8 (%ld)",
                hold ? "taken, kept until we die" : "taken again after its holder died", r);
    return ktap_failures(); /* (hold: we exit holding it) */
}

/* a message on EP within ms milliseconds: 1 with its words, 0 if none */
static int wait_msg(long ms, unsigned long *id, unsigned long *n)
{
    struct al_utcb *u = al_utcb();
    if (al_ipc(AL_IPC_RECV, 0, 0, EP, ms * 1000000L) != 0)
        return 0;
    if (AL_TAG_LABEL(u->tag) != AL_LABEL_IRQ || u->badge != BADGE)
        return -1;
    *id = u->mr[0];
    *n = u->mr[1];
    return 1;
}

/*
 * rtc mode (ports=0x70:2): a level-triggered line from user level. The
 * CMOS RTC's periodic interrupt on GSI 8, bound as level/active-high: the
 * line stays asserted until register C is read, so each message is one
 * arrival, nothing more comes before the acknowledgement, an
 * acknowledgement while the RTC still asserts the line brings the next
 * message at once, and one after reading register C the next period's.
 */
static int rtc(void)
{
    ktap_plan(5);
    unsigned long id = 0, n = 0;
    al_endpoint_create(EP);
    long r = al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_GSI, 8, AL_IRQ_LEVEL, 0);
    long r1 = al_irq_bind(IRQ, EP, BADGE);
    int g0 = wait_msg(30, &id, &n);
    ktap_result(r == 0 && r1 == 0 && g0 == 0, "GSI 8, level: created and bound; quiet while the RTC is (%ld, %ld)", r,
                r1);
    struct rtc_saved saved = rtc_periodic_on();
    g0 = wait_msg(500, &id, &n);
    ktap_result(g0 == 1 && id == AL_IRQ_ID(AL_IRQ_GSI, 8) && n == 1, "the RTC's interrupt arrives as a message (%lu)",
                n);
    int g1 = wait_msg(30, &id, &n);
    r = al_irq_ack(IRQ); /* register C not read: the line is still asserted */
    int g2 = wait_msg(100, &id, &n);
    ktap_result(g1 == 0 && r == 0 && g2 == 1 && n == 1,
                "masked until the acknowledgement; then at once again, the line still asserted");
    (void)cmos_read(0x0c);
    r = al_irq_ack(IRQ);
    g1 = wait_msg(500, &id, &n);
    unsigned long n1 = n;
    g2 = wait_msg(30, &id, &n);
    ktap_result(r == 0 && g1 == 1 && n1 == 1 && g2 == 0,
                "register C read and acknowledged: the next period, one arrival, then nothing until the next ack");
    rtc_restore(saved);
    r = al_cap_delete(IRQ);
    r1 = al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_ISA, 8, 0, 0);
    ktap_result(r == 0 && r1 == 0 && al_cap_delete(IRQ) == 0 && al_cap_delete(EP) == 0,
                "RTC restored; the line is free again after the deletion");
    return ktap_failures();
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "hold"))
        return hold_or_take(1);
    if (argc > 1 && !strcmp(argv[1], "take"))
        return hold_or_take(0);
    if (argc > 1 && !strcmp(argv[1], "rtc"))
        return rtc();
    ktap_plan(15);
    struct al_cap_info ci;
    struct al_irq_msi msi = {0, 0};
    unsigned long id = 0, n = 0;
    long r = al_cap_info(AL_SLOT_IRQ_CONTROL, &ci);
    ktap_result(r == 0 && ci.type == AL_CAP_IRQ_CONTROL && ci.rights == AL_R_CONTROL,
                "slot %d: the IRQ-control capability", AL_SLOT_IRQ_CONTROL);
    al_endpoint_create(EP);
    al_cap_copy(EP, EP_S, AL_R_SEND, 0);

    /* refusals, in the documented order */
    int e =
        al_irq_create(300, IRQ, AL_IRQ_ISA, 8, 0, 0) == -AL_EBADCAP &&
        al_irq_create(EP, IRQ, AL_IRQ_ISA, 8, 0, 0) == -AL_EBADCAP &&
        al_irq_create(AL_SLOT_IRQ_CONTROL, 300, AL_IRQ_ISA, 8, 0, 0) == -AL_EBADCAP &&
        al_irq_create(AL_SLOT_IRQ_CONTROL, EP, AL_IRQ_ISA, 8, 0, 0) == -AL_EEXIST &&
        al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, 0, 8, 0, 0) == -AL_EINVAL &&
        al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_ISA, 16, 0, 0) == -AL_EINVAL &&
        al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_ISA, 8, 0x10, 0) == -AL_EINVAL &&
        al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_ISA, 8, AL_IRQ_SHARED, 0) == -AL_EINVAL &&
        al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_GSI, 8, 4, 0) == -AL_EINVAL &&
        al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_MSI, 1, 0, &msi) == -AL_EINVAL &&
        al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_MSI, 0, 0, 0) == -AL_EFAULT &&
        al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_MSI, 0, 0, (struct al_irq_msi *)0xffff800000000000UL) ==
            -AL_EFAULT &&
        al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_MSI, 0, 0, (struct al_irq_msi *)0x7fff0000000UL) == -AL_EFAULT &&
        al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_ISA, 0, 0, 0) == -AL_EPERM &&
        al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_ISA, 2, 0, 0) == -AL_EINVAL &&
        al_cap_info(IRQ, &ci) == -AL_EBADCAP;
    ktap_result(e, "irq_create: bad slots, wrong types, bad kinds, lines and flags, bad pointers, the kernel's lines");

    /* one line, one object */
    long r1 = al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ2, AL_IRQ_ISA, 8, 0, 0);
    long r2 = al_irq_create(AL_SLOT_IRQ_CONTROL, SPARE, AL_IRQ_ISA, 8, 0, 0);
    long r3 = al_irq_create(AL_SLOT_IRQ_CONTROL, SPARE, AL_IRQ_GSI, 8, 0, 0);
    long r4 = al_cap_delete(IRQ2);
    long r5 = al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ2, AL_IRQ_ISA, 8, 0, 0);
    ktap_result(r1 == 0 && r2 == -AL_EBUSY && r3 == -AL_EBUSY && r4 == 0 && r5 == 0,
                "a line already taken is refused (%ld, %ld); free again once its capability is deleted (%ld)", r2, r3,
                r5);
    e = al_irq_bind(IRQ2, EP_S, BADGE) == -AL_EPERM && al_irq_bind(IRQ2, SPARE, BADGE) == -AL_EBADCAP &&
        al_irq_bind(EP, EP, BADGE) == -AL_EBADCAP && al_irq_bind(AL_SLOT_IRQ_CONTROL, EP, 0) == -AL_EBADCAP &&
        al_irq_ack(IRQ2) == -AL_EINVAL && al_irq_detach(IRQ2) == -AL_EINVAL && al_irq_bind(IRQ2, EP, 0) == 0 &&
        al_irq_bind(IRQ2, EP, 0) == -AL_EBUSY && al_irq_detach(IRQ2) == 0 && al_cap_delete(IRQ2) == 0;
    ktap_result(e,
                "irq_bind, irq_ack, irq_detach: wrong types and rights (a SEND-only endpoint), not bound, bound twice");

    if (!edu_find()) {
        ktap_result(0, "edu PCI device with an MSI capability on bus 0 (QEMU -device edu)");
        return ktap_failures();
    }
    unsigned bar = cfg_read(dev, PCI_BAR0) & ~0xfu;
    r = al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(bar, 12), MMIO, AL_MAP_RW);
    edu = (volatile unsigned *)MMIO;
    ktap_result(r == 0 && (edu[0] & 0xff) == 0xed, "edu at 00:%02x.0, BAR0 %#x mapped by capability (%ld)", dev, bar, r);

    r = al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_MSI, 0, 0, &msi);
    r1 = al_cap_info(IRQ, &ci);
    unsigned vec = (unsigned)(msi.data & 0xff);
    ktap_result(r == 0 && r1 == 0 && ci.type == AL_CAP_IRQ && ci.rights == AL_R_CONTROL &&
                    ci.id == AL_IRQ_ID(AL_IRQ_MSI, vec) && (msi.addr & ~0xff000UL) == 0xfee00000UL && vec >= 0x30,
                "an MSI IRQ object: message %#lx/%#lx, id %#lx", msi.addr, msi.data, ci.id);
    {
        /* irq_list: every object in the system, ours among them */
        static struct al_irq_info all[AL_IRQ_LIST_MAX];
        long n = al_irq_list(all, AL_IRQ_LIST_MAX), found = 0;
        for (long i = 0; i < n && i < AL_IRQ_LIST_MAX; i++)
            found += all[i].id == ci.id && all[i].vector == vec;
        ktap_result(n >= 1 && found == 1 && al_irq_list(all, 0) == n && al_irq_list(all, AL_IRQ_LIST_MAX + 1) == -AL_E2BIG &&
                        al_irq_list((struct al_irq_info *)AL_KERNEL_BASE, 1) == -AL_EFAULT,
                    "irq_list: %ld objects in the system, ours once; too many: E2BIG; a bad pointer: EFAULT", n);
    }

    /* program edu's MSI capability with it */
    unsigned cmd = cfg_read(dev, PCI_COMMAND) & 0xffff;
    ctl = cfg_read(dev, cap + 2) & 0xffff;
    cfg_write32(dev, cap + 4, (unsigned)msi.addr);
    if (ctl & MSI_CTL_64)
        cfg_write32(dev, cap + 8, 0);
    cfg_write16(dev, cap + ((ctl & MSI_CTL_64) ? 0x0c : 0x08), (unsigned short)msi.data);
    cfg_write16(dev, cap + 2, (unsigned short)((ctl & ~MSI_CTL_MME) | MSI_CTL_ENABLE));
    cfg_write16(dev, PCI_COMMAND, (unsigned short)(cmd | PCI_CMD_MEM | PCI_CMD_MASTER | PCI_CMD_INTX_OFF));

    /* raised before the binding: nothing yet; the binding delivers it once */
    raise_one();
    int g0 = got(&id, &n);
    r = al_irq_bind(IRQ, EP, BADGE);
    int g1 = got(&id, &n);
    unsigned long n1 = n;
    int g2 = got(&id, &n);
    ktap_result(g0 == 0 && r == 0 && g1 == 1 && id == AL_IRQ_ID(AL_IRQ_MSI, vec) && n1 == 1 && g2 == 0,
                "no message before the binding; after it exactly one (count %lu)", n1);

    /* while the message is outstanding, raises are only counted */
    raise_one();
    raise_one();
    raise_one();
    g0 = got(&id, &n);
    r = al_irq_ack(IRQ);
    g1 = got(&id, &n);
    n1 = n;
    r1 = al_irq_ack(IRQ);
    g2 = got(&id, &n);
    ktap_result(g0 == 0 && r == 0 && g1 == 1 && n1 == 3 && r1 == 0 && g2 == 0,
                "3 raises before the acknowledgement: no message, then one reporting %lu", n1);

    /* a receiver already waiting is woken by the arrival */
    long t = thread_spawn(raiser, 0, stack, sizeof stack, 100, -1);
    struct al_utcb *u = al_utcb();
    r = al_ipc(AL_IPC_RECV, 0, 0, EP, 2000000000L);
    ktap_result(t > 0 && r == 0 && AL_TAG_LABEL(u->tag) == AL_LABEL_IRQ && u->badge == BADGE && u->mr[1] == 1,
                "a thread waiting in receive gets the message (%ld)", r);
    long st = 0;
    long rj = al_thread_join(t, &st);
    if (rj)
        printf("irq: thread_join %ld\n", rj);
    edu[EDU_ACK / 4] = 1;
    al_irq_ack(IRQ);

    /* a message that waits for a receiver is withdrawn by the detach */
    raise_one();
    r = al_irq_detach(IRQ);
    g0 = got(&id, &n);
    raise_one();
    g1 = got(&id, &n);
    ktap_result(r == 0 && g0 == 0 && g1 == 0, "detached: the waiting message is withdrawn, nothing more comes");

    /* bound again: arrivals since the detach are reported */
    r = al_irq_bind(IRQ, EP, BADGE);
    g0 = got(&id, &n);
    ktap_result(r == 0 && g0 == 1 && n == 1, "bound again: the raise since the detach is reported (%lu)", n);
    al_irq_ack(IRQ);

    /* a message queued, then the capability deleted: withdrawn, vector freed */
    raise_one();
    r = al_cap_delete(IRQ);
    g0 = got(&id, &n);
    r1 = al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_MSI, 0, 0, &msi);
    ktap_result(r == 0 && g0 == 0 && r1 == 0 && (msi.data & 0xff) == vec,
                "deleted with a message waiting: withdrawn; the vector is free again (%#lx)", msi.data & 0xff);
    al_cap_delete(IRQ);

    /* deleting the endpoint's capabilities while bound: the binding keeps
     * the endpoint; the object's deletion ends it */
    r = al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_MSI, 0, 0, &msi);
    r1 = al_irq_bind(IRQ, EP, BADGE);
    r2 = al_cap_delete(EP_S);
    r3 = al_cap_delete(EP);
    raise_one();
    r4 = al_cap_delete(IRQ);
    ktap_result(r == 0 && r1 == 0 && r2 == 0 && r3 == 0 && r4 == 0, "endpoint deleted while bound, then the object");

    /* restore edu */
    cfg_write16(dev, cap + 2, (unsigned short)ctl);
    cfg_write16(dev, PCI_COMMAND, (unsigned short)cmd);
    e = 1;
    for (unsigned i = 0; i < 3; i++) {
        r = al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_MSI, 0, 0, &msi);
        e &= r == 0 && al_cap_delete(IRQ) == 0;
    }
    ktap_result(e, "objects come and go without leaking vectors");
    return ktap_failures();
}
