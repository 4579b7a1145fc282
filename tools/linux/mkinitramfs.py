#!/usr/bin/env python3
"""Write a cpio (newc) initramfs: mkinitramfs.py OUT [DEST=SRC ...]

Directories /dev /proc /sys are always made; each DEST=SRC puts file SRC at
DEST (mode 0755 for /init, 0644 otherwise). No external tools needed."""
import os
import sys


def entry(name, mode, data=b"", ino=[1]):
    name_b = name.encode() + b"\0"
    ino[0] += 1
    hdr = "070701" + "".join("%08X" % v for v in (
        ino[0], mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0))
    out = hdr.encode() + name_b
    out += b"\0" * (-len(out) % 4)
    out += data
    out += b"\0" * (-len(out) % 4)
    return out


def main():
    out = sys.argv[1]
    blob = b""
    for d in ("dev", "proc", "sys", "lib", "lib/modules"):
        blob += entry(d, 0o040755)
    for spec in sys.argv[2:]:
        dest, src = spec.split("=", 1)
        data = open(src, "rb").read()
        mode = 0o100755 if dest in ("init",) else 0o100644
        blob += entry(dest.lstrip("/"), mode, data)
    blob += entry("TRAILER!!!", 0)
    blob += b"\0" * (-len(blob) % 512)
    open(out, "wb").write(blob)


if __name__ == "__main__":
    main()
