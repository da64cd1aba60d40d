/*
 * The batch engine's entry point (engine: batch_engine.h, compiled per
 * instruction set in sgd_kernels.c; semantics: docs/batch.md).
 */
#include <math.h>

#include "fastsgd.h"
#include "kernels.h"

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
