/*
 * The root task: loads the boot modules the kernel handed over (read-only
 * at AL_MODULES, listed at AL_BOOTINFO) into new tasks, with memory from
 * sigma0, and starts them with exactly two capabilities: the boot endpoint
 * (slot AL_SLOT_BOOT_EP) and a badged send capability to sigma0
 * (AL_SLOT_SIGMA0). Every ELF image is validated (lib/elf.c) before
 * anything is built; a malformed one is refused and the next one runs.
 *
 * It reports how each module ended, in KTAP when the kernel runs its tests:
 * a module's command line may state its expected end (expect=exit:N,
 * expect=fault:VECTOR, expect=refuse; default exit:0), and start=bg starts
 * it in the background (waited for at the end), and ports=all gives it a
 * copy of our capability for all I/O ports, ports=BASE:COUNT one for
 * those ports only, in the same slot (AL_SLOT_IOPORTS), and
 * ports=BASE:COUNT,BASE:COUNT a second one in AL_SLOT_IOPORTS2 (a device whose
 * ports straddle one of the kernel's, as the i8042's do); irqs=1 gives it a copy
 * of our IRQ-control capability (AL_SLOT_IRQ_CONTROL); mem=all a copy of our
 * device-memory capability, mem=BASE:SIZE (hexadecimal, page-aligned) one for
 * that physical range only (AL_SLOT_IOMEM). serve=NAME (pci, uart, kbd,
 * console) makes the module that service's server: it gets the receive end
 * of our endpoint for NAME (AL_SLOT_SERVICE); use=NAME,... gives a client a
 * send capability to each (in the slots boot.h names, badged with the
 * client's index); pci=VVVV:DDDD[:N] gives a driver one to the PCI server
 * whose badge names the N-th device with those IDs (AL_SLOT_PCI,
 * user/lib/pci.h).
 * start=server starts it in the background and stops it (deletes its task)
 * once every other module has ended. For modules that run alone
 * it checks that kernel frames and sigma0 pages all came back.
 */
#include "user/lib/airlock.h"
#include "abi/airlock/boot.h"
#include "lib/elf.h"
#include "lib/string.h"
#include "lib/argv.h"
#include "user/lib/pci.h"
#include "user/lib/init.h"

#define SCRATCH        0x0000200000000000UL /* root's window onto pages it builds */
#define TASK_SLOT_BASE 32                   /* one task capability per module */
#define S0_SLOT_BASE   96                   /* one badged sigma0 capability per module */
#define KEPT_FIRST     160                  /* [KEPT_FIRST, SVC_EP_BASE): capabilities derived and given */
#define SVC_EP_BASE    240                  /* + i: the endpoint of services[i] (serve=NAME) */
#define MAX_PAGES      512
#define KMEM_MODULE    2048 /* a module's kernel-memory budget without kmem=N (frames: 8 MiB) */

enum { EXP_EXIT, EXP_FAULT, EXP_REFUSE };

struct mod {
    char name[AL_BOOT_CMDLINE];
    char args[AL_BOOT_CMDLINE];
    int expect;
    long want;
    int bg;
    int ports; /* 1: ports=all, 2: ports=BASE:COUNT (see build) */
    int irqs;  /* irqs=1: a copy of our IRQ-control capability */
    unsigned long port_base2, port_count2; /* ports=...,BASE:COUNT (count 0: none) */
    int mem;   /* 1: mem=all, 2: mem=BASE:SIZE */
    unsigned long kmem; /* kmem=N: its kernel-memory budget in frames (0: KMEM_MODULE) */
    int serve; /* serve=NAME: 1 + its index in services[], 0: none */
    unsigned use; /* use=NAME,...: bit i for services[i] */
    int server; /* start=server */
    unsigned long pci_badge; /* pci=VVVV:DDDD[:N]: PCI_BADGE, 0: none */
    /* the capabilities we derived for it and keep while it runs (deleting
     * one would revoke what it got): ports= (two), mem=, pci= */
    long kept[4 + 5];
    int nkept;
    unsigned long port_base, port_count, mem_base, mem_size;
    long task_slot, task_id;
    /* init mode (user/lib/init.h) */
    int used, kind, state, restart; /* restart=1: supervised (restarted when it ends) */
    int stopping;                   /* INIT_KILL / INIT_RESTART asked for its end */
    int quiet;                      /* started by INIT_RUN: its start and end are the shell's to tell */
    unsigned long restarts, how, status;
    long waiter; /* a saved reply (INIT_WAIT), 0: none */
    const struct al_boot_module *image;
    char cmdline[AL_BOOT_CMDLINE];
    long ids[MAX_PAGES];
    int nids;
    unsigned long kframes, s0pages; /* before, for the leak check (0: not checked) */
};

static unsigned long scratch_next = SCRATCH;
static unsigned char kept_used[SVC_EP_BASE];

/* the system's services: a module started with serve=NAME receives on the
 * endpoint of NAME; modules with use=NAME get a send capability to it in
 * the slot the ABI gives NAME (abi/airlock/boot.h). The endpoints are
 * ours: they outlive the servers (a restarted server gets the same one,
 * and its clients' calls fail with an error meanwhile, never hang on a
 * dead server). "init" is this task's own (init mode). */
static const char *const services[] = {"pci", "uart", "kbd", "console", "init"};
static const long service_slot[] = {AL_SLOT_PCI, AL_SLOT_UART, AL_SLOT_KBD, AL_SLOT_CONSOLE, AL_SLOT_INIT};
#define NSERVICES   (sizeof services / sizeof services[0])
#define SVC_INIT    4
_Static_assert(SVC_EP_BASE + NSERVICES <= AL_CSPACE_SLOTS, "the service endpoints fit");

/* our endpoint of service i, created on first use */
static long service_ep(unsigned i)
{
    struct al_cap_info ci;
    if (al_cap_info(SVC_EP_BASE + (long)i, &ci) != 0 && al_endpoint_create(SVC_EP_BASE + (long)i) != 0)
        return -AL_ENOMEM;
    return SVC_EP_BASE + (long)i;
}

/* a free slot in [KEPT_FIRST, SVC_EP_BASE) for a capability kept for m */
static long keep_slot(struct mod *m)
{
    for (long s = KEPT_FIRST; s < SVC_EP_BASE; s++)
        if (!kept_used[s]) {
            kept_used[s] = 1;
            m->kept[m->nkept++] = s;
            return s;
        }
    return -AL_ENOMEM;
}

static void drop_kept(struct mod *m)
{
    for (int i = 0; i < m->nkept; i++) {
        al_cap_delete(m->kept[i]);
        kept_used[m->kept[i]] = 0;
    }
    m->nkept = 0;
}
static unsigned ktap_next;
static int ktap;
/* boot modules (test mode), or the tasks init started (init mode) */
#define MAX_PROCS 64
static struct mod mods[MAX_PROCS];
_Static_assert(TASK_SLOT_BASE + MAX_PROCS <= S0_SLOT_BASE && S0_SLOT_BASE + MAX_PROCS <= KEPT_FIRST,
               "the per-task slots do not overlap");

/* remove the word w (or a word starting with w when prefix) from s */
static int take_word(char *s, const char *w, int prefix, char *val, unsigned vlen)
{
    size_t n = strlen(w);
    for (char *p = s; *p; p++) {
        if (p != s && p[-1] != ' ')
            continue;
        if (strncmp(p, w, n) || (!prefix && p[n] && p[n] != ' '))
            continue;
        char *e = p;
        while (*e && *e != ' ')
            e++;
        if (val) {
            unsigned k = 0;
            for (char *q = p + n; q < e && k + 1 < vlen; q++)
                val[k++] = *q;
            val[k] = 0;
        }
        char *rest = *e ? e + 1 : e;
        memmove(p, rest, strlen(rest) + 1);
        if (p > s && !*p)
            p[-1] = 0;
        return 1;
    }
    return 0;
}

static void parse(struct mod *m, const char *cmdline)
{
    memcpy(m->args, cmdline, AL_BOOT_CMDLINE - 1);
    char v[32];
    m->expect = EXP_EXIT;
    m->want = 0;
    if (take_word(m->args, "expect=", 1, v, sizeof v)) {
        int ok;
        if (!strncmp(v, "exit:", 5))
            m->want = strtol_simple(v + 5, &ok);
        else if (!strncmp(v, "fault:", 6))
            m->expect = EXP_FAULT, m->want = strtol_simple(v + 6, &ok);
        else if (!strcmp(v, "refuse"))
            m->expect = EXP_REFUSE;
    }
    m->bg = take_word(m->args, "start=bg", 0, NULL, 0);
    m->restart = take_word(m->args, "restart=1", 0, NULL, 0);
    m->server = take_word(m->args, "start=server", 0, NULL, 0);
    m->bg |= m->server;
    m->serve = 0;
    if (take_word(m->args, "serve=", 1, v, sizeof v))
        for (unsigned i = 0; i < NSERVICES - 1; i++) /* (not init: ours) */
            if (!strcmp(v, services[i]))
                m->serve = (int)i + 1;
    m->use = 0;
    if (take_word(m->args, "use=", 1, v, sizeof v)) {
        /* use=NAME[,NAME...]; unknown names are ignored */
        for (char *w = v; *w;) {
            char *e = w;
            while (*e && *e != ',')
                e++;
            char c = *e;
            *e = 0;
            for (unsigned i = 0; i < NSERVICES; i++)
                if (!strcmp(w, services[i]))
                    m->use |= 1u << i;
            w = c ? e + 1 : e;
        }
    }
    if (take_word(m->args, "pci=", 1, v, sizeof v)) {
        /* pci=VVVV:DDDD[:N] (hexadecimal IDs, decimal N); malformed: none,
         * and the driver finds no PCI server */
        int ok = 1, ok2 = 1, ok3 = 1;
        char *c1 = v, *c2;
        while (*c1 && *c1 != ':')
            c1++;
        if (*c1) {
            *c1++ = 0;
            for (c2 = c1; *c2 && *c2 != ':'; c2++)
                ;
            long n = 0;
            if (*c2) {
                *c2++ = 0;
                n = strtol_simple(c2, &ok3);
            }
            unsigned long ven = strtoul_hex(v, &ok), dev = strtoul_hex(c1, &ok2);
            if (ok && ok2 && ok3 && ven <= 0xffff && dev <= 0xffff && n >= 0 && n < 256)
                m->pci_badge = PCI_BADGE(ven, dev, n);
        }
    }
    m->irqs = take_word(m->args, "irqs=1", 0, NULL, 0);
    if (take_word(m->args, "ports=", 1, v, sizeof v)) {
        /* ports=all, or ports=BASE:COUNT (hexadecimal base, decimal count),
         * or two ranges: ports=BASE:COUNT,BASE:COUNT */
        int ok = 1, ok2 = 1, ok3 = 1;
        char *comma = v;
        while (*comma && *comma != ',')
            comma++;
        if (*comma) {
            char *c2 = comma + 1;
            *comma = 0;
            while (*c2 && *c2 != ':')
                c2++;
            ok3 = 0;
            if (*c2) {
                *c2 = 0;
                m->port_base2 = strtoul_hex(comma + 1, &ok3);
                m->port_count2 = ok3 ? (unsigned long)strtol_simple(c2 + 1, &ok3) : 0;
            }
            ok3 = ok3 && m->port_count2; /* else no ports at all */
        }
        char *colon = v;
        while (*colon && *colon != ':')
            colon++;
        if (*colon) {
            *colon = 0;
            m->port_base = strtoul_hex(v, &ok);
            m->port_count = (unsigned long)strtol_simple(colon + 1, &ok2);
        }
        m->ports = !strcmp(v, "all") ? 1 : ok && ok2 && ok3 && m->port_count ? 2 : 0;
    }
    if (take_word(m->args, "mem=", 1, v, sizeof v)) {
        /* mem=all, or mem=BASE:SIZE (both hexadecimal); a bad range is
         * refused by iomem_derive when the module is built */
        int ok = 1, ok2 = 1;
        char *colon = v;
        while (*colon && *colon != ':')
            colon++;
        if (*colon) {
            *colon = 0;
            m->mem_base = strtoul_hex(v, &ok);
            m->mem_size = strtoul_hex(colon + 1, &ok2);
        }
        m->mem = !strcmp(v, "all") ? 1 : ok && ok2 ? 2 : 0;
    }
    if (take_word(m->args, "kmem=", 1, v, sizeof v)) {
        /* a bad number gives the module no budget: it is refused */
        int ok = 1;
        long n = strtol_simple(v, &ok);
        m->kmem = ok && n > 0 ? (unsigned long)n : ~0UL;
    }
    /* KTAP name: basename and arguments */
    const char *b = m->args;
    for (const char *s = m->args; *s && *s != ' '; s++)
        if (*s == '/')
            b = s + 1;
    memcpy(m->name, b, strlen(b) + 1);
}

/* a fresh page from sigma0, mapped RW in root at a new scratch address */
static unsigned long page(struct mod *m)
{
    if (m->nids == MAX_PAGES)
        return 0;
    unsigned long va = scratch_next;
    scratch_next += 4096;
    /* RWX: root writes the page (so its own view is writable and not
     * executable), and may then pass X on to the module's text */
    long id = mem_alloc((void *)va, 12, AL_MAP_R | AL_MAP_W | AL_MAP_X);
    if (id < 0)
        return 0;
    m->ids[m->nids++] = id;
    return va;
}

static int bg_running;

static void release(struct mod *m)
{
    for (int i = 0; i < m->nids; i++)
        mem_free(m->ids[i]);
    m->nids = 0;
    /* with nothing else loaded, the scratch window starts over: its page
     * tables are reused rather than grown */
    if (!bg_running)
        scratch_next = SCRATCH;
}

static int seg_rights(uint32_t f)
{
    return AL_MAP_R | ((f & ELF_SEG_W) ? AL_MAP_W : 0) | ((f & ELF_SEG_X) ? AL_MAP_X : 0);
}

/* build the task; returns 0 or a negative error with *why set */
static long build(struct mod *m, const struct al_boot_module *bm, unsigned idx, const char **why)
{
    struct elf_image img;
    *why = NULL;
    long r = elf_parse((const void *)bm->va, bm->size, AL_USER_LO, AL_UTCB_BASE, &img, why);
    if (r)
        return r;
    m->task_slot = TASK_SLOT_BASE + idx;
    char tname[32];
    unsigned k = 0;
    for (const char *s = m->name; *s && *s != ' ' && k < sizeof tname - 1; s++)
        tname[k++] = *s;
    tname[k] = 0;
    if ((r = al_task_create(m->task_slot, tname)) < 0)
        return *why = "task_create failed", r;
    m->task_id = r;
    /* its kernel-memory budget, out of root's (docs/ABI.md, section 8) */
    long kr = al_kmem_set(m->task_slot, m->kmem ? m->kmem : KMEM_MODULE);
    if (kr < 0)
        return *why = "no kernel-memory budget", kr;
    const uint8_t *image = (const uint8_t *)bm->va;
    for (unsigned s = 0; s < img.nseg; s++) {
        const struct elf_segment *sg = &img.seg[s];
        unsigned long start = sg->vaddr & ~0xfffUL, end = (sg->vaddr + sg->memsz + 0xfff) & ~0xfffUL;
        for (unsigned long va = start; va < end; va += 4096) {
            unsigned long p = page(m);
            if (!p)
                return *why = "out of memory", -AL_ENOMEM;
            unsigned long lo = va > sg->vaddr ? va : sg->vaddr;
            unsigned long hi = va + 4096 < sg->vaddr + sg->filesz ? va + 4096 : sg->vaddr + sg->filesz;
            if (hi > lo)
                memcpy((void *)(p + (lo - va)), image + sg->offset + (lo - sg->vaddr), hi - lo);
            if ((r = al_task_map(m->task_slot, AL_FPAGE(p, 12), va, seg_rights(sg->flags))) < 0)
                return *why = "task_map failed", r;
        }
    }
    /* the stack; argv strings and the SysV argc/argv block on its top page */
    unsigned long top_page = 0;
    for (unsigned long va = AL_USER_STACK_TOP - AL_USER_STACK_SIZE; va < AL_USER_STACK_TOP; va += 4096) {
        unsigned long p = page(m);
        if (!p)
            return *why = "out of memory", -AL_ENOMEM;
        if ((r = al_task_map(m->task_slot, AL_FPAGE(p, 12), va, AL_MAP_RW)) < 0)
            return *why = "task_map failed", r;
        top_page = p;
    }
    unsigned long sp = argv_build(m->args, (unsigned char *)top_page, AL_USER_STACK_TOP - 4096);
    if (!sp)
        return *why = "arguments do not fit on the stack page", -AL_E2BIG;
    /* its capabilities: the boot endpoint and sigma0 (badged: sigma0 tells clients apart) */
    long s0 = S0_SLOT_BASE + idx;
    if (al_cap_copy(AL_SLOT_SIGMA0, s0, AL_R_SEND, 0x100 + idx) ||
        al_cap_give(m->task_slot, AL_SLOT_BOOT_EP, AL_SLOT_BOOT_EP, AL_R_SEND | AL_R_RECV | AL_R_GRANT) ||
        al_cap_give(m->task_slot, s0, AL_SLOT_SIGMA0, AL_R_SEND))
        return *why = "cannot give capabilities", -AL_EINVAL;
    long io = AL_SLOT_IOPORTS;
    if (m->ports == 2) {
        if ((io = keep_slot(m)) < 0)
            return *why = "out of slots", io;
        if ((r = al_ioport_derive(AL_SLOT_IOPORTS, io, m->port_base, m->port_count, AL_R_ALL)) < 0)
            return *why = "cannot derive the I/O ports", r;
    }
    if (m->ports && al_cap_give(m->task_slot, io, AL_SLOT_IOPORTS, AL_R_ALL))
        return *why = "cannot give the I/O ports", -AL_EINVAL;
    if (m->ports == 2 && m->port_count2) {
        long io2 = keep_slot(m);
        if (io2 < 0)
            return *why = "out of slots", io2;
        if ((r = al_ioport_derive(AL_SLOT_IOPORTS, io2, m->port_base2, m->port_count2, AL_R_ALL)) < 0)
            return *why = "cannot derive the I/O ports", r;
        if (al_cap_give(m->task_slot, io2, AL_SLOT_IOPORTS2, AL_R_ALL))
            return *why = "cannot give the I/O ports", -AL_EINVAL;
    }
    long mem = AL_SLOT_IOMEM;
    if (m->mem == 2) {
        if ((mem = keep_slot(m)) < 0)
            return *why = "out of slots", mem;
        if ((r = al_iomem_derive(AL_SLOT_IOMEM, mem, m->mem_base, m->mem_size, AL_R_ALL)) < 0)
            return *why = "cannot derive the device memory", r;
    }
    if (m->mem && al_cap_give(m->task_slot, mem, AL_SLOT_IOMEM, AL_R_ALL))
        return *why = "cannot give the device memory", -AL_EINVAL;
    if (m->serve) {
        long ep = service_ep((unsigned)m->serve - 1);
        if (ep < 0)
            return *why = "cannot create the service endpoint", ep;
        if (al_cap_give(m->task_slot, ep, AL_SLOT_SERVICE, AL_R_ALL))
            return *why = "cannot give the service endpoint", -AL_EINVAL;
    }
    /* send capabilities to services, badged with the client's index (a
     * driver's PCI capability: with its device instead) */
    for (unsigned i = 0; i < NSERVICES; i++) {
        unsigned long badge = i == 0 ? m->pci_badge : (m->use >> i & 1) ? 0x1000 + idx : 0;
        if (!badge)
            continue;
        long ep = service_ep(i), c = keep_slot(m);
        if (ep < 0 || c < 0)
            return *why = "out of slots", -AL_ENOMEM;
        if (al_cap_copy(ep, c, AL_R_SEND | AL_R_GRANT, badge) ||
            al_cap_give(m->task_slot, c, service_slot[i], AL_R_SEND | AL_R_GRANT))
            return *why = "cannot give a service capability", -AL_EINVAL;
    }
    if (m->irqs && al_cap_give(m->task_slot, AL_SLOT_IRQ_CONTROL, AL_SLOT_IRQ_CONTROL, AL_R_CONTROL))
        return *why = "cannot give the IRQ-control capability", -AL_EINVAL;
    r = al_thread_create_in(m->task_slot, img.entry, sp, 0, 100, -1);
    if (r < 0)
        return *why = "thread_create_in failed", r;
    if (!m->quiet)
        printf("[root] %s: started as task %ld\n", m->name, m->task_id);
    return 0;
}

static void result(struct mod *m, int ok)
{
    if (ktap)
        printf("%s %u module:%s\n", ok ? "ok" : "not ok", ktap_next++, m->name);
}

/* free kernel frames, counting the node cache as free (it only grows) */
static unsigned long kernel_frames(void)
{
    struct al_stats st;
    al_stats(&st, sizeof st);
    return st.free_frames + st.cache_frames;
}

/* a module's task is over: the task (and its mappings), the pages we
 * built it with, what it got from sigma0 itself (its badge), its sigma0
 * capability and the capabilities we kept for it */
static void teardown(struct mod *m)
{
    long idx = m - mods;
    al_cap_delete(m->task_slot);
    release(m);
    mem_reclaim(0x100 + (unsigned long)idx);
    al_cap_delete(S0_SLOT_BASE + idx);
    drop_kept(m);
}

static int finish(struct mod *m)
{
    struct al_task_end end;
    long r = al_task_wait(m->task_slot, &end);
    int ok;
    if (r) {
        printf("[root] %s: task_wait failed (%ld)\n", m->name, r);
        ok = 0;
    } else if (end.how == AL_THREAD_EXITED) {
        printf("[root] %s: exited with status %ld\n", m->name, end.status);
        ok = m->expect == EXP_EXIT && end.status == m->want;
    } else {
        printf("[root] %s: killed by vector %ld\n", m->name, end.status);
        ok = m->expect == EXP_FAULT && end.status == m->want;
    }
    teardown(m);
    if (m->kframes) {
        unsigned long kf = kernel_frames(), fp, tp;
        mem_info(&fp, &tp);
        if (kf < m->kframes || fp < m->s0pages) {
            printf("[root] %s: leaked %ld kernel frames, %ld sigma0 pages\n", m->name, (long)(m->kframes - kf),
                   (long)(m->s0pages - fp));
            ok = 0;
        }
    }
    result(m, ok);
    return ok;
}

/* start=server: a server runs until everything else ended; then it is
 * stopped (its task deleted) and reported as passed: a server that failed
 * earlier shows in its clients' results. */
static int stop(struct mod *m)
{
    teardown(m);
    printf("[root] %s: stopped\n", m->name);
    result(m, 1);
    return 1;
}

/* ---- init mode: a boot configuration, supervision, the init protocol ----
 *
 * When a boot module's name ends in ".cfg", that module is the boot
 * configuration and every other module is only an image: root starts the
 * configuration's lines (each a command line as a boot module's: program
 * name, arguments, module words), then serves the init protocol
 * (user/lib/init.h) on its endpoint of service "init". Each task it starts
 * has a watcher thread of ours blocked in task_wait; when the task ends,
 * the watcher tells the main thread (badge WATCH_BADGE), which cleans up,
 * answers INIT_WAIT, and, for a supervised task (restart=1) that was not
 * stopped on request, answers the watcher with a back-off (100 ms, doubled
 * per restart in a row, at most 5 s); the watcher sleeps it and asks for
 * the restart, which builds the task again from its command line: the same
 * service endpoints, fresh ports, IRQs and device memory. */
#define WATCH_SLOT  13 /* a badged send capability to our init endpoint, for the watchers */
#define WATCH_BADGE 1
#define WAIT_FIRST  16 /* [WAIT_FIRST, TASK_SLOT_BASE): saved replies of INIT_WAIT callers */
#define LBL_ENDED   0x69f1
#define LBL_RESTART 0x69f2
#define BACKOFF_MS  100
#define BACKOFF_MAX 5000

static const struct al_bootinfo *boot;
static unsigned char image_bad[AL_BOOT_MAX_MODS]; /* a task of this image ended badly */
static char wstack[MAX_PROCS][8192] __attribute__((aligned(16)));
static int halting;

/* the boot module whose file name (without directories and ".elf") is name */
static const struct al_boot_module *image_of(const char *name, unsigned len)
{
    for (unsigned i = 0; i < boot->nmods && i < AL_BOOT_MAX_MODS; i++) {
        const char *c = boot->mods[i].cmdline, *b = c, *e;
        for (e = c; *e && *e != ' '; e++)
            if (*e == '/')
                b = e + 1;
        unsigned n = (unsigned)(e - b);
        if (n > 4 && !strncmp(e - 4, ".elf", 4))
            n -= 4;
        if (n == len && !strncmp(b, name, len))
            return &boot->mods[i];
    }
    return NULL;
}

static long watch(void *arg)
{
    unsigned long idx = (unsigned long)arg;
    struct al_utcb *u = al_utcb();
    for (;;) {
        struct al_task_end end = {AL_THREAD_FAULTED, 0};
        if (al_task_wait(mods[idx].task_slot, &end))
            end.how = AL_THREAD_FAULTED;
        u->mr[0] = idx;
        u->mr[1] = (unsigned long)end.how;
        u->mr[2] = (unsigned long)end.status;
        if (al_ipc(AL_IPC_CALL, WATCH_SLOT, AL_TAG(3, 0, LBL_ENDED), 0, AL_TIMEOUT_NEVER) || !u->mr[0])
            return 0;
        al_sleep(u->mr[0] * 1000000UL); /* the back-off */
        u->mr[0] = idx;
        if (al_ipc(AL_IPC_CALL, WATCH_SLOT, AL_TAG(1, 0, LBL_RESTART), 0, AL_TIMEOUT_NEVER) || !u->mr[0])
            return 0;
    }
}

static int kind_of(const struct mod *m)
{
    if (m->ports || m->irqs || m->mem || m->pci_badge)
        return INIT_KIND_DRIVER;
    return m->serve ? INIT_KIND_SERVER : INIT_KIND_PROGRAM;
}

/* build and start proc idx from its command line (mods[idx].cmdline),
 * with a watcher thread for it unless one watches it already (a restart);
 * 0 or the error (the proc stays free) */
static long spawn(unsigned idx, int watched)
{
    struct mod *m = &mods[idx];
    char name[AL_BOOT_CMDLINE];
    memcpy(name, m->cmdline, sizeof name);
    unsigned long restarts = m->restarts;
    int quiet = m->quiet;
    memset(m, 0, sizeof *m);
    memcpy(m->cmdline, name, sizeof name);
    m->restarts = restarts;
    m->quiet = quiet;
    unsigned n = 0;
    while (name[n] && name[n] != ' ')
        n++;
    m->image = image_of(name, n);
    if (!m->image || m->image->cmdline[0] == 0)
        return -AL_ENOENT;
    /* the module's own path first (argv[0]), then the line's arguments */
    char line[AL_BOOT_CMDLINE];
    unsigned k = 0;
    for (const char *c = m->image->cmdline; *c && *c != ' ' && k < sizeof line - 1; c++)
        line[k++] = *c;
    for (const char *c = name + n; *c && k < sizeof line - 1; c++)
        line[k++] = *c;
    line[k] = 0;
    parse(m, line);
    const char *why;
    long r = build(m, m->image, idx, &why);
    if (r) {
        printf("[init] %s: refused: %s (error %ld)\n", m->name, why ? why : "?", r);
        teardown(m);
        return r;
    }
    m->used = 1;
    m->kind = kind_of(m);
    m->state = INIT_RUNNING;
    bg_running++;
    if (!watched)
        thread_spawn(watch, (void *)(unsigned long)idx, wstack[idx], sizeof wstack[idx], 150, -1);
    return 0;
}

static long start_line(const char *line, unsigned len, int quiet)
{
    for (unsigned i = 0; i < MAX_PROCS; i++)
        if (!mods[i].used && !mods[i].waiter && !mods[i].stopping) {
            unsigned n = len < AL_BOOT_CMDLINE - 1 ? len : AL_BOOT_CMDLINE - 1;
            memset(mods[i].cmdline, 0, sizeof mods[i].cmdline);
            memcpy(mods[i].cmdline, line, n);
            mods[i].restarts = 0;
            mods[i].quiet = quiet;
            long r = spawn(i, 0);
            return r ? r : (long)i;
        }
    return -AL_ENOMEM;
}

/* the task of proc i ended (its watcher says how): clean up; the
 * back-off in ms if it is to be started again, else 0 */
static unsigned long ended(unsigned i, unsigned long how, unsigned long status)
{
    struct mod *m = &mods[i];
    m->how = how;
    m->status = status;
    /* for the KTAP report: an end neither asked for (kill, restart) nor
     * expected (expect=, default exit:0) */
    int want = m->stopping || (how == AL_THREAD_EXITED && m->expect == EXP_EXIT && (long)status == m->want) ||
               (how == AL_THREAD_FAULTED && m->expect == EXP_FAULT && (long)status == m->want) || halting;
    if (!want && m->image)
        image_bad[m->image - boot->mods] = 1;
    if (m->quiet)
        ;
    else if (how == AL_THREAD_KILLED)
        printf("[init] %s: killed\n", m->name);
    else
        printf("[init] %s: %s %lu\n", m->name, how == AL_THREAD_EXITED ? "exited with status" : "ended by vector",
               status);
    teardown(m);
    bg_running--;
    if (m->waiter) {
        struct al_utcb *u = al_utcb();
        u->mr[0] = how;
        u->mr[1] = status;
        al_ipc(AL_IPC_REPLY, m->waiter, AL_TAG(2, 0, INIT_OK), 0, 0);
        al_cap_delete(m->waiter);
        m->waiter = 0;
    }
    /* a supervised task comes back however it ended: crashed, exited or
     * killed (INIT_KILL; after the back-off, as after a crash); at once for
     * INIT_RESTART. Only halting ends it for good. */
    int again = !halting && m->restart;
    if (!again) {
        m->state = INIT_ENDED;
        m->used = 0;
        m->stopping = 0;
        return 0;
    }
    m->state = INIT_RESTARTING;
    unsigned long ms = m->stopping == 2 ? 1 : BACKOFF_MS << (m->restarts < 6 ? m->restarts : 6);
    m->stopping = 0;
    return ms < BACKOFF_MAX ? ms : BACKOFF_MAX;
}

static unsigned long reply_err(long e)
{
    al_utcb()->mr[0] = (unsigned long)e;
    return AL_TAG(1, 0, INIT_ERR);
}

/* a proc by task id (used or ended but still listed), or -1 */
static int proc_of(unsigned long id)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if ((mods[i].used || mods[i].state == INIT_RESTARTING) && (unsigned long)mods[i].task_id == id)
            return i;
    return -1;
}

/* the entry of the ended (not restarting) task id, kept until the entry
 * is reused; -1 if none */
static int ended_of(unsigned long id)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if (!mods[i].used && mods[i].state == INIT_ENDED && mods[i].task_id && (unsigned long)mods[i].task_id == id)
            return i;
    return -1;
}

/* stop a task: it ends, and its watcher reports it (kill semantics: the
 * kernel ends every thread of the task) */
static long stop_task(struct mod *m, int how)
{
    m->stopping = how;
    long r = al_task_kill(m->task_slot);
    if (r)
        m->stopping = 0;
    return r;
}

/* one init request from a client; the reply tag, or 0 if the reply waits */
static unsigned long serve_init(unsigned long tag)
{
    struct al_utcb *u = al_utcb();
    unsigned long label = AL_TAG_LABEL(tag), words = AL_TAG_WORDS(tag);
    if (label == INIT_RUN) {
        if (words < 2)
            return reply_err(-AL_EINVAL);
        char line[AL_BOOT_CMDLINE];
        unsigned long maxb = (words - 1) * 8 < sizeof line ? (words - 1) * 8 : sizeof line;
        memcpy(line, &u->mr[1], maxb);
        line[maxb - 1] = 0;
        unsigned n = 0;
        while (line[n] && line[n] != '\n')
            n++;
        line[n] = 0;
        /* programs started this way talk to the console; they may not ask
         * for devices or services of their own */
        for (char *c = line; *c; c++)
            if (c == line || c[-1] == ' ')
                if (!strncmp(c, "ports=", 6) || !strncmp(c, "irqs=", 5) || !strncmp(c, "mem=", 4) ||
                    !strncmp(c, "kmem=", 5) || !strncmp(c, "serve=", 6) || !strncmp(c, "pci=", 4) ||
                    !strncmp(c, "use=", 4) || !strncmp(c, "restart=", 8) || !strncmp(c, "start=", 6))
                    return reply_err(-AL_EPERM);
        unsigned len = (unsigned)strlen(line);
        if (len + sizeof " use=console" >= AL_BOOT_CMDLINE)
            return reply_err(-AL_E2BIG);
        memcpy(line + len, " use=console", sizeof " use=console");
        long r = start_line(line, (unsigned)strlen(line), 1);
        if (r < 0)
            return reply_err(r);
        u->mr[0] = (unsigned long)mods[r].task_id;
        return AL_TAG(1, 0, INIT_OK);
    }
    int i = proc_of(u->mr[0]);
    if (i < 0 && label == INIT_WAIT)
        i = ended_of(u->mr[0]);
    if (label == INIT_WAIT || label == INIT_KILL || label == INIT_RESTART) {
        if (words < 1 || i < 0)
            return reply_err(-AL_ENOENT);
        struct mod *m = &mods[i];
        if (label == INIT_WAIT) {
            if (m->state == INIT_ENDED) {
                /* it has ended already (a short program on another CPU can
                 * end before its starter's INIT_WAIT arrives): how, at once */
                u->mr[0] = m->how;
                u->mr[1] = m->status;
                return AL_TAG(2, 0, INIT_OK);
            }
            if (m->waiter || m->state != INIT_RUNNING)
                return reply_err(m->waiter ? -AL_EBUSY : -AL_ENOENT);
            for (long s = WAIT_FIRST; s < TASK_SLOT_BASE; s++) {
                struct al_cap_info ci;
                if (al_cap_info(s, &ci) == -AL_EBADCAP && al_reply_save(s) == 0) {
                    m->waiter = s;
                    return 0;
                }
            }
            return reply_err(-AL_ENOMEM);
        }
        if (m->state != INIT_RUNNING)
            return reply_err(-AL_EBUSY);
        if (label == INIT_RESTART && !m->restart)
            return reply_err(-AL_EINVAL);
        long r = stop_task(m, label == INIT_KILL ? 1 : 2);
        if (r)
            return reply_err(r);
        u->mr[0] = 0;
        return AL_TAG(1, 0, INIT_OK);
    }
    if (label == INIT_LIST) {
        unsigned long want = u->mr[0], seen = 0;
        for (int j = 0; j < MAX_PROCS; j++) {
            struct mod *m = &mods[j];
            if (!m->used && m->state != INIT_RESTARTING && !(m->state == INIT_ENDED && m->task_id))
                continue; /* (an ended task stays listed until its entry is reused) */
            if (seen++ != want)
                continue;
            struct init_task t;
            memset(&t, 0, sizeof t);
            t.id = (unsigned long)m->task_id;
            t.kind = (unsigned long)m->kind;
            t.state = (unsigned long)m->state;
            t.restarts = m->restarts;
            t.pages = (unsigned long)m->nids;
            t.how = m->how;
            t.status = m->status;
            struct al_kmem_info ki;
            if (m->task_id && m->state == INIT_RUNNING && al_kmem_info(m->task_slot, &ki) == 0)
                t.kmem_limit = ki.limit, t.kmem_used = ki.used;
            memcpy(t.name, m->name, sizeof t.name - 1);
            memcpy(u->mr, &t, sizeof t);
            return AL_TAG(INIT_TASK_WORDS, 0, INIT_OK);
        }
        return reply_err(-AL_ENOENT);
    }
    if (label == INIT_HALT) {
        halting = 1;
        u->mr[0] = 0;
        return AL_TAG(1, 0, INIT_OK);
    }
    return reply_err(-AL_EINVAL);
}

/* a task runs, or a watcher sleeps out a back-off (it will ask to restart
 * its task: root may not end before it has been answered, or that watcher
 * would keep root, and so the machine, from ever stopping) */
static int running(void)
{
    if (bg_running)
        return 1;
    for (int i = 0; i < MAX_PROCS; i++)
        if (mods[i].state == INIT_RESTARTING)
            return 1;
    return 0;
}

static int init_mode(const struct al_boot_module *cfg)
{
    long ep = service_ep(SVC_INIT);
    if (ep < 0 || al_cap_copy(ep, WATCH_SLOT, AL_R_SEND, WATCH_BADGE)) {
        printf("[init] no endpoint\n");
        return 1;
    }
    /* the configuration: one command line per line; '#' starts a comment */
    const char *c = (const char *)cfg->va, *end = c + cfg->size;
    unsigned started = 0;
    while (c < end) {
        const char *e = c;
        while (e < end && *e != '\n')
            e++;
        const char *b = c;
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        if (b < e && *b != '#') {
            char line[AL_BOOT_CMDLINE];
            unsigned n = (unsigned)(e - b) < sizeof line - 1 ? (unsigned)(e - b) : sizeof line - 1;
            memcpy(line, b, n);
            while (n && (line[n - 1] == ' ' || line[n - 1] == '\r' || line[n - 1] == '\t'))
                n--;
            line[n] = 0;
            long r = start_line(line, n, 0);
            if (r < 0) {
                printf("[init] cannot start '%s' (error %ld)\n", line, r);
                image_bad[cfg - boot->mods] = 1;
            }
            else
                started++;
        }
        c = e + 1;
    }
    printf("[init] %u tasks started from %s\n", started, cfg->cmdline);
    struct al_utcb *u = al_utcb();
    long r = al_ipc(AL_IPC_RECV, 0, 0, ep, AL_TIMEOUT_NEVER);
    for (;;) {
        if (halting && !running()) {
            printf("[init] halted\n");
            int bad = 0;
            if (ktap) /* one result per boot module but sigma0 and root */
                for (unsigned i = 0; i < boot->nmods && i < AL_BOOT_MAX_MODS; i++) {
                    const char *c = boot->mods[i].cmdline, *b = c;
                    for (const char *e = c; *e && *e != ' '; e++)
                        if (*e == '/')
                            b = e + 1;
                    if (!strncmp(b, "sigma0", 6) || !strncmp(b, "root", 4))
                        continue;
                    bad += image_bad[i];
                    printf("%s %u image:%s\n", image_bad[i] ? "not ok" : "ok", ktap_next++, b);
                }
            return bad;
        }
        if (r) {
            r = al_ipc(AL_IPC_RECV, 0, 0, ep, AL_TIMEOUT_NEVER);
            continue;
        }
        unsigned long tag = u->tag, reply;
        if (u->badge == WATCH_BADGE) {
            unsigned i = (unsigned)u->mr[0];
            if (i >= MAX_PROCS) {
                r = al_ipc(AL_IPC_RECV, 0, 0, ep, AL_TIMEOUT_NEVER);
                continue;
            }
            if (AL_TAG_LABEL(tag) == LBL_ENDED) {
                u->mr[0] = ended(i, u->mr[1], u->mr[2]);
            } else { /* LBL_RESTART */
                mods[i].restarts++;
                long s = halting ? -1 : spawn(i, 1);
                if (s)
                    mods[i].state = INIT_ENDED, mods[i].used = 0;
                else
                    printf("[init] %s: restarted (%lu)\n", mods[i].name, mods[i].restarts);
                u->mr[0] = s == 0;
            }
            reply = AL_TAG(1, 0, 0);
        } else {
            reply = serve_init(tag);
            if (halting && AL_TAG_LABEL(tag) == INIT_HALT)
                for (int j = 0; j < MAX_PROCS; j++)
                    if (mods[j].used && mods[j].state == INIT_RUNNING)
                        stop_task(&mods[j], 1);
        }
        if (halting && !running()) {
            /* the last task has ended and no watcher waits out a back-off:
             * no message will come, so do not wait for one (the loop's top
             * reports and ends) */
            if (reply)
                al_ipc(AL_IPC_REPLY, -1, reply, 0, 0);
            r = 0;
            continue;
        }
        r = reply ? al_ipc(AL_IPC_REPLY_RECV, 0, reply, ep, AL_TIMEOUT_NEVER)
                  : al_ipc(AL_IPC_RECV, 0, 0, ep, AL_TIMEOUT_NEVER);
    }
}

int main(void)
{
    const struct al_bootinfo *bi = (const struct al_bootinfo *)AL_BOOTINFO;
    if (bi->magic != AL_BOOT_MAGIC) {
        printf("root: no boot information\n");
        return 1;
    }
    ktap = (int)bi->ktap;
    ktap_next = (unsigned)bi->ktap_first;
    printf("root: %lu boot modules\n", bi->nmods);
    boot = bi;
    for (unsigned i = 0; i < bi->nmods && i < AL_BOOT_MAX_MODS; i++) {
        const char *c = bi->mods[i].cmdline, *e = c;
        while (*e && *e != ' ')
            e++;
        if (e - c > 4 && !strncmp(e - 4, ".cfg", 4))
            return init_mode(&bi->mods[i]);
    }
    int failed = 0;
    /* build the page tables of the first scratch window once (a module's
     * pages fit in it), so the per-module leak check sees only real leaks */
    long warm = mem_alloc((void *)SCRATCH, 12, AL_MAP_RW);
    if (warm >= 0)
        mem_free(warm);
    for (unsigned i = 0; i < bi->nmods && i < AL_BOOT_MAX_MODS; i++) {
        struct mod *m = &mods[i];
        parse(m, bi->mods[i].cmdline);
        if (!m->bg && !bg_running) {
            unsigned long tp;
            m->kframes = kernel_frames();
            mem_info(&m->s0pages, &tp);
        }
        const char *why;
        long r = build(m, &bi->mods[i], i, &why);
        if (r) {
            printf("[root] %s: refused: %s (error %ld)\n", m->name, why ? why : "?", r);
            al_cap_delete(m->task_slot);
            drop_kept(m);
            release(m);
            int ok = m->expect == EXP_REFUSE;
            if (m->kframes && kernel_frames() < m->kframes) {
                printf("[root] %s: the refusal leaked kernel frames\n", m->name);
                ok = 0;
            }
            result(m, ok);
            failed += !ok;
            m->task_slot = 0;
            continue;
        }
        if (m->bg) {
            bg_running++;
            continue;
        }
        failed += !finish(m);
    }
    for (unsigned i = 0; i < bi->nmods && i < AL_BOOT_MAX_MODS; i++)
        if (mods[i].bg && !mods[i].server && mods[i].task_slot) {
            bg_running--;
            failed += !finish(&mods[i]);
        }
    for (unsigned i = 0; i < bi->nmods && i < AL_BOOT_MAX_MODS; i++)
        if (mods[i].server && mods[i].task_slot) {
            bg_running--;
            failed += !stop(&mods[i]);
        }
    printf("root: all modules finished, %d failed\n", failed);
    return failed;
}
