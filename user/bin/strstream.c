/*
 * A stream of string items between two tasks over the boot endpoint:
 *   strstream server        (start=bg) receives 1 MiB messages into two
 *                           receive buffers and checks every word
 *   strstream client [MiB]  (KTAP) sends the stream, default 256 MiB, as
 *                           two gathered strings per message
 * In each task the buffers are views of a pool the task's own pager hands
 * out page by page at their faults, and the pager, whenever it has had
 * nothing to do for a millisecond, unmaps one page of them again: the
 * kernel's copy and the programs' own accesses keep faulting on both sides
 * while the stream runs. The data is pattern_word(SEED, word offset), so
 * the server checks that nothing is lost, duplicated or corrupted, and both
 * sides keep a checksum of the whole stream, compared at the end.
 *   strstream bench-server  (start=bg) and strstream bench: the benchmark
 *                           of `make bench`: calls carrying one string of
 *                           4 KiB, 64 KiB and 1 MiB into another address
 *                           space (answered with no words: the pipe
 *                           benchmark's SIZE one way and one byte back),
 *                           and a call whose string takes one fault on the
 *                           receiving side, resolved by the receiver's pager
 */
#include "user/lib/airlock.h"
#include "user/bin/strpattern.h"
#include "lib/string.h"

#define BOOT  AL_SLOT_BOOT_EP
#define PEP   10           /* this task's pager */
#define REG   0x40000000UL /* the buffers: views of POOL, mapped at faults */
#define POOL  0x48000000UL
#define PSIZE (2UL << 20) /* 2 MiB */
#define MSG   (1UL << 20) /* bytes per message */
#define SEED  0x57ea

/* where the message's bytes go: two buffers (server) or strings (client) */
static const unsigned long part_at[2] = {REG + 3, REG + (1UL << 20) + 50};
static const unsigned long part_len[2] = {700000, MSG - 700000};

static volatile unsigned long faults, string_faults, unmaps;
static volatile int done, quiet; /* quiet: the pager unmaps nothing (benchmarks) */
static char pstack[16384] __attribute__((aligned(16)));

/* this task's pager: maps the pool page behind a fault in REG; unmaps a
 * pseudo-random view page whenever no fault came for 1 ms */
static long pager(void *arg)
{
    (void)arg;
    struct al_utcb *u = al_utcb();
    unsigned long rnd = 0x1234567;
    long r = al_ipc(AL_IPC_RECV, 0, 0, PEP, 1000000);
    while (!done || r == 0) {
        if (r == -AL_ETIMEDOUT && quiet) {
            r = al_ipc(AL_IPC_RECV, 0, 0, PEP, 1000000);
            continue;
        }
        if (r == -AL_ETIMEDOUT) {
            rnd = rnd * 6364136223846793005UL + 1442695040888963407UL;
            unsigned long off = ((rnd >> 33) % (PSIZE / 4096)) * 4096;
            if (al_map_info(REG + off) > 0 && al_unmap(AL_FPAGE(POOL + off, 12), 0) == 1)
                unmaps++; /* (the view at REG + off goes; the pool keeps the data) */
            r = al_ipc(AL_IPC_RECV, 0, 0, PEP, 1000000);
            continue;
        }
        if (r) {
            r = al_ipc(AL_IPC_RECV, 0, 0, PEP, 1000000);
            continue;
        }
        unsigned long addr = u->mr[AL_FR_ADDR], reply = AL_TAG(0, 0, AL_FAULT_KILL);
        faults++;
        string_faults += (u->mr[AL_FR_ERROR] & AL_PF_STRING) != 0;
        if (AL_TAG_LABEL(u->tag) == AL_LABEL_PAGE_FAULT && addr - REG < PSIZE) {
            u->mr[0] = AL_ITEM_MAP | ((unsigned long)AL_MAP_RW << 8);
            u->mr[1] = AL_FPAGE(POOL + ((addr - REG) & ~0xfffUL), 12);
            reply = AL_TAG(0, 1, 0);
        }
        r = al_ipc(AL_IPC_REPLY_RECV, 0, reply, PEP, 1000000);
    }
    return 0;
}

static long setup(void)
{
    if (mem_alloc((void *)POOL, 21, AL_MAP_RW) < 0 || al_endpoint_create(PEP) < 0)
        return -1;
    long t = thread_spawn(pager, 0, pstack, sizeof pstack, 120, ncpus() > 1 ? 1 : -1);
    if (t < 0)
        return t;
    al_thread_set_handler(0, PEP);
    return t;
}

static unsigned long mix(unsigned long sum, unsigned long w)
{
    return (sum << 7 | sum >> 57) ^ w;
}

/* the message's words at stream word `k0` into (fill) or out of (check)
 * the two parts; returns the checksum, *bad: words that differed */
static unsigned long walk(unsigned long k0, unsigned long sum, int fill, unsigned long *bad)
{
    unsigned long k = k0;
    for (int p = 0; p < 2; p++) {
        unsigned long *w = (unsigned long *)part_at[p]; /* (unaligned: fine on x86) */
        for (unsigned long i = 0; i < part_len[p] / 8; i++, k++) {
            unsigned long want = pattern_word(SEED, k);
            if (fill)
                w[i] = want;
            else if (w[i] != want)
                (*bad)++;
            sum = mix(sum, fill ? want : w[i]);
        }
    }
    return sum;
}

static int server(void)
{
    struct al_utcb *u = al_utcb();
    long pt = setup();
    if (pt < 0)
        return 1;
    for (int p = 0; p < 2; p++) {
        u->str_buf[p].addr = part_at[p];
        u->str_buf[p].len = part_len[p];
    }
    u->str_count = 2;
    unsigned long seq = 0, sum = 0, bad = 0, cut = 0;
    long r = al_ipc(AL_IPC_RECV, 0, 0, BOOT, AL_TIMEOUT_NEVER);
    for (;;) {
        unsigned long reply = AL_TAG(0, 0, 0);
        if (r == 0 && AL_TAG_LABEL(u->tag) == 0xe0f) {
            /* the end: the client's checksum against ours */
            unsigned long theirs = u->mr[0], n = u->mr[1];
            u->mr[0] = theirs == sum && n == seq && !bad && !cut;
            u->mr[1] = sum;
            u->mr[2] = faults;
            u->mr[3] = string_faults;
            u->mr[4] = unmaps;
            u->mr[5] = bad;
            al_ipc(AL_IPC_REPLY, -1, AL_TAG(6, 0, 0), 0, 0);
            break;
        }
        if (r == 0) {
            /* word 0: the message's number; all of it must have come */
            if (u->mr[0] != seq || u->xfer_len != MSG)
                cut++;
            sum = walk(seq * (MSG / 8), sum, 0, &bad);
            seq++;
            u->mr[0] = bad;
            reply = AL_TAG(1, 0, 0);
        }
        r = al_ipc(AL_IPC_REPLY_RECV, 0, reply, BOOT, AL_TIMEOUT_NEVER);
    }
    done = 1;
    al_thread_join(pt, 0);
    return 0;
}

static int client(unsigned long mib)
{
    struct al_utcb *u = al_utcb();
    ktap_plan(4);
    long pt = setup();
    if (pt < 0)
        return 1;
    unsigned long sum = 0, bad = 0, errors = 0, n = mib * ((1UL << 20) / MSG);
    uint64_t t0 = rdtsc();
    for (unsigned long seq = 0; seq < n; seq++) {
        sum = walk(seq * (MSG / 8), sum, 1, &bad);
        u->mr[0] = seq;
        for (int p = 0; p < 2; p++) {
            u->mr[1 + 2 * p] = AL_STRING(part_len[p]);
            u->mr[2 + 2 * p] = part_at[p];
        }
        long r = al_ipc(AL_IPC_CALL, BOOT, AL_TAG(1, 2, 0), 0, AL_TIMEOUT_NEVER);
        if (r || u->xfer_len != MSG || u->mr[0]) {
            if (errors++ < 3)
                printf("# message %lu: %ld, %lu bytes, server saw %lu bad words\n", seq, r, u->xfer_len, u->mr[0]);
        }
    }
    uint64_t t1 = rdtsc();
    u->mr[0] = sum;
    u->mr[1] = n;
    long r = al_ipc(AL_IPC_CALL, BOOT, AL_TAG(2, 0, 0xe0f), 0, AL_TIMEOUT_NEVER);
    ktap_result(!errors && r == 0 && u->mr[0] == 1 && u->mr[5] == 0,
                "%lu MiB in %lu messages: nothing lost, duplicated or corrupted (%lu errors)", mib, n, errors);
    ktap_result(r == 0 && u->mr[1] == sum, "checksums agree (%#lx, %#lx)", sum, u->mr[1]);
    ktap_result(string_faults > 0 && u->mr[3] > 0,
                "both pagers served faults of the kernel's copy (sender %lu of %lu, receiver %lu of %lu)",
                string_faults, faults, u->mr[3], u->mr[2]);
    ktap_result(unmaps > 0 && u->mr[4] > 0, "both pagers unmapped pages meanwhile (sender %lu, receiver %lu)", unmaps,
                u->mr[4]);
    printf("# %lu cycles (%lu per MiB)\n", (unsigned long)(t1 - t0), (unsigned long)(t1 - t0) / (mib ? mib : 1));
    done = 1;
    al_thread_join(pt, 0);
    return ktap_failures() ? 1 : 0;
}

/* ---- the benchmark ---- */

#define BSRC       0x50000000UL /* the client's strings, 1 MiB mapped */
#define BDST       0x50000000UL /* the server's buffer, 1 MiB mapped */
#define LBL_FAULTS 0xf          /* from now on each message lands on a new page of REG */

static int bench_server(void)
{
    struct al_utcb *u = al_utcb();
    quiet = 1;
    long pt = setup();
    if (pt < 0 || mem_alloc((void *)BDST, 20, AL_MAP_RW) < 0)
        return 1;
    al_thread_set_affinity(0, 0);
    unsigned long page = 0;
    int faults_mode = 0;
    u->str_buf[0].addr = BDST;
    u->str_buf[0].len = 1UL << 20;
    u->str_count = 1;
    long r = al_ipc(AL_IPC_RECV, 0, 0, BOOT, AL_TIMEOUT_NEVER);
    while (r || AL_TAG_LABEL(u->tag) != 0xdead) {
        if (r) { /* a failed transfer: no reply owed */
            r = al_ipc(AL_IPC_RECV, 0, 0, BOOT, AL_TIMEOUT_NEVER);
            continue;
        }
        faults_mode |= AL_TAG_LABEL(u->tag) == LBL_FAULTS;
        if (faults_mode) { /* a page not mapped yet: one fault for the next string */
            u->str_buf[0].addr = REG + (page++ % (PSIZE / 4096)) * 4096;
            u->str_buf[0].len = 64;
        }
        r = al_ipc(AL_IPC_REPLY_RECV, 0, AL_TAG(0, 0, 0), BOOT, AL_TIMEOUT_NEVER);
    }
    al_ipc(AL_IPC_REPLY, -1, 0, 0, 0);
    done = 1;
    al_thread_join(pt, 0);
    return 0;
}

/* n calls carrying one string of `size` bytes, in region `region`: one
 * bench: line (the REP iterations per call come from the instrument) */
static void bench_calls(unsigned long size, int n, int region, const char *what)
{
    struct al_utcb *u = al_utcb();
    struct al_stats a, b;
    al_stats(&a, sizeof a);
    al_stats(&b, sizeof b);
    unsigned long self_cr3 = b.cr3_writes - a.cr3_writes;
    unsigned long best = ~0UL;
    for (int run = 0; run < 3; run++) {
        al_stats(&a, sizeof a);
        if (region == 30) /* (a region id must be a literal) */
            BENCH_REGION_BEGIN(30);
        else if (region == 31)
            BENCH_REGION_BEGIN(31);
        else if (region == 32)
            BENCH_REGION_BEGIN(32);
        else
            BENCH_REGION_BEGIN(33);
        uint64_t t0 = rdtsc();
        for (int i = 0; i < n; i++) {
            u->mr[0] = AL_STRING(size);
            u->mr[1] = BSRC;
            al_ipc(AL_IPC_CALL, BOOT, AL_TAG(0, 1, 1), 0, AL_TIMEOUT_NEVER);
        }
        uint64_t t1 = rdtsc();
        if (region == 30)
            BENCH_REGION_END(30);
        else if (region == 31)
            BENCH_REGION_END(31);
        else if (region == 32)
            BENCH_REGION_END(32);
        else
            BENCH_REGION_END(33);
        al_stats(&b, sizeof b);
        if ((t1 - t0) / (unsigned long)n < best)
            best = (t1 - t0) / (unsigned long)n;
        if (region == 33) /* (each page faults once: one run) */
            break;
    }
    /* (the counters, like the instrument's region line, are the last run's) */
    unsigned long ops = (unsigned long)n, cr3 = b.cr3_writes - a.cr3_writes - self_cr3;
    printf("bench: %s  %7lu instructions/op  CR3 writes/op %lu.%02lu  FPU saves/op %lu.%02lu  "
           "%lu instructions per KiB  region %d ops %lu\n",
           what, best, cr3 / (unsigned long)n, cr3 % (unsigned long)n * 100 / (unsigned long)n,
           (b.fpu_saves - a.fpu_saves) / (unsigned long)n,
           (b.fpu_saves - a.fpu_saves) % (unsigned long)n * 100 / (unsigned long)n,
           size >= 1024 ? best / (size / 1024) : 0, region, ops);
}

static int bench(void)
{
    struct al_utcb *u = al_utcb();
    quiet = 1;
    if (mem_alloc((void *)BSRC, 20, AL_MAP_RW) < 0)
        return 1;
    al_thread_set_affinity(0, 0);
    memset((void *)BSRC, 0x5a, 1UL << 20);
    al_sleep(20000000);
    for (int i = 0; i < 20; i++) { /* warm: the server's buffer pages and caches */
        u->mr[0] = AL_STRING(1UL << 20);
        u->mr[1] = BSRC;
        al_ipc(AL_IPC_CALL, BOOT, AL_TAG(0, 1, 1), 0, AL_TIMEOUT_NEVER);
    }
    bench_calls(4096, 200, 30, "string transfer 4 KiB (call, 2 spaces)");
    bench_calls(65536, 50, 31, "string transfer 64 KiB (call, 2 spaces)");
    bench_calls(1UL << 20, 10, 32, "string transfer 1 MiB (call, 2 spaces)");
    al_ipc(AL_IPC_CALL, BOOT, AL_TAG(0, 0, LBL_FAULTS), 0, AL_TIMEOUT_NEVER);
    for (int i = 0; i < 20; i++) { /* warm the fault path (pages 0..19) */
        u->mr[0] = AL_STRING(64);
        u->mr[1] = BSRC;
        al_ipc(AL_IPC_CALL, BOOT, AL_TAG(0, 1, 1), 0, AL_TIMEOUT_NEVER);
    }
    bench_calls(64, 200, 33, "string 64 B, one receiver-side fault (call, 2 spaces)");
    al_ipc(AL_IPC_CALL, BOOT, AL_TAG(0, 0, 0xdead), 0, AL_TIMEOUT_NEVER);
    return 0;
}

int main(int argc, char **argv)
{
    const char *role = argc > 1 ? argv[1] : "";
    if (!strcmp(role, "bench-server"))
        return bench_server();
    if (!strcmp(role, "bench"))
        return bench();
    if (!strcmp(role, "server"))
        return server();
    if (!strcmp(role, "client")) {
        int ok = 1;
        long mib = argc > 2 ? strtol_simple(argv[2], &ok) : 256;
        return ok && mib > 0 ? client((unsigned long)mib) : 2;
    }
    printf("usage: strstream server|client [MiB]\n");
    return 2;
}
