/*
 * The system-call table, generated from abi/airlock/syscalls.def, and the
 * build-time proof that the list has no hole: the numbers must be dense
 * and in order (0, 1, 2, ...), so every number below AL_SYS_COUNT has a
 * handler and nothing is ever called through an empty entry. A gap, a
 * duplicate or an out-of-order number fails the build here (each number
 * must equal the entry's position, which an enum below counts), and a
 * duplicate name fails as a redeclaration. Numbers at or
 * above AL_SYS_COUNT never index the table: the entry paths answer them
 * with -AL_ENOSYS after a speculation-safe bounds check.
 * tests/host/test_syscalls.c compiles this file against broken lists and
 * checks that each one is refused.
 */
#include "kernel/syscall.h"

/* each entry's position in the list, counted independently of its number */
enum syscall_position {
#define SYSCALL(nr, name, nargs, params, args) syscall_position_##name,
#include "abi/airlock/syscalls.def"
#undef SYSCALL
    syscall_entries
};

#define SYSCALL(nr, name, nargs, params, args)                                                                         \
    _Static_assert((nr) == syscall_position_##name, "syscalls.def: " #name " is numbered " #nr                        \
                                                    " but is not entry " #nr " (a gap, duplicate or disorder)");
#include "abi/airlock/syscalls.def"
#undef SYSCALL
_Static_assert((int)syscall_entries == (int)AL_SYS_COUNT, "syscalls.def: the table size is not the number of entries");

const syscall_fn syscall_table[AL_SYS_COUNT] = {
#define SYSCALL(nr, name, nargs, params, args) [nr] = sys_##name,
#include "abi/airlock/syscalls.def"
#undef SYSCALL
};
