/*
 * cgrad data parallelism across processes, on Open MPI.
 *
 * `mpirun -np N prog` starts N copies of a program; each calls
 * cg_dist_init once, and cg_fit (settings.dist) then trains one model
 * data-parallel across them: every process holds the whole model and the
 * whole data set, draws the same seeded order of mini-batches, runs the
 * forward and backward pass of its own share of each batch (on its own
 * threads), and one all-reduce per step adds the processes' gradients in
 * the model's flat gradient buffer, so that every process takes the same
 * optimizer step. docs/DISTRIBUTED.md says how to run it on a cluster.
 *
 *     cg_dist *d = cg_dist_init();      // before anything else
 *     cg_dist_set_timeout(d, 300);      // the watchdog (optional: the default)
 *     ...
 *     s.dist = d;                       // cg_fit_settings
 *     cg_fit(m, opt, data, NULL, &s, &r);
 *     if (cg_dist_rank(d) == 0) print the result;
 *     cg_dist_free(d);                  // before exit
 *
 * A program that was not started by mpirun is a group of one process and
 * MPI is never touched; so is a library built without Open MPI (then a
 * start by mpirun with more than one process is refused, so that N copies
 * do not each train alone and overwrite each other's files).
 *
 * A process that dies ends the job (mpirun's doing); one that hangs, or
 * whose node is lost, is named by the watchdog of every collective below
 * (cg_dist_set_timeout), and the job ends too.
 */
#ifndef CG_TRAIN_DIST_H
#define CG_TRAIN_DIST_H

#include "../tensor/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The processes of a run: this one's rank among them, and their count. */
typedef struct cg_dist cg_dist;

/* Whether this library was built with Open MPI (else cg_dist is a group
 * of one process). */
bool      cg_dist_has_mpi(void);

/* Join the processes mpirun started (MPI_Init, threads allowed inside
 * each process: the main thread alone calls MPI), or, outside mpirun, a
 * group of this process alone. NULL, with cg_errmsg() saying why, when
 * MPI fails to start or the library was built without Open MPI and
 * mpirun started several processes. Once per program. */
cg_dist  *cg_dist_init(void);

/* Leave the group (MPI_Finalize when cg_dist_init started MPI); NULL is a
 * no-op. Every process calls it before it exits normally. After the
 * watchdog's verdict (cg_dist_set_timeout) it ends the whole job instead
 * (MPI_Abort, exit status 1) and does not return. */
void      cg_dist_free(cg_dist *d);

/* This process's rank, 0 to size - 1 (NULL: 0). Rank 0 is the one that
 * prints and writes files. */
int       cg_dist_rank(const cg_dist *d);

/* The number of processes (NULL: 1). */
int       cg_dist_size(const cg_dist *d);

/* x[0..n) of rank 0 into x[0..n) of every process. CG_OK, or CG_ERR_STATE
 * with cg_errmsg() naming MPI's error. */
cg_status cg_dist_broadcast(cg_dist *d, cg_float *x, size_t n);

/* x[0..n) = the sum over the processes of their x[0..n), in place, the
 * same bits in every process. CG_OK or CG_ERR_STATE. */
cg_status cg_dist_sum(cg_dist *d, cg_float *x, size_t n);

/* As cg_dist_sum, for a few doubles (figures, flags). */
cg_status cg_dist_sum_f64(cg_dist *d, double *x, int n);

/* Every process's x[displs[p] .. displs[p] + counts[p]) from process p,
 * into the same place of x in every process (counts and displs: [size]
 * elements, the same in every process). CG_OK or CG_ERR_STATE. */
cg_status cg_dist_gather_all(cg_dist *d, cg_float *x, const size_t *counts,
                             const size_t *displs);

/* An int of rank 0 into every process (a decision all must share). */
cg_status cg_dist_broadcast_int(cg_dist *d, int *v);

/* Wait until every process has come here. */
cg_status cg_dist_barrier(cg_dist *d);

/* The watchdog's default: seconds a collective waits for the others
 * (docs/DISTRIBUTED.md says why 300). */
#define CG_DIST_TIMEOUT 300.0

/* The watchdog: every collective above waits at most `seconds` for every
 * process to come (0: no limit; default CG_DIST_TIMEOUT). When one does not
 * (hung, stopped, or its node lost without its connections closing), the
 * collective fails with CG_ERR_STATE and cg_errmsg() naming the rank(s)
 * that did not come ("rank 1 did not reach the all-reduce ..."; rank 0
 * names them, the others name rank 0 when it is the one silent, after a
 * short grace), every later collective fails at once, and cg_dist_free
 * then ends the whole job (MPI_Abort, exit status 1) instead of waiting.
 * So the timeout must exceed the longest time one process may legitimately
 * spend between two collectives while the others wait: rank 0's callbacks
 * and file writes (checkpoints, the model), a slow first step. Every
 * process sets the same value. 0 turns the watchdog off: the collectives
 * are then Open MPI's blocking ones, faster on one machine (the gradients'
 * all-reduce 130 against 220-260 us, docs/DISTRIBUTED.md), and a hung
 * process hangs the job. CG_ERR_ARG for a negative or NaN value. */
cg_status cg_dist_set_timeout(cg_dist *d, double seconds);

/* The watchdog's timeout in seconds (NULL: CG_DIST_TIMEOUT). */
double    cg_dist_timeout(const cg_dist *d);

/* Tell the watchdog this process is alive though it is not in a
 * collective: a process that works alone for longer than the timeout
 * between two collectives (a sweep's point) calls it often (it sends at
 * most a few small messages per timeout, and costs a clock read
 * otherwise); the others' wait for it then lasts as long as it keeps
 * calling. No-op alone, without Open MPI, or with no timeout (no watchdog). */
void      cg_dist_alive(cg_dist *d);

/* Seconds this process spent in cg_dist_sum and cg_dist_gather_all so far
 * (the communication share of a step, for benchmarks). */
double    cg_dist_comm_seconds(const cg_dist *d);

#ifdef __cplusplus
}
#endif

#endif /* CG_TRAIN_DIST_H */
