#!/bin/sh
# tools/check-asm.sh — the assembly takes its numbers from their one
# definition: offsets and sizes of C structures from the generated
# asm-offsets.h (arch/x86_64/asm-offsets.c), constants from the C headers.
#
#   sh tools/check-asm.sh          (from anywhere; checks this checkout)
#
# Exits 0 and prints one "check-asm: ok" line, or prints one line per
# violation (file:line: what) and exits 1. Rules:
#   1. No .S file defines (#define, .set, .equ, .equiv) a name with a
#      generated prefix (CE_ TF_ HW_ EXF_ APB_) or any name asm-offsets.c
#      generates; no .h/.c file defines a generated name either (the
#      generated header is the only place they are written).
#   2. No .S file #defines a name that a C header or source under abi/,
#      arch/, kernel/ or lib/ also #defines (one definition: include it);
#      an X-macro the file #undefs again is local and allowed.
#   3. A .S file that uses a generated name includes "asm-offsets.h".
#   4. The entry-path files (ENTRY_FILES) contain no numeric memory
#      displacement such as 24(%rsp) or -8(%rdi), and no numeric stack
#      adjustment such as addq $16, %rsp: those are offsets into a
#      structure and must be named. A line may be exempted with the comment
#      "check-asm: ok <reason>" (there is none today).
#   5. No .S file writes out an MSR number (0xC00000xx) or an upper-half
#      address (0xffff...): they are in arch/cpu.h and abi/airlock/layout.h.
#   6. No .S file of the tree (kernel, user, tests) has a numeric local
#      label ("1:", "jmp 1b"): a branch target says what it is (.Lname).
# Comments (/* ... */) are ignored by rules 2-5.
set -u
cd "$(dirname "$0")/.." || exit 2

ARCH_DIR=arch/x86_64
GEN_SRC=$ARCH_DIR/asm-offsets.c
ENTRY_FILES="$ARCH_DIR/entry.S $ARCH_DIR/switch.S $ARCH_DIR/apboot.S"
PREFIXES='CE|TF|HW|EXF|APB'

status=0
violation() {
    printf 'check-asm: %s\n' "$*"
    status=1
}

[ -f "$GEN_SRC" ] || { echo "check-asm: $GEN_SRC missing"; exit 1; }

# the names asm-offsets.c generates: OFFSET(NAME, ...), SIZE(NAME, ...), DEFINE(NAME, ...)
generated=$(sed -n 's/^[[:space:]]*\(OFFSET\|SIZE\|DEFINE\)(\([A-Za-z_][A-Za-z0-9_]*\),.*/\2/p' "$GEN_SRC" | sort -u)
[ -n "$generated" ] || { echo "check-asm: no generated names found in $GEN_SRC"; exit 1; }

# print "LINE<TAB>text" for each line of $1 with /* */ comments blanked
strip_comments() {
    awk '{
        out = ""; line = $0
        while (length(line) > 0) {
            if (incomment) {
                i = index(line, "*/")
                if (i == 0) { line = ""; break }
                line = substr(line, i + 2); incomment = 0
            } else {
                i = index(line, "/*")
                if (i == 0) { out = out line; break }
                out = out substr(line, 1, i - 1); line = substr(line, i + 2); incomment = 1
            }
        }
        sub(/[ \t]+$/, "", out)
        printf "%d\t%s\n", FNR, out
    }' "$1"
}

# every #define'd name in the C headers and sources, "name file" per line
c_defines=$(grep -rHo --include='*.h' --include='*.c' '^[[:space:]]*#[[:space:]]*define[[:space:]]\+[A-Za-z_][A-Za-z0-9_]*' \
                abi arch kernel lib 2>/dev/null |
            sed 's/^\([^:]*\):[[:space:]]*#[[:space:]]*define[[:space:]]*\([A-Za-z0-9_]*\)$/\2 \1/')

# rule 1, C side: nobody but the generator defines a generated name
for name in $generated; do
    printf '%s\n' "$c_defines" | awk -v n="$name" '$1 == n { print $2 }' | while read -r f; do
        violation "$f: defines $name, which asm-offsets.h generates"
    done | grep . && status=1
done

for f in "$ARCH_DIR"/*.S; do
    [ -f "$f" ] || continue
    stripped=$(strip_comments "$f")

    # rule 1: hand-written offsets
    printf '%s\n' "$stripped" |
        grep -E "^[0-9]+	[[:space:]]*(#[[:space:]]*define|\.set|\.equ|\.equiv)[[:space:]]+($PREFIXES)_[A-Za-z0-9_]*" |
        while IFS='	' read -r n text; do
            echo "check-asm: $f:$n: hand-written structure offset: $(echo "$text" | sed 's/^[[:space:]]*//')"
        done | grep . && status=1
    for name in $generated; do
        printf '%s\n' "$stripped" |
            grep -E "^[0-9]+	[[:space:]]*(#[[:space:]]*define|\.set|\.equ|\.equiv)[[:space:]]+$name([^A-Za-z0-9_]|\$)" |
            while IFS='	' read -r n text; do
                echo "check-asm: $f:$n: defines $name, which asm-offsets.h generates"
            done | grep . && status=1
    done

    # rule 2: a constant defined again instead of included
    printf '%s\n' "$stripped" |
        sed -n 's/^\([0-9]*\)	[[:space:]]*#[[:space:]]*define[[:space:]]\+\([A-Za-z_][A-Za-z0-9_]*\).*/\1 \2/p' |
        while read -r n name; do
            # an X-macro (#define, #include the list, #undef) is local, not a copy
            grep -q "^[[:space:]]*#[[:space:]]*undef[[:space:]]\+$name\b" "$f" && continue
            where=$(printf '%s\n' "$c_defines" | awk -v n="$name" '$1 == n { print $2; exit }')
            [ -n "$where" ] && echo "check-asm: $f:$n: #define $name duplicates the one in $where: include it"
        done | grep . && status=1

    # rule 3: generated names come from the generated header
    uses=0
    for name in $generated; do
        if printf '%s\n' "$stripped" | grep -v '^[0-9]*	[[:space:]]*#' | grep -q "\\b$name\\b"; then
            uses=1
            break
        fi
    done
    if [ "$uses" = 1 ] && ! grep -q '^[[:space:]]*#[[:space:]]*include[[:space:]]*"asm-offsets\.h"' "$f"; then
        violation "$f: uses asm-offsets.h names without #include \"asm-offsets.h\""
    fi

    # rule 5: MSR numbers and upper-half addresses written out
    printf '%s\n' "$stripped" | grep -E '0x[cC]00000[0-9a-fA-F]{2}\b|0xffff[0-9a-fA-F]{12}\b' |
        while IFS='	' read -r n text; do
            echo "check-asm: $f:$n: literal MSR number or kernel address: $(echo "$text" | sed 's/^[[:space:]]*//')"
        done | grep . && status=1
done

# rule 4: numeric displacements and stack adjustments on the entry path
for f in $ENTRY_FILES; do
    [ -f "$f" ] || { violation "$f: missing"; continue; }
    strip_comments "$f" | while IFS='	' read -r n text; do
        case "$text" in
        *'#'*define*|*'#'*include*) continue ;;
        esac
        if sed -n "${n}p" "$f" | grep -q 'check-asm: ok'; then
            continue
        fi
        if printf '%s\n' "$text" | grep -qE '(^|[^A-Za-z0-9_)])[-+]?(0[xX][0-9a-fA-F]+|[0-9]+)[[:space:]]*\(%'; then
            echo "check-asm: $f:$n: numeric memory offset (name it): $(echo "$text" | sed 's/^[[:space:]]*//')"
        fi
        if printf '%s\n' "$text" | grep -qE '\b(add|sub)q?[[:space:]]+\$[-+]?(0[xX][0-9a-fA-F]+|[0-9]+)[[:space:]]*,[[:space:]]*%rsp'; then
            echo "check-asm: $f:$n: numeric stack adjustment (name the slots): $(echo "$text" | sed 's/^[[:space:]]*//')"
        fi
    done | grep . && status=1
done

# rule 6: numeric local labels, in every .S file of the tree
for f in $(find arch kernel lib user tests abi -name '*.S' 2>/dev/null); do
    strip_comments "$f" | while IFS='	' read -r n text; do
        if printf '%s\n' "$text" | grep -qE '^[[:space:]]*[0-9]+:|[[:space:],][0-9]+[fb]([[:space:]]|$)'; then
            echo "check-asm: $f:$n: numeric label (name it .Lsomething): $(echo "$text" | sed 's/^[[:space:]]*//')"
        fi
    done | grep . && status=1
done

if [ "$status" = 0 ]; then
    echo "check-asm: ok ($(ls "$ARCH_DIR"/*.S | wc -l) .S files in $ARCH_DIR, $(find arch kernel lib user tests abi -name "*.S" 2>/dev/null | wc -l) in the tree, $(echo "$generated" | wc -l) generated names)"
fi
exit "$status"
