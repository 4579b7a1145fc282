#include <stdint.h>
#include <arch/fpu.h>
#include <arch/cpu.h>
#include "arch/x86_64/entry_area.h"
#include "lib/string.h"

unsigned fpu_area_size(void)
{
    return cpu_feat.xsave_size;
}

void fpu_init_area(void *area)
{
    memset(area, 0, cpu_feat.xsave_size);
    uint16_t fcw = 0x37f;
    uint32_t mxcsr = 0x1f80;
    memcpy((char *)area + 0, &fcw, 2);
    memcpy((char *)area + 24, &mxcsr, 4);
    if (cpu_feat.xsave) {
        uint64_t bv = 3; /* x87 and SSE from the legacy area, rest init */
        memcpy((char *)area + 512, &bv, 8);
    }
}
