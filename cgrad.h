/*
 * cgrad: a tiny neural-network training framework in C11.
 *
 * One header for the whole library. Link with
 *     cc prog.c $(pkg-config --cflags --libs --static cgrad)
 * (libcgrad64.a is the same library with cg_float = double: define
 * CG_DOUBLE before including this header and link -lcgrad64).
 *
 * The layers, each with its own header and introduction:
 *     tensor/tensor.h       tensors, kernels, random numbers, statistics, linear algebra
 *     autograd/autograd.h   the graph, differentiable ops, losses, gradient checking
 *     nn/nn.h               layers, models, initialisation, model files
 *     optim/optim.h         optimizers, gradient clipping, learning-rate schedules
 *     data/data.h           CSV, IDX and image-folder data sets, mini-batches
 */
#ifndef CGRAD_H
#define CGRAD_H

#include "tensor/tensor.h"
#include "autograd/autograd.h"
#include "nn/nn.h"
#include "optim/optim.h"
#include "data/data.h"

#endif /* CGRAD_H */
