/* Host tests for user/lib/lineedit.c: the shell's line editor and command parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "user/lib/lineedit.h"

/* what the editor wrote (the last 64 KiB) */
static char outbuf[65536];
static size_t outn;

static void capture(void *arg, const char *s, size_t n)
{
    (*(int *)arg)++;
    for (size_t i = 0; i < n; i++) {
        if (outn == sizeof outbuf - 1)
            outn = 0;
        outbuf[outn++] = s[i];
    }
    outbuf[outn] = 0;
}

static struct lineedit ed;
static int writes;

static void fresh(void)
{
    outn = 0;
    outbuf[0] = 0;
    writes = 0;
    le_init(&ed, "airlock> ", capture, &writes);
    le_start(&ed);
}

/* feed s; returns how many lines completed; the last one stays in ed.line */
static int feed(const char *s, size_t n)
{
    int lines = 0;
    for (size_t i = 0; i < n; i++)
        if (le_feed(&ed, (unsigned char)s[i]) == LE_LINE)
            lines++;
    return lines;
}
#define FEED(s) feed(s, sizeof(s) - 1)

static void test_prompt_and_echo(void **state)
{
    (void)state;
    fresh();
    assert_string_equal(outbuf, "airlock> ");
    assert_int_equal(FEED("ps"), 0);
    assert_string_equal(outbuf, "airlock> ps");
    assert_int_equal(FEED("\r"), 1);
    assert_string_equal(ed.line, "ps");
    assert_string_equal(outbuf, "airlock> ps\n");
    le_start(&ed);
    assert_int_equal(ed.len, 0);
    assert_string_equal(ed.line, "");
}

static void test_enter_variants(void **state)
{
    (void)state;
    fresh();
    assert_int_equal(FEED("a\r\n"), 1); /* CR LF: one line */
    assert_string_equal(ed.line, "a");
    le_start(&ed);
    assert_int_equal(FEED("b\n"), 1);
    assert_string_equal(ed.line, "b");
    le_start(&ed);
    assert_int_equal(FEED("\n\n"), 2); /* LF LF: two empty lines */
    assert_string_equal(ed.line, "");
    le_start(&ed);
    assert_int_equal(FEED("\r\r"), 2);
}

static void test_backspace(void **state)
{
    (void)state;
    fresh();
    FEED("helo\x7fp\x08\x08lp");
    assert_string_equal(ed.line, "help");
    assert_non_null(strstr(outbuf, "\b\x1b[K"));
    /* backspace on an empty line beeps, and only once for a run */
    fresh();
    FEED("\x7f\x7f\x7f");
    assert_int_equal(ed.len, 0);
    assert_int_equal(ed.beeps, 1);
    assert_int_equal(ed.dropped, 3);
    assert_string_equal(outbuf, "airlock> \a");
}

static void test_ctrl_u_k_w(void **state)
{
    (void)state;
    fresh();
    FEED("run hello world\x15");
    assert_string_equal(ed.line, "");
    assert_int_equal(ed.len, 0);
    /* the redraw: CR, the prompt, erase to the end */
    assert_non_null(strstr(outbuf, "\rairlock> \x1b[K"));
    FEED("run hello world\x17");
    assert_string_equal(ed.line, "run hello ");
    FEED("\x17\x17");
    assert_string_equal(ed.line, "");
    FEED("abc\x01\x0b");
    assert_string_equal(ed.line, "");
}

static void test_cursor_editing(void **state)
{
    (void)state;
    fresh();
    FEED("hlp");
    FEED("\x1b[D\x1b[D"); /* left, left */
    assert_int_equal(ed.cur, 1);
    FEED("e");
    assert_string_equal(ed.line, "help");
    assert_int_equal(ed.cur, 2);
    FEED("\x01X"); /* Ctrl-A, insert at the start */
    assert_string_equal(ed.line, "Xhelp");
    FEED("\x1b[3~"); /* Delete: the byte under the cursor */
    assert_string_equal(ed.line, "Xelp");
    FEED("\x7f\x05!"); /* backspace at 1, Ctrl-E, append */
    assert_string_equal(ed.line, "elp!");
    FEED("\x1b[H\x04"); /* Home, Ctrl-D */
    assert_string_equal(ed.line, "lp!");
    FEED("\x1b[F\x1bOD\x1b[C"); /* End, left (SS3), right */
    assert_int_equal(ed.cur, 3);
    FEED("\x1b[1~"); /* Home as VT220 sends it */
    assert_int_equal(ed.cur, 0);
    FEED("\x1b[4~");
    assert_int_equal(ed.cur, 3);
    /* the cursor goes back with ESC [ n D after a redraw in the middle */
    FEED("\x1b[D\x1b[D\x1b[D");
    outn = 0;
    FEED("y");
    assert_string_equal(outbuf, "\rairlock> ylp!\x1b[K\x1b[3D");
    assert_int_equal(FEED("\r"), 1);
    assert_string_equal(ed.line, "ylp!"); /* Enter takes the whole line, wherever the cursor is */
}

static void test_history(void **state)
{
    (void)state;
    fresh();
    FEED("\x1b[A"); /* empty history: a beep */
    assert_int_equal(ed.beeps, 1);
    FEED("one\r");
    le_start(&ed);
    FEED("two\r");
    le_start(&ed);
    FEED("two\r"); /* a repeat is stored once */
    le_start(&ed);
    FEED("   \r"); /* blank lines are not stored */
    le_start(&ed);
    assert_int_equal(ed.hist_n, 2);
    FEED("thr");
    FEED("\x1b[A");
    assert_string_equal(ed.line, "two");
    FEED("\x1bOA"); /* SS3 form */
    assert_string_equal(ed.line, "one");
    unsigned long b = ed.beeps;
    FEED("\x1b[A"); /* nothing older */
    assert_string_equal(ed.line, "one");
    assert_int_equal(ed.beeps, b + 1);
    FEED("\x1b[B");
    assert_string_equal(ed.line, "two");
    FEED("\x1b[B"); /* back to what was being typed */
    assert_string_equal(ed.line, "thr");
    FEED("\x1b[B");
    assert_string_equal(ed.line, "thr");
    /* a line recalled and edited is entered as edited */
    FEED("\x15\x10!\r"); /* Ctrl-U, Ctrl-P, append */
    assert_string_equal(ed.line, "two!");
    le_start(&ed);
    FEED("\x1b[A");
    assert_string_equal(ed.line, "two!");
    FEED("\x0e"); /* Ctrl-N */
    assert_string_equal(ed.line, "");
}

static void test_history_wraps(void **state)
{
    (void)state;
    fresh();
    char l[16];
    for (int i = 0; i < LE_HIST + 5; i++) {
        int n = snprintf(l, sizeof l, "cmd%d\r", i);
        assert_int_equal(feed(l, (size_t)n), 1);
        le_start(&ed);
    }
    assert_int_equal(ed.hist_n, LE_HIST);
    for (int i = 0; i < LE_HIST; i++)
        FEED("\x1b[A");
    snprintf(l, sizeof l, "cmd%d", 5);
    assert_string_equal(ed.line, l); /* the oldest kept */
    FEED("\x1b[A");
    assert_string_equal(ed.line, l);
}

static void test_long_line_capped(void **state)
{
    (void)state;
    fresh();
    char *big = malloc(8192);
    memset(big, 'x', 8192);
    assert_int_equal(feed(big, 8192), 0);
    assert_int_equal(ed.len, LE_MAX);
    assert_int_equal(strlen(ed.line), LE_MAX);
    assert_int_equal(ed.beeps, 1); /* one beep for the whole run */
    assert_int_equal(ed.dropped, 8192 - LE_MAX);
    /* still editable: delete one, add one */
    FEED("\x7fy");
    assert_int_equal(ed.len, LE_MAX);
    assert_int_equal(ed.line[LE_MAX - 1], 'y');
    assert_int_equal(FEED("\r"), 1);
    assert_int_equal(strlen(ed.line), LE_MAX);
    free(big);
}

static void test_garbage(void **state)
{
    (void)state;
    fresh();
    /* control bytes and high bytes are dropped */
    FEED("a\x02\x00\x09\x80\xff\xc3\xa9"
         "b");
    /* Ctrl-B moved left: 'b' went before 'a' */
    assert_string_equal(ed.line, "ba");
    /* random bytes, many times over: never out of bounds, always a valid line */
    srand(42);
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 2000; i++) {
            unsigned char c = (unsigned char)rand();
            if (le_feed(&ed, c) == LE_LINE) {
                assert_true(strlen(ed.line) <= LE_MAX);
                for (size_t k = 0; k < strlen(ed.line); k++)
                    assert_true(ed.line[k] >= 0x20 && ed.line[k] < 0x7f);
                le_start(&ed);
            }
            assert_true(ed.len <= LE_MAX);
            assert_true(ed.cur <= ed.len);
            assert_int_equal(ed.line[ed.len], 0);
        }
    }
}

static void test_escape_sequences(void **state)
{
    (void)state;
    fresh();
    /* unknown sequences are swallowed whole */
    FEED("a\x1b[99;5Zb\x1b[1;5C\x1b[200~c");
    assert_string_equal(ed.line, "abc");
    /* an overlong parameter run is dropped */
    FEED("\x1b[123456789012345678Ad");
    assert_string_equal(ed.line, "abcd");
    /* Alt-x (ESC x) is dropped */
    FEED("\x1bxe");
    assert_string_equal(ed.line, "abcde");
    /* ESC then Enter: the line is still entered */
    assert_int_equal(FEED("\x1b\r"), 1);
    assert_string_equal(ed.line, "abcde");
    le_start(&ed);
    assert_int_equal(FEED("f\x1b[12\r"), 1);
    assert_string_equal(ed.line, "f");
    le_start(&ed);
    /* a sequence split across reads works as well: it is byte by byte */
    FEED("g");
    le_feed(&ed, 0x1b);
    le_feed(&ed, '[');
    le_feed(&ed, 'D');
    FEED("h");
    assert_string_equal(ed.line, "hg");
}

static void test_interrupt_and_redraw(void **state)
{
    (void)state;
    fresh();
    FEED("some half line\x1b[");
    outn = 0;
    le_interrupt(&ed);
    assert_string_equal(outbuf, "^C\n");
    assert_int_equal(ed.len, 0);
    le_start(&ed);
    FEED("A"); /* the escape state was reset: 'A' is a letter */
    assert_string_equal(ed.line, "A");
    outn = 0;
    le_redraw(&ed);
    assert_string_equal(outbuf, "\rairlock> A\x1b[K");
    outn = 0;
    FEED("\x0c");
    assert_string_equal(outbuf, "\x1b[H\x1b[2J\rairlock> A\x1b[K");
}

/* ---- the parser ---- */

static void test_parse(void **state)
{
    (void)state;
    struct sh_cmd c;
    assert_int_equal(sh_parse("", &c), SH_OK);
    assert_int_equal(c.argc, 0);
    assert_int_equal(sh_parse("  \t ", &c), SH_OK);
    assert_int_equal(c.argc, 0);
    assert_int_equal(sh_parse("ps", &c), SH_OK);
    assert_int_equal(c.argc, 1);
    assert_string_equal(c.argv[0], "ps");
    assert_null(c.argv[1]);
    assert_int_equal(c.bg, 0);
    assert_int_equal(sh_parse("  run   hello  a\tb  ", &c), SH_OK);
    assert_int_equal(c.argc, 4);
    assert_string_equal(c.argv[0], "run");
    assert_string_equal(c.argv[1], "hello");
    assert_string_equal(c.argv[2], "a");
    assert_string_equal(c.argv[3], "b");
    assert_int_equal(c.bg, 0);
    assert_int_equal(sh_parse("run spin 100 &", &c), SH_OK);
    assert_int_equal(c.argc, 3);
    assert_int_equal(c.bg, 1);
    assert_string_equal(c.argv[2], "100");
    assert_int_equal(sh_parse("run spin 100&  ", &c), SH_OK);
    assert_int_equal(c.argc, 3);
    assert_int_equal(c.bg, 1);
    assert_string_equal(c.argv[2], "100");
    assert_int_equal(sh_parse("&", &c), SH_OK);
    assert_int_equal(c.argc, 0);
    assert_int_equal(c.bg, 1);
    assert_int_equal(sh_parse("run a & b", &c), SH_EAMP);
    assert_int_equal(c.argc, 0);
    assert_int_equal(sh_parse("run a && ", &c), SH_EAMP);
    assert_int_equal(sh_parse("a b c d e f g h i j k l m n o p", &c), SH_OK);
    assert_int_equal(c.argc, SH_MAXARGS);
    assert_int_equal(sh_parse("a b c d e f g h i j k l m n o p q", &c), SH_ETOOMANY);
    assert_int_equal(c.argc, 0);
    char big[LE_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(sh_parse(big, &c), SH_ELONG);
    big[LE_MAX] = 0;
    assert_int_equal(sh_parse(big, &c), SH_OK);
    assert_int_equal(c.argc, 1);
}

static void test_join(void **state)
{
    (void)state;
    struct sh_cmd c;
    char out[16];
    assert_int_equal(sh_parse("run  hello   big world &", &c), SH_OK);
    assert_int_equal(sh_join(&c, 1, out, sizeof out), 15);
    assert_string_equal(out, "hello big world");
    assert_int_equal(sh_join(&c, 0, out, sizeof out), -1); /* 19 bytes */
    assert_int_equal(sh_join(&c, 4, out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(sh_join(&c, 3, out, 6), 5);
    assert_int_equal(sh_join(&c, 3, out, 5), -1);
}

static void test_number(void **state)
{
    (void)state;
    unsigned long v = 7;
    assert_true(sh_number("0", &v) && v == 0);
    assert_true(sh_number("42", &v) && v == 42);
    assert_true(sh_number("18446744073709551615", &v) && v == ~0UL);
    v = 7;
    assert_false(sh_number("18446744073709551616", &v));
    assert_false(sh_number("", &v));
    assert_false(sh_number("-1", &v));
    assert_false(sh_number("12x", &v));
    assert_false(sh_number("0x10", &v));
    assert_int_equal(v, 7);
}

static void test_name_matches(void **state)
{
    (void)state;
    assert_true(sh_name_matches("uart rx=1024", "uart"));
    assert_true(sh_name_matches("uart.elf rx=1024", "uart"));
    assert_true(sh_name_matches("uart.elf rx=1024", "uart.elf"));
    assert_true(sh_name_matches("build/user/uart.elf rx=1024", "uart"));
    assert_true(sh_name_matches("build/user/uart.elf", "build/user/uart.elf"));
    assert_true(sh_name_matches("kbd", "kbd"));
    assert_false(sh_name_matches("kbd", "kb"));
    assert_false(sh_name_matches("kbd", "kbdx"));
    assert_false(sh_name_matches("kbdtest", "kbd"));
    assert_false(sh_name_matches("uart rx=1024", "rx=1024"));
    assert_false(sh_name_matches("uart", ""));
    assert_false(sh_name_matches("", "uart"));
    assert_false(sh_name_matches(".elf", ""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prompt_and_echo),  cmocka_unit_test(test_enter_variants),
        cmocka_unit_test(test_backspace),        cmocka_unit_test(test_ctrl_u_k_w),
        cmocka_unit_test(test_cursor_editing),   cmocka_unit_test(test_history),
        cmocka_unit_test(test_history_wraps),    cmocka_unit_test(test_long_line_capped),
        cmocka_unit_test(test_garbage),          cmocka_unit_test(test_escape_sequences),
        cmocka_unit_test(test_interrupt_and_redraw), cmocka_unit_test(test_parse),
        cmocka_unit_test(test_join),             cmocka_unit_test(test_number),
        cmocka_unit_test(test_name_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
