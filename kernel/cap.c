#include "kernel/cap.h"
#include "kernel/task.h"
#include "kernel/thread.h"
#include "kernel/ipc.h"
#include "kernel/frame.h"
#include "kernel/panic.h"
#include "abi/airlock/errno.h"
#include <arch/paging.h>
#include "lib/string.h"

#define CSPACE_FRAMES ((sizeof(struct cspace) + 4095) / 4096)

int cspace_create(struct task *t)
{
    uint64_t pa = frame_alloc_contig(CSPACE_FRAMES, 4096, 0);
    if (!pa)
        return -AL_ENOMEM;
    t->cspace = p2v(pa);
    memset(t->cspace, 0, sizeof *t->cspace);
    return 0;
}

void cspace_destroy(struct task *t)
{
    if (!t->cspace)
        return;
    for (unsigned i = 0; i < AL_CSPACE_SLOTS; i++)
        if (t->cspace->slot[i].type)
            cap_delete(&t->cspace->slot[i]);
    uint64_t pa = v2p_direct(t->cspace);
    for (unsigned i = 0; i < CSPACE_FRAMES; i++)
        frame_free(pa + i * 4096);
    t->cspace = NULL;
}

struct cap *cap_slot(struct task *t, uint64_t idx)
{
    if (!t || !t->cspace || idx >= AL_CSPACE_SLOTS)
        return NULL;
    return &t->cspace->slot[idx];
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

static void obj_get(struct cap *c)
{
    if (c->type == AL_CAP_ENDPOINT)
        ((struct endpoint *)c->obj)->refs++;
    else if (c->type == AL_CAP_TASK)
        ((struct task *)c->obj)->refs++;
    else if (c->type == AL_CAP_THREAD)
        ((struct thread *)c->obj)->refs++;
}

void cap_install(struct cap *dst, int type, int rights, void *obj, uint64_t badge)
{
    assert(!dst->type);
    memset(dst, 0, sizeof *dst);
    dst->type = (uint8_t)type;
    dst->rights = (uint8_t)rights;
    dst->obj = obj;
    dst->badge = badge;
    obj_get(dst);
}

int cap_derive(struct cap *src, struct cap *dst, int rights_mask, uint64_t badge)
{
    if (dst->type)
        return -AL_EEXIST;
    if (src->type == AL_CAP_REPLY)
        return -AL_EPERM; /* one-shot: cannot be copied */
    if (badge && (src->type != AL_CAP_ENDPOINT || src->badge))
        return -AL_EPERM;
    *dst = *src;
    dst->rights = src->rights & (uint8_t)rights_mask;
    if (badge)
        dst->badge = badge;
    dst->parent = src;
    dst->child = NULL;
    dst->prev = NULL;
    dst->next = src->child;
    if (src->child)
        src->child->prev = dst;
    src->child = dst;
    obj_get(dst);
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
    if (c->type == AL_CAP_REPLY)
        reply_cap_dropped(c);
    int type = c->type;
    void *obj = c->obj;
    memset(c, 0, sizeof *c);
    if (type == AL_CAP_ENDPOINT)
        endpoint_put(obj);
    else if (type == AL_CAP_TASK)
        task_put(obj);
    else if (type == AL_CAP_THREAD)
        thread_put(obj);
}

/* Iterative, deepest first: derivation chains can be as long as there are
 * slots in all tasks, far deeper than a kernel stack could recurse. */
void cap_revoke(struct cap *c)
{
    while (c->child) {
        struct cap *d = c->child;
        while (d->child)
            d = d->child;
        delete_leaf(d);
    }
}

void cap_delete(struct cap *c)
{
    if (!c->type)
        return;
    cap_revoke(c);
    delete_leaf(c);
}
