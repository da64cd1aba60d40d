/*
 * The fit control both engines share: one driver that runs the epochs, and
 * the small rules every engine applies the same way.
 *
 * An engine (the per-sample engine of sgd_engine.inc, the batch engine of
 * batch_engine.inc) sets up its state, then hands fsgd_drive() a table of
 * steps (fsgd_engine_ops): run one epoch over the training rows, score the
 * validation rows, describe the weights for the epoch report.  The driver
 * owns everything between epochs: the objective and the loss curve,
 * divergence, the stopping rule (tol / n_iter_no_change, on the objective
 * or on the validation score), the adaptive schedule's division by 5, the
 * progress report and interruption, n_iter.  Where the rows of an epoch come
 * from is the engine's business: a new data source is a new run_epoch, not a
 * new driver (docs/design.md).
 *
 * A fit has K outputs (one-vs-rest problems, or the K rows of a multinomial
 * model) and one stopping rule per output, or one for all of them
 * (multinomial).  The per-sample engine drives each binary problem on its own
 * (K = 1, on the OpenMP thread that fits it); the batch engine drives all K
 * outputs at once.
 */
#ifndef FASTSGD_FIT_CONTROL_H
#define FASTSGD_FIT_CONTROL_H

#include <math.h>
#include <stdint.h>

#include "compiler.h"
#include "fastsgd.h"


/* ---- rules shared by the engines ---- */

/* l1_ratio as the penalty uses it: 0 for L2, 1 for L1, the parameter for the
 * elastic net (and irrelevant without a penalty). */
FSGD_INLINE double fsgd_l1_ratio(const fsgd_params *P)
{
    if (P->penalty == FSGD_PEN_L2) return 0.0;
    if (P->penalty == FSGD_PEN_L1) return 1.0;
    return P->l1_ratio;
}

/* Largest loss derivative a step uses, as scikit-learn clips it. */
#define FSGD_MAX_DLOSS 1e12

/* dloss clipped to +-FSGD_MAX_DLOSS.  The log loss's lies in [-1, 1] (NaN
 * stays NaN either way): no clip on its path from one prediction to the
 * next. */
FSGD_INLINE double fsgd_clip_dloss(const int L, double dloss)
{
    if (L == FSGD_LOSS_LOG) return dloss;
    if (dloss < -FSGD_MAX_DLOSS) dloss = -FSGD_MAX_DLOSS;
    else if (dloss > FSGD_MAX_DLOSS) dloss = FSGD_MAX_DLOSS;
    return dloss;
}

/* The learning-rate schedule of both engines, fixed for a fit. */
typedef struct {
    int lr;                    /* enum fsgd_lr */
    double eta0, power_t, alpha;
    double optimal_init;       /* t0 of "optimal": scikit-learn's 1 / (eta0' alpha) */
    double lr_decay, lr_decay_epochs;            /* step, exponential */
    double restart_epochs, restart_mult, eta_min; /* cosine */
    double warmup_epochs;
    /* the batch engine's "optimal" (fit_control.c): base / (1 + decay x), or
     * base / sqrt(1 + decay x), x = min(e, u * kappa_inv) */
    double batch_base, batch_decay, batch_kappa_inv;
    int batch_sqrt_decay;
} fsgd_schedule;

/* Fills S for the loss `loss` (the loss "optimal" derives its step from; the
 * log loss for a multinomial fit) and, for the batch engine, B (NULL:
 * per-sample) with batches of at most batch_rows rows. */
void fsgd_schedule_init(fsgd_schedule *S, const fsgd_params *P, const fsgd_batch_params *B,
                        int loss, int64_t batch_rows, int64_t n_train);

/* scikit-learn's schedules, the per-sample engine's: the step at update u
 * (from 1); "constant", "adaptive" and the PA rules return `eta`, the current
 * step.  Kept apart from the epoch-based schedules below, whose library
 * calls in the per-sample loop would cost registers on every row. */
FSGD_INLINE double fsgd_schedule_sample_eta(const fsgd_schedule *S, double eta, double u)
{
    if (S->lr == FSGD_LR_OPTIMAL) return 1.0 / (S->alpha * (S->optimal_init + u - 1.0));
    if (S->lr == FSGD_LR_INVSCALING)
        return S->power_t == 0.5 ? S->eta0 / sqrt(u) : S->eta0 / pow(u, S->power_t);
    return eta;
}

/* Every schedule: the step at update u (from 1) and epoch time e (epochs
 * done, fractional). */
FSGD_INLINE double fsgd_schedule_eta(const fsgd_schedule *S, double eta, double u, double e)
{
    switch (S->lr) {
    case FSGD_LR_STEP:
        return S->eta0 * pow(S->lr_decay, floor(e / S->lr_decay_epochs));
    case FSGD_LR_EXPONENTIAL:
        return S->eta0 * pow(S->lr_decay, e / S->lr_decay_epochs);
    case FSGD_LR_COSINE: {
        double T, Ti;
        fsgd_cosine_cycle(S->restart_epochs, S->restart_mult, e, &T, &Ti);
        return S->eta_min +
               (S->eta0 - S->eta_min) * 0.5 * (1.0 + cos(3.14159265358979323846 * T / Ti));
    }
    default:
        return fsgd_schedule_sample_eta(S, eta, u);
    }
}

/* The batch engine's step: the schedule at update u and epoch time e ("optimal"
 * decays with e from the base fsgd_schedule_init chose), then the linear
 * warm-up over the first warmup_epochs. */
FSGD_INLINE double fsgd_schedule_batch_eta(const fsgd_schedule *S, double u, double e,
                                           double batches_per_epoch)
{
    double eta;
    if (S->lr == FSGD_LR_OPTIMAL) {
        double x = u * S->batch_kappa_inv;
        x = S->batch_decay * (x < e ? x : e);
        eta = S->batch_sqrt_decay ? S->batch_base / sqrt(1.0 + x) : S->batch_base / (1.0 + x);
    } else {
        eta = fsgd_schedule_eta(S, S->eta0, u, e);
    }
    if (S->warmup_epochs > 0.0) {
        double f = (e + 1.0 / batches_per_epoch) / S->warmup_epochs;
        if (f < 1.0) eta *= f;
    }
    return eta;
}

/* Validation score: weighted accuracy, or weighted R^2 (scikit-learn's
 * r2_score with force_finite); ybar is the weighted mean target of the
 * validation rows. */
typedef struct {
    double num, den, good, wsum;
} fsgd_score_acc;

FSGD_INLINE void fsgd_score_add(fsgd_score_acc *a, int kind, double sw, double y, double p,
                                double ybar)
{
    if (kind == FSGD_SCORE_ACCURACY) {
        a->wsum += sw;
        if ((p > 0.0) == (y > 0.0)) a->good += sw;
    } else {
        a->num += sw * (y - p) * (y - p);
        a->den += sw * (y - ybar) * (y - ybar);
    }
}

FSGD_INLINE double fsgd_score_value(const fsgd_score_acc *a, int kind)
{
    if (kind == FSGD_SCORE_ACCURACY) return a->wsum > 0.0 ? a->good / a->wsum : 0.0;
    if (a->den != 0.0) return 1.0 - a->num / a->den;
    return a->num == 0.0 ? 1.0 : 0.0;
}

/* Rows that take part in training (not in the validation mask), and the
 * weighted mean regression target of the validation rows (0 without them
 * or for classification). */
int64_t fsgd_training_rows(const fsgd_data *D, double *validation_ybar);

/* Seconds on a monotonic clock. */
double fsgd_now(void);

/* Whether the fit was asked to stop (fsgd_interrupt): 0 without I.  On the
 * thread that called the fit, every `every`-th call first reads the clock,
 * and polls when the interval has passed. */
int fsgd_interrupted(fsgd_interrupt *I, int every);

/* `every` for checks that each follow about `values` multiply-adds of work:
 * the clock is read after about 1e5 of them (tens of microseconds), at
 * least every 64 checks. */
FSGD_INLINE int fsgd_check_every(double values)
{
    const double every = 1e5 / (values > 1.0 ? values : 1.0);
    return every < 1.0 ? 1 : (every > 64.0 ? 64 : (int)every);
}

/* Runs task(ctx, i) for i = 0 .. n_tasks - 1 on up to n_threads OpenMP
 * threads, each task on one thread, taken in order by whichever thread is
 * free.  The calling thread, once no task is left to take, keeps polling I
 * while the others finish theirs; no new task starts after an interruption.
 * Returns whether the fit was interrupted. */
int fsgd_run_tasks(int n_tasks, int n_threads, void (*task)(void *ctx, int i), void *ctx,
                   fsgd_interrupt *I);

/* ---- the driver ---- */

/* The steps an engine plugs into fsgd_drive. */
typedef struct {
    /* Train one epoch over the training rows.  Adds into objective_sum[k]
     * the epoch's summed loss and penalty of each active output k (or of
     * output 0 only for a single rule over all outputs).  Returns FSGD_OK,
     * FSGD_DIVERGED when a prediction or a weight is no longer finite, or
     * the status that stops the fit (FSGD_NO_MEMORY, FSGD_SOURCE_ERROR). */
    int (*run_epoch)(void *self, double *objective_sum);
    /* Validation score of each rule into score[] (early stopping only);
     * returns FSGD_OK or the status that stops the fit. */
    int (*score)(void *self, double *score);
    /* The weights for the report of rule k: norm, nnz, intercept, t. */
    void (*describe)(void *self, int k, fsgd_epoch_info *info);
} fsgd_engine_ops;

/* What the driver shares with the engine.  Arrays have one entry per output. */
typedef struct {
    int n_outputs;             /* K */
    int one_rule;              /* one stopping rule for all outputs (multinomial) */
    int report_index;          /* fsgd_epoch_info.problem of output 0 */
    double n_train;            /* the objective is the sum over the epoch / n_train */
    uint8_t *active;           /* driver: outputs still being fitted */
    double
        *step_scale; /* driver: the adaptive schedule's factor (starts at what the engine sets) */
    const double *eta_last; /* engine: the step each output took last */
} fsgd_drive_state;

/* Runs epochs until max_iter, the stopping rule, divergence or an
 * interruption; fills the problems' loss_curve, n_iter, failed_epoch and
 * status.  Returns the status. */
int fsgd_drive(const fsgd_params *P, fsgd_drive_state *ds, const fsgd_engine_ops *ops, void *self,
               fsgd_problem *probs, fsgd_progress_fn progress, void *progress_ctx);

#endif
