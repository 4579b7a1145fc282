#!/bin/sh
# tools/qemu-race.sh — does this host's QEMU have the multi-threaded TCG
# crash behind decision 73 (docs/ARCHITECTURE.md)? Boots user/bin/qemurace.c
# (PCI memory-decode flips on one vCPU, LAPIC MMIO on two others) on 1 CPU
# and on 4, up to 30 s each, and prints how each boot ended. QEMU 7.2
# (Debian 12) dies by SIGSEGV on 4 CPUs within seconds; a fixed QEMU
# prints "still alive" for both.
#
#   make && sh tools/qemu-race.sh        (B=build dir, default build)
set -u
cd "$(dirname "$0")/.." || exit 2
B=${B:-build}
for smp in 1 4; do
    log=$(mktemp)
    timeout 60 qemu-system-x86_64 -machine q35 -cpu max -m 512M -no-reboot -display none \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 -smp $smp -serial "file:$log" \
        -kernel "$B/kernel32.elf" -append "ktest=modules" \
        -initrd "$B/user/sigma0.elf,$B/user/root.elf,$B/user/qemurace.elf 200000 ports=0xcf8:8" \
        >/dev/null 2>&1
    rc=$?
    last=$(grep 'qemurace:' "$log" | tail -1)
    rm -f "$log"
    if [ $rc -gt 128 ] && [ $rc -ne 124 ]; then
        echo "smp=$smp: QEMU died by signal $((rc - 128)); the guest's last word: $last"
    else
        echo "smp=$smp: QEMU exited with $rc; the guest's last word: $last"
    fi
done
