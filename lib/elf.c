/*
 * kernel/elf.c - validation of untrusted ELF64 boot-module images.
 * Contract in kernel/elf.h.
 *
 * Every header is copied with memcpy into a correctly aligned local before
 * use, every offset/size pair is checked against the image size without
 * overflow, and every address sum uses __builtin_add_overflow.
 */
#include "lib/elf.h"

#include <stdbool.h>

#include "lib/string.h"

#define EINVAL_RET (-22)

static int reject(struct elf_image *out, const char **why, const char *reason)
{
    memset(out, 0, sizeof *out);
    if (why)
        *why = reason;
    return EINVAL_RET;
}

/* True iff [off, off+len) lies inside a file of size bytes. */
static bool in_file(uint64_t off, uint64_t len, size_t size)
{
    uint64_t end;
    if (__builtin_add_overflow(off, len, &end))
        return false;
    return end <= (uint64_t)size;
}

/* Round [vaddr, vaddr+memsz) out to pages. False on overflow. */
static bool page_span(uint64_t vaddr, uint64_t memsz, uint64_t *start, uint64_t *end)
{
    uint64_t e;
    if (__builtin_add_overflow(vaddr, memsz, &e))
        return false;
    if (__builtin_add_overflow(e, ELF_PAGE - 1, &e))
        return false;
    *start = vaddr & ~(ELF_PAGE - 1);
    *end = e & ~(ELF_PAGE - 1);
    return true;
}

static const char *check_ehdr(const struct elf64_ehdr *eh, size_t size)
{
    const unsigned char *id = eh->e_ident;
    if (id[EI_MAG0] != 0x7f || id[EI_MAG1] != 'E' || id[EI_MAG2] != 'L' || id[EI_MAG3] != 'F')
        return "bad magic";
    if (id[EI_CLASS] != ELFCLASS64)
        return "not a 64-bit ELF";
    if (id[EI_DATA] != ELFDATA2LSB)
        return "not little-endian";
    if (id[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT)
        return "bad ELF version";
    if (eh->e_type != ET_EXEC)
        return "not a static executable (ET_EXEC)";
    if (eh->e_machine != EM_X86_64)
        return "wrong machine";
    if (eh->e_ehsize < sizeof(struct elf64_ehdr))
        return "bad header size";
    if (eh->e_phentsize != sizeof(struct elf64_phdr))
        return "bad program header entry size";
    if (eh->e_phnum < 1 || eh->e_phnum > ELF_MAX_PHNUM)
        return "bad program header count";
    if (!in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(struct elf64_phdr), size))
        return "program headers outside file";
    return NULL;
}

static void read_phdr(const unsigned char *base, uint64_t phoff, unsigned i, struct elf64_phdr *ph)
{
    /* Bounds were checked in check_ehdr; memcpy tolerates misalignment. */
    memcpy(ph, base + phoff + (uint64_t)i * sizeof *ph, sizeof *ph);
}

/* Validate one PT_LOAD with memsz > 0 against the image and range. */
static const char *check_load(const struct elf64_phdr *ph, size_t size, uint64_t lo, uint64_t hi)
{
    uint64_t start, end;
    uint32_t fl = ph->p_flags & (ELF_SEG_R | ELF_SEG_W | ELF_SEG_X);

    if (ph->p_filesz > ph->p_memsz)
        return "segment file size exceeds memory size";
    if (!in_file(ph->p_offset, ph->p_filesz, size))
        return "segment data outside file";
    if (!page_span(ph->p_vaddr, ph->p_memsz, &start, &end))
        return "segment address overflow";
    if (start < lo || end > hi || start >= end)
        return "segment outside user range";
    if ((fl & ELF_SEG_W) && (fl & ELF_SEG_X))
        return "writable and executable segment";
    if (fl == 0)
        return "segment without permissions";
    return NULL;
}

int elf_parse(const void *data, size_t size, uint64_t lo, uint64_t hi, struct elf_image *out, const char **why)
{
    const unsigned char *base = data;
    struct elf64_ehdr eh;
    struct elf64_phdr ph;
    const char *err;

    if (data == NULL || size < sizeof eh)
        return reject(out, why, "file too small");
    memcpy(&eh, base, sizeof eh);
    if ((err = check_ehdr(&eh, size)) != NULL)
        return reject(out, why, err);

    /* Dynamic linking is refused outright, wherever the header appears. */
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        read_phdr(base, eh.e_phoff, i, &ph);
        if (ph.p_type == PT_INTERP || ph.p_type == PT_DYNAMIC)
            return reject(out, why, "dynamic executables unsupported");
    }

    memset(out, 0, sizeof *out);
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        read_phdr(base, eh.e_phoff, i, &ph);
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
            continue; /* notes, GNU_STACK, empty loads, ... */
        if ((err = check_load(&ph, size, lo, hi)) != NULL)
            return reject(out, why, err);
        if (out->nseg == ELF_MAX_SEGMENTS)
            return reject(out, why, "too many loadable segments");

        /* No two segments may touch the same page. */
        uint64_t s1 = 0, e1 = 0, s2 = 0, e2 = 0;
        page_span(ph.p_vaddr, ph.p_memsz, &s1, &e1); /* checked above */
        for (unsigned j = 0; j < out->nseg; j++) {
            page_span(out->seg[j].vaddr, out->seg[j].memsz, &s2, &e2);
            if (s1 < e2 && s2 < e1)
                return reject(out, why, "overlapping segments");
        }

        struct elf_segment *sg = &out->seg[out->nseg++];
        sg->vaddr = ph.p_vaddr;
        sg->memsz = ph.p_memsz;
        sg->offset = ph.p_offset;
        sg->filesz = ph.p_filesz;
        sg->flags = ph.p_flags & (ELF_SEG_R | ELF_SEG_W | ELF_SEG_X);
    }
    if (out->nseg == 0)
        return reject(out, why, "no loadable segments");

    /* Segments never overlap, so at most one can contain the entry. */
    const struct elf_segment *home = NULL;
    for (unsigned j = 0; j < out->nseg; j++) {
        const struct elf_segment *sg = &out->seg[j];
        /* vaddr + memsz cannot overflow: checked by page_span. */
        if (eh.e_entry >= sg->vaddr && eh.e_entry < sg->vaddr + sg->memsz)
            home = sg;
    }
    if (home == NULL)
        return reject(out, why, "entry outside loadable segments");
    if (!(home->flags & ELF_SEG_X))
        return reject(out, why, "entry not in executable segment");

    out->entry = eh.e_entry;
    return 0;
}
