#!/usr/bin/env bash
# Installs what building, running and testing Airlock needs, on Debian/Ubuntu.
# Idempotent: does nothing when everything is present. Used by `make run`,
# `make test`, `make bench`, `make iso` and .ci/run.
set -eu
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have qemu-system-x86_64 || need+=(qemu-system-x86)
have grub-mkrescue      || need+=(grub-common)
[ -d /usr/lib/grub/i386-pc ] || need+=(grub-pc-bin)
[ -d /usr/lib/grub/x86_64-efi ] || need+=(grub-efi-amd64-bin)   # the ISO boots under UEFI too
[ -f /usr/share/ovmf/OVMF.fd ] || need+=(ovmf)                  # make test's uefi suite
have bochs || need+=(bochs bochsbios vgabios bochs-term)   # make test's suites under Bochs
[ -f /usr/share/bochs/BIOS-bochs-latest ] || need+=(bochsbios)
[ -f /usr/share/bochs/VGABIOS-lgpl-latest ] || need+=(vgabios)
ls /usr/lib/*/bochs/plugins/libbx_term_gui.so* >/dev/null 2>&1 || need+=(bochs-term)
[ -f /usr/share/consolefonts/Lat15-VGA16.psf.gz ] || need+=(console-setup-linux)   # the framebuffer console's font
have xorriso            || need+=(xorriso)
have mformat            || need+=(mtools)
[ -f /usr/include/cmocka.h ] || need+=(libcmocka-dev)
have gcc                || need+=(gcc)
[ -f /usr/include/stdio.h ] || need+=(libc6-dev)
have make               || need+=(make)
have objcopy            || need+=(binutils)
have python3            || need+=(python3)
have clang-format       || [ "${AIRLOCK_NEED_FORMAT:-0}" = 0 ] || need+=(clang-format)
have gdb                || need+=(gdb)     # make test checks the gdb helpers
have gnuplot            || need+=(gnuplot-nox)   # make bench draws build/bench/report.svg
[ ${#need[@]} -eq 0 ] && exit 0
echo "deps: installing ${need[*]}" >&2
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
