#!/usr/bin/env python3
"""The gdb helpers (tools/gdb/airlock.py) against a live kernel.

Boots the kernel under QEMU with its gdb stub, stops it in the exit system
call of the `hello` module (sigma0, root and hello exist then), then in the
first irq_ack of the `irq rtc` module (task 4: its IRQ object on GSI 8,
level, bound to its endpoint, has delivered the RTC's first interrupt),
runs each helper in gdb's batch mode and checks what it prints. Prints one KTAP-like
line per check ("ok N ..." / "not ok N ...") and exits 1 if any failed.

    python3 tools/gdb/check.py            (AIRLOCK_BUILD: the build directory)
"""
import os
import re
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
B = os.environ.get("AIRLOCK_BUILD", os.path.join(ROOT, "build"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def guarded(cmd):
    """a gdb command whose error is printed instead of ending the batch"""
    return "python\ntry:\n    gdb.execute(%r)\nexcept gdb.error as e:\n    print(e)\nend" % cmd


def main():
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="airlock-gdb-")
    log = os.path.join(tmp, "serial.log")
    mods = ",".join([os.path.join(B, "user", "sigma0.elf"), os.path.join(B, "user", "root.elf"),
                     os.path.join(B, "user", "hello.elf") + " hello gdb",
                     os.path.join(B, "user", "irq.elf") + " rtc irqs=1 ports=0x70:2"])
    qemu = subprocess.Popen(
        ["qemu-system-x86_64", "-machine", "q35", "-cpu", "max", "-m", "512M", "-smp", "1", "-no-reboot",
         "-display", "none", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-serial", "file:" + log,
         "-kernel", os.path.join(B, "kernel32.elf"), "-initrd", mods, "-gdb", "tcp:127.0.0.1:%d" % port, "-S"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # the user programs' entry point (the same for all: user/user.ld), to
    # stop once in user mode, on sigma0's CR3
    hdr = subprocess.run(["readelf", "-h", os.path.join(B, "user", "sigma0.elf")], stdout=subprocess.PIPE).stdout
    entry = re.search(rb"Entry point address:\s+(0x[0-9a-f]+)", hdr).group(1).decode()
    script = os.path.join(tmp, "cmds.gdb")
    with open(script, "w") as f:
        f.write("\n".join([
            "set pagination off",
            "set confirm off",
            "set architecture i386:x86-64",
            "file " + os.path.join(B, "kernel.elf"),
            "source " + os.path.join(HERE, "airlock.py"),
            "target remote 127.0.0.1:%d" % port,
            "break *" + entry,
            "continue",
            "echo ==user-threads\\n", guarded("airlock-threads"),
            "echo ==user-walk\\n", guarded("airlock-walk 0 &kmain"),
            "echo ==user-irqs\\n", guarded("airlock-irqs"),
            "delete",
            "break sys_exit",
            "continue",
            "echo ==threads\\n", guarded("airlock-threads"),
            "echo ==tasks\\n", guarded("airlock-tasks"),
            "echo ==caps\\n", guarded("airlock-caps 2"),
            "echo ==walk-user\\n", guarded("airlock-walk 3 0x400000"),
            "echo ==walk-hole\\n", guarded("airlock-walk 3 0x7f0000000000"),
            "echo ==walk-kernel-in-user\\n", guarded("airlock-walk 3 &kmain"),
            "echo ==walk-kernel\\n", guarded("airlock-walk 0 &kmain"),
            "echo ==no-irqs\\n", guarded("airlock-irqs"),
            "delete",
            "break sys_irq_ack",
            "continue",
            "echo ==irqs\\n", guarded("airlock-irqs"),
            # gdb's own view of irq.c's vector table: the vectors bound to GSI 8
            "echo ==gsi8\\n",
            "python\nv = gdb.parse_and_eval(\"'irq.c'::vecs\")\n"
            "print(' '.join('%#x' % i for i in range(256) if int(v[i]['kind']) == int(gdb.parse_and_eval('IRQ_GSI'))"
            " and int(v[i]['gsi']) == 8))\nend",
            "echo ==end\\n",
            "kill",
        ]) + "\n")
    try:
        out = subprocess.run(["gdb", "-nx", "-batch", "-x", script], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=60).stdout.decode(errors="replace")
    except subprocess.TimeoutExpired:
        out = "gdb timed out"
    finally:
        qemu.kill()
        qemu.wait()
    sections = dict(re.findall(r"^==([\w-]+)\n(.*?)(?=^==)", out, re.S | re.M))
    th, tk, caps = sections.get("threads", ""), sections.get("tasks", ""), sections.get("caps", "")
    wu, wh = sections.get("walk-user", ""), sections.get("walk-hole", "")
    wku, wk = sections.get("walk-kernel-in-user", ""), sections.get("walk-kernel", "")
    ut, uw = sections.get("user-threads", ""), sections.get("user-walk", "")
    ui, ni, irqs = sections.get("user-irqs", ""), sections.get("no-irqs", ""), sections.get("irqs", "")
    gsi8 = sections.get("gsi8", "").split()
    # the rtc module's object: obj, id, vector, gsi, trigger, cpu, line, state
    row = re.search(r"^\s*(\d+)\s+GSI 8\s+(0x[0-9a-f]+)\s+8\s+level/high\s+0\s+exclusive\s+(.*)$", irqs, re.M)
    obj = (row.group(0) + irqs[row.end():].split("\n\n")[0]) if row else ""
    checks = [
        ("stopped in user mode (user CR3), the object commands refuse instead of printing garbage",
         "user CR3" in ut and "tid" not in ut),
        ("stopped in user mode, a walk of the kernel's tables reads physical memory",
         "-> physical" in uw),
        ("the thread list names sigma0's, root's and hello's threads, hello running",
         all(re.search(r"\b%s\b" % n, th) for n in ("sigma0", "root", "hello"))
         and re.search(r"^\s*\d+\s+hello\S*\s+3 hello\S*\s+running", th, re.M) is not None),
        ("the task list has sigma0 (1), root (2) and hello (3)",
         all(re.search(r"^\s*%d\s+\S*%s" % (i, n), tk, re.M) for i, n in ((1, "sigma0"), (2, "root"), (3, "hello")))),
        ("root's capabilities: an endpoint and the task capability of hello",
         "endpoint" in caps and re.search(r"task\s+\S+\s+\S+\s+task 3 \S*hello", caps) is not None),
        ("the walk of hello's code page reaches a physical page through 4 levels",
         all(k in wu for k in ("PML4E", "PDPTE", "PDE", "PTE")) and "-> physical" in wu),
        ("an unmapped user address stops with 'not mapped'", "not mapped" in wh and "-> physical" not in wh),
        ("the kernel image is not mapped in hello's space (the airlock)", "not mapped" in wku),
        ("the kernel image is mapped in the kernel's space", "-> physical" in wk),
        ("stopped in user mode, airlock-irqs refuses too", "user CR3" in ui and "vector" not in ui),
        ("before any driver ran, airlock-irqs finds no IRQ objects", ni.strip().split("\n")[0] == "no IRQ objects"),
        ("airlock-irqs lists one object: GSI 8, level/high, CPU 0, exclusive, on the vector gdb finds bound to "
         "GSI 8 in irq.c's vecs[]",
         row is not None and len(re.findall(r"^\s*\d+\s+(?:ISA|GSI|MSI) ", irqs, re.M)) == 1
         and gsi8 == [row.group(2)]),
        ("its state: bound, masked (a level arrival), its message taken and not acknowledged",
         row is not None and row.group(3).strip() == "bound masked pending(taken, not acked)"),
        ("bound to the endpoint of task 4's slot 10 with badge 0x1e9, held in its slot 12",
         re.search(r"bound to endpoint 0x[0-9a-f]+ \(held by task 4 \S*irq\S* slot 10\), badge 0x1e9$", obj, re.M)
         is not None and re.search(r"holder task 4 \S*irq\S* slot 12 \(1 capability\)$", obj, re.M) is not None),
        ("its counters: one arrival, one message, nothing coalesced or throttled",
         re.search(r"arrivals 1 messages 1 coalesced 0 throttled 0 unreported 0 last-cpu 0$", obj, re.M) is not None),
    ]
    failed = 0
    for i, (what, ok) in enumerate(checks, 1):
        print("%s %d %s" % ("ok" if ok else "not ok", i, what))
        failed += not ok
    if failed:
        print("---- gdb output ----\n" + out[-4000:])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
