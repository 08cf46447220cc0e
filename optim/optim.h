/*
 * cgrad optim layer: optimizers, gradient clipping, learning-rate schedules.
 */
#ifndef CG_OPTIM_H
#define CG_OPTIM_H

#include "../tensor/tensor.h"

#endif /* CG_OPTIM_H */
