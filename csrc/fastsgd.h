/*
 * fastsgd C engine: public types and entry points.
 *
 * Design in a few lines:
 *  - Python validates everything and maps option strings to the integer codes
 *    below; nothing here raises for bad user input, it only reports a status.
 *  - One call runs a whole fit (all epochs) of one or several binary problems
 *    without touching Python.  The optional `progress` callback is the only way
 *    back (verbose printing); it is never called when it is NULL.
 *  - The loss, the storage (dense or CSR) and the dtype are fixed once per fit:
 *    the epoch loop is compiled once for every combination, so there is no
 *    per-sample indirect call.
 *  - Sizes and offsets are 64-bit.  Column indices of CSR input are int32
 *    (as scipy and scikit-learn use for n_features < 2**31).
 */
#ifndef FASTSGD_H
#define FASTSGD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum fsgd_loss {
    FSGD_LOSS_HINGE = 0,              /* param: threshold (1 hinge, 0 perceptron) */
    FSGD_LOSS_SQUARED_HINGE = 1,      /* param: threshold */
    FSGD_LOSS_LOG = 2,                /* half binomial deviance, y in {0, 1} */
    FSGD_LOSS_MODIFIED_HUBER = 3,     /* y in {-1, 1} */
    FSGD_LOSS_SQUARED = 4,            /* half squared error */
    FSGD_LOSS_HUBER = 5,              /* param: delta (epsilon) */
    FSGD_LOSS_EPS_INSENSITIVE = 6,    /* param: epsilon */
    FSGD_LOSS_SQ_EPS_INSENSITIVE = 7, /* param: epsilon */
    FSGD_N_LOSSES = 8,
    FSGD_LOSS_SOFTMAX = 8             /* multinomial cross-entropy (batch engine only) */
};

enum fsgd_penalty { FSGD_PEN_NONE = 0, FSGD_PEN_L1 = 1, FSGD_PEN_L2 = 2, FSGD_PEN_ELASTICNET = 3 };

enum fsgd_lr {
    FSGD_LR_CONSTANT = 1,
    FSGD_LR_OPTIMAL = 2,
    FSGD_LR_INVSCALING = 3,
    FSGD_LR_ADAPTIVE = 4,
    FSGD_LR_PA1 = 5,
    FSGD_LR_PA2 = 6,
    /* batch engine only */
    FSGD_LR_STEP = 7,
    FSGD_LR_EXPONENTIAL = 8,
    FSGD_LR_COSINE = 9
};

enum fsgd_optimizer {
    FSGD_OPT_SGD = 0,
    FSGD_OPT_MOMENTUM = 1,
    FSGD_OPT_NESTEROV = 2,
    FSGD_OPT_ADAGRAD = 3,
    FSGD_OPT_RMSPROP = 4,
    FSGD_OPT_ADADELTA = 5,
    FSGD_OPT_ADAM = 6,
    FSGD_OPT_ADAMW = 7
};

/* Order in which an epoch visits the rows. */
enum fsgd_order {
    FSGD_ORDER_SEQUENTIAL = 0,  /* storage order (shuffle=False) */
    FSGD_ORDER_BLOCK = 1,       /* random blocks held in cache, random order inside */
    FSGD_ORDER_PERMUTATION = 2  /* scikit-learn's Fisher-Yates permutation, same generator */
};

enum fsgd_score { FSGD_SCORE_ACCURACY = 0, FSGD_SCORE_R2 = 1 };

enum fsgd_status {
    FSGD_OK = 0,
    FSGD_DIVERGED = 1,          /* a prediction or a weight became infinite or NaN */
    FSGD_NO_MEMORY = 2,
    FSGD_INTERRUPTED = 3,       /* the progress callback or the interrupt poll asked to stop */
    FSGD_INVALID_ARGUMENT = 4,  /* fsgd_check_args rejected the call */
    FSGD_SOURCE_ERROR = 5       /* the data source could not hand over a window */
};

/* The passes a data source serves: the training rows of an epoch, or the
 * validation rows to score. */
enum fsgd_pass { FSGD_PASS_TRAIN = 0, FSGD_PASS_VALIDATION = 1 };

typedef struct fsgd_data fsgd_data;

/* Interruption of a running fit (Ctrl-C).  The thread that called the fit
 * (OpenMP's initial thread) calls poll(ctx) at most once every `interval`
 * seconds, at checks inside the epochs: every buffer of a few hundred rows of
 * the per-sample engine, every chunk of a batch, and while it waits for
 * other threads to finish their problems.  When poll returns nonzero, every
 * thread leaves its loop at its next check and the fit returns
 * FSGD_INTERRUPTED with its weights partly updated: the caller discards them.
 * next_poll, countdown and stop are the engine's (start them at 0). */
typedef struct {
    int (*poll)(void *ctx);    /* NULL: never poll (the fit still honours stop) */
    void *ctx;
    double interval;
    double next_poll;          /* monotonic seconds of the next poll */
    int countdown;             /* checks until the caller next reads the clock */
    int stop;                  /* set once poll asked to stop; read by every thread */
} fsgd_interrupt;

/* A data source that hands the rows over a window at a time: files read in
 * chunks, data scaled on the way (docs/design.md, "Adding a data source").
 * next(ctx, problem, pass, window) fills *window with the pass's next window
 * of rows (an ordinary in-memory fsgd_data, its own validation mask marking
 * held-out rows) and returns 1; returns 0 when the pass is over (the next
 * call starts the next pass) and -1 when it cannot go on (the fit stops with
 * FSGD_SOURCE_ERROR).  A window stays valid until the next call for the same
 * problem.  The per-sample engine calls it from the thread fitting `problem`,
 * so calls for different problems may come at the same time. */
typedef struct {
    int (*next)(void *ctx, int problem, int pass, fsgd_data *window);
    void *ctx;
    int64_t n_train;          /* training rows of an epoch: the objective divides by it */
    double validation_ybar;   /* weighted mean target of the validation rows (R^2) */
    double row_values;        /* mean stored values per row (dense: n_features) */
    int weighted;             /* windows carry sample weights */
} fsgd_source;

/* Training data, shared read-only by every binary problem of a fit: the rows
 * in memory, or (source not NULL) the description of a data source's rows:
 * n_samples (training and validation rows), n_features, the dtype and
 * storage of its windows; X, y and the other arrays are then unused. */
struct fsgd_data {
    int64_t n_samples;
    int64_t n_features;
    int is_float32;            /* X values are float (else double) */
    int is_csr;
    const void *X;             /* dense: row-major n_samples x n_features; CSR: data */
    const int64_t *indptr;     /* CSR only, n_samples + 1 entries */
    const int32_t *indices;    /* CSR only */
    const double *y;           /* regression targets, or NULL when y_code is used */
    const int32_t *y_code;     /* class codes 0..K-1 (classification), or NULL */
    const double *sample_weight;       /* NULL means all ones */
    const uint8_t *validation_mask;    /* NULL means no validation rows */
    const fsgd_source *source;         /* NULL: the rows are the arrays above */
};

/* Settings shared by every binary problem of a fit. */
typedef struct {
    int loss;
    double loss_param;
    int label_01;              /* classification targets are {0,1} (log loss) else {-1,1} */
    int penalty;
    double alpha;
    double l1_ratio;
    int learning_rate;
    double eta0;
    double power_t;
    int fit_intercept;
    double intercept_decay;
    int64_t average;           /* 0: no averaging; else averaging starts at t == average */
    int max_iter;
    double tol;                /* -INFINITY for tol=None */
    int n_iter_no_change;
    int early_stopping;
    int score_kind;            /* enum fsgd_score */
    int order;                 /* enum fsgd_order */
    double t_start;            /* t at the first sample (1 on a fresh fit) */
    int n_shards; /* per-sample engine: > 1 for shard-parallel SGD (sample_engine.inc) */
    /* per-sample engine: the one-class SVM's objective (scikit-learn's
     * SGDOneClassSVM): the intercept also moves by -eta alpha every row, and
     * the objective gains alpha times the intercept */
    int one_class;
    fsgd_interrupt *interrupt; /* NULL: the fit is interrupted only between epochs */
} fsgd_params;

/* One binary problem: its parameters (in and out) and its results. */
typedef struct {
    void *coef; /* n_features values of X's dtype, updated in place */
    void *avg_coef; /* same, or NULL when not averaging */
    double intercept;
    double avg_intercept;
    int32_t positive_class; /* code of the positive class (classification) */
    double weight_pos; /* class weights */
    double weight_neg;
    uint32_t seed; /* shuffling seed */
    /* results */
    int n_iter;
    int status;
    int failed_epoch; /* 1-based epoch at which divergence was seen */
    /* mean objective of each epoch: loss_curve_cap entries, NULL and 0 at
     * the start (or the caller's malloc'd array), grown by the driver with
     * realloc as epochs run (up to max_iter entries; new entries NaN); the
     * caller frees it */
    double *loss_curve;
    int loss_curve_cap;
} fsgd_problem;

/* Per-epoch report for verbose output.  Return nonzero to stop the fit. */
typedef struct {
    int problem; /* index of the binary problem */
    int epoch; /* 1-based */
    double objective; /* mean regularised loss accumulated during the epoch */
    double score; /* validation score (early stopping), else NaN */
    double norm; /* L2 norm of the weights */
    int64_t nnz; /* non-zero weights */
    double intercept;
    double t;
    double seconds; /* since the start of this problem's fit */
} fsgd_epoch_info;

typedef int (*fsgd_progress_fn)(void *ctx, const fsgd_epoch_info *info);

/* Fit n_problems binary problems (one-vs-rest), in parallel over n_threads
 * OpenMP threads; the result does not depend on n_threads.  Returns FSGD_OK or
 * the first non-OK status among the problems (each problem holds its own). */
int fsgd_fit(const fsgd_data *data, const fsgd_params *params, fsgd_problem *problems,
             int n_problems, int n_threads, fsgd_progress_fn progress, void *progress_ctx);

/* ---- The batch engine (mini-batch and full-batch gradient descent) ----
 * Semantics: docs/batch.md.  All K outputs (one-vs-rest problems or the
 * rows of a multinomial model) are fitted together from one visiting order. */
typedef struct {
    int64_t batch_size; /* rows per batch (>= n_samples: full batch) */
    int optimizer; /* enum fsgd_optimizer */
    double momentum, beta_1, beta_2, rho, epsilon;
    double clip_norm; /* 0: no clipping */
    int multinomial; /* loss is FSGD_LOSS_SOFTMAX over the K outputs */
    double lr_decay, lr_decay_epochs; /* step, exponential */
    double restart_epochs, restart_mult, eta_min; /* cosine */
    double warmup_epochs;
    /* the default ("optimal") step of sgd, momentum and nesterov comes from
     * the rows' second moment M = mean of sample_weight * x x' (x with a 1
     * appended with fit_intercept), over all rows or a sample of them:
     * row_sq_norm is its trace, row_top_eig its largest eigenvalue
     * (docs/batch.md) */
    double row_sq_norm, row_top_eig;
} fsgd_batch_params;

/* Optimizer state, carried across partial_fit calls (in and out). */
typedef struct {
    double *slots; /* n_slots x K x (n_features + 1) doubles (intercept last) */
    double n_updates; /* updates done so far */
    double epochs; /* epochs done so far */
    double n_averaged; /* averaged updates so far */
} fsgd_batch_state;

/* NULL when the arguments of a fit are valid, else a message that names the
 * first invalid one ("loss: unknown loss code").  bp is NULL for the
 * per-sample engine.  fsgd_fit and fsgd_fit_batch check their arguments with
 * it and return FSGD_INVALID_ARGUMENT without fitting. */
const char *fsgd_check_args(const fsgd_data *data, const fsgd_params *params,
                            const fsgd_batch_params *bp, int n_problems);

/* Number of state slots the optimizer keeps per coordinate. */
int fsgd_optimizer_slots(int optimizer);

/* Fit the K = n_problems outputs.  problems[k].coef / avg_coef / intercept /
 * avg_intercept are read and written; problems[k].weight_pos is the class
 * weight of class k for a multinomial fit.  The per-output results (n_iter,
 * status, loss_curve) are filled as fsgd_fit does (a multinomial fit fills
 * problem 0's).  Bit-identical for any n_threads. */
int fsgd_fit_batch(const fsgd_data *data, const fsgd_params *params, const fsgd_batch_params *bp,
                   fsgd_problem *problems, int n_problems, fsgd_batch_state *state, int n_threads,
                   fsgd_progress_fn progress, void *progress_ctx);

/* SGDR's cycles (learning_rate "cosine"): the first lasts T0 epochs, each
 * next one mult (>= 1) times longer.  *T = the epoch time e into the cycle e
 * falls in, *Ti = that cycle's length. */
void fsgd_cosine_cycle(double T0, double mult, double e, double *T, double *Ti);

/* Loss value and derivative with respect to the prediction p, for tests. */
double fsgd_loss_value(int loss, double param, double y, double p);
double fsgd_loss_dloss(int loss, double param, double y, double p);
/* What the per-sample loop computes for one row: dloss/dp, and the loss value
 * through its accumulator; and the exponential both engines use.  For tests. */
double fsgd_loss_step(int loss, double param, double y, double p, double *value);
double fsgd_exp_tab(double x);

/* Which build of the epoch loops this CPU runs ("x86-64-v4", "x86-64-v3",
 * "baseline"). */
const char *fsgd_kernels_name(void);

/* Whether this build has OpenMP, and the number of threads it would use. */
int fsgd_openmp_enabled(void);
int fsgd_max_threads(void);

#ifdef __cplusplus
}
#endif
#endif
