#!/bin/sh
# gensyms.sh KERNEL.ELF > ksyms.S
# Emits the kernel's function symbol table (sorted by address) for panic
# backtraces. Used for the second link; see Makefile.
set -eu
echo '    .section .ksyms, "a"'
echo '    .align 8'
echo '    .globl ksyms_table, ksyms_count'
echo 'ksyms_table:'
nm -n --defined-only "$1" | awk '$2 ~ /^[tT]$/ && $3 !~ /^(tramp_base|tramp_text_end)$/ { printf "    .quad 0x%s, .Ls%d\n", $1, NR }'
echo 'ksyms_count:'
nm -n --defined-only "$1" | awk '$2 ~ /^[tT]$/ && $3 !~ /^(tramp_base|tramp_text_end)$/ { n++ } END { printf "    .quad %d\n", n }'
echo '    .section .rodata.ksymstr, "a"'
nm -n --defined-only "$1" | awk '$2 ~ /^[tT]$/ && $3 !~ /^(tramp_base|tramp_text_end)$/ { printf ".Ls%d: .asciz \"%s\"\n", NR, $3 }'
