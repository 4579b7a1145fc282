/*
 * String items in IPC (KTAP; docs/ABI.md section 5.14):
 *   strcopy          the tests, in one task: a receiver thread, the main
 *                    thread sending, and one pager thread for each of them
 *                    (each side's page faults during the copy go to its
 *                    own pager), plus child tasks that are killed mid-copy
(the stream through two tasks is user/bin/strstream.c)
 * The data at stream offset i is pattern(seed, i), so a lost, duplicated
 * or corrupted byte shows where it happened.
 */
#include "user/lib/airlock.h"
#include "user/lib/child.h"
#include "user/bin/strpattern.h"
#include "lib/string.h"

#define EP       10 /* the receiver thread's endpoint */
#define EP_PS    11 /* the sender's pager */
#define EP_PR    12 /* the receiver's pager */
#define EP_CHILD 13 /* where a child task sends or receives */
#define TASK     20

#define SRC    0x40000000UL /* 4 MiB, mapped from sigma0 */
#define DST    0x44000000UL /* 8 MiB, mapped */
#define SFAULT 0x48000000UL /* 1 MiB, the sender's pager fills it from SPOOL */
#define RFAULT 0x4c000000UL /* 1 MiB, the receiver's pager fills it from RPOOL */
#define SPOOL  0x50000000UL
#define RPOOL  0x54000000UL
#define SHARED 0x58000000UL /* child tasks: shared page, stack, data pages */
#define CSTACK (SHARED + 0x1000)
#define CDATA  (SHARED + 0x2000) /* mapped into a child at CWIN; CWIN + 4096 stays unmapped there */
#define CWIN   0x60000000UL
#define MIB    (1UL << 20)

static char stacks[5][16384] __attribute__((aligned(16)));

/* ---- pagers ---- */

enum { P_MAP = 0, P_STALL, P_RO_FIRST };
struct pager {
    long ep;
    unsigned long region, pool;
    volatile int mode;
    volatile unsigned long faults, strings, last_error, last_addr, stalled, cpu;
};
static struct pager ps = {EP_PS, SFAULT, SPOOL, 0, 0, 0, 0, 0, 0, 0};
static struct pager pr = {EP_PR, RFAULT, RPOOL, 0, 0, 0, 0, 0, 0, 0};

static long pager(void *arg)
{
    struct pager *p = arg;
    struct al_utcb *u = al_utcb();
    long r = al_ipc(AL_IPC_RECV, 0, 0, p->ep, AL_TIMEOUT_NEVER);
    for (;;) {
        if (r) {
            r = al_ipc(AL_IPC_RECV, 0, 0, p->ep, AL_TIMEOUT_NEVER);
            continue;
        }
        if (AL_TAG_LABEL(u->tag) == 0xdead)
            return 0; /* the tests are over */
        unsigned long addr = u->mr[AL_FR_ADDR], err = u->mr[AL_FR_ERROR], reply = AL_TAG(0, 0, AL_FAULT_KILL);
        struct al_cpu_info ci;
        al_cpu_self(&ci);
        p->cpu = ci.index;
        p->faults++;
        p->strings += (err & AL_PF_STRING) != 0;
        p->last_error = err;
        p->last_addr = addr;
        if (p->mode == P_STALL) {
            p->stalled = 1;
            while (p->mode == P_STALL)
                al_sleep(1000000);
            p->stalled = 0;
        }
        if (AL_TAG_LABEL(u->tag) == AL_LABEL_PAGE_FAULT && addr - p->region < MIB) {
            int rights = AL_MAP_RW;
            if (p->mode == P_RO_FIRST && !(err & 1))
                rights = AL_MAP_R; /* first a read-only page: the copy must fault again */
            u->mr[0] = AL_ITEM_MAP | ((unsigned long)rights << 8);
            u->mr[1] = AL_FPAGE(p->pool + ((addr - p->region) & ~0xfffUL), 12);
            reply = AL_TAG(0, 1, 0);
        }
        r = al_ipc(AL_IPC_REPLY_RECV, 0, reply, p->ep, AL_TIMEOUT_NEVER);
    }
    return 0;
}

/* ---- the receiver thread: records each receive ---- */

static struct al_utcb *volatile rutcb;
static volatile unsigned long rseq;
static volatile long rres;
static volatile unsigned long rlen, rtag, ritem[8];

static long receiver(void *arg)
{
    (void)arg;
    struct al_utcb *u = al_utcb();
    al_thread_set_handler(0, EP_PR);
    rutcb = u;
    for (;;) {
        long r = al_ipc(AL_IPC_RECV, 0, 0, EP, AL_TIMEOUT_NEVER);
        if (r == 0 && AL_TAG_LABEL(u->tag) == 0xdead)
            return 0;
        rres = r;
        rlen = u->xfer_len;
        rtag = u->tag;
        for (int i = 0; i < 8; i++)
            ritem[i] = u->mr[i];
        __atomic_add_fetch(&rseq, 1, __ATOMIC_SEQ_CST);
    }
    return 0;
}

/* ---- helpers ---- */

static void fill(unsigned long va, unsigned long len, unsigned long seed, unsigned long off)
{
    for (unsigned long i = 0; i < len; i++)
        ((volatile unsigned char *)va)[i] = pattern(seed, off + i);
}

/* the first byte of [va, va+len) that is not pattern(seed, off + i), or -1 */
static long check(unsigned long va, unsigned long len, unsigned long seed, unsigned long off)
{
    for (unsigned long i = 0; i < len; i++)
        if (((volatile unsigned char *)va)[i] != pattern(seed, off + i))
            return (long)i;
    return -1;
}

static int all_bytes(unsigned long va, unsigned long len, unsigned char b)
{
    for (unsigned long i = 0; i < len; i++)
        if (((volatile unsigned char *)va)[i] != b)
            return 0;
    return 1;
}

static void bufs(int n, const unsigned long *addr_len)
{
    struct al_utcb *u = rutcb;
    for (int i = 0; i < n; i++) {
        u->str_buf[i].addr = addr_len[2 * i];
        u->str_buf[i].len = addr_len[2 * i + 1];
    }
    u->str_count = (unsigned long)n;
}

/* send one word and string items (addr, len pairs) to the receiver thread;
 * with `rec`, wait until it has recorded its side. Returns the send's result. */
static long send_rec(int n, const unsigned long *addr_len, int rec)
{
    struct al_utcb *u = al_utcb();
    unsigned long seq = rseq;
    u->mr[0] = 0x5717;
    for (int i = 0; i < n; i++) {
        u->mr[1 + 2 * i] = AL_STRING(addr_len[2 * i + 1]);
        u->mr[2 + 2 * i] = addr_len[2 * i];
    }
    long r = al_ipc(AL_IPC_SEND, EP, AL_TAG(1, n, 0x77), 0, AL_TIMEOUT_NEVER);
    while (rec && rseq == seq)
        al_yield();
    return r;
}

static long send_strings(int n, const unsigned long *addr_len)
{
    return send_rec(n, addr_len, 1);
}

/* the receiver got it all: result 0, words, and string item k rewritten */
static int got_item(int k, unsigned long len, unsigned long at)
{
    return ritem[1 + 2 * k] == AL_STRING(len) && ritem[2 + 2 * k] == at;
}

static unsigned long cpu_of_self(void)
{
    struct al_cpu_info ci;
    al_cpu_self(&ci);
    return ci.index;
}

/* ---- basic transfers ---- */

static void basics(void)
{
    fill(SRC, 4 * MIB, 1, 0);
    memset((void *)DST, 0, 64 * 1024);
    unsigned long b1[] = {DST, 4096};
    bufs(1, b1);
    unsigned long s1[] = {SRC + 5, 1};
    long r = send_strings(1, s1);
    ktap_result(r == 0 && rres == 0 && rlen == 1 && AL_TAG_ITEMS(rtag) == 1 && ritem[0] == 0x5717 &&
                    got_item(0, 1, DST) && check(DST, 1, 1, 5) < 0 && all_bytes(DST + 1, 4095, 0),
                "a string of 1 byte (%ld %ld len %lu)", r, rres, rlen);
    unsigned long s2[] = {SRC + 64, 100};
    r = send_strings(1, s2);
    ktap_result(r == 0 && rres == 0 && rlen == 100 && got_item(0, 100, DST) && check(DST, 100, 1, 64) < 0 &&
                    al_utcb()->xfer_len == 100,
                "one string, both sides told the length (%ld %lu)", r, rlen);
    unsigned long s3[] = {SRC + 4096, 4096};
    r = send_strings(1, s3);
    ktap_result(r == 0 && rres == 0 && rlen == 4096 && check(DST, 4096, 1, 4096) < 0, "a string of one page");
    unsigned long b4[] = {DST + 4000, 20000};
    bufs(1, b4);
    unsigned long s4[] = {SRC + 4090, 12000};
    r = send_strings(1, s4);
    ktap_result(r == 0 && rlen == 12000 && got_item(0, 12000, DST + 4000) && check(DST + 4000, 12000, 1, 4090) < 0 &&
                    all_bytes(DST + 16000, 8000, 0),
                "across page boundaries, both sides unaligned (%ld)", r);
    /* gather: three strings into one buffer */
    memset((void *)DST, 0, 64 * 1024);
    unsigned long b5[] = {DST, 64 * 1024};
    bufs(1, b5);
    unsigned long s5[] = {SRC + 100, 300, SRC + 9000, 5000, SRC + 3, 1};
    r = send_strings(3, s5);
    ktap_result(r == 0 && rlen == 5301 && got_item(0, 300, DST) && got_item(1, 5000, DST + 300) &&
                    got_item(2, 1, DST + 5300) && check(DST, 300, 1, 100) < 0 && check(DST + 300, 5000, 1, 9000) < 0 &&
                    check(DST + 5300, 1, 1, 3) < 0,
                "several strings gathered into one buffer, each item says where it landed");
    /* scatter: one string into three buffers */
    memset((void *)DST, 0, 64 * 1024);
    unsigned long b6[] = {DST + 40000, 1000, DST, 7000, DST + 20000, 9000};
    bufs(3, b6);
    unsigned long s6[] = {SRC, 12000};
    r = send_strings(1, s6);
    ktap_result(r == 0 && rlen == 12000 && got_item(0, 12000, DST + 40000) && check(DST + 40000, 1000, 1, 0) < 0 &&
                    check(DST, 7000, 1, 1000) < 0 && check(DST + 20000, 4000, 1, 8000) < 0 &&
                    all_bytes(DST + 24000, 5000, 0),
                "one string scattered over three buffers in their order");
    /* 4 MiB */
    unsigned long b7[] = {DST, 8 * MIB};
    bufs(1, b7);
    unsigned long s7[] = {SRC, 4 * MIB};
    r = send_strings(1, s7);
    ktap_result(r == 0 && rlen == 4 * MIB && got_item(0, 4 * MIB, DST) && check(DST, 4 * MIB, 1, 0) < 0,
                "a string of 4 MiB (%ld, %lu bytes)", r, rlen);
}

/* ---- faults ---- */

static void unmap_views(void)
{
    al_unmap(AL_FPAGE(SPOOL, 20), 0); /* the pool stays, every view of it goes */
    al_unmap(AL_FPAGE(RPOOL, 20), 0);
}

static void faults(void)
{
    unsigned long b[] = {DST, 64 * 1024};
    /* sender side: 3 pages of SFAULT not mapped */
    unmap_views();
    fill(SPOOL, 6 * 4096, 2, 0);
    memset((void *)DST, 0, 64 * 1024);
    bufs(1, b);
    unsigned long f0 = ps.faults, g0 = pr.faults;
    unsigned long s1[] = {SFAULT + 100, 3 * 4096};
    long r = send_strings(1, s1);
    ktap_result(r == 0 && rlen == 3 * 4096 && check(DST, 3 * 4096, 2, 100) < 0 && ps.faults - f0 == 4 &&
                    pr.faults == g0 && (ps.last_error & AL_PF_STRING) && !(ps.last_error & 2),
                "sender-side faults go to the sender's pager, 4 pages (%ld, %lu faults, error %#lx)", r, ps.faults - f0,
                ps.last_error);
    /* receiver side */
    unmap_views();
    memset((void *)RPOOL, 0, 5 * 4096);
    unsigned long rb[] = {RFAULT + 4000, 3 * 4096};
    bufs(1, rb);
    f0 = ps.faults, g0 = pr.faults;
    unsigned long s2[] = {SRC, 3 * 4096};
    r = send_strings(1, s2);
    ktap_result(r == 0 && rlen == 3 * 4096 && check(RPOOL + 4000, 3 * 4096, 1, 0) < 0 && pr.faults - g0 == 4 &&
                    ps.faults == f0 && (pr.last_error & (AL_PF_STRING | 2)) == (AL_PF_STRING | 2),
                "receiver-side faults go to the receiver's pager, 4 pages (%ld, %lu faults)", r, pr.faults - g0);
    /* both sides, several times, sizes that cross pages at different places */
    unmap_views();
    memset((void *)RPOOL, 0, 6 * 4096);
    unsigned long rb2[] = {RFAULT + 2048, 2000, RFAULT + 8192, 16000};
    bufs(2, rb2);
    f0 = ps.faults, g0 = pr.faults;
    unsigned long s3[] = {SFAULT + 3000, 6000, SFAULT + 12288, 9000};
    r = send_strings(2, s3);
    int ok = r == 0 && rlen == 15000 && check(RPOOL + 2048, 2000, 2, 3000) < 0 &&
             check(RPOOL + 8192, 4000, 2, 5000) < 0 && check(RPOOL + 12192, 9000, 2, 12288) < 0;
    ktap_result(ok && ps.faults - f0 >= 4 && pr.faults - g0 >= 4,
                "faults on both sides several times in one message (%ld, %lu + %lu faults)", r, ps.faults - f0,
                pr.faults - g0);
    /* a read-only page on the receiving side: the pager first maps it R */
    unmap_views();
    pr.mode = P_RO_FIRST;
    unsigned long rb3[] = {RFAULT, 4096};
    bufs(1, rb3);
    g0 = pr.faults;
    unsigned long s4[] = {SRC + 1, 4096};
    r = send_strings(1, s4);
    pr.mode = P_MAP;
    ktap_result(r == 0 && check(RPOOL, 4096, 1, 1) < 0 && pr.faults - g0 == 2 && (pr.last_error & 1),
                "a read-only receive page faults again, as a protection fault (%lu faults, error %#lx)", pr.faults - g0,
                pr.last_error);
    /* the receiver's pager on another CPU */
    if (ncpus() > 1) {
        unmap_views();
        bufs(1, rb);
        g0 = pr.faults;
        r = send_strings(1, s2);
        ktap_result(r == 0 && check(RPOOL + 4000, 3 * 4096, 1, 0) < 0 && pr.faults - g0 == 4 && pr.cpu != cpu_of_self(),
                    "the receiver's pager on another CPU (CPU %lu; we are on %lu)", pr.cpu, cpu_of_self());
    } else {
        ktap_result(1, "the receiver's pager on another CPU # SKIP one CPU");
    }
    /* a pager that does not answer within the transfer timeout */
    unmap_views();
    unsigned long rb4[] = {DST, 4096, RFAULT, 4096};
    bufs(2, rb4);
    rutcb->xfer_timeout = 30000000; /* 30 ms */
    pr.mode = P_STALL;
    unsigned long s5[] = {SRC, 6000};
    r = send_strings(1, s5);
    long res = rres;
    unsigned long len = rlen, slen = al_utcb()->xfer_len;
    pr.mode = P_MAP;
    while (pr.stalled)
        al_sleep(1000000);
    rutcb->xfer_timeout = 0;
    ktap_result(r == -AL_ETIME && res == -AL_ETIME && len == 4096 && slen == 4096 && got_item(0, 4096, DST),
                "the receiver's pager does not answer in 30 ms: ETIME on both sides, 4096 bytes copied (%ld %ld %lu)",
                r, res, len);
    /* a page nobody provides: the sender's pager refuses */
    bufs(1, b);
    unsigned long s6[] = {SFAULT + MIB - 100, 200};
    fill(SPOOL + MIB - 4096, 4096, 3, 0);
    unmap_views();
    r = send_strings(1, s6);
    ktap_result(r == -AL_EFAULT && rres == -AL_EFAULT && rlen == 100 && check(DST, 100, 3, 4096 - 100) < 0,
                "a sender string in memory it cannot read: EFAULT on both sides after 100 bytes (%ld %lu)", r, rlen);
}

/* ---- hostile input ---- */

static void hostile(void)
{
    unsigned long b[] = {DST, 4096};
    bufs(1, b);
    unsigned long seq = rseq;
    static const unsigned long bad[][2] = {
        {0, 16},                        /* NULL */
        {0xffff800000000000UL, 16},     /* the kernel half */
        {AL_TRAMPOLINE, 16},            /* the trampoline */
        {0x0000800000000000UL, 16},     /* non-canonical */
        {0xfffffffffffff000UL, 0x2000}, /* wrapping */
        {AL_USER_HI - 8, 16},           /* past the user window */
    };
    int ok = 1;
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long r = send_rec(1, bad[i], 0);
        if (r != -AL_EFAULT) {
            printf("# bad string %#lx+%#lx: %ld\n", bad[i][0], bad[i][1], r);
            ok = 0;
        }
    }
    ktap_result(ok && rseq == seq, "sender strings in the kernel half, trampoline, non-canonical, wrapping, NULL: "
                                   "EFAULT, the receiver sees nothing");
    unsigned long big[] = {SRC, AL_STR_MAX_LEN + 1};
    long r = send_rec(1, big, 0);
    struct al_utcb *u = al_utcb();
    u->mr[0] = AL_STRING(16) | (1UL << 8);
    u->mr[1] = SRC;
    long r2 = al_ipc(AL_IPC_SEND, EP, AL_TAG(0, 1, 0), 0, AL_TIMEOUT_NEVER);
    ktap_result(r == -AL_E2BIG && r2 == -AL_EINVAL && rseq == seq, "a string too long: E2BIG; rights bits: EINVAL");
    /* the receiver's buffers at fault: both sides learn it */
    unsigned long s[] = {SRC, 64};
    static const unsigned long rbad[][4] = {
        {DST, 4096, DST + 4000, 100},       /* overlapping */
        {0xffff800000001000UL, 4096, 0, 0}, /* kernel half */
        {AL_TRAMPOLINE, 4096, 0, 0},        /* trampoline */
        {0x0000800000000000UL, 64, 0, 0},   /* non-canonical */
    };
    static const long want[] = {-AL_EINVAL, -AL_EFAULT, -AL_EFAULT, -AL_EFAULT};
    ok = 1;
    for (unsigned i = 0; i < 4; i++) {
        seq = rseq;
        bufs(rbad[i][3] ? 2 : 1, rbad[i]);
        r = send_strings(1, s);
        if (r != want[i] || rres != want[i] || rseq != seq + 1) {
            printf("# bad buffer %u: %ld %ld\n", i, r, rres);
            ok = 0;
        }
    }
    rutcb->str_count = AL_STR_BUFS + 1;
    seq = rseq;
    r = send_strings(1, s);
    ktap_result(ok && r == -AL_EINVAL && rres == -AL_EINVAL && rseq == seq + 1,
                "receive buffers overlapping, in the kernel half, trampoline, non-canonical, too many: both sides "
                "get the error");
    /* cut: too short, and none at all */
    memset((void *)DST, 0, 8192);
    unsigned long b2[] = {DST, 100};
    bufs(1, b2);
    unsigned long s2[] = {SRC, 300};
    r = send_strings(1, s2);
    ktap_result(r == -AL_EOVERFLOW && rres == -AL_EOVERFLOW && rlen == 100 && u->xfer_len == 100 &&
                    got_item(0, 100, DST) && check(DST, 100, 1, 0) < 0 && all_bytes(DST + 100, 8092, 0),
                "a receive buffer too short: the message is cut, EOVERFLOW and 100 bytes on both sides");
    rutcb->str_count = 0;
    r = send_strings(1, s2);
    ktap_result(r == -AL_EOVERFLOW && rres == -AL_EOVERFLOW && rlen == 0 && got_item(0, 0, 0),
                "no receive buffer: EOVERFLOW, nothing copied");
    bufs(1, b);
    unsigned long s3[] = {SRC, 0};
    r = send_strings(1, s3);
    ktap_result(r == 0 && rres == 0 && rlen == 0 && got_item(0, 0, 0), "an empty string");
}

/* ---- preemption ---- */

/* While an 8 MiB copy into DST runs, its first word is already the
 * sender's and its last word still the zero we put there: a thread that
 * sees that state ran during the copy itself. */
static volatile unsigned long hi_during, other_during;
static volatile int stop_helpers;
static unsigned long first_word;

static int mid_copy(void)
{
    return *(volatile unsigned long *)DST == first_word && *(volatile unsigned long *)(DST + 8 * MIB - 8) == 0;
}

static long high_prio(void *arg)
{
    (void)arg;
    while (!stop_helpers) {
        al_sleep(1000000);
        hi_during += mid_copy();
    }
    return 0;
}

static long other_cpu(void *arg)
{
    (void)arg;
    while (!stop_helpers) {
        al_thread_self(); /* needs the BKL */
        other_during += mid_copy();
    }
    return 0;
}

static void preemption(void)
{
    long h = thread_spawn(high_prio, 0, stacks[3], sizeof stacks[3], 150, (long)cpu_of_self());
    long o = ncpus() > 1
                 ? thread_spawn(other_cpu, 0, stacks[4], sizeof stacks[4], 100, (long)(cpu_of_self() + 1) % ncpus())
                 : -1;
    unsigned long b[] = {DST, 8 * MIB};
    bufs(1, b);
    unsigned long s[] = {SRC, 4 * MIB, SRC, 4 * MIB};
    first_word = *(volatile unsigned long *)SRC;
    int good = 1;
    for (int i = 0; i < 20 && !(hi_during && (other_during > 1 || o < 0)); i++) {
        *(volatile unsigned long *)DST = 0;
        *(volatile unsigned long *)(DST + 8 * MIB - 8) = 0;
        long r = send_strings(2, s);
        good &= r == 0 && rlen == 8 * MIB;
    }
    good &= check(DST, 4 * MIB, 1, 0) < 0 && check(DST + 4 * MIB, 4 * MIB, 1, 0) < 0;
    stop_helpers = 1;
    if (h >= 0)
        al_thread_join(h, 0);
    if (o >= 0)
        al_thread_join(o, 0);
    ktap_result(h >= 0 && good && hi_during,
                "8 MiB copies: a higher-priority thread on our CPU runs in the middle of one (%lu times)", hi_during);
    if (o >= 0)
        ktap_result(good && other_during > 1,
                    "8 MiB copies: a thread on another CPU makes system calls in the middle of one (%lu)",
                    other_during);
    else
        ktap_result(1, "8 MiB copies: another CPU runs meanwhile # SKIP one CPU");
}

/* ---- random strings and buffers ---- */

static unsigned long rng = 0x5eed1234;
static unsigned long rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* an address: mostly in the test's regions (mapped, or served by a pager,
 * or by nobody), sometimes hostile */
static unsigned long rnd_addr(int dst)
{
    static const unsigned long bad[] = {0,
                                        8,
                                        0xffff800000000000UL,
                                        AL_TRAMPOLINE,
                                        0x0000800000000000UL,
                                        0xfffffffffffff000UL,
                                        AL_USER_HI - 16,
                                        AL_KERNEL_BASE};
    unsigned long r = rnd();
    switch (r % 8) {
    case 0:
        return bad[(r >> 8) % 8];
    case 1:
        return (dst ? RFAULT : SFAULT) + (r >> 8) % MIB;
    case 2:
        return 0x70000000UL + (r >> 8) % MIB; /* nobody's: the pagers refuse */
    default:
        return (dst ? DST : SRC) + (r >> 8) % (4 * MIB);
    }
}

static unsigned long rnd_len(void)
{
    unsigned long r = rnd();
    return r % 16 == 0 ? r >> 8 : r % 4 == 0 ? (r >> 8) % 70000 : (r >> 8) % 5000;
}

/* 300 messages of 1..4 random strings into 0..4 random buffers: every
 * result is a documented one, and whatever arrived is the sender's data */
static void random_strings(void)
{
    int ok = 1, n_ok = 0;
    fill(SRC, 4 * MIB, 1, 0);
    for (int i = 0; i < 300 && ok; i++) {
        unsigned long b[8], st[8];
        int nb = (int)(rnd() % 5), ns = 1 + (int)(rnd() % 4);
        for (int k = 0; k < nb; k++) { /* (DST buffers apart: overlaps are refused anyway) */
            b[2 * k] = rnd() % 4 ? DST + (unsigned long)k * MIB + rnd() % (MIB / 2) : rnd_addr(1);
            b[2 * k + 1] = rnd_len() % (MIB / 2);
        }
        for (int k = 0; k < ns; k++) {
            st[2 * k] = rnd() % 4 ? SRC + rnd() % (2 * MIB) : rnd_addr(0);
            st[2 * k + 1] = rnd_len() % (2 * MIB);
        }
        unmap_views();
        bufs(nb, b);
        unsigned long seq = rseq;
        struct al_utcb *u = al_utcb();
        u->mr[0] = 0x5717;
        for (int k = 0; k < ns; k++) {
            u->mr[1 + 2 * k] = AL_STRING(st[2 * k + 1]);
            u->mr[2 + 2 * k] = st[2 * k];
        }
        long r = al_ipc(AL_IPC_SEND, EP, AL_TAG(1, ns, 0x1000 + i), 0, AL_TIMEOUT_NEVER);
        if (r == -AL_EFAULT || r == -AL_EINVAL || r == -AL_E2BIG) {
            /* refused before anything changed (sender's strings), or after
             * the copy started / for the receiver's buffers (then the
             * receiver records it too): wait a moment for it */
            for (int k = 0; k < 50 && rseq == seq; k++)
                al_yield();
        } else {
            while (rseq == seq)
                al_yield();
        }
        if (r != 0 && r != -AL_EFAULT && r != -AL_EINVAL && r != -AL_E2BIG && r != -AL_EOVERFLOW) {
            printf("# message %d: %ld\n", i, r);
            ok = 0;
        }
        if (rseq == seq)
            continue; /* the receiver got nothing */
        if (rres != r) {
            printf("# message %d: sender %ld, receiver %ld\n", i, r, rres);
            ok = 0;
        }
        if (AL_TAG_LABEL(rtag) != 0x1000 + (unsigned long)i)
            continue; /* refused before delivery (the receiver's buffers): nothing arrived */
        /* every string that arrived (as the receiver's item says) is the
         * sender's bytes, wherever it landed (in DST: we can read it) */
        for (int k = 0; k < ns && ok; k++) {
            unsigned long got = AL_STRING_LEN(ritem[1 + 2 * k]), at = ritem[2 + 2 * k];
            if (got > st[2 * k + 1]) {
                printf("# message %d: string %d: %lu of %lu bytes arrived?\n", i, k, got, st[2 * k + 1]);
                ok = 0;
            } else if (got && at - DST < 8 * MIB && st[2 * k] - SRC < 4 * MIB && at + got <= DST + 8 * MIB &&
                       st[2 * k] + got <= SRC + 4 * MIB) {
                /* (a string cut across buffers continues in the next one: check its first piece) */
                unsigned long piece = got;
                for (int j = 0; j < nb; j++)
                    if (at >= b[2 * j] && at < b[2 * j] + b[2 * j + 1] && b[2 * j] + b[2 * j + 1] - at < piece)
                        piece = b[2 * j] + b[2 * j + 1] - at;
                if (check(at, piece, 1, st[2 * k] - SRC) >= 0) {
                    printf("# message %d: string %d at %#lx is not the sender's\n", i, k, at);
                    ok = 0;
                }
            }
        }
        n_ok += r == 0;
    }
    rutcb->str_count = 0;
    ktap_result(ok,
                "300 messages of random strings into random buffers: documented results only, and only the "
                "sender's bytes arrive (%d whole)",
                n_ok);
}

/* ---- a reply with a string ---- */

static long replier(void *arg)
{
    (void)arg;
    struct al_utcb *u = al_utcb();
    long r = al_ipc(AL_IPC_RECV, 0, 0, EP_CHILD, AL_TIMEOUT_NEVER);
    if (r)
        return r;
    u->mr[0] = AL_STRING(5000);
    u->mr[1] = SRC + 77;
    return al_ipc(AL_IPC_REPLY, -1, AL_TAG(0, 1, 0), 0, 0);
}

static void reply_string(void)
{
    struct al_utcb *u = al_utcb();
    al_endpoint_create(EP_CHILD);
    long t = thread_spawn(replier, 0, stacks[3], sizeof stacks[3], 100, -1);
    memset((void *)DST, 0, 8192);
    u->str_buf[0].addr = DST + 1;
    u->str_buf[0].len = 8000;
    u->str_count = 1;
    long r = al_ipc(AL_IPC_CALL, EP_CHILD, AL_TAG(0, 0, 0), 0, AL_TIMEOUT_NEVER);
    long rs = -1;
    al_thread_join(t, &rs);
    u->str_count = 0;
    ktap_result(r == 0 && rs == 0 && u->xfer_len == 5000 && u->mr[0] == AL_STRING(5000) && u->mr[1] == DST + 1 &&
                    check(DST + 1, 5000, 1, 77) < 0,
                "a reply carries a string into the caller's buffers (%ld %ld)", r, rs);
    al_cap_delete(EP_CHILD);
}

/* ---- a side killed mid-copy (child tasks) ---- */

struct shared {
    volatile unsigned long mode, ready, result, w[3]; /* w: words for its UTCB (no constants in .rodata there) */
};
static struct shared *sh = (struct shared *)SHARED;

/* runs in the child task: only its stack, the shared page, CWIN and system calls */
static __attribute__((noreturn, noinline)) void child_main(unsigned long arg)
{
    struct shared *s = (struct shared *)arg;
    struct al_utcb *u = al_utcb();
    al_thread_set_handler(0, 6); /* its pager's endpoint, slot 6 there */
    s->ready = 1;
    if (s->mode == 1) { /* send 8 KiB from CWIN: the second page faults */
        u->mr[0] = s->w[0];
        u->mr[1] = s->w[1];
        s->result = (unsigned long)al_ipc(AL_IPC_SEND, 5, s->w[2], 0, AL_TIMEOUT_NEVER);
    } else { /* receive into CWIN, 8 KiB: the second page faults */
        u->str_buf[0].addr = s->w[0];
        u->str_buf[0].len = s->w[1];
        u->str_count = s->w[2];
        s->result = (unsigned long)al_ipc(AL_IPC_RECV, 0, 0, 5, AL_TIMEOUT_NEVER);
    }
    al_exit(7);
    for (;;)
        ;
}

static long child_start(unsigned long mode, long pager_ep)
{
    long r = child_task_create(TASK, "strcopy-child");
    if (r < 0)
        return r;
    if ((r = al_task_map(TASK, AL_FPAGE(SHARED, 12), SHARED, AL_MAP_RW)) < 0 ||
        (r = al_task_map(TASK, AL_FPAGE(CSTACK, 12), CSTACK, AL_MAP_RW)) < 0 ||
        (r = al_task_map(TASK, AL_FPAGE(CDATA, 12), CWIN, AL_MAP_RW)) < 0)
        return r;
    sh->mode = mode;
    sh->w[0] = mode == 1 ? AL_STRING(8192) : CWIN;
    sh->w[1] = mode == 1 ? CWIN : 8192;
    sh->w[2] = mode == 1 ? AL_TAG(0, 1, 0) : 1;
    sh->ready = 0;
    sh->result = 1;
    if ((r = al_cap_give(TASK, EP_CHILD, 5, AL_R_ALL)) < 0 || (r = al_cap_give(TASK, pager_ep, 6, AL_R_SEND)) < 0)
        return r;
    r = al_thread_create_in(TASK, (unsigned long)child_main, CSTACK + 4096 - 8, SHARED, 100, -1);
    return r < 0 ? r : 0;
}

static void wait_stalled(struct pager *p)
{
    for (int i = 0; i < 2000 && !p->stalled; i++)
        al_sleep(1000000);
}

static void release(struct pager *p)
{
    p->mode = P_MAP;
    while (p->stalled)
        al_sleep(1000000);
}

static long killer(void *arg)
{
    wait_stalled(arg);
    al_sleep(2000000); /* (the faulting thread is blocked in its pager call by now) */
    return al_task_kill(TASK);
}

/* start a child in `mode` with pager p stalled, do `op` ourselves on
 * EP_CHILD with a string or buffer of 8 KiB at `at`, have the child killed
 * once p holds the copy: 1 if our operation ended with ECANCELED after
 * `want` bytes and the child was killed */
static int killed_mid_copy(unsigned long mode, struct pager *p, long op, unsigned long at, unsigned long want,
                           const char *what)
{
    struct al_utcb *u = al_utcb();
    p->mode = P_STALL;
    long c = child_start(mode, p->ep);
    long k = thread_spawn(killer, p, stacks[3], sizeof stacks[3], 110, -1);
    u->xfer_len = ~0UL;
    long r;
    if (op == AL_IPC_RECV) {
        u->str_buf[0].addr = at;
        u->str_buf[0].len = 8192;
        u->str_count = 1;
        r = al_ipc(AL_IPC_RECV, 0, 0, EP_CHILD, AL_TIMEOUT_NEVER);
        u->str_count = 0;
    } else {
        u->mr[0] = AL_STRING(8192);
        u->mr[1] = at;
        r = al_ipc(AL_IPC_SEND, EP_CHILD, AL_TAG(0, 1, 0), 0, AL_TIMEOUT_NEVER);
    }
    unsigned long len = u->xfer_len;
    long kr = -1;
    al_thread_join(k, &kr);
    release(p);
    struct al_task_end e = {0, 0};
    al_task_wait(TASK, &e);
    al_cap_delete(TASK);
    int ok = c == 0 && kr == 0 && r == -AL_ECANCELED && len == want && e.how == AL_THREAD_KILLED && sh->result == 1;
    ktap_result(ok, "%s: ECANCELED after %lu bytes (%ld %ld %ld how %ld)", what, len, c, kr, r, e.how);
    return ok;
}

static void aborts(void)
{
    al_endpoint_create(EP_CHILD);
    fill(CDATA, 4096, 4, 0);
    memset((void *)DST, 0, 16384);
    killed_mid_copy(1, &ps, AL_IPC_RECV, DST, 4096, "the sender killed while its pager holds the copy");
    ktap_result(check(DST, 4096, 4, 0) < 0 && all_bytes(DST + 4096, 4096, 0), "the receiver has the first page");
    memset((void *)CDATA, 0, 4096);
    killed_mid_copy(2, &pr, AL_IPC_SEND, SRC, 4096, "the receiver killed while its pager holds the copy");
    ktap_result(check(CDATA, 4096, 1, 0) < 0, "the first page arrived in the killed receiver's buffer");
    unmap_views();
    killed_mid_copy(2, &ps, AL_IPC_SEND, SFAULT, 0, "the receiver killed while the sender waits for its pager");
    al_cap_delete(EP_CHILD);
    /* nothing else is disturbed */
    unsigned long b[] = {DST, 4096};
    bufs(1, b);
    unsigned long s[] = {SRC + 9, 3000};
    long r = send_strings(1, s);
    ktap_result(r == 0 && rres == 0 && check(DST, 3000, 1, 9) < 0, "strings still work afterwards");
}

int main(int argc, char **argv)
{
    (void)argc, (void)argv;
    ktap_plan(30);
    if (mem_alloc((void *)SRC, 22, AL_MAP_RW) < 0 || mem_alloc((void *)DST, 22, AL_MAP_RW) < 0 ||
        mem_alloc((void *)(DST + 4 * MIB), 22, AL_MAP_RW) < 0 || mem_alloc((void *)SPOOL, 20, AL_MAP_RW) < 0 ||
        mem_alloc((void *)RPOOL, 20, AL_MAP_RW) < 0 || mem_alloc((void *)SHARED, 14, AL_MAP_RW) < 0) {
        printf("strcopy: no memory\n");
        return 1;
    }
    al_endpoint_create(EP);
    al_endpoint_create(EP_PS);
    al_endpoint_create(EP_PR);
    long me = (long)cpu_of_self(), pcpu = (me + 1) % ncpus();
    al_thread_set_affinity(0, me);
    long helper[3] = {thread_spawn(receiver, 0, stacks[2], sizeof stacks[2], 100, me),
                      thread_spawn(pager, &ps, stacks[0], sizeof stacks[0], 120, pcpu),
                      thread_spawn(pager, &pr, stacks[1], sizeof stacks[1], 120, pcpu)};
    al_thread_set_handler(0, EP_PS);
    while (!rutcb)
        al_yield();
    basics();
    faults();
    hostile();
    random_strings();
    reply_string();
    aborts();
    preemption();
    /* the helper threads end (a task ends with its last thread) */
    for (int i = 0; i < 3; i++)
        al_ipc(AL_IPC_SEND, i == 0 ? EP : i == 1 ? EP_PS : EP_PR, AL_TAG(0, 0, 0xdead), 0, AL_TIMEOUT_NEVER);
    for (unsigned i = 0; i < 3; i++)
        al_thread_join(helper[i], 0);
    return ktap_failures() ? 1 : 0;
}
