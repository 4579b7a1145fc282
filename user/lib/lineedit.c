/* The shell's line editor and command parser (user/lib/lineedit.h). */
#include "user/lib/lineedit.h"
#include "lib/string.h"

#define BEL  "\a"
#define EL   "\x1b[K"        /* erase to the end of the line */
#define CLS  "\x1b[H\x1b[2J" /* home, erase the screen */
#define CTRL(c) ((c)&0x1f)

static void out(struct lineedit *e, const char *s, size_t n)
{
    if (n && e->write)
        e->write(e->arg, s, n);
}

static void outs(struct lineedit *e, const char *s)
{
    out(e, s, strlen(s));
}

static void beep(struct lineedit *e)
{
    e->dropped++;
    if (!e->prev_rejected) {
        e->beeps++;
        outs(e, BEL);
    }
    e->rejected = 1;
}

/* ESC [ n D: the cursor n columns to the left */
static void left(struct lineedit *e, size_t n)
{
    if (!n)
        return;
    if (n == 1) {
        outs(e, "\b");
        return;
    }
    char b[16], *p = b + sizeof b;
    *--p = 'D';
    do
        *--p = (char)('0' + n % 10);
    while (n /= 10);
    *--p = '[';
    *--p = '\x1b';
    out(e, p, (size_t)(b + sizeof b - p));
}

void le_redraw(struct lineedit *e)
{
    outs(e, "\r");
    outs(e, e->prompt);
    out(e, e->line, e->len);
    outs(e, EL);
    left(e, e->len - e->cur);
}

void le_init(struct lineedit *e, const char *prompt, le_write_fn write, void *arg)
{
    memset(e, 0, sizeof *e);
    size_t n = strlen(prompt);
    if (n >= LE_PROMPT_MAX)
        n = LE_PROMPT_MAX - 1;
    memcpy(e->prompt, prompt, n);
    e->prompt[n] = 0;
    e->write = write;
    e->arg = arg;
    e->hist_pos = -1;
}

static void clear_line(struct lineedit *e)
{
    e->len = e->cur = 0;
    e->line[0] = 0;
}

void le_start(struct lineedit *e)
{
    clear_line(e);
    e->hist_pos = -1;
    e->esc = 0;
    outs(e, e->prompt);
}

void le_interrupt(struct lineedit *e)
{
    outs(e, "^C\n");
    clear_line(e);
    e->hist_pos = -1;
    e->esc = 0;
}

static void set_line(struct lineedit *e, const char *s)
{
    size_t n = strlen(s);
    if (n > LE_MAX)
        n = LE_MAX;
    memcpy(e->line, s, n);
    e->line[n] = 0;
    e->len = e->cur = n;
    le_redraw(e);
}

static const char *hist_entry(struct lineedit *e, int k)
{
    return e->hist[(e->hist_next - 1 - k + 2 * LE_HIST) % LE_HIST];
}

static void hist_add(struct lineedit *e)
{
    size_t i = 0;
    while (i < e->len && (e->line[i] == ' ' || e->line[i] == '\t'))
        i++;
    if (i == e->len)
        return; /* blank */
    if (e->hist_n && !strcmp(hist_entry(e, 0), e->line))
        return; /* the same as the last one */
    memcpy(e->hist[e->hist_next], e->line, e->len + 1);
    e->hist_next = (e->hist_next + 1) % LE_HIST;
    if (e->hist_n < LE_HIST)
        e->hist_n++;
}

static void hist_up(struct lineedit *e)
{
    if (e->hist_pos + 1 >= e->hist_n) {
        beep(e);
        return;
    }
    if (e->hist_pos < 0)
        memcpy(e->saved, e->line, e->len + 1);
    e->hist_pos++;
    set_line(e, hist_entry(e, e->hist_pos));
}

static void hist_down(struct lineedit *e)
{
    if (e->hist_pos < 0) {
        beep(e);
        return;
    }
    e->hist_pos--;
    set_line(e, e->hist_pos < 0 ? e->saved : hist_entry(e, e->hist_pos));
}

static void insert(struct lineedit *e, char c)
{
    if (e->len >= LE_MAX) {
        beep(e);
        return;
    }
    memmove(e->line + e->cur + 1, e->line + e->cur, e->len - e->cur);
    e->line[e->cur++] = c;
    e->line[++e->len] = 0;
    if (e->cur == e->len)
        out(e, &c, 1);
    else
        le_redraw(e);
}

/* delete n bytes before the cursor */
static void delete_back(struct lineedit *e, size_t n)
{
    if (!n || n > e->cur) {
        beep(e);
        return;
    }
    memmove(e->line + e->cur - n, e->line + e->cur, e->len - e->cur + 1);
    e->cur -= n;
    e->len -= n;
    if (e->cur == e->len) {
        left(e, n);
        outs(e, EL);
    } else {
        le_redraw(e);
    }
}

static void move_to(struct lineedit *e, size_t pos)
{
    if (pos == e->cur)
        return;
    if (pos < e->cur)
        left(e, e->cur - pos);
    else
        out(e, e->line + e->cur, pos - e->cur); /* write over what is there */
    e->cur = pos;
}

/* delete the byte under the cursor */
static void delete_forward(struct lineedit *e)
{
    if (e->cur >= e->len) {
        beep(e);
        return;
    }
    memmove(e->line + e->cur, e->line + e->cur + 1, e->len - e->cur);
    e->len--;
    le_redraw(e);
}

/* the final byte of ESC [ ... or ESC O ... */
static void escape(struct lineedit *e, unsigned char c)
{
    e->esc_param[e->esc_n < sizeof e->esc_param ? e->esc_n : sizeof e->esc_param - 1] = 0;
    const char *p = e->esc_param;
    switch (c) {
    case 'A':
        hist_up(e);
        return;
    case 'B':
        hist_down(e);
        return;
    case 'C':
        if (e->cur < e->len)
            move_to(e, e->cur + 1);
        return;
    case 'D':
        if (e->cur > 0)
            move_to(e, e->cur - 1);
        return;
    case 'H':
        move_to(e, 0);
        return;
    case 'F':
        move_to(e, e->len);
        return;
    case '~':
        if (!strcmp(p, "1") || !strcmp(p, "7"))
            move_to(e, 0);
        else if (!strcmp(p, "4") || !strcmp(p, "8"))
            move_to(e, e->len);
        else if (!strcmp(p, "3"))
            delete_forward(e);
        else
            beep(e);
        return;
    default:
        beep(e); /* a sequence we do not know: dropped */
    }
}

int le_feed(struct lineedit *e, unsigned char c)
{
    int was_cr = e->last_cr;
    e->last_cr = c == '\r';
    e->prev_rejected = e->rejected;
    e->rejected = 0;

    if (e->esc == 1) {
        if (c == '[' || c == 'O') {
            e->esc = 2;
            e->esc_n = 0;
            return LE_NONE;
        }
        e->esc = 0;
        if (c >= 0x20) { /* Alt-key or junk: dropped with the ESC */
            beep(e);
            return LE_NONE;
        }
        /* a control byte: taken as typed */
    } else if (e->esc == 2) {
        if (c >= 0x30 && c <= 0x3f) { /* a parameter byte */
            if (e->esc_n < sizeof e->esc_param - 1)
                e->esc_param[e->esc_n] = (char)c;
            e->esc_n++;
            return LE_NONE;
        }
        if (c >= 0x20 && c <= 0x2f) /* an intermediate byte */
            return LE_NONE;
        if (c >= 0x40 && c <= 0x7e) {
            e->esc = 0;
            if (e->esc_n >= sizeof e->esc_param)
                beep(e); /* too long to be a key */
            else
                escape(e, c);
            return LE_NONE;
        }
        e->esc = 0;
        if (c >= 0x20) {
            beep(e);
            return LE_NONE;
        }
        /* a control byte ends the sequence and is taken as typed */
    }

    if (c >= 0x20 && c < 0x7f) {
        insert(e, (char)c);
        return LE_NONE;
    }
    switch (c) {
    case '\n':
        if (was_cr)
            return LE_NONE; /* CR LF: one line */
        /* fall through */
    case '\r':
        outs(e, "\n");
        hist_add(e);
        e->hist_pos = -1;
        return LE_LINE;
    case 0x1b:
        e->esc = 1;
        return LE_NONE;
    case 0x7f:
    case CTRL('H'):
        delete_back(e, 1);
        break;
    case CTRL('U'):
        if (!e->len) {
            beep(e);
            return LE_NONE;
        }
        clear_line(e);
        le_redraw(e);
        break;
    case CTRL('K'):
        e->len = e->cur;
        e->line[e->len] = 0;
        outs(e, EL);
        break;
    case CTRL('W'): {
        size_t i = e->cur;
        while (i > 0 && e->line[i - 1] == ' ')
            i--;
        while (i > 0 && e->line[i - 1] != ' ')
            i--;
        delete_back(e, e->cur - i);
        break;
    }
    case CTRL('A'):
        move_to(e, 0);
        break;
    case CTRL('E'):
        move_to(e, e->len);
        break;
    case CTRL('B'):
        if (e->cur > 0)
            move_to(e, e->cur - 1);
        break;
    case CTRL('F'):
        if (e->cur < e->len)
            move_to(e, e->cur + 1);
        break;
    case CTRL('D'):
        delete_forward(e);
        break;
    case CTRL('L'):
        outs(e, CLS);
        le_redraw(e);
        break;
    case CTRL('P'):
        hist_up(e);
        break;
    case CTRL('N'):
        hist_down(e);
        break;
    default:
        beep(e); /* other control bytes, bytes above 0x7e */
        return LE_NONE;
    }
    return LE_NONE;
}

/* ---- the command parser ---- */

int sh_parse(const char *line, struct sh_cmd *c)
{
    size_t n = strlen(line);
    c->argc = 0;
    c->bg = 0;
    c->argv[0] = 0;
    if (n > LE_MAX)
        return SH_ELONG;
    memcpy(c->buf, line, n + 1);
    /* a trailing '&' */
    while (n > 0 && (c->buf[n - 1] == ' ' || c->buf[n - 1] == '\t'))
        c->buf[--n] = 0;
    if (n > 0 && c->buf[n - 1] == '&') {
        c->bg = 1;
        c->buf[--n] = 0;
    }
    char *p = c->buf;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            *p++ = 0;
        if (!*p)
            break;
        if (c->argc == SH_MAXARGS) {
            c->argc = 0;
            c->argv[0] = 0;
            return SH_ETOOMANY;
        }
        c->argv[c->argc++] = p;
        while (*p && *p != ' ' && *p != '\t') {
            if (*p == '&') {
                c->argc = 0;
                c->argv[0] = 0;
                return SH_EAMP;
            }
            p++;
        }
    }
    c->argv[c->argc] = 0;
    return SH_OK;
}

int sh_join(const struct sh_cmd *c, int from, char *out, size_t size)
{
    size_t n = 0;
    if (!size)
        return -1;
    out[0] = 0;
    for (int i = from; i < c->argc; i++) {
        size_t w = strlen(c->argv[i]) + (i > from);
        if (n + w + 1 > size)
            return -1;
        if (i > from)
            out[n++] = ' ';
        memcpy(out + n, c->argv[i], w - (i > from));
        n += w - (i > from);
        out[n] = 0;
    }
    return (int)n;
}

int sh_number(const char *s, unsigned long *v)
{
    unsigned long x = 0;
    if (!*s)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        unsigned long d = (unsigned long)(*s - '0');
        if (x > (~0UL - d) / 10)
            return 0;
        x = x * 10 + d;
    }
    *v = x;
    return 1;
}

int sh_name_matches(const char *name, const char *want)
{
    size_t n = 0, w = strlen(want);
    while (name[n] && name[n] != ' ')
        n++;
    if (!w)
        return 0;
    /* the whole first word */
    if (n == w && !memcmp(name, want, n))
        return 1;
    /* its last path component */
    size_t b = n;
    while (b > 0 && name[b - 1] != '/')
        b--;
    const char *base = name + b;
    size_t bn = n - b;
    if (bn == w && !memcmp(base, want, w))
        return 1;
    /* without ".elf" */
    if (bn > 4 && !memcmp(base + bn - 4, ".elf", 4) && bn - 4 == w && !memcmp(base, want, w))
        return 1;
    return 0;
}
