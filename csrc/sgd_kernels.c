/*
 * The epoch loops, compiled once per instruction set.
 *
 * CMake builds this file several times: FSGD_ISA names the variant (base,
 * v3 = x86-64-v3 (AVX2, FMA), v4 = x86-64-v4 (AVX-512)) and FSGD_VL the
 * number of doubles in one vector of the kernels (8 for AVX-512, 4
 * otherwise: GCC lowers 64-byte generic vectors badly for AVX2, which made the
 * epoch twice as slow there, while AVX-512 gains from them with float32 data).
 * sgd.c picks the variant the CPU supports at run time.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "fastsgd.h"
#include "kernels.h"
#include "losses.h"
#include "order.h"

#ifndef FSGD_ISA
#define FSGD_ISA base
#endif
#ifndef FSGD_VL
#define FSGD_VL 4
#endif

static double fsgd_now(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#if defined(__GNUC__)
typedef double fsgd_vd __attribute__((vector_size(8 * FSGD_VL)));
typedef float fsgd_vf __attribute__((vector_size(4 * FSGD_VL)));

static inline __attribute__((always_inline)) double fsgd_hsum(fsgd_vd a)
{
    double r = 0.0;
    for (int k = 0; k < FSGD_VL; k += 2) r += a[k] + a[k + 1];
    return r;
}
#endif


#define REAL double
#define SFX 64
#include "sgd_impl.h"
#include "batch_impl.h"
#undef REAL
#undef SFX

#define REAL float
#define SFX 32
#include "sgd_impl.h"
#include "batch_impl.h"
#undef REAL
#undef SFX

static int fit_problem(const fsgd_data *data, const fsgd_params *params, fsgd_problem *prob,
                       int index, fsgd_progress_fn progress, void *ctx)
{
    int loss = params->loss;
    int sparse = data->is_csr ? 1 : 0;
    if (loss < 0 || loss >= FSGD_N_LOSSES) return FSGD_NO_MEMORY;
    if (data->is_float32)
        return fit_one_table32[sparse][loss](data, params, prob, index, progress, ctx);
    return fit_one_table64[sparse][loss](data, params, prob, index, progress, ctx);
}

static fsgd_batch_chunk_fn batch_chunk_fn(int is_float32, int sparse, int loss)
{
    if (loss < 0 || loss > FSGD_LOSS_SOFTMAX) return NULL;
    return is_float32 ? bchunk_table32[sparse ? 1 : 0][loss] : bchunk_table64[sparse ? 1 : 0][loss];
}

#include "batch_engine.h"

const fsgd_kernel_set FSGD_ISA_NAME(fsgd_kernels) = {fit_problem, fit_batch};
