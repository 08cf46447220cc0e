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
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef CG_HAVE_MPI
#include <mpi.h>
#endif

#include "../tensor/internal.h"
#include "dist.h"

struct cg_dist {
    int    rank, size;
    bool   mpi;          /* cg_dist_init started MPI (cg_dist_free ends it) */
    double comm_seconds;
    int   *ints;         /* [2 * size] MPI's counts and displacements, made once:
                            a step allocates nothing */
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

/* A group of this process alone. */
static cg_dist *alone(void)
{
    cg_dist *d = cg__calloc(1, sizeof *d);
    if (d)
        d->size = 1;
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

cg_dist *cg_dist_init(void)
{
    int provided, rc;
    if (launcher_size() == 0)
        return alone();
    cg_dist *d = cg__calloc(1, sizeof *d);
    if (!d)
        return NULL;
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
    if (!(d->ints = cg__calloc(2 * (size_t)d->size, sizeof *d->ints))) {
        cg_dist_free(d);
        return NULL;
    }
    return d;
}

void cg_dist_free(cg_dist *d)
{
    if (!d)
        return;
    if (d->mpi)
        MPI_Finalize();
    cg__free(d->ints);
    cg__free(d);
}

cg_status cg_dist_broadcast(cg_dist *d, cg_float *x, size_t n)
{
    if (!d || d->size == 1)
        return CG_OK;
    for (size_t i = 0; i < n; i += PIECE) {
        int len = n - i < PIECE ? (int)(n - i) : PIECE;
        int rc = MPI_Bcast(x + i, len, MPI_CG_FLOAT, 0, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return mpi_fail(rc, "broadcast");
    }
    return CG_OK;
}

cg_status cg_dist_broadcast_int(cg_dist *d, int *v)
{
    if (!d || d->size == 1)
        return CG_OK;
    int rc = MPI_Bcast(v, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? CG_OK : mpi_fail(rc, "broadcast");
}

cg_status cg_dist_sum(cg_dist *d, cg_float *x, size_t n)
{
    if (!d || d->size == 1)
        return CG_OK;
    double t0 = now();
    for (size_t i = 0; i < n; i += PIECE) {
        int len = n - i < PIECE ? (int)(n - i) : PIECE;
        int rc = MPI_Allreduce(MPI_IN_PLACE, x + i, len, MPI_CG_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return mpi_fail(rc, "all-reduce");
    }
    d->comm_seconds += now() - t0;
    return CG_OK;
}

cg_status cg_dist_sum_f64(cg_dist *d, double *x, int n)
{
    if (!d || d->size == 1)
        return CG_OK;
    int rc = MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? CG_OK : mpi_fail(rc, "all-reduce");
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
    int *ic = d->ints;
    cg_status st = int_counts(d, counts, displs, ic, ic + d->size);
    if (st == CG_OK) {
        double t0 = now();
        int rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, x, ic, ic + d->size,
                                MPI_CG_FLOAT, MPI_COMM_WORLD);
        d->comm_seconds += now() - t0;
        st = rc == MPI_SUCCESS ? CG_OK : mpi_fail(rc, "all-gather");
    }
    return st;
}

cg_status cg_dist_barrier(cg_dist *d)
{
    if (!d || d->size == 1)
        return CG_OK;
    int rc = MPI_Barrier(MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? CG_OK : mpi_fail(rc, "barrier");
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

#endif
