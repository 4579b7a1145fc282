#!/bin/sh
# mkiso.sh OUT.iso "KERNEL CMDLINE" [MODULE "ARGS"]...
# Builds a GRUB (Multiboot2) ISO with the 64-bit kernel and the modules.
set -eu
out=$1; cmdline=$2; shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/boot/grub" "$dir/modules"
cp "${AIRLOCK_BUILD:-$root/build}/kernel.elf" "$dir/boot/airlock.elf"
{
    echo 'set timeout=0'
    echo 'set default=0'
    echo 'serial --unit=0 --speed=115200'
    echo 'terminal_output serial console'
    echo 'menuentry "Airlock" {'
    echo "    multiboot2 /boot/airlock.elf $cmdline"
    i=0
    while [ $# -ge 2 ]; do
        name=$(basename "$1")
        cp "$1" "$dir/modules/$i-$name"
        echo "    module2 /modules/$i-$name $name $2"
        i=$((i + 1)); shift 2
    done
    echo '    boot'
    echo '}'
} > "$dir/boot/grub/grub.cfg"
grub-mkrescue -o "$out" "$dir" >/dev/null 2>&1
