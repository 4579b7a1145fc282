#include "kernel/bkl.h"
#include "kernel/upcall.h"
#include "kernel/cpu.h"
#include <arch/tlb.h>

volatile uint32_t bkl_word;

static inline int try_lock(void)
{
    return !__atomic_exchange_n(&bkl_word, 1, __ATOMIC_ACQUIRE);
}

void bkl_lock(void)
{
    while (!try_lock())
        while (__atomic_load_n(&bkl_word, __ATOMIC_RELAXED)) {
            tlb_poll();
            __asm__ volatile("pause");
        }
}

/* The SYSCALL fast path's `lock bts` found the lock taken. */
void bkl_lock_contended(void)
{
    bkl_lock();
}

void bkl_unlock(void)
{
    __atomic_store_n(&bkl_word, 0, __ATOMIC_RELEASE);
}
