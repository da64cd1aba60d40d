/* What the per-instruction-set builds of kernels.c share with api.c, and the
 * dtype-free scalar helpers of the kernels. */
#ifndef FASTSGD_KERNELS_H
#define FASTSGD_KERNELS_H

#include "fastsgd.h"
#include "fit_control.h"
#include "losses.h"

#define FSGD_ISA_CAT_(a, b) a##_##b
#define FSGD_ISA_CAT(a, b) FSGD_ISA_CAT_(a, b)
#define FSGD_ISA_NAME(name) FSGD_ISA_CAT(name, FSGD_ISA)

/* Row r's target: y[r], or for a label, ysel[label == pos] with
 * ysel = {neg, 1}; a table lookup, not a branch on the label, which a random
 * row order makes unpredictable.  Both engines. */
FSGD_INLINE double fsgd_target(const fsgd_data *D, int64_t r, int32_t pos, const double *ysel)
{
    if (D->y) return D->y[r];
    return ysel[D->y_code[r] == pos];
}

/* The same, and the row's class weight: wsel = {weight_neg, weight_pos}. */
FSGD_INLINE double fsgd_target_weight(const fsgd_data *D, int64_t r, int32_t pos,
                                      const double *ysel, const double *wsel, double *weight)
{
    const double y = fsgd_target(D, r, pos, ysel);
    *weight = wsel[y > 0.0];
    return y;
}

/* One weight's cumulative L1 step (Tsuruoka et al.): towards zero by what is
 * still owed, never across it; 1 / wscale is computed once per row by the
 * caller instead of a division per weight (scikit-learn divides: the results
 * differ in the last bit).  Sparse rows and the dense tail use it as is; the
 * dense loop below does the same with masks four weights at a time. */
FSGD_INLINE double fsgd_l1_step(double z, double ws, double inv_ws, double u, double qi)
{
    const double down = z - (u + qi) * inv_ws, up = z + (u - qi) * inv_ws;
    const double s = ws * z;
    return s > 0.0 ? (down < 0.0 ? 0.0 : down) : (s < 0.0 ? (up > 0.0 ? 0.0 : up) : z);
}

/* the per-sample gradient step's coefficient of x: -eta times the clipped
 * dloss, times the sample's class and sample weights */
FSGD_INLINE double sgd_update(const int L, double dloss, double eta, double weight)
{
    return -eta * fsgd_clip_dloss(L, dloss) * weight;
}

/* State slots an optimizer keeps per coordinate (fsgd_optimizer_slots); inline
 * so that the batch engine's step, specialised per optimizer, folds it. */
static inline int fsgd_opt_slots(int optimizer)
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

/* ---- per-sample engine: one whole binary problem, on n_threads threads
 * when it is shard-parallel (params->n_shards > 1), else on the caller's ---- */
typedef int (*fsgd_fit_problem_fn)(const fsgd_data *, const fsgd_params *, fsgd_problem *, int, int,
                                   fsgd_progress_fn, void *);

/* ---- batch engine: row kernels (batch_rows.inc) called by batch_engine.inc ---- */
typedef struct {
    const double *W;           /* K x (d + 1) working weights, intercept last */
    int K;
    int64_t d;
    int loss;                  /* 0 .. FSGD_N_LOSSES - 1, or FSGD_LOSS_SOFTMAX */
    double loss_param;
    double neg;                /* target of the negative class: 0 (log loss) or -1 */
    const int32_t *positive;   /* OvR: class code of each output's positive class */
    const uint8_t *active;     /* OvR: outputs still being fitted */
    const double *weight_pos;  /* per output (softmax: class weight of class k) */
    const double *weight_neg;
    int prefetch_l1;           /* rows come in storage order */
    int weighted;              /* sample or class weights other than 1 */
} fsgd_batch_ctx;

/* doubles of scratch a chunk of the batch engine needs (batch_rows.inc):
 * predictions, targets, weights and derivatives of a group of rows per output */
#define FSGD_CHUNK_SCRATCH(K) ((size_t)(K) * (4 * FSGD_GROUP_MAX + 1))

typedef void (*fsgd_batch_chunk_fn)(const fsgd_data *, const fsgd_batch_ctx *, const int64_t *rows,
                                    int64_t n_rows, int64_t n_ahead, double *G, double *loss,
                                    double *scratch, int *nonfinite);
typedef void (*fsgd_batch_predict_fn)(const fsgd_data *, const fsgd_batch_ctx *,
                                      const int64_t *rows, int64_t n_rows, double *P);

typedef int (*fsgd_fit_batch_fn)(const fsgd_data *, const fsgd_params *, const fsgd_batch_params *,
                                 fsgd_problem *, int, fsgd_batch_state *, int, fsgd_progress_fn,
                                 void *);

typedef struct {
    fsgd_fit_problem_fn fit_problem;   /* per-sample engine, one binary problem */
    fsgd_fit_batch_fn fit_batch;       /* batch engine, a whole fit (batch_engine.inc) */
} fsgd_kernel_set;

extern const fsgd_kernel_set fsgd_kernels_base;
extern const fsgd_kernel_set fsgd_kernels_v3;
extern const fsgd_kernel_set fsgd_kernels_v4;

/* The build this CPU runs (api.c). */
const fsgd_kernel_set *fsgd_pick_kernels(void);

#endif
