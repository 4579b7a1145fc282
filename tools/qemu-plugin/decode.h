/*
 * tools/qemu-plugin/decode.h — what the plugins (counters.c, profile.c)
 * share: decoding the benchmark markers and REP string instructions
 * (x86-64 encodings, SDM vol. 2), and the walk over a translated block.
 */
#ifndef AIRLOCK_PLUGIN_DECODE_H
#define AIRLOCK_PLUGIN_DECODE_H
#include <stddef.h>
#include <stdint.h>
#include "plugin-api.h"

/* Markers (user/lib/airlock.h, BENCH_REGION_BEGIN/END): a 9-byte long NOP
 * `nopw disp32(%rax,%rax,1)` = 66 0F 1F 84 00 <disp32>, whose displacement
 * is 0x41520000 + id (begin) or 0x41530000 + id (end), id < 0x10000. */
#define MARK_BEGIN 0x41520000u
#define MARK_END   0x41530000u

/* the marker's displacement (MARK_BEGIN/MARK_END + id), or 0 if the
 * instruction is no marker */
static inline uint32_t marker_of(const uint8_t *b, size_t len)
{
    if (len != 9 || b[0] != 0x66 || b[1] != 0x0F || b[2] != 0x1F || b[3] != 0x84 || b[4] != 0x00)
        return 0;
    uint32_t disp = (uint32_t)b[5] | (uint32_t)b[6] << 8 | (uint32_t)b[7] << 16 | (uint32_t)b[8] << 24;
    uint32_t kind = disp & 0xFFFF0000u;
    return kind == MARK_BEGIN || kind == MARK_END ? disp : 0;
}

/* legacy prefixes and one REX byte skipped: the opcode's index in b (len
 * if none), and whether a REP prefix (F2, F3) and an operand-size prefix
 * (66) came before it */
static inline size_t skip_prefixes(const uint8_t *b, size_t len, int *rep, int *opsize)
{
    size_t i = 0;
    *rep = *opsize = 0;
    while (i < len && (b[i] == 0xF2 || b[i] == 0xF3 || b[i] == 0x66 || b[i] == 0x67 || b[i] == 0xF0 || b[i] == 0x2E ||
                       b[i] == 0x3E || b[i] == 0x26 || b[i] == 0x36 || b[i] == 0x64 || b[i] == 0x65)) {
        *rep |= b[i] == 0xF2 || b[i] == 0xF3;
        *opsize |= b[i] == 0x66;
        i++;
    }
    if (i < len && (b[i] & 0xF0) == 0x40) /* REX */
        i++;
    return i;
}

/* a REP-prefixed string instruction (MOVS, CMPS, STOS, LODS, SCAS, INS,
 * OUTS): TCG executes each iteration as one execution of it */
static inline int is_rep_string(const uint8_t *b, size_t len)
{
    int rep, opsize;
    size_t i = skip_prefixes(b, len, &rep, &opsize);
    if (i >= len || !rep)
        return 0;
    uint8_t op = b[i];
    return (op >= 0xA4 && op <= 0xA7) || (op >= 0xAA && op <= 0xAF) || (op >= 0x6C && op <= 0x6F);
}

/* every instruction of a block being translated: a marker gets begin or
 * end as its execution callback (with the region's id), any other is
 * handed to each */
static inline void each_insn(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t begin,
                             qemu_plugin_vcpu_udata_cb_t end,
                             void (*each)(struct qemu_plugin_insn *insn, const uint8_t *b, size_t len))
{
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t k = 0; k < n; k++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, k);
        const uint8_t *b = qemu_plugin_insn_data(insn);
        size_t len = qemu_plugin_insn_size(insn);
        uint32_t disp = marker_of(b, len);
        if (disp)
            qemu_plugin_register_vcpu_insn_exec_cb(insn, (disp & 0xFFFF0000u) == MARK_BEGIN ? begin : end,
                                                   QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)(disp & 0xFFFF));
        else
            each(insn, b, len);
    }
}
#endif
