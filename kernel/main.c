/*
 * Boot sequence and the boot thread.
 *
 * kmain runs on the .bss boot stack with the boot page tables: it reads the
 * boot information, builds the frame allocator and the kernel address space,
 * sets up this CPU's entry area, brings up the other CPUs and continues as a
 * real kernel thread (kmain_thread) on a guarded kernel stack.
 *
 * kmain_thread runs the in-kernel self-tests (command line `ktest`, in
 * KTAP), then starts sigma0 and the root task (kernel/system.c), which loads
 * the other boot modules and reports their results; when the root task ends
 * the machine stops (QEMU: isa-debug-exit).
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
#include <arch/console.h>
#include <arch/system.h>
#include "kernel/cpu.h"
#include <arch/cpu.h>
#include <arch/paging.h>
#include <arch/trap.h>
#include <arch/init.h>
#include <arch/init.h>
#include <arch/smp.h>
#include "kernel/bkl.h"
#include "kernel/system.h"
#include "kernel/mapdb.h"
#include "lib/string.h"

extern char __image_phys_start[], __image_phys_end[];

static void *direct_p2v(uint64_t pa)
{
    return p2v(pa);
}

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
    if (boot_info.graphics_fb) {
        /* (UEFI) no VGA text screen: the log goes to the serial port only */
        arch_console_no_text_screen();
        if (!boot_info.fb.ok)
            kprintf("boot: UEFI or a graphics framebuffer: no text screen, the log goes to the serial port only\n");
    }

    struct mem_range res[BOOT_MAX_MODS + 2];
    size_t nres = 0;
    res[nres++] = (struct mem_range){0, 0x100000};             /* real-mode area, BIOS, AP start-up */
    res[nres++] = (struct mem_range){img_lo, img_hi - img_lo}; /* kernel image */
    for (unsigned i = 0; i < boot_info.nmods; i++)
        res[nres++] = (struct mem_range){boot_info.mods[i].start, boot_info.mods[i].end - boot_info.mods[i].start};
    if (frame_init(boot_info.mem, boot_info.nmem, res, nres, direct_p2v))
        panic("frame allocator: no usable memory");
    kprintf("mem: %lu frames (%lu MiB) usable, highest address %#lx\n", (unsigned long)frame_total_count(),
            (unsigned long)(frame_total_count() / 256), (unsigned long)frame_max_phys());

    paging_init(frame_max_phys());
    if (boot_info.fb.ok && !arch_console_framebuffer(&boot_info.fb))
        kprintf("boot: framebuffer console %ux%u pixels (pitch %u) at %#llx: the log is drawn there too\n",
                boot_info.fb.width, boot_info.fb.height, boot_info.fb.pitch, (unsigned long long)boot_info.fb.addr);
    kstack_init();
    entry_area_setup(0);
    cpu_load(0);
    percpu_ready = 1;
    pic_disable();
    trap_init();
    bkl_lock(); /* held by kernel code from here on; see kernel/bkl.h */
    kprintf("cpu: NX=%d SMEP=%d SMAP=%d UMIP=%d PGE=%d PCID=%d XSAVE=%d (FPU area %u bytes)\n", cpu_feat.nx,
            cpu_feat.smep, cpu_feat.smap, cpu_feat.umip, cpu_feat.pge, cpu_feat.pcid, cpu_feat.xsave,
            cpu_feat.xsave_size);
    thread_init_cpu(0);
    smp_init();
    mapdb_init();
    thread_boot(kmain_thread);
}

/* panictest=...: deliberately crash the kernel, to test the panic path */
static volatile unsigned long overflow_limit = ~0UL;
static unsigned long overflow(unsigned long n)
{
    volatile char pad[512];
    pad[0] = (char)n;
    if (n == overflow_limit) /* never true: defeats the recursion warning */
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
        *(volatile int *)0 = 1; // cppcheck-suppress nullPointer ; deliberate
    else if (!strcmp(what, "panic"))
        panic("requested by panictest (value %d)", 42);
    kprintf("panictest: unknown '%s'\n", what);
}

static void kmain_thread(void)
{
    char pt[16];
    if (bootinfo_arg("panictest", pt, sizeof pt))
        panic_test(pt);
    /* ktest: self-tests and module results in KTAP; ktest=modules: modules only */
    char mode[16];
    const char *km = bootinfo_arg("ktest", mode, sizeof mode);
    int ktap = bootinfo_flag("ktest") || km;
    unsigned ntests = ktap && !(km && !strcmp(km, "modules")) ? selftest_count() : 0;
    unsigned failed = 0;
    int s0, root;
    int system = system_find(&s0, &root);
    if (ktap) {
        kprintf("KTAP version 1\n1..%u\n", ntests + (system ? boot_info.nmods - 2 : 0));
        if (ntests)
            failed += selftest_run_all(1);
    }
    if (!system) {
        kprintf("[kernel] no 'sigma0' and 'root' boot modules: nothing to start\n");
        failed++;
    } else if (system_start(s0, root, ktap, ntests + 1)) {
        failed++;
    }
    kprintf("[kernel] %s\n", ktap ? (failed ? "TESTS FAILED" : "all tests passed") : "system halted");
    arch_halt_system(failed ? 1 : 0);
}
