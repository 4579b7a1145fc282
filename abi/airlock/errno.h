/*
 * Airlock error codes. Every system call returns a signed 64-bit value in
 * RAX: >= 0 on success, -AL_Exxx on failure. The numbers are ABI.
 */
#ifndef AIRLOCK_ABI_ERRNO_H
#define AIRLOCK_ABI_ERRNO_H

#define AL_EPERM  1 /* operation not permitted to the caller */
#define AL_ENOENT 2 /* no such object */
#define AL_EFAULT                                                                                                      \
    14                   /* a user pointer is NULL, outside the user window,                                           \
                            non-canonical, straddles its end, or not mapped                                            \
                            with the needed access */
#define AL_EINVAL    22  /* an argument is out of range or malformed */
#define AL_ENOSYS    38  /* no system call with that number */
#define AL_ENOMEM    12  /* the kernel is out of memory for this request */
#define AL_E2BIG     7   /* a length exceeds the documented maximum */
#define AL_ESRCH     3   /* no such thread (in the caller's task) */
#define AL_EBUSY     16  /* the object is in use (e.g. already being joined) */
#define AL_EEXIST    17  /* something is already there (e.g. a mapping) */
#define AL_EBADCAP   9   /* the slot is empty, out of range, or holds the wrong type */
#define AL_EMSGSIZE  90  /* message words + items exceed the message registers */
#define AL_ETIMEDOUT 110 /* the IPC timeout expired (or was 0 and no partner waited) */
#define AL_ECANCELED 125 /* the endpoint or the partner went away */
#define AL_EOVERFLOW 75  /* a string transfer was cut: the receive buffers were too short */
#define AL_ETIME     62  /* a string transfer's pager did not answer within the transfer timeout */
#define AL_EINTR     4   /* an upcall cut the wait (docs/ABI.md, section 5.15) */
#define AL_EDQUOT    122 /* the kernel-memory budget of the paying task is used up (section 5.16) */

#endif
