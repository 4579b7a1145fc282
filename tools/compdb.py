#!/usr/bin/env python3
"""compdb.py: print a compile_commands.json for Airlock on stdout.

    python3 tools/compdb.py > compile_commands.json     (or: make compile_commands.json)

One entry per C file, with the flags the Makefile really uses: the values of
CC, KCFLAGS and UCFLAGS are asked from make itself (the Makefile is read,
never changed), so knobs such as DEBUG=1 given to make carry over.
  kernel (KCFLAGS): kernel/*.c arch/x86_64/*.c lib/*.c tests/kernel/*.c
  user   (UCFLAGS): user/lib/*.c user/bin/*.c
Dependency-file flags (-MMD, -MP) are left out. "directory" is the
repository root, which is also where make runs the compiler.
"""
import glob
import json
import os
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

KERNEL_GLOBS = ["kernel/*.c", "arch/x86_64/*.c", "lib/*.c", "tests/kernel/*.c", "tests/kernel/x86_64/*.c"]
USER_GLOBS = ["user/lib/*.c", "user/bin/*.c"]
DROP = {"-MMD", "-MP"}

# An extra makefile, read after the project's, that prints three variables.
QUERY = """
.PHONY: airlock-compdb-query
airlock-compdb-query:
\t@printf '%s\\n' '$(CC)' '$(KCFLAGS)' '$(UCFLAGS)'
"""


def make_vars():
    p = subprocess.run(["make", "-s", "--no-print-directory", "-C", ROOT, "-f", "Makefile", "-f", "-",
                        "airlock-compdb-query"],
                       input=QUERY, capture_output=True, text=True)
    lines = p.stdout.splitlines()
    if p.returncode != 0 or len(lines) != 3 or not lines[1].strip() or not lines[2].strip():
        sys.stderr.write("compdb.py: could not read CC/KCFLAGS/UCFLAGS from the Makefile:\n" + p.stderr)
        sys.exit(1)
    cc, kflags, uflags = lines
    return shlex.split(cc), [f for f in shlex.split(kflags) if f not in DROP], \
        [f for f in shlex.split(uflags) if f not in DROP]


def sources(patterns):
    files = []
    for pat in patterns:
        files += sorted(glob.glob(os.path.join(ROOT, pat)))
    return [os.path.relpath(f, ROOT) for f in files]


def main():
    cc, kflags, uflags = make_vars()
    entries = []
    for objdir, flags, patterns in (("build/k", kflags, KERNEL_GLOBS), ("build/u", uflags, USER_GLOBS)):
        for src in sources(patterns):
            obj = os.path.join(objdir, os.path.splitext(src)[0] + ".o")
            entries.append({
                "directory": ROOT,
                "file": src,
                "output": obj,
                "arguments": cc + flags + ["-c", src, "-o", obj],
            })
    json.dump(entries, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
