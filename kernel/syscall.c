/* The system call table and the first system calls. */
#include "kernel/syscall.h"
#include "kernel/thread.h"
#include "kernel/task.h"
#include "kernel/kmem.h"
#include "kernel/cpu.h"
#include "kernel/console.h"
#include "kernel/usercopy.h"
#include "kernel/frame.h"
#include "kernel/mapdb.h"
#include "kernel/panic.h"
#include "kernel/bootinfo.h"
#include "kernel/ipc.h"
#include "kernel/nospec.h"
#include "kernel/upcall.h"
#include <arch/vcpu.h>
#include <arch/irq.h>
#include "kernel/vcpu.h"
#include "abi/airlock/errno.h"
#include <arch/trap.h>
#include <arch/cpu.h>
#include <arch/tlb.h>
#include "lib/string.h"

/* The work a thread does on its way out to user mode, whichever way it
 * leaves (the SYSCALL exit, trap_dispatch, upcall_return): an upcall to
 * enter (which rewrites tf), then a reschedule. Loops until none is left:
 * a switch away and back may bring new work, and on another CPU. */
void user_exit_work(struct trap_frame *tf)
{
    uint64_t p;
    while ((p = arch_pending()) != 0) {
        if (p & PENDING_UPCALL) { /* first: a thread owing an entry enters it before it is switched away */
            arch_pending_clear(PENDING_UPCALL);
            vcpu_exit_work(tf);
        } else if (p & PENDING_DIRECT) {
            arch_pending_clear(PENDING_DIRECT);
            vcpu_direct_sync();
        } else {
            debug_assert(p == PENDING_RESCHED);
            arch_pending_clear(PENDING_RESCHED);
            schedule();
        }
    }
}

/* int $0x80: same calls, same registers, full frame, IRET exit. The number
 * indexes the table only after a bounds check that holds under
 * speculation (kernel/nospec.h), as on the SYSCALL path (entry.S). */
TRAP_HANDLER(AL_INT_SYSCALL_VECTOR, int80_syscall)
{
    ENTRY_INC(syscalls);
    uint64_t nr = tf->rax;
    if (__builtin_expect(!array_index_check_nospec(&nr, AL_SYS_COUNT), 0)) {
        tf->rax = (uint64_t)-AL_ENOSYS;
        return;
    }
    tf->rax = (uint64_t)syscall_table[nr](tf->rdi, tf->rsi, tf->rdx, tf->r10, tf->r8, tf->r9);
}

SYSCALL_DEFINE(null)
{
    return 0;
}

#define DEBUG_WRITE_MAX (1UL << 20)

/* debug_write(buf, len): write len bytes to the kernel console. */
SYSCALL_DEFINE(debug_write)
{
    uint64_t buf = a0, len = a1;
    if (len > DEBUG_WRITE_MAX)
        return -AL_E2BIG;
    struct task *t = current()->task;
    int r = copy_from_user(t, NULL, buf, 0); /* validates the pointer even for len 0 */
    if (r)
        return r;
    char chunk[128];
    for (uint64_t done = 0; done < len;) {
        uint64_t n = len - done < sizeof chunk ? len - done : sizeof chunk;
        r = copy_from_user(t, chunk, buf + done, n);
        if (r)
            return done ? (long)done : r;
        console_write(chunk, n);
        done += n;
    }
    return (long)len;
}

SYSCALL_DEFINE(exit)
{
    thread_exit((long)a0);
}

void syscall_collect_stats(struct al_stats *s)
{
    memset(s, 0, sizeof *s);
    for (unsigned i = 0; i < ncpus; i++) {
        struct cpu_entry *e = cpus[i].entry;
        if (!e)
            continue;
        s->cr3_writes += e->cr3_writes;
        /* without PCID every CR3 write flushes the non-global TLB; with
         * it only the explicit flushes count (INVPCID of a whole tag; the
         * loads of the shared overflow tag flush it too and are not
         * counted: section 10.6) */
        s->tlb_flushes += e->tlb_flushes + (tlb_tagged() ? 0 : e->cr3_writes);
        s->invlpg += e->invlpg;
        s->syscalls += e->syscalls;
        s->interrupts += e->interrupts;
        s->fpu_saves += e->fpu_saves;
        s->nmis += e->nmis;
        s->fpu_restores += e->fpu_restores;
        s->ipc_fast += e->ipc_fast;
        s->ipc_slow += e->ipc_slow;
    }
    s->free_frames = frame_free_count();
    s->cache_frames = mapdb_slab_frames() + kmem_records_added() / AL_PAGE_SIZE;
    s->mapdb_nodes = mapdb_nodes();
    s->total_frames = frame_total_count();
    s->live_tasks = task_live_count();
    s->live_threads = thread_live_count();
}

/* stats(out, size): copy min(size, sizeof(struct al_stats)) bytes of the
 * counters; returns the number of bytes copied. */
SYSCALL_DEFINE(stats)
{
    struct al_stats s;
    syscall_collect_stats(&s);
    uint64_t n = a1 < sizeof s ? a1 : sizeof s;
    if (a1 == 0)
        return -AL_EINVAL;
    int r = copy_to_user(current()->task, a0, &s, n);
    return r ? r : (long)n;
}

/* kernel_control(op, value): test and benchmark knobs, available only when
 * the kernel command line says `ktest` (or ktest=...) or `bench` */
SYSCALL_DEFINE(kernel_control)
{
    char v[16];
    if (!bootinfo_flag("ktest") && !bootinfo_arg("ktest", v, sizeof v) && !bootinfo_flag("bench"))
        return -AL_EPERM;
    if (a0 == AL_KCTL_IPC_FASTPATH) {
        if (a1 > 1)
            return -AL_EINVAL;
        long old = !(ipc_fast_off & IPC_FAST_OFF_KNOB);
        if (a1)
            ipc_fast_off &= ~IPC_FAST_OFF_KNOB;
        else
            ipc_fast_off |= IPC_FAST_OFF_KNOB;
        return old;
    }
    if (a0 == AL_KCTL_SELF_IPI) {
        if (a1 < ARCH_IRQ_VEC_FIRST || a1 > ARCH_IRQ_VEC_LAST || a1 == ARCH_IRQ_VEC_SYSCALL)
            return -AL_EINVAL;
        arch_self_ipi((unsigned)a1);
        for (volatile int i = 0; i < 100000; i++) /* (interrupts stay off: it waits for the way out) */
            ;
        return 0;
    }
    if (a0 == AL_KCTL_UPCALL_FASTPATH) {
        if (a1 > 1)
            return -AL_EINVAL;
        return arch_vcpu_fast((int)a1);
    }
    return -AL_EINVAL;
}
