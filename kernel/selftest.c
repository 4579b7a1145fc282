#include "kernel/selftest.h"
#include "kernel/console.h"

extern const struct selftest __selftests_start[], __selftests_end[];

unsigned selftest_count(void)
{
    return (unsigned)(__selftests_end - __selftests_start);
}

unsigned selftest_run_all(unsigned first)
{
    unsigned failed = 0, n = first;
    for (const struct selftest *t = __selftests_start; t < __selftests_end; t++, n++) {
        int failures = 0;
        t->fn(&failures);
        kprintf("%s %u selftest:%s\n", failures ? "not ok" : "ok", n, t->name);
        if (failures)
            failed++;
    }
    return failed;
}
