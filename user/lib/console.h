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
 * output; the reply (mr[0] = n) comes once they are queued */
#define CON_WRITE 0x6301
/* mr[0] = max (1..CON_MAX_BYTES), mr[1] = flags (CON_NOWAIT): the bytes
 * typed (mr[0] = n, bytes in mr[1..]); without CON_NOWAIT the reply waits
 * for at least one byte. Ctrl-C (0x03) is never given to readers: it goes
 * to CON_INTR. Escape sequences (arrow keys) arrive as typed (ESC [ A). */
#define CON_READ   0x6302
#define CON_NOWAIT 1
/* waits until Ctrl-C is typed; mr[0] = how many since the last CON_INTR */
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
    CON_STAT_WORDS
};

#endif
