#!/usr/bin/env python3
"""Where a benchmark's instructions go.

Boots one of tools/ktest.py's benchmark sets (BENCH_SETS, by index) under
the benchmarks' QEMU command line (-icount shift=0) with the profiling
plugin (tools/qemu-plugin/profile.c), which counts the executions of every
guest instruction address inside the marked regions (BENCH_REGION_BEGIN/
END, user/lib/airlock.h), and folds the addresses into the functions of
the kernel (build/kernel.elf) and of the set's user programs. Prints, per
operation, the instructions of each function, the REP iterations among
them, and the total: the sum over the regions divided by the region's
`ops M` (its bench: line) when --region names a region with one, else by
the number of regions. A whole region counts, its loop included: the
bench: line's minimum is a little lower.

  AIRLOCK_BUILD=build/x tools/profile.py SET [--region ID] [--top N] [--func NAME] [--callers NAME]

--func NAME lists NAME's instruction addresses and their counts too;
--callers NAME the kernel's call sites of NAME and how often each ran.
Needs $(B)/tools/airlock-profile.so (built by make).
"""
import argparse
import bisect
import collections
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.argv, argv = sys.argv[:1], sys.argv[1:]
import ktest  # noqa: E402  (reads sys.argv at import: given only the program name)


def symbols(elf):
    """sorted (address, name) of the ELF's functions"""
    out = subprocess.run(["nm", "-n", elf], stdout=subprocess.PIPE, check=True, text=True).stdout
    syms = []
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[1] in "tTwW":
            syms.append((int(f[0], 16), f[2]))
    return syms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("set", type=int)
    ap.add_argument("--region", type=int)
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--func")
    ap.add_argument("--callers")
    a = ap.parse_args(argv)
    mods = ktest.BENCH_SETS[a.set]
    logdir = os.path.join(ktest.B, "test-logs")
    os.makedirs(logdir, exist_ok=True)
    plog = os.path.join(logdir, f"profile{a.set}.plugin.log")
    if os.path.exists(plog):
        os.unlink(plog)
    plugin = os.path.join(ktest.B, "tools", "airlock-profile.so")
    arg = f",region={a.region}" if a.region is not None else ""
    extra = ["-icount", "shift=0,sleep=off", "-device", "edu", "-plugin", f"file={plugin}{arg}", "-d", "plugin",
             "-D", plog]
    text, hung, rc, msg, secs, log = ktest.boot(f"profile{a.set}", ("mb1", mods, "bench"), 1, 1200, logdir, extra)
    print("\n".join(l for l in text.splitlines() if l.startswith("bench:")))
    if hung:
        print(f"hung (log {log})")
    ksyms = symbols(ktest.KERNEL32.replace("kernel32.elf", "kernel.elf"))
    # the trampoline runs at its alias (AL_TRAMPOLINE), not at its image address
    tramp = dict((n, a) for a, n in ksyms if n in ("__tramp_start", "__tramp_end"))
    layout = open(os.path.join(ktest.ROOT, "abi", "airlock", "layout.h")).read()
    alias = int(re.search(r"#define AL_TRAMPOLINE\s+(0x[0-9a-fA-F]+)", layout).group(1), 16)
    usyms = {}
    for path, _ in mods:
        for addr, name in symbols(path):
            usyms.setdefault(addr, f"{os.path.basename(path)[:-4]}:{name}")
    usyms = sorted(usyms.items())
    tables = [(ksyms, [s[0] for s in ksyms]), (usyms, [s[0] for s in usyms])]
    per = collections.Counter()
    rep = collections.Counter()
    sites = collections.defaultdict(list)
    counts = {}
    regions = 0
    for line in open(plog, errors="replace"):
        if not line.startswith("airlock-profile: "):
            continue
        f = line.split()[1:]
        if f[0] == "regions":
            regions = int(f[1])
            continue
        pc, n = int(f[0], 16), int(f[1])
        if alias <= pc < alias + tramp["__tramp_end"] - tramp["__tramp_start"]:
            pc = pc - alias + tramp["__tramp_start"]
        syms, addrs = tables[0] if pc >= 1 << 63 else tables[1]
        i = bisect.bisect_right(addrs, pc) - 1
        name = syms[i][1] if i >= 0 else f"?{pc:x}"
        per[name] += n
        counts[pc] = n
        if len(f) > 2:
            rep[name] += n
        if a.func and name == a.func:
            sites[name].append((pc, n, len(f) > 2))
    if not regions:
        print("no region ended")
        return 1
    # per operation: a bench line's `region ID ops M` says how many a region holds
    ops = [int(m.group(1)) for m in re.finditer(rf"region {a.region} ops (\d+)", text)] if a.region is not None else []
    if ops:
        regions *= ops[0]
    total = sum(per.values())
    print(f"per operation ({regions} in the regions): {total / regions:.0f} instructions, "
          f"{sum(rep.values()) / regions:.0f} of them REP iterations")
    print(f"    {'instructions':>12s} {'REP iter.':>10s} {'%':>6s}  function")
    for name, n in per.most_common(a.top):
        print(f"    {n / regions:12.1f} {rep[name] / regions:10.1f} {100 * n / total:6.2f}  {name}")
    for name, lst in sites.items():
        print(f"{name}:")
        for pc, n, r in sorted(lst):
            print(f"    {pc:x} {n / regions:10.1f}{' rep' if r else ''}")
    if a.callers:
        kelf = ktest.KERNEL32.replace("kernel32.elf", "kernel.elf")
        dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", kelf], stdout=subprocess.PIPE, check=True,
                             text=True).stdout
        print(f"calls of {a.callers}:")
        for line in dis.splitlines():
            if line.rstrip().endswith(f"<{a.callers}>") and "call" in line:
                pc = int(line.split(":")[0], 16)
                i = bisect.bisect_right(tables[0][1], pc) - 1
                if counts.get(pc):
                    print(f"    {counts[pc] / regions:8.1f}  {pc:x} in {ksyms[i][1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
