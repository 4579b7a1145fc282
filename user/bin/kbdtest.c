/*
 * A client of the PS/2 keyboard driver (user/bin/kbd.c, protocol
 * user/lib/kbd.h) through AL_SLOT_KBD (use=kbd) or else the boot endpoint
 * (KTAP).
 *
 *   kbdtest WORDS... [| WORDS...]...
 *
 * The words, joined by single spaces, are the lines we expect to be typed
 * ('|' separates lines); a control character is written ^X. First, with
 * the driver started with `inject`, hostile bytes are pushed through the
 * controller (KBD_INJECT): unknown codes, error codes, stray releases,
 * prefixes out of place, Pause's E1 sequence, fake shifts; only the
 * characters they really mean may come out. Then "kbdtest: ready" on the
 * log tells the `kbd` suite of tools/ktest.py to type through QEMU's
 * monitor (sendkey); each line is read with Backspace applied and compared
 * with the expected one, and nothing more may follow.
 */
#include "user/lib/airlock.h"
#include "user/lib/kbd.h"
#include "abi/airlock/boot.h"
#include "lib/string.h"

#define LINE_MAX     160
#define MAX_LINES    4
#define KEYS_TIMEOUT 30000000000L /* 30 s for the host to type a line */

/* the driver's endpoint: AL_SLOT_KBD with use=kbd, else the boot endpoint */
static long EP = AL_SLOT_BOOT_EP;

static void choose_endpoint(void)
{
    struct al_cap_info ci;
    if (al_cap_info(AL_SLOT_KBD, &ci) == 0 && ci.type == AL_CAP_ENDPOINT && (ci.rights & AL_R_SEND))
        EP = AL_SLOT_KBD;
}

static long call(unsigned long words, unsigned long label, long timeout)
{
    long r = al_ipc(AL_IPC_CALL, EP, AL_TAG(words, 0, label), 0, timeout);
    return r ? r : (long)AL_TAG_LABEL(al_utcb()->tag);
}

/* up to max characters into buf; their number, or a negative error */
static long kread(char *buf, unsigned long max, unsigned long flags, long timeout)
{
    struct al_utcb *u = al_utcb();
    u->mr[0] = max;
    u->mr[1] = flags;
    long r = call(2, KBD_READ, timeout);
    if (r != KBD_OK)
        return r > 0 ? (long)u->mr[0] : r;
    unsigned long n = u->mr[0];
    if (n > max || AL_TAG_WORDS(u->tag) != 1 + (n + 7) / 8)
        return -AL_EINVAL;
    memcpy(buf, &u->mr[1], n);
    return (long)n;
}

/* c as we write it in an expected line: itself, or ^X for a control code */
static unsigned show(char c, char *out)
{
    if ((unsigned char)c < 0x20) {
        out[0] = '^';
        out[1] = (char)(c + 0x40);
        return 2;
    }
    out[0] = c;
    return 1;
}

static const unsigned char hostile[] = {
    0x00, 0xff,                         /* error codes */
    0xe0, 0xe0, 0x4d, 0xcd,             /* E0 twice, then right arrow and its release */
    0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5, /* Pause: its 1D must not become Ctrl */
    0xe0, 0x2a, 0x1e, 0x9e, 0xe0, 0xaa, /* a fake shift around 'a': still 'a' */
    0x9d,                               /* Ctrl released, never pressed */
    0x1d, 0x2e, 0xae, 0x9d,             /* Ctrl-C */
    0x59, 0x7f, 0x3b, 0xbb,             /* unknown codes, F1 */
    0xfa, 0xfe, 0xee,                   /* the keyboard's answers, out of place */
    0x2a, 0x02, 0x82, 0xaa,             /* Shift-1 */
    0x3a, 0xba, 0x10, 0x90, 0x3a, 0xba, /* Caps Lock on, q, Caps Lock off */
    0x10, 0x90,                         /* q */
};
static const char hostile_out[] = "a\x03!Qq";

int main(int argc, char **argv)
{
    struct al_utcb *u = al_utcb();
    choose_endpoint();
    /* the expected lines from the words */
    static char want[MAX_LINES][LINE_MAX];
    int nlines = 0;
    unsigned len = 0;
    for (int i = 1; i < argc && nlines < MAX_LINES; i++) {
        if (!strcmp(argv[i], "|")) {
            want[nlines++][len] = 0;
            len = 0;
            continue;
        }
        unsigned n = (unsigned)strlen(argv[i]);
        if (len && len + 1 < LINE_MAX)
            want[nlines][len++] = ' ';
        for (unsigned k = 0; k < n && len + 1 < LINE_MAX; k++)
            want[nlines][len++] = argv[i][k];
    }
    if (len && nlines < MAX_LINES)
        want[nlines++][len] = 0;
    if (!nlines) {
        printf("usage: kbdtest WORDS... [| WORDS...]\n");
        return 2;
    }
    ktap_plan(4 + nlines + 2);

    /* requests the driver must refuse */
    u->mr[0] = 0;
    u->mr[1] = 0;
    int e = call(2, KBD_READ, AL_TIMEOUT_NEVER) == KBD_ERR && (long)u->mr[0] == -AL_EINVAL;
    u->mr[0] = 8;
    u->mr[1] = 0x10;
    e = e && call(2, KBD_READ, AL_TIMEOUT_NEVER) == KBD_ERR && (long)u->mr[0] == -AL_EINVAL;
    u->mr[0] = 8;
    e = e && call(1, KBD_READ, AL_TIMEOUT_NEVER) == KBD_ERR && (long)u->mr[0] == -AL_EINVAL;
    e = e && call(0, 0x1234, AL_TIMEOUT_NEVER) == KBD_ERR && (long)u->mr[0] == -AL_EINVAL;
    e = e && call(2, AL_LABEL_IRQ, AL_TIMEOUT_NEVER) == KBD_ERR && (long)u->mr[0] == -AL_EINVAL;
    u->mr[0] = 0x100;
    e = e && call(1, KBD_INJECT, AL_TIMEOUT_NEVER) == KBD_ERR && (long)u->mr[0] == -AL_EINVAL;
    ktap_result(e, "malformed requests are refused (bad lengths and flags, too few words, unknown labels, a forged IRQ)");

    /* hostile bytes through the controller */
    int injected = 0;
    for (unsigned i = 0; i < sizeof hostile; i++) {
        u->mr[0] = hostile[i];
        if (call(1, KBD_INJECT, AL_TIMEOUT_NEVER) != KBD_OK || u->mr[0] != hostile[i])
            break;
        injected++;
    }
    ktap_result(injected == (int)sizeof hostile, "%d of %u bytes injected through the controller and read back",
                injected, (unsigned)sizeof hostile);
    char buf[KBD_MAX_CHARS], shown[2 * KBD_MAX_CHARS + 1];
    long n = kread(buf, sizeof buf, KBD_NOWAIT, AL_TIMEOUT_NEVER);
    unsigned sl = 0;
    for (long i = 0; i < n; i++)
        sl += show(buf[i], shown + sl);
    shown[sl] = 0;
    ktap_result(n == (long)sizeof hostile_out - 1 && !memcmp(buf, hostile_out, sizeof hostile_out - 1),
                "from them only 'a', ^C, '!', 'Q', 'q': got %ld characters '%s'", n, shown);
    u->mr[0] = 0;
    long r = call(0, KBD_STATS, AL_TIMEOUT_NEVER);
    ktap_result(r == KBD_OK && u->mr[KBD_ST_ERRORS] == 2 && u->mr[KBD_ST_IGNORED] >= 6,
                "error codes counted (%lu), unknown codes and sequences ignored (%lu)", u->mr[KBD_ST_ERRORS],
                u->mr[KBD_ST_IGNORED]);

    /* now the host types */
    printf("kbdtest: ready for %d line(s)\n", nlines);
    for (int l = 0; l < nlines; l++) {
        char line[LINE_MAX];
        unsigned ll = 0;
        int done = 0;
        long got = 0;
        while (!done) {
            got = kread(buf, 1, 0, KEYS_TIMEOUT);
            if (got != 1)
                break;
            if (buf[0] == '\n') {
                done = 1;
            } else if (buf[0] == '\b') {
                if (ll)
                    ll -= (ll >= 2 && line[ll - 2] == '^') ? 2 : 1;
            } else if (ll + 2 < LINE_MAX) {
                ll += show(buf[0], line + ll);
            }
        }
        line[ll] = 0;
        ktap_result(done && !strcmp(line, want[l]), "line %d typed on the keyboard: '%s' (expected '%s')%s", l + 1,
                    line, want[l], done ? "" : ", no Enter");
    }
    n = kread(buf, sizeof buf, KBD_NOWAIT, AL_TIMEOUT_NEVER);
    ktap_result(n == 0, "nothing more was decoded (%ld)", n);

    r = call(0, KBD_QUIT, AL_TIMEOUT_NEVER);
    ktap_result(r == KBD_OK && AL_TAG_WORDS(u->tag) == KBD_STAT_WORDS && !u->mr[KBD_ST_DROPPED] &&
                    !u->mr[KBD_ST_STORMS] && u->mr[KBD_ST_BAD_REQ] == 6,
                "driver: %lu bytes in %lu interrupts, %lu characters, %lu dropped, %lu bad requests", u->mr[KBD_ST_BYTES],
                u->mr[KBD_ST_IRQS], u->mr[KBD_ST_CHARS], u->mr[KBD_ST_DROPPED], u->mr[KBD_ST_BAD_REQ]);
    return ktap_failures();
}
