#include "kernel/loader.h"
#include "lib/elf.h"
#include "kernel/task.h"
#include "kernel/thread.h"
#include "kernel/audit.h"
#include "kernel/usercopy.h"
#include "abi/airlock/layout.h"
#include <arch/paging.h>
#include "lib/string.h"
#include "lib/argv.h"
#include "kernel/cap.h"
#include "kernel/ipc.h"
#include "kernel/panic.h"
#include "kernel/kmem.h"

/* the kernel keeps one reference, so the boot endpoint never goes away */
struct endpoint *boot_endpoint(void)
{
    static struct endpoint *ep;
    if (!ep) {
        long err;
        ep = endpoint_create(NULL, &err);
        if (!ep)
            panic("no memory for the boot endpoint");
        ep->refs = 1;
    }
    return ep;
}

static int load_segment(struct task *t, const uint8_t *image, const struct elf_segment *s)
{
    uint64_t start = s->vaddr & ~0xfffULL, end = (s->vaddr + s->memsz + 0xfff) & ~0xfffULL;
    for (uint64_t va = start; va < end; va += 4096) {
        uint64_t pa;
        int r = task_map_new_page(t, va, !!(s->flags & ELF_SEG_W), !!(s->flags & ELF_SEG_X), &pa);
        if (r)
            return r;
        /* file bytes that fall into [va, va+4096) */
        uint64_t lo = va > s->vaddr ? va : s->vaddr;
        uint64_t hi = va + 4096 < s->vaddr + s->filesz ? va + 4096 : s->vaddr + s->filesz;
        if (hi > lo)
            memcpy((uint8_t *)p2v(pa) + (lo - va), image + s->offset + (lo - s->vaddr), hi - lo);
    }
    return 0;
}

/* basename of the first word of the command line */
static void task_name(const char *cmdline, char *out, unsigned len)
{
    const char *w = cmdline, *b = cmdline;
    for (; *w && *w != ' '; w++)
        if (*w == '/')
            b = w + 1;
    unsigned n = 0;
    for (; b < w && n + 1 < len; b++)
        out[n++] = *b;
    out[n] = 0;
    if (!n)
        memcpy(out, "module", 7);
}

int loader_load(const void *image, uint64_t size, const char *cmdline, struct task **task_out,
                struct thread **thread_out, const char **why)
{
    struct elf_image img;
    *why = NULL;
    int r = elf_parse(image, size, AL_USER_LO, AL_UTCB_BASE, &img, why);
    if (r)
        return r;
    char name[32];
    task_name(cmdline, name, sizeof name);
    long err = 0;
    struct task *t = task_create(name, &kmem_kernel, KMEM_BOOT_TASK, &err);
    if (!t)
        return *why = "out of memory", (int)err;
    for (unsigned i = 0; i < img.nseg; i++)
        if ((r = load_segment(t, image, &img.seg[i])))
            goto fail;
    uint64_t top_pa = 0;
    for (uint64_t va = AL_USER_STACK_TOP - AL_USER_STACK_SIZE; va < AL_USER_STACK_TOP; va += 4096)
        if ((r = task_map_new_page(t, va, 1, 0, &top_pa)))
            goto fail;
    /* the SysV layout on the top stack page; crt0 finds it with RDI = 0 */
    uint64_t rsp = argv_build(cmdline, p2v(top_pa), AL_USER_STACK_TOP - 4096);
    if (!rsp) {
        r = -22;
        *why = "arguments do not fit on the stack page";
        goto fail;
    }
    if (audit_user_space(t->pml4, t->name)) {
        r = -22;
        *why = "address-space audit failed";
        goto fail;
    }
    struct thread *th = thread_create_user(t, img.entry, rsp, 0, 0, &err);
    if (!th) {
        r = (int)err;
        goto fail;
    }
    /* every boot module shares the boot endpoint (slot AL_SLOT_BOOT_EP) */
    cap_install(cap_slot(t, AL_SLOT_BOOT_EP), AL_CAP_ENDPOINT, AL_R_SEND | AL_R_RECV | AL_R_GRANT, boot_endpoint(), 0);
    *task_out = t;
    *thread_out = th;
    return 0;
fail:
    if (!*why)
        *why = r == -12 ? "out of memory" : "cannot build the address space";
    task_destroy(t);
    return r;
}
