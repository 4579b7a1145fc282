/*
 * The init protocol: the root task, once it has started the system from
 * its boot configuration, serves the shell (and other holders of a send
 * capability in slot AL_SLOT_INIT). It starts programs from the boot
 * modules, waits for and kills them, lists every task it started, and
 * supervises drivers (restarting those that end, with back-off). A reply
 * has label INIT_OK with the words below, or INIT_ERR with -AL_Exxx in
 * mr[0].
 */
#ifndef USER_INIT_H
#define USER_INIT_H

/* mr[0] = flags (INIT_BG), mr[1..]: the command line (program name, then
 * its arguments and module words, as in a boot configuration line),
 * NUL-terminated, at most INIT_CMDLINE bytes. The program gets a
 * capability to the console (AL_SLOT_CONSOLE). Reply: mr[0] = its task id.
 * -AL_ENOENT: no boot module of that name. */
#define INIT_RUN     0x6901
#define INIT_BG      1
#define INIT_CMDLINE 160
/* mr[0] = task id: the reply comes when it has ended: mr[0] = how
 * (AL_THREAD_EXITED or AL_THREAD_FAULTED), mr[1] = status or vector; at
 * once for a task that has ended already (while root still lists it) */
#define INIT_WAIT 0x6902
/* mr[0] = task id: the task is killed (task_kill). A supervised one
 * (restart=1) is then started again after the back-off, as after a crash
 * (INIT_RESTART does it at once). The reply comes at once; INIT_WAIT
 * reports the end (AL_THREAD_KILLED). */
#define INIT_KILL 0x6903
/* mr[0] = index (0, 1, ...): the index-th task root knows, as struct
 * init_task in mr[0..INIT_TASK_WORDS); -AL_ENOENT past the last */
#define INIT_LIST 0x6904
/* mr[0] = task id of a supervised task (restart=1): it is stopped and
 * started again at once (its IRQs, ports and device memory go with the old
 * task; the new one gets fresh ones); the reply (mr[0] = 0) comes when the
 * stop was asked for: INIT_LIST shows the new task and the restart count.
 * -AL_EINVAL: not supervised; -AL_EBUSY: not running (restarting). */
#define INIT_RESTART 0x6905
/* the system stops: init ends, and with it the machine */
#define INIT_HALT 0x6906

#define INIT_OK  0
#define INIT_ERR 1

enum { INIT_KIND_SYSTEM, INIT_KIND_DRIVER, INIT_KIND_SERVER, INIT_KIND_PROGRAM };
enum { INIT_RUNNING, INIT_ENDED, INIT_RESTARTING };

struct init_task {
    unsigned long id;       /* the kernel's task id */
    unsigned long kind;     /* INIT_KIND_* */
    unsigned long state;    /* INIT_RUNNING, ... */
    unsigned long restarts; /* times it was restarted (supervised ones) */
    unsigned long pages;    /* user pages root built it with (image, stack) */
    unsigned long how, status; /* once ended: as INIT_WAIT */
    unsigned long kmem_limit, kmem_used; /* its kernel-memory budget, frames (kmem_info; 0 once ended) */
    char name[64];          /* the command line's first words */
};
#define INIT_TASK_WORDS (sizeof(struct init_task) / sizeof(unsigned long))

#endif
