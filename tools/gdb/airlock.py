# tools/gdb/airlock.py — gdb commands that know Airlock's kernel objects.
#
# Loaded by tools/gdbinit (make qemu-gdb). Commands:
#   airlock-threads            every thread: id, task, state, priority, CPU, affinity
#   airlock-tasks              every task reachable from a thread or a task capability
#   airlock-caps TASK          the non-empty capability slots of task TASK (its id)
#   airlock-walk TASK VA       the page-table walk of VA (an expression, e.g.
#                              &kmain) in TASK's address space (TASK 0: the
#                              kernel's), level by level
#   airlock-irqs               every IRQ object in use: source, vector, GSI and
#                              trigger, CPU, binding (endpoint, badge), holder,
#                              line sharing, mask/throttle/pending, counters
# They read kernel memory as the kernel sees it. When gdb stopped the CPU
# in user mode (user CR3: the kernel is not mapped there), page tables are
# read as physical memory through QEMU's gdbstub (Qqemu.PhyMemMode), and
# kernel objects through the direct map, which needs the kernel's CR3: the
# commands say so instead of printing garbage.
import os
import re

import gdb

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _layout_constant(name, header="layout.h"):
    """A constant from abi/airlock/HEADER (layout.h), its one definition."""
    text = open(os.path.join(ROOT, "abi", "airlock", header)).read()
    m = re.search(r"#define\s+%s\s+(0x[0-9a-fA-F]+|\d+)" % name, text)
    if not m:
        raise gdb.GdbError("airlock: %s not found in abi/airlock/%s" % (name, header))
    return int(m.group(1), 0)


DIRECT_MAP = _layout_constant("AL_DIRECT_MAP")
KERNEL_BASE = _layout_constant("AL_KERNEL_BASE")  # the image: virtual = KERNEL_BASE + physical
PTE_P, PTE_W, PTE_U, PTE_PS, PTE_NX = 1, 2, 4, 0x80, 1 << 63
PTE_ADDR = 0x000FFFFFFFFFF000

STATE = {0: "new", 1: "runnable", 2: "running", 3: "blocked", 4: "suspended", 5: "dead"}
CAP_TYPE = {1: "endpoint", 2: "reply", 3: "task", 4: "thread"}


def _str(arr):
    try:
        return arr.string(length=int(arr.type.sizeof)).split("\0")[0]
    except gdb.error:
        return "?"


def _ptr(v):
    return int(v.cast(gdb.lookup_type("unsigned long")))


def _threads():
    t = gdb.parse_and_eval("all_threads")
    seen = 0
    while _ptr(t) and seen < 100000:
        yield t.dereference()
        t = t["all_next"]
        seen += 1


def _task_of(thread):
    tk = thread["task"]
    return tk.dereference() if _ptr(tk) else None


def _cap_slots(task):
    cs = task["cspace"]
    if not _ptr(cs):
        return
    slots = cs.dereference()["slot"]
    n = slots.type.range()[1] + 1
    for i in range(n):
        c = slots[i]
        if int(c["type"]):
            yield i, c


def _tasks():
    """Tasks reachable from threads, then from task capabilities."""
    found, order, work = {}, [], []
    for th in _threads():
        tk = th["task"]
        if _ptr(tk) and _ptr(tk) not in found:
            found[_ptr(tk)] = tk.dereference()
            order.append(_ptr(tk))
            work.append(tk.dereference())
    while work:
        tk = work.pop()
        for _, c in _cap_slots(tk):
            if int(c["type"]) == 3 and _ptr(c["obj"]) not in found:
                t2 = c["obj"].cast(gdb.lookup_type("struct task").pointer()).dereference()
                found[_ptr(c["obj"])] = t2
                order.append(_ptr(c["obj"]))
                work.append(t2)
    return [found[a] for a in order]


def _task_by_id(tid):
    for tk in _tasks():
        if int(tk["id"]) == tid:
            return tk
    raise gdb.GdbError("airlock: no task with id %d (see airlock-tasks)" % tid)


def _kernel_mapped():
    """The kernel's objects are readable: the current CR3 is the kernel's."""
    try:
        gdb.selected_inferior().read_memory(int(gdb.parse_and_eval("(unsigned long)&all_threads")), 8)
        return True
    except gdb.error:
        return False


def _need_kernel():
    if not _kernel_mapped():
        raise gdb.GdbError("airlock: the CPU runs on a user CR3 (the kernel is not mapped there); "
                           "stop in the kernel first, e.g. `break trap_dispatch`")


def _read_phys_u64(pa):
    inf = gdb.selected_inferior()
    try:
        gdb.execute("maint packet Qqemu.PhyMemMode:1", to_string=True)
        try:
            return int.from_bytes(bytes(inf.read_memory(pa, 8)), "little")
        finally:
            gdb.execute("maint packet Qqemu.PhyMemMode:0", to_string=True)
    except gdb.error:
        # no physical mode: the kernel's direct map
        return int.from_bytes(bytes(inf.read_memory(DIRECT_MAP + pa, 8)), "little")


def _kernel_u64(symbol):
    """A 64-bit kernel variable, also when the kernel is not mapped: the
    image is at KERNEL_BASE + its physical address."""
    addr = int(gdb.parse_and_eval("(unsigned long)&%s" % symbol))
    try:
        return int.from_bytes(bytes(gdb.selected_inferior().read_memory(addr, 8)), "little")
    except gdb.MemoryError:
        return _read_phys_u64(addr - KERNEL_BASE)


class AirlockThreads(gdb.Command):
    """List every thread: id, name, task, state, priority, CPU, affinity."""

    def __init__(self):
        super().__init__("airlock-threads", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        _need_kernel()
        print("%5s  %-16s %-16s %-9s %4s %3s %4s" % ("tid", "name", "task", "state", "prio", "cpu", "aff"))
        for th in _threads():
            tk = _task_of(th)
            task = "%d %s" % (int(tk["id"]), _str(tk["name"])) if tk is not None else "(kernel)"
            aff = int(th["affinity"])
            print("%5d  %-16s %-16s %-9s %4d %3d %4s" % (int(th["id"]), _str(th["name"]), task[:16],
                                                         STATE.get(int(th["state"]), "?"), int(th["prio"]),
                                                         int(th["cpu"]), "any" if aff < 0 else str(aff)))


class AirlockTasks(gdb.Command):
    """List the tasks reachable from threads and task capabilities."""

    def __init__(self):
        super().__init__("airlock-tasks", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        _need_kernel()
        print("%4s  %-20s %8s %8s %5s %18s" % ("id", "name", "threads", "live", "caps", "pml4"))
        for tk in _tasks():
            ncaps = sum(1 for _ in _cap_slots(tk))
            print("%4d  %-20s %8d %8d %5d %#18x" % (int(tk["id"]), _str(tk["name"]), int(tk["nthreads"]),
                                                   int(tk["live_threads"]), ncaps, int(tk["pml4"])))


class AirlockCaps(gdb.Command):
    """airlock-caps TASK: the non-empty capability slots of task TASK (its id)."""

    def __init__(self):
        super().__init__("airlock-caps", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        _need_kernel()
        args = gdb.string_to_argv(arg)
        if len(args) != 1:
            raise gdb.GdbError("usage: airlock-caps TASK-ID")
        tk = _task_by_id(int(args[0], 0))
        print("task %d %s:" % (int(tk["id"]), _str(tk["name"])))
        print("%5s  %-9s %6s %18s  %s" % ("slot", "type", "rights", "badge", "object"))
        for i, c in _cap_slots(tk):
            ty = int(c["type"])
            obj = c["obj"]
            what = "%#x" % _ptr(obj)
            if ty == 3:
                t2 = obj.cast(gdb.lookup_type("struct task").pointer()).dereference()
                what = "task %d %s" % (int(t2["id"]), _str(t2["name"]))
            elif ty in (2, 4):
                t2 = obj.cast(gdb.lookup_type("struct thread").pointer()).dereference()
                what = "thread %d %s" % (int(t2["id"]), _str(t2["name"]))
            elif ty == 1:
                ep = obj.cast(gdb.lookup_type("struct endpoint").pointer()).dereference()
                what = "endpoint %#x (%d caps)" % (_ptr(obj), int(ep["refs"]))
            r = int(c["rights"])
            rights = "".join(ch if r & b else "-" for ch, b in (("S", 1), ("R", 2), ("G", 4), ("C", 8)))
            print("%5d  %-9s %6s %#18x  %s" % (i, CAP_TYPE.get(ty, str(ty)), rights, int(c["badge"]), what))


class AirlockWalk(gdb.Command):
    """airlock-walk TASK VA: walk VA through TASK's page tables (TASK 0: the kernel's)."""

    def __init__(self):
        super().__init__("airlock-walk", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        args = gdb.string_to_argv(arg)
        if len(args) != 2:
            raise gdb.GdbError("usage: airlock-walk TASK-ID VA")
        tid = int(args[0], 0)
        va = int(gdb.parse_and_eval("(unsigned long)(%s)" % args[1])) & 0xFFFFFFFFFFFFFFFF
        if tid == 0:
            table = _kernel_u64("kernel_pml4")
            who = "kernel"
        else:
            _need_kernel()
            tk = _task_by_id(tid)
            table, who = int(tk["pml4"]), "task %d %s" % (tid, _str(tk["name"]))
        print("%s, va %#x, PML4 at %#x" % (who, va, table))
        names = {4: "PML4E", 3: "PDPTE", 2: "PDE", 1: "PTE"}
        for level in (4, 3, 2, 1):
            idx = (va >> (12 + 9 * (level - 1))) & 511
            e = _read_phys_u64(table + 8 * idx)
            flags = "".join(n for n, b in (("P", PTE_P), ("W", PTE_W), ("U", PTE_U)) if e & b)
            flags += " NX" if e & PTE_NX else ""
            big = level in (3, 2) and e & PTE_PS
            print("  %-5s [%3d] = %#018x  %s%s" % (names[level], idx, e, flags or "-", " (large page)" if big else ""))
            if not e & PTE_P:
                print("  not mapped")
                return
            if big or level == 1:
                size = 1 << (12 + 9 * (level - 1))
                pa = (e & PTE_ADDR & ~(size - 1)) + (va & (size - 1))
                print("  -> physical %#x" % pa)
                return
            table = e & PTE_ADDR


# IRQ objects (kernel/irqobj.c): the kinds and line flags of abi/airlock/ipc.h
IRQ_KIND = {_layout_constant(n, "ipc.h"): k for n, k in (("AL_IRQ_ISA", "ISA"), ("AL_IRQ_GSI", "GSI"),
                                                         ("AL_IRQ_MSI", "MSI"))}
IRQ_LEVEL = _layout_constant("AL_IRQ_LEVEL", "ipc.h")
IRQ_LOW = _layout_constant("AL_IRQ_LOW", "ipc.h")


def _static(filename, name):
    """a file-scope static of the kernel (e.g. irqobj.c's pool)"""
    try:
        return gdb.parse_and_eval("'%s'::%s" % (filename, name))
    except gdb.error as e:
        raise gdb.GdbError("airlock: %s::%s: %s" % (filename, name, e))


def _cpu_of(apic_id):
    """the CPU index whose hardware ID is apic_id (kernel/irqobj.c's cpu_of), or None"""
    cpus = gdb.parse_and_eval("cpus")
    for i in range(int(gdb.parse_and_eval("ncpus"))):
        if int(cpus[i]["apic_id"]) == apic_id:
            return i
    return None


def _cap_holders(kinds):
    """{object address: ["task ID NAME slot N", ...]} for the capabilities of
    the given types (enum al_cap_type values) in every reachable task"""
    held = {}
    for tk in _tasks():
        who = "task %d %s" % (int(tk["id"]), _str(tk["name"]))
        for i, c in _cap_slots(tk):
            if int(c["type"]) in kinds:
                held.setdefault(_ptr(c["obj"]), []).append("%s slot %d" % (who, i))
    return held


def _thread_name(t):
    return "thread %d %s" % (int(t["id"]), _str(t["name"])) if _ptr(t) else None


class AirlockIrqs(gdb.Command):
    """List the IRQ objects in use: source, vector, line, binding, holder, state, counters."""

    def __init__(self):
        super().__init__("airlock-irqs", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        _need_kernel()
        pool = _static("irqobj.c", "pool")
        lines = _static("irqobj.c", "lines")
        vecs = _static("irq.c", "vecs")
        irq_gsi = int(gdb.parse_and_eval("IRQ_GSI"))
        used = [i for i in range(pool.type.range()[1] + 1) if int(pool[i]["used"])]
        if not used:
            print("no IRQ objects")
            return
        held = _cap_holders((int(gdb.parse_and_eval("AL_CAP_IRQ")), int(gdb.parse_and_eval("AL_CAP_ENDPOINT"))))
        print("%4s  %-8s %6s %5s %-12s %4s  %-10s %s" % ("obj", "id", "vector", "gsi", "trigger", "cpu", "line",
                                                         "state"))
        for i in used:
            o = pool[i]
            kind, vec = int(o["kind"]), int(o["vector"])
            vi = vecs[vec]
            is_line = IRQ_KIND.get(kind) != "MSI"
            gsi = trigger = "-"
            if int(vi["kind"]) == irq_gsi:
                f = int(vi["flags"])
                gsi = str(int(vi["gsi"]))
                trigger = "%s/%s" % ("level" if f & IRQ_LEVEL else "edge", "low" if f & IRQ_LOW else "high")
            cpu = _cpu_of(int(vi["dest"]))
            cpu = str(cpu) if cpu is not None else "apic%d" % int(vi["dest"])
            state = ["bound" if _ptr(o["ep"]) else "unbound"]
            line = "-"
            if is_line:
                ln = lines[vec]
                members = bin(int(ln["members"])).count("1")
                line = "shared(%d)" % members if int(ln["shared"]) else "exclusive"
                if int(vi["masked"]):
                    state.append("masked")
                if int(ln["throttled"]):
                    state.append("throttled")
            if int(o["queued"]):
                state.append("pending(queued)")
            if int(o["taken"]):
                state.append("pending(taken, not acked)")
            print("%4d  %-8s %#6x %5s %-12s %4s  %-10s %s" % (i, "%s %d" % (IRQ_KIND.get(kind, str(kind)), int(o["line"])),
                                                              vec, gsi, trigger, cpu, line, " ".join(state)))
            ep = o["ep"]
            if _ptr(ep):
                e = ep.dereference()
                who = held.get(_ptr(ep), [])
                rx = _thread_name(e["recvq"])
                bits = (["held by " + ", ".join(who)] if who else []) + (["receiver " + rx] if rx else [])
                print("      bound to endpoint %#x%s, badge %#x" % (_ptr(ep), " (%s)" % "; ".join(bits) if bits else "",
                                                                   int(o["badge"])))
            holders = held.get(int(o.address), [])
            refs = int(o["refs"])
            print("      holder %s (%d capabilit%s)" % (", ".join(holders) if holders else "?", refs,
                                                       "y" if refs == 1 else "ies"))
            last = int(o["last_cpu"])
            print("      arrivals %d messages %d coalesced %d throttled %s unreported %d last-cpu %s" % (
                int(o["arrivals"]), int(o["messages"]), int(o["coalesced"]),
                int(lines[vec]["throttles"]) if is_line else "-", int(o["count"]), last if last >= 0 else "-"))


AirlockThreads()
AirlockTasks()
AirlockCaps()
AirlockWalk()
AirlockIrqs()
