/*
 * The console server (protocol: user/lib/console.h; docs/DRIVERS.md,
 * section 7). Started by the root task as
 *
 *   console serve=console use=uart,kbd mem=0xb8000:0x1000 start=server
 *
 * it holds the receive end of the console endpoint (AL_SLOT_SERVICE; the
 * boot endpoint if started without serve=), send capabilities to the UART
 * driver (AL_SLOT_UART) and the keyboard driver (AL_SLOT_KBD), and the VGA
 * text buffer's page (AL_SLOT_IOMEM). Each of the three is optional: what
 * is missing is left out (no serial terminal, no keyboard, no screen).
 *
 * Four threads. The main thread owns every buffer and answers every
 * request; the three others only talk to a driver and to the main thread,
 * through badged send capabilities of our own to our endpoint (no locks):
 *   - main: receives on the endpoint: clients' CON_* calls and the helpers'
 *     internal calls (CONI_*, believed only with the helper's badge);
 *   - serial reader: UART_READ on the UART driver, the bytes to main
 *     (CONI_INPUT);
 *   - keyboard reader: KBD_READ on the keyboard driver, likewise;
 *   - serial writer: takes up to UART_MAX_BYTES from main's output ring
 *     (CONI_OUT_GET, answered once there are some) and UART_WRITEs them.
 *
 * Output. A CON_WRITE is drawn on the VGA screen at once (an 80x25 text
 * console with a subset of ANSI escape sequences, below) and its bytes,
 * with "\n" made "\r\n", go into the serial output ring (16 KiB). The reply
 * comes once they are all in the ring. If they do not fit, the writer waits
 * (up to WRITERS of them at a time, in order) for the serial writer to make
 * room, but at most WRITE_WAIT: then, or at once if the serial writer has
 * been stuck in the UART driver for WRITE_WAIT already (the driver is gone
 * or its line is blocked), or with no place to wait, what does not fit is
 * dropped and counted (CON_ST_OUT_DROPPED). So a client never waits much
 * longer than WRITE_WAIT, whatever the UART does.
 *
 * Input. Bytes from both readers go into one input ring (4 KiB); when it
 * is full they are dropped and counted (CON_ST_DROPPED). From the serial
 * terminal, CR and CR LF become "\n" and DEL (0x7f) becomes "\b", so that
 * both sources type alike. Ctrl-C (0x03) is never put in the ring: a
 * CON_INTR waiter is answered with the count since the last answer, or
 * the count grows. Up to READERS readers wait at a time, served in order.
 *
 * A UART driver restart: its endpoint stays the same. The serial reader's
 * UART_READ fails (the saved reply goes with the dead driver) and is
 * retried every RETRY_SLEEP; the serial writer's UART_WRITE likewise (the
 * same chunk again), or it waits in the endpoint's queue until the new
 * driver receives it. Lost in flight: the bytes in the old driver's
 * receive ring (typed, not yet read by us) and in its transmit ring
 * (written, not yet sent); the chunk of a UART_WRITE that failed is sent
 * again whole, so the part of it the old driver had sent already appears
 * twice; while no driver takes our writes, what overflows the output ring
 * after WRITE_WAIT is dropped (counted). The screen and the keyboard are
 * not affected.
 *
 * VGA text console: 80x25 at 0xb8000, mapped uncached through the iomem
 * capability, with a shadow copy (we never read the device memory). The
 * hardware cursor needs the CRT controller's ports 0x3d4/0x3d5, which the
 * kernel keeps: the cursor is drawn in software (the cell's colours
 * swapped; ESC[?25l hides it, ESC[?25h shows it). Understood: printable
 * bytes (a byte above 0x7e is drawn as a block, UTF-8 continuation bytes
 * are skipped), CR, LF (a new line: the clients write "\n"), BS (left, not
 * erasing), TAB (every 8 columns), and the CSI sequences ESC [ ... with
 * the finals m (SGR 0, 1, 22, 30-37, 39, 40-47, 49, 90-97, 100-107), K
 * (erase in line 0/1/2), J (erase in display 0/1/2/3), H and f (position),
 * A B C D (moves), G (column), d (row), P (delete characters), @ (insert
 * blanks), s and u (save/restore the cursor). Anything else is skipped
 * whole and counted (CON_ST_ESC_SKIPPED): other CSI finals, ESC with an
 * intermediate byte (ESC ( B), OSC strings up to BEL or ESC \ ; sequences
 * are bounded (a CSI longer than 64 bytes or an OSC longer than 512 ends
 * there), parameters saturate at 9999. Writing the last column wraps
 * lazily (at the next character), the last line scrolls.
 *
 *   console
 */
#include "user/lib/airlock.h"
#include "user/lib/console.h"
#include "user/lib/uart.h"
#include "user/lib/kbd.h"
#include "abi/airlock/boot.h"
#include "lib/string.h"

/* our own slots, above the well-known ones */
#define SLOT_URX     16 /* send capabilities to our endpoint, one per helper (its badge) */
#define SLOT_KRX     17
#define SLOT_UTX     18
#define SLOT_OUT_GET 19 /* the serial writer waiting for bytes */
#define SLOT_INTR    20 /* the CON_INTR waiter */
#define SLOT_READER  24 /* .. + READERS: waiting readers */
#define SLOT_WRITER  32 /* .. + WRITERS: waiting writers */
#define READERS      4
#define WRITERS      8

#define BADGE_URX 0x636f6e7572780001UL
#define BADGE_KRX 0x636f6e6b72780002UL
#define BADGE_UTX 0x636f6e7574780003UL
/* internal labels (helpers to main, with their badge only) */
#define CONI_INPUT   0x63f1 /* mr[0] = source (0 serial, 1 keyboard), mr[1] = n, bytes from mr[2] */
#define CONI_OUT_GET 0x63f2 /* reply: mr[0] = n (1..UART_MAX_BYTES), bytes from mr[1] */

#define IN_RING     4096
#define OUT_RING    16384
#define WRITE_WAIT  1000000000UL /* ns a writer may wait for room in the serial ring */
#define RETRY_SLEEP 50000000UL   /* ns between attempts on a failing driver */
#define TICK        100000000L   /* receive timeout while writers wait (their deadlines) */

#define VGA_PA   0xb8000UL
#define VGA_VA   0x48000000UL
#define COLS     80
#define ROWS     25
#define CSI_MAX  64
#define OSC_MAX  512
#define NPARAMS  8

static long EP = AL_SLOT_BOOT_EP;
static int have_uart, have_kbd, have_vga;
static unsigned long st[CON_STAT_WORDS];
static volatile unsigned long uart_retries, kbd_retries;

/* ------------------------------------------------------------------ */
/* byte rings (sizes: powers of two) */

struct ring {
    unsigned char *buf;
    unsigned long size, head, tail;
};
static unsigned char in_mem[IN_RING], out_mem[OUT_RING];
static struct ring in = {in_mem, IN_RING, 0, 0}, out = {out_mem, OUT_RING, 0, 0};

static unsigned long ring_count(const struct ring *r)
{
    return r->head - r->tail;
}
static unsigned long ring_free(const struct ring *r)
{
    return r->size - ring_count(r);
}
static void ring_put(struct ring *r, unsigned char c)
{
    r->buf[r->head++ & (r->size - 1)] = c;
}
static unsigned char ring_peek(const struct ring *r, unsigned long i)
{
    return r->buf[(r->tail + i) & (r->size - 1)];
}

/* ------------------------------------------------------------------ */
/* the VGA text console */

static volatile uint16_t *vga;
static uint16_t shadow[ROWS * COLS];
static int row, col, wrap_pending, cursor_on = 1, saved_row, saved_col;
static int cur_drawn = -1; /* the cell showing the cursor, -1: none */
static int fg = 7, bg = 0, bold;
static const unsigned char ansi_to_vga[8] = {0, 4, 2, 6, 1, 5, 3, 7};

enum { S_NORMAL, S_ESC, S_ESC_INTER, S_CSI, S_OSC, S_OSC_ESC };
static int state, seq_len, nparams, csi_private, csi_bad;
static unsigned params[NPARAMS];

static uint16_t attr(void)
{
    return (uint16_t)(((bg & 7) << 4 | ((fg | (bold ? 8 : 0)) & 15)) << 8);
}

static void cell(int r, int c, uint16_t v)
{
    shadow[r * COLS + c] = v;
    vga[r * COLS + c] = v;
}

static void clear_cells(int from, int to) /* [from, to) in cell indices */
{
    uint16_t v = attr() | ' ';
    for (int i = from; i < to; i++) {
        shadow[i] = v;
        vga[i] = v;
    }
}

static void scroll_up(void)
{
    memmove(shadow, shadow + COLS, sizeof shadow - COLS * sizeof shadow[0]);
    uint16_t v = attr() | ' ';
    for (int c = 0; c < COLS; c++)
        shadow[(ROWS - 1) * COLS + c] = v;
    for (int i = 0; i < ROWS * COLS; i++)
        vga[i] = shadow[i];
    if (cur_drawn >= COLS)
        cur_drawn -= COLS; /* (the cursor's cell moved up with the rest) */
    else
        cur_drawn = -1;
}

static void newline(void)
{
    col = 0;
    wrap_pending = 0;
    if (++row == ROWS) {
        row = ROWS - 1;
        scroll_up();
    }
}

static void put_glyph(unsigned char g)
{
    if (wrap_pending)
        newline();
    cell(row, col, attr() | g);
    if (++col == COLS) {
        col = COLS - 1;
        wrap_pending = 1;
    }
}

static int clampi(long v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : (int)v;
}

static unsigned param(int i, unsigned dflt)
{
    return i < nparams && params[i] ? params[i] : dflt;
}

static void sgr(void)
{
    if (!nparams) {
        fg = 7, bg = 0, bold = 0;
        return;
    }
    for (int i = 0; i < nparams; i++) {
        unsigned p = params[i];
        if (p == 0)
            fg = 7, bg = 0, bold = 0;
        else if (p == 1)
            bold = 1;
        else if (p == 22)
            bold = 0;
        else if (p >= 30 && p <= 37)
            fg = ansi_to_vga[p - 30];
        else if (p == 39)
            fg = 7;
        else if (p >= 40 && p <= 47)
            bg = ansi_to_vga[p - 40];
        else if (p == 49)
            bg = 0;
        else if (p >= 90 && p <= 97)
            fg = ansi_to_vga[p - 90] | 8;
        else if (p >= 100 && p <= 107)
            bg = ansi_to_vga[p - 100]; /* (bright backgrounds would blink) */
        /* others (italic, 256 colours, ...): ignored */
    }
}

static void csi(unsigned char final)
{
    int here = row * COLS + col;
    if (csi_bad) {
        st[CON_ST_ESC_SKIPPED]++;
        return;
    }
    if (csi_private) { /* only ESC[?25h / ESC[?25l */
        if ((final == 'h' || final == 'l') && nparams == 1 && params[0] == 25)
            cursor_on = final == 'h';
        else
            st[CON_ST_ESC_SKIPPED]++;
        return;
    }
    switch (final) {
    case 'm':
        sgr();
        return;
    case 'K': {
        unsigned p = param(0, 0);
        int start = row * COLS;
        if (p == 0)
            clear_cells(here, start + COLS);
        else if (p == 1)
            clear_cells(start, here + 1);
        else
            clear_cells(start, start + COLS);
        return;
    }
    case 'J': {
        unsigned p = param(0, 0);
        if (p == 0)
            clear_cells(here, ROWS * COLS);
        else if (p == 1)
            clear_cells(0, here + 1);
        else
            clear_cells(0, ROWS * COLS);
        return;
    }
    case 'H':
    case 'f':
        row = clampi((long)param(0, 1) - 1, 0, ROWS - 1);
        col = clampi((long)param(1, 1) - 1, 0, COLS - 1);
        break;
    case 'A':
        row = clampi((long)row - param(0, 1), 0, ROWS - 1);
        break;
    case 'B':
        row = clampi((long)row + param(0, 1), 0, ROWS - 1);
        break;
    case 'C':
        col = clampi((long)col + param(0, 1), 0, COLS - 1);
        break;
    case 'D':
        col = clampi((long)col - param(0, 1), 0, COLS - 1);
        break;
    case 'G':
        col = clampi((long)param(0, 1) - 1, 0, COLS - 1);
        break;
    case 'd':
        row = clampi((long)param(0, 1) - 1, 0, ROWS - 1);
        break;
    case 'P': { /* delete n characters: the rest of the line moves left */
        int n = clampi(param(0, 1), 1, COLS - col), start = row * COLS;
        for (int c = col; c < COLS; c++)
            cell(row, c, c + n < COLS ? shadow[start + c + n] : (attr() | ' '));
        break;
    }
    case '@': { /* insert n blanks: the rest of the line moves right */
        int n = clampi(param(0, 1), 1, COLS - col), start = row * COLS;
        for (int c = COLS - 1; c >= col; c--)
            cell(row, c, c - n >= col ? shadow[start + c - n] : (attr() | ' '));
        break;
    }
    case 's':
        saved_row = row, saved_col = col;
        return;
    case 'u':
        row = saved_row, col = saved_col;
        break;
    default:
        st[CON_ST_ESC_SKIPPED]++;
        return;
    }
    wrap_pending = 0; /* (the cursor moved) */
}

static void vga_byte(unsigned char b)
{
    switch (state) {
    case S_ESC:
        seq_len = 0;
        if (b == '[') {
            state = S_CSI;
            nparams = csi_private = csi_bad = 0;
            params[0] = 0;
        } else if (b == ']') {
            state = S_OSC;
        } else if (b >= 0x20 && b <= 0x2f) {
            state = S_ESC_INTER;
        } else if (b == 0x1b) {
            state = S_ESC;
        } else {
            state = S_NORMAL; /* ESC and one byte (ESC 7, ESC c, ...): skipped */
            st[CON_ST_ESC_SKIPPED]++;
        }
        return;
    case S_ESC_INTER: /* ESC ( B and friends: up to the final byte */
        if (++seq_len > CSI_MAX || b >= 0x30 || b < 0x20) {
            state = b == 0x1b ? S_ESC : S_NORMAL;
            st[CON_ST_ESC_SKIPPED]++;
        }
        return;
    case S_CSI:
        if (++seq_len > CSI_MAX) {
            state = S_NORMAL;
            st[CON_ST_ESC_SKIPPED]++;
            return;
        }
        if (b >= '0' && b <= '9') {
            if (!nparams)
                nparams = 1;
            unsigned *p = &params[nparams - 1];
            *p = *p * 10 + (b - '0');
            if (*p > 9999)
                *p = 9999;
        } else if (b == ';') {
            if (!nparams)
                nparams = 1;
            if (nparams < NPARAMS)
                params[nparams++] = 0;
            else
                csi_bad = 1;
        } else if (b == '?' && seq_len == 1) {
            csi_private = 1;
        } else if (b >= 0x20 && b <= 0x3f) { /* other parameter and intermediate bytes */
            csi_bad = 1;
        } else if (b >= 0x40 && b <= 0x7e) {
            state = S_NORMAL;
            csi(b);
        } else { /* a control byte or high byte: the sequence ends, unfinished */
            state = b == 0x1b ? S_ESC : S_NORMAL;
            st[CON_ST_ESC_SKIPPED]++;
        }
        return;
    case S_OSC:
        if (b == 0x07 || ++seq_len > OSC_MAX) {
            state = S_NORMAL;
            st[CON_ST_ESC_SKIPPED]++;
        } else if (b == 0x1b) {
            state = S_OSC_ESC;
        }
        return;
    case S_OSC_ESC: /* ESC \ ends it; anything else too */
        state = S_NORMAL;
        st[CON_ST_ESC_SKIPPED]++;
        return;
    }
    /* S_NORMAL */
    if (b >= 0x20 && b < 0x7f) {
        put_glyph(b);
        return;
    }
    switch (b) {
    case '\r':
        col = 0;
        wrap_pending = 0;
        return;
    case '\n':
        newline();
        return;
    case '\b':
        if (wrap_pending)
            wrap_pending = 0;
        else if (col)
            col--;
        return;
    case '\t':
        if (wrap_pending)
            newline();
        col = (col + 8) & ~7;
        if (col >= COLS)
            col = COLS - 1;
        return;
    case 0x1b:
        state = S_ESC;
        return;
    }
    if (b >= 0xc0)
        put_glyph(0xfe); /* a UTF-8 lead byte (or garbage): a small block */
    /* other C0 controls, DEL, UTF-8 continuation bytes: nothing */
}

static void cursor_update(void)
{
    if (cur_drawn >= 0)
        vga[cur_drawn] = shadow[cur_drawn];
    cur_drawn = -1;
    if (!cursor_on)
        return;
    int i = row * COLS + col;
    uint16_t v = shadow[i];
    /* swap foreground and background (bright bit kept with the foreground) */
    vga[i] = (uint16_t)((v & 0xff) | (v & 0x0700) << 4 | (v & 0x7000) >> 4 | (v & 0x0800));
    cur_drawn = i;
}

static void vga_write(const unsigned char *p, unsigned long n)
{
    if (!have_vga)
        return;
    for (unsigned long i = 0; i < n; i++)
        vga_byte(p[i]);
    cursor_update();
}

static int vga_init(void)
{
    struct al_cap_info ci;
    if (al_cap_info(AL_SLOT_IOMEM, &ci) || ci.type != AL_CAP_IOMEM)
        return 0;
    if (al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(VGA_PA, 12), VGA_VA, AL_MAP_RW))
        return 0;
    vga = (volatile uint16_t *)VGA_VA;
    clear_cells(0, ROWS * COLS);
    cursor_update();
    return 1;
}

/* ------------------------------------------------------------------ */
/* replies */

static int alive(long slot)
{
    struct al_cap_info ci;
    return al_cap_info(slot, &ci) == 0 && ci.type == AL_CAP_REPLY;
}

static long save(long slot)
{
    al_cap_delete(slot); /* (a stale one) */
    return al_reply_save(slot);
}

static void reply_err(long slot, long err)
{
    al_utcb()->mr[0] = (unsigned long)err;
    al_ipc(AL_IPC_REPLY, slot, AL_TAG(1, 0, CON_ERR), 0, 0);
}

static void reply_stats(void)
{
    struct al_utcb *u = al_utcb();
    st[CON_ST_UART_RETRIES] = uart_retries;
    st[CON_ST_KBD_RETRIES] = kbd_retries;
    for (int i = 0; i < CON_STAT_WORDS; i++)
        u->mr[i] = st[i];
    al_ipc(AL_IPC_REPLY, -1, AL_TAG(CON_STAT_WORDS, 0, CON_OK), 0, 0);
}

/* ------------------------------------------------------------------ */
/* input */

/* waiting readers: a queue (reply capabilities cannot be copied, so they
 * stay in their slots, SLOT_READER + index) */
static int rd_first, rd_n;
static unsigned long rd_max[READERS];
static int intr_waiting;
static unsigned long intr_count;
static int last_cr;

/* up to max bytes of the input ring to slot; consumed only if the reply
 * went through (0), else they stay for the next reader */
static long reply_read(long slot, unsigned long max)
{
    struct al_utcb *u = al_utcb();
    unsigned long n = ring_count(&in) < max ? ring_count(&in) : max;
    unsigned char *p = (unsigned char *)&u->mr[1];
    for (unsigned long i = 0; i < n; i++)
        p[i] = ring_peek(&in, i);
    u->mr[0] = n;
    long r = al_ipc(AL_IPC_REPLY, slot, AL_TAG(1 + (n + 7) / 8, 0, CON_OK), 0, 0);
    if (r == 0)
        in.tail += n;
    return r;
}

static void pop_reader(void)
{
    al_cap_delete(SLOT_READER + rd_first);
    rd_first = (rd_first + 1) % READERS;
    rd_n--;
}

static void serve_readers(void)
{
    while (rd_n && ring_count(&in)) {
        /* the first waiter; it is gone if its reply fails (it gave up) */
        reply_read(SLOT_READER + rd_first, rd_max[rd_first]);
        pop_reader();
    }
}

static void serve_intr(void)
{
    if (intr_waiting && intr_count) {
        al_utcb()->mr[0] = intr_count;
        if (al_ipc(AL_IPC_REPLY, SLOT_INTR, AL_TAG(1, 0, CON_OK), 0, 0) == 0)
            intr_count = 0;
        intr_waiting = 0; /* (answered, or its caller gave up) */
    }
}

static void input(int source, const unsigned char *p, unsigned long n)
{
    st[source ? CON_ST_IN_KBD : CON_ST_IN_SERIAL] += n;
    for (unsigned long i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (!source) { /* the serial terminal: CR, CR LF -> LF; DEL -> BS */
            int cr = c == '\r';
            if (c == '\n' && last_cr) {
                last_cr = 0;
                continue;
            }
            last_cr = cr;
            if (cr)
                c = '\n';
            else if (c == 0x7f)
                c = '\b';
        }
        if (c == 0x03) {
            st[CON_ST_INTR]++;
            intr_count++;
            continue;
        }
        if (!ring_free(&in)) {
            st[CON_ST_DROPPED]++;
            continue;
        }
        ring_put(&in, c);
    }
    serve_intr();
    serve_readers();
}

/* ------------------------------------------------------------------ */
/* serial output */

struct writer {
    unsigned char bytes[2 * CON_MAX_BYTES]; /* what is left of it, translated */
    unsigned long n, off, len;              /* len: its CON_WRITE's n, for the reply */
    unsigned long deadline;
};
static struct writer writers[WRITERS]; /* waiting writers: a queue, in slots SLOT_WRITER + i */
static int wr_first, wr_n;
static int out_get_waiting;          /* the serial writer waits for bytes */
static unsigned long out_given_at;   /* when it last took bytes; 0: it came back since */

static unsigned long now(void)
{
    return (unsigned long)al_clock();
}

/* the serial writer has been inside the UART driver for too long */
static int uart_stuck(void)
{
    return have_uart && out_given_at && now() - out_given_at > WRITE_WAIT;
}

static void writer_done(int k)
{
    struct writer *w = &writers[k];
    al_utcb()->mr[0] = w->len;
    al_ipc(AL_IPC_REPLY, SLOT_WRITER + k, AL_TAG(1, 0, CON_OK), 0, 0);
    al_cap_delete(SLOT_WRITER + k);
    wr_first = (wr_first + 1) % WRITERS;
    wr_n--;
}

static void give_out(void)
{
    if (!out_get_waiting || !ring_count(&out))
        return;
    struct al_utcb *u = al_utcb();
    unsigned long n = ring_count(&out) < UART_MAX_BYTES ? ring_count(&out) : UART_MAX_BYTES;
    unsigned char *p = (unsigned char *)&u->mr[1];
    for (unsigned long i = 0; i < n; i++)
        p[i] = ring_peek(&out, i);
    u->mr[0] = n;
    if (al_ipc(AL_IPC_REPLY, SLOT_OUT_GET, AL_TAG(1 + (n + 7) / 8, 0, CON_OK), 0, 0) == 0) {
        out.tail += n;
        out_given_at = now();
        if (!out_given_at)
            out_given_at = 1;
    }
    out_get_waiting = 0;
}

/* move what can move; answer the writers whose bytes are in, or whose time is up */
static void out_progress(void)
{
    unsigned long t = now();
    int stuck = uart_stuck();
    while (wr_n) {
        struct writer *w = &writers[wr_first];
        while (w->off < w->n && ring_free(&out))
            ring_put(&out, w->bytes[w->off++]);
        if (w->off < w->n && (stuck || t > w->deadline)) {
            st[CON_ST_OUT_DROPPED] += w->n - w->off;
            w->off = w->n;
        }
        if (w->off < w->n)
            break;
        writer_done(wr_first);
    }
    give_out();
}

static void con_write(const unsigned char *p, unsigned long n)
{
    st[CON_ST_OUT] += n;
    vga_write(p, n);
    if (!have_uart) {
        al_utcb()->mr[0] = n;
        al_ipc(AL_IPC_REPLY, -1, AL_TAG(1, 0, CON_OK), 0, 0);
        return;
    }
    unsigned char t[2 * CON_MAX_BYTES];
    unsigned long tn = 0, i = 0;
    for (unsigned long k = 0; k < n; k++) {
        if (p[k] == '\n')
            t[tn++] = '\r';
        t[tn++] = p[k];
    }
    if (!wr_n) /* (behind waiting writers, never before them) */
        while (i < tn && ring_free(&out))
            ring_put(&out, t[i++]);
    if (i < tn && (wr_n == WRITERS || uart_stuck())) {
        st[CON_ST_OUT_DROPPED] += tn - i; /* nowhere to wait, or no use */
        i = tn;
    }
    if (i < tn) {
        int k = (wr_first + wr_n) % WRITERS;
        struct writer *w = &writers[k];
        memcpy(w->bytes, t + i, tn - i);
        w->n = tn - i;
        w->off = 0;
        w->len = n;
        w->deadline = now() + WRITE_WAIT;
        if (save(SLOT_WRITER + k) == 0) {
            wr_n++;
            st[CON_ST_WRITE_WAITS]++;
            return;
        }
        st[CON_ST_OUT_DROPPED] += tn - i; /* (the caller is gone) */
        return;
    }
    al_utcb()->mr[0] = n;
    al_ipc(AL_IPC_REPLY, -1, AL_TAG(1, 0, CON_OK), 0, 0);
}

/* ------------------------------------------------------------------ */
/* the helper threads */

static char stk_urx[8192] __attribute__((aligned(16)));
static char stk_krx[8192] __attribute__((aligned(16)));
static char stk_utx[8192] __attribute__((aligned(16)));

/* the bytes a reader got, to the main thread */
static void pass_input(long slot, int source, const unsigned char *p, unsigned long n)
{
    struct al_utcb *u = al_utcb();
    u->mr[0] = (unsigned long)source;
    u->mr[1] = n;
    memcpy(&u->mr[2], p, n);
    al_ipc(AL_IPC_CALL, slot, AL_TAG(2 + (n + 7) / 8, 0, CONI_INPUT), 0, AL_TIMEOUT_NEVER);
}

static long reader(void *arg)
{
    int kbd = arg != 0;
    struct al_utcb *u = al_utcb();
    unsigned char buf[UART_MAX_BYTES];
    for (;;) {
        u->mr[0] = UART_MAX_BYTES; /* (= KBD_MAX_CHARS) */
        u->mr[1] = 0;
        long r = kbd ? al_ipc(AL_IPC_CALL, AL_SLOT_KBD, AL_TAG(2, 0, KBD_READ), 0, AL_TIMEOUT_NEVER)
                     : al_ipc(AL_IPC_CALL, AL_SLOT_UART, AL_TAG(1, 0, UART_READ), 0, AL_TIMEOUT_NEVER);
        unsigned long n = u->mr[0];
        if (r || AL_TAG_LABEL(u->tag) != 0 /* UART_OK, KBD_OK */ || n > UART_MAX_BYTES ||
            AL_TAG_WORDS(u->tag) < 1 + (n + 7) / 8) {
            /* the driver is gone (restarting), or refused: again, a little later */
            if (kbd)
                kbd_retries++;
            else
                uart_retries++;
            al_sleep(RETRY_SLEEP);
            continue;
        }
        if (!n)
            continue;
        memcpy(buf, &u->mr[1], n);
        pass_input(kbd ? SLOT_KRX : SLOT_URX, kbd, buf, n);
    }
    return 0;
}

static long serial_writer(void *arg)
{
    (void)arg;
    struct al_utcb *u = al_utcb();
    unsigned char buf[UART_MAX_BYTES];
    for (;;) {
        long r = al_ipc(AL_IPC_CALL, SLOT_UTX, AL_TAG(0, 0, CONI_OUT_GET), 0, AL_TIMEOUT_NEVER);
        unsigned long n = u->mr[0];
        if (r || AL_TAG_LABEL(u->tag) != CON_OK || n < 1 || n > UART_MAX_BYTES) {
            al_sleep(RETRY_SLEEP);
            continue;
        }
        memcpy(buf, &u->mr[1], n);
        for (;;) {
            u->mr[0] = n;
            memcpy(&u->mr[1], buf, n);
            r = al_ipc(AL_IPC_CALL, AL_SLOT_UART, AL_TAG(1 + (n + 7) / 8, 0, UART_WRITE), 0, AL_TIMEOUT_NEVER);
            if (r == 0 && AL_TAG_LABEL(u->tag) == UART_OK)
                break;
            if (r == 0 && (long)u->mr[0] == -AL_EINVAL)
                break; /* (refused for good: never again) */
            uart_retries++; /* gone, restarting, or busy: the same chunk again */
            al_sleep(RETRY_SLEEP);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */

static int has_send(long slot)
{
    struct al_cap_info ci;
    return al_cap_info(slot, &ci) == 0 && ci.type == AL_CAP_ENDPOINT && (ci.rights & AL_R_SEND);
}

static void request(void)
{
    struct al_utcb *u = al_utcb();
    unsigned long tag = u->tag, label = AL_TAG_LABEL(tag), words = AL_TAG_WORDS(tag), badge = u->badge;
    unsigned long n = u->mr[0];

    /* the helpers, by their badge */
    if ((badge == BADGE_URX || badge == BADGE_KRX) && label == CONI_INPUT) {
        unsigned char buf[UART_MAX_BYTES];
        int src = badge == BADGE_KRX;
        n = u->mr[1];
        if (n <= UART_MAX_BYTES && words >= 2 + (n + 7) / 8) {
            memcpy(buf, &u->mr[2], n);
            al_ipc(AL_IPC_REPLY, -1, AL_TAG(0, 0, CON_OK), 0, 0);
            input(src, buf, n);
        } else {
            reply_err(-1, -AL_EINVAL);
        }
        return;
    }
    if (badge == BADGE_UTX && label == CONI_OUT_GET) {
        out_given_at = 0; /* it is back: the UART took the last chunk */
        if (save(SLOT_OUT_GET) == 0)
            out_get_waiting = 1;
        return;
    }

    if (AL_TAG_ITEMS(tag)) {
        st[CON_ST_BAD_REQ]++;
        reply_err(-1, -AL_EINVAL);
        return;
    }
    switch (label) {
    case CON_WRITE: {
        if (words < 1 || n < 1 || n > CON_MAX_BYTES || words < 1 + (n + 7) / 8) {
            st[CON_ST_BAD_REQ]++;
            reply_err(-1, -AL_EINVAL);
            return;
        }
        unsigned char buf[CON_MAX_BYTES];
        memcpy(buf, &u->mr[1], n);
        con_write(buf, n);
        return;
    }
    case CON_READ: {
        unsigned long flags = words >= 2 ? u->mr[1] : 0;
        if (words < 1 || n < 1 || n > CON_MAX_BYTES || (flags & ~(unsigned long)CON_NOWAIT)) {
            st[CON_ST_BAD_REQ]++;
            reply_err(-1, -AL_EINVAL);
            return;
        }
        while (rd_n && !alive(SLOT_READER + rd_first))
            pop_reader(); /* (waiters that gave up) */
        if (ring_count(&in) || (flags & CON_NOWAIT)) {
            if (!rd_n) { /* (waiting readers first) */
                reply_read(-1, n);
                return;
            }
            if (flags & CON_NOWAIT) {
                u->mr[0] = 0;
                al_ipc(AL_IPC_REPLY, -1, AL_TAG(1, 0, CON_OK), 0, 0);
                return;
            }
        }
        if (rd_n == READERS) {
            reply_err(-1, -AL_EBUSY);
            return;
        }
        int k = (rd_first + rd_n) % READERS;
        if (save(SLOT_READER + k) == 0) {
            rd_max[k] = n;
            rd_n++;
        }
        return;
    }
    case CON_INTR:
        if (intr_count) {
            u->mr[0] = intr_count;
            if (al_ipc(AL_IPC_REPLY, -1, AL_TAG(1, 0, CON_OK), 0, 0) == 0)
                intr_count = 0;
            return;
        }
        if (intr_waiting && alive(SLOT_INTR)) {
            reply_err(-1, -AL_EBUSY);
            return;
        }
        intr_waiting = save(SLOT_INTR) == 0;
        return;
    case CON_STATS:
        reply_stats();
        return;
    default:
        st[CON_ST_BAD_REQ]++;
        reply_err(-1, -AL_EINVAL);
        return;
    }
}

int main(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        printf("console: no arguments expected\n");
        return 2;
    }
    struct al_cap_info ci;
    if (al_cap_info(AL_SLOT_SERVICE, &ci) == 0 && ci.type == AL_CAP_ENDPOINT && (ci.rights & AL_R_RECV))
        EP = AL_SLOT_SERVICE;
    have_uart = has_send(AL_SLOT_UART);
    have_kbd = has_send(AL_SLOT_KBD);
    have_vga = vga_init();
    if (al_cap_copy(EP, SLOT_URX, AL_R_SEND, BADGE_URX) || al_cap_copy(EP, SLOT_KRX, AL_R_SEND, BADGE_KRX) ||
        al_cap_copy(EP, SLOT_UTX, AL_R_SEND, BADGE_UTX)) {
        printf("console: cannot make our own capabilities to the endpoint\n");
        return 1;
    }
    if (have_uart && (thread_spawn(reader, (void *)0, stk_urx, sizeof stk_urx, 100, -1) < 0 ||
                      thread_spawn(serial_writer, 0, stk_utx, sizeof stk_utx, 100, -1) < 0))
        have_uart = 0;
    if (have_kbd && thread_spawn(reader, (void *)1, stk_krx, sizeof stk_krx, 100, -1) < 0)
        have_kbd = 0;
    printf("console: ready: serial %s, keyboard %s, screen %s\n", have_uart ? "yes" : "no", have_kbd ? "yes" : "no",
           have_vga ? "80x25 VGA text" : "no");

    for (;;) {
        long r = al_ipc(AL_IPC_RECV, 0, 0, EP, wr_n || out_given_at ? TICK : AL_TIMEOUT_NEVER);
        if (r == 0)
            request();
        out_progress();
    }
}
