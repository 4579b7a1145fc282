/*
 * Benchmark: map one page into another task and unmap it again (the page
 * comes from sigma0; the target task runs nothing, so no shootdown IPI is
 * needed). Run under -icount shift=0: RDTSC counts instructions.
 */
#include "user/lib/airlock.h"

#define P      0x30000000UL
#define B_SLOT 40
#define ROUNDS 2000

int main(void)
{
    long id = mem_alloc((void *)P, 12, AL_MAP_RW);
    if (id < 0 || al_task_create(B_SLOT, "mapbench-B") < 0) {
        printf("bench: map+unmap setup failed\n");
        return 1;
    }
    for (int i = 0; i < 100; i++) {
        al_task_map(B_SLOT, AL_FPAGE(P, 12), 0x40000000, AL_MAP_RW);
        al_unmap(AL_FPAGE(P, 12), 0);
    }
    struct al_stats a, b;
    al_stats(&a, sizeof a);
    uint64_t t0 = rdtsc();
    for (int i = 0; i < ROUNDS; i++) {
        al_task_map(B_SLOT, AL_FPAGE(P, 12), 0x40000000, AL_MAP_RW);
        al_unmap(AL_FPAGE(P, 12), 0);
    }
    uint64_t t1 = rdtsc();
    al_stats(&b, sizeof b);
    unsigned long cr3 = b.cr3_writes - a.cr3_writes - 2, inv = b.invlpg - a.invlpg;
    printf("bench: map + unmap one page (task_map, unmap)  %5lu instructions/op  CR3 writes/op %lu.%02lu  "
           "INVLPG/op %lu.%02lu\n",
           (unsigned long)((t1 - t0) / ROUNDS), cr3 / ROUNDS, cr3 % ROUNDS * 100 / ROUNDS, inv / ROUNDS,
           inv % ROUNDS * 100 / ROUNDS);
    al_cap_delete(B_SLOT);
    mem_free(id);
    return 0;
}
