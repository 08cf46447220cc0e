/*
 * cg_dist: the processes of a data-parallel run (dist.h), on Open MPI when
 * the library was built with it (CG_HAVE_MPI: the Makefile found ompi-c
 * with pkg-config), else a group of one process.
 *
 * MPI is started only when mpirun started this process (its environment
 * says so): a plain `cgrad train` neither pays MPI's start-up nor depends
 * on its daemons. Errors return (MPI_ERRORS_RETURN) and become a
 * cg_status, so that the caller prints them; a process that dies is
 * mpirun's to notice: it ends the job and names the rank
 * (docs/DISTRIBUTED.md).
 *
 * A process that hangs, or whose node is lost without its connections
 * closing, is the watchdog's (below): every collective runs nonblocking
 * and is waited for with a deadline, and small messages on a communicator
 * of their own tell rank 0 who has reached which collective, so that the
 * one that did not can be named.
 */
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef CG_HAVE_MPI
#include <mpi.h>
#endif

#include "../tensor/internal.h"
#include "dist.h"

struct watch;

struct cg_dist {
    int    rank, size;
    bool   mpi;          /* cg_dist_init started MPI (cg_dist_free ends it) */
    double comm_seconds;
    double timeout;      /* seconds a collective may wait; 0: no limit */
    int   *ints;         /* [2 * size] MPI's counts and displacements, made once:
                            a step allocates nothing */
    struct watch *watch;   /* the watchdog (MPI only) */
    cg_float *send;        /* [send_len] the nonblocking sum's send buffer (cg_dist_sum) */
    size_t    send_len;
};

/* The number of processes mpirun (or a PMIx launcher) says it started; 0
 * when this process was not started by one. */
static int launcher_size(void)
{
    const char *v = getenv("OMPI_COMM_WORLD_SIZE");
    if (!v)
        v = getenv("PMIX_SIZE");
    if (!v)
        return getenv("PMIX_RANK") ? 1 : 0;
    long n = strtol(v, NULL, 10);
    return n > 0 && n < INT_MAX ? (int)n : 1;
}

int cg_dist_rank(const cg_dist *d)
{
    return d ? d->rank : 0;
}

int cg_dist_size(const cg_dist *d)
{
    return d ? d->size : 1;
}

double cg_dist_comm_seconds(const cg_dist *d)
{
    return d ? d->comm_seconds : 0;
}

cg_status cg_dist_set_timeout(cg_dist *d, double seconds)
{
    if (!(seconds >= 0) || seconds > 1e9)
        return cg__fail(CG_ERR_ARG, "cg_dist_set_timeout: %g seconds: 0 (no limit) to 1e9",
                        seconds);
    if (d)
        d->timeout = seconds;
    return CG_OK;
}

double cg_dist_timeout(const cg_dist *d)
{
    return d ? d->timeout : CG_DIST_TIMEOUT;
}

/* A group of this process alone. */
static cg_dist *alone(void)
{
    cg_dist *d = cg__calloc(1, sizeof *d);
    if (d) {
        d->size = 1;
        d->timeout = CG_DIST_TIMEOUT;
    }
    return d;
}

#ifdef CG_HAVE_MPI

/* MPI moves at most INT_MAX elements per call: larger buffers go in
 * pieces of this many. */
#define PIECE (1 << 30)

#ifdef CG_DOUBLE
#define MPI_CG_FLOAT MPI_DOUBLE
#else
#define MPI_CG_FLOAT MPI_FLOAT
#endif

bool cg_dist_has_mpi(void)
{
    return true;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CG_ERR_STATE with MPI's own words for rc, after `what`. */
static cg_status mpi_fail(int rc, const char *what)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS)
        snprintf(text, sizeof text, "error %d", rc);
    return cg__fail(CG_ERR_STATE, "MPI %s: %s", what, text);
}

/* ---- the watchdog ------------------------------------------------------------------
 *
 * Every collective counts (`sync`, the same number in every process, since
 * all call them in the same order) and is waited for by watch_wait. Before
 * it, every rank but 0 sends rank 0 "I reached collective S"; while waiting,
 * every process says so again every watch_period seconds (rank 0 to all the
 * others), and cg_dist_alive says "still working" the same way. Rank 0
 * keeps a receive posted from every rank, so it knows, for each, the last
 * collective it reached and when it last heard from it:
 *
 *   rank 0     ends the wait when a rank has been silent for the timeout
 *              (counted from the start of the wait): "did not reach" when
 *              its last word is of an earlier collective, "stopped
 *              answering" when it had reached this one.
 *   the others ends the wait when rank 0 has been silent for the timeout
 *              and a period more (rank 0 knows more: it speaks first).
 *
 * Then the collective fails with the names, the group is broken (every
 * later collective fails at once) and cg_dist_free ends the job
 * (MPI_Abort): the missing process would never come to MPI_Finalize.
 *
 * The messages are one int64 each, on a communicator of their own, so that
 * they never meet the collectives' traffic; a send that finds no free
 * slot is dropped (only a rank 0 that stopped receiving leaves them all
 * busy, and the silence says as much). */

struct watch {
    MPI_Comm     comm;      /* a duplicate of MPI_COMM_WORLD, for these messages alone */
    long         sync;      /* collectives begun */
    double       said;      /* when this process last sent one */
    bool         broken;    /* a deadline passed: every collective fails */
    char         why[512];  /* and this is why */
    int64_t     *heard;     /* [size] the last collective each rank reported */
    double      *heard_at;  /* [size] when that word came (this process's clock) */
    int64_t     *inbox;     /* [size] the receives' buffers */
    MPI_Request *recv;      /* [size] a receive from each rank watched */
    int          slots;     /* sends in flight at most */
    int          next;      /* the slot the next send tries */
    int64_t     *outbox;    /* [slots] */
    MPI_Request *send;      /* [slots] */
};

enum { WATCH_TAG = 1 };

/* Seconds between "still here" messages: a few within the timeout, at
 * least 50 ms apart, at most 5 s. (With no timeout there is no watchdog:
 * watch_begin, coll_end and cg_dist_alive do nothing.) */
static double watch_period(const cg_dist *d)
{
    double p = d->timeout / 8;
    return p < 0.05 ? 0.05 : p > 5 ? 5 : p;
}

/* Whether rank `r` is one this process watches: rank 0 watches all the
 * others; the others watch rank 0. */
static bool watches(const cg_dist *d, int r)
{
    return d->rank == 0 ? r != 0 : r == 0;
}

static cg_status watch_post(cg_dist *d, int r)
{
    struct watch *w = d->watch;
    int rc = MPI_Irecv(&w->inbox[r], 1, MPI_INT64_T, r, WATCH_TAG, w->comm, &w->recv[r]);
    return rc == MPI_SUCCESS ? CG_OK : mpi_fail(rc, "receive (watchdog)");
}

static cg_status watch_init(cg_dist *d)
{
    struct watch *w = cg__calloc(1, sizeof *w);
    if (!(d->watch = w))
        return CG_ERR_NOMEM;
    size_t n = (size_t)d->size;
    w->comm = MPI_COMM_NULL;
    w->slots = 2 * d->size + 8;   /* one round of rank 0's to all, and the next */
    w->heard = cg__calloc(n, sizeof *w->heard);
    w->heard_at = cg__calloc(n, sizeof *w->heard_at);
    w->inbox = cg__calloc(n, sizeof *w->inbox);
    w->recv = cg__calloc(n, sizeof *w->recv);
    w->outbox = cg__calloc((size_t)w->slots, sizeof *w->outbox);
    w->send = cg__calloc((size_t)w->slots, sizeof *w->send);
    /* (MPI_REQUEST_NULL is no zero bits: watch_free must find it) */
    for (int i = 0; i < d->size && w->recv; i++)
        w->recv[i] = MPI_REQUEST_NULL;
    for (int i = 0; i < w->slots && w->send; i++)
        w->send[i] = MPI_REQUEST_NULL;
    if (!w->heard || !w->heard_at || !w->inbox || !w->recv || !w->outbox || !w->send)
        return CG_ERR_NOMEM;
    int rc = MPI_Comm_dup(MPI_COMM_WORLD, &w->comm);
    if (rc != MPI_SUCCESS)
        return mpi_fail(rc, "communicator (watchdog)");
    MPI_Comm_set_errhandler(w->comm, MPI_ERRORS_RETURN);
    for (int r = 0; r < d->size; r++) {
        cg_status st = watches(d, r) ? watch_post(d, r) : CG_OK;
        if (st != CG_OK)
            return st;
    }
    return CG_OK;
}

static void watch_free(cg_dist *d)
{
    struct watch *w = d->watch;
    if (!w)
        return;
    /* What was sent and not received is dropped with the communicator. */
    for (int r = 0; r < d->size && w->recv; r++)
        if (w->recv[r] != MPI_REQUEST_NULL) {
            MPI_Cancel(&w->recv[r]);
            MPI_Request_free(&w->recv[r]);
        }
    for (int i = 0; i < w->slots && w->send; i++)
        if (w->send[i] != MPI_REQUEST_NULL)
            MPI_Request_free(&w->send[i]);
    if (w->comm != MPI_COMM_NULL)
        MPI_Comm_free(&w->comm);
    cg__free(w->heard);
    cg__free(w->heard_at);
    cg__free(w->inbox);
    cg__free(w->recv);
    cg__free(w->outbox);
    cg__free(w->send);
    cg__free(w);
    d->watch = NULL;
}

/* Send rank `to` "I reached collective `sync`" in a free slot, or drop it. */
static void watch_say_to(struct watch *w, int to, int64_t sync)
{
    MPI_Request *q = &w->send[w->next];
    int done = 1;
    if (*q != MPI_REQUEST_NULL)
        MPI_Test(q, &done, MPI_STATUS_IGNORE);
    if (!done)
        return;
    w->outbox[w->next] = sync;
    MPI_Isend(&w->outbox[w->next], 1, MPI_INT64_T, to, WATCH_TAG, w->comm, q);
    w->next = (w->next + 1) % w->slots;
}

/* Tell every rank that watches this one where it is. */
static void watch_say(cg_dist *d, double t)
{
    struct watch *w = d->watch;
    for (int r = 0; r < d->size; r++)
        if (watches(d, r))
            watch_say_to(w, r, w->sync);
    w->said = t;
}

/* Take in every word that came; at time t. */
static void watch_listen(cg_dist *d, double t)
{
    struct watch *w = d->watch;
    for (int r = 0; r < d->size; r++) {
        int done = 1;
        while (done && w->recv[r] != MPI_REQUEST_NULL) {
            if (MPI_Test(&w->recv[r], &done, MPI_STATUS_IGNORE) != MPI_SUCCESS || !done)
                break;
            w->heard[r] = w->inbox[r] > w->heard[r] ? w->inbox[r] : w->heard[r];
            w->heard_at[r] = t;
            if (watch_post(d, r) != CG_OK)
                w->recv[r] = MPI_REQUEST_NULL;   /* then its silence will tell */
        }
    }
}

/* Append ", r" (or "r" first) to the list in buf for each watched rank
 * silent since before `since` whose last word is (arrived) or is not of
 * the current collective. The count listed. */
static int list_silent(const cg_dist *d, double since, bool arrived, char *buf, size_t n)
{
    const struct watch *w = d->watch;
    int count = 0;
    size_t len = 0;
    buf[0] = '\0';
    for (int r = 0; r < d->size; r++) {
        if (!watches(d, r) || w->heard_at[r] >= since || (w->heard[r] >= w->sync) != arrived)
            continue;
        if (len < n)
            len += (size_t)snprintf(buf + len, n - len, "%s%d", count ? ", " : "", r);
        count++;
    }
    return count;
}

/* Rank 0's verdict after the wait's deadline: who did not come. */
static void verdict_of_rank0(cg_dist *d, double since, const char *what)
{
    struct watch *w = d->watch;
    char late[192], stuck[192];
    int nl = list_silent(d, since, false, late, sizeof late);
    int ns = list_silent(d, since, true, stuck, sizeof stuck);
    size_t len = 0;
    if (nl)
        len += (size_t)snprintf(w->why, sizeof w->why, "%s %s did not reach the %s (collective "
                                "%ld) within %g s", nl > 1 ? "ranks" : "rank", late, what,
                                w->sync, d->timeout);
    if (ns && len < sizeof w->why)
        len += (size_t)snprintf(w->why + len, sizeof w->why - len, "%s%s %s stopped answering "
                                "in the %s (collective %ld) for %g s", len ? "; " : "",
                                ns > 1 ? "ranks" : "rank", stuck, what, w->sync, d->timeout);
    if (len < sizeof w->why)
        snprintf(w->why + len, sizeof w->why - len,
                 " (hung, or its node is lost); ending the job");
}

/* Whether the wait that began at t0 is over, at time t: its verdict in
 * d->watch->why. */
static bool watch_expired(cg_dist *d, double t0, double t, const char *what)
{
    struct watch *w = d->watch;
    if (d->rank == 0) {
        for (int r = 1; r < d->size; r++) {
            double since = w->heard_at[r] > t0 ? w->heard_at[r] : t0;
            if (t - since > d->timeout) {
                verdict_of_rank0(d, t - d->timeout, what);
                return true;
            }
        }
        return false;
    }
    double since = w->heard_at[0] > t0 ? w->heard_at[0] : t0;
    double limit = d->timeout + watch_period(d);
    if (t - since <= limit)
        return false;
    snprintf(w->why, sizeof w->why, "rank %d: no word from rank 0 for %g s in the %s "
             "(collective %ld): rank 0 is hung or its node is lost; ending the job",
             d->rank, limit, what, w->sync);
    return true;
}

/* Give the core away a while, the longer the wait has lasted (t - t0).
 * MPI moves a nonblocking collective on only when MPI_Test is called, so
 * while the data may be moving the loop polls: at full speed for 50 µs,
 * then yielding the core to whoever else is runnable (as Open MPI's
 * mpi_yield_when_idle does) up to 5 ms, the length of a whole step here;
 * a longer wait is one for a late process, and sleeps 1/16 of the wait so
 * far (0.3 to 2 ms), so that a process waiting for a checkpoint's write or
 * a hung partner burns no core, and overshoots its end by little. */
static void watch_pause(double t0, double t)
{
    double wait = t - t0;
    if (wait < 50e-6)
        return;
    if (wait < 5e-3) {
        sched_yield();
        return;
    }
    double s = wait / 16;
    s = s > 2e-3 ? 2e-3 : s;
    struct timespec ts = {0, (long)(s * 1e9)};
    nanosleep(&ts, NULL);
}

/* A collective begins: count it, take in what came (a process that never
 * waits, being always the last to come, would otherwise pile up the
 * others' messages in MPI's queue, 3 a step), and tell rank 0 (the others'
 * word). */
static cg_status watch_begin(cg_dist *d)
{
    struct watch *w = d->watch;
    if (d->timeout == 0)
        return CG_OK;   /* no watchdog: blocking collectives (coll_end) */
    if (w->broken)
        return cg__fail(CG_ERR_STATE, "%s", w->why);
    w->sync++;
    double t = now();
    watch_listen(d, t);
    if (d->rank != 0)
        watch_say(d, t);
    return CG_OK;
}

/* Wait for the collective *req (`what`: "all-reduce"...) to end, watching
 * the others; CG_OK, MPI's error, or the watchdog's verdict. */
static cg_status watch_wait(cg_dist *d, MPI_Request *req, const char *what)
{
    struct watch *w = d->watch;
    double t0 = now();
    for (;;) {
        int done = 0;
        int rc = MPI_Test(req, &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS)
            return mpi_fail(rc, what);
        if (done)
            return CG_OK;
        double t = now();
        watch_listen(d, t);
        if (t - w->said >= watch_period(d))
            watch_say(d, t);
        if (watch_expired(d, t0, t, what)) {
            w->broken = true;
            return cg__fail(CG_ERR_STATE, "%s", w->why);
        }
        watch_pause(t0, t);
    }
}

/* The end of a collective that MPI started with rc (`what`: "all-reduce"
 * ...): with a timeout, started nonblocking as *req and waited for by the
 * watchdog; with none (cg_dist_set_timeout 0), MPI's blocking call, which
 * has already returned. */
static cg_status coll_end(cg_dist *d, int rc, MPI_Request *req, const char *what)
{
    if (rc != MPI_SUCCESS)
        return mpi_fail(rc, what);
    return d->timeout == 0 ? CG_OK : watch_wait(d, req, what);
}

void cg_dist_alive(cg_dist *d)
{
    if (!d || !d->watch || d->timeout == 0)
        return;
    /* A clock read, and once a period the messages both ways. */
    double t = now();
    if (t - d->watch->said < watch_period(d))
        return;
    watch_listen(d, t);
    watch_say(d, t);
}

/* ---- the group ---------------------------------------------------------------------- */

cg_dist *cg_dist_init(void)
{
    int provided, rc;
    if (launcher_size() == 0)
        return alone();
    cg_dist *d = cg__calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->timeout = CG_DIST_TIMEOUT;
    /* cgrad's threads never call MPI: the main thread does, between the
     * parallel parts of a step. */
    rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) {
        cg__free(d);
        mpi_fail(rc, "start (MPI_Init_thread)");
        return NULL;
    }
    d->mpi = true;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d->size);
    cg_status st = (d->ints = cg__calloc(2 * (size_t)d->size, sizeof *d->ints)) ? CG_OK
                                                                                 : CG_ERR_NOMEM;
    if (st == CG_OK && d->size > 1)
        st = watch_init(d);
    if (st != CG_OK) {
        cg_dist_free(d);
        return NULL;
    }
    return d;
}

void cg_dist_free(cg_dist *d)
{
    if (!d)
        return;
    /* A process that did not come would hold MPI_Finalize forever. */
    if (d->watch && d->watch->broken)
        MPI_Abort(MPI_COMM_WORLD, 1);
    watch_free(d);
    if (d->mpi)
        MPI_Finalize();
    cg__free(d->ints);
    cg__free(d->send);
    cg__free(d);
}

/* ---- the collectives: started nonblocking, waited for by the watchdog ----------------
 * (or, with no timeout, MPI's blocking ones: coll_end) */

/* x[0..n) of type t from rank 0 into every process. */
static cg_status bcast_of(cg_dist *d, void *x, int n, MPI_Datatype t)
{
    MPI_Request q;
    int rc;
    cg_status st = watch_begin(d);
    if (st != CG_OK)
        return st;
    if (d->timeout == 0)
        rc = MPI_Bcast(x, n, t, 0, MPI_COMM_WORLD);
    else
        rc = MPI_Ibcast(x, n, t, 0, MPI_COMM_WORLD, &q);
    return coll_end(d, rc, &q, "broadcast");
}

cg_status cg_dist_broadcast(cg_dist *d, cg_float *x, size_t n)
{
    if (!d || d->size == 1)
        return CG_OK;
    for (size_t i = 0; i < n; i += PIECE) {
        cg_status st = bcast_of(d, x + i, n - i < PIECE ? (int)(n - i) : PIECE, MPI_CG_FLOAT);
        if (st != CG_OK)
            return st;
    }
    return CG_OK;
}

cg_status cg_dist_broadcast_int(cg_dist *d, int *v)
{
    if (!d || d->size == 1)
        return CG_OK;
    return bcast_of(d, v, 1, MPI_INT);
}

/* x[0..n) of type t summed over the processes into x, from send (or
 * MPI_IN_PLACE: from x). */
static cg_status sum_of(cg_dist *d, const void *send, void *x, int n, MPI_Datatype t)
{
    MPI_Request q;
    int rc;
    cg_status st = watch_begin(d);
    if (st != CG_OK)
        return st;
    if (d->timeout == 0)
        rc = MPI_Allreduce(send, x, n, t, MPI_SUM, MPI_COMM_WORLD);
    else
        rc = MPI_Iallreduce(send, x, n, t, MPI_SUM, MPI_COMM_WORLD, &q);
    return coll_end(d, rc, &q, "all-reduce");
}

/* Where the nonblocking sum of n floats sends from. Open MPI's libnbc
 * (nbc_iallreduce.c) runs an in-place all-reduce as a binomial tree
 * whatever its size, the whole buffer reduced up log2 N levels and
 * broadcast down as many; sent from a buffer of its own, a large one on 4
 * processes or more goes as reduce-scatter + all-gather, 2 (N-1)/N of it
 * through each process (docs/DISTRIBUTED.md: by the cost model, 1.5 ms
 * instead of 6.8 on 10 GbE at N = 10, for the price of a copy). Below 4
 * processes libnbc takes the tree either way, and the blocking all-reduce
 * chooses well in place. */
static const void *send_of(cg_dist *d, const cg_float *x, size_t n)
{
    if (d->timeout == 0 || d->size < 4)
        return MPI_IN_PLACE;
    if (n > d->send_len) {
        cg_float *b = cg__realloc(d->send, d->send_len * sizeof *b, n * sizeof *b);
        if (!b)
            return MPI_IN_PLACE;   /* the tree: slower, not wrong */
        d->send = b;
        d->send_len = n;
    }
    memcpy(d->send, x, n * sizeof *x);
    return d->send;
}

cg_status cg_dist_sum(cg_dist *d, cg_float *x, size_t n)
{
    if (!d || d->size == 1)
        return CG_OK;
    double t0 = now();
    for (size_t i = 0; i < n; i += PIECE) {
        int len = n - i < PIECE ? (int)(n - i) : PIECE;
        cg_status st = sum_of(d, send_of(d, x + i, (size_t)len), x + i, len, MPI_CG_FLOAT);
        if (st != CG_OK)
            return st;
    }
    d->comm_seconds += now() - t0;
    return CG_OK;
}

cg_status cg_dist_sum_f64(cg_dist *d, double *x, int n)
{
    if (!d || d->size == 1)
        return CG_OK;
    return sum_of(d, MPI_IN_PLACE, x, n, MPI_DOUBLE);
}

/* The size_t counts and displacements as MPI's ints, checked. */
static cg_status int_counts(const cg_dist *d, const size_t *counts, const size_t *displs,
                            int *ic, int *id)
{
    for (int p = 0; p < d->size; p++) {
        if (counts[p] > INT_MAX || displs[p] > INT_MAX || displs[p] + counts[p] > INT_MAX)
            return cg__fail(CG_ERR_ARG, "cg_dist_gather_all: more than 2^31 elements");
        ic[p] = (int)counts[p];
        id[p] = (int)displs[p];
    }
    return CG_OK;
}

cg_status cg_dist_gather_all(cg_dist *d, cg_float *x, const size_t *counts,
                             const size_t *displs)
{
    if (!d || d->size == 1)
        return CG_OK;
    int *ic = d->ints, rc;
    MPI_Request q;
    cg_status st = int_counts(d, counts, displs, ic, ic + d->size);
    if (st != CG_OK || (st = watch_begin(d)) != CG_OK)
        return st;
    double t0 = now();
    if (d->timeout == 0)
        rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, x, ic, ic + d->size,
                            MPI_CG_FLOAT, MPI_COMM_WORLD);
    else
        rc = MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, x, ic, ic + d->size,
                             MPI_CG_FLOAT, MPI_COMM_WORLD, &q);
    st = coll_end(d, rc, &q, "all-gather");
    d->comm_seconds += now() - t0;
    return st;
}

cg_status cg_dist_barrier(cg_dist *d)
{
    if (!d || d->size == 1)
        return CG_OK;
    MPI_Request q;
    int rc;
    cg_status st = watch_begin(d);
    if (st != CG_OK)
        return st;
    if (d->timeout == 0)
        rc = MPI_Barrier(MPI_COMM_WORLD);
    else
        rc = MPI_Ibarrier(MPI_COMM_WORLD, &q);
    return coll_end(d, rc, &q, "barrier");
}

#else /* !CG_HAVE_MPI: a group of one */

bool cg_dist_has_mpi(void)
{
    return false;
}

cg_dist *cg_dist_init(void)
{
    int n = launcher_size();
    if (n > 1)
        return cg__fail_null(CG_ERR_STATE, "mpirun started %d processes, but cgrad was built "
                             "without Open MPI (install libopenmpi-dev and rebuild)", n);
    return alone();
}

void cg_dist_free(cg_dist *d)
{
    cg__free(d);
}

/* Every collective of one process leaves the data as it is. */
cg_status cg_dist_broadcast(cg_dist *d, cg_float *x, size_t n)
{
    (void)d, (void)x, (void)n;
    return CG_OK;
}

cg_status cg_dist_broadcast_int(cg_dist *d, int *v)
{
    (void)d, (void)v;
    return CG_OK;
}

cg_status cg_dist_sum(cg_dist *d, cg_float *x, size_t n)
{
    (void)d, (void)x, (void)n;
    return CG_OK;
}

cg_status cg_dist_sum_f64(cg_dist *d, double *x, int n)
{
    (void)d, (void)x, (void)n;
    return CG_OK;
}

cg_status cg_dist_gather_all(cg_dist *d, cg_float *x, const size_t *counts,
                             const size_t *displs)
{
    (void)d, (void)x, (void)counts, (void)displs;
    return CG_OK;
}

cg_status cg_dist_barrier(cg_dist *d)
{
    (void)d;
    return CG_OK;
}

void cg_dist_alive(cg_dist *d)
{
    (void)d;
}

#endif
