#!/usr/bin/env python3
"""Airlock test runner.

Runs the host unit tests (cmocka) and boots the kernel in QEMU once per
suite, each under a timeout, with isa-debug-exit. The guest prints KTAP
(kernel self-tests, one line per boot module, user programs' subtests
indented). Every 'ok'/'not ok' line counts; a missing result, a panic, a
hang or a 'LEAK' line counts as a failure. Ends with one line:
'N passed, N failed' and exits non-zero if anything failed.

  tools/ktest.py [--smp N] [--only SUITE] [--bench] [--keep]
"""
import argparse
import os
import random
import re
import select
import socket
import threading
import subprocess
import sys
import tempfile
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
B = os.environ.get("AIRLOCK_BUILD", os.path.join(ROOT, "build"))
KERNEL32 = os.path.join(B, "kernel32.elf")
U = lambda n: os.path.join(B, "user", n + ".elf")
BAD = lambda n: os.path.join(B, "bad", n + ".elf")

QEMU = ["qemu-system-x86_64", "-machine", "q35", "-cpu", "max", "-m", "512M", "-no-reboot",
        "-display", "none", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]

PF, GP, UD, DE, BP = 14, 13, 6, 0, 3


def probes():
    mods = []
    for tgt in ["ktext", "kimage", "directmap", "directmap0", "kstack", "trampoline", "entryarea",
                "gdt", "tss", "idt", "entrystack"]:
        for op in ["read", "write"]:
            mods.append((U("probe"), f"{tgt} {op} expect=fault:{PF}"))
    for tgt in ["ktext", "trampoline", "directmap"]:
        mods.append((U("probe"), f"{tgt} exec expect=fault:{PF}"))
    mods.append((U("probe"), f"sidt read expect=fault:{GP}"))     # UMIP (-cpu max has it)
    mods.append((U("hello"), "still alive after the probes"))
    return mods


def crashes():
    kinds = [("null", PF), ("de", DE), ("ud", UD), ("bp", BP), ("gp-cli", GP), ("gp-hlt", GP),
             ("gp-int", GP), ("gp-noncanon", GP), ("gp-cr3", GP), ("gp-wrmsr", GP), ("io", GP),
             ("stack", PF), ("sysret-hole", PF), ("tf-syscall", 1), ("tf-int80", 1),
             # single-stepping into the kernel (a #DB at CPL 0 is dismissed on
             # its IST stack; the user's TF then traps in user mode)
             ("movss-syscall", 1), ("movss-int80", 1)]
    return ([(U("crash"), f"{k} expect=fault:{v}") for k, v in kinds] +
            [(U("crash"), "tf-many 100"), (U("hello"), "after crashes")])


def loader(part):
    """Malformed modules, each followed by a good one (half of them per boot:
    a boot takes at most 32 modules)."""
    bad = sorted(f[:-4] for f in os.listdir(os.path.join(B, "bad"))
                 if f.endswith(".elf") and not f.startswith("root"))
    bad = bad[part::2]
    mods = [(U("hello"), "first")]
    for b in bad:
        mods.append((BAD(b), "expect=refuse"))
        mods.append((U("hello"), f"after-{b}"))
    return mods


# the uart suite's data: every byte value, then pseudo-random bytes
UART_BYTES = 256 * 1024
_rnd = random.Random(0x16550)
UART_DATA = bytes(range(256)) + _rnd.randbytes(UART_BYTES - 256)
UART_CRC = zlib.crc32(UART_DATA)

# the kbd suite's keys (QEMU sendkey names) and the lines they must give;
# f1, pause, right, print (E0 2A E0 37: a fake shift) and meta_l give
# nothing; Caps Lock inverts Shift for letters only; ^X is a control code
KBD_KEYS = [["shift-h", "e", "l", "l", "o", "comma", "f1", "spc", "shift-a", "i", "r", "l", "o", "c", "k", "pause",
             "right", "print", "spc", "4", "2", "shift-1", "spc", "meta_l", "x", "backspace", "o", "k",
             "shift-slash", "ret"],
            ["caps_lock", "a", "b", "shift-c", "1", "caps_lock", "d", "kp_divide", "ctrl-x", "ctrl_r-y", "ret"]]
KBD_LINES = ["Hello, Airlock 42! ok?", "ABc1d/^X^Y"]

# the console suite: the garbage the host floods the console with (no CR,
# LF or Ctrl-C, so that every byte is one byte of input), and what the
# client writes that the host must see on COM2 ("\n" made "\r\n")
CON_FLOOD = bytes(b for b in random.Random(0xc0c0).randbytes(40000) if b not in (3, 10, 13))[:32768]
CON_EXPECT = [b"\x1b[1;33mserial out: 0123456789\x1b[0m\r\n", b"contest: printf through the console 42\r\n",
              b"long line:" + bytes(ord("a") + i % 26 for i in range(10, 590)) + b"\r\n"]
CON_KEYS = ["k", "b", "d", "spc", "l", "i", "n", "e", "x", "backspace", "ctrl-c", "ret"]

# the suite system: exactly the system of `make run` (user/etc/system.cfg and
# the programs of user/etc/system.progs, which the Makefile's RUN_PROGS reads)
SYSTEM_CFG = os.path.join(ROOT, "user", "etc", "system.cfg")
SYSTEM_PROGS = re.sub(r"#.*", "", open(os.path.join(ROOT, "user", "etc", "system.progs")).read()).split()
# what the host types: a line longer than the shell's 256 bytes, and binary
# garbage without CR, LF or Ctrl-C (so that it never runs a line)
SYS_LONG = bytes(ord("a") + i % 26 for i in range(5000))
SYS_GARBAGE = bytes(b for b in random.Random(0x5e11).randbytes(3000) if b not in (3, 10, 13))[:2048]
SYS_TASKS = ["pci", "uart", "kbd", "console", "shell"]
SYS_NAME = lambda n: rf"(\S*/)?{n}(\.elf)?"     # a task's name: its image's file name
# lines a background program may put between the shell's (its KTAP)
SYS_NOISE = re.compile(r"^\s+(KTAP |1\.\.|ok |not ok |# )|^\[\d+\] done: ")
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1bO[A-Za-z]|[\x07\r]")

SUITES = {
    # name: (boot, modules, kernel command line)
    "selftest": ("mb1", [(U("hello"), "hello world"), (U("badptr"), "")], "ktest"),
    "probes": ("mb1", probes(), "ktest=modules"),
    "crashes": ("mb1", crashes(), "ktest=modules"),
    "loader-a": ("mb1", loader(0), "ktest=modules"),
    "loader-b": ("mb1", loader(1), "ktest=modules"),
    # NMIs while threads single-step across system calls (#DB on IST4, NMI on IST1)
    "nmi": ("mb1", [(U("spin"), "100"), (U("crash"), "tf-many 100 30")], "ktest=modules"),
    "ipc": ("mb1", [(U("ipc"), ""), (U("ipcpair"), "server start=bg"), (U("ipcpair"), "client"),
                    (U("threadcap"), ""), (U("replies"), "")], "ktest=modules"),
    "memory": ("mb1", [(U("mapping"), ""), (U("capcheck"), ""), (U("iomem"), "mem=all"), (U("tlb"), ""), (U("chains"), "kmem=12288")],
               "ktest=modules"),
    "faults": ("mb1", [(U("faults"), ""), (U("hello"), "after faults")], "ktest=modules"),
    # string items: each side's faults to its own pager, hostile buffers,
    # kills mid-copy, preemption (strcopy); a checked stream through two
    # tasks whose pagers unmap their buffers meanwhile (strstream)
    "strings": ("mb1", [(U("strcopy"), ""), (U("strstream"), "server start=bg"), (U("strstream"), "client 256"),
                        (U("hello"), "after strings")], "ktest=modules"),
    "ioport": ("mb1", [(U("ioport"), "ports=all"), (U("crash"), f"io expect=fault:{GP}"), (U("hello"), "after ioport")],
               "ktest=modules"),
    # the edu test last and in the background: it is not leak-checked, since
    # sigma0 keeps the page tables it built for the device memory it mapped
    "irq": ("mb1", [(U("irq"), "hold irqs=1"), (U("irq"), "take irqs=1"),
                    (U("irq"), "rtc irqs=1 ports=0x70:2"), (U("irqshare"), "share irqs=1 ports=0x70:2"),
                    (U("irqshare"), "affinity irqs=1 ports=0x70:2"), (U("irqshare"), "storm irqs=1 ports=0x70:2"),
                    (U("hello"), "after hold take and rtc"),
                    (U("irq"), "irqs=1 ports=0xcf8:8 mem=all start=bg")], "ktest=modules"),
    # the PCI server and a driver that gets its device through it
    # (a driver dies in the middle of an interrupt; a fresh one takes the line)
    "pci": ("mb1", [(U("pci"), "serve=pci ports=all mem=all irqs=1 start=server"),
                    (U("edu"), f"crash pci=1234:11e8 expect=fault:{UD}"), (U("edu"), "pci=1234:11e8")],
            "ktest=modules"),
    # upcalls: edu's MSI (through the PCI server) and the RTC into running
    # driver threads (user/bin/upcall.c)
    "upcall": ("mb1", [(U("pci"), "serve=pci ports=all mem=all irqs=1 start=server"),
                       (U("upcall"), "pci=1234:11e8 irqs=1 ports=0x70:2")], "ktest=modules"),
    # ... and a kernel told `nodirectgates`: irq_bind_direct refused with EPERM
    "upcall-off": ("mb1", [(U("pci"), "serve=pci ports=all mem=all irqs=1 start=server"),
                           (U("upcall"), "nodirect pci=1234:11e8 irqs=1 ports=0x70:2")], "ktest=modules nodirectgates"),
    # upcalls from an edge line any x86 machine has (the i8042's IRQ 1,
    # raised by its 0xd2 command): the trampoline's fast path in xAPIC mode
    # (QEMU) and in x2APIC mode, its EOI a WRMSR (Bochs)
    "upcall-kbd": ("mb1", [(U("upcallkbd"), "ports=0x60:1,0x64:1 irqs=1")], "ktest=modules"),
    # init mode: a boot configuration, supervision, the init protocol
    "init": ("mb1", [(os.path.join(ROOT, "user", "etc", "init-test.cfg"), ""), (U("pci"), ""), (U("crash"), ""),
                     (U("initcheck"), ""), (U("hello"), ""), (U("spin"), "")], "ktest=modules"),
    # kernel-memory budgets (issue 12): a hostile task refused with
    # AL_EDQUOT while the others go on, everything back at its death; a chain
    # of three budgets
    "kmem": ("mb1", [(U("kmem"), "3000 kmem=3000 ports=0x70:2 irqs=1"), (U("hello"), "after kmem")], "ktest=modules"),
    "fuzz": ("mb1", [(U("fuzz"), "20000 7"), (U("fuzz"), "20000 1234567"), (U("hello"), "after fuzzing")],
             "ktest=modules"),
    "threads": ("mb1", [(U("sched"), ""), (U("fpu"), ""), (U("cpus"), ""), (U("sleep"), ""), (U("kill"), ""),
                        (U("stress"), "")], "ktest=modules"),
    "grub": ("iso", [(U("hello"), "via grub"), (U("badptr"), ""), (BAD("wx"), "expect=refuse"),
                     (U("probe"), f"trampoline read expect=fault:{PF}")], "ktest"),
    # the same GRUB ISO under UEFI (OVMF): Multiboot2 with a graphics
    # framebuffer, no text screen; the self-tests run too. The kernel draws
    # its log on the framebuffer (FbPeer, below, reads it back through two
    # screendumps: before and after it scrolled; sleep gives it the time)
    "uefi": ("iso", [(U("hello"), "via uefi"), (U("badptr"), ""), (U("sleep"), ""),
                     (U("probe"), f"trampoline read expect=fault:{PF}")], "ktest"),
    # user-mode drivers, each with a peer on the host (PEERS, below): the
    # 16550 on COM2 echoes UART_BYTES from a socket through a small receive
    # ring (the client pauses once, so back-pressure must hold the line)
    "uart": ("mb1", [(U("uart"), "rx=1024 ports=0x2f8:8 irqs=1 start=bg"),
                     (U("uartecho"), f"{UART_BYTES} crc={UART_CRC:08x} pause=100")], "ktest=modules"),
    # the PS/2 keyboard: hostile bytes injected through the i8042, then the
    # lines of KBD_KEYS typed through the QEMU monitor ('|' ends a line)
    "kbd": ("mb1", [(U("kbd"), "inject ports=0x60:1,0x64:1 irqs=1 start=bg"),
                    (U("kbdtest"), " | ".join(KBD_LINES))], "ktest=modules"),
    # the console server on both drivers (each on its own service endpoint)
    # and the VGA text buffer; its client checks the screen, lines typed on
    # COM2 and on the keyboard, Ctrl-C, a flood, the UART driver going away
    "console": ("mb1", [(U("uart"), "serve=uart ports=0x2f8:8 irqs=1 start=server"),
                        (U("kbd"), "serve=kbd ports=0x60:1,0x64:1 irqs=1 start=server"),
                        (U("console"), "serve=console use=uart,kbd mem=0xb8000:0x1000 start=server"),
                        (U("contest"), f"{len(CON_FLOOD)} use=console,uart,kbd mem=0xb8000:0x1000")],
                "ktest=modules"),
    # the system of `make run`, driven through COM2 and the keyboard by a
    # person on the host (SystemPeer): every shell command, a driver
    # restart, Ctrl-C, hostile input, halt; root's image: lines at the end
    "system": ("mb1", [(SYSTEM_CFG, "")] + [(U(p), "") for p in SYSTEM_PROGS], "ktest=modules"),
}
# suites on a fixed machine shape (run once, whatever --smp says): name: (suite, -smp value)
SHAPED = {
    "topo-smt": (("mb1", [(U("cpus"), "topo=1:2:4")], "ktest=modules"), "4,sockets=1,cores=2,threads=2"),
    "topo-2pkg": (("mb1", [(U("cpus"), "topo=2:4:8"), (U("ipc"), "")], "ktest=modules"),
                  "8,sockets=2,cores=2,threads=2"),
    # a malformed root task: the kernel refuses it with a message and stops, no panic
    "bad-root": (("mb1", [], "ktest=modules"), "1"),
}

# lines a suite's log must not have: the GRUB ISO under BIOS keeps VGA text
# mode (mkiso.sh: gfxpayload=text), no framebuffer console
SUITE_ABSENT = {"grub": ["framebuffer console", "graphics framebuffer"]}

# suites that inject NMIs through the QEMU monitor while the guest runs
NMI_SUITES = {"nmi"}

# extra QEMU devices of a suite: the self-tests' MSI test and the IRQ objects'
# user test need the edu PCI device
SUITE_QEMU = {"uefi": ["-bios", "/usr/share/ovmf/OVMF.fd"], "selftest": ["-device", "edu"], "irq": ["-device", "edu"], "pci": ["-device", "edu"], "upcall": ["-device", "edu"], "upcall-off": ["-device", "edu"],
              "system": ["-device", "edu"]}

# deliberate kernel crashes: each must print the panic report, with these
# lines, and stop the machine through isa-debug-exit (exit code 3)
PANICS = {
    "panic-assert": ("assert", ["KERNEL PANIC", "assertion failed: 1 + 1 == 3", "in panic_test()",
                                "Backtrace:", "kmain_thread+0x"]),
    "panic-overflow": ("overflow", ["KERNEL PANIC", "double fault: vector 8", "RIP=0008:", "CR2=fffffe",
                                    "overflow", "kmain_thread+0x"]),
    "panic-nullwrite": ("nullwrite", ["KERNEL PANIC", "page fault in kernel mode: vector 14 error 0x2",
                                      "CR2=0000000000000000", "R15=", "kmain_thread+0x"]),
    "panic-mce": ("mce", ["KERNEL PANIC", "machine check: vector 18", "RIP=", "system halted"]),
}

RESULT = re.compile(r"^(\s*)(ok|not ok) (\d+) (.*?)(\s+#.*)?$")
PLAN = re.compile(r"^(\s*)1\.\.(\d+)$")


def parse_ktap(text):
    """Return (passed, failed, problems) for one guest's output."""
    passed = failed = 0
    problems = []
    top_plan = None
    top_seen = 0
    sub_plans = sub_seen = 0  # the modules' own (indented) plans and results, summed:
    # background modules interleave theirs, so only the totals are compared
    for line in text.splitlines():
        line = line.rstrip("\r")
        m = PLAN.match(line)
        if m and not m.group(1) and top_plan is None:
            top_plan = int(m.group(2))
            continue
        if m and m.group(1):
            sub_plans += int(m.group(2))
            continue
        m = RESULT.match(line)
        if m:
            if m.group(2) == "ok":
                passed += 1
            else:
                failed += 1
                problems.append(line.strip())
            if not m.group(1):
                top_seen += 1
            else:
                sub_seen += 1
    if top_plan is None:
        failed += 1
        problems.append("no KTAP plan: the kernel did not reach its tests")
    elif top_seen < top_plan:
        failed += top_plan - top_seen
        problems.append(f"{top_plan - top_seen} planned results missing")
    if sub_seen < sub_plans:
        failed += sub_plans - sub_seen
        problems.append(f"{sub_plans - sub_seen} subtests the modules planned are missing")
    if "KERNEL PANIC" in text:
        failed += 1
        problems.append("kernel panic")
    for line in text.splitlines():
        if "LEAK" in line:
            failed += 1
            problems.append(line.strip())
    return passed, failed, problems


# Bochs, an independent x86 implementation (issue 14): these suites also run
# there, from the GRUB ISO, on 1 and on 2 CPUs, with a CPU model that has
# PCID, x2APIC, SMEP, SMAP, UMIP and XSAVE (Bochs' "tigerlake")
BOCHS_SUITES = ["selftest", "probes", "crashes", "ipc", "memory", "faults", "threads", "fuzz", "upcall-kbd"]
BOCHS_SMP = (1, 2)
BOCHS_END = (b"[kernel] all tests passed", b"[kernel] TESTS FAILED", b"KERNEL PANIC", b"system halted")


# more Bochs boots, on 2 CPUs (issue 14): PCID and x2APIC off (the xAPIC and
# the flush-on-every-CR3-write paths under Bochs too), and a pool of 3 PCIDs
# (the memory suite's 150 tasks share the overflow tag)
BOCHS_VARIANTS = [("memory", "nopcid nox2apic"), ("ipc", "nopcid nox2apic"), ("threads", "nopcid nox2apic"),
                  ("upcall-kbd", "nopcid nox2apic"),
                  ("memory", "pcids=3")]


def bochs_mode_problems(text, extra):
    """the boot log must say which TLB and APIC modes the options asked for
    (tigerlake has PCID, INVPCID and x2APIC): a run that silently fell back
    would test nothing new"""
    probs = []
    want_pcid = "nopcid" not in extra.split()
    want_x2 = "nox2apic" not in extra.split()
    if ("tlb: PCID on" in text) != want_pcid:
        probs.append(f"PCID {'on' if want_pcid else 'off'} expected, the log says otherwise")
    if ("lapic: x2APIC mode" in text) != want_x2:
        probs.append(f"x2APIC {'on' if want_x2 else 'off'} expected, the log says otherwise")
    return probs


def boot_bochs(name, spec, smp, timeout, logdir):
    """One suite under Bochs: the modules on the GRUB ISO, COM1 to a file.
    Debian's Bochs has its debugger built in and only a terminal display:
    it runs on a pseudo-terminal, its debugger told 'c' (continue). It has
    no isa-debug-exit: the run ends when the serial log shows the kernel's
    last line (BOCHS_END), then Bochs is killed. Returns (text, hung, secs, log)."""
    import pty
    import signal
    kind, mods, cmdline = spec
    mods = [(U("sigma0"), ""), (U("root"), "")] + list(mods)
    log = os.path.join(logdir, f"{name}.bochs{smp}.log")
    for f in (log,):
        if os.path.exists(f):
            os.unlink(f)
    iso = os.path.join(logdir, f"{name}.bochs.iso")
    make_iso(mods, cmdline, iso)
    rc_file = os.path.join(logdir, f"{name}.bochsrc")
    cmds = os.path.join(logdir, "bochs.cmds")
    with open(cmds, "w") as f:
        f.write("c\n")
    with open(rc_file, "w") as f:
        f.write(f"""megs: 512
cpu: model=tigerlake, count={smp}, ips=100000000
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
ata0-master: type=cdrom, path={iso}, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev={log}
display_library: term
log: {os.path.join(logdir, name + ".bochs.internal.log")}
clock: sync=none
""")
    t0 = time.time()
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("bochs", ["bochs", "-q", "-f", rc_file, "-rc", cmds])
    hung, text = True, ""
    # With its debugger built in, Bochs' terminal display does not draw on
    # its own terminal (the debugger's) but on a new pseudo-terminal, whose
    # name it prints: 'Bochs connected to screen "/dev/pts/N"'. Nobody
    # reads that one unless we do: once its buffer is full, Bochs blocks in
    # write() and the whole machine stops, the serial log in mid-line (the
    # stall of decision 50). So open it, raw (no echo back into Bochs's
    # keyboard), and drain it too.
    out, screen = b"", None
    while time.time() - t0 < timeout:
        r, _, _ = select.select([fd] + ([screen] if screen is not None else []), [], [], 0.2)
        if fd in r:
            try:
                chunk = os.read(fd, 65536)  # the debugger's terminal: drained, not kept
            except OSError:
                break
            if screen is None:
                out = (out + chunk)[-4096:]
                m = re.search(rb'connected to screen "(/dev/pts/\d+)"', out)
                if m:
                    import tty
                    screen = os.open(m.group(1), os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
                    tty.setraw(screen)
        if screen is not None and screen in r:
            try:
                os.read(screen, 65536)  # the guest's screen: drained, not kept
            except OSError:
                pass
        if os.path.exists(log):
            data = open(log, "rb").read()
            if any(m in data for m in BOCHS_END):
                hung = False
                time.sleep(0.2)  # (the rest of the last line)
                break
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except OSError:
        pass
    os.close(fd)
    if screen is not None:
        os.close(screen)
    if os.path.exists(log):
        text = open(log, errors="replace").read()
    return text, hung, time.time() - t0, log


def make_iso(mods, cmdline, out):
    os.environ["AIRLOCK_BUILD"] = B
    args = ["sh", os.path.join(ROOT, "tools", "mkiso.sh"), out, cmdline]
    for path, a in mods:
        args += [path, a]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def nmi_injector(sock_path, log, stop, command=b"nmi\n", repeat=True):
    """Once the guest has started its user programs (an NMI before the IDT is
    loaded would triple-fault any kernel), send 'nmi' to the QEMU monitor
    every few milliseconds until stopped."""
    import socket
    for _ in range(1000):
        if stop.is_set():
            return
        if os.path.exists(sock_path) and os.path.exists(log) and "[root] spin" in open(log, errors="replace").read():
            break
        time.sleep(0.01)
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock_path)
        while not stop.is_set():
            s.sendall(command)
            if not repeat:
                stop.wait(30)
                break
            time.sleep(0.01)
            try:
                s.setblocking(False)
                s.recv(65536)
            except OSError:
                pass
            s.setblocking(True)
    except OSError:
        pass


def wait_for_line(log, needle, stop, secs=30):
    """until the guest's log has needle (True), or stop or secs passed"""
    end = time.time() + secs
    while time.time() < end and not stop.is_set():
        if os.path.exists(log) and needle in open(log, errors="replace").read():
            return True
        time.sleep(0.02)
    return False


class UartPeer:
    """COM2 on a host socket: once the driver says it is ready, send
    UART_DATA and read the echo; byte-exact or a failure"""
    def __init__(self, logdir, tag):
        self.sock = os.path.join(logdir, f"uart.smp{tag}.com2")
        self.problem, self.info = "no echo (the peer did not run)", ""

    def qemu_args(self):
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        # the first -serial stays COM1 (the kernel's log); this one is COM2, 0x2f8, IRQ 3
        return ["-chardev", f"socket,id=com2,path={self.sock},server=on,wait=off", "-serial", "chardev:com2"]

    def run(self, log, stop):
        if not wait_for_line(log, "uart: ready", stop):
            self.problem = "the driver never said 'uart: ready'"
            return
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.sock)
        except OSError as e:
            self.problem = f"cannot connect to {self.sock}: {e}"
            return
        # one thread sends and receives: the guest echoes while we send
        t0 = time.time()
        s.setblocking(False)
        got, sent, quiet_since = bytearray(), 0, None
        while len(got) < len(UART_DATA):
            want_w = [s] if sent < len(UART_DATA) else []
            r, w, _ = select.select([s], want_w, [], 0.2)
            try:
                if w:
                    sent += s.send(UART_DATA[sent:sent + 65536])
                if r:
                    b = s.recv(65536)
                    if not b:
                        break
                    got += b
                    quiet_since = None
            except BlockingIOError:
                pass
            except OSError:
                break
            if not r and stop.is_set():  # QEMU is gone: what came, came
                quiet_since = quiet_since or time.time()
                if time.time() - quiet_since > 1:
                    break
        secs = time.time() - t0
        # a little longer: nothing more may come
        if select.select([s], [], [], 0.3)[0]:
            try:
                got += s.recv(65536)
            except OSError:
                pass
        s.close()
        if bytes(got) == UART_DATA:
            self.problem = None
            self.info = f"host: {len(got)} bytes sent and echoed byte-exact in {secs:.1f}s"
        elif len(got) < len(UART_DATA) and UART_DATA.startswith(bytes(got)):
            self.problem = f"echo short: {len(got)} of {len(UART_DATA)} bytes"
        else:
            at = next((i for i, (a, b) in enumerate(zip(got, UART_DATA)) if a != b), min(len(got), len(UART_DATA)))
            self.problem = f"echo differs at byte {at} ({len(got)} bytes received of {len(UART_DATA)})"

    def result(self):
        return (0, 1, [self.problem]) if self.problem else (1, 0, [])


KEY_HOLD_MS = 10


def send_keys(monitor, keys):
    """type keys (QEMU sendkey names) through the monitor socket, one key
    (chord) at a time: QEMU queues only about 50 input events, so each must
    be through before the next. Returns None, or what the monitor refused;
    OSError if the monitor cannot be reached."""
    m = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    out = b""
    try:
        m.connect(monitor)
        m.settimeout(0.01)
        for key in keys:
            m.sendall(f"sendkey {key} {KEY_HOLD_MS}\n".encode())
            # down and up of every key of the chord, each held KEY_HOLD_MS
            end = time.time() + (2 * (key.count("-") + 1) * KEY_HOLD_MS + 30) / 1000
            while time.time() < end:
                try:
                    out += m.recv(65536)
                except OSError:
                    time.sleep(0.005)
        m.settimeout(0.2)
        try:
            out += m.recv(65536)
        except OSError:
            pass
    finally:
        m.close()
    bad = [l.strip() for l in out.decode(errors="replace").splitlines()
           if re.search(r"unknown|invalid|error|usage", l, re.I)]
    return "the monitor refused keys: " + "; ".join(bad[:3]) if bad else None


class KbdPeer:
    """the QEMU monitor: once the guest is ready for keys, type KBD_KEYS with
    sendkey, one key (chord) at a time: QEMU queues only about 50 input
    events, so each must be through before the next"""

    def __init__(self, logdir, tag):
        self.sock = os.path.join(logdir, f"kbd.smp{tag}.monitor")
        self.problem, self.info = "no keys typed (the peer did not run)", ""

    def qemu_args(self):
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        return ["-monitor", f"unix:{self.sock},server=on,wait=off"]

    def run(self, log, stop):
        if not wait_for_line(log, "kbdtest: ready", stop):
            self.problem = "the client never said 'kbdtest: ready'"
            return
        keys = [key for line in KBD_KEYS for key in line]
        try:
            self.problem = send_keys(self.sock, keys)
        except OSError as e:
            self.problem = f"monitor: {e}"
            return
        if not self.problem:
            self.info = f"host: {len(keys)} keys typed through the monitor"

    def result(self):
        return (0, 1, [self.problem]) if self.problem else (1, 0, [])


class ConsolePeer:
    """COM2 on a socket and the QEMU monitor: at each 'contest: ready for'
    line of the guest, type what the step wants (serial bytes or keys), and
    check that what the console wrote to COM2 holds CON_EXPECT"""

    def __init__(self, logdir, tag):
        self.sock = os.path.join(logdir, f"console.smp{tag}.com2")
        self.mon = os.path.join(logdir, f"console.smp{tag}.monitor")
        self.problem, self.info = "the peer did not run", ""
        self.got = bytearray()

    def qemu_args(self):
        for p in (self.sock, self.mon):
            if os.path.exists(p):
                os.unlink(p)
        return ["-chardev", f"socket,id=com2,path={self.sock},server=on,wait=off", "-serial", "chardev:com2",
                "-monitor", f"unix:{self.mon},server=on,wait=off"]

    def _reader(self, s):
        while True:
            try:
                b = s.recv(65536)
            except OSError:
                return
            if not b:
                return
            self.got += b

    def _keys(self, keys):
        return send_keys(self.mon, keys)

    def run(self, log, stop):
        if not wait_for_line(log, "uart: ready", stop):
            self.problem = "the UART driver never said 'uart: ready'"
            return
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.sock)
        except OSError as e:
            self.problem = f"cannot connect to {self.sock}: {e}"
            return
        threading.Thread(target=self._reader, args=(s,), daemon=True).start()
        try:
            if not wait_for_line(log, "contest: ready for the serial line", stop, 60):
                self.problem = "the client never got to the serial line"
                return
            s.sendall(b"hel\x03lo seriak\x7fl\r\n")
            if not wait_for_line(log, "contest: ready for the keyboard", stop, 60):
                self.problem = "the client never got to the keyboard"
                return
            end = time.time() + 20
            while time.time() < end and b"contest: output done\r\n" not in self.got:
                time.sleep(0.05)
            missing = [e for e in CON_EXPECT if e not in self.got]
            if missing:
                self.problem = f"not on COM2: {missing[0][:60]!r} ({len(self.got)} bytes came)"
                return
            self.problem = self._keys(CON_KEYS)
            if self.problem:
                return
            if not wait_for_line(log, "contest: ready for the flood", stop, 60):
                self.problem = "the client never got to the flood"
                return
            s.sendall(CON_FLOOD)
            if not wait_for_line(log, "contest: ready for the last line", stop, 60):
                self.problem = "the client never got to the last line"
                return
            s.sendall(b"still alive\r")
            self.problem = None
            self.info = (f"host: {len(CON_EXPECT)} outputs found on COM2, 2 lines typed there and {len(CON_KEYS)} "
                         f"keys on the keyboard, a flood of {len(CON_FLOOD)} bytes")
        except OSError as e:
            self.problem = f"COM2 or monitor: {e}"
        finally:
            time.sleep(0.5)
            s.close()

    def result(self):
        return (0, 1, [self.problem]) if self.problem else (1, 0, [])


class SystemPeer:
    """a person at the terminal of `make run`: COM2 on a socket (typing and
    reading, as the serial terminal) and the QEMU monitor (sendkey, the PS/2
    keyboard). Waits for the prompt, types commands and checks what comes
    back; each check is one result. Writes the session to
    test-logs/system.smpN.transcript."""
    PROMPT = "airlock> "

    def __init__(self, logdir, tag):
        self.tag = tag
        self.sock = os.path.join(logdir, f"system.smp{tag}.com2")
        self.mon = os.path.join(logdir, f"system.smp{tag}.monitor")
        self.transcript = os.path.join(logdir, f"system.smp{tag}.transcript")
        self.got = bytearray()
        self.lock = threading.Condition()
        self.eof = False
        self.checks = []          # (ok, name, message)
        self.lost = None          # the command after which no prompt came
        self.info = ""
        self.t0 = time.time()

    def qemu_args(self):
        for p in (self.sock, self.mon):
            if os.path.exists(p):
                os.unlink(p)
        self.t0 = time.time()
        return ["-chardev", f"socket,id=com2,path={self.sock},server=on,wait=off", "-serial", "chardev:com2",
                "-monitor", f"unix:{self.mon},server=on,wait=off"]

    # ---- the serial line ----
    def _reader(self, s):
        while True:
            try:
                b = s.recv(65536)
            except OSError:
                b = b""
            with self.lock:
                if not b:
                    self.eof = True
                else:
                    self.got += b
                self.lock.notify_all()
            if not b:
                return

    def text(self, start=0):
        """what came from `start` on, as a person reads it: no CR, BEL or ANSI sequences"""
        with self.lock:
            raw = bytes(self.got[start:])
        return ANSI.sub(b"", raw).decode("latin-1")

    def wait(self, pred, start, secs):
        """until pred(text since start) holds (True), QEMU is gone or secs passed"""
        end = time.time() + secs
        with self.lock:
            while True:
                if pred(self.text(start)):
                    return True
                left = end - time.time()
                if left <= 0 or self.eof:
                    return pred(self.text(start))
                self.lock.wait(min(left, 0.1))

    def check(self, ok, name, msg=""):
        self.checks.append((bool(ok), name, msg))
        return ok

    def quiet(self, secs=0.3, limit=5):
        """until nothing has come for secs (at most limit seconds)"""
        end, n = time.time() + limit, -1
        while time.time() < end:
            with self.lock:
                if len(self.got) == n:
                    return
                n = len(self.got)
            time.sleep(secs)

    def command(self, line, secs=10, data=None, until=None):
        """type line (or the bytes data) and Enter; the output up to the next
        prompt (None if no prompt came), and after the regex until"""
        with self.lock:
            mark = len(self.got)
        self.s.sendall(data if data is not None else line.encode() + b"\r")
        # the echo ends with the line's end; the output ends with the prompt
        ok = self.wait(lambda t: "\n" in t and t.endswith(self.PROMPT) and
                       (until is None or re.search(until, t, re.M)), mark, secs)
        t = self.text(mark)
        if not ok:
            return None, t
        if data is None:    # after the echo (a background program may write before it)
            echo = t.find(line + "\n")
            t = t[echo + len(line) + 1:] if echo >= 0 else t[t.index("\n") + 1:]
        body = t[:-len(self.PROMPT)]
        return body, t

    def expect(self, name, line, patterns, secs=10, absent=(), data=None, until=None):
        """run line; every regex of patterns must match a line of its output
        (the first one its first line, a background program's KTAP aside),
        none of absent"""
        if self.lost is not None:       # no waiting for each of the rest in turn
            return self.check(False, name, f"not tried: no prompt since {self.lost!r}")
        body, raw = self.command(line, secs, data, until)
        if body is None:
            self.lost = line or name
            return self.check(False, name, f"no prompt within {secs}s after {line!r}; came: {raw[-400:]!r}; "
                                           f"{self.diagnose()}")
        lines = [l for l in body.split("\n") if not SYS_NOISE.match(l)] or [""]
        miss = [p for i, p in enumerate(patterns)
                if not (re.match(p, lines[0]) if i == 0 else any(re.search(p, l) for l in lines))]
        bad = [p for p in absent if re.search(p, body, re.M)]
        if miss or bad:
            what = f"missing {miss[0]!r}" if miss else f"unexpected {bad[0]!r}"
            return self.check(False, name, f"{line!r}: {what}; came: {body[-600:]!r}")
        return self.check(True, name, lines[0])

    def keys(self, keys):
        return send_keys(self.mon, keys)

    def diagnose(self, via="keyboard"):
        """after one input went quiet: the shell's `irq` typed on the other
        one (via: "keyboard" after COM2, "com2" after the keyboard; the IRQ
        objects: is the driver's message pending, its line masked?) and the
        emulated interrupt controllers, for the failure's report"""
        if via == "keyboard":
            with self.lock:
                mark = len(self.got)
            problem = self.keys(["i", "r", "q", "ret"])
            self.wait(lambda t: "latency" in t and t.endswith(self.PROMPT), mark, 5)
            irq = self.text(mark)[-1200:]
        else:
            problem = None
            body, raw = self.command("irq", 5, None, None)
            irq = (raw if body is None else body)[-1200:]
        # the IOAPIC (is the line masked, its edge latched?) and each CPU's
        # local APIC (an in-service bit never ended by an EOI blocks every
        # vector of its priority class and below on that CPU)
        cmds = ["info pic"] + [f"info lapic {i}" for i in range(int(str(self.tag)))]
        pic = ""
        try:
            m = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            m.connect(self.mon)
            m.settimeout(0.5)
            for cmd in cmds:
                out = ""
                m.sendall(cmd.encode() + b"\n")
                end = time.time() + 1.5
                while time.time() < end:
                    try:
                        out += m.recv(65536).decode(errors="replace")
                    except OSError:
                        pass
                if cmd.startswith("info lapic"):
                    out = " ".join(x.strip() for x in out.splitlines() if re.match(r"\s*(ISR|IRR|APR)", x))
                else:  # the unmasked pins, the IOAPIC's IRRs, the 8259s
                    out = " ".join(x.strip() for x in out.splitlines()
                                   if re.match(r"\s*(IRR|Remote IRR|pic\d)", x) or
                                   (re.match(r"\s*pin ", x) and "masked" not in x))
                pic += f"[{cmd}] {out} "
            m.close()
        except OSError as e:
            pic += f"(monitor: {e})"
        return f"diagnosis: {problem or ''} irq on the {via}: {irq!r}; QEMU monitor: {pic!r}"

    # ---- the session ----
    def run(self, log, stop):
        try:
            self.session(log, stop)
        except OSError as e:
            self.check(False, "session", f"COM2 or monitor: {e}")
        finally:
            try:
                with open(self.transcript, "w") as f:
                    f.write(f"# suite system, smp {self.tag}: {self.info}\n")
                    f.write(self.text())
            except OSError:
                pass

    def session(self, log, stop):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        end = time.time() + 10
        while True:
            try:
                s.connect(self.sock)
                break
            except OSError as e:
                if time.time() > end or stop.is_set():
                    self.check(False, "boot", f"cannot connect to {self.sock}: {e}")
                    return
                time.sleep(0.02)
        self.s = s
        threading.Thread(target=self._reader, args=(s,), daemon=True).start()
        # boot to the prompt
        if not self.wait(lambda t: t.endswith(self.PROMPT), 0, 20):
            self.check(False, "boot", f"no prompt within 20 s; COM2 had: {self.text()[-400:]!r}")
            return
        boot_s = time.time() - self.t0
        self.check(True, "boot", f"prompt after {boot_s:.2f}s")
        self.info = (f"host: QEMU start to the prompt {boot_s:.2f}s; the session: "
                     f"{os.path.relpath(self.transcript, ROOT)}")

        self.expect("help", "help", [r"help: commands", r"^  ps ", r"^  restart ", r"^  halt ", r"^keys: "])
        ps = [r"ps: \d+ tasks", r"^ +ID KIND +STATE"] + \
             [rf"^ +\d+ \w+ +running +0 .* {SYS_NAME(n)}$" for n in SYS_TASKS]
        self.expect("ps", "ps", ps)
        self.expect("threads", "threads", [r"threads: \d+ \(", r"^ +TID TASK STATE", r"^ +\d+ +0 +\w+ +idle +0 ",
                                           rf" {SYS_NAME('shell')}$", rf" {SYS_NAME('console')}$"])
        # the UART's line (COM2: ISA IRQ 3) and the keyboard's (ISA IRQ 1), bound to their drivers
        self.expect("irq", "irq", [r"irq: \d+ IRQ objects", r"^  SOURCE", r"^  isa 3 .* ipc +edge,bound",
                                   r"^  isa 1 .* ipc +edge,bound", r"^latency",
                                   r"^  isa 3 +(\d+ ){12} min \d+ max \d+  ipc [1-9]\d* upcall 0 trampoline 0 direct 0$"])
        self.expect("mem", "mem", [r"mem: 4 KiB pages", r"^  sigma0: \d+ pages", r"^  kernel: \d+ frames",
                                   r"^  +ID +PAGES +KIB +KMEM +KLIMIT STATE", r"^ +\d+ +\d+ +\d+ +[1-9]\d* +2048 running ",
                                   r"^  tasks running: \d+ pages .* [1-9]\d* kernel frames charged",
                                   r"^  kernel memory of this shell: [1-9]\d* of 2048 frames"], absent=[r"^shell: "])
        self.expect("cpus", "cpus", [rf"cpus: {self.tag} \({self.tag} online\)", r"^  CPU APIC"] +
                    [rf"^ +{i} +\d+ .* yes " for i in range(int(self.tag))], secs=10)
        self.expect("uptime", "uptime", [r"uptime: \d+\.\d{3} s \(0:00:\d\d\)"])
        self.expect("run hello", "run hello a b", [r"run: hello a b", rf"I am '{SYS_NAME('hello')}' with 2 argument\(s\): a b$",
                                                   r"^run: task \d+ exited with status 0$"])
        # a background program, then kill it by its id
        body, raw = self.command("run spin 1000000000 forever &")
        m = re.search(r"^run: \[(\d+)\] spin 1000000000 forever$", body or "", re.M)
        if self.check(m, "run &", m.group(0) if m else f"no 'run: [N] spin': {raw[-300:]!r}"):
            self.expect("kill", f"kill {m.group(1)}", [rf"kill: task {m.group(1)} stopped"])
        else:
            self.check(False, "kill", "not tried: no background task")
        self.expect("drivers", "drivers", [r"drivers: 4 drivers and servers"] +
                    [rf"^ +\d+ \w+ +running +0 .* {SYS_NAME(n)}$" for n in SYS_TASKS[:4]])
        # restart the UART driver, then go on typing through the new one
        self.expect("restart uart", "restart uart", [rf"restart: {SYS_NAME('uart')}: task \d+ restarted as task \d+$"])
        self.expect("after restart", "uptime", [r"uptime: \d+\.\d{3} s"])
        self.expect("drivers restarts", "drivers", [r"drivers: 4 ", rf"^ +\d+ driver +running +1 .* {SYS_NAME('uart')}$",
                                                    rf"^ +\d+ driver +running +0 .* {SYS_NAME('kbd')}$"])
        self.expect("ps restarts", "ps", [r"ps: ", rf"^ +\d+ driver +running +1 .* {SYS_NAME('uart')}$"])
        # kill the UART driver: the driver manager starts it again after its
        # back-off, as after a crash; the shell's answer comes through the
        # new driver, and typing goes on
        self.expect("kill uart", "kill uart", [r"kill: task \d+ stopped"], secs=10)
        self.expect("after kill", "uptime", [r"uptime: \d+\.\d{3} s"], secs=10)
        self.expect("drivers after kill", "drivers", [r"drivers: 4 ",
                                                      rf"^ +\d+ driver +running +2 .* {SYS_NAME('uart')}$"])
        # a foreground program stopped with Ctrl-C
        with self.lock:
            mark = len(self.got)
        s.sendall(b"run spin 1000000000 forever\r")
        if not self.wait(lambda t: "run: spin 1000000000 forever\n" in t, mark, 5):
            self.check(False, "Ctrl-C", f"the program did not start: {self.text(mark)[-300:]!r}")
        else:
            time.sleep(0.3)
            self.expect("Ctrl-C", "", [r".*", r"\^C", r"^run: task \d+ interrupted$"], data=b"\x03",
                        until=r"^run: task \d+ ")
        self.expect("test basic", "test basic", [r"test: basic: 1 programs", r"^  PASS basic: hello( .*)?$",
                                                  r"^test: 1 passed, 0 failed$"], secs=20)
        # hostile input: a long line (the shell keeps 256 bytes, then runs them)
        self.expect("long line", "", [r".*", r"^shell: (abcdefghijklmnopqrstuvwxyz)+\w*: unknown command"],
                    data=SYS_LONG + b"\r", until=r"^shell: ")
        # binary garbage, Ctrl-U to drop what it left on the line, then a normal command
        self.s.sendall(SYS_GARBAGE)
        self.quiet()
        self.expect("after garbage", "", [r".*", r"^uptime: \d+\.\d{3} s"], data=b"\x15uptime\r",
                    until=r"^uptime: ")
        self.expect("unknown command", "frobnicate", [r"shell: frobnicate: unknown command \(help lists them\)"])
        # a line typed on the PS/2 keyboard
        with self.lock:
            mark = len(self.got)
        problem = self.keys(["u", "p", "t", "i", "m", "e", "ret"])
        ok = self.wait(lambda t: re.search(r"uptime\n.*uptime: \d+\.\d{3} s.*\n" + self.PROMPT + "$", t, re.S),
                       mark, 5)
        self.check(ok and not problem, "keyboard",
                   problem or ("uptime typed on the keyboard ran" if ok else
                               f"no uptime output after the keys: {self.text(mark)[-300:]!r}; "
                               f"{self.diagnose(via='com2')}"))
        # halt: QEMU must end by itself
        with self.lock:
            mark = len(self.got)
        s.sendall(b"halt\r")
        ok = self.wait(lambda t: "halt: stopping the system" in t, mark, 5)
        self.check(ok, "halt", "halt: stopping the system" if ok else f"came: {self.text(mark)[-300:]!r}")
        gone = stop.wait(15)
        self.check(gone, "QEMU exit", "QEMU exited after halt" if gone else "QEMU still running 15 s after halt")

    def result(self):
        p = sum(1 for ok, _, _ in self.checks if ok)
        probs = [f"{name}: {msg}" for ok, name, msg in self.checks if not ok]
        if not self.checks:
            return 0, 1, ["the peer did not run"]
        return p, len(self.checks) - p, probs


# suites with a peer on the host side of a device (its checks count as results)
class FbPeer:
    """the framebuffer console (UEFI): when the log has FB_SHOTS' lines, the
    QEMU monitor stops the machine, takes a screendump (PPM) and lets it go
    on. Each screen is read back cell by cell against the kernel's font
    (tools/mkfont.py, the same PSF file) and its colours (light grey on
    black): every 8x16 cell must be exactly one glyph, and the rows must be
    the log since the console started, wrapped at width / 8 columns as the
    kernel wraps it: from the top before any scrolling, a later window
    after. (A stop can catch a scroll or a line half drawn: one row may be
    unreadable, a row may be its neighbour, the last written one a prefix.)"""

    FG, BG = b"\xaa\xaa\xaa", b"\x00\x00\x00"
    START = "boot: framebuffer console "
    # (trigger line, must the screen have scrolled?)
    SHOTS = [("ok 1 selftest:", False), ("[root] badptr.elf: exited", True)]

    def __init__(self, logdir, tag):
        self.logdir, self.tag = logdir, tag
        self.sock = os.path.join(logdir, f"uefi.smp{tag}.monitor")
        self.problems, self.checked, self.info = [], 0, ""

    def qemu_args(self):
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        return ["-monitor", f"unix:{self.sock},server=on,wait=off"]

    @staticmethod
    def font():
        sys.path.insert(0, os.path.join(ROOT, "tools"))
        import mkfont
        font = os.environ.get("FONT", mkfont.DEFAULT_FONT)
        return {bytes(g): chr(c) for c, g in enumerate(mkfont.glyphs(font)) if 0x20 <= c < 0x7f}

    @staticmethod
    def read_ppm(path):
        data = open(path, "rb").read()
        m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+255\s", data)
        if not m:
            raise ValueError("not a P6 PPM with 8-bit channels")
        w, h = int(m.group(1)), int(m.group(2))
        px = data[m.end():]
        if len(px) < w * h * 3:
            raise ValueError("short PPM")
        return w, h, px

    def screen_rows(self, w, h, px, glyphs):
        """the text of each 16-pixel row of cells (None: a cell is no glyph),
        and whether every pixel outside the cells is black"""
        cols, rows = w // 8, h // 16
        out = []
        for r in range(rows):
            chars = []
            for c in range(cols):
                bits = bytearray(16)
                for y in range(16):
                    o = ((r * 16 + y) * w + c * 8) * 3
                    for x in range(8):
                        p = px[o + 3 * x: o + 3 * x + 3]
                        if p == self.FG:
                            bits[y] |= 0x80 >> x
                        elif p != self.BG:
                            bits = None
                            break
                    if bits is None:
                        break
                ch = glyphs.get(bytes(bits)) if bits is not None else None
                if ch is None:
                    chars = None
                    break
                chars.append(ch)
            out.append("".join(chars) if chars is not None else None)
        black = all(px[((y * w) + x) * 3: ((y * w) + x) * 3 + 3] == self.BG
                    for y in range(h) for x in range(w) if x >= cols * 8 or y >= rows * 16)
        return out, black

    @staticmethod
    def log_rows(raw, cols):
        """the log from the console's first line, as the kernel lays it out"""
        text = raw[raw.find(FbPeer.START.encode()):].replace(b"\r\n", b"\n").decode("latin-1")
        rows, cur, col = [], [" "] * cols, 0
        for ch in text:
            if ch == "\n":
                rows.append("".join(cur))
                cur, col = [" "] * cols, 0
                continue
            if ch == "\t":
                col = (col + 8) & ~7
            elif ch == "\r":
                col = 0
            elif ch == "\b":
                col = max(col - 1, 0)
            else:
                cur[col] = ch if 0x20 <= ord(ch) < 0x7f else "?"
                col += 1
            if col >= cols:
                rows.append("".join(cur))
                cur, col = [" "] * cols, 0
        rows.append("".join(cur))
        return rows

    @staticmethod
    def matches(screen, rows, base):
        """screen (a list of rows) against the log's rows from base"""
        blank = " " * len(rows[0])
        last = max((i for i, d in enumerate(screen) if d is not None and d.strip()), default=-1)
        bad = 0
        for i, d in enumerate(screen):
            if d is None:
                bad += 1
                continue
            cands = [rows[j] if j < len(rows) else blank for j in (base + i, base + i + 1)]
            if i > last and not d.strip():
                continue
            if any(d == c or (i == last and c.startswith(d.rstrip())) for c in cands):
                continue
            if i == last:
                bad += 1  # the last row caught while a scroll clears it (seen in a DEBUG run)
                continue
            return False
        return bad <= 1

    def shot(self, log, n, want_scroll):
        path = os.path.join(self.logdir, f"uefi.smp{self.tag}.screen{n}.ppm")
        if os.path.exists(path):
            os.unlink(path)
        m = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        m.connect(self.sock)
        try:
            m.sendall(f"stop\nscreendump {path}\n".encode())
            end = time.time() + 20
            px = None
            while time.time() < end and px is None:
                time.sleep(0.05)
                try:
                    px = self.read_ppm(path)
                except (OSError, ValueError):
                    px = None
            raw = open(log, "rb").read()  # (the machine is stopped)
        finally:
            m.sendall(b"cont\n")
            time.sleep(0.05)
            m.close()
        if px is None:
            return f"screen {n}: no screendump"
        w, h, data = px
        sm = re.search(rb"framebuffer console (\d+)x(\d+) ", raw)
        if not sm or (int(sm.group(1)), int(sm.group(2))) != (w, h):
            return f"screen {n}: {w}x{h}, the kernel's console is not that size"
        screen, black = self.screen_rows(w, h, data, self.font())
        if not black:
            return f"screen {n}: pixels outside the text cells are not black"
        if sum(1 for d in screen if d is None) > 1:
            bad = [i for i, d in enumerate(screen) if d is None]
            return f"screen {n}: rows {bad[:5]} have cells that are not glyphs of the font"
        if sum(1 for d in screen if d and d.strip()) < 10:
            return f"screen {n}: fewer than 10 rows of text"
        rows = self.log_rows(raw, w // 8)
        bases = [b for b in range(len(rows)) if self.matches(screen, rows, b)]
        if not bases:
            first = next((d for d in screen if d and d.strip()), "")
            return f"screen {n}: the text is not the log (first row {first.rstrip()[:60]!r})"
        if want_scroll != (bases[0] > 0):
            return f"screen {n}: the log starts at row {bases[0]} (scrolled: {want_scroll} expected)"
        self.checked += 1
        self.info += f"{' ' if self.info else ''}screen {n}: {sum(1 for d in screen if d and d.strip())} rows " \
                     f"of the log read back (from log row {bases[0]})"
        return None

    def run(self, log, stop):
        for n, (needle, want_scroll) in enumerate(self.SHOTS, 1):
            if not wait_for_line(log, needle, stop, 120):
                self.problems.append(f"screen {n}: the log never had {needle!r}")
                return
            try:
                problem = self.shot(log, n, want_scroll)
            except OSError as e:
                problem = f"screen {n}: monitor: {e}"
            if problem:
                self.problems.append(problem)

    def result(self):
        if not self.checked and not self.problems:
            self.problems.append("no screen checked (the peer did not run)")
        return self.checked, len(self.problems), self.problems


PEERS = {"uefi": FbPeer, "uart": UartPeer, "kbd": KbdPeer, "console": ConsolePeer, "system": SystemPeer}


def boot(name, spec, smp, timeout, logdir, extra=(), inject_nmi=False, inject=None, peer=None):
    kind, mods, cmdline = spec
    # the kernel starts sigma0 and the root task; root loads the rest
    if name == "bad-root":
        mods = [(U("sigma0"), ""), (BAD("root-wx"), "")]
    else:
        mods = [(U("sigma0"), ""), (U("root"), "")] + list(mods)
    tag = str(smp).split(",")[0]      # (a comma would end QEMU's file: option)
    log = os.path.join(logdir, f"{name}.smp{tag}.log")
    if os.path.exists(log):
        os.unlink(log)
    cmd = QEMU + ["-smp", str(smp), "-serial", f"file:{log}"] + list(extra)
    if peer:
        cmd += peer.qemu_args()
    if kind == "mb1":
        # (QEMU splits the modules at commas; a comma of an argument is doubled)
        initrd = ",".join(f"{p} {a}".strip().replace(",", ",,") for p, a in mods)
        cmd += ["-kernel", KERNEL32, "-initrd", initrd, "-append", cmdline]
    else:
        iso = os.path.join(logdir, f"{name}.iso")
        make_iso(mods, cmdline, iso)
        cmd += ["-cdrom", iso, "-boot", "d"]
    stop = None
    if inject_nmi or inject:
        sock = os.path.join(logdir, f"{name}.monitor")
        if os.path.exists(sock):
            os.unlink(sock)
        cmd += ["-monitor", f"unix:{sock},server=on,wait=off"]
        stop = threading.Event()
        args = (sock, log, stop) + ((inject, False) if inject else ())
        threading.Thread(target=nmi_injector, args=args, daemon=True).start()
    peer_thread = peer_stop = None
    if peer:
        peer_stop = threading.Event()
        peer_thread = threading.Thread(target=peer.run, args=(log, peer_stop), daemon=True)
        peer_thread.start()
    t0 = time.time()
    try:
        p = subprocess.run(cmd, timeout=timeout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        hung = False
        rc = p.returncode
        qemu_msg = p.stdout.decode(errors="replace").strip()
    except subprocess.TimeoutExpired:
        hung, rc, qemu_msg = True, None, ""
    if stop:
        stop.set()
    if peer_thread:
        peer_stop.set()
        peer_thread.join(10)
    text = open(log, errors="replace").read() if os.path.exists(log) else ""
    return text, hung, rc, qemu_msg, time.time() - t0, log


# Debian 12's QEMU 7.2 multi-threaded TCG dies by SIGSEGV, rarely, when one
# vCPU changes its memory map (the PCI server's BAR sizing turns decoding
# off and on) while another writes MMIO (its local APIC): QEMU's race, no
# verdict on the guest (tools/qemu-race.sh reproduces it). Such a boot is
# run once more; a second death fails the suite. Every rerun is printed,
# its guest log kept, and counted in the last line, so a pattern cannot
# hide (docs/ARCHITECTURE.md, decision 73).
EMULATOR_CRASHES = []


def boot_rerun_on_crash(name, smp, run):
    """run() boots once and returns boot()'s tuple"""
    r = run()
    text, hung, rc, msg, secs, log = r
    if hung or rc is None or rc >= 0:
        return r
    kept = log + f".qemu-signal{-rc}"
    if os.path.exists(log):
        os.replace(log, kept)
    else:
        kept = "(QEMU wrote none)"
    last = [x for x in text.splitlines() if x.strip()][-1:] or ["(empty)"]
    EMULATOR_CRASHES.append(f"{name} smp={smp}: signal {-rc} after {secs:.1f}s")
    print(f"    note: {name} (smp={smp}): QEMU itself died by signal {-rc} after {secs:.1f}s"
          f"{' (' + msg[-200:] + ')' if msg else ''}; the guest's last line: {last[0][:160]!r};"
          f" its log: {os.path.relpath(kept, ROOT) if kept[0] != '(' else kept}; booting once more")
    return run()


def host_tests():
    p = subprocess.run(["make", "-s", "-C", os.path.join(ROOT, "tests", "host")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.decode(errors="replace")
    passed = len(re.findall(r"^\[       OK \] ", out, re.M))
    failed = len(re.findall(r"^\[  FAILED  \] (?!\d+ test)", out, re.M))
    problems = re.findall(r"^\[  FAILED  \] (?!\d+ test).*$", out, re.M)
    if p.returncode != 0 and failed == 0:
        failed, problems = 1, ["host tests did not build or run:\n" + out[-2000:]]
    return passed, failed, problems


# source-tree checks that must hold for the build to be trusted: the
# architecture boundary and the generated assembly offsets
SOURCE_CHECKS = [["sh", "tools/check-layout.sh"], ["sh", "tools/check-asm.sh"],
                 # the side-by-side report's parsers (the Linux boot itself runs in make bench)
                 [sys.executable, "tools/benchreport.py", "--selftest"]]


def source_checks():
    passed, failed, problems = 0, 0, []
    for cmd in SOURCE_CHECKS:
        p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if p.returncode == 0:
            passed += 1
        else:
            failed += 1
            problems.append(" ".join(cmd) + ":\n" + p.stdout.decode(errors="replace")[-2000:])
    return passed, failed, problems


# one boot per benchmark set, so concurrent tasks cannot disturb each other
BENCH_SETS = [
    [(U("bench"), ""), (U("mapbench"), "")],
    [(U("yieldbench"), "4000 start=bg"), (U("yieldbench"), "4000 start=bg")],
    [(U("yieldbench"), "4000 ports start=bg ports=0xcf8:4"), (U("yieldbench"), "4000 ports start=bg ports=0xcf8:4")],
    [(U("ipcpair"), "bench-server start=bg"), (U("ipcpair"), "bench")],
    [(U("faults"), "bench")],
    [(U("pci"), "serve=pci ports=all mem=all irqs=1 start=server"), (U("edu"), "bench pci=1234:11e8")],
    [(U("pci"), "serve=pci ports=all mem=all irqs=1 start=server"), (U("upcall"), "bench pci=1234:11e8")],
    [(U("taskbench"), "")],
    [(U("strstream"), "bench-server start=bg"), (U("strstream"), "bench")],
]


# under Bochs (tigerlake: PCID), the kernel's counters per operation, PCID
# on and off (issue 14): no benchmark set needs icount for these
BOCHS_BENCH_SETS = [BENCH_SETS[0],
                    # (the two instances meet first: under Bochs the second starts after the first's sleep)
                    [(U("yieldbench"), "4000 meet start=bg"), (U("yieldbench"), "4000 meet start=bg")],
                    BENCH_SETS[3]]
BOCHS_BENCH_ROWS = [("null syscall (SYSCALL)", "null syscall"),
                    ("thread switch (yield, 2 spaces)", "thread switch, per round (2 yields)"),
                    ("IPC round trip, 1 word, 2 spaces (fast path)", "IPC round trip, fast path"),
                    ("IPC round trip, 1 word, 2 spaces (general path)", "IPC round trip, general path"),
                    ("map + unmap one page (task_map, unmap)", "map + unmap (task with no thread)")]


def bochs_bench(logdir):
    """The benchmark sets 0, 1 (the instances meeting first) and 3 under Bochs with PCID on and with
    nopcid; prints CR3 writes and TLB flushes per operation side by side.
    Checks: with PCID, a syscall, a thread switch and an IPC round trip
    flush nothing; without it, each CR3 write is a flush."""
    figs = {"": {}, "nopcid": {}}
    problems = []
    for extra in figs:
        for i, mods in enumerate(BOCHS_BENCH_SETS):
            tag = f"bench{i}" + ("-" + extra if extra else "")
            text, hung, secs, log = boot_bochs(tag, ("mb1", mods, ("bench " + extra).strip()), 1, 300, logdir)
            if hung or "KERNEL PANIC" in text:
                problems.append(f"{tag}: hung or panicked (log {os.path.relpath(log, ROOT)})")
            problems += [f"{tag}: {x}" for x in bochs_mode_problems(text, extra)]
            for line in text.splitlines():
                name, f = parse_bench_line(line)
                if name:
                    figs[extra].setdefault(name, f)  # (yieldbench: the first instance)
    print("bochs-bench: per operation, kernel counters under Bochs (tigerlake), 1 CPU")
    print(f"    {'operation':38s} {'PCID on: CR3':>12s} {'TLB flushes':>11s} {'nopcid: CR3':>12s} {'TLB flushes':>11s}")
    passed = 0
    for key, label in BOCHS_BENCH_ROWS:
        on, off = figs[""].get(key), figs["nopcid"].get(key)
        if not on or not off or "CR3 writes" not in on or "CR3 writes" not in off:
            problems.append(f"no figures for '{key}'")
            continue
        row = [on["CR3 writes"], on.get("TLB flushes", float("nan")), off["CR3 writes"],
               off.get("TLB flushes", float("nan"))]
        print(f"    {label:38s} {row[0]:12.2f} {row[1]:11.2f} {row[2]:12.2f} {row[3]:11.2f}")
        if key.startswith(("null syscall", "thread switch", "IPC round trip")):
            if key.startswith(("thread switch", "IPC round trip")) and min(row[0], row[2]) < 4:
                problems.append(f"{label}: fewer than 4 CR3 writes per round: no switch between the spaces")
            elif row[1] != 0:
                problems.append(f"PCID on: {label}: {row[1]:.2f} TLB flushes per operation, wanted none")
            elif row[3] != row[2]:
                problems.append(f"nopcid: {label}: {row[3]:.2f} TLB flushes for {row[2]:.2f} CR3 writes")
            else:
                passed += 1
    for x in problems:
        print("    FAIL", x)
    print(f"bochs-bench    : {passed} passed, {len(problems)} failed")
    return passed, len(problems)


# the instrument outside the guest (tools/qemu-plugin/counters.c)
PLUGIN = os.path.join(B, "tools", "airlock-counters.so")


def run_benchmarks(logdir):
    """boot each benchmark set under -icount shift=0, with the counting
    plugin: its bench: lines, the plugin's region lines, and problems"""
    lines, regions, problems = [], [], []
    for i, mods in enumerate(BENCH_SETS):
        plog = os.path.join(logdir, f"bench{i}.plugin.log")
        if os.path.exists(plog):
            os.unlink(plog)
        extra = ["-icount", "shift=0,sleep=off", "-device", "edu", "-plugin", f"file={PLUGIN}", "-d", "plugin",
                 "-D", plog]
        text, hung, rc, msg, secs, log = boot(f"bench{i}", ("mb1", mods, "bench"), 1, 600, logdir, extra)
        got = [l for l in text.splitlines() if l.startswith(("bench:", "hist:"))]
        lines += got
        if os.path.exists(plog):
            regions += [l for l in open(plog, errors="replace").read().splitlines() if l.startswith("airlock-plugin:")]
        if hung or not got or "KERNEL PANIC" in text:
            problems.append(f"bench set {i} failed (log: {os.path.relpath(log, ROOT)}) {msg[-300:]}")
    return lines, regions, problems


def linux_benchmarks(logdir):
    """Debian's Linux 6.1 (tools/linux/fetch.sh) with tools/linux/lbench.c as
    /init, under the QEMU command line of Airlock's benchmarks: its linux:
    lines, the instrument's region lines, and problems"""
    ldir = os.path.join(B, "linux")
    r = subprocess.run(["sh", os.path.join(ROOT, "tools", "linux", "fetch.sh"), ldir],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        return [], [], ["linux: fetching the Debian kernel failed:\n" + r.stdout.decode(errors="replace")[-1000:]]
    initrd = os.path.join(ldir, "initrd.cpio")
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "linux", "mkinitramfs.py"), initrd,
                    "init=" + os.path.join(ldir, "lbench"),
                    "/lib/modules/uio.ko=" + os.path.join(ldir, "uio.ko"),
                    "/lib/modules/uio_pci_generic.ko=" + os.path.join(ldir, "uio_pci_generic.ko")], check=True)
    log, plog = os.path.join(logdir, "linux.log"), os.path.join(logdir, "linux.plugin.log")
    for f in (log, plog):
        if os.path.exists(f):
            os.unlink(f)
    cmd = QEMU + ["-smp", "1", "-serial", f"file:{log}", "-icount", "shift=0,sleep=off", "-device", "edu",
                  "-plugin", f"file={PLUGIN}", "-d", "plugin", "-D", plog,
                  "-kernel", os.path.join(ldir, "vmlinuz"), "-initrd", initrd,
                  "-append", "console=ttyS0 pti=on quiet panic=-1"]
    try:
        subprocess.run(cmd, timeout=600, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except subprocess.TimeoutExpired:
        return [], [], [f"linux: no power-off within 600 s (log: {os.path.relpath(log, ROOT)})"]
    text = open(log, errors="replace").read() if os.path.exists(log) else ""
    lines = [l for l in text.splitlines() if l.startswith("linux: ") and "instructions/op" in l]
    regions = [l for l in open(plog, errors="replace").read().splitlines()
               if l.startswith("airlock-plugin:")] if os.path.exists(plog) else []
    problems = [l for l in text.splitlines() if l.startswith("linux: FAILED")]
    if not lines:
        problems.append(f"linux: no results (log: {os.path.relpath(log, ROOT)})")
    return lines, regions, problems


def instrument_checks(lines, regions):
    """the kernel's own counters against the plugin's, region by region:
    CR3 writes and FPU saves per operation must agree exactly"""
    counted = {}
    for r in regions:
        m = re.match(r"airlock-plugin: region (\d+) (.*)", r)
        if m:
            f = m.group(2).split()
            counted[int(m.group(1))] = {f[k]: int(f[k + 1]) for k in range(0, len(f) - 1, 2)}
    passed, problems = 0, []
    for line in lines:
        m = re.search(r"region (\d+) ops (\d+)", line)
        if not m:
            continue
        region, ops = int(m.group(1)), int(m.group(2))
        name, figs = parse_bench_line(line)
        got = counted.get(region)
        if got is None:
            problems.append(f"instrument: no count for region {region} ({name})")
            continue
        for fig, key in (("CR3 writes", "cr3"), ("FPU saves", "xsave")):
            if fig not in figs:
                continue
            outside = got[key] * 100 // ops  # the guest prints per op with two decimals, truncated
            inside = round(figs[fig] * 100)
            if outside == inside:
                passed += 1
            else:
                problems.append(f"instrument: {name}: {fig}/op {figs[fig]:.2f} by the kernel's counters, "
                                f"{got[key] / ops:.2f} counted outside ({got[key]} in {ops} ops)")
    return passed, problems


FIGURES = {"instructions": r"([\d.]+) instructions/", "CR3 writes": r"CR3 writes/\w+ ([\d.]+)",
           "TLB flushes": r"TLB flushes/\w+ ([\d.]+)", "FPU saves": r"FPU saves/\w+ ([\d.]+)",
           "INVLPG": r"INVLPG/\w+ ([\d.]+)"}


def parse_bench_line(line):
    """'bench: NAME  53.00 instructions/op  CR3 writes/op 2.00 ...' -> (NAME, {figure: value})"""
    if not line.startswith("bench:"):
        return None, {}  # (hist: lines, the latency histograms)
    body = line[len("bench:"):].strip()
    m = re.match(r"(.*?)\s+[\d.]+ instructions/", body)
    if not m:
        return None, {}
    figs = {}
    for fig, rx in FIGURES.items():
        f = re.search(rx, body)
        if f:
            figs[fig] = float(f.group(1))
    return m.group(1).strip(), figs


def budget_checks(logdir):
    """every benchmarked figure within its budget in tools/budgets.tsv"""
    budgets = {}
    for l in open(os.path.join(ROOT, "tools", "budgets.tsv")):
        if l.strip() and not l.startswith("#"):
            name, fig, limit = l.rstrip("\n").split("\t")
            budgets[(name, fig)] = float(limit)
    lines, regions, problems = run_benchmarks(logdir)
    passed, seen = 0, set()
    for line in lines:
        name, figs = parse_bench_line(line)
        if name is None:
            continue
        if not any(k[0] == name for k in budgets):
            problems.append(f"no budget for '{name}' in tools/budgets.tsv")
            continue
        for fig, value in figs.items():
            limit = budgets.get((name, fig))
            if limit is None:
                continue
            seen.add((name, fig))
            if value > limit:
                problems.append(f"over budget: {name}: {fig} {value:g} > {limit:g}")
            else:
                passed += 1
    for key in sorted(set(budgets) - seen):
        problems.append(f"no figure measured for the budget '{key[0]}' / {key[1]}")
    p, probs = instrument_checks(lines, regions)
    return passed + p, len(problems) + len(probs), problems + probs


def gdb_checks():
    """the gdb helpers against a live kernel (tools/gdb/check.py)"""
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gdb", "check.py")], cwd=ROOT,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120,
                       env=dict(os.environ, AIRLOCK_BUILD=B))
    out = p.stdout.decode(errors="replace")
    passed = len(re.findall(r"^ok \d+", out, re.M))
    problems = re.findall(r"^not ok \d+ .*$", out, re.M)
    if p.returncode != 0 and not problems:
        problems = ["tools/gdb/check.py failed:\n" + out[-2000:]]
    return passed, len(problems), problems


def stage(name, result, what, total_p, total_f):
    """print a non-QEMU stage's line and failures; the new totals"""
    p, f, probs = result
    print(f"{name:9s}: {p} passed, {f} failed ({what})")
    for x in probs:
        print("    FAIL", x)
    return total_p + p, total_f + f


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smp", default="1", help="CPU counts, comma separated (e.g. 1,4)")
    ap.add_argument("--only", help="run only this suite (or 'host')")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--bochs", action="store_true", help="also run BOCHS_SUITES under Bochs")
    ap.add_argument("--timeout", type=int, default=60)
    args = ap.parse_args()
    logdir = os.path.join(B, "test-logs")
    os.makedirs(logdir, exist_ok=True)

    if args.bench:
        sys.path.insert(0, os.path.join(ROOT, "tools"))
        import benchreport
        lines, regions, problems = run_benchmarks(logdir)
        print("\n".join(lines))
        print("\n".join(regions))
        p, probs = instrument_checks(lines, regions)
        print(f"bench: the kernel's counters agree with the outside instrument in {p} figures"
              + (f", disagree in {len(probs)}" if probs else ""))
        llines, lregions, lprobs = linux_benchmarks(logdir)
        print("\n".join(llines))
        airlock, linux = benchreport.parse_airlock(lines, regions), benchreport.parse_linux(llines, lregions)
        print("\nAirlock beside Linux 6.1 (pti=on), same QEMU (-icount shift=0, 1 CPU, -device edu):")
        print("\n".join(benchreport.table(airlock, linux)))
        outdir = os.path.join(B, "bench")
        os.makedirs(outdir, exist_ok=True)
        svg = os.path.join(outdir, "report.svg")
        try:
            benchreport.svg(airlock, linux, svg, benchreport.parse_hist(lines))
            print(f"chart: {os.path.relpath(svg, ROOT)}")
        except (OSError, subprocess.CalledProcessError) as e:
            lprobs.append(f"chart: gnuplot failed: {e}")
        for x in problems + probs + lprobs:
            print(x)
        return 1 if problems or probs or lprobs else 0

    total_p = total_f = 0
    if not args.only or args.only in ("host", "checks"):
        total_p, total_f = stage("checks", source_checks(), "architecture boundary, assembly offsets",
                                 total_p, total_f)
    if not args.only or args.only == "budgets":
        if os.environ.get("AIRLOCK_DEBUG", "0") != "0":
            print("budgets  : skipped (DEBUG build: path lengths are not the product's)")
        else:
            total_p, total_f = stage("budgets", budget_checks(logdir), "path lengths under -icount, "
                                     "tools/budgets.tsv; kernel counters vs. the QEMU plugin", total_p, total_f)
    if not args.only or args.only == "gdb":
        total_p, total_f = stage("gdb", gdb_checks(), "tools/gdb helpers against a live kernel", total_p, total_f)
    if not args.only or args.only == "host":
        total_p, total_f = stage("host", host_tests(), "cmocka", total_p, total_f)
    for smp in [int(x) for x in str(args.smp).split(",")]:
        for name, spec in SUITES.items():
            if args.only and args.only not in (name, "qemu"):
                continue
            peers = []

            def run(name=name, spec=spec):
                peers[:] = [PEERS[name](logdir, smp) if name in PEERS else None]
                return boot(name, spec, smp, args.timeout, logdir, SUITE_QEMU.get(name, ()),
                            inject_nmi=name in NMI_SUITES, peer=peers[0])
            text, hung, rc, msg, secs, log = boot_rerun_on_crash(name, smp, run)
            peer = peers[0]
            p, f, probs = parse_ktap(text)
            if peer:
                pp, pf, pprobs = peer.result()
                p, f, probs = p + pp, f + pf, probs + pprobs
            for needle in SUITE_ABSENT.get(name, ()):
                if needle in text:
                    f += 1
                    probs.append(f"the log has {needle!r}")
                else:
                    p += 1
            if hung:
                f += 1
                probs.append(f"hung: no exit within {args.timeout}s")
            elif rc not in (1, 3):
                f += 1
                probs.append(f"QEMU exited with {rc} (expected isa-debug-exit): {msg[-300:]}")
            print(f"{name:9s}: {p} passed, {f} failed (smp={smp}, {secs:.1f}s, log {os.path.relpath(log, ROOT)})")
            if peer and peer.info:
                print("    " + peer.info)
            for x in probs:
                print("    FAIL", x)
            total_p, total_f = total_p + p, total_f + f
        for name, (what, needles) in PANICS.items():
            if args.only and args.only not in (name, "qemu", "panic"):
                continue
            if what == "mce":
                # a machine check injected while a user program runs (user CR3 live)
                def run(name=name):
                    return boot(name, ("mb1", [(U("spin"), "1000000")], "ktest=modules"), smp, args.timeout,
                                logdir, inject=b"mce 0 0 0xbd00000000000000 0x7 0 0\n")
            else:
                def run(name=name, what=what):
                    return boot(name, ("mb1", [], f"panictest={what}"), smp, args.timeout, logdir)
            text, hung, rc, msg, secs, log = boot_rerun_on_crash(name, smp, run)
            probs = [f"missing in the panic report: {n!r}" for n in needles if n not in text]
            if hung:
                probs.append("hung instead of halting")
            elif rc != 3:
                probs.append(f"QEMU exit code {rc}, expected 3 (isa-debug-exit 1)")
            ok = not probs
            print(f"{name:9s}: {'passed' if ok else 'FAILED'} (smp={smp}, {secs:.1f}s, log {os.path.relpath(log, ROOT)})")
            for x in probs:
                print("    FAIL", x)
            total_p, total_f = total_p + ok, total_f + (not ok)
    for name, (spec, shape) in SHAPED.items():
        if args.only and args.only not in (name, "qemu", "shaped"):
            continue
        text, hung, rc, msg, secs, log = boot_rerun_on_crash(
            name, shape, lambda name=name, spec=spec, shape=shape: boot(name, spec, shape, args.timeout, logdir))
        if name == "bad-root":
            needles = ["system: cannot start", "writable and executable segment", "[kernel] TESTS FAILED"]
            probs = [f"missing: {n!r}" for n in needles if n not in text]
            if "KERNEL PANIC" in text:
                probs.append("kernel panic")
            if hung or rc != 3:
                probs.append(f"did not stop through isa-debug-exit (hung={hung}, rc={rc})")
            p, f = (0, 1) if probs else (1, 0)
        else:
            p, f, probs = parse_ktap(text)
            if hung:
                f += 1
                probs.append("hung")
        print(f"{name:9s}: {p} passed, {f} failed (smp={shape}, {secs:.1f}s, log {os.path.relpath(log, ROOT)})")
        for x in probs:
            print("    FAIL", x)
        total_p, total_f = total_p + p, total_f + f
    # Bochs: the suites of BOCHS_SUITES on 1 and 2 CPUs (PCID and x2APIC on)
    # in every full make test; the variants (nopcid nox2apic, a 3-tag pool)
    # and bochs-bench with --bochs (`make test BOCHS=1`) or ONLY=bochs, as
    # the whole stage does not fit the 15 minutes (decision 58)
    full = args.bochs or args.only == "bochs"
    runs = [(name, smp, "") for smp in BOCHS_SMP for name in BOCHS_SUITES] + \
           ([(name, 2, extra) for name, extra in BOCHS_VARIANTS] if full else [])
    for name, smp, extra in runs if not args.only or full or args.only.endswith("-bochs") else ():
        if args.only and args.only not in (name + "-bochs", "bochs"):
            continue
        kind, mods, cmdline = SUITES[name]
        tag = name + ("-" + extra.replace(" ", "-").replace("=", "") if extra else "")
        text, hung, secs, log = boot_bochs(tag, (kind, mods, (cmdline + " " + extra).strip()), smp, 120, logdir)
        p, f, probs = parse_ktap(text)
        if hung:
            f += 1
            probs.append("hung: the kernel's last line never came (120 s)")
        mode = bochs_mode_problems(text, extra)
        f += len(mode)
        probs += mode
        print(f"{tag + '-bochs':15s}: {p} passed, {f} failed (bochs smp={smp}{', ' + extra if extra else ''}, "
              f"{secs:.1f}s, log {os.path.relpath(log, ROOT)})")
        for x in probs:
            print("    FAIL", x)
        total_p, total_f = total_p + p, total_f + f
    if (args.bochs and not args.only) or args.only in ("bochs", "bochs-bench"):
        p, f = bochs_bench(logdir)
        total_p, total_f = total_p + p, total_f + f
    if EMULATOR_CRASHES:
        print(f"QEMU died by a signal and was booted once more {len(EMULATOR_CRASHES)} time(s): "
              + "; ".join(EMULATOR_CRASHES))
    print(f"{total_p} passed, {total_f} failed")
    return 1 if total_f else 0


if __name__ == "__main__":
    sys.exit(main())
