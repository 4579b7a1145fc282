/*
 * A client of the UART driver (user/bin/uart.c, protocol user/lib/uart.h)
 * through AL_SLOT_UART (use=uart) or else the boot endpoint, with no
 * capability of its own beyond that:
 * it reads what arrives on the line and writes it back, until it has
 * echoed BYTES bytes, then checks the CRC-32 of what it saw and the
 * driver's counters, and tells the driver to finish (KTAP).
 *
 *   uartecho BYTES [crc=HEX] [pause=MS]
 *
 * pause=MS: once, half-way, stop reading for MS milliseconds, so that the
 * driver's receive ring fills and its back-pressure must hold the line.
 * The `uart` suite of tools/ktest.py sends the bytes from the host through
 * a socket on COM2 and checks the echo there too.
 */
#include "user/lib/airlock.h"
#include "user/lib/uart.h"
#include "abi/airlock/boot.h"
#include "lib/string.h"

#define READ_TIMEOUT 20000000000L /* 20 s without a byte: the host stopped sending */

static unsigned long crc32_update(unsigned long crc, const unsigned char *p, unsigned long n)
{
    crc = ~crc & 0xffffffffUL;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320UL & -(crc & 1));
    }
    return ~crc & 0xffffffffUL;
}

/* the driver's endpoint: AL_SLOT_UART with use=uart, else the boot endpoint */
static long EP = AL_SLOT_BOOT_EP;

static void choose_endpoint(void)
{
    struct al_cap_info ci;
    if (al_cap_info(AL_SLOT_UART, &ci) == 0 && ci.type == AL_CAP_ENDPOINT && (ci.rights & AL_R_SEND))
        EP = AL_SLOT_UART;
}

/* a call with `words` words and `label`; the reply's label, or a negative error */
static long call(unsigned long words, unsigned long label, long timeout)
{
    long r = al_ipc(AL_IPC_CALL, EP, AL_TAG(words, 0, label), 0, timeout);
    return r ? r : (long)AL_TAG_LABEL(al_utcb()->tag);
}

/* a request the driver must refuse with UART_ERR / -AL_EINVAL */
static int refused(unsigned long words, unsigned long label, unsigned long mr0)
{
    al_utcb()->mr[0] = mr0;
    return call(words, label, AL_TIMEOUT_NEVER) == UART_ERR && (long)al_utcb()->mr[0] == -AL_EINVAL;
}

int main(int argc, char **argv)
{
    struct al_utcb *u = al_utcb();
    choose_endpoint();
    int ok = 0, ok2 = 1;
    long want = argc > 1 ? strtol_simple(argv[1], &ok) : 0;
    unsigned long crc_want = 0, pause_ms = 0;
    int have_crc = 0;
    for (int i = 2; i < argc; i++) {
        if (!strncmp(argv[i], "crc=", 4))
            crc_want = strtoul_hex(argv[i] + 4, &ok2), have_crc = 1;
        else if (!strncmp(argv[i], "pause=", 6))
            pause_ms = (unsigned long)strtol_simple(argv[i] + 6, &ok2);
        else
            ok2 = 0;
    }
    if (!ok || !ok2 || want < 1) {
        printf("usage: uartecho BYTES [crc=HEX] [pause=MS]\n");
        return 2;
    }
    ktap_plan(6);

    /* hostile requests first: the driver refuses them and carries on */
    int e = refused(1, UART_WRITE, 0) && refused(1, UART_WRITE, UART_MAX_BYTES + 1) &&
            refused(2, UART_WRITE, 9) /* 9 bytes need 2 words after mr[0] */ && refused(1, UART_READ, 0) &&
            refused(1, UART_READ, 1UL << 40) && refused(0, UART_READ, 1) && refused(1, 0x7777, 0) &&
            refused(2, AL_LABEL_IRQ, 3) /* an interrupt message, but not with the driver's badge */;
    ktap_result(e, "malformed requests are refused (bad lengths, too few words, unknown labels, a forged IRQ)");

    unsigned long got = 0, crc = 0, calls = 0;
    long r = 0;
    int paused = 0;
    static unsigned char buf[UART_MAX_BYTES];
    uint64_t t0 = rdtsc();
    while ((long)got < want) {
        if (pause_ms && !paused && got >= (unsigned long)want / 2) {
            paused = 1;
            al_sleep(pause_ms * 1000000UL);
        }
        unsigned long max = (unsigned long)want - got < UART_MAX_BYTES ? (unsigned long)want - got : UART_MAX_BYTES;
        u->mr[0] = max;
        r = call(1, UART_READ, READ_TIMEOUT);
        calls++;
        unsigned long n = u->mr[0];
        if (r != UART_OK || n < 1 || n > max || AL_TAG_WORDS(u->tag) != 1 + (n + 7) / 8) {
            printf("uartecho: read failed after %lu bytes (%ld, n %lu)\n", got, r, n);
            break;
        }
        memcpy(buf, &u->mr[1], n);
        crc = crc32_update(crc, buf, n);
        got += n;
        /* and back */
        u->mr[0] = n;
        memcpy(&u->mr[1], buf, n);
        r = call(1 + (n + 7) / 8, UART_WRITE, READ_TIMEOUT);
        calls++;
        if (r != UART_OK || u->mr[0] != n) {
            printf("uartecho: write failed after %lu bytes (%ld)\n", got, r);
            break;
        }
    }
    uint64_t t1 = rdtsc();
    ktap_result((long)got == want, "echoed %lu of %ld bytes in %lu calls", got, want, calls);
    ktap_result(!have_crc || crc == crc_want, "CRC-32 of the bytes received: %08lx (expected %08lx)", crc, crc_want);

    /* the driver sends what it holds, answers with its counters and exits */
    r = call(0, UART_QUIT, AL_TIMEOUT_NEVER);
    unsigned long st[UART_STAT_WORDS];
    int have = r == UART_OK && AL_TAG_WORDS(u->tag) == UART_STAT_WORDS;
    for (int i = 0; i < UART_STAT_WORDS; i++)
        st[i] = have ? u->mr[i] : ~0UL;
    ktap_result(have && st[UART_ST_RX] == got && st[UART_ST_TX] == got,
                "the driver received %lu and transmitted %lu bytes, in %lu interrupts", st[UART_ST_RX],
                st[UART_ST_TX], st[UART_ST_IRQS]);
    ktap_result(have && !st[UART_ST_OVERRUN] && !st[UART_ST_PARITY] && !st[UART_ST_FRAMING] && !st[UART_ST_BREAK],
                "no line-status errors (overrun %lu, parity %lu, framing %lu, break %lu)", st[UART_ST_OVERRUN],
                st[UART_ST_PARITY], st[UART_ST_FRAMING], st[UART_ST_BREAK]);
    ktap_result(have && (!pause_ms || st[UART_ST_RX_STALLS] > 0) && st[UART_ST_BAD_REQ] == 8,
                "receive ring full %lu times, nothing lost; writers waited %lu times; %lu bad requests counted",
                st[UART_ST_RX_STALLS], st[UART_ST_TX_WAITS], st[UART_ST_BAD_REQ]);
    printf("uartecho: %lu bytes in %lu Mcycles\n", got, (unsigned long)((t1 - t0) / 1000000));
    return ktap_failures();
}
