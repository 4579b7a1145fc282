/*
 * TLB shootdown: a reader thread on one CPU keeps reading a page (memory
 * from sigma0) while the main thread on another CPU unmaps it and then
 * maps a fresh page there. Once the unmap has returned, the reader must
 * never see the old contents: it either faults (the page is gone) or reads
 * the new page.
 */
#include "user/lib/airlock.h"

#define PAGE ((volatile uint64_t *)0x20000000)
#define OLD  0x01d01d01d01d01d0ULL
#define NEW  0x0e30e30e30e30e30ULL
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
    long id = mem_alloc((void *)PAGE, 12, AL_MAP_RW);
    ktap_result(id >= 0 && al_map_info((unsigned long)PAGE) == (AL_MAP_RW | AL_MAP_MANAGED),
                "a page from sigma0 (id %#lx)", id);
    *PAGE = OLD;
    long r = thread_spawn(reader, 0, stack, sizeof stack, 100, n > 1 ? 1 : 0);
    al_thread_set_affinity(0, 0);
    while (!started)
        al_yield();
    al_sleep(20000000); /* the reader's TLB now holds the page */
    long u = al_unmap(AL_FPAGE(PAGE, 12), AL_UNMAP_SELF);
    unmapped = 1;
    long id2 = mem_alloc((void *)PAGE, 12, AL_MAP_RW);
    *PAGE = NEW;
    long st = -1;
    long how = al_thread_join(r, &st);
    ktap_result(u == 1 && id2 >= 0, "unmap returned 1 page; a new page mapped at the same address");
    ktap_result(stale == 0, "no stale read after the unmap (%lu reads, %lu stale)", reads, stale);
    ktap_result((how == AL_THREAD_FAULTED && st == 14) || (how == AL_THREAD_EXITED && st == 0),
                "the reader faulted (#PF) or saw the new page (%s, status %ld, reader on CPU %d)",
                how == AL_THREAD_FAULTED ? "faulted" : "new page", st, n > 1 ? 1 : 0);
    mem_free(id);
    mem_free(id2);
    return ktap_failures();
}
