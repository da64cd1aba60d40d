/*
 * The engine's public entry points (fastsgd.h): the choice of the kernels'
 * build for this CPU, the per-sample fit of the one-vs-rest problems across
 * OpenMP threads, the batch fit, and the loss functions exported for tests.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "fastsgd.h"
#include "fit_control.h"
#include "kernels.h"
#include "losses.h"

/* Runtime dispatch: the best build of kernels.c this CPU can run.  The
 * environment variable FASTSGD_KERNELS ("baseline", "x86-64-v3") caps the
 * choice, so that tests can run every build the machine supports. */
const fsgd_kernel_set *fsgd_pick_kernels(void)
{
    const char *cap = getenv("FASTSGD_KERNELS");
    int max_level = 4;
    if (cap && strcmp(cap, "baseline") == 0) max_level = 0;
    else if (cap && strcmp(cap, "x86-64-v3") == 0) max_level = 3;
    (void)max_level;
#if defined(FSGD_HAVE_V4) && (defined(__GNUC__) || defined(__clang__))
    if (max_level >= 4 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw"))
        return &fsgd_kernels_v4;
#endif
#if defined(FSGD_HAVE_V3) && (defined(__GNUC__) || defined(__clang__))
    if (max_level >= 3 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        __builtin_cpu_supports("bmi2"))
        return &fsgd_kernels_v3;
#endif
    return &fsgd_kernels_base;
}

const char *fsgd_kernels_name(void)
{
    const fsgd_kernel_set *k = fsgd_pick_kernels();
#ifdef FSGD_HAVE_V4
    if (k == &fsgd_kernels_v4) return "x86-64-v4";
#endif
#ifdef FSGD_HAVE_V3
    if (k == &fsgd_kernels_v3) return "x86-64-v3";
#endif
    (void)k; /* unused in a build without the x86-64-v3/v4 kernels */
    return "baseline";
}

/* One problem of a one-vs-rest fit (fsgd_run_tasks' task). */
typedef struct {
    const fsgd_data *data;
    const fsgd_params *params;
    fsgd_problem *problems;
    fsgd_fit_problem_fn fit_problem;
    fsgd_progress_fn progress;
    void *progress_ctx;
} ovr_fit;

static void ovr_task(void *ctx, int k)
{
    const ovr_fit *f = (const ovr_fit *)ctx;
    f->fit_problem(f->data, f->params, &f->problems[k], k, 1, f->progress, f->progress_ctx);
}

int fsgd_fit(const fsgd_data *data, const fsgd_params *params, fsgd_problem *problems,
             int n_problems, int n_threads, fsgd_progress_fn progress, void *progress_ctx)
{
    int k;
    const fsgd_fit_problem_fn fit_problem = fsgd_pick_kernels()->fit_problem;
    if (fsgd_check_args(data, params, NULL, n_problems)) {
        for (k = 0; k < n_problems; k++) problems[k].status = FSGD_INVALID_ARGUMENT;
        return FSGD_INVALID_ARGUMENT;
    }
    if (n_threads < 1) n_threads = 1;
    /* Each problem is independent and sequential inside, so the result does
     * not depend on how problems are spread over threads.  Shard-parallel
     * problems use the threads inside, one problem after another. */
    if (params->n_shards > 1) {
        int status = FSGD_OK;
        for (k = 0; k < n_problems; k++) {
            if (fsgd_interrupted(params->interrupt, 1)) return FSGD_INTERRUPTED;
            int st = fit_problem(data, params, &problems[k], k, n_threads, progress, progress_ctx);
            if (status == FSGD_OK) status = st;
        }
        return status;
    }
    ovr_fit f = {data, params, problems, fit_problem, progress, progress_ctx};
    if (fsgd_run_tasks(n_problems, n_threads, ovr_task, &f, params->interrupt))
        return FSGD_INTERRUPTED;
    for (k = 0; k < n_problems; k++)
        if (problems[k].status != FSGD_OK) return problems[k].status;
    return FSGD_OK;
}

int fsgd_optimizer_slots(int optimizer) { return fsgd_opt_slots(optimizer); }

int fsgd_fit_batch(const fsgd_data *data, const fsgd_params *params, const fsgd_batch_params *bp,
                   fsgd_problem *problems, int n_problems, fsgd_batch_state *state, int n_threads,
                   fsgd_progress_fn progress, void *progress_ctx)
{
    if (fsgd_check_args(data, params, bp, n_problems)) {
        for (int k = 0; k < n_problems; k++) problems[k].status = FSGD_INVALID_ARGUMENT;
        return FSGD_INVALID_ARGUMENT;
    }
    return fsgd_pick_kernels()->fit_batch(data, params, bp, problems, n_problems, state, n_threads,
                                          progress, progress_ctx);
}

double fsgd_loss_value(int loss, double param, double y, double p)
{
    return loss_value(loss, param, y, p);
}

double fsgd_loss_dloss(int loss, double param, double y, double p)
{
    return loss_dloss(loss, param, y, p);
}

double fsgd_loss_step(int loss, double param, double y, double p, double *value)
{
    fsgd_lossacc acc;
    lossacc_init(&acc);
    double dloss = loss_step(loss, param, y, p, &acc);
    *value = lossacc_total(&acc);
    return dloss;
}

double fsgd_exp_tab(double x) { return exp_tab(x); }

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
