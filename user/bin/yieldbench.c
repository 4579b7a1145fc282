/*
 * Thread-switch benchmark: two instances, each a task of its own, pinned
 * to CPU 0 at the same priority, yield to each other. One round is
 * A -> B -> A: two system calls and two switches between address spaces.
 * Run under -icount shift=0 (RDTSC = instructions); see tools/ktest.py.
 *
 * `yieldbench ROUNDS ports`: both tasks hold I/O ports (the root task gave
 * them, ports=BASE:COUNT) and have used them once before the measurement:
 * each switch then loads the next task's ports into the CPU's bitmap.
 * `yieldbench ROUNDS meet`: no ports, but the two meet on the boot
 * endpoint before they sleep, as with ports (under Bochs the second one
 * starts later than the sleep covers).
 */
#include "abi/airlock/boot.h"
#include "lib/string.h"
#include "user/lib/airlock.h"

int main(int argc, char **argv)
{
    int ok;
    long rounds = argc > 1 ? strtol_simple(argv[1], &ok) : 2000;
    al_thread_set_affinity(0, 0);
    int ports = argc > 2 && !strcmp(argv[2], "ports");
    int meet = ports || (argc > 2 && !strcmp(argv[2], "meet"));
    struct al_cap_info ci;
    if (ports) {
        /* one access: this CPU's bitmap takes our ports (from then on,
         * every switch to us or to the partner loads the next one's) */
        if (al_cap_info(AL_SLOT_IOPORTS, &ci) || ci.type != AL_CAP_IOPORT) {
            printf("yieldbench: no I/O ports\n");
            return 1;
        }
        unsigned v, port = (unsigned)AL_IOPORT_BASE(ci.id);
        __asm__ volatile("inl %%dx, %%eax" : "=a"(v) : "d"(port) : "memory");
    }
    if (meet) {
        /* the root task takes longer to start the second of us here: meet
         * on the boot endpoint first, so that both sleeps end at one tick */
        if (al_ipc(AL_IPC_SEND, AL_SLOT_BOOT_EP, AL_TAG(0, 0, 0), 0, 0))
            al_ipc(AL_IPC_RECV, 0, 0, AL_SLOT_BOOT_EP, AL_TIMEOUT_NEVER);
    }
    al_sleep(50000000); /* let the partner start */
    struct al_stats a, b;
    for (long i = 0; i < rounds / 4; i++)
        al_yield();
    al_stats(&a, sizeof a);
    uint64_t t0 = rdtsc();
    long n = rounds / 2;
    for (long i = 0; i < n; i++)
        al_yield();
    uint64_t t1 = rdtsc();
    al_stats(&b, sizeof b);
    /* keep yielding until the partner has surely finished its own timed
     * loop too: printing now would land inside the partner's measurement */
    for (long i = 0; i < n; i++)
        al_yield();
    /* each of our yields is one round; the stats call pair adds 4 CR3 writes
     * (ours and, while we wait, nothing else runs on CPU 0) */
    unsigned long cr3 = b.cr3_writes - a.cr3_writes, tlb = b.tlb_flushes - a.tlb_flushes;
    printf("bench: thread switch (yield, 2 spaces%s)  %5lu instructions/round  CR3 writes/round %lu.%02lu  "
           "TLB flushes/round %lu.%02lu  FPU saves/round %lu.%02lu (%ld rounds, %s)\n",
           ports ? ", both with ports" : "", (unsigned long)((t1 - t0) / (uint64_t)n), cr3 / (unsigned long)n,
           cr3 % (unsigned long)n * 100 / (unsigned long)n, tlb / (unsigned long)n,
           tlb % (unsigned long)n * 100 / (unsigned long)n, (b.fpu_saves - a.fpu_saves) / (unsigned long)n,
           (b.fpu_saves - a.fpu_saves) % (unsigned long)n * 100 / (unsigned long)n, n, argv[0]);
    for (long i = 0; i < rounds / 4; i++)
        al_yield();
    return 0;
}
