#include "kernel/mapdb.h"
#include "kernel/task.h"
#include "kernel/thread.h"
#include "kernel/cpu.h"
#include "kernel/frame.h"
#include "kernel/kmem.h"
#include "kernel/panic.h"
#include "abi/airlock/errno.h"
#include <arch/paging.h>
#include <arch/tlb.h>
#include "lib/string.h"

#define HASH_BUCKETS 16384
static struct mapnode **hash; /* HASH_BUCKETS heads, in kernel frames */
static struct mapnode *free_nodes;
static unsigned long live_nodes, slab_frames;

/* by the task's id, not its address: the same tasks and pages land in the
 * same buckets whatever the kernel's memory layout, so the path lengths
 * that make test budgets do not move when the kernel image grows */
static unsigned bucket(struct task *t, uint64_t va)
{
    uint64_t h = (uint64_t)t->id * 0x9e3779b97f4a7c15ULL ^ (va >> 12) * 0xff51afd7ed558ccdULL;
    return (unsigned)(h >> 50) & (HASH_BUCKETS - 1);
}

void mapdb_init(void)
{
    unsigned frames = HASH_BUCKETS * sizeof(void *) / 4096;
    uint64_t pa = frame_alloc_contig(frames, 4096, 0);
    if (!pa)
        panic("mapdb: no memory for the hash table");
    hash = p2v(pa);
    memset(hash, 0, HASH_BUCKETS * sizeof(void *));
}

/* a node for a mapping in t, charged to t's budget (kmem.h: a frame per
 * KMEM_NODES_PER_FRAME nodes); NULL with *err = -AL_EDQUOT or -AL_ENOMEM */
static struct mapnode *node_alloc(struct task *t, long *err)
{
    if (kmem_charge_node(t->kmem)) {
        *err = -AL_EDQUOT;
        return NULL;
    }
    if (!free_nodes) {
        uint64_t pa = frame_alloc();
        if (!pa) {
            kmem_uncharge_node(t->kmem);
            *err = -AL_ENOMEM;
            return NULL;
        }
        slab_frames++;
        struct mapnode *n = p2v(pa);
        for (unsigned i = 0; i < 4096 / sizeof *n; i++) {
            n[i].hnext = free_nodes;
            free_nodes = &n[i];
        }
    }
    struct mapnode *n = free_nodes;
    free_nodes = n->hnext;
    /* field by field: plain stores, cheaper than a memset call or REP STOS
     * on this path; the assertion catches a field added later */
    _Static_assert(sizeof *n == 3 * 8 + 2 * 4 + 5 * 8, "clear every field of struct mapnode here");
    n->task = t;
    n->va = n->pa = 0;
    n->rights = n->device = 0;
    n->parent = n->child = n->next = n->prev = n->hnext = NULL;
    live_nodes++;
    return n;
}

static void node_free(struct mapnode *n)
{
    kmem_uncharge_node(n->task->kmem);
    n->task = NULL;
    n->hnext = free_nodes;
    free_nodes = n;
    live_nodes--;
}

unsigned long mapdb_nodes(void)
{
    return live_nodes;
}
unsigned long mapdb_slab_frames(void)
{
    return slab_frames;
}

struct mapnode *mapdb_lookup(struct task *t, uint64_t va)
{
    for (struct mapnode *n = hash[bucket(t, va)]; n; n = n->hnext)
        if (n->task == t && n->va == va)
            return n;
    return NULL;
}

static void hash_insert(struct mapnode *n)
{
    unsigned b = bucket(n->task, n->va);
    n->hnext = hash[b];
    hash[b] = n;
}

static void hash_remove(struct mapnode *n)
{
    for (struct mapnode **p = &hash[bucket(n->task, n->va)]; *p; p = &(*p)->hnext)
        if (*p == n) {
            *p = n->hnext;
            return;
        }
    panic("mapdb: node not in its hash chain");
}

uint64_t task_cpu_mask(struct task *t)
{
    if (tlb_tagged())
        return t->tlb_cpus; /* translations survive the CR3 writes */
    uint64_t m = 0;
    for (unsigned i = 0; i < ncpus; i++)
        if (cpus[i].current && cpus[i].current->task == t)
            m |= 1ULL << i;
    return m;
}

/* PTE flags for a node: W^X is kept in the page tables (W wins) */
static uint64_t pte_flags(uint32_t rights, int device)
{
    uint64_t f = PTE_U;
    if (rights & MAP_W)
        f |= PTE_W;
    if (!(rights & MAP_X) || (rights & MAP_W))
        f |= pte_nx;
    if (device)
        f |= PTE_PCD | PTE_PWT;
    return f;
}

static void link_child(struct mapnode *parent, struct mapnode *n)
{
    n->parent = parent;
    n->prev = NULL;
    n->next = parent ? parent->child : NULL;
    if (n->next)
        n->next->prev = n;
    if (parent)
        parent->child = n;
}

static void unlink_node(struct mapnode *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else if (n->parent)
        n->parent->child = n->next;
    if (n->next)
        n->next->prev = n->prev;
    n->next = n->prev = NULL;
}

long mapdb_root(struct task *t, uint64_t va, uint64_t pa, uint32_t rights, int device)
{
    if (mapdb_lookup(t, va))
        return -AL_EEXIST;
    long err = 0;
    struct mapnode *n = node_alloc(t, &err);
    if (!n)
        return err;
    n->va = va;
    n->pa = pa;
    n->rights = rights;
    n->device = (uint32_t)device;
    int r = task_pt_map(t, va, pa, pte_flags(rights, device));
    if (r) {
        node_free(n);
        return r == -AL_EDQUOT ? r : -AL_ENOMEM;
    }
    hash_insert(n);
    return 0;
}

static void remove_leaf(struct mapnode *n, uint64_t *flush)
{
    pt_unmap(n->task->pml4, n->va);
    *flush |= task_cpu_mask(n->task);
    unlink_node(n);
    hash_remove(n);
    node_free(n);
}

/* remove n's page-table entry, its derivations, and n. Iterative, deepest
 * first: a derivation chain can be far deeper than the kernel stack. After
 * a leaf goes, the walk goes on from its parent (an inner node: only
 * leaves are removed), so every node is descended into once and a chain n
 * deep costs O(n), not O(n^2): a task can build long chains from its own
 * pages, and the kernel holds the BKL while it takes them down. */
static void destroy_subtree(struct mapnode *n, uint64_t *flush)
{
    struct mapnode *d = n->child;
    while (d) {
        while (d->child)
            d = d->child;
        struct mapnode *p = d->parent;
        remove_leaf(d, flush);
        d = p == n ? n->child : p;
    }
    remove_leaf(n, flush);
}

/* take rights `off` from every mapping derived from n (iterative walk) */
static void reduce_subtree(struct mapnode *n, uint32_t off, uint64_t *flush)
{
    struct mapnode *c = n->child;
    while (c) {
        c->rights &= ~off;
        pt_protect(c->task->pml4, c->va, pte_flags(c->rights, c->device));
        *flush |= task_cpu_mask(c->task);
        if (c->child) {
            c = c->child;
            continue;
        }
        while (c != n && !c->next)
            c = c->parent;
        c = c == n ? NULL : c->next;
    }
}

void mapdb_unmap(struct mapnode *n, int self, uint32_t rights_off, uint64_t *flush)
{
    if (rights_off && (rights_off & MAP_R) == 0) {
        reduce_subtree(n, rights_off, flush);
        if (self && n->parent) {
            n->rights &= ~rights_off;
            pt_protect(n->task->pml4, n->va, pte_flags(n->rights, n->device));
            *flush |= task_cpu_mask(n->task);
        }
        return;
    }
    while (n->child)
        destroy_subtree(n->child, flush);
    if (self && n->parent) /* a root (ownership) is never removed */
        destroy_subtree(n, flush);
}

void mapdb_root_remove(struct mapnode *n, uint64_t *flush)
{
    assert(!n->parent);
    while (n->child)
        destroy_subtree(n->child, flush);
    pt_unmap(n->task->pml4, n->va);
    *flush |= task_cpu_mask(n->task);
    unlink_node(n);
    hash_remove(n);
    node_free(n);
}

static int is_ancestor(struct mapnode *a, struct mapnode *n)
{
    for (; n; n = n->parent)
        if (n == a)
            return 1;
    return 0;
}

long mapdb_map_check(struct mapnode *src, struct task *dst, uint64_t dva, uint32_t mask, int grant)
{
    if (!((src->rights & mask) & MAP_R))
        return -AL_EPERM;
    if (grant && !src->parent)
        return -AL_EPERM;
    struct mapnode *old = mapdb_lookup(dst, dva);
    if (old == src)
        return grant ? 0 : -AL_EINVAL;
    if (old && is_ancestor(old, src))
        return -AL_EINVAL;
    if (!old && pt_lookup(dst->pml4, dva, NULL))
        return -AL_EEXIST;
    return 0;
}

long mapdb_map(struct mapnode *src, struct task *dst, uint64_t dva, uint32_t mask, int grant, uint64_t *flush)
{
    uint32_t rights = src->rights & mask;
    if (!(rights & MAP_R))
        return -AL_EPERM;
    if (grant && !src->parent)
        return -AL_EPERM; /* ownership itself does not move */
    struct mapnode *old = mapdb_lookup(dst, dva);
    if (old == src)
        return grant ? 0 : -AL_EINVAL;
    if (old && is_ancestor(old, src))
        return -AL_EINVAL; /* would unmap the source itself */
    /* (a kernel-made mapping there was refused by mapdb_map_check, and no
     * map creates one) */
    /* a granted node moves to dst's budget: charged before anything changes */
    if (grant && kmem_charge_node(dst->kmem))
        return -AL_EDQUOT;
    if (old)
        destroy_subtree(old, flush);
    if (grant) {
        /* the node moves: same place in the tree, new owner */
        pt_unmap(src->task->pml4, src->va);
        *flush |= task_cpu_mask(src->task);
        int r = task_pt_map(dst, dva, src->pa, pte_flags(rights, src->device));
        if (r) {
            /* out of memory (or budget) for a page table: the page is gone
             * from both, and so is everything derived from it */
            while (src->child)
                destroy_subtree(src->child, flush);
            unlink_node(src);
            hash_remove(src);
            node_free(src);
            kmem_uncharge_node(dst->kmem);
            return r == -AL_EDQUOT ? r : -AL_ENOMEM;
        }
        /* fewer rights for the new owner: the derivations lose them too */
        if (src->rights & ~rights)
            reduce_subtree(src, src->rights & ~rights, flush);
        hash_remove(src);
        kmem_uncharge_node(src->task->kmem);
        src->task = dst;
        src->va = dva;
        src->rights = rights;
        hash_insert(src);
        return 0;
    }
    long err = 0;
    struct mapnode *n = node_alloc(dst, &err);
    if (!n)
        return err;
    n->va = dva;
    n->pa = src->pa;
    n->rights = rights;
    n->device = src->device;
    int r = task_pt_map(dst, dva, src->pa, pte_flags(rights, src->device));
    if (r) {
        node_free(n);
        return r == -AL_EDQUOT ? r : -AL_ENOMEM;
    }
    link_child(src, n);
    hash_insert(n);
    return 0;
}

/* Removing entries while walking is safe: pt_unmap only clears PTEs, it
 * never frees tables, and a page already removed has no node any more. */
int mapdb_page_gone(uint64_t va, uint64_t pte, uint64_t size, int level, void *arg)
{
    (void)pte, (void)size, (void)level;
    struct mapdb_gone *g = arg;
    struct mapnode *n = mapdb_lookup(g->task, va);
    if (!n)
        return 0;
    if (n->parent) {
        destroy_subtree(n, g->flush);
    } else {
        /* a root (sigma0's ownership, a driver's device page): derivations
         * go, the frame stays with the system */
        mapdb_root_remove(n, g->flush);
    }
    return 0;
}

void mapdb_task_gone(struct task *t, uint64_t *flush)
{
    struct mapdb_gone g = {t, flush};
    pt_walk(t->pml4, 0, 255, mapdb_page_gone, &g);
}
