/*
 * Boot sequence and the boot thread.
 *
 * kmain runs on the .bss boot stack with the boot page tables: it reads the
 * boot information, builds the frame allocator and the kernel address space,
 * sets up this CPU's entry area and continues as a real kernel thread
 * (kmain_thread) on a guarded kernel stack.
 *
 * kmain_thread runs the in-kernel self-tests (command line `ktest`), then
 * loads each boot module as a task, runs it to its end and reports how it
 * ended. In `ktest` mode every result is also a KTAP line, and a module may
 * state its expected end in its command line: expect=exit:N,
 * expect=fault:VECTOR or expect=refuse (default exit:0).
 */
#include <stdint.h>
#include "kernel/console.h"
#include "kernel/panic.h"
#include "kernel/bootinfo.h"
#include "kernel/frame.h"
#include "kernel/thread.h"
#include "kernel/task.h"
#include "kernel/loader.h"
#include "kernel/selftest.h"
#include "kernel/kstack.h"
#include "kernel/arch.h"
#include "kernel/cpu.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/pic.h"
#include "arch/x86_64/arch_init.h"
#include "arch/x86_64/smp.h"
#include "kernel/bkl.h"
#include "lib/string.h"

extern char __image_phys_start[], __image_phys_end[];

static void *direct_p2v(uint64_t pa) { return p2v(pa); }

static void kmain_thread(void);

void kmain(uint32_t magic, uint64_t info_phys)
{
    console_init();
    kprintf("Airlock microkernel (x86_64), built " __DATE__ " " __TIME__ "\n");
    cpu_detect_features();
    uint64_t img_lo = (uint64_t)__image_phys_start, img_hi = (uint64_t)__image_phys_end;
    if (bootinfo_parse(magic, info_phys, img_lo, img_hi))
        panic("unusable boot information (magic %#x)", magic);
    kprintf("boot: Multiboot%d, command line '%s', %u memory ranges, %u modules\n", boot_info.protocol,
            boot_info.cmdline, boot_info.nmem, boot_info.nmods);

    struct mem_range res[BOOT_MAX_MODS + 2];
    size_t nres = 0;
    res[nres++] = (struct mem_range){0, 0x100000};                /* real-mode area, BIOS, AP start-up */
    res[nres++] = (struct mem_range){img_lo, img_hi - img_lo};    /* kernel image */
    for (unsigned i = 0; i < boot_info.nmods; i++)
        res[nres++] = (struct mem_range){boot_info.mods[i].start, boot_info.mods[i].end - boot_info.mods[i].start};
    if (frame_init(boot_info.mem, boot_info.nmem, res, nres, direct_p2v))
        panic("frame allocator: no usable memory");
    kprintf("mem: %lu frames (%lu MiB) usable, highest address %#lx\n", (unsigned long)frame_total_count(),
            (unsigned long)(frame_total_count() / 256), (unsigned long)frame_max_phys());

    paging_init(frame_max_phys());
    entry_area_setup(0);
    cpu_load(0);
    percpu_ready = 1;
    pic_disable();
    trap_init();
    bkl_lock();     /* held by kernel code from here on; see kernel/bkl.h */
    kprintf("cpu: NX=%d SMEP=%d SMAP=%d UMIP=%d PGE=%d PCID=%d XSAVE=%d (FPU area %u bytes)\n", cpu_feat.nx,
            cpu_feat.smep, cpu_feat.smap, cpu_feat.umip, cpu_feat.pge, cpu_feat.pcid, cpu_feat.xsave,
            cpu_feat.xsave_size);
    thread_init_cpu(0);
    smp_init();
    thread_boot(kmain_thread);
}

enum expect_kind { EXPECT_EXIT, EXPECT_FAULT, EXPECT_REFUSE };

/* remove the word w from a command line; 1 if it was there */
static int strip_word(char *cmdline, const char *w)
{
    size_t n = strlen(w);
    for (char *p = cmdline; (p = strchr(p, w[0])); p++)
        if ((p == cmdline || p[-1] == ' ') && !strncmp(p, w, n) && (p[n] == ' ' || !p[n])) {
            char *rest = p[n] ? p + n + 1 : p + n;
            memmove(p, rest, strlen(rest) + 1);
            if (p > cmdline && !*p)
                p[-1] = 0;
            return 1;
        }
    return 0;
}

/* parse and strip "expect=..." from a module command line */
static enum expect_kind parse_expect(char *cmdline, long *value)
{
    *value = 0;
    char *p = cmdline;
    while ((p = strchr(p, 'e'))) {
        if ((p == cmdline || p[-1] == ' ') && !strncmp(p, "expect=", 7)) {
            char *v = p + 7, *end = v;
            while (*end && *end != ' ')
                end++;
            enum expect_kind k = EXPECT_EXIT;
            char *num = NULL;
            if (!strncmp(v, "exit:", 5))
                num = v + 5;
            else if (!strncmp(v, "fault:", 6))
                k = EXPECT_FAULT, num = v + 6;
            else if (!strncmp(v, "refuse", 6))
                k = EXPECT_REFUSE;
            long n = 0, sign = 1;
            if (num && *num == '-')
                sign = -1, num++;
            for (; num && num < end && *num >= '0' && *num <= '9'; num++)
                n = n * 10 + (*num - '0');
            *value = sign * n;
            memmove(p, *end ? end + 1 : end, strlen(*end ? end + 1 : end) + 1);
            if (p > cmdline && !*p)
                p[-1] = 0;
            return k;
        }
        p++;
    }
    return EXPECT_EXIT;
}

/* A started module: kept until it ends (background modules run concurrently
 * with the ones after them: module command-line word `start=bg`). */
struct running {
    struct task *task;
    struct thread *main;
    enum expect_kind kind;
    long want;
    unsigned long frames_before;
    char name[64];
};

static unsigned ktap_next = 1;
static unsigned bg_running;     /* background modules not yet finished */

static int finish_module(struct running *r, int ktap)
{
    task_wait(r->task);
    int ok;
    long status = r->main->exit_status;
    if (r->main->end == END_EXIT) {
        kprintf("[loader] %s: exited with status %ld\n", r->task->name, status);
        ok = r->kind == EXPECT_EXIT && status == r->want;
    } else {
        kprintf("[loader] %s: killed by %s (vector %ld)\n", r->task->name, trap_name((int)status), status);
        ok = r->kind == EXPECT_FAULT && status == r->want;
    }
    task_destroy(r->task);
    /* frame accounting is exact only while no background module runs */
    unsigned long after = frame_free_count();
    if (r->frames_before && !bg_running && after < r->frames_before) {
        unsigned long leaked = r->frames_before - after;
        kprintf("[loader] %s: %lu frames not returned after the task ended\n", r->name, leaked);
        ok = 0;
    }
    if (ktap)
        kprintf("%s %u module:%s\n", ok ? "ok" : "not ok", ktap_next++, r->name);
    return ok;
}

/* Load one module; run it to its end unless it is a background module.
 * Returns 0 if it failed its expectation, 1 otherwise (also when started
 * in the background: *bg is then filled). */
static int run_module(struct boot_module *m, int ktap, struct running *bg, int *is_bg)
{
    struct running r;
    memset(&r, 0, sizeof r);
    r.kind = parse_expect(m->cmdline, &r.want);
    *is_bg = strip_word(m->cmdline, "start=bg");
    /* the KTAP name: basename of the path plus the arguments */
    const char *base = m->cmdline;
    for (const char *s = m->cmdline; *s && *s != ' '; s++)
        if (*s == '/')
            base = s + 1;
    unsigned i = 0;
    for (const char *s = base; *s && i + 1 < sizeof r.name; s++)
        r.name[i++] = *s;
    r.name[i] = 0;

    /* leak check only for modules that run alone */
    r.frames_before = *is_bg || bg_running ? 0 : frame_free_count();
    const char *why;
    int err = loader_load(p2v(m->start), m->end - m->start, m->cmdline, &r.task, &r.main, &why);
    if (err) {
        kprintf("[loader] %s: refused: %s (error %d)\n", r.name, why ? why : "?", err);
        int ok = r.kind == EXPECT_REFUSE;
        if (r.frames_before != frame_free_count()) {
            kprintf("[loader] %s: frames leaked by the refusal\n", r.name);
            ok = 0;
        }
        if (ktap)
            kprintf("%s %u module:%s\n", ok ? "ok" : "not ok", ktap_next++, r.name);
        *is_bg = 0;
        return ok;
    }
    kprintf("[loader] %s: started as task %u, thread %u%s\n", r.task->name, r.task->id, r.main->id,
            *is_bg ? " (background)" : "");
    thread_start(r.main);
    if (*is_bg) {
        *bg = r;
        bg_running++;
        return 1;
    }
    return finish_module(&r, ktap);
}

/* panictest=...: deliberately crash the kernel, to test the panic path */
static volatile unsigned long overflow_limit = ~0UL;
static unsigned long overflow(unsigned long n)
{
    volatile char pad[512];
    pad[0] = (char)n;
    if (n == overflow_limit)        /* never true: defeats the recursion warning */
        return 0;
    return overflow(n + 1) + pad[0];
}

static void panic_test(const char *what)
{
    kprintf("panictest: %s\n", what);
    if (!strcmp(what, "assert"))
        assert(1 + 1 == 3);
    else if (!strcmp(what, "overflow"))
        overflow(0);
    else if (!strcmp(what, "nullwrite"))
        *(volatile int *)0 = 1;
    else if (!strcmp(what, "panic"))
        panic("requested by panictest (value %d)", 42);
    kprintf("panictest: unknown '%s'\n", what);
}

static void kmain_thread(void)
{
    char pt[16];
    if (bootinfo_arg("panictest", pt, sizeof pt))
        panic_test(pt);

    /* ktest: self-tests + modules in KTAP; ktest=modules: modules only */
    char mode[16];
    const char *km = bootinfo_arg("ktest", mode, sizeof mode);
    int ktap = bootinfo_flag("ktest") || km;
    unsigned ntests = ktap && !(km && !strcmp(km, "modules")) ? selftest_count() : 0;
    unsigned failed = 0;
    if (ktap) {
        kprintf("KTAP version 1\n1..%u\n", ntests + boot_info.nmods);
        if (ntests)
            failed += selftest_run_all(1);
    }
    ktap_next = ntests + 1;
    boot_endpoint();    /* made before the first module, for the leak accounting */
    static struct running bg[BOOT_MAX_MODS];
    unsigned nbg = 0;
    for (unsigned i = 0; i < boot_info.nmods; i++) {
        int is_bg;
        if (!run_module(&boot_info.mods[i], ktap, &bg[nbg], &is_bg))
            failed++;
        nbg += is_bg;
    }
    for (unsigned i = 0; i < nbg; i++) {
        bg_running--;
        if (!finish_module(&bg[i], ktap))
            failed++;
    }
    kprintf("[kernel] all boot modules finished (%u refused at boot); %s\n", boot_info.mods_refused,
            ktap ? (failed ? "TESTS FAILED" : "all tests passed") : "halting");
    arch_halt_system(failed ? 1 : 0);
}
