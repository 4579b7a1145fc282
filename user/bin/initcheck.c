/*
 * The init protocol (user/lib/init.h), from a client (KTAP): started from
 * a boot configuration with use=init, next to a supervised PCI server
 * (restart=1). Lists the tasks, runs programs in the foreground and the
 * background, waits for them, kills one, restarts the supervised server,
 * checks every refusal, and halts the system.
 */
#include "user/lib/airlock.h"
#include "user/lib/init.h"
#include "abi/airlock/boot.h"
#include "lib/string.h"

static long call(unsigned long label, unsigned long words)
{
    struct al_utcb *u = al_utcb();
    long r = al_ipc(AL_IPC_CALL, AL_SLOT_INIT, AL_TAG(words, 0, label), 0, AL_TIMEOUT_NEVER);
    if (r)
        return r;
    return AL_TAG_LABEL(u->tag) == INIT_OK ? 0 : (long)u->mr[0];
}

static long run(const char *line)
{
    struct al_utcb *u = al_utcb();
    u->mr[0] = 0;
    unsigned n = (unsigned)strlen(line) + 1;
    memcpy(&u->mr[1], line, n);
    long r = call(INIT_RUN, 1 + (n + 7) / 8);
    return r ? r : (long)u->mr[0];
}

static long wait_for(long id, unsigned long *how, unsigned long *status)
{
    struct al_utcb *u = al_utcb();
    u->mr[0] = (unsigned long)id;
    long r = call(INIT_WAIT, 1);
    *how = u->mr[0];
    *status = u->mr[1];
    return r;
}

/* the entry of the task named name (prefix), or with id (name NULL):
 * its id, or -1 */
static long find_task(const char *name, long id, struct init_task *out)
{
    for (unsigned long i = 0; i < 64; i++) {
        al_utcb()->mr[0] = i;
        if (call(INIT_LIST, 1))
            return -1;
        memcpy(out, al_utcb()->mr, sizeof *out);
        if (name ? !strncmp(out->name, name, strlen(name)) : (long)out->id == id)
            return (long)out->id;
    }
    return -1;
}

static long find(const char *name, struct init_task *out)
{
    return find_task(name, 0, out);
}

/* the state of task id in root's list (-1: not listed) */
static long state_of(long id)
{
    struct init_task t;
    return find_task(NULL, id, &t) < 0 ? -1 : (long)t.state;
}

static long op(unsigned long label, unsigned long id)
{
    al_utcb()->mr[0] = id;
    return call(label, 1);
}

int main(void)
{
    ktap_plan(9);
    struct init_task t;
    long pci = find("pci", &t);
    ktap_result(pci > 0 && t.kind == INIT_KIND_DRIVER && t.state == INIT_RUNNING && t.restarts == 0 && t.pages > 0,
                "INIT_LIST: the PCI server, a running driver (task %ld, %lu pages)", pci, t.pages);

    unsigned long how = 0, status = 0;
    long id = run("hello from init");
    long w = wait_for(id, &how, &status);
    ktap_result(id > 0 && w == 0 && how == AL_THREAD_EXITED && status == 0, "INIT_RUN + INIT_WAIT: hello ran (task %ld)",
                id);

    /* waiting for a task that has ended already (a short program on
     * another CPU can end before its starter's INIT_WAIT): answered at once
     * with how it ended, not ENOENT. (Here hello takes about 3 s: this
     * suite has no console server, and its first CON_WRITE waits out the
     * timeout before it writes through debug_write.) */
    id = run("hello ends before the wait");
    long st = -1;
    int polls = 0;
    for (; polls < 2000 && (st = state_of(id)) != INIT_ENDED; polls++)
        al_sleep(5000000);
    how = status = 99;
    w = wait_for(id, &how, &status);
    ktap_result(id > 0 && st == INIT_ENDED && w == 0 && how == AL_THREAD_EXITED && status == 0,
                "INIT_WAIT for a task that has ended: at once, how it ended (task %ld, state %ld after %d polls, %ld how %lu status %lu)", id, st,
                polls, w, how, status);

    id = run("spin 100000000");
    al_sleep(20000000);
    long k = op(INIT_KILL, (unsigned long)id);
    w = wait_for(id, &how, &status);
    long again = op(INIT_KILL, (unsigned long)id);
    ktap_result(id > 0 && k == 0 && (w == 0 ? how == AL_THREAD_KILLED : w == -AL_ENOENT) && again == -AL_ENOENT,
                "INIT_KILL: a spinning program ends killed (%ld %ld how %lu); killing it again: ENOENT", k, w, how);

    long r1 = run("nosuchprogram"), r2 = run("hello ports=all"), r3 = run("hello irqs=1"),
         r4 = run("hello use=console,init");
    ktap_result(r1 == -AL_ENOENT && r2 == -AL_EPERM && r3 == -AL_EPERM && r4 == -AL_EPERM,
                "INIT_RUN refuses an unknown program and any device or service word (%ld %ld %ld %ld)", r1, r2, r3, r4);

    al_utcb()->mr[0] = 0;
    ktap_result(call(INIT_RUN, 1) == -AL_EINVAL && op(INIT_WAIT, 999999) == -AL_ENOENT &&
                    op(INIT_KILL, 999999) == -AL_ENOENT && op(0x6999, 0) == -AL_EINVAL,
                "empty command lines, unknown tasks and labels: EINVAL or ENOENT");

    long rs = op(INIT_RESTART, (unsigned long)pci);
    long npci = -1;
    for (int i = 0; i < 100; i++) {
        al_sleep(10000000);
        npci = find("pci", &t);
        if (npci > 0 && npci != pci && t.state == INIT_RUNNING)
            break;
    }
    ktap_result(rs == 0 && npci > 0 && npci != pci && t.restarts == 1 && t.state == INIT_RUNNING,
                "INIT_RESTART: the PCI server runs again as task %ld (restarts %lu)", npci, t.restarts);
    ktap_result(op(INIT_RESTART, (unsigned long)find("initcheck", &t)) == -AL_EINVAL,
                "INIT_RESTART of a task that is not supervised: EINVAL");

    /* a crashing supervised program is restarted, with a back-off that
     * doubles (100 ms, 200, 400, ...): by now it has been restarted a few
     * times, and the restarts slow down */
    long c = find("crash", &t);
    unsigned long r0 = t.restarts;
    al_sleep(400000000);
    find("crash", &t);
    ktap_result(c > 0 && r0 >= 2 && r0 <= 8 && t.restarts - r0 <= 1,
                "a supervised program that crashes is restarted with back-off (%lu restarts, %lu in the last 400 ms)",
                t.restarts, t.restarts - r0);
    op(INIT_HALT, 0);
    return ktap_failures();
}
