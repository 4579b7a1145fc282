/*
 * probe TARGET OP: touch a kernel location from user mode. Every probe must
 * end in a fault report from the kernel; printing data means the airlock
 * leaks. TARGET: ktext kdata directmap kstack trampoline idt gdt tss
 * entrystack or a hex address. OP: read, write or exec.
 */
#include "user/lib/airlock.h"
#include "lib/string.h"

static uint64_t target(const char *t)
{
    const uint64_t area = AL_TRAMP_CPU_AREAS; /* CPU 0's entry area */
    if (!strcmp(t, "ktext"))
        return AL_KERNEL_BASE + 0x101000;
    if (!strcmp(t, "kimage"))
        return AL_KERNEL_BASE + 0x100000;
    if (!strcmp(t, "directmap"))
        return AL_DIRECT_MAP + 0x100000;
    if (!strcmp(t, "directmap0"))
        return AL_DIRECT_MAP;
    if (!strcmp(t, "kstack"))
        return AL_KSTACK_REGION + 0x8000 - 8;
    if (!strcmp(t, "trampoline"))
        return AL_TRAMPOLINE;
    if (!strcmp(t, "entryarea"))
        return area;
    if (!strcmp(t, "gdt"))
        return area + 0x800;
    if (!strcmp(t, "tss"))
        return area + 0x1f98;
    if (!strcmp(t, "idt"))
        return area + 0x5000;
    if (!strcmp(t, "entrystack"))
        return area + 0x8000 - 8;
    if (!strcmp(t, "sidt")) {
        struct {
            uint16_t limit;
            uint64_t base;
        } __attribute__((packed)) d;
        __asm__ volatile("sidt %0" : "=m"(d)); /* UMIP: faults here */
        printf("probe: SIDT gave %#lx\n", (unsigned long)d.base);
        return d.base;
    }
    int ok;
    uint64_t a = strtoul_hex(t, &ok);
    return ok ? a : 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        printf("usage: probe TARGET read|write|exec\n");
        return 2;
    }
    volatile uint64_t *p = (volatile uint64_t *)target(argv[1]);
    printf("probe: %s %s at %#lx\n", argv[2], argv[1], (unsigned long)p);
    if (!strcmp(argv[2], "read")) {
        uint64_t v = *p;
        printf("probe: LEAK: read %#lx from %#lx\n", (unsigned long)v, (unsigned long)p);
    } else if (!strcmp(argv[2], "write")) {
        *p = 0x4141414141414141ULL;
        printf("probe: LEAK: wrote to %#lx\n", (unsigned long)p);
    } else if (!strcmp(argv[2], "exec")) {
        ((void (*)(void))(uintptr_t)p)();
        printf("probe: LEAK: executed at %#lx\n", (unsigned long)p);
    }
    return 1;
}
