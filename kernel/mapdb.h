/*
 * The mapping database: every page that user memory management moved
 * (sigma0's ownership of physical memory, map and grant operations) has a
 * node recording who maps it where with which rights, and from which
 * mapping it was derived. Unmapping a page revokes, recursively, every
 * mapping derived from it, in every task; rights can only shrink along a
 * derivation chain.
 *
 * Pages the kernel maps by itself (the ELF images of sigma0 and the root
 * task, stacks, UTCBs) have no node: they cannot be mapped on, and no one
 * can unmap them.
 *
 * Granularity: 4 KiB pages. Nodes live in a slab of kernel frames; lookup
 * by (task, va) through a hash table.
 * Locking: BKL. TLB: every operation that removes or reduces a mapping
 * shoots it down on the CPUs running the affected tasks before returning.
 */
#ifndef KERNEL_MAPDB_H
#define KERNEL_MAPDB_H
#include <stdint.h>

struct task;

#define MAP_R 4
#define MAP_W 2
#define MAP_X 1

struct mapnode {
    struct task *task;
    uint64_t va;
    uint64_t pa;
    uint32_t rights;
    uint32_t device; /* device memory: mapped uncached */
    struct mapnode *parent, *child, *next, *prev;
    struct mapnode *hnext;
};

void mapdb_init(void);
struct mapnode *mapdb_lookup(struct task *t, uint64_t va);
/* a root mapping (sigma0 owns pa at va); returns 0 or -AL_E* */
long mapdb_root(struct task *t, uint64_t va, uint64_t pa, uint32_t rights, int device);
/* map (or grant) the page src to task dst at dva with rights & mask, after
 * mapdb_map_check passed for it (callers: kernel/sys_map.c map_pages).
 * An existing mapping at dva is replaced (and its derivations revoked).
 * Collects the CPUs to shoot down in *flush. */
long mapdb_map(struct mapnode *src, struct task *dst, uint64_t dva, uint32_t mask, int grant, uint64_t *flush);
/* the checks of mapdb_map, without changing anything: 0 or the error
 * mapdb_map would return (other than running out of memory) */
long mapdb_map_check(struct mapnode *src, struct task *dst, uint64_t dva, uint32_t mask, int grant);
/* revoke everything derived from n (and n itself if self); rights_off != 0
 * only removes those rights from the derived mappings instead */
void mapdb_unmap(struct mapnode *n, int self, uint32_t rights_off, uint64_t *flush);
/* remove a root mapping: everything derived from it, then the root itself
 * (its owner gave up the page: a device page whose capability went) */
void mapdb_root_remove(struct mapnode *n, uint64_t *flush);
/* drop every mapping of a dying task (derived ones everywhere too) */
void mapdb_task_gone(struct task *t, uint64_t *flush);
/* the same for one page of it, a pt_visit_fn (arch/pagetable.h) with arg
 * a struct mapdb_gone: task_destroy drops the mappings in the walk that
 * frees its page tables (pt_free_lower), not in a walk of its own */
struct mapdb_gone {
    struct task *task;
    uint64_t *flush;
};
int mapdb_page_gone(uint64_t va, uint64_t pte, uint64_t size, int level, void *arg);
unsigned long mapdb_nodes(void);
/* frames the node slab holds (a cache: it grows, never shrinks) */
unsigned long mapdb_slab_frames(void);
/* CPUs currently running a thread of t */
uint64_t task_cpu_mask(struct task *t);
#endif
