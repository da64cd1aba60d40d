/*
 * The bound on an epoch that the engine cannot beat: the plainest C loops
 * with the engine's access pattern (rows in storage order), beside one sum
 * over X as the floor, both on one thread, in ns per row.
 *
 *  - sgd: per-sample logistic SGD, the dependency chain alone: p = w.x + b,
 *    g = sigmoid(p) - y, w -= eta g x.  No L2 scale, no loss sum, no
 *    schedule, no prefetching: what any per-sample SGD pays per row.
 *  - sgd2: the same with the next row's dot product started before the
 *    update (x_next.w_new = x_next.w_old + c x_next.x), the engine's trick.
 *  - adam: mini-batches of 256 rows, two passes over the batch's rows (the
 *    predictions, then the gradient sum) and one Adam step over the weights.
 *  - csr (with a density argument): per-sample SGD over CSR rows, the same
 *    chain with the weights gathered and scattered by column index; its floor
 *    is one sum over the values plus one over the column indices.
 *
 * Build and run (not part of the package):
 *
 *   gcc -O3 -march=native -ffast-math benchmarks/row_bound.c -lm -o /tmp/row_bound
 *   /tmp/row_bound 1000000 100     # rows, features; float64 and float32
 *   /tmp/row_bound 1000000 20
 *   /tmp/row_bound 200000 10000 0.01   # CSR at 1%
 *
 * -ffast-math lets the compiler vectorise the dot products and sums, as the
 * engine does by hand; without it each sum is one serial chain of adds.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t rng = 88172645463325252ull;
static double uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) * (1.0 / 9007199254740992.0);
}

#define DEFINE(T, SFX)                                                                             \
    static double sum_##SFX(const T *X, long n)                                                    \
    {                                                                                              \
        T s[8] = {0};                                                                              \
        long i = 0;                                                                                \
        for (; i + 8 <= n; i += 8)                                                                 \
            for (int k = 0; k < 8; k++) s[k] += X[i + k];                                          \
        for (; i < n; i++) s[0] += X[i];                                                           \
        double t = 0;                                                                              \
        for (int k = 0; k < 8; k++) t += s[k];                                                     \
        return t;                                                                                  \
    }                                                                                              \
    static double sgd_##SFX(const T *X, const int *y, long n, long d, double *w)                   \
    {                                                                                              \
        double b = 0.0, eta = 0.01;                                                                \
        for (long i = 0; i < n; i++) {                                                             \
            const T *x = X + i * d;                                                                \
            double p = b;                                                                          \
            for (long j = 0; j < d; j++) p += w[j] * x[j];                                         \
            double g = 1.0 / (1.0 + exp(-p)) - y[i];                                               \
            double c = -eta * g;                                                                   \
            for (long j = 0; j < d; j++) w[j] += c * x[j];                                         \
            b += c;                                                                                \
        }                                                                                          \
        return b;                                                                                  \
    }                                                                                              \
    static double sgd2_##SFX(const T *X, const int *y, long n, long d, double *w)                  \
    {                                                                                              \
        double b = 0.0, eta = 0.01, a = 0.0;                                                       \
        for (long j = 0; j < d; j++) a += w[j] * X[j];                                             \
        for (long i = 0; i < n; i++) {                                                             \
            const T *x = X + i * d, *xn = X + (i + 1 < n ? i + 1 : i) * d;                         \
            double g = 1.0 / (1.0 + exp(-(a + b))) - y[i];                                         \
            double c = -eta * g, an = 0.0, xx = 0.0;                                               \
            for (long j = 0; j < d; j++) {                                                         \
                an += w[j] * xn[j];                                                                \
                xx += x[j] * xn[j];                                                                \
                w[j] += c * x[j];                                                                  \
            }                                                                                      \
            a = an + c * xx;                                                                       \
            b += c;                                                                                \
        }                                                                                          \
        return b;                                                                                  \
    }                                                                                              \
    static double adam_##SFX(const T *X, const int *y, long n, long d, double *w, double *G,       \
                             double *m, double *v, double *pb)                                     \
    {                                                                                              \
        const long bs = 256;                                                                       \
        double t = 0.0;                                                                            \
        for (long s = 0; s < n; s += bs) {                                                         \
            long e = s + bs < n ? s + bs : n;                                                      \
            for (long i = s; i < e; i++) {                                                         \
                const T *x = X + i * d;                                                            \
                double p = 0.0;                                                                    \
                for (long j = 0; j < d; j++) p += w[j] * x[j];                                     \
                pb[i - s] = (1.0 / (1.0 + exp(-p)) - y[i]) / (double)(e - s);                      \
            }                                                                                      \
            memset(G, 0, sizeof(double) * (size_t)d);                                              \
            for (long i = s; i < e; i++) {                                                         \
                const T *x = X + i * d;                                                            \
                double g = pb[i - s];                                                              \
                for (long j = 0; j < d; j++) G[j] += g * x[j];                                     \
            }                                                                                      \
            t += 1.0;                                                                              \
            double c1 = 1.0 / (1.0 - pow(0.9, t)), c2 = 1.0 / (1.0 - pow(0.999, t));               \
            for (long j = 0; j < d; j++) {                                                         \
                m[j] = 0.9 * m[j] + 0.1 * G[j];                                                    \
                v[j] = 0.999 * v[j] + 0.001 * G[j] * G[j];                                         \
                w[j] -= 0.001 * (m[j] * c1) / (sqrt(v[j] * c2) + 1e-8);                            \
            }                                                                                      \
        }                                                                                          \
        return w[0];                                                                               \
    }

DEFINE(double, f64)
DEFINE(float, f32)

#define DEFINE_CSR(T, SFX)                                                                         \
    static double csr_sum_##SFX(const T *val, const int32_t *ind, long nnz)                        \
    {                                                                                              \
        T s = 0;                                                                                   \
        int64_t c = 0;                                                                             \
        for (long i = 0; i < nnz; i++) s += val[i];                                                \
        for (long i = 0; i < nnz; i++) c += ind[i];                                                \
        return (double)s + (double)c;                                                              \
    }                                                                                              \
    static double csr_sgd_##SFX(const T *val, const int32_t *ind, const int64_t *ptr,              \
                                const int *y, long n, double *w)                                   \
    {                                                                                              \
        double b = 0.0, eta = 0.01;                                                                \
        for (long i = 0; i < n; i++) {                                                             \
            double p = b;                                                                          \
            for (int64_t k = ptr[i]; k < ptr[i + 1]; k++) p += w[ind[k]] * val[k];                 \
            double c = -eta * (1.0 / (1.0 + exp(-p)) - y[i]);                                      \
            for (int64_t k = ptr[i]; k < ptr[i + 1]; k++) w[ind[k]] += c * val[k];                 \
            b += c;                                                                                \
        }                                                                                          \
        return b;                                                                                  \
    }

DEFINE_CSR(double, f64)
DEFINE_CSR(float, f32)

static int csr_main(long n, long d, double density)
{
    const long k = (long)(density * (double)d + 0.5) > 0 ? (long)(density * (double)d + 0.5) : 1;
    const long nnz = n * k;
    int32_t *ind = malloc(sizeof(int32_t) * (size_t)nnz);
    int64_t *ptr = malloc(sizeof(int64_t) * (size_t)(n + 1));
    int *y = malloc(sizeof(int) * (size_t)n);
    double *w = calloc((size_t)d, sizeof(double)), sink = 0.0;
    for (long i = 0; i <= n; i++) ptr[i] = i * k;
    for (long i = 0; i < n; i++) {
        y[i] = uniform() < 0.5;
        /* k sorted distinct-enough columns: one per stride of d / k */
        for (long j = 0; j < k; j++)
            ind[i * k + j] = (int32_t)((double)j * (double)d / (double)k +
                                       uniform() * ((double)d / (double)k));
    }
    for (int f32 = 0; f32 < 2; f32++) {
        size_t es = f32 ? sizeof(float) : sizeof(double);
        void *val = malloc(es * (size_t)nnz);
        for (long i = 0; i < nnz; i++) {
            double u = 2.0 * uniform() - 1.0;
            if (f32) ((float *)val)[i] = (float)u;
            else ((double *)val)[i] = u;
        }
        double best[2] = {1e30, 1e30};
        for (int rep = 0; rep < 5; rep++) {
            for (int m = 0; m < 2; m++) {
                memset(w, 0, sizeof(double) * (size_t)d);
                double t0 = now();
                if (m == 0) sink += f32 ? csr_sum_f32(val, ind, nnz) : csr_sum_f64(val, ind, nnz);
                else
                    sink += f32 ? csr_sgd_f32(val, ind, ptr, y, n, w)
                                : csr_sgd_f64(val, ind, ptr, y, n, w);
                double dt = now() - t0;
                if (dt < best[m]) best[m] = dt;
            }
        }
        printf("%s CSR n=%ld d=%ld nnz/row=%ld  floor %.1f ms  csr sgd %.2fx\n",
               f32 ? "float32" : "float64", n, d, k, best[0] * 1e3, best[1] / best[0]);
        free(val);
    }
    fprintf(stderr, "(%g)\n", sink);
    free(ind);
    free(ptr);
    free(y);
    free(w);
    return 0;
}

int main(int argc, char **argv)
{
    const long n = argc > 1 ? atol(argv[1]) : 1000000;
    const long d = argc > 2 ? atol(argv[2]) : 100;
    if (argc > 3) return csr_main(n, d, atof(argv[3]));
    int *y = malloc(sizeof(int) * (size_t)n);
    double *w = calloc((size_t)d, sizeof(double)), *G = calloc((size_t)d, sizeof(double));
    double *m = calloc((size_t)d, sizeof(double)), *v = calloc((size_t)d, sizeof(double));
    double *pb = calloc(256, sizeof(double));
    for (long i = 0; i < n; i++) y[i] = uniform() < 0.5;
    double sink = 0.0;
    for (int f32 = 0; f32 < 2; f32++) {
        size_t es = f32 ? sizeof(float) : sizeof(double);
        void *X = malloc(es * (size_t)n * (size_t)d);
        for (long i = 0; i < n * d; i++) {
            double u = 2.0 * uniform() - 1.0;
            if (f32) ((float *)X)[i] = (float)u;
            else ((double *)X)[i] = u;
        }
        double best[4] = {1e30, 1e30, 1e30, 1e30};
        for (int rep = 0; rep < 5; rep++) {
            for (int k = 0; k < 4; k++) {
                memset(w, 0, sizeof(double) * (size_t)d);
                memset(m, 0, sizeof(double) * (size_t)d);
                memset(v, 0, sizeof(double) * (size_t)d);
                double t0 = now();
                if (k == 0) sink += f32 ? sum_f32(X, n * d) : sum_f64(X, n * d);
                if (k == 1) sink += f32 ? sgd_f32(X, y, n, d, w) : sgd_f64(X, y, n, d, w);
                if (k == 2) sink += f32 ? sgd2_f32(X, y, n, d, w) : sgd2_f64(X, y, n, d, w);
                if (k == 3)
                    sink += f32 ? adam_f32(X, y, n, d, w, G, m, v, pb)
                                : adam_f64(X, y, n, d, w, G, m, v, pb);
                double dt = now() - t0;
                if (dt < best[k]) best[k] = dt;
            }
        }
        printf(
            "%s n=%ld d=%ld  floor %.1f ms (%.1f ns/row)  sgd %.2fx  sgd2 %.2fx  adam256 %.2fx\n",
            f32 ? "float32" : "float64", n, d, best[0] * 1e3, best[0] * 1e9 / (double)n,
            best[1] / best[0], best[2] / best[0], best[3] / best[0]);
        free(X);
    }
    fprintf(stderr, "(%g)\n", sink);
    free(y);
    free(w);
    free(G);
    free(m);
    free(v);
    free(pb);
    return 0;
}
