/*
 * Every CPU runs a thread pinned to it that asks the kernel where it runs
 * (the APIC ID is read from the local APIC at that moment). The set of
 * reported APIC IDs must equal the MADT's, and the topology must name each
 * CPU uniquely.
 */
#include "user/lib/airlock.h"
#include "lib/string.h"

static char stacks[64][8192] __attribute__((aligned(16)));
static struct al_cpu_info info[64], seen[64];

static long where(void *arg)
{
    long i = (long)arg;
    return al_cpu_self(&seen[i]) == i ? 0 : 1;
}

int main(int argc, char **argv)
{
    long n = al_cpu_info(info, 64);
    /* topo=P:C:T: the packages, cores and threads the machine was given */
    long want[3] = {-1, -1, -1};
    for (int a = 1; a < argc; a++)
        if (!strncmp(argv[a], "topo=", 5)) {
            const char *s = argv[a] + 5;
            for (int k = 0; k < 3 && *s; k++) {
                want[k] = 0;
                while (*s >= '0' && *s <= '9')
                    want[k] = want[k] * 10 + (*s++ - '0');
                if (*s == ':')
                    s++;
            }
        }
    ktap_plan(want[0] >= 0 ? 5 : 4);
    ktap_result(n >= 1 && n <= 64, "cpu_info reports %ld CPUs", n);
    long ids[64];
    for (long i = 0; i < n; i++)
        ids[i] = thread_spawn(where, (void *)i, stacks[i], sizeof stacks[i], 100, i);
    int ran_right = 1;
    for (long i = 0; i < n; i++) {
        long st = -1;
        if (al_thread_join(ids[i], &st) != AL_THREAD_EXITED || st != 0 || seen[i].index != (unsigned)i)
            ran_right = 0;
    }
    ktap_result(ran_right, "a thread pinned to each CPU ran there");
    int match = 1;
    for (long i = 0; i < n; i++) {
        int found = 0;
        for (long j = 0; j < n; j++)
            found |= seen[i].apic_id == info[j].madt_apic_id;
        if (!found || seen[i].apic_id != info[i].apic_id)
            match = 0;
        printf("    # cpu %ld: APIC ID %u (MADT entry %lu), package %u core %u thread %u\n", i, seen[i].apic_id,
               info[i].madt_apic_id, info[i].package, info[i].core, info[i].smt);
    }
    ktap_result(match, "reported APIC IDs are exactly the MADT's");
    int unique = 1;
    for (long i = 0; i < n; i++)
        for (long j = i + 1; j < n; j++)
            if (info[i].package == info[j].package && info[i].core == info[j].core && info[i].smt == info[j].smt)
                unique = 0;
    ktap_result(unique, "topology (package, core, thread) is unique per CPU");
    if (want[0] >= 0) {
        long pk = 0, co = 0;
        for (long i = 0; i < n; i++) {
            int new_pkg = 1, new_core = 1;
            for (long j = 0; j < i; j++) {
                if (info[j].package == info[i].package)
                    new_pkg = 0;
                if (info[j].package == info[i].package && info[j].core == info[i].core)
                    new_core = 0;
            }
            pk += new_pkg;
            co += new_core;
        }
        ktap_result(pk == want[0] && co == want[1] && n == want[2],
                    "topology from CPUID: %ld packages, %ld cores, %ld threads (machine: %ld, %ld, %ld)", pk, co, n,
                    want[0], want[1], want[2]);
    }
    return ktap_failures();
}
