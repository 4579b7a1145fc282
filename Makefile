# Airlock — top-level build.
#   make            build kernel, user programs
#   make run        boot in QEMU (serial on this terminal, VGA window if any)
#   make test       host unit tests + QEMU boot tests (KTAP), one closing line
#   make bench      micro-benchmarks under -icount shift=0
#   make iso        GRUB (Multiboot2) ISO: build/airlock.iso
#   make qemu-gdb   QEMU waits for gdb; in another terminal: gdb -x tools/gdbinit
#   make format / make lint / make compile_commands.json
# Knobs: SMP=n (CPUs), DEBUG=1 (-Og and invariant checks: the run queue at every
#        schedule, the address-space audit after every map), B=dir (build
#        directory, e.g. B=build/debug with DEBUG=1), V=1 (verbose)

ARCH   ?= x86_64
SMP    ?= 1
TEST_SMP ?= $(if $(filter command line,$(origin SMP)),$(SMP),1,4)
DEBUG  ?= 0
B      := build
Q      := $(if $(V),,@)

CC      := gcc
LD      := ld
OBJCOPY := objcopy

WARN    := -Wall -Wextra -Werror -Wno-unused-parameter -Wmissing-prototypes
OPT     := $(if $(filter 1,$(DEBUG)),-Og -DDEBUG=1,-O2)
COMMON  := -std=c11 -ffreestanding -fno-builtin -nostdlib -fno-pic -fno-pie -fno-stack-protector \
           -fno-asynchronous-unwind-tables -g $(OPT) $(WARN) -I. -Iarch/$(ARCH)/include -MMD -MP
KCFLAGS := $(COMMON) -mcmodel=kernel -mno-red-zone -mgeneral-regs-only -fno-omit-frame-pointer \
           -mno-omit-leaf-frame-pointer
UCFLAGS := $(COMMON) -mno-red-zone -fno-omit-frame-pointer
ASFLAGS := -I. -Iarch/$(ARCH)/include -I$(B)/gen -MMD -MP -D__ASSEMBLER__ -g

KSRC_C  := $(wildcard kernel/*.c) $(wildcard arch/$(ARCH)/*.c) $(wildcard lib/*.c) $(wildcard tests/kernel/*.c) \
           $(wildcard tests/kernel/$(ARCH)/*.c)
# asm-offsets.c generates asm-offsets.h (below); it is not kernel code
KSRC_C  := $(filter-out arch/$(ARCH)/asm-offsets.c,$(KSRC_C))
KSRC_S  := $(wildcard arch/$(ARCH)/*.S)
KOBJ    := $(patsubst %.c,$(B)/k/%.o,$(KSRC_C)) $(patsubst %.S,$(B)/k/%.o,$(KSRC_S)) $(B)/k/gen/font8x16.o
# the framebuffer console's font, from Debian's console-setup-linux (tools/deps.sh)
FONT    ?= /usr/share/consolefonts/Lat15-VGA16.psf.gz

ULIB_C  := $(wildcard user/lib/*.c) lib/format.c lib/string.c lib/elf.c lib/argv.c
ULIB    := $(patsubst %.c,$(B)/u/%.o,$(ULIB_C)) $(B)/u/user/lib/crt0.o $(B)/u/user/lib/upcall.o
UPROGS  := $(patsubst user/bin/%.c,%,$(wildcard user/bin/*.c))
UELF    := $(patsubst %,$(B)/user/%.elf,$(UPROGS))

KERNEL  := $(B)/kernel.elf
KERNEL32:= $(B)/kernel32.elf

all: $(KERNEL32) $(UELF) $(B)/bad/.stamp $(B)/tools/airlock-counters.so $(B)/tools/airlock-profile.so $(B)/linux/lbench

# ---- kernel: two links, the second with the symbol table for backtraces ----
$(B)/k/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(KCFLAGS) -c $< -o $@
$(B)/k/%.o: %.S
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	$(Q)$(CC) $(ASFLAGS) -c $< -o $@

# ---- asm-offsets.h: offsets and sizes of C structures, for the assembly ----
# asm-offsets.c is compiled (never linked) to assembly with the kernel's
# flags; its marker lines `.ascii "->SYM value expr"` become #defines. The .d
# file of that compilation (-MMD) makes the header follow the structures;
# every kernel .S object depends on the header.
$(B)/gen/asm-offsets.s: arch/$(ARCH)/asm-offsets.c
	@mkdir -p $(dir $@)
	@echo "  CC -S   $<"
	$(Q)$(CC) $(KCFLAGS) -S $< -o $@
$(B)/gen/asm-offsets.h: $(B)/gen/asm-offsets.s
	@echo "  GEN     $@"
	$(Q){ printf '/* Generated from arch/$(ARCH)/asm-offsets.c by the Makefile: do not edit. */\n'; \
	  printf '#ifndef AIRLOCK_ASM_OFFSETS_H\n#define AIRLOCK_ASM_OFFSETS_H\n\n'; \
	  sed -n -e 's/^[[:space:]]*\.ascii "->\([A-Za-z_][A-Za-z0-9_]*\) \(-\{0,1\}[0-9][0-9]*\) \(.*\)"$$/#define \1 \2 \/* \3 *\//p' \
	      -e 's/^[[:space:]]*\.ascii "->"$$//p' $<; \
	  printf '\n#endif\n'; } > $@.tmp
	$(Q)mv $@.tmp $@
$(patsubst %.S,$(B)/k/%.o,$(KSRC_S)): $(B)/gen/asm-offsets.h

# ---- the framebuffer console's font: a C array generated from a PSF font ----
$(B)/gen/font8x16.c: $(FONT) tools/mkfont.py
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	$(Q)python3 tools/mkfont.py $(FONT) > $@.tmp
	$(Q)mv $@.tmp $@
$(B)/k/gen/font8x16.o: $(B)/gen/font8x16.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(KCFLAGS) -c $< -o $@

$(B)/k/ksyms0.S:
	@mkdir -p $(dir $@)
	$(Q)printf '    .section .ksyms, "a"\n    .align 8\n    .globl ksyms_table, ksyms_count\nksyms_table:\nksyms_count: .quad 0\n' > $@
$(B)/k/ksyms0.o: $(B)/k/ksyms0.S
	$(Q)$(CC) -c $< -o $@

LDFLAGS := -nostdlib -z max-page-size=4096 -z noexecstack --no-warn-rwx-segments -T arch/$(ARCH)/linker.ld

$(B)/kernel.pass1.elf: $(KOBJ) $(B)/k/ksyms0.o arch/$(ARCH)/linker.ld
	$(Q)$(LD) $(LDFLAGS) -o $@ $(KOBJ) $(B)/k/ksyms0.o

$(B)/k/ksyms.S: $(B)/kernel.pass1.elf tools/gensyms.sh
	$(Q)sh tools/gensyms.sh $< > $@
$(B)/k/ksyms.o: $(B)/k/ksyms.S
	$(Q)$(CC) -c $< -o $@

$(KERNEL): $(B)/k/ksyms.o
	@echo "  LD      $@"
	$(Q)$(LD) $(LDFLAGS) -o $@ $(KOBJ) $(B)/k/ksyms.o
	$(Q)nm -n $(B)/kernel.pass1.elf | awk '$$2 ~ /^[tT]$$/' > $(B)/k/syms1.txt
	$(Q)nm -n $@ | awk '$$2 ~ /^[tT]$$/' > $(B)/k/syms2.txt
	$(Q)cmp -s $(B)/k/syms1.txt $(B)/k/syms2.txt || { echo "symbol table moved code"; exit 1; }

$(KERNEL32): $(KERNEL)
	@echo "  OBJCOPY $@"
	$(Q)$(OBJCOPY) -O elf32-i386 $< $@

# ---- user programs ----
$(B)/u/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC [U]  $<"
	$(Q)$(CC) $(UCFLAGS) -c $< -o $@
$(B)/u/%.o: %.S
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ASFLAGS) -c $< -o $@
# the upcall entry takes the state area's layout from asm-offsets.h
$(B)/u/user/lib/upcall.o: $(B)/gen/asm-offsets.h
$(B)/user/%.elf: $(B)/u/user/bin/%.o $(ULIB) user/user.ld
	@mkdir -p $(dir $@)
	@echo "  LD [U]  $@"
	$(Q)$(LD) -nostdlib -static -z max-page-size=4096 -z noexecstack -T user/user.ld -o $@ \
	    $(B)/u/user/lib/crt0.o $< $(filter-out $(B)/u/user/lib/crt0.o,$(ULIB))

# malformed boot modules for the loader tests, derived from hello.elf
$(B)/bad/.stamp: $(B)/user/hello.elf tools/mkbad.py
	$(Q)python3 tools/mkbad.py $< $(B)/bad
	@touch $@

# the instrument outside the guest: a QEMU TCG plugin (host code)
$(B)/tools/airlock-counters.so: tools/qemu-plugin/counters.c tools/qemu-plugin/decode.h tools/qemu-plugin/plugin-api.h
	@mkdir -p $(dir $@)
	@echo "  CC [H]  $<"
	$(Q)$(CC) -std=c11 -Wall -Wextra -Werror -O2 -shared -fPIC -fvisibility=hidden -o $@ $<
# the profiler (tools/profile.py): executions per instruction address in the marked regions
$(B)/tools/airlock-profile.so: tools/qemu-plugin/profile.c tools/qemu-plugin/decode.h tools/qemu-plugin/plugin-api.h
	@mkdir -p $(dir $@)
	@echo "  CC [H]  $<"
	$(Q)$(CC) -std=c11 -Wall -Wextra -Werror -O2 -shared -fPIC -fvisibility=hidden -o $@ $<

# the Linux side of make bench: a static /init for Debian's Linux 6.1 (host code)
$(B)/linux/lbench: tools/linux/lbench.c
	@mkdir -p $(dir $@)
	@echo "  CC [H]  $<"
	$(Q)$(CC) -std=gnu11 -Wall -Wextra -Werror -O2 -static -pthread -o $@ $<

# ---- running ----
QEMU      := qemu-system-x86_64
QEMU_BASE := -machine q35 -cpu max -m 512M -smp $(SMP) -no-reboot \
             -device isa-debug-exit,iobase=0xf4,iosize=0x04
# make run: the system of user/etc/system.cfg (drivers, console, shell) and
# the programs the shell can run; the terminal is COM2 (the UART driver's),
# COM1 is the kernel's log: both share this terminal through QEMU's mux
# (typing goes to COM2; Ctrl-A X quits)
# (the list is user/etc/system.progs, shared with tools/ktest.py's suite system)
RUN_PROGS := $(shell sed 's/\#.*//' $(CURDIR)/user/etc/system.progs)
comma     := ,
empty     :=
space     := $(empty) $(empty)
RUN_MODS  := $(B)/user/sigma0.elf,$(B)/user/root.elf,$(CURDIR)/user/etc/system.cfg$(subst $(space),,$(foreach p,$(RUN_PROGS),$(comma)$(B)/user/$(p).elf))
RUN_TERM  := -chardev stdio,id=term,mux=on,signal=off -serial chardev:term -serial chardev:term
# the QEMU window (the VGA console, typing into the PS/2 keyboard): none by
# default; `make run DISPLAY_OPT="-display gtk"` (or sdl) opens one
DISPLAY_OPT ?= -display none

deps:
	$(Q)bash tools/deps.sh

run: deps all
	$(QEMU) $(QEMU_BASE) $(RUN_TERM) $(DISPLAY_OPT) -device edu -kernel $(KERNEL32) \
	    -initrd "$(RUN_MODS)" -append "$(CMDLINE)" || true

test: deps all
	$(Q)AIRLOCK_BUILD=$(abspath $(B)) AIRLOCK_DEBUG=$(DEBUG) python3 tools/ktest.py --smp $(TEST_SMP) $(if $(ONLY),--only $(ONLY)) $(if $(filter 1,$(BOCHS)),--bochs)

bench: deps all
	$(Q)AIRLOCK_BUILD=$(abspath $(B)) python3 tools/ktest.py --bench --smp 1

iso: deps $(B)/airlock.iso
$(B)/airlock.iso: all tools/mkiso.sh
	$(Q)AIRLOCK_BUILD=$(abspath $(B)) sh tools/mkiso.sh $@ "" $(B)/user/sigma0.elf "" $(B)/user/root.elf "" $(B)/user/hello.elf "hello from grub" $(B)/user/crash.elf "ud expect=fault:6"

qemu-gdb: deps all
	@echo "QEMU waits for gdb on :1234 — run: gdb -x tools/gdbinit"
	$(QEMU) $(QEMU_BASE) $(RUN_TERM) -display none -device edu -kernel $(KERNEL32) \
	    -initrd "$(RUN_MODS)" -append "$(CMDLINE)" -s -S

format:
	$(Q)clang-format -i $$(git ls-files '*.c' '*.h')

lint:
	$(Q)clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h') 2>/dev/null || echo "lint: formatting differs (make format)"
	$(Q)# comparePointers: linker-symbol arithmetic; the null-check rules do not
	$(Q)# know that panic() does not return
	$(Q)cppcheck --quiet --std=c11 --error-exitcode=1 -I. --enable=warning,portability \
	    --suppress=missingIncludeSystem --suppress=unusedFunction --suppress=comparePointers \
	    --suppress=nullPointerRedundantCheck --suppress=ctunullpointer --inline-suppr kernel arch lib user

compile_commands.json:
	$(Q)python3 tools/compdb.py > $@

host-test:
	$(Q)$(MAKE) -s -C tests/host

clean:
	rm -rf $(B)

.PHONY: all deps run test bench iso qemu-gdb format lint host-test clean compile_commands.json
-include $(shell find $(B) -name '*.d' 2>/dev/null)
.SECONDARY:
