/*
 * fastsgd engine: instantiates the per-dtype engine and runs the binary
 * problems of a fit (one-vs-rest) across OpenMP threads.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "fastsgd.h"
#include "losses.h"
#include "order.h"

/* Portable SIMD: the epoch loops are compiled for x86-64-v4 (AVX-512),
 * x86-64-v3 (AVX2 + FMA) and the baseline, and the loader picks the best one
 * the CPU has (GCC function multi-versioning through ifunc).  Elsewhere the
 * baseline build relies on auto-vectorisation alone. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(FSGD_NO_MULTIVERSION)
#define FSGD_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FSGD_MULTIVERSION
#endif

static double fsgd_now(void)
{
#ifdef _OPENMP
    return omp_get_wtime();
#else
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#endif
}

#if defined(__GNUC__)
typedef double fsgd_v8d __attribute__((vector_size(64)));
typedef float fsgd_v8f __attribute__((vector_size(32)));

static inline __attribute__((always_inline)) double fsgd_hsum8(fsgd_v8d a)
{
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}
#endif

#define REAL double
#define SFX 64
#include "sgd_impl.h"
#undef REAL
#undef SFX

#define REAL float
#define SFX 32
#include "sgd_impl.h"
#undef REAL
#undef SFX

static int fsgd_fit_problem(const fsgd_data *data, const fsgd_params *params, fsgd_problem *prob,
                            int index, fsgd_progress_fn progress, void *ctx)
{
    int loss = params->loss;
    int sparse = data->is_csr ? 1 : 0;
    if (loss < 0 || loss >= FSGD_N_LOSSES) return FSGD_NO_MEMORY;
    if (data->is_float32)
        return fit_one_table32[sparse][loss](data, params, prob, index, progress, ctx);
    return fit_one_table64[sparse][loss](data, params, prob, index, progress, ctx);
}

int fsgd_fit(const fsgd_data *data, const fsgd_params *params, fsgd_problem *problems,
             int n_problems, int n_threads, fsgd_progress_fn progress, void *progress_ctx)
{
    int k;
    if (n_threads < 1) n_threads = 1;
    if (n_threads > n_problems) n_threads = n_problems;
    /* Each problem is independent and sequential inside, so the result does
     * not depend on how problems are spread over threads. */
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads) if (n_threads > 1)
#endif
    for (k = 0; k < n_problems; k++)
        fsgd_fit_problem(data, params, &problems[k], k, progress, progress_ctx);
    for (k = 0; k < n_problems; k++)
        if (problems[k].status != FSGD_OK) return problems[k].status;
    return FSGD_OK;
}

double fsgd_loss_value(int loss, double param, double y, double p)
{
    return loss_value(loss, param, y, p);
}

double fsgd_loss_dloss(int loss, double param, double y, double p)
{
    return loss_dloss(loss, param, y, p);
}

int fsgd_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int fsgd_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}
