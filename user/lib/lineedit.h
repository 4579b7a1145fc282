/*
 * A line editor for raw terminal input (the shell, user/bin/shell.c), and
 * the shell's command-line parser. Pure logic: no system calls, so that it
 * compiles on the host too (tests/host/test_lineedit.c).
 *
 * The editor takes the bytes typed, one at a time (le_feed), and writes
 * its echo through a callback, with plain ANSI (CR, BS, ESC[K, ESC[nD;
 * a finished line ends with LF alone: the console server makes it CR LF):
 *   printable ASCII       inserted at the cursor (at most LE_MAX bytes:
 *                         beyond that the terminal beeps and the byte is dropped)
 *   DEL (0x7f), BS (0x08) delete the byte before the cursor
 *   Ctrl-U                kill the line;   Ctrl-K  kill to its end
 *   Ctrl-W                delete the word before the cursor
 *   Ctrl-A / Ctrl-E       start / end of line (also Home / End keys)
 *   Ctrl-B / Ctrl-F       left / right (also the arrow keys)
 *   Ctrl-D                delete the byte under the cursor (also the Delete key)
 *   Ctrl-L                clear the screen and redraw
 *   up / down, Ctrl-P/N   history (ESC [ A / ESC [ B, or ESC O A / ESC O B)
 *   CR or LF              the line is complete (CR LF counts once)
 * Every other control byte, any byte above 0x7e and unknown escape
 * sequences are dropped, with one beep per run of rejected bytes. An
 * escape sequence ends at its final byte, or at a control byte, which is
 * then taken as typed (ESC then Enter still enters the line).
 */
#ifndef USER_LINEEDIT_H
#define USER_LINEEDIT_H
#include <stddef.h>

#define LE_MAX        256 /* bytes in a line */
#define LE_HIST       16  /* lines remembered */
#define LE_PROMPT_MAX 32

typedef void (*le_write_fn)(void *arg, const char *s, size_t n);

struct lineedit {
    char line[LE_MAX + 1]; /* NUL-terminated */
    size_t len, cur;
    char hist[LE_HIST][LE_MAX + 1];
    int hist_n;    /* lines stored (<= LE_HIST) */
    int hist_next; /* slot the next line goes to */
    int hist_pos;  /* -1: the line being typed; k: the k-th newest stored line */
    char saved[LE_MAX + 1]; /* the line being typed, while browsing the history */
    int esc;       /* 0: none, 1: after ESC, 2: in ESC [ or ESC O */
    char esc_param[8];
    size_t esc_n;
    int last_cr;   /* the previous byte was CR (an LF right after it is dropped) */
    int rejected, prev_rejected; /* this byte, the previous one was rejected (one beep per run) */
    unsigned long beeps, dropped;
    char prompt[LE_PROMPT_MAX];
    le_write_fn write;
    void *arg;
};

enum { LE_NONE, LE_LINE };

void le_init(struct lineedit *e, const char *prompt, le_write_fn write, void *arg);
/* a fresh, empty line: writes the prompt */
void le_start(struct lineedit *e);
/* one byte typed; LE_LINE: the line is complete, in e->line (its echo ended
 * with LF); call le_start for the next one */
int le_feed(struct lineedit *e, unsigned char c);
/* Ctrl-C: "^C" and a new line; the line typed is dropped (call le_start) */
void le_interrupt(struct lineedit *e);
/* redraw the prompt and the line (after other output) */
void le_redraw(struct lineedit *e);

/* ---- the command parser ---- */
#define SH_MAXARGS 16

struct sh_cmd {
    int argc;
    char *argv[SH_MAXARGS + 1]; /* argv[argc] = NULL */
    int bg;                     /* a trailing '&' */
    char buf[LE_MAX + 1];
};

enum { SH_OK = 0, SH_ETOOMANY = -1, SH_EAMP = -2, SH_ELONG = -3 };
/* split line into words at spaces and tabs; a trailing '&' (a word of its
 * own or the end of the last word) sets bg. SH_ETOOMANY: more than
 * SH_MAXARGS words; SH_EAMP: '&' elsewhere; SH_ELONG: longer than LE_MAX */
int sh_parse(const char *line, struct sh_cmd *c);
/* argv[from..argc) joined by single spaces into out (NUL-terminated);
 * returns the length, or -1 if it does not fit in size bytes */
int sh_join(const struct sh_cmd *c, int from, char *out, size_t size);
/* a decimal number (no sign, no junk, no overflow): 1, else 0 */
int sh_number(const char *s, unsigned long *v);
/* does a task named `name` (a command line: its first word, with or
 * without a directory and ".elf") answer to `want`? */
int sh_name_matches(const char *name, const char *want);
#endif
