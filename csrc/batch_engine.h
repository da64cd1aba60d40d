/*
 * The batch engine: mini-batch and full-batch gradient descent with the
 * optimizers, schedules, clipping and proximal L1 of docs/batch.md.
 * sgd_kernels.c includes this file once per instruction set, after the row
 * kernels of batch_impl.h (float64 and float32); csrc/batch.c calls the build
 * the CPU supports.
 *
 * Shape of a fit:
 *  - One OpenMP parallel region for the whole fit.  Per batch: the batch's
 *    chunks (a fixed number of rows each, set by the batch size and the row
 *    count only) compute partial gradients on all threads; one thread then
 *    sums the chunks in chunk order and takes the optimizer step (fixed
 *    blocks of coordinates on all threads when there are many), while
 *    another takes the rows of the batch after next from the visiting order
 *    (order.h).  Nothing depends on the number of threads, so the result is
 *    bit-identical for any n_jobs.
 *  - Batches too small to share (work below FSGD_PARALLEL_MIN_WORK) run on one
 *    thread: a barrier costs more than they do.
 *  - The working weights are double, K rows of n_features + 1 values with the
 *    intercept last, so the intercept is one more coordinate of every loop.
 */
#ifndef FASTSGD_BATCH_ENGINE_H
#define FASTSGD_BATCH_ENGINE_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "fastsgd.h"
#include "kernels.h"
#include "losses.h"
#include "fit_control.h"
#include "order.h"

/* Chunks: at least FSGD_MIN_CHUNK_ROWS rows, at most FSGD_MAX_CHUNKS per
 * batch, and their gradient buffers at most FSGD_MAX_CHUNK_BYTES in all. */
#define FSGD_MIN_CHUNK_ROWS 32
#define FSGD_MAX_CHUNKS 64
#define FSGD_MAX_CHUNK_BYTES (64.0 * 1024 * 1024)
/* Coordinates per block of the update step. */
#define FSGD_UPDATE_BLOCK 512
/* Work per batch (rows x stored values per row x outputs) below which a fit
 * runs on one thread; the environment variable FASTSGD_PARALLEL_MIN_WORK
 * overrides it (the benchmarks measure the crossover with it). */
#ifndef FSGD_PARALLEL_MIN_WORK
#define FSGD_PARALLEL_MIN_WORK 5000.0
#endif
#define FSGD_PREDICT_ROWS 1024
/* Shuffled batches are drawn in runs of consecutive rows (order.h): at most
 * FSGD_MAX_RUN_ROWS rows, and at least FSGD_MIN_BATCH_PLACES runs per batch. */
#define FSGD_MAX_RUN_ROWS 8
#define FSGD_MIN_BATCH_PLACES 32
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#if defined(__GNUC__)
#define FSGD_RESTRICT __restrict__
#else
#define FSGD_RESTRICT
#endif

/* Everything the threads share. */
typedef struct {
    /* fixed for the fit */
    const fsgd_data *D;
    const fsgd_params *P;
    const fsgd_batch_params *B;
    fsgd_batch_ctx ctx;
    fsgd_batch_chunk_fn chunk_fn;
    int K;
    int64_t d, ld;
    int opt;
    double l1, l2;             /* alpha l1_ratio, alpha (1 - l1_ratio) */
    double rho, eps;
    int64_t chunk_rows;
    int n_blocks;
    /* buffers */
    double *W, *Wavg, *S1, *S2;
    double *G;                 /* max chunks x K x ld */
    double *chunk_loss;        /* max chunks x K */
    double *scratch;           /* max chunks x FSGD_CHUNK_SCRATCH(K) */
    int *chunk_nf;
    double *block_pen;         /* n_blocks x K x 2: sum w^2, sum |w| of the weights used */
    double *block_sq;          /* n_blocks: squared gradient norm (clip_norm) */
    int64_t *rows;
    /* per output and per epoch */
    double *eta_scale;         /* K: adaptive divisions */
    double *ep_loss, *ep_pen;  /* K: this epoch's loss and penalty sums */
    double *pen_now;           /* K */
    fsgd_batch_state *st;
    fsgd_schedule sch;
    double batches_per_epoch, t_samples;
    int64_t batch_index;
    int nonfinite_epoch;
    /* the current batch; rows come from three buffers: this batch's, the
     * next one's, and the one after, taken while this batch is updated */
    int64_t m, n_chunks;
    int64_t *rowbuf[3];
    int64_t mbuf[3];
    int cur;
    double *eta;               /* K */
    double bc1, bc2;           /* Adam's bias corrections */
    double clip_scale;
    int averaging;
    double avg_k;
} fsgd_batch_shared;

/* The optimizer update of one coordinate: returns the new value of w, and in
 * *eff the coordinate's effective step (for the L1 prox).  `opt` is a
 * constant in every caller (opt_range), so each loop is specialised. */
static inline double opt_update(const fsgd_batch_shared *S, const int opt, double eta, double g,
                                double w, double *s1, double *s2, double *eff)
{
    const fsgd_batch_params *B = S->B;
    double e;
    switch (opt) {
    case FSGD_OPT_MOMENTUM:
        *s1 = B->momentum * *s1 - eta * g;
        *eff = eta;
        return w + *s1;
    case FSGD_OPT_NESTEROV:
        *s1 = B->momentum * *s1 - eta * g;
        *eff = eta;
        return w + B->momentum * *s1 - eta * g;
    case FSGD_OPT_ADAGRAD:
        *s1 += g * g;
        e = eta / (sqrt(*s1) + S->eps);
        *eff = e;
        return w - e * g;
    case FSGD_OPT_RMSPROP:
        *s1 = S->rho * *s1 + (1.0 - S->rho) * g * g;
        e = eta / (sqrt(*s1) + S->eps);
        *eff = e;
        return w - e * g;
    case FSGD_OPT_ADADELTA: {
        *s1 = S->rho * *s1 + (1.0 - S->rho) * g * g;
        double r = sqrt(*s2 + S->eps) / sqrt(*s1 + S->eps);
        double delta = r * g;
        *s2 = S->rho * *s2 + (1.0 - S->rho) * delta * delta;
        *eff = eta * r;
        return w - eta * delta;
    }
    case FSGD_OPT_ADAM:
    case FSGD_OPT_ADAMW:
        *s1 = B->beta_1 * *s1 + (1.0 - B->beta_1) * g;
        *s2 = B->beta_2 * *s2 + (1.0 - B->beta_2) * g * g;
        e = eta / (sqrt(*s2 / S->bc2) + S->eps);
        *eff = e;
        return w - e * (*s1 / S->bc1);
    default:
        *eff = eta;
        return w - eta * g;
    }
}

/* The step on n coordinates: W[j] from gradient g[j]; `penalised`: these are
 * weights (AdamW's decay, the L1 prox), not the intercept.  Averaging
 * follows.  The buffers are distinct and the slots are loaded into locals, so
 * the loop vectorises (sqrt and division included). */
static inline void opt_range_impl(const fsgd_batch_shared *S, const int opt, double eta,
                                  double *FSGD_RESTRICT W, const double *FSGD_RESTRICT g,
                                  double *FSGD_RESTRICT S1, double *FSGD_RESTRICT S2,
                                  double *FSGD_RESTRICT Wa, int64_t n, int penalised)
{
    const double l1 = penalised ? S->l1 : 0.0;
    const double decay = penalised && opt == FSGD_OPT_ADAMW ? eta * S->l2 : 0.0;
    /* slots the optimizer keeps: a constant in each specialisation */
    const int ns = fsgd_opt_slots(opt);
    for (int64_t j = 0; j < n; j++) {
        double w = W[j], eff;
        double s1 = ns >= 1 ? S1[j] : 0.0, s2 = ns >= 2 ? S2[j] : 0.0;
        double nw = opt_update(S, opt, eta, g[j], w, &s1, &s2, &eff);
        if (ns >= 1) S1[j] = s1;
        if (ns >= 2) S2[j] = s2;
        nw -= decay * w;
        if (l1 > 0.0) {
            double tau = l1 * eff;
            nw = nw > tau ? nw - tau : (nw < -tau ? nw + tau : 0.0);
        }
        W[j] = nw;
    }
    if (S->averaging)
        for (int64_t j = 0; j < n; j++) Wa[j] += (W[j] - Wa[j]) / S->avg_k;
}

static void opt_range(const fsgd_batch_shared *S, double eta, double *W, const double *g, double *S1,
                      double *S2, double *Wa, int64_t n, int penalised)
{
    switch (S->opt) {
#define FSGD_OPT_CASE(o) \
    case o: opt_range_impl(S, o, eta, W, g, S1, S2, Wa, n, penalised); break;
    FSGD_OPT_CASE(FSGD_OPT_MOMENTUM)
    FSGD_OPT_CASE(FSGD_OPT_NESTEROV)
    FSGD_OPT_CASE(FSGD_OPT_ADAGRAD)
    FSGD_OPT_CASE(FSGD_OPT_RMSPROP)
    FSGD_OPT_CASE(FSGD_OPT_ADADELTA)
    FSGD_OPT_CASE(FSGD_OPT_ADAM)
    FSGD_OPT_CASE(FSGD_OPT_ADAMW)
#undef FSGD_OPT_CASE
    default: opt_range_impl(S, FSGD_OPT_SGD, eta, W, g, S1, S2, Wa, n, penalised);
    }
}

/* The gradient of coordinates [j0, j1) of output k into g: the chunks summed
 * in chunk order, divided by the batch size, the L2 part added to weights
 * (not to the intercept, not with AdamW). */
static void reduce_grad(const fsgd_batch_shared *S, int k, int64_t j0, int64_t j1, double *g)
{
    const int64_t stride = (int64_t)S->K * S->ld, n = j1 - j0;
    const double *G = S->G + (int64_t)k * S->ld + j0;
    const double inv_m = 1.0 / (double)S->m;
    for (int64_t j = 0; j < n; j++) g[j] = G[j];
    for (int64_t c = 1; c < S->n_chunks; c++) {
        const double *Gc = G + c * stride;
        for (int64_t j = 0; j < n; j++) g[j] += Gc[j];
    }
    for (int64_t j = 0; j < n; j++) g[j] *= inv_m;
    if (S->opt != FSGD_OPT_ADAMW && S->l2 != 0.0) {
        const double *W = S->W + (int64_t)k * S->ld + j0;
        const int64_t nw = (j1 <= S->d ? j1 : S->d) - j0;
        for (int64_t j = 0; j < nw; j++) g[j] += S->l2 * W[j];
    }
}

/* One block of coordinates of every output.  phase 0: reduce and step; 1:
 * reduce into chunk 0's buffer and sum the squares (clip_norm); 2: step from
 * chunk 0's buffer scaled by clip_scale.  Records the penalty of the weights
 * the batch used. */
static void update_block(fsgd_batch_shared *S, int b, int phase)
{
    const int64_t j0 = (int64_t)b * FSGD_UPDATE_BLOCK;
    int64_t j1 = j0 + FSGD_UPDATE_BLOCK < S->ld ? j0 + FSGD_UPDATE_BLOCK : S->ld;
    const int64_t d = S->d, ld = S->ld;
    if (j1 == ld && !S->P->fit_intercept) j1 = d;  /* the intercept stays put */
    const int64_t n = j1 - j0, nw = (j1 <= d ? j1 : d) - j0;  /* coordinates, weights */
    double g[FSGD_UPDATE_BLOCK];
    double sq_total = 0.0;
    for (int k = 0; k < S->K; k++) {
        if (!S->ctx.active[k]) continue;
        double *W = S->W + (int64_t)k * ld + j0;
        double *G0 = S->G + (int64_t)k * ld + j0;
        if (phase == 2) {
            for (int64_t j = 0; j < n; j++) g[j] = G0[j] * S->clip_scale;
        } else {
            reduce_grad(S, k, j0, j1, g);
            if (phase == 1) {
                for (int64_t j = 0; j < n; j++) {
                    G0[j] = g[j];
                    sq_total += g[j] * g[j];
                }
                continue;
            }
        }
        double sq = 0.0, l1n = 0.0;
        for (int64_t j = 0; j < nw; j++) {
            sq += W[j] * W[j];
            l1n += fabs(W[j]);
        }
        S->block_pen[((int64_t)b * S->K + k) * 2] = sq;
        S->block_pen[((int64_t)b * S->K + k) * 2 + 1] = l1n;
        double *S1 = S->S1 ? S->S1 + (int64_t)k * ld + j0 : NULL;
        double *S2 = S->S2 ? S->S2 + (int64_t)k * ld + j0 : NULL;
        double *Wa = S->Wavg ? S->Wavg + (int64_t)k * ld + j0 : NULL;
        opt_range(S, S->eta[k], W, g, S1, S2, Wa, nw, 1);
        if (n > nw)  /* the intercept */
            opt_range(S, S->eta[k], W + nw, g + nw, S1 ? S1 + nw : NULL, S2 ? S2 + nw : NULL,
                      Wa ? Wa + nw : NULL, 1, 0);
    }
    if (phase == 1) S->block_sq[b] = sq_total;
}

/* Prefetch one row of X (any dtype or storage) into the caches. */
static inline void fsgd_prefetch_row(const fsgd_data *D, int64_t r)
{
#if defined(__GNUC__)
    const size_t es = D->is_float32 ? 4 : 8;
    const char *p;
    int64_t bytes;
    if (D->is_csr) {
        p = (const char *)D->X + (size_t)D->indptr[r] * es;
        bytes = (D->indptr[r + 1] - D->indptr[r]) * (int64_t)es;
    } else {
        p = (const char *)D->X + (size_t)r * (size_t)D->n_features * es;
        bytes = D->n_features * (int64_t)es;
    }
    for (int64_t o = 0; o < bytes; o += 64) __builtin_prefetch(p + o, 0, 3);
#else
    (void)D; (void)r;
#endif
}

/* Takes up to `want` training rows of the visiting order into rows[]. */
typedef struct {
    fsgd_order_state ord;
    int64_t pend_pos;
} fsgd_row_source;

static int64_t take_rows(fsgd_row_source *src, int64_t *rows, int64_t want)
{
    int64_t got = 0;
    while (got < want) {
        if (src->pend_pos == src->ord.len_cur) {
            src->ord.len_cur = fsgd_order_fill(&src->ord, src->ord.cur);
            src->pend_pos = 0;
            if (src->ord.len_cur == 0) break;
        }
        int64_t nb = src->ord.len_cur - src->pend_pos;
        if (nb > want - got) nb = want - got;
        memcpy(rows + got, src->ord.cur + src->pend_pos, sizeof(int64_t) * (size_t)nb);
        src->pend_pos += nb;
        got += nb;
    }
    return got;
}

/* Validation score of each output (OvR accuracy, R^2) or of the model
 * (multinomial accuracy) on the validation rows. */
static void validation_scores(const fsgd_batch_shared *S, fsgd_batch_predict_fn predict,
                              const int64_t *vrows, int64_t nv, double *P, fsgd_score_acc *acc,
                              double ybar, double *score)
{
    const fsgd_data *D = S->D;
    const int K = S->K;
    const int multinomial = S->B->multinomial;
    const int nk = multinomial ? 1 : K;
    const int kind = D->y ? FSGD_SCORE_R2 : FSGD_SCORE_ACCURACY;
    const double ysel[2] = {S->ctx.neg, 1.0};
    memset(acc, 0, sizeof(*acc) * (size_t)nk);
    for (int64_t i0 = 0; i0 < nv; i0 += FSGD_PREDICT_ROWS) {
        int64_t cnt = nv - i0 < FSGD_PREDICT_ROWS ? nv - i0 : FSGD_PREDICT_ROWS;
        predict(D, &S->ctx, vrows + i0, cnt, P);
        for (int64_t i = 0; i < cnt; i++) {
            int64_t r = vrows[i0 + i];
            double sw = D->sample_weight ? D->sample_weight[r] : 1.0;
            const double *p = P + i * K;
            if (multinomial) {
                int best = 0;
                for (int k = 1; k < K; k++)
                    if (p[k] > p[best]) best = k;
                fsgd_score_add(&acc[0], kind, sw, 1.0, best == D->y_code[r] ? 1.0 : -1.0, ybar);
                continue;
            }
            for (int k = 0; k < K; k++)
                fsgd_score_add(&acc[k], kind, sw, fsgd_target(D, r, S->ctx.positive[k], ysel), p[k], ybar);
        }
    }
    for (int k = 0; k < nk; k++) score[k] = fsgd_score_value(&acc[k], kind);
}

/* Step, bias corrections and averaging for the batch in S->rows. */
static void batch_setup(fsgd_batch_shared *S)
{
    const fsgd_params *P = S->P;
    const fsgd_batch_params *B = S->B;
    if (S->m == 0) return;
    double u = S->st->n_updates + 1.0;
    double e = S->st->epochs + (double)S->batch_index / S->batches_per_epoch;
    double base = fsgd_schedule_batch_eta(&S->sch, u, e, S->batches_per_epoch);
    for (int k = 0; k < S->K; k++) S->eta[k] = base * S->eta_scale[k];
    S->bc1 = 1.0 - pow(B->beta_1, u);
    S->bc2 = 1.0 - pow(B->beta_2, u);
    S->averaging = P->average > 0 && S->t_samples >= (double)P->average;
    S->avg_k = S->st->n_averaged + 1.0;
    S->n_chunks = (S->m + S->chunk_rows - 1) / S->chunk_rows;
    /* the first rows, which no chunk prefetches */
    for (int64_t i = 0; i < S->m && i < 8; i++) fsgd_prefetch_row(S->D, S->rows[i]);
}

/* After a batch's update: its losses and penalty into the epoch's sums, the
 * counters; then the next batch (rows taken earlier) becomes current. */
static void batch_finish(fsgd_batch_shared *S)
{
    const int K = S->K;
    for (int64_t c = 0; c < S->n_chunks; c++) {
        S->nonfinite_epoch |= S->chunk_nf[c];
        for (int k = 0; k < K; k++) S->ep_loss[k] += S->chunk_loss[c * K + k];
    }
    for (int k = 0; k < K; k++) {
        double sq = 0.0, l1n = 0.0;
        for (int b = 0; b < S->n_blocks; b++) {
            sq += S->block_pen[((int64_t)b * K + k) * 2];
            l1n += S->block_pen[((int64_t)b * K + k) * 2 + 1];
        }
        S->pen_now[k] = 0.5 * S->l2 * sq + S->l1 * l1n;
    }
    if (S->B->multinomial) {
        double tot = 0.0;
        for (int k = 0; k < K; k++) tot += S->pen_now[k];
        S->ep_pen[0] += (double)S->m * tot;
    } else {
        for (int k = 0; k < K; k++)
            if (S->ctx.active[k]) S->ep_pen[k] += (double)S->m * S->pen_now[k];
    }
    S->t_samples += (double)S->m;
    S->st->n_updates += 1.0;
    if (S->averaging) S->st->n_averaged += 1.0;
    S->batch_index++;
    S->cur = (S->cur + 1) % 3;
    S->rows = S->rowbuf[S->cur];
    S->m = S->mbuf[S->cur];
    batch_setup(S);
}

/* Rows of the batch after next, into the buffer the current (`cur`) and next
 * batches do not use.  `cur` is read by the caller before the barrier that
 * ends the batch's chunks: the thread that runs this may do so while another
 * has already finished the batch and moved S->cur on. */
static void take_ahead(fsgd_batch_shared *S, fsgd_row_source *src, int64_t m_max, int cur)
{
    int slot = (cur + 2) % 3;
    S->mbuf[slot] = take_rows(src, S->rowbuf[slot], m_max);
}

/* The state of a batch fit, kept between epochs (fsgd_drive's `self`). */
typedef struct {
    fsgd_batch_shared S;
    fsgd_row_source src;
    fsgd_batch_predict_fn predict_fn;
    int64_t m_max, nv;
    int64_t *vrows;            /* validation rows */
    double *vpred;             /* FSGD_PREDICT_ROWS x K predictions */
    fsgd_score_acc *vacc;      /* K score sums */
    double ybar;
    int n_threads;
    int fused_update;          /* few coordinates: one `single` updates and sets up the next batch */
} fsgd_batch_fit;

/* One batch's chunks, update and hand-over, on every thread of the region. */
static void batch_epoch_threads(fsgd_batch_fit *F)
{
    fsgd_batch_shared *S = &F->S;
    const fsgd_data *D = S->D;
    const fsgd_batch_params *B = S->B;
    const size_t kl = (size_t)S->K * (size_t)S->ld;
    /* The weights, the optimizer state and the batch state are updated by
     * thread 0 every batch, and the rows of the batch after next are taken
     * by the last thread meanwhile, always the same threads: with `single`
     * whichever thread came first did it, and the state moved between the
     * cores' caches, which costs much when they do not share a cache. */
#ifdef _OPENMP
    const int tid = omp_get_thread_num();
    const int taker = omp_get_num_threads() - 1;
#else
    const int tid = 0, taker = 0;
#endif
    while (S->m > 0) {
        /* every thread reads S->cur here, before the chunk loop's barrier;
         * batch_finish changes it only after that barrier */
        const int cur_now = S->cur;
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int64_t c = 0; c < S->n_chunks; c++) {
            int64_t r0 = c * S->chunk_rows;
            int64_t cnt = S->m - r0 < S->chunk_rows ? S->m - r0 : S->chunk_rows;
            S->chunk_fn(D, &S->ctx, S->rows + r0, cnt, S->m - r0 - cnt, S->G + (size_t)c * kl,
                        S->chunk_loss + c * S->K, S->scratch + (size_t)c * FSGD_CHUNK_SCRATCH(S->K),
                        &S->chunk_nf[c]);
        }
        /* the last thread takes the rows of the batch after next while
         * thread 0 updates the weights */
        if (tid == taker) take_ahead(S, &F->src, F->m_max, cur_now);
        if (F->fused_update) {
            if (tid == 0) {
                for (int b = 0; b < S->n_blocks; b++) update_block(S, b, 0);
                batch_finish(S);
            }
#ifdef _OPENMP
#pragma omp barrier
#endif
            continue;
        }
        if (B->clip_norm > 0.0) {
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
            for (int b = 0; b < S->n_blocks; b++) update_block(S, b, 1);
#ifdef _OPENMP
#pragma omp single
#endif
            {
                double sq = 0.0;
                for (int b = 0; b < S->n_blocks; b++) sq += S->block_sq[b];
                double norm = sqrt(sq);
                S->clip_scale = norm > B->clip_norm ? B->clip_norm / norm : 1.0;
            }
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
            for (int b = 0; b < S->n_blocks; b++) update_block(S, b, 2);
        } else {
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
            for (int b = 0; b < S->n_blocks; b++) update_block(S, b, 0);
        }
#ifdef _OPENMP
#pragma omp single
#endif
        batch_finish(S);
    }
}

/* One epoch (fsgd_engine_ops.run_epoch): the batches of the epoch on
 * n_threads threads, then the epoch's objective sums. */
static int batch_epoch(void *self, double *objective_sum)
{
    fsgd_batch_fit *F = (fsgd_batch_fit *)self;
    fsgd_batch_shared *S = &F->S;
    const int K = S->K;
    const int nk = S->B->multinomial ? 1 : K;
    const size_t kl = (size_t)K * (size_t)S->ld;
    fsgd_order_epoch(&F->src.ord);
    F->src.ord.len_cur = 0;
    F->src.pend_pos = 0;
    S->batch_index = 0;
    S->nonfinite_epoch = 0;
    for (int k = 0; k < K; k++) S->ep_loss[k] = S->ep_pen[k] = 0.0;
    S->cur = 0;
    S->mbuf[0] = take_rows(&F->src, S->rowbuf[0], F->m_max);
    S->mbuf[1] = take_rows(&F->src, S->rowbuf[1], F->m_max);
    S->rows = S->rowbuf[0];
    S->m = S->mbuf[0];
    batch_setup(S);
#ifdef _OPENMP
#pragma omp parallel num_threads(F->n_threads) if (F->n_threads > 1)
#endif
    batch_epoch_threads(F);
    S->st->epochs += 1.0;
    /* float32 data gives float32 coefficients: a weight beyond FLT_MAX would
     * come out infinite */
    const double wmax = S->D->is_float32 ? (double)FLT_MAX : DBL_MAX;
    int finite = !S->nonfinite_epoch;
    for (size_t i = 0; i < kl && finite; i++) finite = fabs(S->W[i]) <= wmax;
    for (int k = 0; k < nk; k++)
        if (S->ctx.active[k]) objective_sum[k] += S->ep_loss[k] + S->ep_pen[k];
    return !finite;
}

static void batch_score(void *self, double *score)
{
    fsgd_batch_fit *F = (fsgd_batch_fit *)self;
    validation_scores(&F->S, F->predict_fn, F->vrows, F->nv, F->vpred, F->vacc, F->ybar, score);
}

static void batch_describe(void *self, int k, fsgd_epoch_info *info)
{
    fsgd_batch_fit *F = (fsgd_batch_fit *)self;
    const fsgd_batch_shared *S = &F->S;
    const int multinomial = S->B->multinomial;
    double sq = 0.0;
    int64_t nnz = 0;
    int k0 = multinomial ? 0 : k, k1 = multinomial ? S->K : k + 1;
    for (int kk = k0; kk < k1; kk++)
        for (int64_t j = 0; j < S->d; j++) {
            double z = S->W[(int64_t)kk * S->ld + j];
            sq += z * z;
            nnz += z != 0.0;
        }
    info->norm = sqrt(sq);
    info->nnz = nnz;
    info->intercept = S->W[(int64_t)k * S->ld + S->d];
    info->t = S->t_samples - S->P->t_start;
}

/* Chunks per batch and rows per chunk: at least FSGD_MIN_CHUNK_ROWS rows, at
 * most FSGD_MAX_CHUNKS chunks, and their gradient buffers (zeroed and summed
 * whole, K x (d + 1) values, every batch) at most FSGD_MAX_CHUNK_BYTES and, for
 * wide sparse rows, no more than the batch's stored values justify. */
static int64_t batch_chunking(int64_t m_max, int K, int64_t ld, double row_vals, int64_t *chunk_rows_out)
{
    int64_t chunk_rows = (m_max + FSGD_MAX_CHUNKS - 1) / FSGD_MAX_CHUNKS;
    if (chunk_rows < FSGD_MIN_CHUNK_ROWS) chunk_rows = FSGD_MIN_CHUNK_ROWS;
    int64_t max_chunks = (m_max + chunk_rows - 1) / chunk_rows;
    double chunk_bytes = 8.0 * (double)K * (double)ld;
    int64_t cap = (int64_t)(FSGD_MAX_CHUNK_BYTES / chunk_bytes);
    int64_t cap_work = (int64_t)((double)m_max * row_vals / (double)ld);
    if (cap > cap_work) cap = cap_work;
    if (cap < 1) cap = 1;
    if (max_chunks > cap) {
        max_chunks = cap;
        chunk_rows = (m_max + max_chunks - 1) / max_chunks;
        max_chunks = (m_max + chunk_rows - 1) / chunk_rows;
    }
    *chunk_rows_out = chunk_rows;
    return max_chunks;
}

/* The weights between the problems (X's dtype) and the working rows
 * (double, intercept last): in at the start, out at the end. */
static void batch_weights_io(fsgd_batch_shared *S, fsgd_problem *probs, int out)
{
    const int f32 = S->D->is_float32;
    const int64_t d = S->d, ld = S->ld;
    for (int k = 0; k < S->K; k++) {
        for (int a = 0; a < 2; a++) {
            double *Wk = (a ? S->Wavg : S->W);
            void *c = a ? probs[k].avg_coef : probs[k].coef;
            double *icpt = a ? &probs[k].avg_intercept : &probs[k].intercept;
            if (!Wk) continue;
            Wk += (int64_t)k * ld;
            for (int64_t j = 0; j < d; j++) {
                if (out && f32) ((float *)c)[j] = (float)Wk[j];
                else if (out) ((double *)c)[j] = Wk[j];
                else Wk[j] = f32 ? (double)((const float *)c)[j] : ((const double *)c)[j];
            }
            if (out) *icpt = Wk[d];
            else Wk[d] = *icpt;
        }
    }
}

/* Allocates the shared buffers of S; nonzero when out of memory. */
static int batch_alloc(fsgd_batch_shared *S, int64_t max_chunks, int64_t m_max, fsgd_batch_state *st)
{
    const size_t kl = (size_t)S->K * (size_t)S->ld;
    S->W = (double *)malloc(sizeof(double) * kl);
    S->G = (double *)malloc(sizeof(double) * kl * (size_t)max_chunks);
    S->chunk_loss = (double *)malloc(sizeof(double) * (size_t)S->K * (size_t)max_chunks);
    S->scratch = (double *)malloc(sizeof(double) * FSGD_CHUNK_SCRATCH(S->K) * (size_t)max_chunks);
    S->chunk_nf = (int *)calloc((size_t)max_chunks, sizeof(int));
    S->block_pen = (double *)calloc((size_t)S->n_blocks * (size_t)S->K * 2, sizeof(double));
    S->block_sq = (double *)calloc((size_t)S->n_blocks, sizeof(double));
    for (int i = 0; i < 3; i++) S->rowbuf[i] = (int64_t *)malloc(sizeof(int64_t) * (size_t)m_max);
    if (S->P->average > 0) S->Wavg = (double *)malloc(sizeof(double) * kl);
    int n_slots = fsgd_opt_slots(S->opt);
    if (n_slots >= 1) S->S1 = st->slots;
    if (n_slots >= 2) S->S2 = st->slots + kl;
    return !S->W || !S->G || !S->chunk_loss || !S->scratch || !S->chunk_nf || !S->block_pen || !S->block_sq ||
           !S->rowbuf[0] || !S->rowbuf[1] || !S->rowbuf[2] || (S->P->average > 0 && !S->Wavg) || !S->chunk_fn;
}

static void batch_free(fsgd_batch_fit *F)
{
    fsgd_batch_shared *S = &F->S;
    fsgd_order_free(&F->src.ord);
    free(S->W);
    free(S->Wavg);
    free(S->G);
    free(S->chunk_loss);
    free(S->scratch);
    free(S->chunk_nf);
    free(S->block_pen);
    free(S->block_sq);
    for (int i = 0; i < 3; i++) free(S->rowbuf[i]);
    free(F->vrows);
    free(F->vpred);
    free(F->vacc);
}

static int fit_batch(const fsgd_data *D, const fsgd_params *P, const fsgd_batch_params *B,
                     fsgd_problem *probs, int K, fsgd_batch_state *st, int n_threads,
                     fsgd_progress_fn progress, void *progress_ctx)
{
    const int64_t n = D->n_samples, d = D->n_features, ld = d + 1;
    const int multinomial = B->multinomial;
    const int is_float32 = D->is_float32, sparse = D->is_csr;
    const int loss = multinomial ? FSGD_LOSS_SOFTMAX : P->loss;
    fsgd_batch_fit F;
    fsgd_batch_shared *S = &F.S;
    int status = FSGD_OK;
    memset(&F, 0, sizeof(F));

    /* per-output bookkeeping, one allocation each */
    uint8_t *active = (uint8_t *)calloc((size_t)K, 1);
    int32_t *positive = (int32_t *)calloc((size_t)K, sizeof(int32_t));
    double *dbl = (double *)calloc((size_t)K * 8, sizeof(double));
    if (!active || !positive || !dbl) {
        status = FSGD_NO_MEMORY;
        goto done;
    }
    double *eta = dbl, *eta_scale = dbl + K, *ep_loss = dbl + 2 * K, *ep_pen = dbl + 3 * K;
    double *wpos = dbl + 4 * K, *wneg = dbl + 5 * K, *pen_now = dbl + 6 * K;
    for (int k = 0; k < K; k++) {
        active[k] = 1;
        positive[k] = probs[k].positive_class;
        wpos[k] = probs[k].weight_pos;
        wneg[k] = probs[k].weight_neg;
        eta_scale[k] = 1.0;
    }

    /* training rows, validation rows */
    const int64_t n_train = fsgd_training_rows(D, &F.ybar);
    F.nv = n - n_train;
    if (F.nv > 0) {
        F.vrows = (int64_t *)malloc(sizeof(int64_t) * (size_t)F.nv);
        F.vpred = (double *)malloc(sizeof(double) * (size_t)FSGD_PREDICT_ROWS * (size_t)K);
        F.vacc = (fsgd_score_acc *)malloc(sizeof(fsgd_score_acc) * (size_t)K);
        if (!F.vrows || !F.vpred || !F.vacc) {
            status = FSGD_NO_MEMORY;
            goto done;
        }
        for (int64_t r = 0, i = 0; r < n; r++)
            if (D->validation_mask[r]) F.vrows[i++] = r;
    }
    F.m_max = B->batch_size < n_train ? B->batch_size : n_train;
    const int full_batch = F.m_max >= n_train;
    const double row_vals = sparse ? (double)(D->indptr[n] - D->indptr[0]) / (double)n : (double)d;
    int64_t chunk_rows;
    const int64_t max_chunks = batch_chunking(F.m_max, K, ld, row_vals, &chunk_rows);

    S->D = D;
    S->P = P;
    S->B = B;
    S->K = K;
    S->d = d;
    S->ld = ld;
    S->opt = B->optimizer;
    if (P->penalty != FSGD_PEN_NONE) {
        S->l1 = P->alpha * fsgd_l1_ratio(P);
        S->l2 = P->alpha * (1.0 - fsgd_l1_ratio(P));
    }
    S->rho = B->rho;
    S->eps = B->epsilon;
    S->chunk_rows = chunk_rows;
    S->n_blocks = (int)((ld + FSGD_UPDATE_BLOCK - 1) / FSGD_UPDATE_BLOCK);
    S->eta = eta;
    S->chunk_fn = batch_chunk_fn(is_float32, sparse, loss);
    F.predict_fn = is_float32 ? bpredict32 : bpredict64;
    if (batch_alloc(S, max_chunks, F.m_max, st)) {
        status = FSGD_NO_MEMORY;
        goto done;
    }
    batch_weights_io(S, probs, 0);
    S->ctx.W = S->W;
    S->ctx.K = K;
    S->ctx.d = d;
    S->ctx.loss = loss;
    S->ctx.loss_param = P->loss_param;
    S->ctx.neg = P->label_01 ? 0.0 : -1.0;
    S->ctx.positive = positive;
    S->ctx.active = active;
    S->ctx.weight_pos = wpos;
    S->ctx.weight_neg = wneg;
    S->ctx.weighted = D->sample_weight != NULL;
    for (int k = 0; k < K; k++) S->ctx.weighted |= wpos[k] != 1.0 || wneg[k] != 1.0;

    {
        double row_bytes = sparse ? row_vals * (double)((is_float32 ? 4 : 8) + 4) : (double)d * (is_float32 ? 4 : 8);
        if (fsgd_order_init(&F.src.ord, full_batch ? FSGD_ORDER_SEQUENTIAL : P->order, n, row_bytes, probs[0].seed,
                            D->validation_mask) != 0) {
            status = FSGD_NO_MEMORY;
            goto done;
        }
        /* runs of consecutive rows, keeping at least FSGD_MIN_BATCH_PLACES
         * random places per batch (order.h) */
        int64_t run = F.m_max / FSGD_MIN_BATCH_PLACES;
        F.src.ord.run_rows = run < 1 ? 1 : (run > FSGD_MAX_RUN_ROWS ? FSGD_MAX_RUN_ROWS : run);
        /* rows in storage order or in runs: into L1 a few rows ahead;
         * single random rows: into L2, further ahead */
        S->ctx.prefetch_l1 = full_batch || P->order == FSGD_ORDER_SEQUENTIAL || F.src.ord.run_rows > 1;
    }
    fsgd_schedule_init(&S->sch, P, B, multinomial ? FSGD_LOSS_LOG : P->loss);

    F.n_threads = n_threads < 1 ? 1 : n_threads;
    {
        /* batches too small to share run on one thread; the environment
         * variable FASTSGD_PARALLEL_MIN_WORK overrides the threshold (the
         * benchmarks measure the crossover with it) */
        double min_work = FSGD_PARALLEL_MIN_WORK;
        const char *env = getenv("FASTSGD_PARALLEL_MIN_WORK");
        if (env && *env) min_work = atof(env);
        if ((double)F.m_max * row_vals * (double)K < min_work) F.n_threads = 1;
    }
    S->eta_scale = eta_scale;
    S->ep_loss = ep_loss;
    S->ep_pen = ep_pen;
    S->pen_now = pen_now;
    S->st = st;
    S->batches_per_epoch = ceil((double)n_train / (double)F.m_max);
    S->t_samples = P->t_start;
    F.fused_update = S->n_blocks <= 2 && !(B->clip_norm > 0.0);

    {
        fsgd_engine_ops ops = {batch_epoch, batch_score, batch_describe};
        fsgd_drive_state ds;
        ds.n_outputs = K;
        ds.one_rule = multinomial;
        ds.report_index = 0;
        ds.n_train = (double)n_train;
        ds.active = active;
        ds.step_scale = eta_scale;
        ds.eta_last = eta;
        status = fsgd_drive(P, &ds, &ops, &F, probs, progress, progress_ctx);
    }
    batch_weights_io(S, probs, 1);

done:
    for (int k = 0; k < K; k++) probs[k].status = status;
    batch_free(&F);
    free(active);
    free(positive);
    free(dbl);
    return status;
}

#endif
