/*
 * tools/qemu-plugin/profile.c — where the instructions of a measured
 * region go: a QEMU TCG plugin that counts executions per guest
 * instruction address between the benchmark markers (user/lib/airlock.h,
 * BENCH_REGION_BEGIN/END, decode.h), summed over
 * all the regions of the run, and writes them at exit to QEMU's log
 * (-d plugin -D file), one line per executed address:
 *   airlock-profile: ADDRESS EXECUTIONS [rep]
 * then `airlock-profile: regions N`. Each iteration of a REP string
 * instruction is one execution (as under -icount), and its line ends in
 * "rep". An optional argument
 * region=ID counts only that region's id.
 *
 * tools/profile.py boots a benchmark set with this plugin and folds the
 * addresses into the kernel's and the user program's functions (per
 * region: the sum divided by the number of regions).
 * Build: make $(B)/tools/airlock-profile.so.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "decode.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = AIRLOCK_PLUGIN_API_VERSION;

struct site {
    uint64_t pc;
    uint64_t count;
    int rep;
    struct site *next;
};

#define NBUCKETS (1u << 16)
static struct site *table[NBUCKETS];
static int open_region = -1, only = -1;
static uint64_t regions;

static struct site *site_of(uint64_t pc)
{
    unsigned h = (unsigned)((pc >> 0) ^ (pc >> 16) ^ (pc >> 32)) & (NBUCKETS - 1);
    for (struct site *s = table[h]; s; s = s->next)
        if (s->pc == pc)
            return s;
    struct site *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->pc = pc;
    s->next = table[h];
    table[h] = s;
    return s;
}

static void executed(unsigned int vcpu, void *site)
{
    (void)vcpu;
    if (open_region >= 0)
        ((struct site *)site)->count++;
}

static void region_begin(unsigned int vcpu, void *id)
{
    (void)vcpu;
    if (only < 0 || (int)(uintptr_t)id == only)
        open_region = (int)(uintptr_t)id;
}

static void region_end(unsigned int vcpu, void *id)
{
    (void)vcpu;
    if (open_region >= 0 && open_region == (int)(uintptr_t)id) {
        open_region = -1;
        regions++;
    }
}

static void count_insn(struct qemu_plugin_insn *insn, const uint8_t *b, size_t len)
{
    struct site *s = site_of(qemu_plugin_insn_vaddr(insn));
    s->rep = is_rep_string(b, len);
    qemu_plugin_register_vcpu_insn_exec_cb(insn, executed, QEMU_PLUGIN_CB_NO_REGS, s);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    each_insn(tb, region_begin, region_end, count_insn);
}

static void at_exit(qemu_plugin_id_t id, void *p)
{
    (void)id, (void)p;
    char line[96];
    for (unsigned h = 0; h < NBUCKETS; h++)
        for (struct site *s = table[h]; s; s = s->next)
            if (s->count) {
                snprintf(line, sizeof line, "airlock-profile: %llx %llu%s\n", (unsigned long long)s->pc,
                         (unsigned long long)s->count, s->rep ? " rep" : "");
                qemu_plugin_outs(line);
            }
    snprintf(line, sizeof line, "airlock-profile: regions %llu\n", (unsigned long long)regions);
    qemu_plugin_outs(line);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info *info, int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++)
        if (!strncmp(argv[i], "region=", 7))
            only = atoi(argv[i] + 7);
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
