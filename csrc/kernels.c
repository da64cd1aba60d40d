/*
 * The kernels, compiled once per instruction set, and the list of their
 * instantiations.
 *
 * CMake builds this file several times: FSGD_ISA names the variant (base,
 * v3 = x86-64-v3 (AVX2, FMA), v4 = x86-64-v4 (AVX-512)) and FSGD_VL the
 * number of doubles in one vector (simd.h).  api.c picks the variant the CPU
 * supports at run time.
 *
 * The .inc files are templates over X's dtype: REAL (double or float) and SFX
 * (64 or 32), with FN(name) giving name64 / name32.  Each uses the ones
 * included before it: rows.inc (row kernels), weights.inc (the per-sample
 * weight vector), sample_engine.inc (the per-sample engine), batch_rows.inc
 * (the batch engine's row kernels).  batch_engine.inc, over both dtypes, comes
 * last.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fastsgd.h"
#include "fit_control.h"
#include "kernels.h"
#include "losses.h"
#include "order.h"
#include "simd.h"

#ifndef FSGD_ISA
#define FSGD_ISA base
#endif

#define FSGD_CAT_(a, b) a##b
#define FSGD_CAT(a, b) FSGD_CAT_(a, b)
#define FN(name) FSGD_CAT(name, SFX)
#define FSGD_VSFX FSGD_CAT(VSFX_, SFX)
#define VSFX_64 d
#define VSFX_32 f

#define REAL double
#define SFX 64
#include "rows.inc"
#include "weights.inc"
#include "sample_engine.inc"
#include "batch_rows.inc"
#undef REAL
#undef SFX

#define REAL float
#define SFX 32
#include "rows.inc"
#include "weights.inc"
#include "sample_engine.inc"
#include "batch_rows.inc"
#undef REAL
#undef SFX

static int fit_problem(const fsgd_data *data, const fsgd_params *params, fsgd_problem *prob,
                       int index, int n_threads, fsgd_progress_fn progress, void *ctx)
{
    if (data->is_float32) return fit_problem32(data, params, prob, index, n_threads, progress, ctx);
    return fit_problem64(data, params, prob, index, n_threads, progress, ctx);
}

static fsgd_batch_chunk_fn batch_chunk_fn(int is_float32, int sparse, int loss)
{
    if (loss < 0 || loss > FSGD_LOSS_SOFTMAX) return NULL;
    return is_float32 ? bchunk_table32[sparse ? 1 : 0][loss] : bchunk_table64[sparse ? 1 : 0][loss];
}

#include "batch_engine.inc"

const fsgd_kernel_set FSGD_ISA_NAME(fsgd_kernels) = {fit_problem, fit_batch};
