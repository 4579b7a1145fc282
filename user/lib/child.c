/* Child tasks running this image's text (user/lib/child.h). */
#include "user/lib/airlock.h"
#include "user/lib/child.h"

extern char __executable_start[], etext[];

long child_task_create(long slot, const char *name)
{
    long r = al_task_create(slot, name);
    if (r < 0)
        return r;
    for (unsigned long va = (unsigned long)__executable_start & ~0xfffUL; va < (unsigned long)etext; va += 4096)
        if ((r = al_task_map(slot, AL_FPAGE(va, 12), va, AL_MAP_R | AL_MAP_X)) < 0)
            return r;
    return 0;
}
