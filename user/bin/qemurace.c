/*
 * qemurace: reproduces a crash of QEMU 7.2's multi-threaded TCG, the one
 * behind decision 73 (docs/ARCHITECTURE.md). Not a test of Airlock and not
 * run by `make test`; tools/qemu-race.sh boots it.
 *
 * Two threads ping-pong an IPC call across CPUs 1 and 2, so those vCPUs
 * write their local APIC (the ICR for the wake-up IPI, the EOI) through
 * MMIO all the time. Meanwhile the main thread, on the CPU it started on,
 * flips the memory-decode bit of the first PCI function of bus 0 that has
 * it on (QEMU's VGA), each flip a change of QEMU's memory map, as the PCI
 * server's BAR sizing makes at boot. On QEMU 7.2 with 4 vCPUs this kills
 * QEMU by SIGSEGV within seconds (a NULL region in
 * memory_region_dispatch_write/read); on 1 vCPU it runs on. Needs the
 * configuration ports: started with ports=0xcf8:8.
 *
 *   qemurace [flips]     stop after that many flips (default: never)
 */
#include "user/lib/airlock.h"
#include "user/lib/portio.h"
#include "abi/airlock/boot.h"

#define EP 10 /* the ping-pong endpoint */
#define PCI_ADDR 0xcf8
#define PCI_DATA 0xcfc

static char stack1[16384] __attribute__((aligned(16)));
static char stack2[16384] __attribute__((aligned(16)));

static long server(void *arg)
{
    (void)arg;
    long r = al_ipc(AL_IPC_RECV, 0, 0, EP, AL_TIMEOUT_NEVER);
    while (r == 0)
        r = al_ipc(AL_IPC_REPLY_RECV, 0, AL_TAG(0, 0, 1), EP, AL_TIMEOUT_NEVER);
    return r;
}

static long client(void *arg)
{
    (void)arg;
    long r = 0;
    while (r == 0)
        r = al_ipc(AL_IPC_CALL, EP, AL_TAG(0, 0, 1), 0, AL_TIMEOUT_NEVER);
    return r;
}

static unsigned cfg_addr(unsigned dev, unsigned off)
{
    return 0x80000000u | dev << 11 | off;
}

int main(int argc, char **argv)
{
    unsigned long flips = ~0UL;
    if (argc > 1) {
        int ok = 0;
        long v = strtol_simple(argv[1], &ok);
        if (!ok || v <= 0) {
            printf("qemurace: bad argument '%s'\n", argv[1]);
            return 2;
        }
        flips = (unsigned long)v;
    }
    unsigned dev = 32;
    for (unsigned d = 0; d < 32 && dev == 32; d++) {
        outl(PCI_ADDR, cfg_addr(d, 0x08));
        unsigned class = inl(PCI_DATA) >> 24;
        outl(PCI_ADDR, cfg_addr(d, 0x04));
        unsigned cmd = inw(PCI_DATA);
        if (cmd != 0xffff && (cmd & 2) && class != 0x06)
            dev = d;
    }
    if (dev == 32) {
        printf("qemurace: no function on bus 0 decodes memory\n");
        return 1;
    }
    long r;
    if ((r = al_endpoint_create(EP))) {
        printf("qemurace: endpoint_create: %ld\n", r);
        return 1;
    }
    long cpus = thread_spawn(server, 0, stack1, sizeof stack1, 100, 1) >= 0 &&
                thread_spawn(client, 0, stack2, sizeof stack2, 100, 2) >= 0;
    printf("qemurace: flipping 00:%02x.0's memory decoding%s\n", dev,
           cpus ? ", IPC ping-pong on CPUs 1 and 2" : " (fewer than 3 CPUs: no ping-pong)");
    outl(PCI_ADDR, cfg_addr(dev, 0x04));
    unsigned cmd = inw(PCI_DATA);
    unsigned long i;
    for (i = 0; i < flips; i++) {
        outl(PCI_ADDR, cfg_addr(dev, 0x04));
        outw(PCI_DATA, (unsigned short)(cmd ^ (i & 1 ? 0 : 2)));
        if (i % 20000 == 0)
            printf("qemurace: %lu flips\n", i);
    }
    outl(PCI_ADDR, cfg_addr(dev, 0x04));
    outw(PCI_DATA, (unsigned short)cmd);
    printf("qemurace: %lu flips, QEMU still alive\n", i);
    return 0;
}
