/*
 * The 16550 UART driver's IPC protocol (user/bin/uart.c; docs/DRIVERS.md,
 * section 6). Clients call the driver's endpoint (in the tests the boot
 * endpoint, AL_SLOT_BOOT_EP). A request's label is one of UART_*; its
 * reply has label UART_OK with the words given below, or UART_ERR with
 * -AL_Exxx in mr[0]. Bytes travel packed in the message registers from
 * mr[1] on (8 per word, in order: memcpy to and from &mr[1]).
 */
#ifndef USER_UART_H
#define USER_UART_H

#define UART_MAX_BYTES 496 /* bytes in one message: 62 words after mr[0] */

/* mr[0] = n (1..UART_MAX_BYTES), bytes in mr[1..]. The reply comes once all
 * n bytes are in the transmit ring (the caller blocks while it is full):
 * mr[0] = n. */
#define UART_WRITE 0x7501
/* mr[0] = max (1..UART_MAX_BYTES). The reply comes once at least one byte
 * has arrived (the caller blocks until then): mr[0] = n (1..max), bytes in
 * mr[1..]. One reader may wait at a time (another gets -AL_EBUSY). */
#define UART_READ 0x7502
/* reply: UART_STAT_WORDS words, indexed by enum uart_stat */
#define UART_STATS 0x7503
/* the driver sends what its transmit ring holds, replies and exits */
#define UART_QUIT 0x7504

#define UART_OK  0
#define UART_ERR 1

enum uart_stat {
    UART_ST_RX,        /* bytes received from the line */
    UART_ST_TX,        /* bytes written to the transmitter */
    UART_ST_IRQS,      /* interrupt messages */
    UART_ST_OVERRUN,   /* line-status errors (LSR): overrun, */
    UART_ST_PARITY,    /* parity error, */
    UART_ST_FRAMING,   /* framing error, */
    UART_ST_BREAK,     /* break (its NUL byte is dropped) */
    UART_ST_RX_STALLS, /* times the receive ring was full: RX interrupt off, the device holds the line */
    UART_ST_TX_WAITS,  /* writers that had to wait for room */
    UART_ST_BAD_REQ,   /* malformed or unknown requests refused */
    UART_ST_STORMS,    /* service loops cut short (the device kept an interrupt pending) */
    UART_STAT_WORDS
};

#endif
