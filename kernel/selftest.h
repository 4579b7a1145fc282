/*
 * In-kernel self-tests, reported in KTAP. Declare with
 *   SELFTEST(name) { ST_CHECK(cond); ... }
 * They run in the boot thread (a kernel thread with the big lock held)
 * when the kernel command line contains `ktest`.
 */
#ifndef KERNEL_SELFTEST_H
#define KERNEL_SELFTEST_H

struct selftest {
    const char *name;
    void (*fn)(int *failures);
} __attribute__((aligned(32))); /* see struct trap_desc */

#define SELFTEST(tname)                                                                                                \
    static void selftest_##tname(int *st_failures);                                                                    \
    static const struct selftest selftest_desc_##tname                                                                 \
        __attribute__((section(".selftests"), used)) = {#tname, selftest_##tname};                                     \
    static void selftest_##tname(int *st_failures)

/* record a failure with its location; the test goes on */
#define ST_CHECK(cond)                                                                                                 \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            (*st_failures)++;                                                                                          \
            kprintf("    # check failed: %s at %s:%d\n", #cond, __FILE__, __LINE__);                                   \
        }                                                                                                              \
    } while (0)

unsigned selftest_count(void);
/* run all, numbering from first; returns the number that failed */
unsigned selftest_run_all(unsigned first);
#endif
