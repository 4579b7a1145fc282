/*
 * A user-mode driver for a 16550A UART: COM2 (ports 0x2f8-0x2ff, ISA IRQ
 * 3), interrupt-driven in both directions with the FIFOs on. Started by
 * the root task with ports=0x2f8:8 irqs=1 start=bg: it holds those eight
 * ports, the IRQ-control capability it makes its one IRQ object from, the
 * endpoint it serves on, and nothing else. With serve=uart that is the
 * receive end of the system's UART endpoint (AL_SLOT_SERVICE; clients
 * hold AL_SLOT_UART, use=uart), else the boot endpoint (the `uart` suite).
 *
 * One thread, blocked in IPC receive on that endpoint; it wakes for an
 * interrupt message (label AL_LABEL_IRQ, our badge) or a client's call
 * (the protocol: user/lib/uart.h). Nothing polls the device:
 *   - an interrupt: read IIR and serve what it names (line status: count
 *     the errors; received data or its timeout: move bytes into the
 *     receive ring; transmitter empty: refill the FIFO from the transmit
 *     ring), until IIR says nothing is pending (so the edge-triggered line
 *     is low again), then irq_ack;
 *   - receive ring full: the receive interrupt is switched off and the
 *     bytes stay in the device, which then takes nothing more from its
 *     line (QEMU's 16550 reads its chardev only into free FIFO room); it
 *     is switched on again once a reader has made room: nothing is lost;
 *   - the transmitter-empty interrupt is on only while the transmit ring
 *     holds bytes (or QUIT waits for the last ones to leave);
 *   - a reader with nothing to read, or a writer whose bytes do not all
 *     fit, waits in a saved reply capability (reply_save) until they do.
 * The IRQ object is made before the device is touched and bound only once
 * the driver is ready: the device programmed with its interrupts off, the
 * rings empty. Requests are checked (lengths, words, labels) and a bad one
 * is answered with UART_ERR; an interrupt message is only believed with
 * our badge, which no client can send.
 *
 *   uart [rx=BYTES]   the receive ring's size (a power of two, 16..65536;
 *                     default 4096)
 */
#include "user/lib/airlock.h"
#include "user/lib/portio.h"
#include "user/lib/uart.h"
#include "abi/airlock/boot.h"
#include "lib/string.h"

/* our own slots: above the well-known ones (abi/airlock/boot.h) */
#define IRQ       16 /* our IRQ object */
#define RD_REPLY  17 /* the waiting reader's reply */
#define WR_REPLY  18 /* the waiting writer's reply */
#define QUIT_REPLY 19
#define IRQ_BADGE 0x3a27c0de
#define BASE      0x2f8
#define ISA_IRQ   3

/* 16550 registers (DLAB = 0 unless noted) */
#define RBR 0 /* receive buffer (read) */
#define THR 0 /* transmit holding (write) */
#define DLL 0 /* divisor low (DLAB = 1) */
#define IER 1
#define DLM 1 /* divisor high (DLAB = 1) */
#define IIR 2 /* (read) */
#define FCR 2 /* (write) */
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

#define IER_RDI  0x01 /* received data available (and its timeout) */
#define IER_THRI 0x02 /* transmit holding register empty */
#define IER_RLSI 0x04 /* receiver line status */
#define IIR_NONE 0x01
#define IIR_ID   0x0e
#define IIR_MSI  0x00
#define IIR_THRI 0x02
#define IIR_RDI  0x04
#define IIR_RLSI 0x06
#define IIR_CTI  0x0c /* character timeout */
#define IIR_FIFO 0xc0 /* both set: a 16550A with its FIFOs on */
#define FCR_ENABLE 0x01
#define FCR_CLR_RX 0x02
#define FCR_CLR_TX 0x04
#define FCR_TRIG14 0xc0 /* receive interrupt at 14 bytes (or the timeout) */
#define LCR_DLAB 0x80
#define LCR_8N1  0x03
#define MCR_DTR_RTS_OUT2 0x0b
#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_PE   0x04
#define LSR_FE   0x08
#define LSR_BI   0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define FIFO_LEN 16
#define SERVICE_MAX 256 /* IIR rounds per interrupt before we call it a storm */

struct ring {
    unsigned char *buf;
    unsigned long size, head, tail; /* head - tail bytes, at buf[tail % size] */
};
static unsigned char rxmem[65536], txmem[4096];
static struct ring rx = {rxmem, 4096, 0, 0}, tx = {txmem, sizeof txmem, 0, 0};

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
static unsigned char ring_get(struct ring *r)
{
    return r->buf[r->tail++ & (r->size - 1)];
}

static long EP = AL_SLOT_BOOT_EP; /* the endpoint we serve: AL_SLOT_SERVICE with serve=uart */
static unsigned long st[UART_STAT_WORDS];
static unsigned ier;
static int rx_stalled;

static int reader_waiting;
static unsigned long reader_max;
static int writer_waiting;
static unsigned char wpend[UART_MAX_BYTES];
static unsigned long wpend_n, wpend_off;
static int quitting;

static void set_ier(unsigned v)
{
    if (v != ier) {
        ier = v;
        outb(BASE + IER, (unsigned char)v);
    }
}

static void line_status(unsigned lsr)
{
    st[UART_ST_OVERRUN] += !!(lsr & LSR_OE);
    st[UART_ST_PARITY] += !!(lsr & LSR_PE);
    st[UART_ST_FRAMING] += !!(lsr & LSR_FE);
    st[UART_ST_BREAK] += !!(lsr & LSR_BI);
}

/* bytes from the receive FIFO into the ring, while both allow; a full ring
 * switches the receive interrupt off (the bytes wait in the device) */
static void rx_drain(void)
{
    for (unsigned n = 0; n < 4 * FIFO_LEN; n++) {
        unsigned lsr = inb(BASE + LSR);
        line_status(lsr);
        if (!(lsr & LSR_DR))
            return;
        if (lsr & LSR_BI) { /* a break arrives as a NUL byte: not data */
            (void)inb(BASE + RBR);
            continue;
        }
        if (!ring_free(&rx)) {
            if (!rx_stalled) {
                rx_stalled = 1;
                st[UART_ST_RX_STALLS]++;
            }
            set_ier(ier & ~IER_RDI);
            return;
        }
        ring_put(&rx, inb(BASE + RBR));
        st[UART_ST_RX]++;
    }
}

/* the transmit FIFO is empty whenever THRE is set: 16 bytes fit each time */
static void tx_fill(void)
{
    for (unsigned rounds = 0; ring_count(&tx) && rounds < sizeof txmem / FIFO_LEN; rounds++) {
        if (!(inb(BASE + LSR) & LSR_THRE))
            break;
        for (unsigned i = 0; i < FIFO_LEN && ring_count(&tx); i++) {
            outb(BASE + THR, ring_get(&tx));
            st[UART_ST_TX]++;
        }
    }
}

/* serve the device until IIR says nothing is pending */
static void service(void)
{
    for (unsigned i = 0; i < SERVICE_MAX; i++) {
        unsigned iir = inb(BASE + IIR);
        if (iir & IIR_NONE)
            return;
        switch (iir & IIR_ID) {
        case IIR_RLSI:
            line_status(inb(BASE + LSR));
            break;
        case IIR_RDI:
        case IIR_CTI:
            rx_drain();
            break;
        case IIR_THRI: /* (reading IIR cleared it) */
            tx_fill();
            break;
        case IIR_MSI:
            (void)inb(BASE + MSR);
            break;
        default: /* not a 16550 identification: read everything that clears one */
            (void)inb(BASE + LSR);
            (void)inb(BASE + MSR);
            break;
        }
    }
    st[UART_ST_STORMS]++;
}

static void reply_err(long slot, long err)
{
    struct al_utcb *u = al_utcb();
    u->mr[0] = (unsigned long)err;
    al_ipc(AL_IPC_REPLY, slot, AL_TAG(1, 0, UART_ERR), 0, 0);
}

static void reply_stats(long slot)
{
    struct al_utcb *u = al_utcb();
    for (int i = 0; i < UART_STAT_WORDS; i++)
        u->mr[i] = st[i];
    al_ipc(AL_IPC_REPLY, slot, AL_TAG(UART_STAT_WORDS, 0, UART_OK), 0, 0);
}

/* up to max bytes of the receive ring (at least one is there) */
static void reply_read(long slot, unsigned long max)
{
    struct al_utcb *u = al_utcb();
    unsigned long n = ring_count(&rx) < max ? ring_count(&rx) : max;
    unsigned char *p = (unsigned char *)&u->mr[1];
    for (unsigned long i = 0; i < n; i++)
        p[i] = ring_get(&rx);
    u->mr[0] = n;
    al_ipc(AL_IPC_REPLY, slot, AL_TAG(1 + (n + 7) / 8, 0, UART_OK), 0, 0);
}

/* after every event: move what can move, answer who can be answered */
static void progress(void)
{
    while (writer_waiting && wpend_off < wpend_n && ring_free(&tx))
        ring_put(&tx, wpend[wpend_off++]);
    tx_fill();
    while (writer_waiting && wpend_off < wpend_n && ring_free(&tx))
        ring_put(&tx, wpend[wpend_off++]);
    if (writer_waiting && wpend_off == wpend_n) {
        writer_waiting = 0;
        al_utcb()->mr[0] = wpend_n;
        al_ipc(AL_IPC_REPLY, WR_REPLY, AL_TAG(1, 0, UART_OK), 0, 0);
    }
    if (reader_waiting && ring_count(&rx)) {
        reader_waiting = 0;
        reply_read(RD_REPLY, reader_max);
    }
    if (rx_stalled && ring_free(&rx) >= FIFO_LEN) {
        /* room again: take the bytes the device kept, and its interrupt */
        rx_stalled = 0;
        set_ier(ier | IER_RDI);
        rx_drain();
        if (reader_waiting && ring_count(&rx)) {
            reader_waiting = 0;
            reply_read(RD_REPLY, reader_max);
        }
    }
    /* THRE interrupts only while there is something to send (or to see sent) */
    int want = ring_count(&tx) || (quitting && !(inb(BASE + LSR) & LSR_TEMT));
    set_ier(want ? ier | IER_THRI : ier & ~IER_THRI);
}

/* a client's call; answered now, or its reply saved */
static void request(unsigned long tag)
{
    struct al_utcb *u = al_utcb();
    unsigned long label = AL_TAG_LABEL(tag), words = AL_TAG_WORDS(tag), n = u->mr[0];
    if (AL_TAG_ITEMS(tag) || (words < 1 && label != UART_STATS && label != UART_QUIT)) {
        st[UART_ST_BAD_REQ]++;
        reply_err(-1, -AL_EINVAL);
        return;
    }
    switch (label) {
    case UART_WRITE:
        if (n < 1 || n > UART_MAX_BYTES || words < 1 + (n + 7) / 8) {
            st[UART_ST_BAD_REQ]++;
            reply_err(-1, -AL_EINVAL);
            return;
        }
        if (writer_waiting || quitting) {
            reply_err(-1, quitting ? -AL_ECANCELED : -AL_EBUSY);
            return;
        }
        const unsigned char *p = (const unsigned char *)&u->mr[1];
        unsigned long i = 0;
        while (i < n && ring_free(&tx))
            ring_put(&tx, p[i++]);
        if (i == n) {
            u->mr[0] = n;
            al_ipc(AL_IPC_REPLY, -1, AL_TAG(1, 0, UART_OK), 0, 0);
            return;
        }
        memcpy(wpend, p + i, n - i);
        wpend_n = n - i;
        wpend_off = 0;
        al_cap_delete(WR_REPLY); /* (a stale one) */
        if (al_reply_save(WR_REPLY) == 0) {
            writer_waiting = 1;
            st[UART_ST_TX_WAITS]++;
        }
        /* (reply_save failed: the caller is gone; its bytes are dropped) */
        return;
    case UART_READ:
        if (n < 1 || n > UART_MAX_BYTES) {
            st[UART_ST_BAD_REQ]++;
            reply_err(-1, -AL_EINVAL);
            return;
        }
        if (reader_waiting || quitting) {
            reply_err(-1, quitting ? -AL_ECANCELED : -AL_EBUSY);
            return;
        }
        if (ring_count(&rx)) {
            reply_read(-1, n);
            return;
        }
        al_cap_delete(RD_REPLY); /* (a stale one: nothing there, or its caller gone; as kbd and console) */
        long rs = al_reply_save(RD_REPLY);
        if (rs == 0) {
            reader_waiting = 1;
            reader_max = n;
        } else {
            reply_err(-1, rs); /* (never leave a reader waiting for nothing: it retries) */
        }
        return;
    case UART_STATS:
        reply_stats(-1);
        return;
    case UART_QUIT:
        if (quitting) {
            reply_err(-1, -AL_EBUSY);
            return;
        }
        if (al_reply_save(QUIT_REPLY) == 0)
            quitting = 1;
        if (reader_waiting) {
            reader_waiting = 0;
            reply_err(RD_REPLY, -AL_ECANCELED);
        }
        return;
    default:
        st[UART_ST_BAD_REQ]++;
        reply_err(-1, -AL_EINVAL);
        return;
    }
}

/* program the device with its interrupts off; 0 if it is not a 16550A */
static int device_init(void)
{
    outb(BASE + IER, 0);
    outb(BASE + SCR, 0x5a);
    if (inb(BASE + SCR) != 0x5a)
        return 0;
    outb(BASE + LCR, LCR_DLAB);
    outb(BASE + DLL, 1); /* 115200 baud */
    outb(BASE + DLM, 0);
    outb(BASE + LCR, LCR_8N1);
    outb(BASE + FCR, FCR_ENABLE | FCR_CLR_RX | FCR_CLR_TX | FCR_TRIG14);
    if ((inb(BASE + IIR) & IIR_FIFO) != IIR_FIFO)
        return 0;
    outb(BASE + MCR, MCR_DTR_RTS_OUT2);
    (void)inb(BASE + LSR);
    (void)inb(BASE + MSR);
    ier = 0;
    return 1;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        int ok = 0;
        if (!strncmp(argv[i], "rx=", 3)) {
            long v = strtol_simple(argv[i] + 3, &ok);
            if (ok && v >= 16 && v <= (long)sizeof rxmem && !(v & (v - 1)))
                rx.size = (unsigned long)v;
            else
                ok = 0;
        }
        if (!ok) {
            printf("uart: bad argument '%s'\n", argv[i]);
            return 2;
        }
    }
    struct al_cap_info ci;
    if (al_cap_info(AL_SLOT_SERVICE, &ci) == 0 && ci.type == AL_CAP_ENDPOINT && (ci.rights & AL_R_RECV))
        EP = AL_SLOT_SERVICE;
    long r = al_irq_create(AL_SLOT_IRQ_CONTROL, IRQ, AL_IRQ_ISA, ISA_IRQ, 0, 0);
    if (r) {
        printf("uart: cannot take ISA IRQ %d (%ld)\n", ISA_IRQ, r);
        return 1;
    }
    if (!device_init()) {
        printf("uart: no 16550A at %#x\n", BASE);
        return 1;
    }
    /* ready: bind, then let the device interrupt */
    if ((r = al_irq_bind(IRQ, EP, IRQ_BADGE))) {
        printf("uart: irq_bind failed (%ld)\n", r);
        return 1;
    }
    set_ier(IER_RDI | IER_RLSI);
    service(); /* (anything pending already: the line must be low for the next edge) */
    printf("uart: ready at %#x, ISA IRQ %d, rings rx %lu tx %lu, serving on %s\n", BASE, ISA_IRQ, rx.size, tx.size,
           EP == AL_SLOT_SERVICE ? "its service endpoint" : "the boot endpoint");

    struct al_utcb *u = al_utcb();
    for (;;) {
        if (quitting && !ring_count(&tx) && !writer_waiting && (inb(BASE + LSR) & LSR_TEMT))
            break;
        r = al_ipc(AL_IPC_RECV, 0, 0, EP, AL_TIMEOUT_NEVER);
        if (r)
            continue;
        if (AL_TAG_LABEL(u->tag) == AL_LABEL_IRQ && u->badge == IRQ_BADGE) {
            st[UART_ST_IRQS]++;
            service();
            al_irq_ack(IRQ);
        } else {
            request(u->tag);
        }
        progress();
    }
    set_ier(0);
    al_cap_delete(IRQ);
    reply_stats(QUIT_REPLY);
    printf("uart: done: %lu bytes in, %lu out, %lu interrupts, %lu receive stalls, %lu writer waits, errors "
           "(overrun %lu parity %lu framing %lu break %lu), %lu bad requests, %lu storms\n",
           st[UART_ST_RX], st[UART_ST_TX], st[UART_ST_IRQS], st[UART_ST_RX_STALLS], st[UART_ST_TX_WAITS],
           st[UART_ST_OVERRUN], st[UART_ST_PARITY], st[UART_ST_FRAMING], st[UART_ST_BREAK], st[UART_ST_BAD_REQ],
           st[UART_ST_STORMS]);
    return 0;
}
