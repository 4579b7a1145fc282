#!/bin/sh
# tools/linux/fetch.sh DIR — Debian's Linux 6.1 kernel for the side-by-side
# benchmarks, unpacked into DIR (not installed on the host): DIR/vmlinuz
# and the two modules the edu benchmark needs. Idempotent.
#
# The package is the one Debian's linux-image-amd64 points to today
# (apt-get download, from the Debian archive), so the figures follow
# Debian's stable kernel; DIR/VERSION says which one was measured.
set -eu
dir=$1
[ -f "$dir/vmlinuz" ] && exit 0
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pick() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }'; }
pkg=$(pick)
if [ -z "$pkg" ]; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    pkg=$(pick)
fi
[ -n "$pkg" ] || { echo "fetch.sh: no linux-image package found" >&2; exit 1; }
# the unsigned build carries the same kernel without the Secure Boot signature
(cd "$tmp" && { apt-get download -qq "$pkg-unsigned" 2>/dev/null || apt-get download -qq "$pkg"; })
dpkg-deb -x "$tmp"/*.deb "$tmp/root"
cp "$tmp"/root/boot/vmlinuz-* "$dir/vmlinuz"
for m in uio uio_pci_generic; do
    cp "$(find "$tmp/root/lib/modules" -name "$m.ko" | head -1)" "$dir/$m.ko"
done
echo "$pkg" > "$dir/VERSION"
