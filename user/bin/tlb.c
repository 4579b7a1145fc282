/*
 * TLB shootdown: a reader thread on one CPU keeps reading a page while the
 * main thread on another CPU unmaps it (and maps a fresh page there). Once
 * the unmap has returned, the reader must never see the old contents: it
 * either faults (the page is gone) or reads the new page.
 */
#include "user/lib/airlock.h"

#define PAGE ((volatile uint64_t *)0x20000000)
#define OLD 0x01d01d01d01d01d0ULL
#define NEW 0x0e30e30e30e30e30ULL
static char stack[16384] __attribute__((aligned(16)));
static volatile int unmapped, started;
static volatile unsigned long stale, reads;

static long reader(void *arg)
{
    (void)arg;
    started = 1;
    for (;;) {
        int after = unmapped;
        __asm__ volatile("" ::: "memory");
        uint64_t v = *PAGE;
        reads++;
        if (after && v == OLD)
            stale++;
        if (after && v == NEW)
            return 0;
    }
}

int main(void)
{
    int n = ncpus();
    ktap_plan(4);
    ktap_result(al_mem_map((void *)PAGE, 1, AL_MEM_WRITE) == 0, "map a page");
    *PAGE = OLD;
    long r = thread_spawn(reader, 0, stack, sizeof stack, 100, n > 1 ? 1 : 0);
    al_thread_set_affinity(0, 0);
    while (!started)
        al_yield();
    al_sleep(20000000);         /* the reader's TLB now holds the page */
    long u = al_mem_unmap((void *)PAGE, 1);
    unmapped = 1;
    al_mem_map((void *)PAGE, 1, AL_MEM_WRITE);
    *PAGE = NEW;
    long st = -1;
    long how = al_thread_join(r, &st);
    ktap_result(u == 1, "unmap returned 1 page");
    ktap_result(stale == 0, "no stale read after the unmap (%lu reads, %lu stale)", reads, stale);
    ktap_result((how == AL_THREAD_FAULTED && st == 14) || (how == AL_THREAD_EXITED && st == 0),
                "the reader faulted (#PF) or saw the new page (%s, status %ld, reader on CPU %d)",
                how == AL_THREAD_FAULTED ? "faulted" : "new page", st, n > 1 ? 1 : 0);
    return ktap_failures();
}
