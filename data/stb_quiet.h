/*
 * Around an #include of Debian's stb headers (stb_image, stb_image_resize,
 * stb_image_write, stb_easy_font), and nowhere else: their code trips our
 * warning flags, and it is not ours to change. Used by the library
 * (data/stb_impl.c), the plots (cli/picture.c) and the tests' image writer.
 *
 *     CG_STB_QUIET_BEGIN
 *     #include <stb_image_write.h>
 *     CG_STB_QUIET_END
 */
#ifndef CG_STB_QUIET_H
#define CG_STB_QUIET_H

#if defined(__GNUC__)
#define CG_STB_QUIET_BEGIN                                              \
    _Pragma("GCC diagnostic push")                                      \
    _Pragma("GCC diagnostic ignored \"-Wunused-function\"")             \
    _Pragma("GCC diagnostic ignored \"-Wunused-parameter\"")            \
    _Pragma("GCC diagnostic ignored \"-Wunused-but-set-variable\"")     \
    _Pragma("GCC diagnostic ignored \"-Wsign-compare\"")                \
    _Pragma("GCC diagnostic ignored \"-Wshadow\"")                      \
    _Pragma("GCC diagnostic ignored \"-Wcast-qual\"")                   \
    _Pragma("GCC diagnostic ignored \"-Wdouble-promotion\"")            \
    _Pragma("GCC diagnostic ignored \"-Wpedantic\"")                    \
    _Pragma("GCC diagnostic ignored \"-Wmissing-prototypes\"")          \
    _Pragma("GCC diagnostic ignored \"-Wimplicit-fallthrough\"")        \
    _Pragma("GCC diagnostic ignored \"-Wmissing-braces\"")              \
    _Pragma("GCC diagnostic ignored \"-Wmissing-field-initializers\"")
#define CG_STB_QUIET_END _Pragma("GCC diagnostic pop")
#else
#define CG_STB_QUIET_BEGIN
#define CG_STB_QUIET_END
#endif

#endif /* CG_STB_QUIET_H */
