/*
 * Vector types and conversions of the kernels (GCC/Clang vector extensions),
 * for the build's vector width: FSGD_VL doubles per vector (8 for the AVX-512
 * build, 4 otherwise), and fixed 32-byte vectors (fsgd_vd4, fsgd_vf8) that
 * the per-sample loops use in every build.  Included by kernels.c only.
 */
#ifndef FASTSGD_SIMD_H
#define FASTSGD_SIMD_H

#include <string.h>

#if defined(__AVX__)
#include <immintrin.h>
#endif

#ifndef FSGD_VL
#define FSGD_VL 4
#endif

#if defined(__GNUC__)
typedef double fsgd_vd __attribute__((vector_size(8 * FSGD_VL)));
typedef float fsgd_vf __attribute__((vector_size(4 * FSGD_VL)));
typedef float fsgd_vfw __attribute__((vector_size(8 * FSGD_VL))); /* 2 FSGD_VL floats */
#define FSGD_FL (2 * FSGD_VL)                                       /* floats per fsgd_vfw */

/* Conversions between float and double vectors, one instruction each with
 * AVX or AVX-512.  GCC lowers the generic __builtin_convertvector of 4 floats
 * to 4 doubles in two halves (five instructions), and a float vector put
 * together from two halves through memory stalls on store forwarding at
 * every use. */
static inline __attribute__((always_inline)) fsgd_vd fsgd_f2d(fsgd_vf v)
{
#if defined(__AVX512F__) && FSGD_VL == 8
    return (fsgd_vd)_mm512_cvtps_pd((__m256)v);
#elif defined(__AVX__) && FSGD_VL == 4
    return (fsgd_vd)_mm256_cvtps_pd((__m128)v);
#else
    return __builtin_convertvector(v, fsgd_vd);
#endif
}

static inline __attribute__((always_inline)) fsgd_vf fsgd_d2f(fsgd_vd v)
{
#if defined(__AVX512F__) && FSGD_VL == 8
    return (fsgd_vf)_mm512_cvtpd_ps((__m512d)v);
#elif defined(__AVX__) && FSGD_VL == 4
    return (fsgd_vf)_mm256_cvtpd_ps((__m256d)v);
#else
    return __builtin_convertvector(v, fsgd_vf);
#endif
}

/* the low and high halves of a fsgd_vfw, and a fsgd_vfw from two halves */
static inline __attribute__((always_inline)) fsgd_vf fsgd_vfw_lo(fsgd_vfw v)
{
#if defined(__AVX512F__) && FSGD_VL == 8
    return (fsgd_vf)_mm512_castps512_ps256((__m512)v);
#elif defined(__AVX__) && FSGD_VL == 4
    return (fsgd_vf)_mm256_castps256_ps128((__m256)v);
#else
    fsgd_vf r;
    memcpy(&r, &v, sizeof(r));
    return r;
#endif
}

static inline __attribute__((always_inline)) fsgd_vf fsgd_vfw_hi(fsgd_vfw v)
{
#if defined(__AVX512F__) && FSGD_VL == 8
    return (fsgd_vf)_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd((__m512)v), 1));
#elif defined(__AVX__) && FSGD_VL == 4
    return (fsgd_vf)_mm256_extractf128_ps((__m256)v, 1);
#else
    fsgd_vf r;
    memcpy(&r, (const char *)&v + sizeof(r), sizeof(r));
    return r;
#endif
}

static inline __attribute__((always_inline)) fsgd_vfw fsgd_vfw_join(fsgd_vf lo, fsgd_vf hi)
{
#if defined(__AVX512F__) && FSGD_VL == 8
    return (fsgd_vfw)_mm512_castpd_ps(_mm512_insertf64x4(
        _mm512_castps_pd(_mm512_castps256_ps512((__m256)lo)), _mm256_castps_pd((__m256)hi), 1));
#elif defined(__AVX__) && FSGD_VL == 4
    return (fsgd_vfw)_mm256_insertf128_ps(_mm256_castps128_ps256((__m128)lo), (__m128)hi, 1);
#else
    fsgd_vfw r;
    memcpy(&r, &lo, sizeof(lo));
    memcpy((char *)&r + sizeof(lo), &hi, sizeof(hi));
    return r;
#endif
}

static inline __attribute__((always_inline)) double fsgd_hsum(fsgd_vd a)
{
    double r = 0.0;
    for (int k = 0; k < FSGD_VL; k += 2) r += a[k] + a[k + 1];
    return r;
}

/* The sums of three vectors of 4 doubles at once, each ((v0 + v1) + (v2 +
 * v3)): with AVX two horizontal adds and two lane adds instead of three
 * separate reductions. */
typedef double fsgd_vd4 __attribute__((vector_size(32)));
static inline __attribute__((always_inline)) void fsgd_hsum3_4(fsgd_vd4 a, fsgd_vd4 b, fsgd_vd4 q,
                                                               double *ra, double *rb, double *rq)
{
#if defined(__AVX__)
    __m256d t0 = _mm256_hadd_pd((__m256d)a, (__m256d)b); /* a0+a1 b0+b1 a2+a3 b2+b3 */
    __m256d t1 = _mm256_hadd_pd((__m256d)q, (__m256d)q);
    __m128d s0 = _mm_add_pd(_mm256_castpd256_pd128(t0), _mm256_extractf128_pd(t0, 1));
    __m128d s1 = _mm_add_pd(_mm256_castpd256_pd128(t1), _mm256_extractf128_pd(t1, 1));
    *ra = _mm_cvtsd_f64(s0);
    *rb = _mm_cvtsd_f64(_mm_unpackhi_pd(s0, s0));
    *rq = _mm_cvtsd_f64(s1);
#else
    *ra = (a[0] + a[1]) + (a[2] + a[3]);
    *rb = (b[0] + b[1]) + (b[2] + b[3]);
    *rq = (q[0] + q[1]) + (q[2] + q[3]);
#endif
}

/* Vectors of a fixed 32 bytes whatever FSGD_VL is: the per-sample float32
 * look-ahead step (rows.inc) runs in 8 floats, widened through halves of 4
 * to 4 doubles, as float64's runs in 4 doubles. */
typedef float fsgd_vf8 __attribute__((vector_size(32)));
typedef float fsgd_vf4 __attribute__((vector_size(16)));

static inline __attribute__((always_inline)) fsgd_vd4 fsgd_widen4(fsgd_vf4 v)
{
#if defined(__AVX__)
    return (fsgd_vd4)_mm256_cvtps_pd((__m128)v);
#else
    return __builtin_convertvector(v, fsgd_vd4);
#endif
}

/* the 8 lanes widened and added pairwise (lane k + lane k + 4): 4 doubles */
static inline __attribute__((always_inline)) fsgd_vd4 fsgd_widen8(fsgd_vf8 v)
{
    fsgd_vf4 lo, hi;
#if defined(__AVX__)
    lo = (fsgd_vf4)_mm256_castps256_ps128((__m256)v);
    hi = (fsgd_vf4)_mm256_extractf128_ps((__m256)v, 1);
#else
    memcpy(&lo, &v, sizeof(lo));
    memcpy(&hi, (const char *)&v + sizeof(lo), sizeof(hi));
#endif
    return fsgd_widen4(lo) + fsgd_widen4(hi);
}

#endif

#if defined(__GNUC__)
static inline double fsgd_hsum4(fsgd_vd4 a) { return (a[0] + a[1]) + (a[2] + a[3]); }

/* the lanes of a float vector, widened and added pairwise: FSGD_VL doubles */
FSGD_INLINE fsgd_vd fsgd_widen_sum(fsgd_vfw v)
{
    return fsgd_f2d(fsgd_vfw_lo(v)) + fsgd_f2d(fsgd_vfw_hi(v));
}

/* G[0 .. FSGD_FL) += the lanes of v, widened */
FSGD_INLINE void fsgd_widen_add(double *G, fsgd_vfw v)
{
    fsgd_vd g0, g1;
    memcpy(&g0, G, sizeof(g0));
    memcpy(&g1, G + FSGD_VL, sizeof(g1));
    g0 += fsgd_f2d(fsgd_vfw_lo(v));
    g1 += fsgd_f2d(fsgd_vfw_hi(v));
    memcpy(G, &g0, sizeof(g0));
    memcpy(G + FSGD_VL, &g1, sizeof(g1));
}
#endif

#endif
