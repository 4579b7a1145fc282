#!/usr/bin/env python3
"""mkbad.py GOOD.ELF OUTDIR: write malformed variants of a valid user ELF.

Each must be refused by the kernel's loader (with a console message) while
the boot goes on with the next module. Names say what is wrong.
"""
import os
import struct
import sys

good = open(sys.argv[1], "rb").read()
out = sys.argv[2]
os.makedirs(out, exist_ok=True)

EH = "<16sHHIQQQIHHHHHH"
PH = "<IIQQQQQQ"
e = list(struct.unpack_from(EH, good, 0))
phoff, phentsize, phnum = e[5], e[9], e[10]


def ph(data, i):
    return list(struct.unpack_from(PH, data, phoff + i * phentsize))


def set_ph(data, i, fields):
    struct.pack_into(PH, data, phoff + i * phentsize, *fields)


def first_load(data):
    for i in range(phnum):
        if ph(data, i)[0] == 1:
            return i
    raise SystemExit("no PT_LOAD")


def variant(name, fn):
    d = bytearray(good)
    d = fn(d) or d
    open(os.path.join(out, name + ".elf"), "wb").write(bytes(d))


def patch_ph(field, value):
    def f(d):
        i = first_load(d)
        p = ph(d, i)
        p[field] = value(p) if callable(value) else value
        set_ph(d, i, p)
    return f


variant("truncated", lambda d: d[:40])
variant("badmagic", lambda d: d.__setitem__(slice(0, 4), b"\x7fELG"))
variant("class32", lambda d: d.__setitem__(4, 1))
variant("bigendian", lambda d: d.__setitem__(5, 2))
variant("machine", lambda d: struct.pack_into("<H", d, 18, 3))
variant("phoff", lambda d: struct.pack_into("<Q", d, 32, len(d) + 4096))
variant("phnum", lambda d: struct.pack_into("<H", d, 56, 0xffff))
variant("kernelseg", patch_ph(3, 0xffffffff80100000))        # p_vaddr in the kernel half
variant("trampseg", patch_ph(3, 0xffffff0000000000))         # over the trampoline
variant("noncanon", patch_ph(3, 0x0000800000000000))
variant("wx", patch_ph(1, 7))                                # RWX
variant("offset", patch_ph(2, 1 << 40))                      # p_offset beyond the file
variant("filesz", patch_ph(5, lambda p: len(good) * 2))      # file bytes beyond the file
variant("offsetwrap", patch_ph(2, (1 << 64) - 8))            # p_offset + p_filesz wraps
variant("memsz", patch_ph(6, 1))                             # filesz > memsz
variant("entry", lambda d: struct.pack_into("<Q", d, 24, 0xffffffff80100000))

# a malformed root task: the kernel itself must refuse it (and stop cleanly)
variant("root-wx", patch_ph(1, 7))
