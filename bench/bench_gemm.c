/*
 * GEMM roofline of the demo network's training step (784-256-128-10, batch
 * 128): the products one step runs, timed both ways (OpenBLAS threads,
 * data-parallel), with 1 and 2 threads. Prints markdown table rows.
 */
#include <stdio.h>

#include "roofline.h"

int main(void)
{
    const struct roof_net net = {4, {784, 256, 128, 10}, 128};
    const double samples = 60000;
    const double macs = roof_step_macs(&net) * net.batch;

    printf("| openblas kernel | %s | | openblas_get_corename() |\n", openblas_get_corename());
    for (int threads = 1; threads <= 2; threads++) {
        struct roof_result r = roof_measure(&net, threads, 200);
        printf("| gemm roofline, %d thread%s | %.1f | GFLOP/s | best way: %s "
               "(blas %.1f, data-parallel %.1f) |\n", threads, threads > 1 ? "s" : "",
               2 * macs / r.best_seconds * 1e-9, r.best_way,
               2 * macs / r.blas_seconds * 1e-9, 2 * macs / r.data_seconds * 1e-9);
        printf("| gemm time of one epoch, %d thread%s | %.3f | s | %.0f steps of batch %d |\n",
               threads, threads > 1 ? "s" : "", r.best_seconds * samples / net.batch,
               samples / net.batch, net.batch);
    }
    return 0;
}
