/*
 * cgrad data layer: CSV, IDX and image-folder data sets, normalization, mini-batches.
 */
#ifndef CG_DATA_H
#define CG_DATA_H

#include "../tensor/tensor.h"

#endif /* CG_DATA_H */
