/*
 * IRQ objects: shared level lines, affinity, the storm throttle and
 * irq_info (KTAP; the `irq` suite of tools/ktest.py, 1 and 4 CPUs).
 * Started with irqs=1 (the IRQ-control capability) and ports=0x70:2 (the
 * CMOS RTC), whose periodic interrupt on GSI 8, bound level/active-high,
 * is the level line: it stays asserted until register C is read.
 *
 * Modes (first argument):
 *   share     two shared objects on GSI 8: both get each arrival; the line
 *             stays masked until both acknowledged (or one was detached or
 *             deleted); the refusals of sharing
 *   affinity  irq_set_cpu: a driver thread on another CPU than the
 *             destination gets the messages; after each change the
 *             interrupt arrives on the new CPU (irq_info's last_cpu); many
 *             changes under load lose no arrival; MSI: the new message;
 *             the refusals of irq_set_cpu and irq_info
 *   storm     the RTC left asserted and acknowledged without reading
 *             register C: throttled, counted, and a lower-priority thread
 *             on the same CPU still runs
 */
#include "user/lib/airlock.h"
#include "user/lib/portio.h"
#include "user/lib/rtc.h"
#include "abi/airlock/boot.h"
#include "lib/string.h"

#define EP    10
#define EP2   11
#define IRQ   12
#define IRQ2  13
#define SPARE 14
#define NORTS 15 /* an IRQ capability without rights */
/* irq_info is system call 44, which comes after the device-memory calls
 * 42 and 43 of a parallel change: until it is in the ABI, the checks that
 * read an object's statistics are skipped (INFO 0; IF_INFO(c) holds) */
#ifdef AL_IRQ_INFO_BOUND
#define INFO 1
#else
#define INFO 0
struct al_irq_info {
    unsigned long id, vector, flags;
    long cpu, last_cpu;
    unsigned long arrivals, messages, coalesced, throttled;
};
#define AL_IRQ_INFO_BOUND  0x100
#define AL_IRQ_INFO_MASKED 0x200
static long al_irq_info(long irq, struct al_irq_info *out)
{
    (void)irq;
    (void)out;
    return -AL_ENOSYS;
}
#endif
#define IF_INFO(c) (!INFO || (c))

#define BADGE 0x5a1
#define BADGE2 0x5a2

static struct rtc_saved rtc_saved;

/* the RTC's periodic interrupt at 1024 Hz; register C read (line quiet) */
static void rtc_on(void)
{
    rtc_saved = rtc_periodic_on();
}
static void rtc_off(void)
{
    rtc_restore(rtc_saved);
}

/* a message on ep within ms milliseconds: 1 with its count and badge,
 * 0 if none, -1 if not an interrupt message */
static int wait_msg(long ep, long ms, unsigned long *n, unsigned long *badge)
{
    struct al_utcb *u = al_utcb();
    if (al_ipc(AL_IPC_RECV, 0, 0, ep, ms * 1000000L) != 0)
        return 0;
    if (AL_TAG_LABEL(u->tag) != AL_LABEL_IRQ || AL_TAG_WORDS(u->tag) != 2)
        return -1;
    *n = u->mr[1];
    if (badge)
        *badge = u->badge;
    return 1;
}

static struct al_irq_info info_of(long slot)
{
    struct al_irq_info i;
    memset(&i, 0, sizeof i);
    if (al_irq_info(slot, &i))
        i.cpu = -2;
    return i;
}

static int masked(long slot)
{
    return (info_of(slot).flags & AL_IRQ_INFO_MASKED) != 0;
}

/* ------------------------------------------------------------- share */

static int share(void)
{
    ktap_plan(7);
    unsigned long n = 0, b = 0, n2 = 0;
    const long LVL = AL_IRQ_LEVEL, SH = AL_IRQ_LEVEL | AL_IRQ_SHARED;
    al_endpoint_create(EP);
    al_endpoint_create(EP2);

    int e = al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_GSI, 8, AL_IRQ_SHARED, 0) == -AL_EINVAL &&
            al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_GSI, 8, 8 | LVL, 0) == -AL_EINVAL &&
            al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_ISA, 8, AL_IRQ_SHARED, 0) == -AL_EINVAL;
    /* held alone: a shared object is refused, and the other way round */
    long r0 = al_irq_create(AL_SLOT_IRQ_CONTROL, SPARE, AL_IRQ_GSI, 8, LVL, 0);
    long r1 = al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_GSI, 8, SH, 0);
    long r2 = al_cap_delete(SPARE);
    ktap_result(e && r0 == 0 && r1 == -AL_EBUSY && r2 == 0,
                "refused: shared without level, unknown flags, a shared ISA IRQ, a shared object on a line held alone "
                "(%ld)", r1);

    r0 = al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_GSI, 8, SH, 0);
    r1 = al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ2, AL_IRQ_GSI, 8, SH, 0);
    long r3 = al_irq_create(AL_SLOT_IRQ_CONTROL, SPARE, AL_IRQ_GSI, 8, LVL, 0);
    long r4 = al_irq_create(AL_SLOT_IRQ_CONTROL, SPARE, AL_IRQ_ISA, 8, 0, 0);
    long r5 = al_irq_create(AL_SLOT_IRQ_CONTROL, SPARE, AL_IRQ_GSI, 8, SH | AL_IRQ_LOW, 0);
    struct al_irq_info i1 = info_of(IRQ), i2 = info_of(IRQ2);
    ktap_result(r0 == 0 && r1 == 0 && r3 == -AL_EBUSY && r4 == -AL_EBUSY && r5 == -AL_EBUSY &&
                    IF_INFO(i1.vector == i2.vector && (i1.flags & AL_IRQ_SHARED) && (i2.flags & AL_IRQ_SHARED)),
                "two shared objects on GSI 8, one vector (%#lx); a non-shared one, the ISA IRQ, other flags refused "
                "(%ld, %ld, %ld)",
                i1.vector, r3, r4, r5);

    r0 = al_irq_bind(IRQ, EP, BADGE);
    r1 = al_irq_bind(IRQ2, EP2, BADGE2);
    rtc_on();
    int g1 = wait_msg(EP, 500, &n, &b);
    int g2 = wait_msg(EP2, 500, &n2, 0);
    ktap_result(r0 == 0 && r1 == 0 && g1 == 1 && g2 == 1 && n == 1 && n2 == 1 && b == BADGE && IF_INFO(masked(IRQ)),
                "one arrival: a message to each object, the line masked");

    (void)cmos_read(0x0c); /* the device is served: quiet until its next period (~1 ms) */
    r0 = al_irq_ack(IRQ);
    int m1 = masked(IRQ);
    g1 = wait_msg(EP, 30, &n, 0);
    r1 = al_irq_ack(IRQ2);
    g2 = wait_msg(EP, 500, &n, 0);
    int g3 = wait_msg(EP2, 500, &n2, 0);
    ktap_result(r0 == 0 && IF_INFO(m1) && g1 == 0 && r1 == 0 && g2 == 1 && g3 == 1,
                "still masked after the first acknowledgement (nothing for 30 ms); the second unmasks it");

    /* a detach counts as the acknowledgement */
    (void)cmos_read(0x0c);
    r0 = al_irq_ack(IRQ);
    g1 = wait_msg(EP, 30, &n, 0);
    r1 = al_irq_detach(IRQ2);
    g2 = wait_msg(EP, 500, &n, 0);
    g3 = wait_msg(EP2, 30, &n2, 0);
    ktap_result(r0 == 0 && g1 == 0 && r1 == 0 && g2 == 1 && g3 == 0,
                "one object detached while it owed its acknowledgement: the line is unmasked for the other");

    /* a deletion too (as the end of the task that holds it) */
    r0 = al_irq_bind(IRQ2, EP2, BADGE2);
    (void)cmos_read(0x0c);
    r1 = al_irq_ack(IRQ);
    g1 = wait_msg(EP, 500, &n, 0);
    g2 = wait_msg(EP2, 500, &n2, 0);
    (void)cmos_read(0x0c);
    r2 = al_irq_ack(IRQ);
    g3 = wait_msg(EP, 30, &n, 0);
    r3 = al_cap_delete(IRQ2);
    int g4 = wait_msg(EP, 500, &n, 0);
    ktap_result(r0 == 0 && r1 == 0 && g1 == 1 && g2 == 1 && r2 == 0 && g3 == 0 && r3 == 0 && g4 == 1,
                "one object deleted while it owed its acknowledgement: the line is unmasked for the other");

    /* the line's last object: its source is free again */
    rtc_off();
    i1 = info_of(IRQ);
    r0 = al_irq_ack(IRQ);
    r1 = al_cap_delete(IRQ);
    r2 = al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_ISA, 8, 0, 0);
    ktap_result(IF_INFO(i1.arrivals >= 5 && i1.messages >= 5) && r0 == 0 && r1 == 0 && r2 == 0 && al_cap_delete(IRQ) == 0,
                "statistics (%lu arrivals, %lu messages); the last deletion frees the line", i1.arrivals, i1.messages);
    al_cap_delete(EP);
    al_cap_delete(EP2);
    return ktap_failures();
}

/* ---------------------------------------------------------- affinity */

static struct al_cpu_info cpu_tab[64];

static int affinity(void)
{
    ktap_plan(6);
    long ncpu = al_cpu_info(cpu_tab, 64);
    long last = ncpu - 1;
    unsigned long n = 0;
    al_endpoint_create(EP);
    al_thread_set_affinity(0, 0);
    long r0 = al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_GSI, 8, AL_IRQ_LEVEL, 0);
    long r1 = al_cap_copy(IRQ, NORTS, 0, 0);
    struct al_irq_info i0 = info_of(IRQ);
    struct al_irq_msi msi = {0, 0};
    int e = r0 == 0 && r1 == 0 &&
            IF_INFO(i0.cpu == 0 && i0.id == AL_IRQ_ID(AL_IRQ_GSI, 8) && i0.last_cpu == -1 &&
                    (i0.flags & AL_IRQ_LEVEL) && !(i0.flags & AL_IRQ_INFO_BOUND) &&
                    (i0.flags & AL_IRQ_INFO_MASKED) && i0.arrivals == 0);
    e &= al_irq_set_cpu(300, 0, 0) == -AL_EBADCAP && al_irq_set_cpu(EP, 0, 0) == -AL_EBADCAP &&
         al_irq_set_cpu(NORTS, 0, 0) == -AL_EPERM && al_irq_set_cpu(IRQ, ncpu, 0) == -AL_EINVAL &&
         al_irq_set_cpu(IRQ, -1, 0) == -AL_EINVAL && al_irq_set_cpu(IRQ, 64, 0) == -AL_EINVAL;
    e &= IF_INFO(al_irq_info(300, 0) == -AL_EBADCAP && al_irq_info(EP, 0) == -AL_EBADCAP &&
                 al_irq_info(NORTS, 0) == -AL_EPERM && al_irq_info(IRQ, 0) == -AL_EFAULT &&
                 al_irq_info(IRQ, (struct al_irq_info *)0xffff800000000000UL) == -AL_EFAULT);
    ktap_result(e, "irq_info of a new object (CPU %ld); irq_set_cpu, irq_info: bad slots, types, rights, CPUs, pointers",
                i0.cpu);

    /* the driver (we) on the last CPU, the destination CPU 0 */
    al_thread_set_affinity(0, last);
    struct al_cpu_info me;
    long here = al_cpu_self(&me);
    r0 = al_irq_bind(IRQ, EP, BADGE);
    rtc_on();
    int g = wait_msg(EP, 500, &n, 0);
    struct al_irq_info i1 = info_of(IRQ);
    ktap_result(r0 == 0 && here == last && g == 1 && IF_INFO(i1.last_cpu == 0 && i1.cpu == 0 && i1.messages == 1),
                "arrival on CPU %ld, delivered to the driver on CPU %ld", i1.last_cpu, here);

    /* moved while a message is outstanding (the line masked): each next
     * arrival comes on the new CPU */
    e = 1;
    for (long c = last; c >= 0; c--) {
        long rs = al_irq_set_cpu(IRQ, c, 0);
        (void)cmos_read(0x0c);
        al_irq_ack(IRQ);
        g = wait_msg(EP, 500, &n, 0);
        struct al_irq_info i = info_of(IRQ);
        if (rs || g != 1 || !IF_INFO(i.cpu == c && i.last_cpu == c)) {
            printf("    # cpu %ld: set %ld, got %d, info cpu %ld last %ld\n", c, rs, g, i.cpu, i.last_cpu);
            e = 0;
        }
    }
    ktap_result(e, "moved to each of the %ld CPUs in turn: the next arrival comes on the new one", ncpu);

    /* moved while the line is live: nothing is lost (every arrival is
     * counted and reported, the line never stays masked) */
    i1 = info_of(IRQ);
    unsigned long reported = i1.arrivals; /* all reported so far (the line masked since) */
    e = 1;
    for (int k = 0; k < 200 && e; k++) {
        (void)cmos_read(0x0c);
        al_irq_ack(IRQ);
        al_irq_set_cpu(IRQ, k % ncpu, 0); /* the line unmasked: an arrival may be under way */
        g = wait_msg(EP, 500, &n, 0);
        if (g != 1)
            e = 0;
        else
            reported += n;
    }
    rtc_off();
    al_irq_ack(IRQ);
    int late = wait_msg(EP, 30, &n, 0); /* one last arrival may have come before rtc_off */
    if (late == 1) {
        reported += n;
        al_irq_ack(IRQ);
    }
    struct al_irq_info i2 = info_of(IRQ);
    ktap_result(e && IF_INFO(i2.arrivals == reported && i2.messages + i2.coalesced == reported),
                "200 moves under load: %lu arrivals, all reported (%lu messages)", i2.arrivals, i2.messages);

    /* MSI: the new message for the driver to program */
    r0 = al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ2, AL_IRQ_MSI, 0, 0, &msi);
    struct al_irq_msi m2 = {0, 0};
    r1 = al_irq_set_cpu(IRQ2, last, &m2);
    struct al_irq_info i3 = info_of(IRQ2);
    long r2 = al_irq_set_cpu(IRQ2, 0, 0);
    long r3 = al_irq_set_cpu(IRQ2, 0, (struct al_irq_msi *)0x7fff0000000UL);
    struct al_irq_info i4 = info_of(IRQ2);
    ktap_result(r0 == 0 && r1 == 0 && m2.addr == (0xfee00000UL | (unsigned long)cpu_tab[last].apic_id << 12) &&
                    m2.data == msi.data && IF_INFO(i3.cpu == last) && r2 == -AL_EFAULT && r3 == -AL_EFAULT &&
                    IF_INFO(i4.cpu == last),
                "MSI moved to CPU %ld: the new message %#lx/%#lx; a bad pointer changes nothing", last, m2.addr, m2.data);

    r0 = al_cap_delete(IRQ2);
    r1 = al_cap_delete(NORTS);
    r2 = al_cap_delete(IRQ);
    r3 = al_cap_delete(EP);
    ktap_result(r0 == 0 && r1 == 0 && r2 == 0 && r3 == 0, "deleted");
    al_thread_set_affinity(0, -1);
    return ktap_failures();
}

/* ------------------------------------------------------------- storm */

static char stack[16384] __attribute__((aligned(16)));
static volatile int stop;
static volatile unsigned long handled;

/* a broken driver: acknowledges without serving the device */
static long broken_driver(void *arg)
{
    (void)arg;
    unsigned long n;
    while (!stop) {
        if (wait_msg(EP, 50, &n, 0) == 1) {
            handled++;
            al_irq_ack(IRQ);
        }
    }
    return 0;
}

/* busy loop for ms milliseconds of wall time: the rounds it made */
static unsigned long spin(long ms)
{
    unsigned long rounds = 0;
    long end = al_clock() + ms * 1000000L;
    while (al_clock() < end)
        rounds++;
    return rounds;
}

static int storm(void)
{
    ktap_plan(4);
    al_thread_set_affinity(0, 0);
    al_thread_set_prio(0, 50);
    al_endpoint_create(EP);
    unsigned long base = spin(200);
    long r0 = al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_GSI, 8, AL_IRQ_LEVEL, 0);
    long r1 = al_irq_bind(IRQ, EP, BADGE);
    long t = thread_spawn(broken_driver, 0, stack, sizeof stack, 150, 0);
    ktap_result(r0 == 0 && r1 == 0 && t > 0, "GSI 8 bound; a driver at priority 150 on CPU 0 that never reads register C");

    rtc_on(); /* from its first period on, the line stays asserted */
    long t0 = al_clock();
    unsigned long busy = spin(300);
    long ms = (al_clock() - t0) / 1000000;
    struct al_irq_info i = info_of(IRQ);
    stop = 1;
    long st = 0;
    al_thread_join(t, &st);
    ktap_result(busy > base / 20 && handled > 0,
                "a thread of priority 50 on the same CPU still runs: %lu rounds in %ld ms (%lu in 200 ms quiet); "
                "the driver handled %lu",
                busy, ms, base, handled);
    ktap_result(IF_INFO(i.throttled > 0) && handled <= 32 * (unsigned long)(ms / 10 + 2),
                "throttled %lu times: %lu messages in %ld ms, at most 32 per 10 ms tick", i.throttled, handled, ms);
    rtc_off();
    r0 = al_irq_detach(IRQ);
    r1 = al_cap_delete(IRQ);
    ktap_result(r0 == 0 && r1 == 0 && al_cap_delete(EP) == 0, "RTC restored, the object deleted");
    al_thread_set_affinity(0, -1);
    return ktap_failures();
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "share"))
        return share();
    if (argc > 1 && !strcmp(argv[1], "affinity"))
        return affinity();
    if (argc > 1 && !strcmp(argv[1], "storm"))
        return storm();
    printf("irqshare: share, affinity or storm\n");
    return 1;
}
