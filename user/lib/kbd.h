/*
 * The PS/2 keyboard driver's IPC protocol (user/bin/kbd.c; docs/DRIVERS.md,
 * section 6). Clients call the driver's endpoint (in the tests the boot
 * endpoint). Replies have label KBD_OK with the words given below, or
 * KBD_ERR with -AL_Exxx in mr[0]. Characters travel packed in the message
 * registers from mr[1] on, 8 per word.
 *
 * Characters are ASCII: Enter (and keypad Enter) gives '\n', Backspace
 * '\b', Tab '\t', Escape 0x1b; Ctrl with a letter gives the letter's
 * control code (1..26). Keys without a character (function keys, arrows,
 * Alt, ...) give nothing.
 */
#ifndef USER_KBD_H
#define USER_KBD_H

#define KBD_MAX_CHARS 496 /* characters in one reply: 62 words after mr[0] */

/* mr[0] = max (1..KBD_MAX_CHARS), mr[1] = flags. The reply comes once at
 * least one character is there, at once with KBD_NOWAIT: mr[0] = n
 * (0..max), characters in mr[1..]. One reader may wait at a time. */
#define KBD_READ   0x6b01
#define KBD_NOWAIT 1
/* reply: KBD_STAT_WORDS words, indexed by enum kbd_stat */
#define KBD_STATS 0x6b02
/* only if the driver was started with the word `inject` (tests): mr[0] = a
 * byte the controller puts in its output buffer as though the keyboard
 * had sent it (i8042 command 0xd2); the reply comes once the driver has
 * taken it in through its interrupt and decoded it */
#define KBD_INJECT 0x6b03
/* the driver replies with its counters and exits */
#define KBD_QUIT 0x6b04

#define KBD_OK  0
#define KBD_ERR 1

enum kbd_stat {
    KBD_ST_BYTES,   /* bytes read from the controller (keyboard only) */
    KBD_ST_CHARS,   /* characters produced */
    KBD_ST_IGNORED, /* scancodes without a meaning to us (unknown, E0/E1 sequences we skip) */
    KBD_ST_ERRORS,  /* the keyboard's error codes (0x00, 0xff) */
    KBD_ST_AUX,     /* bytes from the auxiliary (mouse) port, dropped */
    KBD_ST_DROPPED, /* characters dropped: ring full */
    KBD_ST_IRQS,    /* interrupt messages */
    KBD_ST_BAD_REQ, /* malformed or unknown requests refused */
    KBD_ST_STORMS,  /* service loops cut short */
    KBD_STAT_WORDS
};

#endif
