/*
 * stb_image_write (Debian's libstb-dev), compiled into the test program that
 * includes this header, for writing image fixtures. Include it once per
 * program. stb's code trips our warning flags; they are silenced around its
 * include only.
 */
#ifndef CG_STB_WRITE_H
#define CG_STB_WRITE_H

#include "data/stb_quiet.h"

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
CG_STB_QUIET_BEGIN
#include <stb_image_write.h>
CG_STB_QUIET_END

#endif /* CG_STB_WRITE_H */
