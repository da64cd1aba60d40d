/*
 * The batch engine's entry point (engine: batch_engine.h, compiled per
 * instruction set in sgd_kernels.c; semantics: docs/batch.md).
 */
#include <math.h>

#include "fastsgd.h"
#include "kernels.h"

int fsgd_optimizer_slots(int optimizer) { return fsgd_opt_slots(optimizer); }

/* The cosine schedule's cycles (declared in fastsgd.h).  In closed form, so
 * that the cost does not grow with e / T0 (it was a loop over the cycles:
 * restart_epochs=1e-5 made a 20-epoch fit 150 times slower, and smaller
 * values hung it); the count of whole cycles is then corrected where
 * rounding put e on the wrong side of a cycle's start. */
void fsgd_cosine_cycle(double T0, double mult, double e, double *T, double *Ti)
{
    if (mult == 1.0) {
        *T = fmod(e, T0); /* exact */
        *Ti = T0;
        return;
    }
    /* cycles 0 .. n-1 end at T0 (mult^n - 1) / (mult - 1) */
    double n = floor(log1p(e * (mult - 1.0) / T0) / log(mult));
    if (!(n >= 0.0)) n = 0.0;
    double len = T0 * pow(mult, n);
    double start = (len - T0) / (mult - 1.0);
    while (start > e && n > 0.0) {
        len /= mult;
        start -= len;
        n -= 1.0;
    }
    while (e - start >= len) {
        start += len;
        len *= mult;
    }
    *T = e - start > 0.0 ? e - start : 0.0;
    *Ti = len;
}

int fsgd_fit_batch(const fsgd_data *data, const fsgd_params *params, const fsgd_batch_params *bp,
                   fsgd_problem *problems, int n_problems, fsgd_batch_state *state, int n_threads,
                   fsgd_progress_fn progress, void *progress_ctx)
{
    return fsgd_pick_kernels()->fit_batch(data, params, bp, problems, n_problems, state, n_threads,
                                          progress, progress_ctx);
}
