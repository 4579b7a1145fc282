#!/usr/bin/env python3
"""Airlock beside Linux: the side-by-side table and the chart of `make bench`.

Input: the `bench:` lines of Airlock's benchmarks (and its `hist:` lines,
the latency distribution of each delivery of a device interrupt), the `linux:` lines of
tools/linux/lbench.c (Debian's Linux 6.1 under the same QEMU command line),
and the region lines of the outside instrument (tools/qemu-plugin) for
both. Output: one table (operation, Airlock instructions with CR3 writes,
TLB flushes and FPU saves, Linux instructions with CR3 writes, ratio) and
one SVG drawn by gnuplot: a bar chart on a log scale, and below it a
histogram of the instructions each interrupt delivery took.

    python3 tools/benchreport.py --selftest    (the parser on known lines)
"""
import os
import re
import subprocess
import sys

# operation: (Airlock bench name, Linux lbench name); None: not measured yet
ROWS = [
    ("null system call", "null syscall (SYSCALL)", "null system call (getppid)"),
    ("thread switch, 2 address spaces (per round)", "thread switch (yield, 2 spaces)",
     "thread switch (sched_yield ping-pong, per round)"),
    ("IPC round trip, short message (Linux: pipe)", "IPC round trip, 1 word, 2 spaces (fast path)",
     "IPC round trip (pipe ping-pong, 1 byte)"),
    ("page fault -> user pager -> resumed", "page fault -> user pager (map item) -> resumed",
     "page fault -> user pager -> resumed (userfaultfd)"),
    ("exception -> user handler -> back", "exception -> user handler -> back",
     "exception -> handler -> back (SIGILL, sigreturn)"),
    ("protection fault -> remap -> retry, + remove W", "protection fault -> handler maps RW -> retry (+ unmap W)",
     "protection fault -> handler maps RW -> retry (+ mprotect RO)"),
    ("device IRQ -> user driver runs (edu)", "IRQ -> driver (edu MSI)",
     "device IRQ -> driver runs (edu, uio_pci_generic)"),
    ("full IRQ cycle (edu)", "full IRQ cycle (edu MSI)", "full IRQ cycle: raise, driver runs, ack, unmask (edu, uio)"),
    ("device IRQ -> upcall handler, by the trampoline (edu)", "upcall: raise -> handler (trampoline)",
     "device IRQ -> driver runs (edu, uio_pci_generic)"),
    ("device IRQ -> upcall handler, by the kernel (edu)", "upcall: raise -> handler (kernel)",
     "device IRQ -> driver runs (edu, uio_pci_generic)"),
    ("create + destroy an address space", "task create + run + destroy",
     "create + destroy an address space (fork+exit+wait)"),
    ("string transfer 4 KiB (Linux: pipe)", "string transfer 4 KiB (call, 2 spaces)", "string transfer 4 KiB (pipe)"),
    ("string transfer 64 KiB (Linux: pipe)", "string transfer 64 KiB (call, 2 spaces)",
     "string transfer 64 KiB (pipe)"),
    ("string transfer 1 MiB (Linux: pipe)", "string transfer 1 MiB (call, 2 spaces)", "string transfer 1024 KiB (pipe)"),
    ("string, one receiver-side fault", "string 64 B, one receiver-side fault (call, 2 spaces)", None),
]

FIG = {"CR3": r"CR3 writes/\w+ ([\d.]+)", "TLB": r"TLB flushes/\w+ ([\d.]+)", "FPU": r"FPU saves/\w+ ([\d.]+)"}


def parse_regions(regions):
    out = {}
    for r in regions:
        m = re.match(r"airlock-plugin: region (\d+) (.*)", r)
        if m:
            f = m.group(2).split()
            out[int(m.group(1))] = {f[k]: int(f[k + 1]) for k in range(0, len(f) - 1, 2)}
    return out


def rep_per_op(line, counts):
    """REP iterations per operation of a line's `region N ops M`, from the instrument's counts, or None"""
    m = re.search(r"region (\d+) ops (\d+)", line)
    if m and int(m.group(1)) in counts and int(m.group(2)) and "rep" in counts[int(m.group(1))]:
        return counts[int(m.group(1))]["rep"] / int(m.group(2))
    return None


def parse_airlock(lines, regions=()):
    """bench: lines -> {name: {"instr": n, "CR3": x, ..., "REP": REP iterations per op (with regions)}};
    the first of equal names"""
    counts = parse_regions(regions)
    out = {}
    for line in lines:
        m = re.match(r"bench: (.*?)\s+([\d.]+) instructions/", line)
        if not m or m.group(1).strip() in out:
            continue
        d = {"instr": float(m.group(2))}
        for k, rx in FIG.items():
            f = re.search(rx, line)
            if f:
                d[k] = float(f.group(1))
        rep = rep_per_op(line, counts)
        if rep is not None:
            d["REP"] = rep
        out[m.group(1).strip()] = d
    return out


def parse_linux(lines, regions):
    """linux: lines -> {name: {"instr": n, "CR3": per op from the instrument}}"""
    counts = parse_regions(regions)
    out = {}
    for line in lines:
        m = re.match(r"linux: (.*?)\s+(\d+) instructions/op\s+region (\d+) ops (\d+)", line)
        if not m:
            continue
        d = {"instr": float(m.group(2))}
        region, ops = int(m.group(3)), int(m.group(4))
        if region in counts and ops:
            d["CR3"] = counts[region]["cr3"] / ops
            if "rep" in counts[region]:
                d["REP"] = counts[region]["rep"] / ops
        out[m.group(1).strip()] = d
    return out


def parse_hist(lines):
    """hist: lines -> {name: (from, width, [counts])}"""
    out = {}
    for line in lines:
        m = re.match(r"hist: (.*?) \| from (\d+) width (\d+) counts((?: \d+)+)\s*$", line)
        if m:
            out[m.group(1).strip()] = (int(m.group(2)), int(m.group(3)), [int(x) for x in m.group(4).split()])
    return out


def table(airlock, linux):
    """the rows of the side-by-side table, as text lines"""
    head = "%-48s %14s %6s %6s %6s %8s %14s %6s %8s %8s" % ("operation", "Airlock instr", "CR3", "TLB", "FPU",
                                                             "REP", "Linux instr", "CR3", "REP", "ratio")
    out = [head, "-" * len(head)]
    for op, a_name, l_name in ROWS:
        a = airlock.get(a_name) if a_name else None
        l = linux.get(l_name) if l_name else None

        def fmt(d, k, w="%6.2f"):
            return w % d[k] if d and k in d else "%6s" % "-"
        ratio = "%7.1fx" % (l["instr"] / a["instr"]) if a and l and a["instr"] else "%8s" % "-"
        out.append("%-48s %14s %s %s %s %s %14s %s %s %s" % (
            op[:48], "%d" % a["instr"] if a else "(not yet)", fmt(a, "CR3"), fmt(a, "TLB"), fmt(a, "FPU"),
            fmt(a, "REP", "%8.0f"), "%d" % l["instr"] if l else "-", fmt(l, "CR3"), fmt(l, "REP", "%8.0f"), ratio))
    return out


def svg(airlock, linux, path, hists=None):
    """a log-scale bar chart of instructions per operation and, below it,
    the latency histograms (hists: parse_hist's), by gnuplot"""
    hists = hists or {}
    data = path + ".dat"
    with open(data, "w") as f:
        for op, a_name, l_name in ROWS:
            a = airlock.get(a_name) if a_name else None
            l = linux.get(l_name) if l_name else None
            if not a and not l:
                continue
            f.write('"%s" %s %s\n' % (op.replace('"', "'"), a["instr"] if a else "NaN", l["instr"] if l else "NaN"))
    hdata = []
    for i, (name, (lo, width, counts)) in enumerate(sorted(hists.items())):
        hdata.append(path + ".h%d" % i)
        with open(hdata[-1], "w") as f:
            for b, c in enumerate(counts):
                f.write("%d %d\n" % (lo + b * width, c))
    rows = 2 if hists else 1
    lines = [
        "set terminal svg size 1100,%d font 'sans,11' background rgb 'white'" % (560 * rows),
        "set output '%s'" % path,
        "set multiplot layout %d,1" % rows,
        "set title 'Instructions per operation under QEMU TCG -icount shift=0 (lower is better)'",
        "set style data histograms",
        "set style histogram clustered gap 1",
        "set style fill solid 0.8 border -1",
        "set logscale y",
        "set yrange [10:*]",
        "set ylabel 'guest instructions (log scale)'",
        "set xtics rotate by -35 left font ',9'",
        "set key top left",
        "set grid ytics",
        "set bmargin 13",
        "set rmargin 14",
        "plot '%s' using 2:xtic(1) title 'Airlock' lc rgb '#1f77b4', '' using 3 title 'Linux 6.1 (pti=on)' lc rgb '#d62728'"
        % data,
    ]
    if hists:
        lines += [
            "reset",
            "set title 'Each delivery of a device interrupt to its user-mode driver (edu MSI -> receive returns)'",
            "set style fill solid 0.8 border -1",
            "set boxwidth 0.9 relative",
            "set xlabel 'guest instructions from the raising write to the driver running'",
            "set ylabel 'deliveries'",
            "set grid ytics",
            "plot " + ", ".join("'%s' using 1:2 with boxes title '%s'" % (f, n.replace("'", "")) for f, n in
                                zip(hdata, sorted(hists))),
        ]
    lines.append("unset multiplot")
    subprocess.run(["gnuplot"], input="\n".join(lines).encode(), check=True)
    for f in [data] + hdata:
        os.unlink(f)


def selftest():
    """the parsers and the table on known lines: the check `make test` runs"""
    a_lines = ["bench: null syscall (SYSCALL)      53.00 instructions/op  CR3 writes/op 2.00  TLB flushes/op 2.00  "
               "FPU saves/op 0.00  region 1 ops 20000",
               "bench: IPC round trip, 1 word, 2 spaces (fast path)    387 instructions/op  CR3 writes/op 4.00  "
               "FPU saves/op 2.00  fast 4000 slow 0  region 3 ops 2000"]
    l_lines = ["linux: null system call (getppid)                    343 instructions/op  region 101 ops 10000",
               "linux: IPC round trip (pipe ping-pong, 1 byte)     10597 instructions/op  region 103 ops 5000",
               "linux: device IRQ -> driver runs (edu, uio_pci_generic)     4422 instructions/op  region 0 ops 0"]
    regions = ["airlock-plugin: region 101 cr3 20002 invlpg 0 invpcid 0 xsave 1 xrstor 0 wrmsr 0 rep 65",
               "airlock-plugin: region 103 cr3 50004 invlpg 0 invpcid 0 xsave 10000 xrstor 10000 wrmsr 0 rep 1"]
    a, l = parse_airlock(a_lines), parse_linux(l_lines, regions)
    rows = table(a, l)
    ok = [
        a["null syscall (SYSCALL)"] == {"instr": 53.0, "CR3": 2.0, "TLB": 2.0, "FPU": 0.0},
        abs(l["null system call (getppid)"]["CR3"] - 2.0002) < 1e-9,
        l["device IRQ -> driver runs (edu, uio_pci_generic)"] == {"instr": 4422.0},
        any(r.startswith("null system call") and "53" in r and "343" in r and "6.5x" in r for r in rows),
        any(r.startswith("IPC round trip") and "387" in r and "10597" in r and "27.4x" in r for r in rows),
        any(r.startswith("device IRQ") and "(not yet)" in r and "4422" in r for r in rows),
        parse_hist(["hist: IRQ -> driver (edu MSI) | from 473 width 2 counts 190 5 0 5"]) ==
        {"IRQ -> driver (edu MSI)": (473, 2, [190, 5, 0, 5])},
        parse_hist(["hist: x | from 1 width 0 counts"]) == {},
        len(rows) == len(ROWS) + 2,
        parse_airlock(a_lines, ["airlock-plugin: region 3 cr3 8000 invlpg 0 invpcid 0 xsave 4000 xrstor 4000 "
                                "wrmsr 0 rep 3000"])["IPC round trip, 1 word, 2 spaces (fast path)"]["REP"] == 1.5,
        l["null system call (getppid)"]["REP"] == 65 / 10000,
    ]
    for i, good in enumerate(ok, 1):
        print("%s %d benchreport parser check %d" % ("ok" if good else "not ok", i, i))
    return 0 if all(ok) else 1


if __name__ == "__main__":
    if sys.argv[1:] == ["--selftest"]:
        sys.exit(selftest())
    print(__doc__)
