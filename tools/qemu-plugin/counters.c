/*
 * tools/qemu-plugin/counters.c — an instrument outside the guest.
 *
 * A QEMU TCG plugin that counts, between marker instructions the guest
 * places around a measured operation, the instructions whose cost
 * instruction counts hide: MOV to CR3, INVLPG, INVPCID, the XSAVE and
 * FXSAVE families (saves and restores), WRMSR, and iterations of REP
 * string instructions (TCG executes each iteration as one execution of
 * the instruction). It knows nothing of the guest's own counters, so the
 * test runner can check the kernel's figures against it.
 *
 * Markers: user/lib/airlock.h, BENCH_REGION_BEGIN/END (decode.h). At an
 * end the plugin prints, to QEMU's log (-d plugin), one line:
 *   airlock-plugin: region ID cr3 N invlpg N invpcid N xsave N xrstor N wrmsr N rep N
 * with the counts since the region's begin. One region at a time; a
 * nested begin restarts the region.
 *
 * Build: gcc -shared -fPIC -O2 (make builds $(B)/tools/airlock-counters.so).
 * Use:   qemu-system-x86_64 -plugin file=...so -d plugin -D log ...
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "decode.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = AIRLOCK_PLUGIN_API_VERSION;

enum { C_CR3, C_INVLPG, C_INVPCID, C_XSAVE, C_XRSTOR, C_WRMSR, C_REP, NCOUNTERS };
static const char *const names[NCOUNTERS] = {"cr3", "invlpg", "invpcid", "xsave", "xrstor", "wrmsr", "rep"};

/* running totals, bumped inline by the translated code */
static uint64_t count[NCOUNTERS];
static uint64_t at_begin[NCOUNTERS];
static int open_region = -1;

static void region_begin(unsigned int vcpu, void *id)
{
    (void)vcpu;
    memcpy(at_begin, count, sizeof count);
    open_region = (int)(uintptr_t)id;
}

static void region_end(unsigned int vcpu, void *id)
{
    (void)vcpu;
    if (open_region != (int)(uintptr_t)id)
        return; /* an end without its begin */
    char line[256];
    int n = snprintf(line, sizeof line, "airlock-plugin: region %d", open_region);
    for (int i = 0; i < NCOUNTERS && n > 0 && (size_t)n < sizeof line; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, " %s %llu", names[i],
                      (unsigned long long)(count[i] - at_begin[i]));
    if (n > 0 && (size_t)n < sizeof line - 1) {
        line[n] = '\n';
        line[n + 1] = 0;
    }
    qemu_plugin_outs(line);
    open_region = -1;
}

/* which counter an instruction belongs to, or -1 (x86-64 encodings, SDM
 * vol. 2: legacy prefixes and one REX byte skipped) */
static int classify(const uint8_t *b, size_t len)
{
    if (is_rep_string(b, len))
        return C_REP;
    int rep, opsize;
    size_t i = skip_prefixes(b, len, &rep, &opsize);
    if (i >= len)
        return -1;
    uint8_t op = b[i];
    if (op != 0x0F || i + 1 >= len)
        return -1;
    uint8_t op2 = b[i + 1];
    uint8_t modrm = i + 2 < len ? b[i + 2] : 0;
    unsigned mod = modrm >> 6, reg = (modrm >> 3) & 7;
    if (op2 == 0x22 && reg == 3)
        return C_CR3; /* MOV CR3, r64 */
    if (op2 == 0x30)
        return C_WRMSR;
    if (op2 == 0x01 && reg == 7 && mod != 3)
        return C_INVLPG;
    if (op2 == 0x38 && i + 2 < len && b[i + 2] == 0x82 && opsize)
        return C_INVPCID;
    if (op2 == 0xAE && mod != 3) {
        if (reg == 0 || reg == 4 || reg == 6)
            return C_XSAVE; /* FXSAVE, XSAVE, XSAVEOPT */
        if (reg == 1 || reg == 5)
            return C_XRSTOR; /* FXRSTOR, XRSTOR */
    }
    if (op2 == 0xC7 && mod != 3 && (reg == 4 || reg == 5))
        return C_XSAVE; /* XSAVEC, XSAVES */
    if (op2 == 0xC7 && mod != 3 && reg == 3)
        return C_XRSTOR; /* XRSTORS */
    return -1;
}

static void count_insn(struct qemu_plugin_insn *insn, const uint8_t *b, size_t len)
{
    int c = classify(b, len);
    if (c >= 0)
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &count[c], 1);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    each_insn(tb, region_begin, region_end, count_insn);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info *info, int argc, char **argv)
{
    (void)info, (void)argc, (void)argv;
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    return 0;
}
