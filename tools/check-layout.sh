#!/bin/sh
# tools/check-layout.sh — the architecture boundary holds.
#
#   sh tools/check-layout.sh [ARCH]     (default x86_64; from anywhere)
#
# Prints "check-layout: ok" and exits 0, or one "file:line: reason" per
# violation and exits 1. Rules:
#   1. Generic code (kernel/, lib/, abi/, user/, tests/kernel/*.c) reaches
#      architecture code only through the interface headers
#      <arch/NAME.h> (arch/$ARCH/include/arch/), never by a path into
#      arch/<anything>/.
#   2. Every <arch/NAME.h> that any file includes exists in the interface
#      directory.
#   3. Architecture code (arch/$ARCH/, its interface headers included)
#      includes, of kernel/, only the documented upcall set: panic.h,
#      console.h, frame.h, kmem.h (the page-table allocator charges the
#      payer's budget), cpu.h and upcall.h (kernel/upcall.h).
#   4. Interface headers do not include architecture-private headers
#      (arch/$ARCH/*.h): what the interface offers must be in it.
#   5. The frame allocator does not include page-table code (no cycle:
#      page-table code allocates frames, not the other way round).
set -u
cd "$(dirname "$0")/.." || exit 2
ARCH=${1:-x86_64}
IFACE=arch/$ARCH/include/arch
bad=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# after each rule: print what it found, and remember a failure
report() {
    if [ -s "$out" ]; then
        cat "$out"
        bad=1
    fi
    : >"$out"
}

# 1.
for f in $(find kernel lib abi user -name '*.[chS]') $(ls tests/kernel/*.c 2>/dev/null); do
    grep -n '#include *["<]arch/[a-z0-9_]*/' "$f" | while IFS= read -r l; do
        echo "$f:${l%%:*}: generic code includes an architecture-private header: ${l#*:}"
    done
done >"$out" 2>&1
report

# 2.
for f in $(find kernel lib abi user arch tests -name '*.[chS]'); do
    grep -no '#include *<arch/[A-Za-z0-9_]*\.h>' "$f" | while IFS=: read -r line inc; do
        h=$(echo "$inc" | sed 's/.*<arch\/\(.*\)>/\1/')
        [ -f "$IFACE/$h" ] || echo "$f:$line: <arch/$h> is not an interface header of $IFACE"
    done
done >"$out" 2>&1
report

# 3.
for f in $(find arch/$ARCH -name '*.[chS]'); do
    grep -no '#include *"kernel/[A-Za-z0-9_]*\.h"' "$f" | while IFS=: read -r line inc; do
        h=$(echo "$inc" | sed 's/.*"kernel\/\(.*\)"/\1/')
        case "$h" in
        panic.h | console.h | frame.h | kmem.h | cpu.h | upcall.h) ;;
        *) echo "$f:$line: architecture code includes kernel/$h (allowed: panic, console, frame, kmem, cpu, upcall)" ;;
        esac
    done
done >"$out" 2>&1
report

# 4.
for f in "$IFACE"/*.h; do
    grep -n "#include *[\"<]arch/$ARCH/" "$f" | while IFS= read -r l; do
        echo "$f:${l%%:*}: an interface header includes a private one: ${l#*:}"
    done
done >"$out" 2>&1
report

# 5.
if grep -n 'pagetable.h\|paging.h' kernel/frame.h kernel/frame.c >/dev/null; then
    grep -n 'pagetable.h\|paging.h' kernel/frame.h kernel/frame.c | sed 's/^/frame allocator includes page-table code: /'
    bad=1
fi

[ $bad = 0 ] && echo "check-layout: ok ($ARCH)"
exit $bad
