/*
 * The batch engine's entry point (engine: batch_engine.h, compiled per
 * instruction set in sgd_kernels.c; semantics: docs/batch.md).
 */
#include "fastsgd.h"
#include "kernels.h"

int fsgd_optimizer_slots(int optimizer) { return fsgd_opt_slots(optimizer); }

int fsgd_fit_batch(const fsgd_data *data, const fsgd_params *params, const fsgd_batch_params *bp,
                   fsgd_problem *problems, int n_problems, fsgd_batch_state *state, int n_threads,
                   fsgd_progress_fn progress, void *progress_ctx)
{
    return fsgd_pick_kernels()->fit_batch(data, params, bp, problems, n_problems, state, n_threads,
                                          progress, progress_ctx);
}
