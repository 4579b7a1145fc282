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
 * Markers (user/lib/airlock.h, BENCH_REGION_BEGIN/END): a 9-byte long NOP
 * `nopw disp32(%rax,%rax,1)` = 66 0F 1F 84 00 <disp32>, whose displacement
 * is 0x41520000 + id (begin) or 0x41530000 + id (end), id < 0x10000. At an
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
#include "plugin-api.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = AIRLOCK_PLUGIN_API_VERSION;

enum { C_CR3, C_INVLPG, C_INVPCID, C_XSAVE, C_XRSTOR, C_WRMSR, C_REP, NCOUNTERS };
static const char *const names[NCOUNTERS] = {"cr3", "invlpg", "invpcid", "xsave", "xrstor", "wrmsr", "rep"};

/* running totals, bumped inline by the translated code */
static uint64_t count[NCOUNTERS];
static uint64_t at_begin[NCOUNTERS];
static int open_region = -1;

#define MARK_BEGIN 0x41520000u
#define MARK_END   0x41530000u

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
    size_t i = 0;
    int rep = 0, opsize = 0;
    while (i < len && (b[i] == 0xF2 || b[i] == 0xF3 || b[i] == 0x66 || b[i] == 0x67 || b[i] == 0xF0 ||
                       b[i] == 0x2E || b[i] == 0x3E || b[i] == 0x26 || b[i] == 0x36 || b[i] == 0x64 ||
                       b[i] == 0x65)) {
        rep |= b[i] == 0xF2 || b[i] == 0xF3;
        opsize |= b[i] == 0x66;
        i++;
    }
    if (i < len && (b[i] & 0xF0) == 0x40) /* REX */
        i++;
    if (i >= len)
        return -1;
    uint8_t op = b[i];
    if (rep && ((op >= 0xA4 && op <= 0xA7) || (op >= 0xAA && op <= 0xAF) || (op >= 0x6C && op <= 0x6F)))
        return C_REP;
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

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t k = 0; k < n; k++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, k);
        const uint8_t *b = qemu_plugin_insn_data(insn);
        size_t len = qemu_plugin_insn_size(insn);
        if (len == 9 && b[0] == 0x66 && b[1] == 0x0F && b[2] == 0x1F && b[3] == 0x84 && b[4] == 0x00) {
            uint32_t disp = (uint32_t)b[5] | (uint32_t)b[6] << 8 | (uint32_t)b[7] << 16 | (uint32_t)b[8] << 24;
            if ((disp & 0xFFFF0000u) == MARK_BEGIN)
                qemu_plugin_register_vcpu_insn_exec_cb(insn, region_begin, QEMU_PLUGIN_CB_NO_REGS,
                                                       (void *)(uintptr_t)(disp & 0xFFFF));
            else if ((disp & 0xFFFF0000u) == MARK_END)
                qemu_plugin_register_vcpu_insn_exec_cb(insn, region_end, QEMU_PLUGIN_CB_NO_REGS,
                                                       (void *)(uintptr_t)(disp & 0xFFFF));
            continue;
        }
        int c = classify(b, len);
        if (c >= 0)
            qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &count[c], 1);
    }
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info *info, int argc, char **argv)
{
    (void)info, (void)argc, (void)argv;
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    return 0;
}
