/*
 * A client of the console server (user/bin/console.c, protocol
 * user/lib/console.h), for the `console` suite of tools/ktest.py (KTAP).
 * Started with use=console,uart,kbd mem=0xb8000:0x1000: it reads back the
 * VGA text buffer the console draws, and calls the drivers only to know
 * they are ready (their STATS) and, at the end, to make the UART driver
 * go away (UART_QUIT). Its own KTAP lines go to the kernel's log
 * (console_output(0)); what it writes through the console goes to the
 * host's socket on COM2 and to the screen.
 *
 *   contest FLOOD   FLOOD: the bytes the host sends in its flood
 *
 * Steps, each started by a line "contest: ready for ..." on the log that
 * the runner waits for: malformed requests; output with colours, cursor
 * moves, erasing, scrolling and hostile sequences, checked on the screen;
 * a line typed on the serial terminal with a DEL and a Ctrl-C in it (the
 * Ctrl-C must reach CON_INTR and never CON_READ); the colours, a printf
 * and a long line checked by the host on its socket; a line typed on the
 * keyboard (sendkey) with Backspace and Ctrl-C; a flood of binary garbage
 * that overflows the input ring (dropped and counted, exactly); a line
 * after it; the counters; and last the UART driver quits: writes to the
 * console still complete, in bounded time, and the screen still works.
 */
#include "user/lib/airlock.h"
#include "user/lib/console.h"
#include "user/lib/uart.h"
#include "user/lib/kbd.h"
#include "abi/airlock/boot.h"
#include "lib/string.h"

#define VGA_VA       0x49000000UL
#define COLS         80
#define ROWS         25
#define LINE_TIMEOUT 30000000000L

static volatile uint16_t *vga;

static long call(long slot, unsigned long words, unsigned long label, long timeout)
{
    long r = al_ipc(AL_IPC_CALL, slot, AL_TAG(words, 0, label), 0, timeout);
    return r ? r : (long)AL_TAG_LABEL(al_utcb()->tag);
}

static int con_write(const char *s, unsigned long n)
{
    struct al_utcb *u = al_utcb();
    while (n) {
        unsigned long k = n < CON_MAX_BYTES ? n : CON_MAX_BYTES;
        u->mr[0] = k;
        memcpy(&u->mr[1], s, k);
        if (call(AL_SLOT_CONSOLE, 1 + (k + 7) / 8, CON_WRITE, 10000000000L) != CON_OK || u->mr[0] != k)
            return 0;
        s += k;
        n -= k;
    }
    return 1;
}

static int con_puts(const char *s)
{
    return con_write(s, strlen(s));
}

/* up to max bytes; their number, or a negative error */
static long con_read(char *buf, unsigned long max, unsigned long flags, long timeout)
{
    struct al_utcb *u = al_utcb();
    u->mr[0] = max;
    u->mr[1] = flags;
    long r = call(AL_SLOT_CONSOLE, 2, CON_READ, timeout);
    if (r != CON_OK)
        return r > 0 ? (long)u->mr[0] : r;
    unsigned long n = u->mr[0];
    if (n > max || AL_TAG_WORDS(u->tag) != 1 + (n + 7) / 8)
        return -AL_EINVAL;
    memcpy(buf, &u->mr[1], n);
    return (long)n;
}

static int stats(unsigned long *out)
{
    struct al_utcb *u = al_utcb();
    if (call(AL_SLOT_CONSOLE, 0, CON_STATS, AL_TIMEOUT_NEVER) != CON_OK || AL_TAG_WORDS(u->tag) != CON_STAT_WORDS)
        return 0;
    for (int i = 0; i < CON_STAT_WORDS; i++)
        out[i] = u->mr[i];
    return 1;
}

/* a line (to '\n', Backspace applied); 1 if complete; control bytes other
 * than '\b' and '\n' are kept, and counted in *ctl */
static int read_line(char *line, unsigned cap, int *ctl)
{
    unsigned n = 0;
    *ctl = 0;
    for (;;) {
        char c;
        if (con_read(&c, 1, 0, LINE_TIMEOUT) != 1) {
            line[n] = 0;
            return 0;
        }
        if (c == '\n')
            break;
        if (c == '\b') {
            if (n)
                n--;
            continue;
        }
        if ((unsigned char)c < 0x20)
            (*ctl)++;
        if (n + 1 < cap)
            line[n++] = c;
    }
    line[n] = 0;
    return 1;
}

/* ---- the screen ---- */

#define ANY_ATTR 0x100

/* row r shows text, then blanks; text's cells with attribute attr (or ANY_ATTR) */
static int row_is(int r, const char *text, unsigned attr)
{
    unsigned n = (unsigned)strlen(text);
    for (unsigned c = 0; c < COLS; c++) {
        uint16_t v = vga[r * COLS + c];
        char want = c < n ? text[c] : ' ';
        if ((char)(v & 0xff) != want || (c < n && attr != ANY_ATTR && (v >> 8) != attr))
            return 0;
    }
    return 1;
}

/* row r starts with n times ch (attribute 0x07), then blanks */
static int row_of(int r, char ch, unsigned n)
{
    char t[COLS + 1];
    memset(t, ch, n);
    t[n] = 0;
    return row_is(r, t, 0x07);
}

/* text somewhere on the screen, every cell with attribute attr */
static int on_screen(const char *text, unsigned attr)
{
    unsigned n = (unsigned)strlen(text);
    for (unsigned i = 0; i + n <= ROWS * COLS; i++) {
        unsigned k = 0;
        while (k < n && (char)(vga[i + k] & 0xff) == text[k] && (vga[i + k] >> 8) == attr)
            k++;
        if (k == n)
            return 1;
    }
    return 0;
}

/* ---- Ctrl-C ---- */

static char intr_stack[8192] __attribute__((aligned(16)));
static volatile unsigned long intr_seen, intr_calls;
static volatile int intr_quit;

/* waits in CON_INTR, 200 ms at a time (a wait given up must lose nothing) */
static long intr_thread(void *arg)
{
    (void)arg;
    struct al_utcb *u = al_utcb();
    while (!intr_quit) {
        long r = call(AL_SLOT_CONSOLE, 0, CON_INTR, 200000000L);
        if (r == -AL_ETIMEDOUT)
            continue;
        if (r != CON_OK) {
            al_sleep(10000000);
            continue;
        }
        intr_seen += u->mr[0];
        intr_calls++;
    }
    return 0;
}

static int wait_intr(unsigned long want)
{
    for (int i = 0; i < 300 && intr_seen < want; i++)
        al_sleep(10000000);
    return intr_seen == want;
}

static const char long_line_head[] = "long line:";

int main(int argc, char **argv)
{
    struct al_utcb *u = al_utcb();
    int ok = 0;
    long flood = argc > 1 ? strtol_simple(argv[1], &ok) : 0;
    if (!ok || flood < CON_MAX_BYTES) {
        printf("usage: contest FLOOD\n");
        return 2;
    }
    console_output(0); /* our KTAP to the kernel's log */
    ktap_plan(13);

    /* the drivers are up (their ready lines are out before the screen test) */
    u->mr[0] = 0;
    int drivers = call(AL_SLOT_UART, 0, UART_STATS, AL_TIMEOUT_NEVER) == UART_OK &&
                  call(AL_SLOT_KBD, 0, KBD_STATS, AL_TIMEOUT_NEVER) == KBD_OK;
    unsigned long s0[CON_STAT_WORDS];
    ktap_result(drivers && stats(s0), "the UART and keyboard drivers and the console answer");

    /* malformed requests */
    int e = 1;
    u->mr[0] = 0;
    e &= call(AL_SLOT_CONSOLE, 1, CON_WRITE, AL_TIMEOUT_NEVER) == CON_ERR && (long)u->mr[0] == -AL_EINVAL;
    u->mr[0] = CON_MAX_BYTES + 1;
    e &= call(AL_SLOT_CONSOLE, 63, CON_WRITE, AL_TIMEOUT_NEVER) == CON_ERR && (long)u->mr[0] == -AL_EINVAL;
    u->mr[0] = 9;
    e &= call(AL_SLOT_CONSOLE, 2, CON_WRITE, AL_TIMEOUT_NEVER) == CON_ERR && (long)u->mr[0] == -AL_EINVAL;
    u->mr[0] = 0;
    u->mr[1] = 0;
    e &= call(AL_SLOT_CONSOLE, 2, CON_READ, AL_TIMEOUT_NEVER) == CON_ERR && (long)u->mr[0] == -AL_EINVAL;
    u->mr[0] = 8;
    u->mr[1] = 0x10;
    e &= call(AL_SLOT_CONSOLE, 2, CON_READ, AL_TIMEOUT_NEVER) == CON_ERR && (long)u->mr[0] == -AL_EINVAL;
    u->mr[0] = 0;
    u->mr[1] = 4;
    e &= call(AL_SLOT_CONSOLE, 4, 0x63f1 /* the console's own input label */, AL_TIMEOUT_NEVER) == CON_ERR &&
         (long)u->mr[0] == -AL_EINVAL;
    ktap_result(e, "malformed requests are refused (lengths, too few words, flags, a helper's label)");

    /* the screen: nothing may print to the log from here to the checks (the
     * kernel mirrors its log on the VGA text buffer too) */
    long m = al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(0xb8000, 12), VGA_VA, AL_MAP_R);
    vga = (volatile uint16_t *)VGA_VA;
    int w = m == 0;
    w = w && con_puts("\x1b[2J\x1b[H\x1b[1;31mRED-ALERT\x1b[0m \x1b[32;44mgreen-on-blue\x1b[0m plain\n");
    int colours = w && on_screen("RED-ALERT", 0x0c) && on_screen("green-on-blue", 0x12) && on_screen(" plain", 0x07) &&
                  row_is(0, "RED-ALERT green-on-blue plain", ANY_ATTR);
    /* line editing: backspace, erase to the end of the line, delete a character, position */
    w = w && con_puts("\x1b[5;1Habcdef\b\b\x1b[KXY\x1b[5;3H\x1b[P\x1b[6;1H");
    int editing = w && row_is(4, "abdXY", 0x07);
    /* hostile sequences: huge and many parameters, unknown finals, OSC, ESC ( B,
     * a CSI cut by a control byte, binary garbage; then a clean line */
    static char hostile[700];
    unsigned hl = 0;
    const char *hs[] = {"\x1b[999;999H", "\x1b[12345678901234567890C", "\x1b[1;2;3;4;5;6;7;8;9;10;11m",
                        "\x1b[?1049h", "\x1b]0;a title\x07", "\x1b]2;unterminated", "\x1b(B", "\x1b[3\n", "\x1b[>c",
                        "\x1b[38;5;208m", "\x1b[0m", "\x1b"};
    for (unsigned i = 0; i < sizeof hs / sizeof hs[0]; i++) {
        memcpy(hostile + hl, hs[i], strlen(hs[i]));
        hl += (unsigned)strlen(hs[i]);
    }
    uint32_t x = 12345;
    for (unsigned i = 0; i < 400; i++) {
        x = x * 1103515245 + 12345;
        hostile[hl++] = (char)(x >> 16);
    }
    w = w && con_write(hostile, hl) && con_puts("\x07\x1b\\\x1b[0m\x1b[?25h\x1b[2J\x1b[HTOP\x1b[K\n");
    int survived = w && row_is(0, "TOP", 0x07);
    /* scrolling: 30 lines, the last row stays for the cursor */
    char buf[600];
    for (int i = 0; i < 30 && w; i++) {
        unsigned n = 0;
        buf[n++] = 'l', buf[n++] = 'i', buf[n++] = 'n', buf[n++] = 'e', buf[n++] = ' ';
        buf[n++] = (char)('0' + i / 10), buf[n++] = (char)('0' + i % 10), buf[n++] = '\n';
        w = con_write(buf, n);
    }
    int scrolled = w && row_is(23, "line 29", 0x07) && row_is(0, "line 06", 0x07) && row_is(24, "", 0x07);
    /* an overlong line wraps */
    memset(buf, 'w', 200);
    w = w && con_write(buf, 200) && con_puts("\n");
    int wrapped = w && row_of(21, 'w', 80) && row_of(22, 'w', 80) && row_of(23, 'w', 40);
    ktap_result(colours, "colours on the screen: bright red, green on blue, plain (SGR 1;31, 32;44, 0)");
    ktap_result(editing, "line editing on the screen: BS, ESC[K, ESC[P, cursor positions");
    ktap_result(survived && scrolled && wrapped,
                "hostile sequences and garbage skipped (%d), 30 lines scrolled (%d), a long line wrapped (%d)", survived,
                scrolled, wrapped);

    /* a line from the serial terminal, with DEL and Ctrl-C */
    long intr_tid = thread_spawn(intr_thread, 0, intr_stack, sizeof intr_stack, 100, -1);
    al_sleep(20000000); /* (the thread waits in CON_INTR) */
    char line[200];
    long gaveup = con_read(line, 8, 0, 30000000L); /* (a reader that gives up: its place is freed, nothing lost) */
    printf("contest: ready for the serial line\n");
    int ctl, got = read_line(line, sizeof line, &ctl);
    ktap_result(gaveup == -AL_ETIMEDOUT && got && !strcmp(line, "hello serial") && !ctl && wait_intr(1),
                "a line typed on the serial terminal: '%s', its Ctrl-C went to CON_INTR (%lu), none to CON_READ (%d)",
                line, intr_seen, ctl);

    /* output for the host: colours, a printf, a long line */
    int o = con_puts("\x1b[1;33mserial out: 0123456789\x1b[0m\n");
    console_output(1);
    printf("contest: printf through the console %d\n", 42);
    console_output(0);
    memcpy(buf, long_line_head, sizeof long_line_head - 1);
    for (unsigned i = sizeof long_line_head - 1; i < 590; i++)
        buf[i] = (char)('a' + i % 26);
    buf[590] = '\n';
    o = o && con_write(buf, 591) && con_puts("contest: output done\n");
    int printed = on_screen("contest: printf through the console 42", 0x07);
    ktap_result(o && printed, "coloured text, a printf and a 590-byte line written (the host checks them; printf on the screen: %d)",
                printed);

    /* a line from the keyboard, with Backspace and Ctrl-C */
    printf("contest: ready for the keyboard\n");
    got = read_line(line, sizeof line, &ctl);
    ktap_result(got && !strcmp(line, "kbd line") && !ctl && wait_intr(2),
                "a line typed on the keyboard: '%s', its Ctrl-C went to CON_INTR (%lu in all)", line, intr_seen);

    /* a flood of garbage: the input ring fills, the rest is dropped and counted */
    unsigned long s1[CON_STAT_WORDS], s2[CON_STAT_WORDS];
    stats(s1);
    printf("contest: ready for the flood\n");
    int all = 0;
    for (int i = 0; i < 600 && !all; i++) {
        al_sleep(50000000);
        all = stats(s2) && s2[CON_ST_IN_SERIAL] - s1[CON_ST_IN_SERIAL] >= (unsigned long)flood;
    }
    unsigned long drained = 0;
    long n;
    while ((n = con_read(buf, CON_MAX_BYTES, CON_NOWAIT, AL_TIMEOUT_NEVER)) > 0)
        drained += (unsigned long)n;
    stats(s2);
    unsigned long dropped = s2[CON_ST_DROPPED] - s1[CON_ST_DROPPED];
    ktap_result(all && n == 0 && drained == 4096 && drained + dropped == (unsigned long)flood,
                "a flood of %ld bytes: %lu kept (the input ring), %lu dropped and counted", flood, drained, dropped);
    printf("contest: ready for the last line\n");
    got = read_line(line, sizeof line, &ctl);
    ktap_result(got && !strcmp(line, "still alive"), "after the flood, a line: '%s'", line);

    /* the counters */
    stats(s2);
    ktap_result(s2[CON_ST_BAD_REQ] == 6 && s2[CON_ST_INTR] == 2 && intr_calls == 2 && s2[CON_ST_OUT_DROPPED] == 0 &&
                    s2[CON_ST_IN_KBD] >= 10 && s2[CON_ST_ESC_SKIPPED] >= 8,
                "console: %lu bad requests, %lu Ctrl-C, %lu keys, %lu output bytes dropped, %lu escapes skipped, %lu "
                "writers waited",
                s2[CON_ST_BAD_REQ], s2[CON_ST_INTR], s2[CON_ST_IN_KBD], s2[CON_ST_OUT_DROPPED], s2[CON_ST_ESC_SKIPPED],
                s2[CON_ST_WRITE_WAITS]);

    /* the UART driver goes away: writing goes on, in bounded time, the
     * serial bytes that do not fit are dropped */
    long q = call(AL_SLOT_UART, 0, UART_QUIT, AL_TIMEOUT_NEVER);
    uint64_t t0 = (uint64_t)al_clock();
    memset(buf, 'z', CON_MAX_BYTES);
    int wr = 1;
    for (int i = 0; i < 80 && wr; i++) /* 40 KiB: more than the serial ring */
        wr = con_write(buf, CON_MAX_BYTES);
    unsigned long ms = ((uint64_t)al_clock() - t0) / 1000000;
    wr = wr && con_puts("\x1b[2J\x1b[Hafter the UART\n");
    stats(s2);
    ktap_result(q == UART_OK && wr && ms < 10000 && s2[CON_ST_OUT_DROPPED] > 0 && row_is(0, "after the UART", 0x07),
                "the UART driver quit: 40 KiB written anyway in %lu ms, %lu serial bytes dropped, the screen still works",
                ms, s2[CON_ST_OUT_DROPPED]);
    ktap_result(stats(s2) && s2[CON_ST_OUT] > s0[CON_ST_OUT], "the console still answers (%lu bytes written)",
                s2[CON_ST_OUT]);
    intr_quit = 1;
    long status;
    al_thread_join(intr_tid, &status);
    return ktap_failures();
}
