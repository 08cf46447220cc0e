/*
 * cgrad nn layer: layers, sequential models, initialisation, model files (safetensors).
 */
#ifndef CG_NN_H
#define CG_NN_H

#include "../autograd/autograd.h"

#endif /* CG_NN_H */
