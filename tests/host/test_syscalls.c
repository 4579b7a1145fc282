/*
 * The system-call list (abi/airlock/syscalls.def) cannot have a hole: a
 * gap, a duplicate number, a duplicate name or numbers out of order must
 * be build errors in the kernel's table (kernel/syscall_table.c). Each test
 * writes a mutated copy of the list into a scratch directory that shadows
 * the real one on the include path, compiles the table with the host
 * compiler (-fsyntax-only), and checks the verdict; the unmodified list
 * must compile (so a broken setup cannot pass as "refused").
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#ifndef ROOT_DIR
#error "ROOT_DIR must name the repository root"
#endif

#define MAX_LINES 256

static char *lines[MAX_LINES]; /* the SYSCALL(...) lines of the real list */
static int nlines;
static char header[8192];      /* everything before the first SYSCALL line */

static void load(void)
{
    if (nlines)
        return;
    FILE *f = fopen(ROOT_DIR "/abi/airlock/syscalls.def", "r");
    assert_non_null(f);
    char buf[512];
    while (fgets(buf, sizeof buf, f)) {
        if (!strncmp(buf, "SYSCALL(", 8)) {
            assert_true(nlines < MAX_LINES);
            lines[nlines++] = strdup(buf);
        } else if (!nlines) {
            assert_true(strlen(header) + strlen(buf) < sizeof header);
            strcat(header, buf);
        }
    }
    fclose(f);
    assert_true(nlines > 10);
}

/* write `n` lines (already mutated) as the list and compile the table;
 * returns the compiler's exit status (0: accepted) */
static int compile_with(char *const *l, int n)
{
    char dir[] = "/tmp/airlock-sysdef-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[512], cmd[2048];
    snprintf(cmd, sizeof cmd, "mkdir -p %s/abi/airlock", dir);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/abi/airlock/syscalls.def", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(header, f);
    for (int i = 0; i < n; i++)
        fputs(l[i], f);
    fclose(f);
    /* the scratch directory comes first, so both abi/airlock/syscall.h and
     * the table see the mutated list */
    snprintf(cmd, sizeof cmd,
             "gcc -std=c11 -Wall -Wextra -Werror -fsyntax-only -ffreestanding -I%s -I" ROOT_DIR " -I" ROOT_DIR
             "/arch/x86_64/include " ROOT_DIR "/kernel/syscall_table.c >%s/log 2>&1",
             dir, dir);
    int st = system(cmd);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    return st;
}

/* copy of the list with line i replaced by `repl` (NULL: dropped) */
static int compile_replacing(int i, const char *repl)
{
    char *l[MAX_LINES];
    int n = 0;
    for (int k = 0; k < nlines; k++) {
        if (k != i)
            l[n++] = lines[k];
        else if (repl)
            l[n++] = (char *)repl;
    }
    return compile_with(l, n);
}

/* the number of line i's entry */
static int number_of(int i)
{
    int nr = -1;
    assert_int_equal(sscanf(lines[i], "SYSCALL(%d", &nr), 1);
    return nr;
}

static void test_real_list_compiles(void **state)
{
    (void)state;
    load();
    for (int i = 0; i < nlines; i++)
        assert_int_equal(number_of(i), i);
    assert_int_equal(compile_with(lines, nlines), 0);
}

static void test_gap_refused(void **state)
{
    (void)state;
    load();
    /* drop an entry in the middle: the ones after it no longer match */
    assert_int_not_equal(compile_replacing(nlines / 2, NULL), 0);
}

static void test_last_renumbered_refused(void **state)
{
    (void)state;
    load();
    /* the last entry numbered one too high leaves a hole before it */
    char buf[512];
    const char *rest = strchr(lines[nlines - 1], ',');
    assert_non_null(rest);
    snprintf(buf, sizeof buf, "SYSCALL(%d%s", nlines, rest);
    assert_int_not_equal(compile_replacing(nlines - 1, buf), 0);
}

static void test_duplicate_number_refused(void **state)
{
    (void)state;
    load();
    /* entry 5 numbered like entry 4 */
    char buf[512];
    const char *rest = strchr(lines[5], ',');
    snprintf(buf, sizeof buf, "SYSCALL(%d%s", number_of(4), rest);
    assert_int_not_equal(compile_replacing(5, buf), 0);
}

static void test_duplicate_name_refused(void **state)
{
    (void)state;
    load();
    /* a new last entry reusing the name (and handler) of entry 0 */
    char *l[MAX_LINES + 1];
    memcpy(l, lines, sizeof(char *) * (size_t)nlines);
    char buf[512];
    const char *rest = strchr(lines[0], ',');
    snprintf(buf, sizeof buf, "SYSCALL(%d%s", nlines, rest);
    l[nlines] = buf;
    assert_int_not_equal(compile_with(l, nlines + 1), 0);
}

static void test_swapped_order_refused(void **state)
{
    (void)state;
    load();
    char *l[MAX_LINES];
    memcpy(l, lines, sizeof(char *) * (size_t)nlines);
    char *t = l[2];
    l[2] = l[3];
    l[3] = t;
    assert_int_not_equal(compile_with(l, nlines), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_list_compiles),      cmocka_unit_test(test_gap_refused),
        cmocka_unit_test(test_last_renumbered_refused), cmocka_unit_test(test_duplicate_number_refused),
        cmocka_unit_test(test_duplicate_name_refused),  cmocka_unit_test(test_swapped_order_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
