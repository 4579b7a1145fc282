/*
 * The console server's IPC protocol (user/bin/console.c). The console
 * server owns the terminal: output goes to the serial terminal (through the
 * UART driver) and to the VGA text screen (colours from ANSI SGR escape
 * sequences); input comes from the UART driver and the PS/2 keyboard
 * driver, merged into one stream of bytes. Clients (the shell, programs
 * started from it: the runtime's printf) hold a send capability in slot
 * AL_SLOT_CONSOLE. Bytes travel packed in the message registers from mr[1]
 * on (as the UART driver's protocol, user/lib/uart.h). A reply has label
 * CON_OK with the words below, or CON_ERR with -AL_Exxx in mr[0].
 */
#ifndef USER_CONSOLE_H
#define USER_CONSOLE_H

#define CON_MAX_BYTES 496

/* mr[0] = n (1..CON_MAX_BYTES), the bytes in mr[1..]: written to every
 * output; the reply (mr[0] = n) comes once they are queued. The screen
 * draws them at once (ANSI subset: docs/DRIVERS.md, section 7); for the
 * serial terminal "\n" becomes "\r\n" and the bytes wait in the server's
 * serial queue (16 KiB). If it is full the writer waits for room, about a
 * second at most: then what does not fit is dropped and counted
 * (CON_ST_OUT_DROPPED), at once while the UART driver takes nothing (gone,
 * restarting). Input is not echoed: that is the reader's business. */
#define CON_WRITE 0x6301
/* mr[0] = max (1..CON_MAX_BYTES), mr[1] = flags (CON_NOWAIT; a call with
 * one word means flags 0): the bytes typed (mr[0] = n, bytes in mr[1..]);
 * without CON_NOWAIT the reply waits for at least one byte. Ctrl-C (0x03)
 * is never given to readers: it goes to CON_INTR. Both sources type alike:
 * Enter is "\n" (the serial terminal's CR, CR LF or LF), Backspace "\b"
 * (the terminal's DEL, 0x7f, too). Escape sequences (arrow keys) arrive as
 * typed (ESC [ A); the PS/2 keyboard driver reports no arrows (kbd.h).
 * Input waits in one 4 KiB ring: beyond, it is dropped and counted
 * (CON_ST_DROPPED). Up to 4 readers wait at a time, served in order
 * (another gets -AL_EBUSY). A reader that gives up (timeout) loses
 * nothing. */
#define CON_READ   0x6302
#define CON_NOWAIT 1
/* waits until Ctrl-C is typed; mr[0] = how many since the last CON_INTR
 * answer (one waiter at a time, another gets -AL_EBUSY; typed while none
 * waits, they are counted and the next CON_INTR returns at once) */
#define CON_INTR 0x6303
/* reply: CON_STAT_WORDS words, indexed by enum con_stat */
#define CON_STATS 0x6304

#define CON_OK  0
#define CON_ERR 1

enum con_stat {
    CON_ST_IN_SERIAL, /* bytes typed on the serial terminal */
    CON_ST_IN_KBD,    /* characters from the keyboard */
    CON_ST_OUT,       /* bytes written */
    CON_ST_DROPPED,   /* input bytes dropped (the input buffer was full) */
    CON_ST_INTR,      /* Ctrl-C typed */
    CON_ST_OUT_DROPPED,  /* bytes for the serial terminal dropped (its queue full past the wait) */
    CON_ST_WRITE_WAITS,  /* writers that waited for room in the serial queue */
    CON_ST_ESC_SKIPPED,  /* escape sequences the screen does not understand (skipped) */
    CON_ST_BAD_REQ,      /* malformed or unknown requests refused */
    CON_ST_UART_RETRIES, /* calls to the UART driver that failed (gone, restarting) and were retried */
    CON_ST_KBD_RETRIES,  /* the same for the keyboard driver */
    CON_STAT_WORDS
};

#endif
