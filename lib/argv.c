#include "lib/argv.h"
#include "lib/string.h"

uint64_t argv_build(const char *cmdline, unsigned char *page, uint64_t page_va)
{
    uint64_t sp = 4096, argv[ARGV_MAX + 1];
    unsigned argc = 0;
    const char *s = cmdline;
    while (*s && argc < ARGV_MAX) {
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        const char *w = s;
        while (*s && *s != ' ')
            s++;
        uint64_t n = (uint64_t)(s - w);
        if (n + 1 + (ARGV_MAX + 2) * 8 + 16 > sp)
            return 0;
        sp -= n + 1;
        memcpy(page + sp, w, n);
        page[sp + n] = 0;
        argv[argc++] = page_va + sp;
    }
    argv[argc] = 0;
    sp &= ~15ULL;
    sp -= (argc + 2) * 8;
    sp &= ~15ULL;
    uint64_t argc64 = argc;
    memcpy(page + sp, &argc64, 8);
    memcpy(page + sp + 8, argv, (argc + 1) * 8);
    return page_va + sp;
}
