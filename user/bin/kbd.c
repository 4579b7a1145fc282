/*
 * A user-mode driver for a PS/2 keyboard behind an i8042 controller (data
 * port 0x60, status/command port 0x64, ISA IRQ 1). Started by the root
 * task with ports=0x60:1,0x64:1 irqs=1 start=bg (two port capabilities,
 * since 0x61 between them is the kernel's): it holds those two ports, the
 * IRQ-control capability for its one IRQ object, the endpoint it serves
 * on, and nothing else. With serve=kbd that is the receive end of the
 * system's keyboard endpoint (AL_SLOT_SERVICE; clients hold AL_SLOT_KBD,
 * use=kbd), else the boot endpoint (the `kbd` suite).
 *
 * Scancodes: QEMU's keyboard, like a real one, starts in set 2, and the
 * i8042 translates set 2 to set 1 when bit 6 of its command byte is set
 * (SeaBIOS sets it; QEMU's controller starts without it). We do not rely
 * on either: we set the translation bit ourselves and select set 2 on the
 * keyboard (command 0xf0 0x02), so what we read is set 1.
 *
 * Set 1 to characters: Shift, Caps Lock (letters only; Shift inverts it),
 * Ctrl (a letter's control code), Backspace, Enter, Tab, Escape; the E0
 * prefix for the right-hand Ctrl and Alt, keypad Enter and keypad '/'
 * (and the E0 2A/E0 AA "fake shifts" of Print Screen and friends, which
 * must not shift anything); the E1 sequence of Pause is skipped whole.
 * Anything else, unknown codes included, is counted and ignored, and the
 * keyboard's error codes (0x00, 0xff) reset a half-read sequence.
 *
 * One thread blocked in IPC receive on that endpoint, woken by the
 * interrupt message (our badge) or a client's call (user/lib/kbd.h). The
 * interrupt path reads the controller while its status says a byte is
 * there (bounded), then irq_ack. Setting the controller up before the IRQ
 * object is bound waits for the controller's answers with al_sleep, a
 * millisecond at a time, for a bounded time.
 *
 *   kbd [inject]   inject: allow KBD_INJECT (tests)
 */
#include "user/lib/airlock.h"
#include "user/lib/portio.h"
#include "user/lib/kbd.h"
#include "abi/airlock/boot.h"
#include "lib/string.h"

/* our own slots: above the well-known ones (abi/airlock/boot.h) */
#define IRQ        16
#define RD_REPLY   17
#define INJ_REPLY  18
#define IRQ_BADGE  0x6b6b1
#define ISA_IRQ    1
#define DATA       0x60
#define STATUS     0x64 /* read */
#define CMD        0x64 /* write */
#define ST_OBF     0x01 /* output buffer full: a byte for us at DATA */
#define ST_IBF     0x02 /* input buffer full: the controller has not taken our last write */
#define ST_AUX     0x20 /* the byte is the mouse's */
#define CCB_KBDINT 0x01
#define CCB_AUXINT 0x02
#define CCB_KBDDIS 0x10
#define CCB_XLATE  0x40
#define SERVICE_MAX 256

/* set 1 make codes 0x00..0x58: plain and shifted characters (0: none) */
static const char plain[0x59] = {
    0,   0x1b, '1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '-', '=', '\b', '\t', 'q', 'w', 'e', 'r', 't', 'y',
    'u', 'i',  'o', 'p', '[', ']', '\n', 0,  'a', 's', 'd', 'f', 'g', 'h', 'j', 'k', 'l', ';', '\'', '`', 0,
    '\\', 'z', 'x', 'c', 'v', 'b', 'n', 'm', ',', '.', '/', 0, '*', 0, ' ', 0, /* 0x3b..: F1-F10, locks, keypad */
};
static const char shifted[0x59] = {
    0,   0x1b, '!', '@', '#', '$', '%', '^', '&', '*', '(', ')', '_', '+', '\b', '\t', 'Q', 'W', 'E', 'R', 'T', 'Y',
    'U', 'I',  'O', 'P', '{', '}', '\n', 0,  'A', 'S', 'D', 'F', 'G', 'H', 'J', 'K', 'L', ':', '"', '~', 0,
    '|', 'Z',  'X', 'C', 'V', 'B', 'N', 'M', '<', '>', '?', 0, '*', 0, ' ', 0,
};
#define SC_LCTRL  0x1d
#define SC_LSHIFT 0x2a
#define SC_RSHIFT 0x36
#define SC_ALT    0x38
#define SC_CAPS   0x3a

static long EP = AL_SLOT_BOOT_EP; /* the endpoint we serve: AL_SLOT_SERVICE with serve=kbd */
static unsigned long st[KBD_STAT_WORDS];
static int lshift, rshift, lctrl, rctrl, alt, caps;
static int prefix;       /* 0, 0xe0, or 0xe1 while a sequence is half read */
static int e1_left;      /* bytes of an E1 sequence still to skip */

static char ring[1024];
static unsigned long head, tail;

static int reader_waiting, injecting, test_mode;
static unsigned long reader_max;

static void put_char(char c)
{
    if (head - tail == sizeof ring) {
        st[KBD_ST_DROPPED]++;
        return;
    }
    ring[head++ % sizeof ring] = c;
    st[KBD_ST_CHARS]++;
}

static int is_letter(char c)
{
    return c >= 'a' && c <= 'z';
}

/* one byte of set 1 */
static void decode(unsigned char b)
{
    if (b == 0x00 || b == 0xff) { /* key detection error / overrun */
        st[KBD_ST_ERRORS]++;
        prefix = e1_left = 0;
        return;
    }
    if (e1_left) { /* the rest of Pause: E1 1D 45 E1 9D C5 */
        e1_left--;
        return;
    }
    if (b == 0xe1) {
        e1_left = 2;
        st[KBD_ST_IGNORED]++;
        prefix = 0;
        return;
    }
    if (b == 0xe0) {
        if (prefix == 0xe0) /* E0 E0: nonsense, start again */
            st[KBD_ST_IGNORED]++;
        prefix = 0xe0;
        return;
    }
    int up = b & 0x80, code = b & 0x7f, e0 = prefix == 0xe0;
    prefix = 0;
    if (e0) {
        switch (code) {
        case SC_LCTRL:
            rctrl = !up;
            return;
        case SC_ALT:
            alt = !up;
            return;
        case 0x1c: /* keypad Enter */
            if (!up)
                put_char('\n');
            return;
        case 0x35: /* keypad '/' */
            if (!up)
                put_char('/');
            return;
        default: /* fake shifts (2A, 36), arrows, Home, Print Screen, GUI keys, ...: nothing */
            st[KBD_ST_IGNORED]++;
            return;
        }
    }
    switch (code) {
    case SC_LSHIFT:
        lshift = !up;
        return;
    case SC_RSHIFT:
        rshift = !up;
        return;
    case SC_LCTRL:
        lctrl = !up;
        return;
    case SC_ALT:
        alt = !up;
        return;
    case SC_CAPS:
        if (!up)
            caps = !caps;
        return;
    }
    if (up)
        return; /* a release: only modifiers care */
    char c = code < (int)sizeof plain ? plain[code] : 0;
    if (!c) {
        st[KBD_ST_IGNORED]++;
        return;
    }
    int shift = lshift || rshift;
    if (is_letter(c)) {
        if (shift != caps)
            c = shifted[code];
        if (lctrl || rctrl)
            c = (char)(c & 0x1f);
    } else if (shift) {
        c = shifted[code];
    }
    put_char(c);
}

static void reply_err(long slot, long err)
{
    al_utcb()->mr[0] = (unsigned long)err;
    al_ipc(AL_IPC_REPLY, slot, AL_TAG(1, 0, KBD_ERR), 0, 0);
}

static void reply_stats(long slot)
{
    struct al_utcb *u = al_utcb();
    for (int i = 0; i < KBD_STAT_WORDS; i++)
        u->mr[i] = st[i];
    al_ipc(AL_IPC_REPLY, slot, AL_TAG(KBD_STAT_WORDS, 0, KBD_OK), 0, 0);
}

static void reply_read(long slot, unsigned long max)
{
    struct al_utcb *u = al_utcb();
    unsigned long n = head - tail < max ? head - tail : max;
    char *p = (char *)&u->mr[1];
    for (unsigned long i = 0; i < n; i++)
        p[i] = ring[tail++ % sizeof ring];
    u->mr[0] = n;
    al_ipc(AL_IPC_REPLY, slot, AL_TAG(1 + (n + 7) / 8, 0, KBD_OK), 0, 0);
}

/* read the controller while it has bytes for us */
static void service(void)
{
    for (unsigned i = 0; i < SERVICE_MAX; i++) {
        unsigned s = inb(STATUS);
        if (!(s & ST_OBF))
            return;
        unsigned char b = inb(DATA);
        if (s & ST_AUX) {
            st[KBD_ST_AUX]++;
            continue;
        }
        st[KBD_ST_BYTES]++;
        decode(b);
        if (injecting) { /* (the injected byte is the next one the controller gives) */
            injecting = 0;
            al_utcb()->mr[0] = b;
            al_ipc(AL_IPC_REPLY, INJ_REPLY, AL_TAG(1, 0, KBD_OK), 0, 0);
        }
    }
    st[KBD_ST_STORMS]++;
}

/* a saved reply whose caller gave up (timeout) is gone from its slot */
static int saved(long slot)
{
    struct al_cap_info ci;
    return al_cap_info(slot, &ci) == 0;
}

/* wait until the controller can take a byte: bounded, 1 ms steps */
static int wait_ibf_clear(void)
{
    for (int i = 0; i < 100; i++) {
        if (!(inb(STATUS) & ST_IBF))
            return 1;
        al_sleep(1000000);
    }
    return 0;
}

/* returns 0 if the request was a QUIT */
static int request(unsigned long tag)
{
    struct al_utcb *u = al_utcb();
    unsigned long label = AL_TAG_LABEL(tag), words = AL_TAG_WORDS(tag), n = u->mr[0];
    if (AL_TAG_ITEMS(tag)) {
        st[KBD_ST_BAD_REQ]++;
        reply_err(-1, -AL_EINVAL);
        return 1;
    }
    switch (label) {
    case KBD_READ:
        if (words < 2 || n < 1 || n > KBD_MAX_CHARS || (u->mr[1] & ~(unsigned long)KBD_NOWAIT)) {
            st[KBD_ST_BAD_REQ]++;
            reply_err(-1, -AL_EINVAL);
        } else if (reader_waiting && saved(RD_REPLY)) {
            reply_err(-1, -AL_EBUSY);
        } else if (head != tail || (u->mr[1] & KBD_NOWAIT)) {
            reply_read(-1, n);
        } else {
            reader_waiting = 0;
            al_cap_delete(RD_REPLY); /* (a stale one: nothing there, or its caller gone) */
            if (al_reply_save(RD_REPLY) == 0)
                reader_waiting = 1, reader_max = n;
        }
        return 1;
    case KBD_STATS:
        reply_stats(-1);
        return 1;
    case KBD_INJECT:
        if (!test_mode) {
            reply_err(-1, -AL_EPERM);
        } else if (words < 1 || n > 0xff) {
            st[KBD_ST_BAD_REQ]++;
            reply_err(-1, -AL_EINVAL);
        } else if (injecting || (inb(STATUS) & ST_OBF) || !wait_ibf_clear()) {
            reply_err(-1, -AL_EBUSY);
        } else if (al_reply_save(INJ_REPLY) == 0) {
            injecting = 1;
            outb(CMD, 0xd2);
            if (wait_ibf_clear())
                outb(DATA, (unsigned char)n);
        }
        return 1;
    case KBD_QUIT:
        return 0;
    default:
        st[KBD_ST_BAD_REQ]++;
        reply_err(-1, -AL_EINVAL);
        return 1;
    }
}

/* ---- setting the controller up (before the IRQ object is bound) ---- */

static int read_byte(unsigned char *b)
{
    for (int i = 0; i < 200; i++) {
        if (inb(STATUS) & ST_OBF) {
            *b = inb(DATA);
            return 1;
        }
        al_sleep(1000000);
    }
    return 0;
}

static void flush(void)
{
    for (int i = 0; i < 64 && (inb(STATUS) & ST_OBF); i++)
        (void)inb(DATA);
}

static int ctl_cmd(unsigned char c)
{
    if (!wait_ibf_clear())
        return 0;
    outb(CMD, c);
    return 1;
}

/* a command byte to the keyboard, answered by ACK (0xfa); resend on 0xfe */
static int kbd_cmd(unsigned char c)
{
    for (int tries = 0; tries < 3; tries++) {
        unsigned char b = 0;
        if (!wait_ibf_clear())
            return 0;
        outb(DATA, c);
        for (int k = 0; k < 16 && read_byte(&b) && b != 0xfa && b != 0xfe; k++)
            b = 0; /* (a key's byte from before: dropped) */
        if (b == 0xfa)
            return 1;
        if (b != 0xfe)
            return 0;
    }
    return 0;
}

static int controller_init(void)
{
    unsigned char ccb;
    if (!ctl_cmd(0xad) || !ctl_cmd(0xa7)) /* keyboard and mouse ports off */
        return 0;
    flush();
    if (!ctl_cmd(0x20) || !read_byte(&ccb))
        return 0;
    ccb = (unsigned char)((ccb | CCB_KBDINT | CCB_XLATE) & ~(CCB_AUXINT | CCB_KBDDIS));
    if (!ctl_cmd(0x60) || !wait_ibf_clear())
        return 0;
    outb(DATA, ccb);
    if (!ctl_cmd(0xae)) /* keyboard port on */
        return 0;
    /* scancode set 2 (set 1 through the translation), scanning on */
    return kbd_cmd(0xf0) && kbd_cmd(0x02) && kbd_cmd(0xf4);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "inject")) {
            test_mode = 1;
        } else {
            printf("kbd: bad argument '%s'\n", argv[i]);
            return 2;
        }
    }
    struct al_cap_info ci;
    if (al_cap_info(AL_SLOT_SERVICE, &ci) == 0 && ci.type == AL_CAP_ENDPOINT && (ci.rights & AL_R_RECV))
        EP = AL_SLOT_SERVICE;
    long r = al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_ISA, ISA_IRQ, 0, 0);
    if (r) {
        printf("kbd: cannot take ISA IRQ %d (%ld)\n", ISA_IRQ, r);
        return 1;
    }
    if (!controller_init()) {
        printf("kbd: no i8042 keyboard answers\n");
        return 1;
    }
    if ((r = al_irq_bind(IRQ, EP, IRQ_BADGE))) {
        printf("kbd: irq_bind failed (%ld)\n", r);
        return 1;
    }
    service(); /* (a byte already there: the line must be low for the next edge) */
    printf("kbd: ready, ISA IRQ %d, scancode set 1 by translation%s\n", ISA_IRQ, test_mode ? ", injection on" : "");

    struct al_utcb *u = al_utcb();
    for (;;) {
        r = al_ipc(AL_IPC_RECV, 0, 0, EP, AL_TIMEOUT_NEVER);
        if (r)
            continue;
        if (AL_TAG_LABEL(u->tag) == AL_LABEL_IRQ && u->badge == IRQ_BADGE) {
            st[KBD_ST_IRQS]++;
            service();
            al_irq_ack(IRQ);
        } else if (!request(u->tag)) {
            break;
        }
        if (reader_waiting && head != tail) {
            reader_waiting = 0;
            reply_read(RD_REPLY, reader_max);
        }
    }
    al_cap_delete(IRQ);
    if (reader_waiting)
        reply_err(RD_REPLY, -AL_ECANCELED);
    reply_stats(-1);
    printf("kbd: done: %lu bytes, %lu characters, %lu ignored, %lu errors, %lu mouse bytes, %lu dropped, "
           "%lu interrupts, %lu bad requests\n",
           st[KBD_ST_BYTES], st[KBD_ST_CHARS], st[KBD_ST_IGNORED], st[KBD_ST_ERRORS], st[KBD_ST_AUX],
           st[KBD_ST_DROPPED], st[KBD_ST_IRQS], st[KBD_ST_BAD_REQ]);
    return 0;
}
