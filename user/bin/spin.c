/*
 * spin: keep integer, SSE and system-call state busy and check it, while the
 * test runner injects NMIs from outside (QEMU monitor). NMIs land in user
 * mode, in the kernel and inside the trampoline's entry/exit windows; the
 * paranoid NMI path must return each time to an intact context.
 * Ends when the kernel has counted `want` NMIs (default 20), or fails after
 * a bounded number of rounds.
 */
#include "user/lib/airlock.h"
#include "lib/string.h"

int main(int argc, char **argv)
{
    int ok;
    long want = argc > 1 ? strtol_simple(argv[1], &ok) : 20;
    /* `forever` (the shell's tests): no bound on the rounds and no output
     * (nothing of it lands among the shell's lines), until killed */
    int forever = argc > 2 && !strcmp(argv[2], "forever");
    unsigned long limit = forever ? ~0UL : 200000000UL;
    struct al_stats st;
    if (!forever)
        ktap_plan(3);
    unsigned long rounds = 0, bad = 0, bad_sys = 0;
    double acc = 1.0;
    for (; rounds < limit; rounds++) {
        /* integer and SSE work whose results are known */
        uint64_t x = rounds * 0x9e3779b97f4a7c15ULL;
        uint64_t z = x ^ (x >> 31), y = z * 3;
        __asm__ volatile("" : "+r"(y)); /* keep the check at run time */
        if (y - z - z - z != 0)
            bad++;
        acc = acc * 1.0000001;
        double d = (double)(rounds & 0xffff);
        if ((uint64_t)(d * 2.0) != ((rounds & 0xffff) << 1))
            bad++;
        if ((rounds & 1023) == 0) {
            if (al_null() != 0)
                bad_sys++;
            if (al_stats(&st, sizeof st) != (long)sizeof st)
                bad_sys++;
            else if ((long)st.nmis >= want)
                break;
        }
    }
    ktap_result(bad == 0, "integer and SSE results intact across NMIs (%lu rounds)", rounds);
    ktap_result(bad_sys == 0, "system calls intact across NMIs");
    ktap_result((long)st.nmis >= want, "kernel counted %lu NMIs (wanted %ld)", st.nmis, want);
    return ktap_failures();
}
