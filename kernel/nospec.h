/*
 * Bounds checks that hold under speculation (Spectre variant 1).
 *
 * A check `if (idx < size) use(a[idx])` is a conditional branch: the CPU may
 * predict it taken for an out-of-range idx chosen by user mode and run
 * use(a[idx]) speculatively, leaving a trace of out-of-bounds memory in the
 * caches. The helpers below derive the index that is used from the
 * comparison itself, by a data dependency (SBB or CMOV on its flags) that
 * the CPU does not predict, so that even on a mispredicted path the index
 * is in bounds (it is 0). They are inline assembly so that the compiler
 * cannot turn the clamp back into a branch.
 *
 * Contract of both: size > 0 (index 0 must be valid to use), idx and size
 * are compared as unsigned 64-bit numbers, and the result is used to index
 * only an array of `size` elements. They do not replace the architectural
 * check: the caller still rejects idx >= size (array_index_nospec returns
 * 0 for it, which is a valid index, not an error).
 */
#ifndef KERNEL_NOSPEC_H
#define KERNEL_NOSPEC_H
#include <stdbool.h>
#include <stdint.h>

/* idx if idx < size, else 0; without a branch: mask = idx < size ? ~0 : 0
 * (CMP sets CF when idx < size, SBB turns CF into all ones), idx & mask.
 * Use after the bounds check, on the path that uses idx. */
static inline uint64_t array_index_nospec(uint64_t idx, uint64_t size)
{
    uint64_t mask;
    __asm__("cmpq %2, %1\n\t"
            "sbbq %0, %0"
            : "=r"(mask)
            : "r"(idx), "er"(size)
            : "cc");
    return idx & mask;
}

/*
 * The bounds check and the clamp with one comparison, for hot paths:
 * returns idx < size (for the caller's branch, taken on the flags of the
 * same CMP) and clamps *idx to 0 when it is out of range, with a CMOV from
 * a zero in memory (CMOV takes no immediate). The instructions added to a
 * plain `if (idx >= size)` check: the CMOV.
 *     if (!array_index_check_nospec(&nr, n)) return -EINVAL;  use(a[nr]);
 */
static inline bool array_index_check_nospec(uint64_t *idx, uint64_t size)
{
    static const uint64_t zero = 0;
    bool below;
    __asm__("cmpq %[size], %[idx]\n\t"
            "cmovaeq %[zero], %[idx]"
            : [idx] "+r"(*idx), "=@ccb"(below)
            : [size] "er"(size), [zero] "m"(zero));
    return below;
}
#endif
