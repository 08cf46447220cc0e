/*
 * cgrad: a tiny neural-network training framework in C11.
 *
 * One header for the whole library. Link with
 *     cc prog.c $(pkg-config --cflags --libs cgrad)
 * (add -static and --static for a self-contained program; cgrad64 in place
 * of cgrad is the same library with cg_float = double, and its flags define
 * CG_DOUBLE before this header is read).
 *
 * The layers, each with its own header and introduction:
 *     tensor/tensor.h       tensors, kernels, random numbers, statistics, linear algebra
 *     autograd/autograd.h   the graph, differentiable ops, losses, gradient checking
 *     nn/nn.h               layers, models, initialisation, model files
 *     optim/optim.h         optimizers, gradient clipping, learning-rate schedules
 *     data/data.h           CSV, IDX and image-folder data sets, mini-batches
 *     train/train.h         a whole training run: cg_fit, evaluation, checkpoints
 */
#ifndef CGRAD_H
#define CGRAD_H

#include "tensor/tensor.h"
#include "autograd/autograd.h"
#include "nn/nn.h"
#include "optim/optim.h"
#include "data/data.h"
#include "train/train.h"

#endif /* CGRAD_H */
