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
    # UEFI: a video driver, so that GRUB hands the firmware's graphics mode
    # (GOP) to the kernel as a Multiboot2 framebuffer tag (the kernel's
    # framebuffer console)
    echo 'if [ "$grub_platform" = "efi" ]; then insmod efi_gop; fi'
    echo 'menuentry "Airlock" {'
    echo "    multiboot2 /boot/airlock.elf $cmdline"
    i=0
    while [ $# -ge 2 ]; do
        name=$(basename "$1")
        cp "$1" "$dir/modules/$i-$name"
        echo "    module2 /modules/$i-$name $name $2"
        i=$((i + 1)); shift 2
    done
    # the video mode: the kernel's Multiboot2 header accepts a framebuffer
    # (arch/x86_64/boot.S), so `multiboot2` sets gfxpayload=auto (UEFI: a
    # GOP mode); set after it, BIOS boots keep VGA text mode
    echo '    if [ "$grub_platform" != "efi" ]; then set gfxpayload=text; fi'
    echo '    boot'
    echo '}'
} > "$dir/boot/grub/grub.cfg"
grub-mkrescue -o "$out" "$dir" >/dev/null 2>&1
