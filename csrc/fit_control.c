/*
 * The fit control both engines share (fit_control.h): the epoch driver, the
 * schedule's set-up, the checks of the arguments that reach C.  Compiled
 * once, not per instruction set: it runs once per epoch, not per row.
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep */
#endif
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "fastsgd.h"
#include "fit_control.h"
#include "losses.h"

double fsgd_now(void)
{
    struct timespec ts;
#ifdef CLOCK_MONOTONIC
    clock_gettime(CLOCK_MONOTONIC, &ts);
#else
    timespec_get(&ts, TIME_UTC);
#endif
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Whether this is the thread that called the fit: thread 0 of every
 * enclosing parallel region, active or not. */
static int caller_thread(void)
{
#ifdef _OPENMP
    for (int level = omp_get_level(); level > 0; level--)
        if (omp_get_ancestor_thread_num(level) != 0) return 0;
#endif
    return 1;
}

static int stop_read(const fsgd_interrupt *I)
{
    int stop;
#ifdef _OPENMP
#pragma omp atomic read
#endif
    stop = I->stop;
    return stop;
}

int fsgd_interrupted(fsgd_interrupt *I, int every)
{
    if (!I) return 0;
    /* a clock may cost a system call: not at every check */
    if (I->poll && caller_thread() && --I->countdown <= 0) {
        I->countdown = every;
        const double now = fsgd_now();
        if (now >= I->next_poll) {
            I->next_poll = now + I->interval;
            if (!stop_read(I) && I->poll(I->ctx)) {
#ifdef _OPENMP
#pragma omp atomic write
#endif
                I->stop = 1;
            }
        }
    }
    return stop_read(I);
}

/* Sleeps about `seconds` (POSIX nanosleep; elsewhere a wait on the clock). */
static void pause_for(double seconds)
{
#ifndef _WIN32
    struct timespec ts = {0, (long)(seconds * 1e9)};
    nanosleep(&ts, NULL);
#else
    const double until = fsgd_now() + seconds;
    while (fsgd_now() < until) {
    }
#endif
}

int fsgd_run_tasks(int n_tasks, int n_threads, void (*task)(void *ctx, int i), void *ctx,
                   fsgd_interrupt *I)
{
    int next = 0, done = 0;
    if (n_threads > n_tasks) n_threads = n_tasks;
    if (n_threads < 1) n_threads = 1;
#ifdef _OPENMP
#pragma omp parallel num_threads(n_threads) if (n_threads > 1)
#endif
    {
        for (;;) {
            int i;
#ifdef _OPENMP
#pragma omp atomic capture
#endif
            i = next++;
            if (i >= n_tasks || fsgd_interrupted(I, 1)) break;
            task(ctx, i);
#ifdef _OPENMP
#pragma omp atomic update
#endif
            done++;
        }
        /* the caller, out of tasks, watches for an interruption while the
         * other threads finish theirs (the tasks check I themselves) */
        if (I && I->poll && caller_thread()) {
            for (;;) {
                int finished;
#ifdef _OPENMP
#pragma omp atomic read
#endif
                finished = done;
                if (finished >= n_tasks || fsgd_interrupted(I, 1)) break;
                pause_for(0.002);
            }
        }
    }
    return fsgd_interrupted(I, 1);
}

/* SGDR's cycles (fastsgd.h).  In closed form, so that the cost does not grow
 * with e / T0; the count of whole cycles is then corrected where rounding put
 * e on the wrong side of a cycle's start. */
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

/* The largest second derivative of a loss in the prediction, the scale of
 * the curvature of its objective per unit of |x|^2; 1 for the losses that have
 * none (hinge, perceptron, epsilon-insensitive): a unit step per |x|^2. */
static double loss_curvature(int loss, int multinomial)
{
    if (multinomial) return 0.5;
    switch (loss) {
    case FSGD_LOSS_LOG:
        return 0.25;
    case FSGD_LOSS_SQUARED_HINGE:
    case FSGD_LOSS_MODIFIED_HUBER:
    case FSGD_LOSS_SQ_EPS_INSENSITIVE:
        return 2.0;
    default:
        return 1.0;
    }
}

/* The batch engine's "optimal" (docs/batch.md, "Defaults that converge"): a
 * base step that decays as 1 / (1 + r x), or 1 / sqrt(1 + r x) for adagrad
 * and adadelta, whose own state shrinks the step already.  x counts epochs,
 * but at most one per kappa / 16 updates (kappa = L / alpha); r = (n - m) /
 * (n - 1) is the share of a batch gradient's variance left by sampling m of n
 * rows without replacement (0: a full batch has no noise to average out, and
 * keeps its step).  sgd, momentum and nesterov start at 1 / (2 L(m)), L(m)
 * the expected smoothness of a batch of m rows (Gower et al. 2019): the full
 * objective's curvature bound for m = n, the mean per-row one for m = 1,
 * mixed between; the per-coordinate optimizers at their paper's step times
 * sqrt(m), the square-root scaling of adaptive steps with the batch size
 * (their gradient noise falls as 1 / sqrt(m)), so that m = 1 keeps the
 * paper's step. */
static void batch_optimal(fsgd_schedule *S, const fsgd_params *P, const fsgd_batch_params *B,
                          int loss, int64_t batch_rows, int64_t n_train)
{
    double m = (double)(batch_rows > 1 ? batch_rows : 1);
    double n = (double)(n_train > (int64_t)m ? n_train : (int64_t)m);
    double r = n > 1.0 ? (n - m) / (n - 1.0) : 0.0;
    double c = loss_curvature(loss, B->multinomial);
    double full = n > 1.0 ? n * (m - 1.0) / (m * (n - 1.0)) : 1.0;
    double l2 = P->penalty == FSGD_PEN_NONE ? 0.0 : P->alpha * (1.0 - fsgd_l1_ratio(P));
    double L = c * (full * B->row_top_eig + r / m * B->row_sq_norm) + l2;
    int usable = L > 0.0 && isfinite(L);
    double plain = usable ? 0.5 / L : 1.0;
    S->batch_decay = r;
    /* the decay's clock: epochs, but no faster than one unit per kappa / 16
     * updates (kappa = L / l2, the condition number), so that a data set of
     * a few batches per epoch still travels before its step decays; plain
     * epochs without an L2 part */
    S->batch_kappa_inv = usable && l2 > 0.0 ? 16.0 * l2 / L : INFINITY;
    S->batch_sqrt_decay = 0;
    switch (B->optimizer) {
    case FSGD_OPT_MOMENTUM:
    case FSGD_OPT_NESTEROV:
        /* heavy ball multiplies the step by 1 / (1 - momentum) in the long
         * run: keep the effective step of plain SGD */
        S->batch_base = plain * (1.0 - B->momentum);
        break;
    case FSGD_OPT_ADAGRAD:
        S->batch_base = 0.01 * sqrt(m);
        S->batch_sqrt_decay = 1;
        break;
    case FSGD_OPT_ADADELTA:
        S->batch_base = 1.0;
        S->batch_sqrt_decay = 1;
        break;
    case FSGD_OPT_RMSPROP:
    case FSGD_OPT_ADAM:
    case FSGD_OPT_ADAMW:
        S->batch_base = 0.001 * sqrt(m);
        break;
    default:
        S->batch_base = plain;
    }
}

void fsgd_schedule_init(fsgd_schedule *S, const fsgd_params *P, const fsgd_batch_params *B,
                        int loss, int64_t batch_rows, int64_t n_train)
{
    memset(S, 0, sizeof(*S));
    S->lr = P->learning_rate;
    S->eta0 = P->eta0;
    S->power_t = P->power_t;
    S->alpha = P->alpha;
    if (P->learning_rate == FSGD_LR_OPTIMAL && !B) {
        /* scikit-learn's heuristic: the step at t = 1 is the one that moves a
         * typical weight 1 / sqrt(sqrt(alpha)) by the loss's derivative there */
        double typw = sqrt(1.0 / sqrt(P->alpha));
        double g = loss_dloss(loss, P->loss_param, 1.0, -typw);
        double initial_eta0 = typw / (g > 1.0 ? g : 1.0);
        S->optimal_init = 1.0 / (initial_eta0 * P->alpha);
    }
    if (B) {
        if (P->learning_rate == FSGD_LR_OPTIMAL) batch_optimal(S, P, B, loss, batch_rows, n_train);
        S->lr_decay = B->lr_decay;
        S->lr_decay_epochs = B->lr_decay_epochs;
        S->restart_epochs = B->restart_epochs;
        S->restart_mult = B->restart_mult;
        S->eta_min = B->eta_min;
        S->warmup_epochs = B->warmup_epochs;
    }
}

int64_t fsgd_training_rows(const fsgd_data *D, double *validation_ybar)
{
    int64_t n_train = D->n_samples;
    double sy = 0.0, sw = 0.0;
    if (D->source) {
        *validation_ybar = D->source->validation_ybar;
        return D->source->n_train;
    }
    if (D->validation_mask) {
        for (int64_t r = 0; r < D->n_samples; r++) {
            if (!D->validation_mask[r]) continue;
            n_train--;
            if (D->y) {
                double w_r = D->sample_weight ? D->sample_weight[r] : 1.0;
                sy += w_r * D->y[r];
                sw += w_r;
            }
        }
    }
    *validation_ybar = sw > 0.0 ? sy / sw : 0.0;
    return n_train;
}

const char *fsgd_check_args(const fsgd_data *D, const fsgd_params *P, const fsgd_batch_params *B,
                            int n_problems)
{
    const int multinomial = B && B->multinomial;
    if (!D || !P) return "data and params are required";
    if (D->n_samples < 1) return "n_samples: no rows";
    if (D->n_features < 1) return "n_features: no features";
    if (n_problems < 1) return "n_problems: no problem to fit";
    if (D->source) {
        if (!D->source->next) return "source: no window function";
        if (P->n_shards > 1) return "n_shards: a data source's rows are not cut into shards";
    } else {
        if (!D->X || (D->is_csr && (!D->indptr || !D->indices))) return "X: missing data";
        if (!D->y == !D->y_code) return "y / y_code: exactly one is needed";
    }
    if (multinomial ? P->loss != FSGD_LOSS_LOG : (P->loss < 0 || P->loss >= FSGD_N_LOSSES))
        return "loss: unknown loss code";
    if (P->penalty < FSGD_PEN_NONE || P->penalty > FSGD_PEN_ELASTICNET)
        return "penalty: unknown penalty code";
    if (!(P->alpha >= 0.0) || !(P->l1_ratio >= 0.0 && P->l1_ratio <= 1.0))
        return "alpha / l1_ratio: out of range";
    if (P->learning_rate < FSGD_LR_CONSTANT ||
        P->learning_rate > (B ? FSGD_LR_COSINE : FSGD_LR_PA2))
        return "learning_rate: unknown schedule code for this engine";
    if (B && (P->learning_rate == FSGD_LR_PA1 || P->learning_rate == FSGD_LR_PA2))
        return "learning_rate: the PA rules are per-sample only";
    if (!B && P->learning_rate == FSGD_LR_OPTIMAL && !(P->alpha > 0.0))
        return "alpha: 'optimal' needs alpha > 0";
    if (B && !(B->row_sq_norm >= 0.0 && B->row_sq_norm <= DBL_MAX && B->row_top_eig >= 0.0 &&
               B->row_top_eig <= B->row_sq_norm))
        return "row_sq_norm / row_top_eig: must be finite, 0 <= row_top_eig <= row_sq_norm";
    if (P->max_iter < 1) return "max_iter: must be >= 1";
    if (P->n_iter_no_change < 1) return "n_iter_no_change: must be >= 1";
    if (P->order < FSGD_ORDER_SEQUENTIAL || P->order > FSGD_ORDER_PERMUTATION)
        return "order: unknown order code";
    if (P->score_kind != FSGD_SCORE_ACCURACY && P->score_kind != FSGD_SCORE_R2)
        return "score_kind: unknown code";
    if (P->n_shards < 1 || P->n_shards > D->n_samples) return "n_shards: must be in [1, n_samples]";
    if (B && P->n_shards > 1) return "n_shards: shard-parallel SGD is per-sample only";
    if (B) {
        if (B->batch_size < 1) return "batch_size: must be >= 1";
        if (B->optimizer < FSGD_OPT_SGD || B->optimizer > FSGD_OPT_ADAMW)
            return "optimizer: unknown optimizer code";
        if (multinomial && !D->y_code && !D->source) return "multinomial: needs class codes";
    }
    double ybar;
    if (fsgd_training_rows(D, &ybar) < 1) return "validation_mask: no training rows left";
    return NULL;
}

/* Outputs [*k0, *k1) that rule r covers. */
static void rule_outputs(const fsgd_drive_state *ds, int r, int *k0, int *k1)
{
    *k0 = ds->one_rule ? 0 : r;
    *k1 = ds->one_rule ? ds->n_outputs : r + 1;
}

/* Room for entry `epoch` of prob's loss curve: the array doubles (at least
 * 16 entries, at most max_iter), its new entries NaN.  A loss curve costs
 * the epochs that run, not max_iter.  FSGD_OK or FSGD_NO_MEMORY. */
static int grow_loss_curve(fsgd_problem *prob, int epoch, int max_iter)
{
    if (epoch < prob->loss_curve_cap) return FSGD_OK;
    int64_t cap = 2 * (int64_t)prob->loss_curve_cap;
    if (cap < 16) cap = 16;
    if (cap <= epoch) cap = (int64_t)epoch + 1;
    if (cap > max_iter) cap = max_iter;
    double *grown = (double *)realloc(prob->loss_curve, sizeof(double) * (size_t)cap);
    if (!grown) return FSGD_NO_MEMORY;
    for (int64_t i = prob->loss_curve_cap; i < cap; i++) grown[i] = NAN;
    prob->loss_curve = grown;
    prob->loss_curve_cap = (int)cap;
    return FSGD_OK;
}

int fsgd_drive(const fsgd_params *P, fsgd_drive_state *ds, const fsgd_engine_ops *ops, void *self,
               fsgd_problem *probs, fsgd_progress_fn progress, void *progress_ctx)
{
    const int K = ds->n_outputs;
    const int nr = ds->one_rule ? 1 : K;
    int status = FSGD_OK;
    double t_begin = fsgd_now();
    /* per rule: best objective and score, epochs without improvement, n_iter;
     * per output: the epoch's objective sum; per rule: the objective, score */
    double *dbl = (double *)calloc((size_t)(4 * nr + K), sizeof(double));
    int *ibl = (int *)calloc((size_t)(2 * nr), sizeof(int));
    if (!dbl || !ibl) {
        free(dbl);
        free(ibl);
        for (int k = 0; k < K; k++) probs[k].status = FSGD_NO_MEMORY;
        return FSGD_NO_MEMORY;
    }
    double *best_obj = dbl, *best_score = dbl + nr, *objective = dbl + 2 * nr,
           *score = dbl + 3 * nr;
    double *objsum = dbl + 4 * nr;
    int *no_imp = ibl, *n_iter = ibl + nr;
    for (int r = 0; r < nr; r++) {
        best_obj[r] = INFINITY;
        best_score[r] = -INFINITY;
        n_iter[r] = P->max_iter;
    }
    for (int k = 0; k < K; k++) ds->active[k] = 1;

    for (int epoch = 0; epoch < P->max_iter; epoch++) {
        int stop = 0, any_active = 0;
        for (int k = 0; k < K; k++) objsum[k] = 0.0;
        int ran = ops->run_epoch(self, objsum);
        if (ran != FSGD_OK && ran != FSGD_DIVERGED) {
            /* out of memory, or the data source failed */
            status = ran;
            for (int r = 0; r < nr; r++)
                if (ds->active[r]) n_iter[r] = epoch + 1;
            break;
        }
        int diverged = ran == FSGD_DIVERGED, grown = FSGD_OK;
        for (int r = 0; r < nr; r++) {
            if (!ds->active[r]) continue;
            objective[r] = objsum[r] / ds->n_train;
            grown = grow_loss_curve(&probs[r], epoch, P->max_iter);
            if (grown != FSGD_OK) break;
            probs[r].loss_curve[epoch] = objective[r];
            /* finite weights with an infinite or NaN objective (a loss that
             * overflowed) are no fit either */
            diverged |= !isfinite(objective[r]);
        }
        if (grown != FSGD_OK) {
            status = grown;
            for (int r = 0; r < nr; r++)
                if (ds->active[r]) n_iter[r] = epoch + 1;
            break;
        }
        if (diverged) {
            status = FSGD_DIVERGED;
            for (int k = 0; k < K; k++) probs[k].failed_epoch = epoch + 1;
            for (int r = 0; r < nr; r++)
                if (ds->active[r]) n_iter[r] = epoch + 1;
            break;
        }
        if (P->early_stopping) {
            int scored = ops->score(self, score);
            if (scored != FSGD_OK) {
                status = scored;
                for (int r = 0; r < nr; r++)
                    if (ds->active[r]) n_iter[r] = epoch + 1;
                break;
            }
        }
        for (int r = 0; r < nr && !stop; r++) {
            int k0, k1;
            if (!ds->active[r]) continue;
            rule_outputs(ds, r, &k0, &k1);
            if (P->early_stopping) {
                if (P->tol > -INFINITY && score[r] < best_score[r] + P->tol) no_imp[r]++;
                else no_imp[r] = 0;
                if (score[r] > best_score[r]) best_score[r] = score[r];
            } else {
                if (P->tol > -INFINITY && objective[r] > best_obj[r] - P->tol) no_imp[r]++;
                else no_imp[r] = 0;
                if (objective[r] < best_obj[r]) best_obj[r] = objective[r];
            }
            if (progress) {
                fsgd_epoch_info info;
                memset(&info, 0, sizeof(info));
                ops->describe(self, r, &info);
                info.problem = ds->report_index + r;
                info.epoch = epoch + 1;
                info.objective = objective[r];
                info.score = P->early_stopping ? score[r] : NAN;
                info.seconds = fsgd_now() - t_begin;
                if (progress(progress_ctx, &info)) {
                    status = FSGD_INTERRUPTED;
                    stop = 1;
                    for (int q = 0; q < nr; q++)
                        if (ds->active[q]) n_iter[q] = epoch + 1;
                    break;
                }
            }
            if (no_imp[r] >= P->n_iter_no_change) {
                if (P->learning_rate == FSGD_LR_ADAPTIVE && ds->eta_last[k0] > 1e-6) {
                    for (int k = k0; k < k1; k++) ds->step_scale[k] /= 5.0;
                    no_imp[r] = 0;
                } else {
                    n_iter[r] = epoch + 1;
                    for (int k = k0; k < k1; k++) ds->active[k] = 0;
                }
            }
            any_active |= ds->active[r];
        }
        if (stop || !any_active) break;
    }
    for (int k = 0; k < K; k++) {
        probs[k].n_iter = n_iter[ds->one_rule ? 0 : k];
        probs[k].status = status;
    }
    free(dbl);
    free(ibl);
    return status;
}
