/*
 * I/O-port capabilities (AL_CAP_IOPORT) and each task's port set; see
 * ioport.h. BKL held, interrupts off, throughout.
 *
 * An ioport capability names the ports [first, last] (kept in its slot,
 * struct cap.ports); all of them name the one object ioport_space. A task
 * may use the union of the ranges in its capability space, minus the
 * ports the kernel keeps. That set is rebuilt, as a bitmap in the hardware
 * format, whenever an ioport capability enters or leaves the space (the
 * slot's holder says which task), and each rebuild gets a new generation.
 *
 * A CPU's bitmap holds one task's set (cpu.io_task, io_gen) or none, and
 * is brought up to date:
 * - on a switch, only while it holds a set (SWITCH_PORTS): to the next
 *   task's set, or to none. Switches between tasks without ports cost
 *   nothing; a kernel thread (idle) leaves the set as it is;
 * - on a #GP from user mode (ioport_fault): a task with ports that finds
 *   the CPU without its current set loads it and retries the instruction.
 *   This is how a grant reaches the CPUs (no IPI), and how a task with
 *   ports gets the bitmap after a CPU ran tasks without;
 * - when a set shrinks (a capability deleted, here or by a revocation
 *   in another task): ioport_commit rewrites the bitmap of every CPU that
 *   holds that set and waits until those running user code were
 *   interrupted, before the deleting system call returns.
 */
#include "kernel/ioport.h"
#include "kernel/cap.h"
#include "kernel/cpu.h"
#include "kernel/frame.h"
#include "kernel/kmem.h"
#include "kernel/object.h"
#include "kernel/panic.h"
#include "kernel/syscall.h"
#include "kernel/task.h"
#include "kernel/thread.h"
#include "kernel/upcall.h"
#include "abi/airlock/boot.h"
#include "abi/airlock/errno.h"
#include <arch/ioport.h>
#include <arch/paging.h>
#include "lib/string.h"

_Static_assert(ARCH_IOPORTS == AL_IOPORTS, "the ABI's port space is the architecture's");
_Static_assert(ARCH_IOBITMAP_SIZE == 2 * 4096, "a task bitmap is two frames");

char ioport_space;
struct task *ioport_dirty;
static uint64_t gen_next = 1;

static void bitmap_clear_range(uint8_t *bm, unsigned first, unsigned last)
{
    unsigned p = first;
    for (; p <= last && p % 8; p++)
        bm[p / 8] &= (uint8_t) ~(1u << (p % 8));
    if (p + 7 <= last) {
        memset(bm + p / 8, 0, (last + 1 - p) / 8);
        p += (last + 1 - p) / 8 * 8;
    }
    for (; p <= last; p++)
        bm[p / 8] &= (uint8_t) ~(1u << (p % 8));
}

/* Rebuild t's bitmap from its capability space: the ranges sorted and
 * merged, so that each byte is written at most twice whatever they are
 * (O(slots^2) compares at worst, O(8 KiB) writes). Frees the bitmap when
 * the last ioport capability went. */
static void rebuild(struct task *t)
{
    t->io_gen = gen_next++;
    if (!t->io_caps) {
        if (t->io_bitmap) {
            uint64_t pa = v2p_direct(t->io_bitmap);
            frame_free(pa);
            frame_free(pa + 4096);
            kmem_uncharge(t->kmem, 2);
            t->io_bitmap = NULL;
        }
        t->io_start = t->io_end = 0;
        return;
    }
    assert(t->io_bitmap); /* allocated by prepare before the first capability came */
    struct {
        uint16_t first, last;
    } r[AL_CSPACE_SLOTS];
    unsigned n = 0;
    for (unsigned i = 0; i < AL_CSPACE_SLOTS; i++) {
        const struct cap *c = &t->cspace->slot[i];
        if (c->type != AL_CAP_IOPORT)
            continue;
        unsigned k = n++;
        for (; k > 0 && r[k - 1].first > c->ports.first; k--)
            r[k] = r[k - 1];
        r[k].first = c->ports.first;
        r[k].last = c->ports.last;
    }
    assert(n == t->io_caps);
    memset(t->io_bitmap + t->io_start, 0xff, t->io_end - t->io_start);
    unsigned start = n ? r[0].first / 8 : 0, end = 0;
    for (unsigned i = 0; i < n;) {
        unsigned first = r[i].first, last = r[i].last;
        for (i++; i < n && r[i].first <= last + 1; i++)
            if (r[i].last > last)
                last = r[i].last;
        bitmap_clear_range(t->io_bitmap, first, last);
        end = last / 8 + 1;
    }
    arch_ioport_deny_reserved(t->io_bitmap);
    t->io_start = start;
    t->io_end = end;
}

/* give CPU c the current set of t (NULL or a task without ports: none),
 * writing only the bytes where either set may have a clear bit */
static void load(struct cpu *c, struct task *t)
{
    if (t && !t->io_bitmap)
        t = NULL;
    unsigned lo = c->io_start, hi = c->io_end;
    if (t && t->io_start < t->io_end) {
        if (lo == hi || t->io_start < lo)
            lo = t->io_start;
        if (t->io_end > hi)
            hi = t->io_end;
    }
    arch_ioport_load(c->index, t ? t->io_bitmap : NULL, lo, hi);
    c->io_task = t;
    c->io_gen = t ? t->io_gen : 0;
    c->io_start = t ? t->io_start : 0;
    c->io_end = t ? t->io_end : 0;
    if (t)
        c->switch_work |= SWITCH_PORTS;
    else
        c->switch_work &= ~(uint64_t)SWITCH_PORTS;
}

void ioport_switch(struct cpu *c)
{
    struct task *t = c->current->task;
    if (t && (t != c->io_task || t->io_gen != c->io_gen))
        load(c, t);
}

int ioport_fault(void)
{
    struct cpu *c = this_cpu();
    struct task *t = c->current->task;
    if (!t || !t->io_bitmap || (c->io_task == t && c->io_gen == t->io_gen))
        return 0;
    load(c, t);
    return 1;
}

void ioport_commit_slow(void)
{
    uint64_t others = 0;
    while (ioport_dirty) {
        struct task *t = ioport_dirty;
        ioport_dirty = t->io_dirty_next;
        t->io_dirty = 0;
        for (unsigned i = 0; i < ncpus; i++)
            if (cpus[i].io_task == t) {
                load(&cpus[i], t);
                others |= 1ULL << i;
            }
    }
    arch_ioport_sync(others);
}

void ioport_task_gone(struct task *t)
{
    assert(!t->io_caps && !t->io_bitmap);
    if (t->io_dirty) {
        struct task **p = &ioport_dirty;
        while (*p != t)
            p = &(*p)->io_dirty_next;
        *p = t->io_dirty_next;
        t->io_dirty = 0;
    }
    uint64_t others = 0;
    for (unsigned i = 0; i < ncpus; i++)
        if (cpus[i].io_task == t) {
            load(&cpus[i], NULL);
            others |= 1ULL << i;
        }
    arch_ioport_sync(others);
}

/* the holder of a slot that is to get an ioport capability needs a bitmap */
static int ioport_prepare(struct cap *dst)
{
    struct task *t = dst->holder;
    if (!t)
        return -AL_EINVAL; /* not a capability space's slot */
    if (t->io_bitmap)
        return 0;
    /* the holder's budget pays for its bitmap (2 frames), until its last
     * ioport capability goes (rebuild) */
    if (kmem_charge(t->kmem, 2))
        return -AL_EDQUOT;
    uint64_t pa = frame_alloc_contig(2, 4096, 0);
    if (!pa) {
        kmem_uncharge(t->kmem, 2);
        return -AL_ENOMEM;
    }
    t->io_bitmap = p2v(pa);
    memset(t->io_bitmap, 0xff, ARCH_IOBITMAP_SIZE);
    t->io_start = t->io_end = 0;
    return 0;
}

/* A grant: the holder's set grows. CPUs pick it up at its next #GP there. */
static void ioport_installed(struct cap *c)
{
    struct task *t = c->holder;
    assert(t && t->io_bitmap);
    t->io_caps++;
    rebuild(t);
}

/* The set shrinks (or stays): rebuilt now, the CPUs holding it are
 * refreshed by ioport_commit when the deletions are over. */
static void ioport_release(struct cap *c, void *obj)
{
    (void)obj;
    struct task *t = c->holder;
    assert(t && t->io_caps > 0);
    t->io_caps--;
    rebuild(t);
    if (!t->io_dirty) {
        t->io_dirty = 1;
        t->io_dirty_next = ioport_dirty;
        ioport_dirty = t;
    }
}

static void ioport_describe(const struct cap *c, struct al_cap_info *info)
{
    info->id = AL_IOPORT_ID(c->ports.first, (unsigned long)c->ports.last - c->ports.first + 1);
}

/* No lifetime: the ports are the machine's. The set of the holder changes
 * with every install and release. */
const struct obj_ops ioport_ops = {
    .name = "ioport",
    .release = ioport_release,
    .describe = ioport_describe,
    .prepare = ioport_prepare,
    .installed = ioport_installed,
};

void ioport_grant_root(struct task *root)
{
    struct cap *slot = cap_slot(root, AL_SLOT_IOPORTS);
    if (!slot || slot->type || ioport_prepare(slot))
        panic("system: cannot give the root task its I/O ports");
    cap_install_range(slot, AL_CAP_IOPORT, AL_R_CONTROL, &ioport_space, 0, AL_IOPORTS - 1);
}

/* ioport_derive(src, dst, base, count, rights): a capability in our slot
 * dst for the ports [base, base + count) of our ioport capability src
 * (which needs CONTROL), derived from it, with its rights & rights */
SYSCALL_DEFINE(ioport_derive)
{
    struct cap *src, *dst;
    long err = cap_derive_args(current()->task, a0, a1, a4, AL_CAP_IOPORT, &src, &dst);
    if (err)
        return err;
    if (a2 >= AL_IOPORTS || a3 == 0 || a3 > AL_IOPORTS - a2)
        return -AL_EINVAL; /* (no wrap: base + count computed only when it fits) */
    unsigned first = (unsigned)a2, last = (unsigned)(a2 + a3 - 1);
    if (first < src->ports.first || last > src->ports.last)
        return -AL_EPERM;
    if (arch_ioport_reserved(first, last))
        return -AL_EPERM;
    return cap_derive_range(src, dst, (int)a4, first, last);
}
