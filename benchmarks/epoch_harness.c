/*
 * One fit in C, without Python: the per-sample (or, with BATCH set, the
 * mini-batch) engine on generated data, n x d with n d = 80,000,000 values
 * (800,000 x 100 by default), labels from a random linear model.  Prints the
 * first repeat's final objective and the best epoch time over 3 repeats of
 * ITERS (6) epochs in ns per row, beside a plain C sum over X as its own
 * floor.  This is how the engine's loops were measured while changing them:
 * build two variants (-D flags, or a copy of csrc/ with C=...) and run them
 * interleaved.  Not part of the package.  Build (every kernel build the
 * wheel has, so that the harness runs the one the package picks on this CPU;
 * FASTSGD_KERNELS=x86-64-v3 or baseline caps it, as in the package):
 *
 *   C=csrc; B=/tmp/fsgd_h; mkdir -p $B
 *   gcc -O3 -fno-math-errno -fopenmp -march=x86-64-v4 -DFSGD_ISA=v4 -DFSGD_VL=8 -I$C -c $C/kernels.c -o $B/k4.o
 *   gcc -O3 -fno-math-errno -fopenmp -march=x86-64-v3 -DFSGD_ISA=v3 -DFSGD_VL=4 -I$C -c $C/kernels.c -o $B/k3.o
 *   gcc -O3 -fno-math-errno -fopenmp -DFSGD_ISA=base -DFSGD_VL=4 -I$C -c $C/kernels.c -o $B/kb.o
 *   gcc -O3 -fno-math-errno -fopenmp -DFSGD_HAVE_V3 -DFSGD_HAVE_V4 -I$C -c $C/api.c -o $B/api.o
 *   gcc -O3 -fno-math-errno -fopenmp -I$C -c $C/fit_control.c -o $B/fit_control.o
 *   gcc -O2 -fopenmp -I$C benchmarks/epoch_harness.c $B/k4.o $B/k3.o $B/kb.o $B/api.o $B/fit_control.o -lm -o $B/harness

 *
 * Run: harness [float32 (1) or float64 (0)] [d] [order: 0 storage, 1 block,
 * 2 permutation] [loss code, 2 = log]; e.g. `$B/harness 1 100 1 2`.
 * Environment: NTOT (values, default 80,000,000), ITERS, BATCH (batch size:
 * the batch engine), OPT (optimizer code, default Adam), NT (threads).
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include "fastsgd.h"
#include "fit_control.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double epoch_end[64];
static int n_epochs;

static int progress(void *ctx, const fsgd_epoch_info *info)
{
    (void)ctx;
    if (n_epochs < 64) epoch_end[n_epochs++] = info->seconds;
    return 0;
}

static unsigned long long rng = 42;

static double uniform(void) /* [0, 1) */
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng >> 11) * (1.0 / 9007199254740992.0);
}

static long env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    return v ? atol(v) : dflt;
}

int main(int argc, char **argv)
{
    const int f32 = argc > 1 ? atoi(argv[1]) : 1;
    const long d = argc > 2 ? atol(argv[2]) : 100;
    const int order = argc > 3 ? atoi(argv[3]) : 1;
    const int loss = argc > 4 ? atoi(argv[4]) : 2;
    const long n = env_long("NTOT", 80000000) / d;
    const int iters = (int)env_long("ITERS", 6);
    const size_t es = f32 ? 4 : 8, huge = (size_t)2 << 20;
    const size_t bytes = (size_t)n * (size_t)d * es;
    void *X = aligned_alloc(huge, (bytes / huge + 1) * huge);
    double *wt = malloc(sizeof(double) * (size_t)d);
    int32_t *yc = malloc(sizeof(int32_t) * (size_t)n);
    if (!X || !wt || !yc || n < 2 || iters < 2 || iters > 64) return 1;
    madvise(X, bytes, MADV_HUGEPAGE);
    for (long j = 0; j < d; j++) wt[j] = uniform() - 0.5;
    for (long i = 0; i < n; i++) {
        double z = 0.0;
        for (long j = 0; j < d; j++) {
            double u = 2.0 * uniform() - 1.0;
            if (f32) ((float *)X)[i * d + j] = (float)u;
            else ((double *)X)[i * d + j] = u;
            z += u * wt[j];
        }
        /* as fastsgd._demo: a unit-variance score, shift 0.2, noise of std 0.5
         * (uniform here), so the predictions stay moderate (with nearly
         * separable labels a fifth of the rows had p < -37 and took the log
         * loss's rare branch) */
        yc[i] = z * sqrt(36.0 / (double)d) + 0.2 + 1.7320508 * (uniform() - 0.5) > 0.0;
    }

    /* floor: one pass summing X, best of 5 */
    double floor_s = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t = now(), acc = 0.0;
        if (f32) {
            const float *x = X;
            float a[8] = {0};
            for (long i = 0; i + 8 <= n * d; i += 8)
                for (int l = 0; l < 8; l++) a[l] += x[i + l];
            for (int l = 0; l < 8; l++) acc += a[l];
        } else {
            const double *x = X;
            double a[4] = {0};
            for (long i = 0; i + 4 <= n * d; i += 4)
                for (int l = 0; l < 4; l++) a[l] += x[i + l];
            for (int l = 0; l < 4; l++) acc += a[l];
        }
        t = now() - t;
        if (t < floor_s) floor_s = t;
        if (acc == 12345.0) puts("");
    }

    fsgd_data D = {0};
    D.n_samples = n;
    D.n_features = d;
    D.is_float32 = f32;
    D.X = X;
    D.y_code = yc;
    fsgd_params P = {0};
    P.loss = loss;
    P.loss_param = 1.0;
    P.label_01 = loss == FSGD_LOSS_LOG;
    P.penalty = FSGD_PEN_L2;
    P.alpha = 1e-4;
    P.l1_ratio = 0.15;
    P.learning_rate = FSGD_LR_OPTIMAL;
    P.power_t = 0.5;
    P.fit_intercept = 1;
    P.intercept_decay = 1.0;
    P.max_iter = iters;
    P.tol = -INFINITY;
    P.n_iter_no_change = 5;
    P.order = order;
    P.t_start = 1;
    P.n_shards = 1;

    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        void *coef = calloc((size_t)d, es);
        double curve[64];
        fsgd_problem pr = {0};
        pr.coef = coef;
        pr.positive_class = 1;
        pr.weight_pos = pr.weight_neg = 1.0;
        pr.seed = (uint32_t)rep + 1;
        pr.loss_curve = curve;
        n_epochs = 0;
        if (getenv("BATCH")) {
            fsgd_batch_params B = {0};
            B.batch_size = env_long("BATCH", 256);
            B.optimizer = (int)env_long("OPT", FSGD_OPT_ADAM);
            B.momentum = 0.9;
            B.beta_1 = 0.9;
            B.beta_2 = 0.999;
            B.rho = 0.95;
            B.epsilon = 1e-8;
            B.lr_decay = 0.1;
            B.lr_decay_epochs = 10;
            B.restart_epochs = 10;
            B.restart_mult = 1;
            /* the second moment of the harness's rows for "optimal" (its
             * trace; a bound on its largest eigenvalue) */
            B.row_sq_norm = (double)d / 3.0 + 1.0;
            B.row_top_eig = B.row_sq_norm;
            fsgd_batch_state st = {0};
            st.slots = calloc((size_t)(fsgd_optimizer_slots(B.optimizer) * (d + 1) + 1),
                              sizeof(double));
            int status = fsgd_fit_batch(&D, &P, &B, &pr, 1, &st, (int)env_long("NT", 1), progress,
                                        NULL);
            if (status != FSGD_OK) {
                const char *why = fsgd_check_args(&D, &P, &B, 1);
                fprintf(stderr, "fit status %d: %s\n", status, why ? why : "");
                return 1;
            }
            free(st.slots);
        } else {
            fsgd_fit(&D, &P, &pr, 1, 1, progress, NULL);
        }
        for (int e = 1; e < n_epochs; e++)
            if (epoch_end[e] - epoch_end[e - 1] < best) best = epoch_end[e] - epoch_end[e - 1];
        if (rep == 0) printf("obj %.6f\n", curve[iters - 1]);
        free(coef);
    }
    printf("f32=%d d=%ld order=%d loss=%d epoch %.1f ms  %.1f ns/row  floor %.1f ms  ratio %.2f  "
           "(%s)\n",
           f32, d, order, loss, best * 1e3, best / (double)n * 1e9, floor_s * 1e3, best / floor_s,
           fsgd_kernels_name());
    free(X);
    free(wt);
    free(yc);
    return 0;
}
