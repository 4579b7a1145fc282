/*
 * One interrupt line (a GSI) as the IRQ objects on it see it: which
 * objects are members, which are bound to an endpoint, which owe an
 * acknowledgement, and the storm throttle. docs/ARCHITECTURE.md, section
 * 10.8.
 *
 * Pure logic: no hardware, no locks of its own, no globals, no
 * allocation; the caller (kernel/irqobj.c) holds the BKL with interrupts
 * off and applies irqline_want() to the line's mask. Host-tested by
 * tests/host/test_irqline.c.
 *
 * Members are named by a small id (0..31: the IRQ object's pool slot).
 * A line has either one member, or several that were all created shared
 * (AL_IRQ_SHARED: PCI INTx, level-triggered) with the same flags.
 *
 * The line is unmasked exactly while irqline_want() says so:
 *   - at least one member is bound (nobody listens otherwise);
 *   - a level line: no member owes an acknowledgement: every member that
 *     got a message has called irq_ack, or has left the line (detached,
 *     deleted, its task ended), which counts as its acknowledgement (an
 *     edge line stays unmasked while bound: its arrivals meanwhile are
 *     counted by the objects);
 *   - it is not throttled.
 *
 * Storms: a level line whose device is not quietened fires again as soon
 * as it is unmasked. At most IRQLINE_STORM_LIMIT arrivals per line per
 * timer tick (epoch) are let through; the arrival that reaches the limit
 * is still delivered, but the line then stays masked until the next tick
 * (irqline_tick), whatever the acknowledgements, and the event is counted
 * in `throttles`. Edge lines are never masked at an arrival, so the
 * throttle is only for level lines.
 */
#ifndef KERNEL_IRQLINE_H
#define KERNEL_IRQLINE_H
#include <stdint.h>

/* arrivals per level line per timer tick (10 ms at 100 Hz): 3200/s, more
 * than a working INTx device needs (its driver serves each one before the
 * next can come; faster devices use MSI), and few enough that a storm
 * leaves most of the tick to other threads even where a round (interrupt,
 * message, acknowledgement) is slow, as under emulation (up to ~250 us) */
#define IRQLINE_STORM_LIMIT 32u
#define IRQLINE_MAX_MEMBERS 32u

struct irqline {
    uint32_t members;         /* bit i: member i is on the line */
    uint32_t bound;           /* members bound to an endpoint */
    uint32_t owing;           /* members with a message not yet acknowledged */
    int shared;               /* the members were created shared */
    int level;                /* level-triggered: masked at each arrival */
    unsigned flags;           /* the line's trigger and polarity (members agree) */
    uint64_t epoch;           /* the tick whose arrivals `burst` counts */
    unsigned burst;           /* arrivals in that tick */
    int throttled;            /* masked until the next tick */
    unsigned long throttles;  /* times it was throttled */
    unsigned long arrivals;   /* arrivals on the line since its first member */
};

/* member id joins the line: the first member sets shared, level and flags;
 * a further one only if it and the line are shared with equal flags.
 * -AL_EBUSY otherwise (nothing changed), -AL_EINVAL for a bad id or one
 * already a member. */
int irqline_join(struct irqline *l, unsigned id, int shared, int level, unsigned flags);
/* member id leaves (detached first if bound: its debt is forgiven);
 * returns the number of members left (0: the line is free; the caller
 * unroutes it and clears the struct) */
unsigned irqline_leave(struct irqline *l, unsigned id);

/* member id is bound / unbound (an unbind forgives its debt) */
void irqline_bind(struct irqline *l, unsigned id);
void irqline_unbind(struct irqline *l, unsigned id);
/* member id got a message (it owes an acknowledgement) / acknowledged it */
void irqline_sent(struct irqline *l, unsigned id);
void irqline_acked(struct irqline *l, unsigned id);

/* an arrival in tick `epoch` (the caller then makes the members'
 * messages); returns 1 if this arrival throttled the line */
int irqline_arrival(struct irqline *l, uint64_t epoch);
/* a new tick: the throttle is lifted; returns 1 if it was throttled */
int irqline_tick(struct irqline *l);

/* 1: the line should be unmasked now; 0: masked */
int irqline_want(const struct irqline *l);
#endif
