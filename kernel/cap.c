/* Capability spaces and the derivation tree; see cap.h. BKL held. */
#include "kernel/cap.h"
#include "kernel/object.h"
#include "kernel/ioport.h"
#include "kernel/task.h"
#include "kernel/frame.h"
#include "kernel/kmem.h"
#include "kernel/nospec.h"
#include "kernel/panic.h"
#include "abi/airlock/errno.h"
#include <arch/paging.h>
#include <arch/page.h>
#include "lib/string.h"

#define CSPACE_FRAMES ((sizeof(struct cspace) + 4095) / 4096)

int cspace_create(struct task *t)
{
    if (kmem_charge(t->kmem, CSPACE_FRAMES))
        return -AL_EDQUOT;
    uint64_t pa = frame_alloc_contig(CSPACE_FRAMES, 4096, 0);
    if (!pa) {
        kmem_uncharge(t->kmem, CSPACE_FRAMES);
        return -AL_ENOMEM;
    }
    t->cspace = p2v(pa);
    _Static_assert(sizeof(struct cspace) == CSPACE_FRAMES * 4096, "a capability space fills its frames");
    clear_pages(t->cspace, CSPACE_FRAMES);
    for (struct cap *c = t->cspace->slot; c < t->cspace->slot + AL_CSPACE_SLOTS; c++)
        c->holder = t;
    return 0;
}

void cspace_destroy(struct task *t)
{
    if (!t->cspace)
        return;
    /* (through a pointer: t->cspace, reloaded after every call, costs
     * three instructions per slot) */
    struct cap *slot = t->cspace->slot;
    for (struct cap *c = slot; c < slot + AL_CSPACE_SLOTS; c++)
        if (c->type)
            cap_delete(c);
    uint64_t pa = v2p_direct(t->cspace);
    for (unsigned i = 0; i < CSPACE_FRAMES; i++)
        frame_free(pa + i * 4096);
    kmem_uncharge(t->kmem, CSPACE_FRAMES);
    t->cspace = NULL;
}

struct cap *cap_slot(struct task *t, uint64_t idx)
{
    /* idx is the user's: the check also clamps it under speculation */
    if (!t || !t->cspace || !array_index_check_nospec(&idx, AL_CSPACE_SLOTS))
        return NULL;
    return &t->cspace->slot[idx];
}

struct cap *cap_empty_slot(struct task *t, uint64_t idx, long *err)
{
    struct cap *c = cap_slot(t, idx);
    if (!c || c->type) {
        *err = c ? -AL_EEXIST : -AL_EBADCAP;
        return NULL;
    }
    return c;
}

struct cap *cap_lookup(struct task *t, uint64_t idx, int type, int rights, long *err)
{
    struct cap *c = cap_slot(t, idx);
    if (!c || c->type != type) {
        *err = -AL_EBADCAP;
        return NULL;
    }
    if ((c->rights & rights) != rights) {
        *err = -AL_EPERM;
        return NULL;
    }
    return c;
}

long cap_derive_args(struct task *t, uint64_t src, uint64_t dst, uint64_t rights, int type, struct cap **srcp,
                     struct cap **dstp)
{
    long err = 0;
    if (!(*srcp = cap_lookup(t, src, type, AL_R_CONTROL, &err)) || !(*dstp = cap_empty_slot(t, dst, &err)))
        return err;
    return rights & ~(uint64_t)AL_R_ALL ? -AL_EINVAL : 0;
}

static const struct obj_ops *ops_of(int type)
{
    assert(type > AL_CAP_NONE && type < AL_CAP_TYPES && obj_types[type]);
    return obj_types[type];
}

static void obj_get(struct cap *c)
{
    const struct obj_ops *ops = ops_of(c->type);
    if (ops->ref)
        ops->ref(c->obj);
}

void cap_describe(const struct cap *c, struct al_cap_info *info)
{
    const struct obj_ops *ops = ops_of(c->type);
    info->type = c->type;
    info->rights = c->rights;
    info->badge = c->badge;
    info->id = 0;
    if (ops->describe)
        ops->describe(c, info);
}

/* empty the slot's content; its holder stays */
static void cap_clear(struct cap *c)
{
    struct task *holder = c->holder;
    memset(c, 0, sizeof *c);
    c->holder = holder;
}

/* the type's installed hook: c is complete (content and tree links) */
static void cap_installed(struct cap *c)
{
    const struct obj_ops *ops = ops_of(c->type);
    if (ops->installed)
        ops->installed(c);
}

static void cap_fill(struct cap *dst, int type, int rights, void *obj, uint64_t badge)
{
    assert(!dst->type);
    cap_clear(dst);
    dst->type = (uint8_t)type;
    dst->rights = (uint8_t)rights;
    dst->obj = obj;
    dst->badge = badge;
    obj_get(dst);
}

void cap_install(struct cap *dst, int type, int rights, void *obj, uint64_t badge)
{
    cap_fill(dst, type, rights, obj, badge);
    cap_installed(dst);
}

/* checks shared by the derivations; 0 or the error */
static int derive_check(struct cap *src, struct cap *dst, uint64_t badge)
{
    if (dst->type)
        return -AL_EEXIST;
    if (src->type == AL_CAP_REPLY)
        return -AL_EPERM; /* one-shot: cannot be copied */
    if (badge && (src->type != AL_CAP_ENDPOINT || src->badge))
        return -AL_EPERM;
    const struct obj_ops *ops = ops_of(src->type);
    return ops->prepare ? ops->prepare(dst) : 0;
}

/* copy src's content into dst (its holder stays) as src's newest child */
static void derive_link(struct cap *src, struct cap *dst, int rights_mask)
{
    struct task *holder = dst->holder;
    *dst = *src;
    dst->holder = holder;
    dst->rights = src->rights & (uint8_t)rights_mask;
    dst->parent = src;
    dst->child = NULL;
    dst->prev = NULL;
    dst->next = src->child;
    if (src->child)
        src->child->prev = dst;
    src->child = dst;
    obj_get(dst);
}

int cap_derive(struct cap *src, struct cap *dst, int rights_mask, uint64_t badge)
{
    int e = derive_check(src, dst, badge);
    if (e)
        return e;
    derive_link(src, dst, rights_mask);
    if (badge)
        dst->badge = badge;
    cap_installed(dst);
    return 0;
}

/* the range a capability of type c->type carries in its slot */
static void set_range(struct cap *c, uint32_t first, uint32_t last)
{
    if (c->type == AL_CAP_IOPORT) {
        c->ports.first = (uint16_t)first;
        c->ports.last = (uint16_t)last;
    } else {
        assert(c->type == AL_CAP_IOMEM);
        c->mem.first = first;
        c->mem.last = last;
    }
}

void cap_install_range(struct cap *dst, int type, int rights, void *obj, uint32_t first, uint32_t last)
{
    cap_fill(dst, type, rights, obj, 0);
    set_range(dst, first, last);
    cap_installed(dst);
}

int cap_derive_range(struct cap *src, struct cap *dst, int rights_mask, uint32_t first, uint32_t last)
{
    assert(first <= last);
    assert(src->type != AL_CAP_IOPORT || (first >= src->ports.first && last <= src->ports.last));
    assert(src->type != AL_CAP_IOMEM || (first >= src->mem.first && last <= src->mem.last));
    int e = derive_check(src, dst, 0);
    if (e)
        return e;
    derive_link(src, dst, rights_mask);
    set_range(dst, first, last);
    cap_installed(dst);
    return 0;
}

/* delete a capability that has no children */
static void delete_leaf(struct cap *c)
{
    /* unlink from the parent's children */
    if (c->prev)
        c->prev->next = c->next;
    else if (c->parent)
        c->parent->child = c->next;
    if (c->next)
        c->next->prev = c->prev;
    const struct obj_ops *ops = ops_of(c->type);
    void *obj = c->obj;
    /* the slot is empty before the object may be destroyed: destroying a
     * task deletes its capabilities, which may lead back here */
    cap_clear(c);
    ops->release(c, obj);
}

/* Iterative, deepest first: derivation chains can be as long as there are
 * slots in all tasks, far deeper than a kernel stack could recurse. After
 * a leaf goes, the walk resumes at its parent, not at c: every capability
 * is passed a bounded number of times, so a chain n deep costs O(n), not
 * O(n^2). That parent is still there: all capabilities below c name c's
 * object, and c keeps a reference to it, so none of these releases is the
 * last one (only a last release may delete other capabilities). */
void cap_revoke(struct cap *c)
{
    struct cap *d = c->child;
    while (d) {
        while (d->child)
            d = d->child;
        struct cap *up = d->parent;
        delete_leaf(d);
        d = up == c ? c->child : up;
    }
    ioport_commit();
}

void cap_delete(struct cap *c)
{
    if (!c->type)
        return;
    cap_revoke(c);
    delete_leaf(c);
    ioport_commit();
}
