/*
 * Upcalls from a legacy edge line, on any x86 machine: the i8042 keyboard
 * controller's IRQ 1 (ISA, edge), raised on demand with its "write
 * keyboard output buffer" command (0xd2), which QEMU and Bochs both
 * implement. It needs no PCI device, so it runs under Bochs too, where
 * the local APIC is in x2APIC mode unless the kernel is told nox2apic:
 * the trampoline's fast path, whose EOI there is a WRMSR, is tested in
 * both APIC modes (suite `upcall-kbd`, QEMU and Bochs).
 * Module words: ports=0x60:1,0x64:1 irqs=1. No keyboard driver may run.
 *
 * KTAP: the line as an IRQ object bound in upcall mode to this thread,
 * pinned to the CPU the line goes to; eager delivery by the trampoline
 * (the handler sees path 2 and the injected byte), the same with the fast
 * path off (the kernel, path 1); irq_info counts both paths and times
 * both deliveries; two arrivals through a direct ring-3 gate. (Registers
 * across a delivery: the `upcall` suite.)
 */
#include "user/lib/airlock.h"
#include "user/lib/portio.h"
#include "abi/airlock/boot.h"
#include "lib/string.h"

#define IRQ  10
#define BIT  3

#define DATA    0x60
#define STATUS  0x64
#define CMD     0x64
#define ST_OBF  0x01
#define ST_IBF  0x02
#define CCB_KBDINT 0x01
#define CCB_KBDDIS 0x10

static char istack[16384] __attribute__((aligned(16)));
static char dstack[16384] __attribute__((aligned(16)));
static volatile unsigned long entries, last_path, got_byte, took;

static void handler(struct al_upcall_state *st)
{
    last_path = st->path;
    took += al_upcall_take(st, BIT);
    if (inb(STATUS) & ST_OBF)
        got_byte = inb(DATA); /* (the controller lowers the line: the next byte makes a new edge) */
    entries++;
}

static void drain(void)
{
    for (int i = 0; i < 64 && (inb(STATUS) & ST_OBF); i++)
        (void)inb(DATA);
}

/* bounded waits on the controller (it may be absent: then the test fails,
 * it does not hang) */
static int ibf_clear(void)
{
    for (int i = 0; i < 100000; i++)
        if (!(inb(STATUS) & ST_IBF))
            return 1;
    return 0;
}

static int ctl(unsigned char c)
{
    if (!ibf_clear())
        return 0;
    outb(CMD, c);
    return 1;
}

static int read_byte(unsigned char *b)
{
    for (int i = 0; i < 100000; i++)
        if (inb(STATUS) & ST_OBF) {
            *b = inb(DATA);
            return 1;
        }
    return 0;
}

/* the keyboard's interrupt on and its port (QEMU reports nothing through
 * a disabled port, injected bytes included; no key comes in a test boot),
 * the output buffer empty */
static int controller_setup(void)
{
    unsigned char ccb = 0;
    if (!ctl(0xad))
        return 0;
    drain();
    if (!ctl(0x20) || !read_byte(&ccb) || !ctl(0x60) || !ibf_clear())
        return 0;
    outb(DATA, (unsigned char)((ccb | CCB_KBDINT) & ~CCB_KBDDIS));
    return ctl(0xae) && ibf_clear();
}

/* the controller puts b in its output buffer as if the keyboard had sent
 * it, and raises IRQ 1 */
static void raise_byte(unsigned char b)
{
    drain(); /* (a byte left there holds the line high: no edge for ours) */
    if (ctl(0xd2) && ibf_clear())
        outb(DATA, b);
}

/* raise, then spin in user mode until the handler ran (bounded) */
static int eager(unsigned char b, unsigned long want_path)
{
    unsigned long e0 = entries, t0 = took;
    got_byte = 0;
    raise_byte(b);
    for (unsigned long i = 0; i < 400000000UL && entries == e0; i++)
        ;
    return entries == e0 + 1 && took == t0 + 1 && last_path == want_path && got_byte == b;
}

static unsigned long timed(struct al_irq_info *inf)
{
    unsigned long n = 0;
    for (unsigned i = 0; i < AL_IRQ_LAT_BUCKETS; i++)
        n += inf->latency[i];
    return n;
}

int main(void)
{
    ktap_plan(5);
    long r = al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_ISA, 1, 0, 0);
    struct al_irq_info inf;
    long cpu = r == 0 && al_irq_info(IRQ, &inf) == 0 ? (long)inf.cpu : -1;
    int ctl_ok = r == 0 && controller_setup();
    long rs = al_upcall_setup(handler, istack, sizeof istack, AL_UPCALL_ENABLE);
    long rb = rs ? rs : al_irq_bind_upcall(IRQ, 0, BIT);
    if (cpu >= 0)
        al_thread_set_affinity(0, cpu);
    al_sleep(1000000); /* (moved there) */
    int ok = r == 0 && ctl_ok && rb == 0 && cpu >= 0;
    ktap_result(ok, "ISA IRQ 1 (i8042, edge) bound in upcall mode to this thread on CPU %ld (%ld, %ld, controller %d)",
                cpu, r, rb, ctl_ok);
    if (!ok)
        return ktap_failures();
    al_irq_info(IRQ, &inf);
    unsigned long fast0 = inf.paths[AL_IRQ_PATH_TRAMPOLINE], kern0 = inf.paths[AL_IRQ_PATH_UPCALL], t0 = timed(&inf);
    long old = al_kernel_control(AL_KCTL_UPCALL_FASTPATH, 1);
    int tramp = eager(0x1c, AL_UPCALL_PATH_TRAMPOLINE);
    ktap_result(tramp && old >= 0,
                "eager, by the trampoline's fast path (path %lu, the byte %#lx back)",
                last_path, got_byte);
    al_kernel_control(AL_KCTL_UPCALL_FASTPATH, 0);
    int kern = eager(0x9c, AL_UPCALL_PATH_KERNEL);
    al_kernel_control(AL_KCTL_UPCALL_FASTPATH, 1);
    ktap_result(kern, "eager, by the kernel with the fast path off (path %lu, the byte %#lx back)", last_path,
                got_byte);
    al_irq_info(IRQ, &inf);
    unsigned long fast = inf.paths[AL_IRQ_PATH_TRAMPOLINE] - fast0, k = inf.paths[AL_IRQ_PATH_UPCALL] - kern0,
                  t = timed(&inf) - t0;
    ktap_result(fast == 1 && k == 1 && t == 2 && inf.latency_min > 0,
                "irq_info: 1 delivery by the trampoline (%lu), 1 by the kernel (%lu), both timed (%lu), %lu..%lu "
                "cycles",
                fast, k, t, inf.latency_min, inf.latency_max);
    /* a direct ring-3 gate for the line (an edge line, this thread pinned
     * where it goes): the CPU enters the handler with no kernel
     * instruction in between; under Bochs, by an x86 implementation that
     * follows the SDM where QEMU does not (SS after an IST switch, the
     * frame's pushes and SMAP: decisions 59 and 64) */
    al_irq_detach(IRQ);
    long rd = al_upcall_direct(IRQ, BIT, dstack, sizeof dstack);
    int direct = rd == 0 && eager(0x2c, AL_UPCALL_PATH_DIRECT) && eager(0xac, AL_UPCALL_PATH_DIRECT);
    al_irq_info(IRQ, &inf);
    ktap_result(direct && inf.paths[AL_IRQ_PATH_DIRECT] == 2,
                "two arrivals through a direct ring-3 gate (%ld; path %lu, the byte %#lx back; %lu counted)", rd,
                last_path, got_byte, inf.paths[AL_IRQ_PATH_DIRECT]);
    al_irq_detach(IRQ);
    return ktap_failures();
}
