/*
 * tools/linux/lbench.c — the Linux side of `make bench`: a static program
 * that runs as /init of Debian's Linux 6.1 under the same QEMU command line
 * as Airlock's benchmarks (-icount shift=0: RDTSC counts guest
 * instructions) and measures the counterpart of each Airlock operation.
 * Each figure is the minimum over RUNS runs of a loop of operations,
 * divided by their number (loop overhead included, as on the Airlock side
 * for the fault benchmarks). Each measured loop is also a region for the
 * outside instrument (tools/qemu-plugin/counters.c), which counts CR3
 * writes and the rest.
 *
 * Output, one line per figure:
 *   linux: NAME  <instructions> instructions/op  region <id> ops <n>
 * (region 0: no region of its own)
 * then it powers the machine off.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/reboot.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUNS 10

#define REGION_BEGIN(id) __asm__ volatile(".byte 0x66, 0x0f, 0x1f, 0x84, 0x00\n\t.long 0x41520000 + " #id ::: "memory")
#define REGION_END(id)   __asm__ volatile(".byte 0x66, 0x0f, 0x1f, 0x84, 0x00\n\t.long 0x41530000 + " #id ::: "memory")

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static void report(const char *name, uint64_t best, uint64_t ops_per_run, int region, uint64_t region_ops)
{
    printf("linux: %-40s %8llu instructions/op  region %d ops %llu\n", name,
           (unsigned long long)(best / ops_per_run), region, (unsigned long long)region_ops);
    fflush(stdout);
}

static void die(const char *what)
{
    printf("linux: FAILED %s: %s\n", what, strerror(errno));
    fflush(stdout);
}

/* ---- getppid ---- */
static void bench_getppid(void)
{
    enum { N = 1000 };
    uint64_t best = ~0ULL;
    REGION_BEGIN(101);
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = rdtsc();
        for (int i = 0; i < N; i++)
            syscall(SYS_getppid);
        uint64_t t1 = rdtsc();
        if (t1 - t0 < best)
            best = t1 - t0;
    }
    REGION_END(101);
    report("null system call (getppid)", best, N, 101, (uint64_t)N * RUNS);
}

/* ---- sched_yield ping-pong: one round = both processes yield once ---- */
static void bench_yield(void)
{
    enum { N = 1000 };
    pid_t child = fork();
    if (child == 0) {
        for (;;)
            sched_yield();
    }
    uint64_t best = ~0ULL;
    for (int i = 0; i < 100; i++)
        sched_yield();
    REGION_BEGIN(102);
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = rdtsc();
        for (int i = 0; i < N; i++)
            sched_yield();
        uint64_t t1 = rdtsc();
        if (t1 - t0 < best)
            best = t1 - t0;
    }
    REGION_END(102);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    report("thread switch (sched_yield ping-pong, per round)", best, N, 102, (uint64_t)N * RUNS);
}

/* ---- pipe ping-pong: one byte there and back ---- */
static void bench_pipe_pingpong(void)
{
    enum { N = 500 };
    int ab[2], ba[2];
    if (pipe(ab) || pipe(ba))
        return die("pipe");
    pid_t child = fork();
    char c = 0;
    if (child == 0) {
        close(ab[1]); /* (or the read below never sees the end) */
        close(ba[0]);
        while (read(ab[0], &c, 1) == 1 && write(ba[1], &c, 1) == 1)
            ;
        _exit(0);
    }
    for (int i = 0; i < 50; i++)
        if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
            return die("pipe warm-up");
    uint64_t best = ~0ULL;
    REGION_BEGIN(103);
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = rdtsc();
        for (int i = 0; i < N; i++)
            if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
                return die("pipe");
        uint64_t t1 = rdtsc();
        if (t1 - t0 < best)
            best = t1 - t0;
    }
    REGION_END(103);
    close(ab[1]);
    waitpid(child, NULL, 0);
    close(ab[0]), close(ba[0]), close(ba[1]);
    report("IPC round trip (pipe ping-pong, 1 byte)", best, N, 103, (uint64_t)N * RUNS);
}

/* ---- exception to a handler and back: ud2 -> SIGILL, RIP += 2 ---- */
static void on_sigill(int sig, siginfo_t *si, void *ctx)
{
    (void)sig, (void)si;
    ucontext_t *uc = ctx;
    uc->uc_mcontext.gregs[REG_RIP] += 2;
    uc->uc_mcontext.gregs[REG_RAX] = 42;
}

static void bench_signal(void)
{
    enum { N = 200 };
    struct sigaction sa = {0};
    sa.sa_sigaction = on_sigill;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGILL, &sa, NULL);
    uint64_t best = ~0ULL;
    REGION_BEGIN(104);
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = rdtsc();
        for (int i = 0; i < N; i++) {
            long rax = 1;
            __asm__ volatile("ud2" : "+a"(rax) : : "memory");
        }
        uint64_t t1 = rdtsc();
        if (t1 - t0 < best)
            best = t1 - t0;
    }
    REGION_END(104);
    report("exception -> handler -> back (SIGILL, sigreturn)", best, N, 104, (uint64_t)N * RUNS);
}

/* ---- protection fault: write to RO page -> SIGSEGV -> mprotect RW ->
 * retried; then mprotect RO again (Airlock: + unmap W) ---- */
static volatile unsigned long *ro_page;

static void on_sigsegv(int sig, siginfo_t *si, void *ctx)
{
    (void)sig, (void)ctx;
    mprotect((void *)((uintptr_t)si->si_addr & ~4095UL), 4096, PROT_READ | PROT_WRITE);
}

static void bench_segv_mprotect(void)
{
    enum { N = 200 };
    ro_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_sigsegv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    uint64_t best = ~0ULL;
    REGION_BEGIN(105);
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = rdtsc();
        for (int i = 0; i < N; i++) {
            mprotect((void *)ro_page, 4096, PROT_READ);
            *ro_page = (unsigned long)i;
        }
        uint64_t t1 = rdtsc();
        if (t1 - t0 < best)
            best = t1 - t0;
    }
    REGION_END(105);
    report("protection fault -> handler maps RW -> retry (+ mprotect RO)", best, N, 105, (uint64_t)N * RUNS);
}

/* ---- page fault resolved by a user-level pager: userfaultfd ZEROPAGE ---- */
static int uffd;

static void *pager(void *arg)
{
    (void)arg;
    for (;;) {
        struct uffd_msg msg;
        if (read(uffd, &msg, sizeof msg) != sizeof msg)
            continue;
        if (msg.event != UFFD_EVENT_PAGEFAULT)
            continue;
        struct uffdio_zeropage z = {.range = {.start = msg.arg.pagefault.address & ~4095ULL, .len = 4096}};
        ioctl(uffd, UFFDIO_ZEROPAGE, &z);
    }
    return NULL;
}

static void bench_userfaultfd(void)
{
    enum { N = 200 };
    uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
    if (uffd < 0)
        return die("userfaultfd");
    struct uffdio_api api = {.api = UFFD_API};
    if (ioctl(uffd, UFFDIO_API, &api))
        return die("UFFDIO_API");
    size_t len = (size_t)N * RUNS * 4096;
    char *area = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct uffdio_register reg = {.range = {.start = (uintptr_t)area, .len = len}, .mode = UFFDIO_REGISTER_MODE_MISSING};
    if (ioctl(uffd, UFFDIO_REGISTER, &reg))
        return die("UFFDIO_REGISTER");
    pthread_t th;
    pthread_create(&th, NULL, pager, NULL);
    uint64_t best = ~0ULL;
    REGION_BEGIN(106);
    for (int r = 0; r < RUNS; r++) {
        char *base = area + (size_t)r * N * 4096;
        uint64_t t0 = rdtsc();
        for (int i = 0; i < N; i++)
            (void)*(volatile char *)(base + (size_t)i * 4096);
        uint64_t t1 = rdtsc();
        if (t1 - t0 < best)
            best = t1 - t0;
    }
    REGION_END(106);
    report("page fault -> user pager -> resumed (userfaultfd)", best, N, 106, (uint64_t)N * RUNS);
}

/* ---- fork + exit + wait ---- */
static void bench_fork(void)
{
    enum { N = 20 };
    uint64_t best = ~0ULL;
    REGION_BEGIN(107);
    for (int r = 0; r < RUNS / 2; r++) {
        uint64_t t0 = rdtsc();
        for (int i = 0; i < N; i++) {
            pid_t p = fork();
            if (p == 0)
                _exit(0);
            waitpid(p, NULL, 0);
        }
        uint64_t t1 = rdtsc();
        if (t1 - t0 < best)
            best = t1 - t0;
    }
    REGION_END(107);
    report("create + destroy an address space (fork+exit+wait)", best, N, 107, (uint64_t)N * (RUNS / 2));
}

/* ---- pipe transfers: SIZE bytes one way, one byte back ---- */
static void bench_pipe_bulk(size_t size, int region)
{
    int ab[2], ba[2];
    if (pipe(ab) || pipe(ba))
        return die("pipe");
    fcntl(ab[1], F_SETPIPE_SZ, 1 << 20);
    char *buf = malloc(size);
    memset(buf, 0x5a, size);
    pid_t child = fork();
    if (child == 0) {
        close(ab[1]);
        close(ba[0]);
        char *in = malloc(size);
        for (;;) {
            size_t got = 0;
            while (got < size) {
                ssize_t n = read(ab[0], in + got, size - got);
                if (n <= 0)
                    _exit(0);
                got += (size_t)n;
            }
            if (write(ba[1], "k", 1) != 1)
                _exit(0);
        }
    }
    enum { N = 10 };
    char c;
    uint64_t best = ~0ULL;
    if (region == 108)
        REGION_BEGIN(108);
    else if (region == 109)
        REGION_BEGIN(109);
    else
        REGION_BEGIN(110);
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = rdtsc();
        for (int i = 0; i < N; i++) {
            size_t put = 0;
            while (put < size) {
                ssize_t n = write(ab[1], buf + put, size - put);
                if (n <= 0)
                    return die("pipe write");
                put += (size_t)n;
            }
            if (read(ba[0], &c, 1) != 1)
                return die("pipe ack");
        }
        uint64_t t1 = rdtsc();
        if (t1 - t0 < best)
            best = t1 - t0;
    }
    if (region == 108)
        REGION_END(108);
    else if (region == 109)
        REGION_END(109);
    else
        REGION_END(110);
    close(ab[1]);
    waitpid(child, NULL, 0);
    close(ab[0]), close(ba[0]), close(ba[1]);
    free(buf);
    char name[64];
    snprintf(name, sizeof name, "string transfer %zu KiB (pipe)", size / 1024);
    report(name, best, N, region, (uint64_t)N * RUNS);
}

/* ---- QEMU's edu device through uio_pci_generic: its interrupt (INTx)
 * raised by a write to its register 0x60, until read() on /dev/uio0
 * returns; the full cycle adds the device's acknowledge (0x64) and the
 * unmask: uio_pci_generic masks INTx in the PCI command register when the
 * interrupt arrives, and the driver clears that bit (Interrupt Disable,
 * bit 10) again through the device's config file, as its documentation
 * says ---- */
static int load_module(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = (int)syscall(SYS_finit_module, fd, "", 0);
    close(fd);
    return r == 0 || errno == EEXIST ? 0 : -1;
}

static int find_edu(char *bdf, size_t len)
{
    for (int dev = 0; dev < 32; dev++) {
        char path[128], id[32] = {0};
        snprintf(path, sizeof path, "/sys/bus/pci/devices/0000:00:%02x.0/device", dev);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, id, sizeof id - 1);
        close(fd);
        if (n > 0 && strncmp(id, "0x11e8", 6) == 0) {
            snprintf(bdf, len, "0000:00:%02x.0", dev);
            return 0;
        }
    }
    return -1;
}

static void bench_edu_uio(void)
{
    enum { N = 200 };
    char bdf[32], path[128];
    if (load_module("/lib/modules/uio.ko") || load_module("/lib/modules/uio_pci_generic.ko"))
        return die("loading uio modules");
    if (find_edu(bdf, sizeof bdf))
        return die("no edu device (QEMU -device edu)");
    int nid = open("/sys/bus/pci/drivers/uio_pci_generic/new_id", O_WRONLY);
    if (nid < 0 || write(nid, "1234 11e8", 9) != 9)
        return die("binding edu to uio_pci_generic");
    close(nid);
    int uio = -1;
    for (int tries = 0; tries < 100 && uio < 0; tries++) {
        uio = open("/dev/uio0", O_RDWR);
        if (uio < 0)
            usleep(10000);
    }
    if (uio < 0)
        return die("/dev/uio0");
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/resource0", bdf);
    int res = open(path, O_RDWR | O_SYNC);
    volatile uint32_t *bar = res < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, res, 0);
    if (bar == MAP_FAILED)
        return die("mapping the edu BAR");
    if ((bar[0] & 0xff) != 0xed)
        return die("edu identification");
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/config", bdf);
    int cfg = open(path, O_RDWR);
    if (cfg < 0)
        return die("the edu config space");
    /* The driver (this process) blocks in read(); a second process, the
     * "device side", waits until it sleeps there, takes t0 and makes edu
     * raise its interrupt, then yields. IRQ -> driver: t0 to read()
     * returning. Full cycle: t0 until the driver has acknowledged,
     * unmasked and blocked in read() again, i.e. until the device side
     * runs again. */
    struct shared {
        volatile uint64_t t0, cycles;
        volatile int armed, stop, rounds;
    } *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t self = getpid();
    pid_t dev = fork();
    if (dev == 0) {
        char statp[64], st[256];
        snprintf(statp, sizeof statp, "/proc/%d/stat", (int)self);
        while (!sh->stop) {
            while (!sh->armed && !sh->stop)
                sched_yield();
            if (sh->stop)
                break;
            for (;;) { /* until the driver sleeps in read() */
                int fd = open(statp, O_RDONLY);
                ssize_t n = fd < 0 ? -1 : read(fd, st, sizeof st - 1);
                if (fd >= 0)
                    close(fd);
                char *p = n > 0 ? strrchr(st, ')') : NULL;
                if (p && p[2] == 'S')
                    break;
                sched_yield();
            }
            sh->armed = 0;
            uint64_t t0 = rdtsc();
            sh->t0 = t0;
            bar[0x60 / 4] = 1; /* raise */
            sched_yield();    /* back when the driver blocks (or yields) again */
            sh->cycles += rdtsc() - t0;
            sh->rounds++;
        }
        _exit(0);
    }
    int32_t count;
    uint64_t best_irq = ~0ULL, best_cycle = ~0ULL;
    for (int r = 0; r < RUNS; r++) {
        uint64_t sum_irq = 0, cycles0 = sh->cycles;
        int rounds0 = sh->rounds;
        if (r == 1)
            REGION_BEGIN(111);
        for (int i = 0; i <= N; i++) {
            uint16_t cmd;
            if (pread(cfg, &cmd, 2, 4) != 2)
                return die("reading the PCI command register");
            cmd &= (uint16_t)~0x400; /* unmask: INTx enabled */
            if (pwrite(cfg, &cmd, 2, 4) != 2)
                return die("unmasking INTx");
            if (i == N)
                break;
            sh->armed = 1;
            if (read(uio, &count, 4) != 4)
                return die("uio read");
            sum_irq += rdtsc() - sh->t0;
            bar[0x64 / 4] = 1; /* acknowledge at the device */
        }
        while (sh->rounds < rounds0 + N) /* the last round ends when we yield */
            sched_yield();
        uint64_t sum_cycle = sh->cycles - cycles0;
        if (r == 1)
            REGION_END(111);
        if (sum_irq < best_irq)
            best_irq = sum_irq;
        if (sum_cycle < best_cycle)
            best_cycle = sum_cycle;
    }
    sh->stop = 1;
    waitpid(dev, NULL, 0);
    report("device IRQ -> driver runs (edu, uio_pci_generic)", best_irq, N, 0, 0);
    /* (the region also holds the device side's polling: no CR3 figure) */
    report("full IRQ cycle: raise, driver runs, ack, unmask (edu, uio)", best_cycle, N, 0, 0);
}

int main(void)
{
    mount("proc", "/proc", "proc", 0, NULL);
    mount("sysfs", "/sys", "sysfs", 0, NULL);
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    sched_setaffinity(0, sizeof one, &one);
    printf("linux: benchmarks start\n");
    fflush(stdout);
    bench_getppid();
    bench_yield();
    bench_pipe_pingpong();
    bench_signal();
    bench_segv_mprotect();
    bench_userfaultfd();
    bench_fork();
    bench_pipe_bulk(4096, 108);
    bench_pipe_bulk(65536, 109);
    bench_pipe_bulk(1 << 20, 110);
    bench_edu_uio();
    printf("linux: benchmarks done\n");
    fflush(stdout);
    sync();
    reboot(LINUX_REBOOT_CMD_POWER_OFF);
    return 0;
}
