/*
 * The batch engine's entry point (engine: batch_engine.h, compiled per
 * instruction set in sgd_kernels.c; semantics: docs/batch.md).
 */
#include "fastsgd.h"
#include "kernels.h"

int fsgd_optimizer_slots(int optimizer)
{
    switch (optimizer) {
    case FSGD_OPT_MOMENTUM:
    case FSGD_OPT_NESTEROV:
    case FSGD_OPT_ADAGRAD:
    case FSGD_OPT_RMSPROP:
        return 1;
    case FSGD_OPT_ADADELTA:
    case FSGD_OPT_ADAM:
    case FSGD_OPT_ADAMW:
        return 2;
    default:
        return 0;
    }
}

int fsgd_fit_batch(const fsgd_data *data, const fsgd_params *params, const fsgd_batch_params *bp,
                   fsgd_problem *problems, int n_problems, fsgd_batch_state *state, int n_threads,
                   fsgd_progress_fn progress, void *progress_ctx)
{
    return fsgd_pick_kernels()->fit_batch(data, params, bp, problems, n_problems, state, n_threads,
                                          progress, progress_ctx);
}
