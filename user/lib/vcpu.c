/* Upcalls, the user side (user/lib/airlock.h; the entry code is
 * user/lib/upcall.S). */
#include "user/lib/airlock.h"

al_upcall_fn_t *al_upcall_fn;

long al_upcall_setup(al_upcall_fn_t *fn, void *stack, unsigned long size, long flags)
{
    al_upcall_fn = fn;
    return al_upcall_register(al_upcall_entry, stack, size, flags);
}

unsigned long al_upcall_direct_bit;

long al_upcall_direct(long irq, unsigned long bit, void *stack, unsigned long size)
{
    al_upcall_direct_bit = bit;
    return al_irq_bind_direct(irq, bit, al_upcall_direct_entry, (char *)stack + size);
}
