/*
 * Device memory by capability (KTAP). Started with mem=all: slot
 * AL_SLOT_IOMEM holds a copy of the root task's capability for all physical
 * addresses. The device page used is the VGA text buffer (0xb8000), which
 * the kernel only writes while it mirrors its log: we write the last cell
 * of the last line and read it back.
 *
 * Checks: mapping by capability (RW, uncached, managed), RAM and the
 * kernel's device pages refused whatever the range, every bad argument,
 * derivation of sub-ranges, phys_addr, and that deleting a capability
 * takes its pages away (in every task and on every CPU: a reader thread on
 * another CPU takes a page fault once the deletion returned) while pages
 * another capability still covers stay.
 */
#include "user/lib/airlock.h"
#include "abi/airlock/boot.h"

#define VGA      0xb8000UL
#define VA       0x40000000UL /* our view of the VGA page */
#define VA2      0x40010000UL
#define VA3      0x40020000UL
#define SUB      20 /* [0xb8000, 0xc0000), derived from AL_SLOT_IOMEM */
#define SUB2     21 /* [0xb8000, 0xb9000), derived from SUB */
#define NOCTL    22 /* like SUB2, without CONTROL */
#define EP       10 /* the reader's fault handler */
#define LASTCELL (80 * 24 + 79)

static char stack[16384] __attribute__((aligned(16)));
static char stack2[16384] __attribute__((aligned(16)));
static volatile unsigned long reads, fault_addr, faults, stop;

/* fault handler: records the address, and ends the faulting thread */
static long handler(void *arg)
{
    (void)arg;
    struct al_utcb *u = al_utcb();
    long r = al_ipc(AL_IPC_RECV, 0, 0, EP, AL_TIMEOUT_NEVER);
    for (;;) {
        if (r) {
            r = al_ipc(AL_IPC_RECV, 0, 0, EP, AL_TIMEOUT_NEVER);
            continue;
        }
        if (AL_TAG_LABEL(u->tag) == 0xdead)
            return 0;
        fault_addr = u->mr[AL_FR_ADDR];
        faults++;
        r = al_ipc(AL_IPC_REPLY_RECV, 0, AL_TAG(0, 0, AL_FAULT_KILL), EP, AL_TIMEOUT_NEVER);
    }
}

/* reads the device page until it faults (or is told to stop) */
static long reader(void *arg)
{
    volatile uint16_t *p = (volatile uint16_t *)arg;
    al_thread_set_handler(0, EP);
    while (!stop) {
        (void)p[LASTCELL];
        reads++;
    }
    return 0;
}

static int cell_rw(unsigned long va, uint16_t v)
{
    volatile uint16_t *p = (volatile uint16_t *)va;
    p[LASTCELL] = v;
    return p[LASTCELL] == v;
}

int main(int argc, char **argv)
{
    (void)argc, (void)argv;
    struct al_cap_info ci;
    struct al_cpu_info self;
    al_cpu_self(&self);
    long n_cpus = ncpus();
    ktap_plan(11);

    long r = al_cap_info(AL_SLOT_IOMEM, &ci);
    ktap_result(r == 0 && ci.type == AL_CAP_IOMEM && ci.badge == 0 && AL_IOMEM_BASE(ci.id) == 0 &&
                    AL_IOMEM_SIZE(ci.id) == AL_IOMEM_LIMIT,
                "slot %d: device memory [%#lx, +%#lx)", AL_SLOT_IOMEM, AL_IOMEM_BASE(ci.id), AL_IOMEM_SIZE(ci.id));

    r = al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(VGA, 12), VA, AL_MAP_RW);
    ktap_result(r == 0 && al_map_info(VA) == (AL_MAP_RW | AL_MAP_MANAGED) && cell_rw(VA, 0x2f00 | '*') &&
                    al_phys_addr(VA + 0x123) == (long)(VGA + 0x123),
                "the VGA text buffer mapped RW by capability, phys_addr finds it (%ld)", r);
    {
        /* the kernel let go of the screen: its log no longer lands there */
        static uint16_t before[80 * 25];
        volatile uint16_t *scr = (volatile uint16_t *)VA;
        for (int i = 0; i < 80 * 25; i++)
            before[i] = scr[i];
        static const char line[] = "iomem: a kernel log line that must not reach the screen any more\n";
        al_debug_write(line, sizeof line - 1);
        int same = 1;
        for (int i = 0; i < 80 * 25; i++)
            same &= scr[i] == before[i];
        ktap_result(same, "once a task maps the screen, the kernel's log no longer writes to it");
    }

    /* RAM (a page sigma0 gave us, and the first MiB's RAM), the local APIC,
     * an IOAPIC, page 0: never, whatever the capability's range */
    long ram = mem_alloc((void *)0x41000000, 12, AL_MAP_RW);
    long pa_ram = al_phys_addr(0x41000000);
    r = al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(pa_ram, 12), VA2, AL_MAP_RW);
    ktap_result(ram >= 0 && pa_ram > 0 && (pa_ram & 0xfff) == 0 && r == -AL_EPERM &&
                    al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(0x1000, 12), VA2, AL_MAP_R) == -AL_EPERM &&
                    al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(0, 12), VA2, AL_MAP_R) == -AL_EPERM &&
                    al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(0xfee00000, 12), VA2, AL_MAP_R) == -AL_EPERM &&
                    al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(0xfec00000, 12), VA2, AL_MAP_R) == -AL_EPERM &&
                    al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(0x80000, 19), 0x40080000, AL_MAP_R) == -AL_EPERM,
                "RAM (sigma0's page at %#lx), page 0, the LAPIC, an IOAPIC, a range with RAM: EPERM", pa_ram);

    ktap_result(al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(VGA, 11), VA2, AL_MAP_R) == -AL_EINVAL &&
                    al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(VGA, 23), VA2, AL_MAP_R) == -AL_EINVAL &&
                    al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(VGA, 16), VA2, AL_MAP_R) == -AL_EINVAL &&
                    al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(VGA, 12) | 0x40, VA2, AL_MAP_R) == -AL_EINVAL &&
                    al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(VGA, 12), VA2 + 8, AL_MAP_R) == -AL_EINVAL &&
                    al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(VGA, 12), AL_KERNEL_BASE, AL_MAP_R) == -AL_EINVAL &&
                    al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(VGA, 12), AL_TRAMPOLINE, AL_MAP_R) == -AL_EINVAL &&
                    al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(VGA, 12), AL_UTCB_BASE, AL_MAP_R) == -AL_EINVAL &&
                    al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(VGA, 12), 0x0000800000000000UL, AL_MAP_R) == -AL_EINVAL &&
                    al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(VGA, 12), VA2, AL_MAP_RW | AL_MAP_X) == -AL_EINVAL &&
                    al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(VGA, 12), VA2, AL_MAP_W) == -AL_EINVAL &&
                    al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(VGA, 12), VA2, 0) == -AL_EINVAL &&
                    al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(1UL << 40, 12), VA2, AL_MAP_R) == -AL_EPERM &&
                    al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(VGA, 12), VA, AL_MAP_R) == -AL_EEXIST &&
                    al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(VGA, 12), 0x41000000, AL_MAP_R) == -AL_EEXIST &&
                    al_iomem_map(AL_SLOT_BOOT_EP, AL_FPAGE(VGA, 12), VA2, AL_MAP_R) == -AL_EBADCAP &&
                    al_iomem_map(999, AL_FPAGE(VGA, 12), VA2, AL_MAP_R) == -AL_EBADCAP &&
                    al_iomem_map(-1, AL_FPAGE(VGA, 12), VA2, AL_MAP_R) == -AL_EBADCAP,
                "iomem_map: bad orders, alignment, addresses, rights, a used address, bad capabilities");

    ktap_result(al_iomem_derive(AL_SLOT_IOMEM, SUB, VGA + 1, 0x8000, AL_R_ALL) == -AL_EINVAL &&
                    al_iomem_derive(AL_SLOT_IOMEM, SUB, VGA, 0x8001, AL_R_ALL) == -AL_EINVAL &&
                    al_iomem_derive(AL_SLOT_IOMEM, SUB, VGA, 0, AL_R_ALL) == -AL_EINVAL &&
                    al_iomem_derive(AL_SLOT_IOMEM, SUB, AL_IOMEM_LIMIT, 0x1000, AL_R_ALL) == -AL_EINVAL &&
                    al_iomem_derive(AL_SLOT_IOMEM, SUB, AL_IOMEM_LIMIT - 0x1000, 0x2000, AL_R_ALL) == -AL_EINVAL &&
                    al_iomem_derive(AL_SLOT_IOMEM, SUB, 0x1000, ~0xfffUL, AL_R_ALL) == -AL_EINVAL &&
                    al_iomem_derive(AL_SLOT_IOMEM, SUB, VGA, 0x8000, 0x10) == -AL_EINVAL &&
                    al_iomem_derive(AL_SLOT_IOMEM, AL_SLOT_BOOT_EP, VGA, 0x8000, AL_R_ALL) == -AL_EEXIST &&
                    al_iomem_derive(AL_SLOT_IOMEM, 999, VGA, 0x8000, AL_R_ALL) == -AL_EBADCAP &&
                    al_iomem_derive(AL_SLOT_BOOT_EP, SUB, VGA, 0x8000, AL_R_ALL) == -AL_EBADCAP,
                "iomem_derive: unaligned, empty, beyond the limit, wrapping, bad rights, bad slots");

    r = al_iomem_derive(AL_SLOT_IOMEM, SUB, VGA, 0x8000, AL_R_ALL);
    long r2 = al_iomem_derive(SUB, SUB2, VGA, 0x1000, AL_R_ALL);
    long r3 = al_iomem_derive(SUB, NOCTL, VGA, 0x1000, AL_R_SEND);
    struct al_cap_info c2, c3;
    al_cap_info(SUB2, &c2);
    al_cap_info(NOCTL, &c3);
    ktap_result(r == 0 && r2 == 0 && r3 == 0 && c2.type == AL_CAP_IOMEM && c2.id == AL_IOMEM_ID(VGA, 0x1000) &&
                    c2.rights == AL_R_CONTROL && c3.rights == 0 &&
                    al_iomem_derive(SUB, 23, VGA + 0x8000, 0x1000, AL_R_ALL) == -AL_EPERM &&
                    al_iomem_derive(SUB, 23, VGA - 0x1000, 0x2000, AL_R_ALL) == -AL_EPERM &&
                    al_iomem_derive(NOCTL, 23, VGA, 0x1000, AL_R_ALL) == -AL_EPERM,
                "derived sub-ranges (%ld %ld %ld): id %#lx; a wider range or no CONTROL: EPERM", r, r2, r3, c2.id);

    /* a capability without CONTROL still maps; outside its range it does not */
    r = al_iomem_map(NOCTL, AL_FPAGE(VGA, 12), VA3, AL_MAP_R);
    ktap_result(r == 0 && al_map_info(VA3) == (AL_MAP_R | AL_MAP_MANAGED) &&
                    al_iomem_map(NOCTL, AL_FPAGE(VGA + 0x1000, 12), VA3 + 0x1000, AL_MAP_R) == -AL_EPERM &&
                    al_iomem_map(SUB2, AL_FPAGE(VGA, 13), VA2, AL_MAP_R) == -AL_EPERM,
                "a derived capability maps its range only, read-only when asked (%ld)", r);

    /* deleting one capability keeps what another still covers */
    al_iomem_map(SUB2, AL_FPAGE(VGA, 12), VA2, AL_MAP_RW);
    r = al_cap_delete(NOCTL);
    ktap_result(r == 0 && al_map_info(VA3) == (AL_MAP_R | AL_MAP_MANAGED) && cell_rw(VA2, 0x2f00 | '+'),
                "a page still covered by other capabilities stays mapped after a deletion");

    /* deleting the last one that covers a page takes it away, on every
     * CPU before the call returns: a reader on another CPU faults */
    al_endpoint_create(EP);
    long h = thread_spawn(handler, 0, stack, sizeof stack, 120, -1);
    long cpu = n_cpus > 1 ? (long)(self.index + 1) % n_cpus : -1;
    long rd = thread_spawn(reader, (void *)VA2, stack2, sizeof stack2, 90, cpu);
    while (reads < 1000)
        al_sleep(1000000); /* (on one CPU the reader runs while we sleep) */
    r = al_cap_delete(AL_SLOT_IOMEM); /* also SUB and SUB2, derived from it */
    unsigned long reads_after = reads;
    int gone = al_map_info(VA) == -AL_ENOENT && al_map_info(VA2) == -AL_ENOENT && al_map_info(VA3) == -AL_ENOENT;
    al_thread_join(rd, 0);
    ktap_result(r == 0 && gone && faults == 1 && fault_addr == VA2 + LASTCELL * 2 &&
                    reads <= reads_after + 1 && al_cap_info(SUB2, &ci) == -AL_EBADCAP,
                "deleting the last capability unmaps its pages everywhere; the reader on CPU %ld faulted at %#lx", cpu,
                fault_addr);
    ktap_result(al_phys_addr(0x41000000) == -AL_EPERM && al_iomem_map(SUB, AL_FPAGE(VGA, 12), VA, AL_MAP_R) == -AL_EBADCAP,
                "without an iomem capability: no phys_addr, no iomem_map");

    /* the fault handler's end */
    al_utcb()->tag = 0;
    al_ipc(AL_IPC_SEND, EP, AL_TAG(0, 0, 0xdead), 0, AL_TIMEOUT_NEVER);
    al_thread_join(h, 0);
    return ktap_failures();
}
