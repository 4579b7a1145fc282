/*
 * kernel/frame.h - physical frame (4 KiB page) allocator.
 *
 * A single global allocator over physical addresses [0, frame_max_phys()).
 * Two bitmaps, one bit per frame:
 *   used:   1 = not available for allocation (allocated, reserved,
 *           or not RAM at all);
 *   usable: 1 = frame is RAM managed by this allocator.
 * Invariant: !usable implies used. A frame is free iff usable && !used.
 *
 * Concurrency: no internal locking. All functions touch static globals and
 * callers must serialise them (the kernel calls them with its big lock held).
 */
#ifndef AIRLOCK_KERNEL_FRAME_H
#define AIRLOCK_KERNEL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_SIZE 4096ULL

struct mem_range {
    uint64_t base, len;
};

/*
 * (Re)initialise the allocator, discarding any previous state.
 *
 * avail: usable RAM ranges from the boot memory map; may be unsorted,
 *   overlapping and unaligned: each is rounded inward to whole frames.
 *   frame_max_phys() becomes the highest rounded end.
 * reserved: ranges that must never be handed out (kernel image, modules,
 *   boot info); each is rounded outward. Reserved frames are not managed:
 *   they are excluded from frame_total_count() and frame_free() rejects them.
 * p2v: converts a physical address to a writable pointer; it must map the
 *   bitmap's physical range linearly (the kernel direct map does).
 *
 * The two bitmaps are stored back to back in the lowest run of usable,
 * non-reserved frames large enough to hold them (never frame 0); those
 * frames are then unmanaged, like reserved ones. Frame 0 is never managed.
 * Callers that need specific low frames later (e.g. an AP start-up page)
 * should list them in reserved, since the bitmap may land there.
 *
 * Returns 0, or -12 (-ENOMEM) if there is no RAM, no room for the bitmap,
 * or no frame left to manage; after a failure the allocator is empty
 * (frame_alloc returns 0, frame_free rejects everything).
 */
int frame_init(const struct mem_range *avail, size_t navail, const struct mem_range *reserved, size_t nres,
               void *(*p2v)(uint64_t pa));

/* Allocate one frame; returns its physical address (never 0), or 0 when out
 * of memory. The frame's contents are NOT zeroed. */
uint64_t frame_alloc(void);

/* Allocate n contiguous frames whose start is a multiple of align (a power
 * of two >= FRAME_SIZE) and whose end (start + n*FRAME_SIZE) is <= limit
 * (limit 0 = no limit). Returns the start address, or 0 on failure or bad
 * arguments (n == 0, bad align). Each frame is later freed individually. */
uint64_t frame_alloc_contig(size_t n, uint64_t align, uint64_t limit);

/* Free one frame. Returns 0, or -22 (-EINVAL) if pa is unaligned, beyond
 * frame_max_phys(), not managed RAM, or already free; on error nothing
 * changes (double frees are detected, never corrupt state). */
int frame_free(uint64_t pa);

/* Mark the frames covering [base, base+len) (rounded outward) allocated.
 * All-or-nothing: returns -22 and changes nothing if any frame is not free
 * managed RAM or the range overflows; len == 0 is a no-op returning 0.
 * The frames count as allocated and may later be released with frame_free. */
int frame_reserve(uint64_t base, uint64_t len);

size_t frame_free_count(void);  /* frames currently free */
size_t frame_total_count(void); /* managed frames: free + allocated */
uint64_t frame_max_phys(void);  /* end of the managed physical space */

#endif /* AIRLOCK_KERNEL_FRAME_H */
