/*
 * Ticketless test-and-test-and-set spinlock. Callers run with interrupts
 * disabled (the kernel always does), so no irqsave variant is needed.
 */
#ifndef KERNEL_SPINLOCK_H
#define KERNEL_SPINLOCK_H

typedef struct {
    volatile int locked;
} spinlock_t;

#define SPINLOCK_INIT                                                                                                  \
    {                                                                                                                  \
        0                                                                                                              \
    }

static inline void spin_lock(spinlock_t *l)
{
    while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
            __asm__ volatile("pause");
}
static inline int spin_trylock(spinlock_t *l)
{
    return !__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE);
}
static inline void spin_unlock(spinlock_t *l)
{
    __atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}
#endif
