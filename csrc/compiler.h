/*
 * Compiler portability for the engine's internal headers: always-inline
 * helpers and restrict pointers with GCC and Clang, plain C elsewhere.
 */
#ifndef FASTSGD_COMPILER_H
#define FASTSGD_COMPILER_H

#if defined(__GNUC__)
#define FSGD_INLINE static inline __attribute__((always_inline))
#define FSGD_RESTRICT __restrict__
#else
#define FSGD_INLINE static inline
#define FSGD_RESTRICT
#endif

#endif
