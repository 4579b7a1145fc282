/*
 * lib/elf.h - validation of untrusted ELF64 images (the kernel loads sigma0
 * and the root task with it, the root task every other boot module).
 *
 * The parser only validates and describes an image; it does not map or
 * copy anything. Its output is safe to act on: every described segment
 * lies (page-rounded) inside the caller's user range, no two segments
 * share a page, no segment is both writable and executable, and each
 * segment's file bytes lie inside the image.
 *
 * Only little-endian x86-64 static executables (ET_EXEC, no PT_INTERP or
 * PT_DYNAMIC) are accepted. The host running the parser is assumed to be
 * little-endian (x86_64 kernel and x86_64 host tests).
 */
#ifndef AIRLOCK_KERNEL_ELF_H
#define AIRLOCK_KERNEL_ELF_H

#include <stddef.h>
#include <stdint.h>

#define ELF_MAX_SEGMENTS 16
#define ELF_PAGE         4096ULL
#define ELF_MAX_PHNUM    64

/* Segment permission bits: identical to p_flags PF_R/PF_W/PF_X. */
enum { ELF_SEG_R = 4, ELF_SEG_W = 2, ELF_SEG_X = 1 };

/* e_ident indices and values. */
enum {
    EI_MAG0 = 0,
    EI_MAG1 = 1,
    EI_MAG2 = 2,
    EI_MAG3 = 3,
    EI_CLASS = 4,
    EI_DATA = 5,
    EI_VERSION = 6,
    EI_NIDENT = 16,
    ELFCLASS64 = 2,
    ELFDATA2LSB = 1,
    EV_CURRENT = 1,
    ET_EXEC = 2,
    ET_DYN = 3,
    EM_X86_64 = 62,
    PT_NULL = 0,
    PT_LOAD = 1,
    PT_DYNAMIC = 2,
    PT_INTERP = 3,
    PT_NOTE = 4,
};

/* ELF64 file header, byte-exact on-disk layout (little-endian). */
struct elf64_ehdr {
    unsigned char e_ident[EI_NIDENT];
    uint16_t e_type;
    uint16_t e_machine;
    uint32_t e_version;
    uint64_t e_entry;
    uint64_t e_phoff;
    uint64_t e_shoff;
    uint32_t e_flags;
    uint16_t e_ehsize;
    uint16_t e_phentsize;
    uint16_t e_phnum;
    uint16_t e_shentsize;
    uint16_t e_shnum;
    uint16_t e_shstrndx;
};

/* ELF64 program header, byte-exact on-disk layout (little-endian). */
struct elf64_phdr {
    uint32_t p_type;
    uint32_t p_flags;
    uint64_t p_offset;
    uint64_t p_vaddr;
    uint64_t p_paddr;
    uint64_t p_filesz;
    uint64_t p_memsz;
    uint64_t p_align;
};

_Static_assert(sizeof(struct elf64_ehdr) == 64, "elf64_ehdr layout");
_Static_assert(sizeof(struct elf64_phdr) == 56, "elf64_phdr layout");

/*
 * One loadable segment: [vaddr, vaddr+memsz) in memory, of which the first
 * filesz bytes come from image offset [offset, offset+filesz) and the rest
 * is zero-filled. flags is a non-empty subset of ELF_SEG_R|W|X, never W|X.
 * vaddr need not be page-aligned; the loader rounds to pages itself.
 */
struct elf_segment {
    uint64_t vaddr, memsz, offset, filesz;
    uint32_t flags;
};

/* Validated description of an image; seg[0..nseg) in program-header order. */
struct elf_image {
    uint64_t entry;
    unsigned nseg;
    struct elf_segment seg[ELF_MAX_SEGMENTS];
};

/*
 * Validate image [data, data+size) and fill *out. Allowed user range is
 * [lo, hi): every loadable byte, after rounding each segment out to whole
 * pages, must lie inside it.
 *
 * Returns 0 on success. On rejection returns -22 (-EINVAL), sets *why (if
 * why is non-NULL) to a short static English reason, and zeroes *out.
 *
 * Never reads outside [data, data+size) (data may be unaligned, and may be
 * NULL when size is 0), never overflows in arithmetic, and keeps no state:
 * safe to call concurrently.
 */
int elf_parse(const void *data, size_t size, uint64_t lo, uint64_t hi, struct elf_image *out, const char **why);

#endif /* AIRLOCK_KERNEL_ELF_H */
