/*
 * A driver for QEMU's edu PCI device (1234:11e8), through the PCI server:
 * started with pci=1234:11e8, it holds a capability to the server for
 * that one device and nothing else of the machine (no ports, no IRQ
 * control, no device memory of its own). Its BAR0 arrives as a
 * device-memory capability, its interrupt as an IRQ object.
 *
 * Test (KTAP, no argument): identification and liveness through MMIO, the
 * server's refusals, the factorial unit with completion by MSI and then by
 * INTx (level, shared), and a DMA round trip (RAM -> device -> RAM, by
 * physical address from phys_addr) with its completion interrupt.
 * `edu crash`: dies in the middle of an interrupt (see crash()).
 *
 * `edu bench` (make bench, -icount shift=0: RDTSC counts instructions):
 * - IRQ -> driver: from the instruction that makes edu raise its interrupt
 *   (a write to register 0x60, by a lower-priority thread) to the
 *   driver's receive returning with the message;
 * - full IRQ cycle: raise -> the driver runs, acknowledges the device and
 *   the IRQ object -> the driver blocked in receive again and the raising
 *   thread running.
 * Both threads are in this task, as when an interrupt hits the driver's
 * own other thread; the interrupt arrives in user mode.
 */
#include "user/lib/airlock.h"
#include "user/lib/pci.h"
#include "abi/airlock/boot.h"
#include "lib/string.h"

#define EP       10
#define BAR_CAP  11
#define IRQ_CAP  12
#define MMIO     0x40000000UL /* BAR0: 1 MiB */
#define DMA_PAGE 0x41000000UL
#define DMA_BACK 0x41001000UL
#define BADGE    0xed0

#define EDU_ID      0x00
#define EDU_LIVE    0x04
#define EDU_FACT    0x08
#define EDU_STATUS  0x20
#define EDU_ISR     0x24
#define EDU_RAISE   0x60
#define EDU_ACK     0x64
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_CNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_DMA_BUF 0x40000
#define DMA_LEN     2048 /* (QEMU 7.2's edu refuses a transfer that ends at its buffer's end) */
#define ST_IRQ_FACT 0x80
#define ISR_FACT    0x01
#define ISR_DMA     0x100

static volatile uint32_t *edu = (volatile uint32_t *)MMIO;

static uint32_t rd(unsigned off)
{
    return edu[off / 4];
}
static void wr(unsigned off, uint32_t v)
{
    edu[off / 4] = v;
}
static void wr64(unsigned off, uint64_t v)
{
    *(volatile uint64_t *)(MMIO + off) = v;
}

/* wait (at most 2 s) for an interrupt message; returns its count, 0 if none */
static unsigned long wait_irq(void)
{
    struct al_utcb *u = al_utcb();
    long r = al_ipc(AL_IPC_RECV, 0, 0, EP, 2000000000L);
    if (r || AL_TAG_LABEL(u->tag) != AL_LABEL_IRQ || u->badge != BADGE)
        return 0;
    return u->mr[1];
}

/* the device's interrupt status, acknowledged at the device and then at the kernel */
static uint32_t ack_all(void)
{
    uint32_t isr = rd(EDU_ISR);
    wr(EDU_ACK, isr);
    al_irq_ack(IRQ_CAP);
    return isr;
}

static int factorial(uint32_t n, uint32_t want, const char *how)
{
    wr(EDU_STATUS, ST_IRQ_FACT);
    wr(EDU_FACT, n);
    unsigned long k = wait_irq();
    uint32_t isr = ack_all(), v = rd(EDU_FACT);
    ktap_result(k >= 1 && (isr & ISR_FACT) && v == want, "factorial %u = %u, completion by %s (isr %#x, count %lu)", n,
                v, how, isr, k);
    return v == want;
}

static long bind(unsigned kind)
{
    long r = pci_irq(kind, IRQ_CAP);
    if (r)
        return r;
    return al_irq_bind(IRQ_CAP, EP, BADGE);
}

static int setup(struct pci_info *in)
{
    long r = pci_info(in);
    ktap_result(r == 0 && in->vendor == 0x1234 && in->device == 0x11e8 && (in->bar_flags[0] & PCI_BAR_MEM) &&
                    in->bar_size[0] == 0x100000 && in->msi && in->irq_pin == 1,
                "the server names our device: %02lx:%02lx.%lx, BAR0 %#lx+%#lx, INTA line %lu, MSI at %#lx (%ld)",
                in->bdf >> 8, (in->bdf >> 3) & 31, in->bdf & 7, in->bar_base[0], in->bar_size[0], in->irq_line,
                in->msi, r);
    if (r)
        return 0;
    long rb = pci_bar(0, BAR_CAP);
    long rm = rb ? rb : al_iomem_map(BAR_CAP, AL_FPAGE(in->bar_base[0], 20), MMIO, AL_MAP_RW);
    unsigned cmd = 0;
    pci_cfg_read(0x04, 2, &cmd);
    long rc = pci_cfg_write(0x04, 2, cmd | 0x6); /* memory decoding, bus master */
    struct al_cap_info ci;
    al_cap_info(BAR_CAP, &ci);
    int ok = rb == 0 && rm == 0 && rc == 0 && ci.type == AL_CAP_IOMEM && ci.id == AL_IOMEM_ID(in->bar_base[0], 0x100000);
    if (ok) {
        wr(EDU_LIVE, 0x12345678);
        ok = (rd(EDU_ID) & 0xff) == 0xed && rd(EDU_LIVE) == ~0x12345678u;
    }
    ktap_result(ok, "BAR0 as a device-memory capability for exactly its range, mapped; id %#x, liveness (%ld %ld %ld)",
                ok ? rd(EDU_ID) : 0, rb, rm, rc);
    /* quiet the device before its interrupt is enabled: a previous
     * instance may have died with an interrupt raised */
    wr(EDU_ACK, rd(EDU_ISR));
    al_endpoint_create(EP);
    return ok;
}

static void refusals(void)
{
    unsigned v;
    ktap_result(pci_cfg_write(0x10, 4, 0) == -AL_EPERM && pci_cfg_write(0x14, 4, 0) == -AL_EPERM &&
                    pci_cfg_write(0x30, 4, 0) == -AL_EPERM && pci_cfg_write(0x12, 2, 0) == -AL_EPERM,
                "BARs and the ROM BAR are the server's: EPERM");
    struct pci_info in;
    pci_info(&in);
    ktap_result(pci_cfg_write((unsigned)in.msi + 4, 4, 0xfee00000u) == -AL_EPERM &&
                    pci_cfg_write((unsigned)in.msi, 1, 0) == -AL_EPERM,
                "the MSI capability is the server's: EPERM");
    ktap_result(pci_cfg_read(0x02, 4, &v) == -AL_EINVAL && pci_cfg_read(256, 1, &v) == -AL_EINVAL &&
                    pci_cfg_read(0, 3, &v) == -AL_EINVAL && pci_cfg_read(~0u, 1, &v) == -AL_EINVAL &&
                    pci_bar(6, 20) == -AL_EINVAL && pci_bar(1, 20) == -AL_ENOENT && pci_irq(7, 20) == -AL_EINVAL &&
                    pci_cfg_read(0, 4, &v) == 0 && v == 0x11e81234u,
                "bad offsets, sizes, BAR indices and kinds: EINVAL or ENOENT; our own ID reads back");
    /* the server's own resources are not ours */
    ktap_result(al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(0xb8000, 12), 0x42000000, AL_MAP_R) == -AL_EBADCAP &&
                    al_irq_create(AL_SLOT_IRQ_CONTROL, 20, AL_IRQ_ISA, 1, 0, 0) == -AL_EBADCAP &&
                    al_iomem_map(BAR_CAP, AL_FPAGE(in.bar_base[0] + 0x100000, 12), 0x42000000, AL_MAP_R) == -AL_EPERM,
                "no device memory, IRQ control or other device's pages of our own");
}

static void dma(void)
{
    long a = mem_alloc((void *)DMA_PAGE, 13, AL_MAP_RW);
    long pa = al_phys_addr(DMA_PAGE);
    int ok = a >= 0 && pa > 0 && pa + 0x2000 <= 0x10000000; /* edu masks DMA addresses to 28 bits */
    unsigned char *src = (unsigned char *)DMA_PAGE, *back = (unsigned char *)DMA_BACK;
    if (ok) {
        for (int i = 0; i < DMA_LEN; i++)
            src[i] = (unsigned char)(i * 7 + 3), back[i] = 0;
        wr64(EDU_DMA_SRC, (uint64_t)pa);
        wr64(EDU_DMA_DST, EDU_DMA_BUF);
        wr64(EDU_DMA_CNT, DMA_LEN);
        wr64(EDU_DMA_CMD, 1 | 4); /* RAM -> device, interrupt when done */
        unsigned long k1 = wait_irq();
        uint32_t i1 = ack_all();
        wr64(EDU_DMA_SRC, EDU_DMA_BUF);
        wr64(EDU_DMA_DST, (uint64_t)pa + 0x1000);
        wr64(EDU_DMA_CNT, DMA_LEN);
        wr64(EDU_DMA_CMD, 1 | 2 | 4); /* device -> RAM */
        unsigned long k2 = wait_irq();
        uint32_t i2 = ack_all();
        int same = 1;
        for (int i = 0; i < DMA_LEN; i++)
            same &= back[i] == src[i];
        ok = k1 && k2 && (i1 & ISR_DMA) && (i2 & ISR_DMA) && same;
    }
    ktap_result(ok, "DMA round trip through edu's buffer, %d bytes by physical address %#lx, byte-exact", DMA_LEN, pa);
}

/* ---- where the driver is when the interrupt comes ---- */
static volatile unsigned long spin_count, spin_stop, got_at, got_count;
static char stack2[16384] __attribute__((aligned(16)));
static char stack3[16384] __attribute__((aligned(16)));

static volatile unsigned long raise_at;

/* spins; after a while raises edu's interrupt itself (from user code, at a
 * lower priority than the driver), and spins on */
static long spinner(void *arg)
{
    (void)arg;
    while (!spin_stop) {
        if (++spin_count == 200000) {
            raise_at = spin_count;
            wr(EDU_RAISE, 4);
        }
    }
    return 0;
}

/* a driver thread that waits for one interrupt (with the spinner's count
 * when it woke) */
static long waiter(void *arg)
{
    (void)arg;
    got_count = wait_irq();
    got_at = spin_count;
    ack_all();
    return 0;
}

/* the wait's end: a driver at a low priority waits; a thread above it on
 * the same CPU raises the interrupt and then keeps the CPU for a while
 * (hog_span TSC cycles after the raise). The driver's receive returns
 * only after that, and the kernel's wait ends there, not when the message
 * reached its UTCB. */
static volatile unsigned long hog_span;
static long hog(void *arg)
{
    (void)arg;
    uint64_t t0 = rdtsc();
    wr(EDU_RAISE, 0x10);
    for (volatile unsigned long i = 0; i < 20000000UL; i++)
        ;
    hog_span = rdtsc() - t0;
    return 0;
}

static unsigned lat_bucket(unsigned long wait)
{
    unsigned long w = wait / AL_IRQ_LAT_BASE;
    unsigned b = w ? 64 - (unsigned)__builtin_clzl(w) : 0;
    return b < AL_IRQ_LAT_BUCKETS ? b : AL_IRQ_LAT_BUCKETS - 1;
}

static void wait_ends_at_return(long here)
{
    struct al_irq_info a, b;
    long ra = al_irq_info(IRQ_CAP, &a);
    got_count = 0;
    long w = thread_spawn(waiter, 0, stack3, sizeof stack3, 30, here);
    al_sleep(10000000); /* (it waits in its receive) */
    long h = thread_spawn(hog, 0, stack2, sizeof stack2, 150, here);
    al_thread_join(h, 0);
    al_thread_join(w, 0);
    long rb = al_irq_info(IRQ_CAP, &b);
    /* one new sample, in the span's bucket or above */
    unsigned from = lat_bucket(hog_span), added = 0, above = 0;
    for (unsigned i = 0; i < AL_IRQ_LAT_BUCKETS; i++) {
        added += (unsigned)(b.latency[i] - a.latency[i]);
        if (i >= from)
            above += (unsigned)(b.latency[i] - a.latency[i]);
    }
    ktap_result(ra == 0 && rb == 0 && got_count == 1 && added == 1 && above == 1 && b.latency_max >= hog_span,
                "an IPC delivery's wait ends when the driver's receive returns: a higher-priority thread held the "
                "CPU %lu cycles after the raise; the sample is in bucket %u or above (%u of %u), longest %lu",
                hog_span, from, above, added, b.latency_max);
}

static void situations(void)
{
    /* busy in user code: the message waits on the endpoint for its receive */
    wr(EDU_RAISE, 2);
    for (volatile int i = 0; i < 2000000; i++)
        ;
    struct al_utcb *u = al_utcb();
    long r = al_ipc(AL_IPC_RECV, 0, 0, EP, 0);
    int busy = r == 0 && AL_TAG_LABEL(u->tag) == AL_LABEL_IRQ && u->mr[1] == 1;
    ack_all();
    /* preempted: a lower-priority thread spins on this CPU; the interrupt
     * makes the waiting driver run while the spinner still runs */
    /* (both on the CPU the interrupt goes to: the PCI server made the
     * object, on its own CPU; delivery from another CPU would add an IPI) */
    struct al_irq_info dest;
    long here = al_irq_info(IRQ_CAP, &dest) == 0 ? dest.cpu : 0;
    spin_stop = 0;
    spin_count = raise_at = 0;
    long sp = thread_spawn(spinner, 0, stack2, sizeof stack2, 50, here);
    long w = thread_spawn(waiter, 0, stack3, sizeof stack3, 150, here);
    al_thread_join(w, 0);
    al_sleep(20000000);
    unsigned long after = spin_count;
    spin_stop = 1;
    al_thread_join(sp, 0);
    /* the driver ran at once: the spinner had not gone on by much */
    int preempted = got_count == 1 && raise_at && got_at >= raise_at && got_at < raise_at + 1000 && after > got_at;
    unsigned long before = raise_at, woke = got_at;
    /* another CPU: the driver on the next CPU, the IRQ's destination here */
    int other = -1;
    if (ncpus() > 1) {
        got_count = 0;
        w = thread_spawn(waiter, 0, stack3, sizeof stack3, 150, (here + 1) % ncpus());
        al_sleep(10000000);
        wr(EDU_RAISE, 8);
        al_thread_join(w, 0);
        other = got_count == 1;
    }
    wait_ends_at_return(here);
    /* the kernel's latency histogram counted every message; the one that
     * waited while we were busy in user code is the longest */
    struct al_irq_info inf;
    unsigned long hsum = 0;
    long ri = al_irq_info(IRQ_CAP, &inf);
    for (unsigned b = 0; b < AL_IRQ_LAT_BUCKETS; b++)
        hsum += inf.latency[b];
    ktap_result(ri == 0 && inf.messages >= 3 && hsum == inf.messages && inf.latency_max >= 1000000 &&
                    inf.latency[AL_IRQ_LAT_BUCKETS - 1] >= 1,
                "the kernel's latency histogram: %lu messages, %lu in the buckets, longest wait %lu cycles",
                inf.messages, hsum, inf.latency_max);
    ktap_result(busy && preempted && other != 0,
                "an interrupt reaches its driver busy in user code (%d), waiting while a lower-priority thread runs "
                "and raises it (%d: raised at %lu, %lu when the driver woke, %lu after), on another CPU (%d; -1: one CPU)",
                busy, preempted, before, woke, after, other);
}

/* ---- make bench ---- */
#define BENCH_N 200
static volatile uint64_t t_raise, t_got, best_in = ~0ULL;
static uint64_t lat[BENCH_N + 1]; /* each delivery's IRQ -> driver path (the histogram) */
static volatile unsigned nlat;
static char stack[16384] __attribute__((aligned(16)));

static long driver(void *arg)
{
    (void)arg;
    struct al_utcb *u = al_utcb();
    for (;;) {
        long r = al_ipc(AL_IPC_RECV, 0, 0, EP, AL_TIMEOUT_NEVER);
        t_got = rdtsc();
        if (r || AL_TAG_LABEL(u->tag) != AL_LABEL_IRQ)
            return 1;
        if (t_got - t_raise < best_in)
            best_in = t_got - t_raise;
        if (nlat <= BENCH_N)
            lat[nlat++] = t_got - t_raise;
        wr(EDU_ACK, rd(EDU_ISR));
        al_irq_ack(IRQ_CAP);
    }
}

static void bench(void)
{
    struct pci_info in;
    if (!setup(&in) || bind(PCI_IRQ_MSI)) {
        printf("edu: no device for the benchmark\n");
        return;
    }
    long drv = thread_spawn(driver, 0, stack, sizeof stack, 150, -1);
    al_sleep(1000000);
    uint64_t best_full = ~0ULL, base = ~0ULL;
    for (int i = 0; i < BENCH_N; i++) { /* what two RDTSCs and a store cost */
        uint64_t t0 = rdtsc();
        t_raise = t0;
        uint64_t t1 = rdtsc();
        if (t1 - t0 < base)
            base = t1 - t0;
    }
    struct al_stats a, b;
    al_stats(&a, sizeof a);
    BENCH_REGION_BEGIN(20);
    for (int i = 0; i < BENCH_N; i++) {
        uint64_t t0 = rdtsc();
        t_raise = t0;
        wr(EDU_RAISE, 1);
        uint64_t t1 = rdtsc();
        if (t1 - t0 < best_full)
            best_full = t1 - t0;
    }
    BENCH_REGION_END(20);
    al_stats(&b, sizeof b);
    uint64_t cr3 = b.cr3_writes - a.cr3_writes - 2, fpu = b.fpu_saves - a.fpu_saves;
    /* (the kernel's counters cannot split the cycle: CR3 writes only for it) */
    printf("bench: %-24s %5lu.00 instructions/op\n", "IRQ -> driver (edu MSI)", (unsigned long)(best_in - base));
    printf("bench: %-24s %5lu.00 instructions/op  CR3 writes/op %lu.%02lu  TLB flushes/op 0.00  FPU saves/op %lu.%02lu  "
           "region 20 ops %d\n",
           "full IRQ cycle (edu MSI)", (unsigned long)(best_full - base), (unsigned long)(cr3 / BENCH_N),
           (unsigned long)(cr3 % BENCH_N * 100 / BENCH_N), (unsigned long)(fpu / BENCH_N),
           (unsigned long)(fpu % BENCH_N * 100 / BENCH_N), BENCH_N);
    /* the distribution of the deliveries measured in the region, in 16
     * buckets from the fastest (tools/benchreport.py draws it) */
    uint64_t lo = ~0ULL, hi = 0;
    unsigned first = nlat > BENCH_N ? nlat - BENCH_N : 0, counts[16] = {0};
    for (unsigned i = first; i < nlat; i++) {
        lo = lat[i] < lo ? lat[i] : lo;
        hi = lat[i] > hi ? lat[i] : hi;
    }
    uint64_t width = (hi - lo) / 16 + 1;
    for (unsigned i = first; i < nlat; i++)
        counts[(lat[i] - lo) / width]++;
    printf("hist: IRQ -> driver (edu MSI) | from %lu width %lu counts", (unsigned long)(lo - base), (unsigned long)width);
    for (unsigned b = 0; b < 16; b++)
        printf(" %u", counts[b]);
    printf("\n");
    /* any other message ends the driver thread (the task ends with its last thread) */
    al_ipc(AL_IPC_SEND, EP, AL_TAG(0, 0, 0xdead), 0, AL_TIMEOUT_NEVER);
    al_thread_join(drv, 0);
}

/* `edu crash`: take an INTx interrupt and die in the middle of handling
 * it (device and line not acknowledged); the next instance must be able to
 * take the line and work (the `pci` suite runs `edu` after this) */
static int crash(void)
{
    ktap_plan(3);
    struct pci_info in;
    if (!setup(&in) || bind(PCI_IRQ_INTX))
        return ktap_failures();
    wr(EDU_RAISE, 0x40000000);
    unsigned long k = wait_irq();
    ktap_result(k >= 1 && (rd(EDU_ISR) & 0x40000000), "an INTx interrupt taken; dying before acknowledging it");
    __asm__ volatile("ud2");
    return 1;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "bench")) {
        bench();
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "crash"))
        return crash();
    ktap_plan(14);
    struct pci_info in;
    if (!setup(&in))
        return ktap_failures();
    refusals();
    long r = bind(PCI_IRQ_MSI);
    ktap_result(r == 0, "an MSI IRQ object from the server, bound (%ld)", r);
    factorial(5, 120, "MSI"); /* (the driver waits, the CPU idles: edu completes in its own time) */
    situations();
    r = bind(PCI_IRQ_INTX);
    ktap_result(r == 0, "the INTx line instead (the MSI object revoked), bound (%ld)", r);
    factorial(6, 720, "INTx");
    dma();
    return ktap_failures();
}
