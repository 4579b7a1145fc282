/*
 * Capabilities and IPC: the user-visible part (docs/ABI.md has the rules).
 */
#ifndef AIRLOCK_ABI_IPC_H
#define AIRLOCK_ABI_IPC_H
#include "abi/airlock/upcall.h"

/* capability slots per task */
#define AL_CSPACE_SLOTS 256

/* well-known slots of a boot module's capability space */
#define AL_SLOT_SELF_TASK 0 /* reserved for the task's own task capability */
#define AL_SLOT_BOOT_EP   1 /* an endpoint shared by all boot modules (tests, benchmarks) */

/* capability types */
enum al_cap_type { AL_CAP_NONE, AL_CAP_ENDPOINT, AL_CAP_REPLY, AL_CAP_TASK, AL_CAP_THREAD, AL_CAP_IOPORT, AL_CAP_IRQ_CONTROL, AL_CAP_IRQ,
                   AL_CAP_IOMEM, AL_CAP_TYPES };

/* I/O ports (AL_CAP_IOPORT): a capability names the ports [base, base + count);
 * its cap_info id is base | count << 16 (count 1..65536) */
#define AL_IOPORTS          65536
#define AL_IOPORT_ID(base, count) ((unsigned long)(base) | (unsigned long)(count) << 16)
#define AL_IOPORT_BASE(id)  ((unsigned long)(id)&0xffff)
#define AL_IOPORT_COUNT(id) ((unsigned long)(id) >> 16)

/* Device memory (AL_CAP_IOMEM): a capability names the physical pages
 * [base, base + size) (page-aligned); its holder maps the device pages among
 * them into its own space with iomem_map (RAM and the kernel's pages never).
 * Its cap_info id is its first page frame number | its page count << 32. */
#define AL_IOMEM_ID(base, size) ((unsigned long)(base) >> 12 | ((unsigned long)(size) >> 12) << 32)
#define AL_IOMEM_BASE(id)       (((id)&0xffffffffUL) << 12)
#define AL_IOMEM_SIZE(id)       (((id) >> 32) << 12)
#define AL_IOMEM_LIMIT          (1UL << 40) /* physical addresses beyond: none */

/* IRQ objects (AL_CAP_IRQ), made from the IRQ-control capability
 * (AL_CAP_IRQ_CONTROL) by irq_create; their interrupts arrive as IPC
 * messages on the endpoint they are bound to (docs/ABI.md, section 5.12) */
#define AL_IRQ_ISA 1 /* line: ISA IRQ 0..15 (the firmware's GSI; its trigger and polarity unless flags say) */
#define AL_IRQ_MSI 2 /* line 0: the kernel allocates a vector; the MSI message is written out */
#define AL_IRQ_GSI 3 /* line: a GSI, with flags */
#define AL_IRQ_LEVEL 1 /* flags of AL_IRQ_GSI: level-triggered (else edge) */
#define AL_IRQ_LOW   2 /* active-low (else active-high) */
#define AL_IRQ_SHARED 4 /* AL_IRQ_GSI with AL_IRQ_LEVEL: the line may have several objects, all shared */
/* cap_info id and word 0 of its messages: kind and line (MSI: the vector) */
#define AL_IRQ_ID(kind, line) ((unsigned long)(kind) << 32 | (unsigned long)(line))
/* an interrupt message: label AL_LABEL_IRQ, the binding's badge, 2 words:
 * mr[0] = AL_IRQ_ID, mr[1] = arrivals reported by this message (>= 1) */
#define AL_LABEL_IRQ 0xfff3
/* what irq_create writes for AL_IRQ_MSI: program the device with it */
struct al_irq_msi {
    unsigned long addr; /* the message address (upper 32 bits 0) */
    unsigned long data; /* the message data (16 bits used) */
};

/* irq_info: an IRQ object's state and statistics */
#define AL_IRQ_LAT_BUCKETS 12
#define AL_IRQ_LAT_BASE    256
struct al_irq_info {
    unsigned long id;        /* AL_IRQ_ID(kind, line) */
    unsigned long vector;    /* the CPU vector (shared by the objects of a line) */
    unsigned long flags;     /* AL_IRQ_LEVEL, AL_IRQ_LOW, AL_IRQ_SHARED, AL_IRQ_INFO_* */
    long cpu;                /* destination CPU (index, as cpu_info) */
    long last_cpu;           /* CPU that took the last arrival; -1: none yet */
    unsigned long arrivals;  /* interrupts of its source since its creation */
    unsigned long messages;  /* messages received from it */
    unsigned long coalesced; /* arrivals reported together with an earlier one (mr[1] - 1, summed) */
    unsigned long throttled; /* times its line was kept masked for a tick (storm) */
    /* how long arrivals waited for their driver: from the first arrival a
     * message reports to the message reaching the driver's UTCB, in TSC
     * cycles (under QEMU -icount: instructions); bucket i counts waits in
     * [AL_IRQ_LAT_BASE << (i - 1), AL_IRQ_LAT_BASE << i) (bucket 0: below
     * AL_IRQ_LAT_BASE, the last: everything above) */
    unsigned long latency[AL_IRQ_LAT_BUCKETS];
    unsigned long latency_max; /* the longest wait */
    unsigned long latency_min; /* the shortest (0: none yet) */
    /* deliveries by path (AL_IRQ_PATH_*): messages, upcalls entered by the
     * kernel, deliveries by the trampoline's fast path (counted, not
     * timed: the histogram holds the other paths), direct gates. An upcall
     * may report several arrivals (coalesced while vif was clear). */
    unsigned long paths[AL_IRQ_PATHS];
};
#define AL_IRQ_INFO_BOUND     0x100 /* bound to an endpoint */
#define AL_IRQ_INFO_MASKED    0x200 /* its line is masked now */
#define AL_IRQ_INFO_THROTTLED 0x400 /* its line is throttled until the next tick */
#define AL_IRQ_INFO_PENDING   0x800 /* a message is outstanding (not yet acknowledged) */
#define AL_IRQ_INFO_UPCALL    0x1000 /* bound in upcall mode (irq_bind_upcall) */
/* irq_list: at most this many IRQ objects exist at once */
#define AL_IRQ_LIST_MAX 32

/* rights */
#define AL_R_SEND    1 /* send / call through an endpoint */
#define AL_R_RECV    2 /* receive from an endpoint */
#define AL_R_GRANT   4 /* pass capabilities (cap items) through it */
#define AL_R_CONTROL 8 /* manage the object (tasks, threads; ioport: derive sub-ranges) */
#define AL_R_ALL     15

struct al_cap_info {
    int type; /* enum al_cap_type */
    int rights;
    unsigned long badge;
    unsigned long object; /* an opaque identity: equal for caps to one object */
    unsigned long id;     /* task: task id; thread: thread id; reply: the caller's thread id; endpoint: 0;
                             ioport: AL_IOPORT_ID(base, count); irq: AL_IRQ_ID;
                             iomem: AL_IOMEM_ID(base, size) */
};

/* ipc operations */
enum al_ipc_op {
    AL_IPC_SEND = 1,       /* cap: endpoint (SEND) */
    AL_IPC_RECV = 2,       /* rcv_cap: endpoint (RECV) */
    AL_IPC_CALL = 3,       /* send on cap, then wait for the reply */
    AL_IPC_REPLY_RECV = 4, /* reply to the last caller, then receive on rcv_cap */
    AL_IPC_REPLY = 5,      /* cap: a saved reply capability, or -1 for the last caller */
};

/* timeouts (nanoseconds): 0 = do not block, AL_TIMEOUT_NEVER = block forever */
#define AL_TIMEOUT_NEVER (-1L)

/* message tag: untyped words, typed items (two words each), label */
#define AL_MR_COUNT 64
#define AL_TAG(words, items, label)                                                                                    \
    ((unsigned long)(words) | ((unsigned long)(items) << 8) | ((unsigned long)(label) << 16))
#define AL_TAG_WORDS(t) ((t)&0x7f)
#define AL_TAG_ITEMS(t) (((t) >> 8) & 0x3f)
#define AL_TAG_LABEL(t) ((t) >> 16)

/* typed items: mr[i] = kind | rights << 8, mr[i+1] = payload */
#define AL_ITEM_CAP   1 /* payload: the sender's slot; lands in the receiver's rcv_cap_slot */
#define AL_ITEM_MAP   2 /* payload: a flexpage of the sender's; lands in the receiver's rcv_window */
#define AL_ITEM_GRANT 3 /* like MAP, and the sender loses the pages */
/* String items (docs/ABI.md, section 5.14): bulk data copied by the kernel
 * from the sender's memory into the receiver's receive buffers (its UTCB's
 * str_buf). mr[i] = AL_ITEM_STRING | length << 16, mr[i+1] = the sender's
 * address. The sender's strings are read in order as one stream (gather),
 * which fills the receiver's buffers in order (scatter). The receiver finds
 * each item rewritten: length = the bytes of that string that arrived,
 * address = where in its memory they begin (0: none arrived). */
#define AL_ITEM_STRING 4
#define AL_STRING(len)     ((unsigned long)AL_ITEM_STRING | (unsigned long)(len) << 16)
#define AL_STRING_LEN(k)   ((unsigned long)(k) >> 16)
#define AL_STR_MAX_LEN     (1UL << 30) /* bytes of one string item */
#define AL_STR_BUFS        8           /* receive buffers in a UTCB */
/* in a page-fault message's AL_FR_ERROR: the fault happened in the kernel's
 * copy of a string item, on this thread's behalf (its registers are those
 * of its ipc call and a reply's register words are ignored) */
#define AL_PF_STRING       0x10000

/* flexpages: a naturally aligned power-of-two region, base | log2(size) */
#define AL_FPAGE(base, order) ((unsigned long)(base) | (unsigned long)(order))
#define AL_FPAGE_BASE(f)      ((f) & ~0xfffUL)
#define AL_FPAGE_ORDER(f)     ((f)&0x3f)
#define AL_FPAGE_MIN_ORDER    12
#define AL_FPAGE_MAX_ORDER    22 /* 4 MiB: bounded work per item */

/* mapping rights */
#define AL_MAP_R       4
#define AL_MAP_W       2
#define AL_MAP_X       1
#define AL_MAP_RW      (AL_MAP_R | AL_MAP_W)
#define AL_MAP_RX      (AL_MAP_R | AL_MAP_X)
#define AL_MAP_GRANT   16 /* task_map: grant instead of map */
#define AL_MAP_MANAGED 32 /* map_info: the page is in the mapping database */

/* unmap flags: rights to take away (0 or including R: the whole mapping),
 * and whether the caller's own mapping goes too */
#define AL_UNMAP_SELF 8

/* how a task's first thread ended (task_wait) */
struct al_task_end {
    long how;    /* AL_THREAD_EXITED or AL_THREAD_FAULTED */
    long status; /* exit status or exception vector */
};

/* The user thread control block: one page per thread, mapped in its task
 * and found at %fs:0 (do not load %fs). */
struct al_utcb {
    struct al_utcb *self;
    unsigned long tag;        /* tag of the last received message */
    unsigned long badge;      /* badge of the capability the sender used */
    unsigned long rcv_window; /* flexpage where mappings may land (memory issue) */
    long rcv_cap_slot;        /* where a received capability lands; -1: none accepted */
    unsigned long reserved[3];
    unsigned long mr[AL_MR_COUNT];
    /* string items (docs/ABI.md, section 5.14) */
    unsigned long str_count;    /* in: receive buffers declared in str_buf (0..AL_STR_BUFS) */
    unsigned long xfer_timeout; /* in: ns a string transfer may wait for pagers (0: no limit);
                                   the smaller limit of the two sides applies */
    unsigned long xfer_len;     /* out: bytes the last string transfer moved (both sides) */
    unsigned long str_reserved;
    struct al_strbuf {
        unsigned long addr, len;
    } str_buf[AL_STR_BUFS]; /* in: receive buffers, filled in order; must not overlap */
};

/* thread_control operations (thread capability with CONTROL) */
#define AL_TC_STATE        1 /* returns the thread's enum al_thread_state */
#define AL_TC_SUSPEND      2
#define AL_TC_RESUME       3
#define AL_TC_SET_PRIO     4 /* arg: priority, up to the caller's task limit */
#define AL_TC_SET_AFFINITY 5 /* arg: CPU index or -1 */

/* Faults at user level. A thread with a fault handler (thread_set_handler,
 * or thread_control AL_TC_SET_HANDLER: an endpoint it may send to) does not
 * die of an exception: the kernel calls the handler on the thread's behalf
 * with a message of AL_FR_COUNT words (label AL_LABEL_PAGE_FAULT for #PF,
 * AL_LABEL_EXCEPTION for everything else) and the thread waits for the
 * reply:
 *  - label AL_FAULT_KILL: the thread is terminated;
 *  - otherwise it resumes: with AL_FR_COUNT words, its registers become
 *    those words (RIP must be a user address; RFLAGS keeps only the
 *    arithmetic flags, TF and DF; the rest of the register set is taken as
 *    given), with fewer words it retries the instruction unchanged;
 *  - one map item may come with the reply: its flexpage is mapped into the
 *    faulting task at the naturally aligned block of its size that contains
 *    the fault address (page faults; any exception may carry one).
 * The thread's own UTCB is not touched by any of this. */
#define AL_LABEL_PAGE_FAULT 0xfff1
#define AL_LABEL_EXCEPTION  0xfff2
#define AL_FAULT_KILL       0xdead
enum al_fault_reg {
    AL_FR_VECTOR,
    AL_FR_ERROR,
    AL_FR_ADDR, /* vector, error code, CR2 (page faults) */
    AL_FR_RIP,
    AL_FR_RSP,
    AL_FR_RFLAGS,
    AL_FR_RAX,
    AL_FR_RBX,
    AL_FR_RCX,
    AL_FR_RDX,
    AL_FR_RSI,
    AL_FR_RDI,
    AL_FR_RBP,
    AL_FR_R8,
    AL_FR_R9,
    AL_FR_R10,
    AL_FR_R11,
    AL_FR_R12,
    AL_FR_R13,
    AL_FR_R14,
    AL_FR_R15,
    AL_FR_COUNT
};
#define AL_TC_SET_HANDLER 6 /* arg: an endpoint slot of the caller (SEND), or -1: none */

/* kernel_control operations (test and benchmark knobs) */
#define AL_KCTL_IPC_FASTPATH    1 /* value 0/1: disable/enable the IPC fast path; returns the old value */
#define AL_KCTL_UPCALL_FASTPATH 2 /* value 0/1: disable/enable the trampoline's upcall delivery; returns the old value */
#define AL_KCTL_SELF_IPI        3 /* value: a device vector; this CPU interrupts itself with it while in the kernel; returns 0 */

#endif
