/* Memory from sigma0 (abi/airlock/boot.h): the client side of its protocol. */
#include "user/lib/airlock.h"
#include "abi/airlock/boot.h"

static long s0_call(unsigned long label, unsigned long words)
{
    struct al_utcb *u = al_utcb();
    long r = al_ipc(AL_IPC_CALL, AL_SLOT_SIGMA0, AL_TAG(words, 0, label), 0, AL_TIMEOUT_NEVER);
    if (r)
        return r;
    if (AL_TAG_LABEL(u->tag) != 0)
        return (long)u->mr[0];
    return 0;
}

long mem_alloc(void *va, unsigned order, int rights)
{
    struct al_utcb *u = al_utcb();
    u->rcv_window = AL_FPAGE(va, order);
    u->mr[0] = order;
    u->mr[1] = (unsigned long)rights;
    long r = s0_call(AL_S0_ALLOC, 2);
    u->rcv_window = 0;
    return r ? r : (long)u->mr[0];
}

long mem_free(long id)
{
    al_utcb()->mr[0] = (unsigned long)id;
    return s0_call(AL_S0_FREE, 1);
}

long mem_info(unsigned long *free_pages, unsigned long *total_pages)
{
    struct al_utcb *u = al_utcb();
    long r = s0_call(AL_S0_INFO, 0);
    if (!r) {
        *free_pages = u->mr[0];
        *total_pages = u->mr[1];
    }
    return r;
}

long mem_reclaim(unsigned long badge)
{
    al_utcb()->mr[0] = badge;
    return s0_call(AL_S0_RECLAIM, 1);
}
