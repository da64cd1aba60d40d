/*
 * The per-sample SGD engine for one dtype.  sgd.c includes this file twice,
 * with REAL = double / SFX = 64 and REAL = float / SFX = 32.
 *
 * The update sequence is scikit-learn's _plain_sgd, step for step:
 *   p = w.x + b; eta from the schedule; loss and dloss at p;
 *   w *= max(0, 1 - (1 - l1_ratio) eta alpha)        (L2 part, O(1): w = wscale * coef)
 *   w += update x; b += update * intercept_decay
 *   averaged weights by Bottou's lazy trick          (O(nnz))
 *   cumulative L1 penalty (Tsuruoka et al. 2009)     (O(nnz))
 * Dot products accumulate in double whatever the dtype.
 */

#define FSGD_CAT_(a, b) a##b
#define FSGD_CAT(a, b) FSGD_CAT_(a, b)
#define FN(name) FSGD_CAT(name, SFX)
#define FSGD_VSFX FSGD_CAT(VSFX_, SFX)
#define VSFX_64 d
#define VSFX_32 f

/* how many rows ahead the batch engine prefetches, in storage order and in
 * random orders; the per-sample engine's: fsgd_sample_prefetch_rows
 * (order.h, and fit_one_impl for why) */
#ifndef FSGD_PREFETCH_ROWS_SEQ
#define FSGD_PREFETCH_ROWS_SEQ 4
#endif
#ifndef FSGD_PREFETCH_ROWS_RANDOM
#define FSGD_PREFETCH_ROWS_RANDOM 8
#endif

typedef struct {
    REAL *w;
    double wscale;
    double *aw;        /* averaged weights = (aw + avg_a * w) / avg_b, or NULL; double
                        * whatever the dtype: aw and avg_a w cancel each other while
                        * wscale is small, which float32 cannot carry */
    double avg_a, avg_b;
    double *q;         /* cumulative L1 penalty actually applied per feature, or NULL */
    double u;          /* cumulative L1 penalty that could have been applied */
    double sq_norm;    /* ||wscale * w||^2, kept for the objective */
    double l1_norm;    /* ||wscale * w||_1 */
    int64_t d;
    int track;         /* whether the norms are needed */
    int track_l1;      /* whether the L1 norm is (penalty l1 or elasticnet) */
    double reset_threshold;
} FN(fsgd_wv);

/* Dense dot products accumulate in double in two independent vector partial
 * sums of FSGD_VL lanes each, so the loop is limited by loads and FMAs rather
 * than by the latency of one chain of additions.  GCC/Clang vector
 * extensions compile to whatever SIMD width the function is built for; the
 * vectors are 32 bytes of doubles (one ymm register with AVX2/AVX-512, two
 * xmm with SSE2): 64-byte vectors were lowered badly for AVX2 (twice the
 * epoch time). */
#if defined(__GNUC__)
/* FSGD_VL values of X's dtype, widened to double */
FSGD_INLINE fsgd_vd FN(loadv)(const REAL *p)
{
    FSGD_CAT(fsgd_v, FSGD_VSFX) v;
    memcpy(&v, p, sizeof(v));
#if SFX == 32
    return fsgd_f2d(v);
#else
    return v;
#endif
}

/* 4 values of X's dtype, widened to double: the per-sample loops' vectors
 * are 32 bytes in every build, as the look-ahead step's (on the AVX-512 Xeon
 * of 2026-12-02 vectors of 8 doubles made a dense elasticnet row of 100
 * features 165 instead of 134-145 ns; FN(loadv) stays FSGD_VL wide for the
 * batch engine, where the wide build pays) */
FSGD_INLINE fsgd_vd4 FN(load4)(const REAL *p)
{
#if SFX == 32
    fsgd_vf4 v;
    memcpy(&v, p, sizeof(v));
    return fsgd_widen4(v);
#else
    fsgd_vd4 v;
    memcpy(&v, p, sizeof(v));
    return v;
#endif
}

/* 4 doubles stored as X's dtype; returns the values stored, widened back */
FSGD_INLINE fsgd_vd4 FN(store4)(REAL *p, fsgd_vd4 v)
{
#if SFX == 32
    const fsgd_vf4 f = __builtin_convertvector(v, fsgd_vf4);
    memcpy(p, &f, sizeof(f));
    return fsgd_widen4(f);
#else
    memcpy(p, &v, sizeof(v));
    return v;
#endif
}

#ifndef FSGD_HSUM4_DEFINED
#define FSGD_HSUM4_DEFINED
static inline double fsgd_hsum4(fsgd_vd4 a) { return (a[0] + a[1]) + (a[2] + a[3]); }
#endif

FSGD_INLINE double FN(dot_dense)(const REAL *w, const REAL *x, int64_t n)
{
    fsgd_vd4 a0 = {0}, a1 = {0};
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
        a0 += FN(load4)(w + j) * FN(load4)(x + j);
        a1 += FN(load4)(w + j + 4) * FN(load4)(x + j + 4);
    }
    if (j + 4 <= n) {
        a0 += FN(load4)(w + j) * FN(load4)(x + j);
        j += 4;
    }
    double r = fsgd_hsum4(a0 + a1);
    for (; j < n; j++) r += (double)w[j] * (double)x[j];
    return r;
}

/* w.x and x.x in one pass over x. */
FSGD_INLINE double FN(dot_dense_xx)(const REAL *w, const REAL *x, int64_t n, double *xx)
{
    fsgd_vd4 a0 = {0}, a1 = {0}, q0 = {0}, q1 = {0};
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
        fsgd_vd4 x0 = FN(load4)(x + j), x1 = FN(load4)(x + j + 4);
        a0 += FN(load4)(w + j) * x0;
        a1 += FN(load4)(w + j + 4) * x1;
        q0 += x0 * x0;
        q1 += x1 * x1;
    }
    if (j + 4 <= n) {
        fsgd_vd4 x0 = FN(load4)(x + j);
        a0 += FN(load4)(w + j) * x0;
        q0 += x0 * x0;
        j += 4;
    }
    double r = fsgd_hsum4(a0 + a1), rq = fsgd_hsum4(q0 + q1);
    for (; j < n; j++) {
        double xv = (double)x[j];
        r += (double)w[j] * xv;
        rq += xv * xv;
    }
    *xx = rq;
    return r;
}

FSGD_INLINE double FN(sqnorm_row)(const REAL *x, int64_t n)
{
    fsgd_vd4 q0 = {0}, q1 = {0};
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
        fsgd_vd4 x0 = FN(load4)(x + j), x1 = FN(load4)(x + j + 4);
        q0 += x0 * x0;
        q1 += x1 * x1;
    }
    if (j + 4 <= n) {
        fsgd_vd4 x0 = FN(load4)(x + j);
        q0 += x0 * x0;
        j += 4;
    }
    double rq = fsgd_hsum4(q0 + q1);
    for (; j < n; j++) rq += (double)x[j] * (double)x[j];
    return rq;
}

/* w += c x, in the same vector width as the dot products that read w next:
 * each load then takes its data whole from one earlier store (store-to-load
 * forwarding) instead of waiting for the stores to reach the cache. */
FSGD_INLINE void FN(axpy_dense)(REAL *w, const REAL *x, int64_t n, double c)
{
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
        FN(store4)(w + j, FN(load4)(w + j) + FN(load4)(x + j) * c);
    }
    for (; j < n; j++) w[j] = (REAL)((double)w[j] + (double)x[j] * c);
}

/* The look-ahead step of a dense epoch (see fit_one_impl): in one pass,
 *   w += c xp                      (the previous row's update, now applied)
 *   *a = xn . w                    (the next row against the new w)
 *   *b = xn . xc, *q = xn . xn     (for its correction and the norms)
 * None of it waits for the current row's prediction, so the loop is bound by
 * loads and arithmetic, and its width is chosen for throughput:
 *  - float64: vectors of 4 doubles (measured faster than 8 with AVX-512 here:
 *    fewer lanes to reduce, no frequency penalty);
 *  - float32: vectors of 8 floats, float arithmetic (no widening); the
 *    products are summed in float within blocks of FSGD_F32_BLOCK features
 *    (at most FSGD_F32_BLOCK / 16 terms per lane), and the block sums in
 *    double, so the error does not grow with d.  Not 16 with AVX-512: on
 *    the Xeon of 2026-12-02 (benchmarks/epoch_harness.c, log loss, block
 *    order) 16-float vectors and their masked tail made a row 47.6 instead
 *    of 40.5 ns with 100 features and 36.0 instead of 24.4 with 20: the masked
 *    store of w's last lanes holds up the next row's loads of them. */
#define FSGD_F32_BLOCK 256
#if SFX == 64

FSGD_INLINE void axpy_dot3_vec64(double *w, const double *xp, fsgd_vd4 c, const double *xn,
                                 const double *xc, fsgd_vd4 *a, fsgd_vd4 *b, fsgd_vd4 *q)
{
    fsgd_vd4 wv, xpv, xnv, xcv;
    memcpy(&wv, w, sizeof(wv));
    memcpy(&xpv, xp, sizeof(xpv));
    memcpy(&xnv, xn, sizeof(xnv));
    memcpy(&xcv, xc, sizeof(xcv));
    wv += xpv * c;
    memcpy(w, &wv, sizeof(wv));
    *a += xnv * wv;
    *b += xnv * xcv;
    *q += xnv * xnv;
}

FSGD_INLINE void FN(axpy_dot3)(double *w, const double *xp, double c, const double *xn,
                              const double *xc, int64_t n, double *a, double *b, double *q)
{
    fsgd_vd4 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0 = {0}, b1 = {0}, q0 = {0}, q1 = {0};
    const fsgd_vd4 cv = {c, c, c, c};
    int64_t j = 0;
    for (; j + 16 <= n; j += 16) {
        axpy_dot3_vec64(w + j, xp + j, cv, xn + j, xc + j, &a0, &b0, &q0);
        axpy_dot3_vec64(w + j + 4, xp + j + 4, cv, xn + j + 4, xc + j + 4, &a1, &b1, &q1);
        axpy_dot3_vec64(w + j + 8, xp + j + 8, cv, xn + j + 8, xc + j + 8, &a2, &b0, &q0);
        axpy_dot3_vec64(w + j + 12, xp + j + 12, cv, xn + j + 12, xc + j + 12, &a3, &b1, &q1);
    }
    if (j + 8 <= n) {
        axpy_dot3_vec64(w + j, xp + j, cv, xn + j, xc + j, &a0, &b0, &q0);
        axpy_dot3_vec64(w + j + 4, xp + j + 4, cv, xn + j + 4, xc + j + 4, &a1, &b1, &q1);
        j += 8;
    }
    if (j + 4 <= n) {
        axpy_dot3_vec64(w + j, xp + j, cv, xn + j, xc + j, &a2, &b0, &q0);
        j += 4;
    }
    double ra, rb, rq;
    fsgd_hsum3_4((a0 + a1) + (a2 + a3), b0 + b1, q0 + q1, &ra, &rb, &rq);
    for (; j < n; j++) {
        double nw = w[j] + xp[j] * c;
        w[j] = nw;
        ra += xn[j] * nw;
        rb += xn[j] * xc[j];
        rq += xn[j] * xn[j];
    }
    *a = ra;
    *b = rb;
    *q = rq;
}
#else
FSGD_INLINE void axpy_dot3_vec32(float *w, const float *xp, fsgd_vf8 c, const float *xn,
                                 const float *xc, fsgd_vf8 *a, fsgd_vf8 *b, fsgd_vf8 *q)
{
    fsgd_vf8 wv, xpv, xnv, xcv;
    memcpy(&wv, w, sizeof(wv));
    memcpy(&xpv, xp, sizeof(xpv));
    memcpy(&xnv, xn, sizeof(xnv));
    memcpy(&xcv, xc, sizeof(xcv));
    wv += xpv * c;
    memcpy(w, &wv, sizeof(wv));
    *a += xnv * wv;
    *b += xnv * xcv;
    *q += xnv * xnv;
}

/* the lanes of a float vector, widened and added pairwise: FSGD_VL doubles */
FSGD_INLINE fsgd_vd fsgd_widen_sum(fsgd_vfw v)
{
    return fsgd_f2d(fsgd_vfw_lo(v)) + fsgd_f2d(fsgd_vfw_hi(v));
}

/* G[0 .. FSGD_FL) += the lanes of v, widened */
FSGD_INLINE void fsgd_widen_add(double *G, fsgd_vfw v)
{
    fsgd_vd g0, g1;
    memcpy(&g0, G, sizeof(g0));
    memcpy(&g1, G + FSGD_VL, sizeof(g1));
    g0 += fsgd_f2d(fsgd_vfw_lo(v));
    g1 += fsgd_f2d(fsgd_vfw_hi(v));
    memcpy(G, &g0, sizeof(g0));
    memcpy(G + FSGD_VL, &g1, sizeof(g1));
}

/* one block of FSGD_F32_BLOCK features or fewer, from j to end (whole
 * vectors of 8), added to ad, bd, qd; returns the next j */
FSGD_INLINE int64_t axpy_dot3_block32(float *w, const float *xp, fsgd_vf8 cv, const float *xn,
                                      const float *xc, int64_t j, int64_t end,
                                      fsgd_vd4 *ad, fsgd_vd4 *bd, fsgd_vd4 *qd)
{
    fsgd_vf8 a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0}, q0 = {0}, q1 = {0};
    for (; j + 16 <= end; j += 16) {
        axpy_dot3_vec32(w + j, xp + j, cv, xn + j, xc + j, &a0, &b0, &q0);
        axpy_dot3_vec32(w + j + 8, xp + j + 8, cv, xn + j + 8, xc + j + 8, &a1, &b1, &q1);
    }
    if (j + 8 <= end) {
        axpy_dot3_vec32(w + j, xp + j, cv, xn + j, xc + j, &a0, &b0, &q0);
        j += 8;
    }
    *ad += fsgd_widen8(a0 + a1);
    *bd += fsgd_widen8(b0 + b1);
    *qd += fsgd_widen8(q0 + q1);
    return j;
}

FSGD_INLINE void FN(axpy_dot3)(float *w, const float *xp, double c, const float *xn,
                               const float *xc, int64_t n, double *a, double *b, double *q)
{
    fsgd_vd4 ad = {0}, bd = {0}, qd = {0};
    const float cf = (float)c;
    const fsgd_vf8 cv = {cf, cf, cf, cf, cf, cf, cf, cf}; /* not {0} + cf: an add */
    int64_t j = 0;
    if (n <= FSGD_F32_BLOCK) {
        /* one block (d = 100 and most tables): a copy of the loop without
         * the block bookkeeping, which cost registers and instructions */
        if (n >= 8) j = axpy_dot3_block32(w, xp, cv, xn, xc, 0, n, &ad, &bd, &qd);
    } else {
        while (j + 8 <= n) {
            const int64_t end = n - j > FSGD_F32_BLOCK ? j + FSGD_F32_BLOCK : n;
            j = axpy_dot3_block32(w, xp, cv, xn, xc, j, end, &ad, &bd, &qd);
        }
    }
    if (j + 4 <= n) {
        /* a half vector of 4 floats (d = 100: the last 4) */
        fsgd_vf4 wv, xpv, xnv, xcv;
        const fsgd_vf4 ch = {cf, cf, cf, cf};
        memcpy(&wv, w + j, sizeof(wv));
        memcpy(&xpv, xp + j, sizeof(xpv));
        memcpy(&xnv, xn + j, sizeof(xnv));
        memcpy(&xcv, xc + j, sizeof(xcv));
        wv += xpv * ch;
        memcpy(w + j, &wv, sizeof(wv));
        ad += fsgd_widen4(xnv * wv);
        bd += fsgd_widen4(xnv * xcv);
        qd += fsgd_widen4(xnv * xnv);
        j += 4;
    }
    double ra, rb, rq;
    fsgd_hsum3_4(ad, bd, qd, &ra, &rb, &rq);
    for (; j < n; j++) {
        float nw = w[j] + xp[j] * cf;
        w[j] = nw;
        ra += (double)xn[j] * (double)nw;
        rb += (double)xn[j] * (double)xc[j];
        rq += (double)xn[j] * (double)xn[j];
    }
    *a = ra;
    *b = rb;
    *q = rq;
}
#endif
#else
FSGD_INLINE void FN(axpy_dense)(REAL *w, const REAL *x, int64_t n, double c)
{
    for (int64_t j = 0; j < n; j++) w[j] = (REAL)((double)w[j] + (double)x[j] * c);
}

FSGD_INLINE double FN(dot_dense)(const REAL *w, const REAL *x, int64_t n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
        s0 += (double)w[j] * x[j];
        s1 += (double)w[j + 1] * x[j + 1];
        s2 += (double)w[j + 2] * x[j + 2];
        s3 += (double)w[j + 3] * x[j + 3];
    }
    for (; j < n; j++) s0 += (double)w[j] * x[j];
    return (s0 + s1) + (s2 + s3);
}

FSGD_INLINE double FN(sqnorm_row)(const REAL *x, int64_t n) { return FN(dot_dense)(x, x, n); }

FSGD_INLINE double FN(dot_dense_xx)(const REAL *w, const REAL *x, int64_t n, double *xx)
{
    *xx = FN(sqnorm_row)(x, n);
    return FN(dot_dense)(w, x, n);
}

FSGD_INLINE void FN(axpy_dot3)(REAL *w, const REAL *xp, double c, const REAL *xn,
                               const REAL *xc, int64_t n, double *a, double *b, double *q)
{
    FN(axpy_dense)(w, xp, n, c);
    *a = FN(dot_dense)(w, xn, n);
    *b = FN(dot_dense)(xc, xn, n);
    *q = FN(sqnorm_row)(xn, n);
}
#endif

FSGD_INLINE double FN(dot)(const REAL *w, const REAL *x, const int32_t *ind, int64_t nnz,
                           const int sparse)
{
    if (sparse) {
        /* four partial sums: one chain of nnz dependent multiply-adds was
         * most of a sparse row's time */
        double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
        int64_t j = 0;
        for (; j + 4 <= nnz; j += 4) {
            s0 += (double)w[ind[j]] * (double)x[j];
            s1 += (double)w[ind[j + 1]] * (double)x[j + 1];
            s2 += (double)w[ind[j + 2]] * (double)x[j + 2];
            s3 += (double)w[ind[j + 3]] * (double)x[j + 3];
        }
        for (; j < nnz; j++) s0 += (double)w[ind[j]] * (double)x[j];
        return (s0 + s1) + (s2 + s3);
    }
    return FN(dot_dense)(w, x, nnz);
}

static void FN(wv_norms)(FN(fsgd_wv) *v)
{
    double sq = 0.0, l1 = 0.0;
    for (int64_t j = 0; j < v->d; j++) {
        double z = (double)v->w[j];
        sq += z * z;
        l1 += fabs(z);
    }
    v->sq_norm = sq * v->wscale * v->wscale;
    v->l1_norm = l1 * fabs(v->wscale);
}

/* Fold wscale (and the lazy average) back into the arrays. */
static void FN(wv_reset)(FN(fsgd_wv) *v)
{
    int64_t d = v->d;
    if (v->aw) {
        double a = v->avg_a, inv_b = 1.0 / v->avg_b;
        double *aw = v->aw;
        const REAL *w = v->w;
        for (int64_t j = 0; j < d; j++) aw[j] = (aw[j] + a * (double)w[j]) * inv_b;
        v->avg_a = 0.0;
        v->avg_b = 1.0;
    }
    double s = v->wscale;
    REAL *w = v->w;
    for (int64_t j = 0; j < d; j++) w[j] = (REAL)((double)w[j] * s);
    v->wscale = 1.0;
}

FSGD_INLINE void FN(wv_scale)(FN(fsgd_wv) *v, double c)
{
    v->wscale *= c;
    v->sq_norm *= c * c;
    v->l1_norm *= fabs(c);
    if (v->wscale < v->reset_threshold) FN(wv_reset)(v);
}

/* w[ind] += cs x for a sparse row, and the changes of sum w^2 and (with_l1)
 * of sum |w| in two partial sums each (one chain of nnz dependent additions
 * had been most of a sparse row's time).  An index repeated in the row reads
 * the value stored just before it. */
FSGD_INLINE void FN(sparse_add_one)(REAL *w, int32_t i, REAL xj, double cs, const int with_l1,
                                    double *q, double *l)
{
    const double old = (double)w[i];
    const REAL nw = (REAL)(old + (double)xj * cs);
    w[i] = nw;
    *q += (double)nw * (double)nw - old * old;
    if (with_l1) *l += fabs((double)nw) - fabs(old);
}

FSGD_INLINE void FN(sparse_add_norms)(REAL *w, const REAL *x, const int32_t *ind, int64_t nnz,
                                      double cs, const int with_l1, double *dsq, double *dl1)
{
    double q0 = 0.0, q1 = 0.0, l0 = 0.0, l1 = 0.0;
    int64_t j = 0;
    for (; j + 2 <= nnz; j += 2) {
        FN(sparse_add_one)(w, ind[j], x[j], cs, with_l1, &q0, &l0);
        FN(sparse_add_one)(w, ind[j + 1], x[j + 1], cs, with_l1, &q1, &l1);
    }
    if (j < nnz) FN(sparse_add_one)(w, ind[j], x[j], cs, with_l1, &q0, &l0);
    *dsq = q0 + q1;
    *dl1 = l0 + l1;
}

/* w += c * x.  For dense rows the caller updates sq_norm in O(1) from w.x and
 * x.x (||w + c x||^2 = ||w||^2 + 2 c w.x + c^2 x.x); sparse rows update both
 * norms from the entries they change. */
FSGD_INLINE void FN(wv_add)(FN(fsgd_wv) *v, const REAL *x, const int32_t *ind, int64_t nnz,
                            double c, const int sparse)
{
    REAL *w = v->w;
    double ws = v->wscale;
    double cs = c / ws;
    if (sparse) {
        if (v->track) {
            double dsq, dl1;
            /* the L1 norm only where the penalty needs it (a constant
             * argument: two copies of the loop) */
            if (v->track_l1) FN(sparse_add_norms)(w, x, ind, nnz, cs, 1, &dsq, &dl1);
            else FN(sparse_add_norms)(w, x, ind, nnz, cs, 0, &dsq, &dl1);
            v->sq_norm += dsq * ws * ws;
            if (v->track_l1) v->l1_norm += dl1 * fabs(ws);
        } else {
            for (int64_t j = 0; j < nnz; j++) w[ind[j]] = (REAL)((double)w[ind[j]] + (double)x[j] * cs);
        }
    } else {
        FN(axpy_dense)(w, x, nnz, cs);
    }
}

/* Bottou's averaging trick: O(nnz) per sample. */
FSGD_INLINE void FN(wv_add_average)(FN(fsgd_wv) *v, const REAL *x, const int32_t *ind, int64_t nnz,
                                    double c, double num_iter, const int sparse)
{
    double mu = 1.0 / num_iter;
    double k = v->avg_a * (-c / v->wscale);
    double *aw = v->aw;
    if (k != 0.0) {
        if (sparse) {
            for (int64_t j = 0; j < nnz; j++) aw[ind[j]] += (double)x[j] * k;
        } else {
#pragma omp simd
            for (int64_t j = 0; j < nnz; j++) aw[j] += (double)x[j] * k;
        }
    }
    if (num_iter > 1.0) v->avg_b /= (1.0 - mu);
    v->avg_a += mu * v->avg_b * v->wscale;
}

/* One weight's cumulative L1 step (Tsuruoka et al.): towards zero by what is
 * still owed, never across it; 1 / wscale is computed once per row by the
 * caller instead of a division per weight (scikit-learn divides: the results
 * differ in the last bit).  Sparse rows and the dense tail use it as is; the
 * dense loop below does the same with masks four weights at a time. */
#ifndef FSGD_L1_STEP_DEFINED
#define FSGD_L1_STEP_DEFINED
FSGD_INLINE double fsgd_l1_step(double z, double ws, double inv_ws, double u, double qi)
{
    const double down = z - (u + qi) * inv_ws, up = z + (u - qi) * inv_ws;
    const double s = ws * z;
    return s > 0.0 ? (down < 0.0 ? 0.0 : down) : (s < 0.0 ? (up > 0.0 ? 0.0 : up) : z);
}
#endif

/* Cumulative L1 penalty on the features of this sample. */
FSGD_INLINE void FN(wv_l1penalty)(FN(fsgd_wv) *v, const int32_t *ind, int64_t nnz, const int sparse)
{
    REAL *w = v->w;
    double *q = v->q;
    const double ws = v->wscale, u = v->u, inv_ws = 1.0 / ws;
    if (sparse) {
        double dsq = 0.0, dl1 = 0.0;
        for (int64_t j = 0; j < nnz; j++) {
            const int64_t i = (int64_t)ind[j];
            const double z = (double)w[i];
            const REAL nw = (REAL)fsgd_l1_step(z, ws, inv_ws, u, q[i]);
            w[i] = nw;
            q[i] += ws * ((double)nw - z);
            dsq += (double)nw * (double)nw - z * z;
            dl1 += fabs((double)nw) - fabs(z);
        }
        v->sq_norm += dsq * ws * ws;
        v->l1_norm += dl1 * fabs(ws);
        return;
    }
    /* dense: every weight is visited, so the norms are recomputed exactly.
     * Four weights at a time as vectors, the selects as masks: compiled from
     * the scalar form, the signs of the weights became branches, which a
     * weight's random sign mispredicts.  A dense elasticnet fit of 100
     * features (float64, log loss, AVX-512 build) went from 414 to 160-170
     * ns per row, the division per weight and the branches both gone. */
    double sqs = 0.0, l1s = 0.0;
    int64_t j = 0;
#if defined(__GNUC__) && defined(__AVX__)
    /* (not in the SSE2 build, where the masks made it slower than the
     * scalar loop: 586 against 471 ns per row) */
    {
        typedef long long fsgd_vm4 __attribute__((vector_size(32)));
        const fsgd_vd4 zero = {0.0, 0.0, 0.0, 0.0};
        fsgd_vd4 sq4 = zero, l14 = zero;
        for (; j + 4 <= nnz; j += 4) {
            const fsgd_vd4 z = FN(load4)(w + j);
            fsgd_vd4 qv;
            memcpy(&qv, q + j, sizeof(qv));
            const fsgd_vd4 down = z - (u + qv) * inv_ws, up = z + (u - qv) * inv_ws;
            const fsgd_vd4 sz = z * ws;
            const fsgd_vm4 pos = sz > zero, neg = sz < zero;
            const fsgd_vm4 keep_down = pos & ~(down < zero), keep_up = neg & ~(up > zero);
            const fsgd_vm4 bits = ((fsgd_vm4)down & keep_down) | ((fsgd_vm4)up & keep_up) |
                                  ((fsgd_vm4)z & ~(pos | neg));
            const fsgd_vd4 nz = FN(store4)(w + j, (fsgd_vd4)bits);
            qv += (nz - z) * ws;
            memcpy(q + j, &qv, sizeof(qv));
            sq4 += nz * nz;
            l14 += (fsgd_vd4)((fsgd_vm4)nz & (fsgd_vm4){0x7fffffffffffffffLL, 0x7fffffffffffffffLL,
                                                        0x7fffffffffffffffLL, 0x7fffffffffffffffLL});
        }
        sqs = (sq4[0] + sq4[1]) + (sq4[2] + sq4[3]);
        l1s = (l14[0] + l14[1]) + (l14[2] + l14[3]);
    }
#endif
    for (; j < nnz; j++) {
        const double z = (double)w[j];
        const REAL nw = (REAL)fsgd_l1_step(z, ws, inv_ws, u, q[j]);
        w[j] = nw;
        q[j] += ws * ((double)nw - z);
        sqs += (double)nw * (double)nw;
        l1s += fabs((double)nw);
    }
    v->sq_norm = sqs * ws * ws;
    v->l1_norm = l1s * fabs(ws);
}

#ifndef FSGD_SGD_SCALAR_HELPERS
#define FSGD_SGD_SCALAR_HELPERS
/* the gradient step's coefficient of x: -eta times the clipped dloss, times
 * the sample's class and sample weights */
FSGD_INLINE double sgd_update(const int L, double dloss, double eta, double weight)
{
    return -eta * fsgd_clip_dloss(L, dloss) * weight;
}
#endif

typedef struct {
    const REAL *x;
    const int32_t *ind;
    int64_t nnz;
} FN(fsgd_row);

FSGD_INLINE FN(fsgd_row) FN(get_row)(const fsgd_data *D, int64_t r, const int sparse)
{
    FN(fsgd_row) row;
    if (sparse) {
        int64_t s = D->indptr[r];
        row.x = (const REAL *)D->X + s;
        row.ind = D->indices + s;
        row.nnz = D->indptr[r + 1] - s;
    } else {
        row.x = (const REAL *)D->X + r * D->n_features;
        row.ind = NULL;
        row.nnz = D->n_features;
    }
    return row;
}

/* Prefetch one row.  to_l1: into every cache level; else a hint for L2 (on
 * Intel cores; AMD's Zen 2 here fills L1 either way).  targets: the row's
 * target and sample weight too, for random orders: their load is on the chain
 * from prediction to update, and in a random order it missed L2 (float32
 * 800,000 x 100, block order: 63.0 -> 59.4 ns per row; storage order is left
 * to the hardware prefetcher, where the extra instructions cost 1.5 ns). */
FSGD_INLINE void FN(prefetch_row)(const fsgd_data *D, int64_t r, const int sparse, int to_l1,
                                  int targets)
{
#if defined(__GNUC__)
    const char *p;
    int64_t bytes;
    if (sparse) {
        int64_t s = D->indptr[r], e = D->indptr[r + 1];
        p = (const char *)((const REAL *)D->X + s);
        bytes = (e - s) * (int64_t)sizeof(REAL);
        const char *pi = (const char *)(D->indices + s);
        if (to_l1)
            for (int64_t o = 0; o < (e - s) * 4; o += 64) __builtin_prefetch(pi + o, 0, 3);
        else
            for (int64_t o = 0; o < (e - s) * 4; o += 64) __builtin_prefetch(pi + o, 0, 1);
    } else {
        p = (const char *)((const REAL *)D->X + r * D->n_features);
        bytes = D->n_features * (int64_t)sizeof(REAL);
    }
    if (to_l1)
        for (int64_t o = 0; o < bytes; o += 64) __builtin_prefetch(p + o, 0, 3);
    else
        for (int64_t o = 0; o < bytes; o += 64) __builtin_prefetch(p + o, 0, 1);
    if (targets) {
        if (D->y) __builtin_prefetch(D->y + r, 0, 3);
        else if (D->y_code) __builtin_prefetch(D->y_code + r, 0, 3);
        if (D->sample_weight) __builtin_prefetch(D->sample_weight + r, 0, 3);
    }
#else
    (void)D; (void)r; (void)sparse; (void)to_l1; (void)targets;
#endif
}

/* Prefetch the row at position `ahead` of the visiting order: in the current
 * buffer, or in the next one when it runs past the end. */
FSGD_INLINE void FN(prefetch_ahead)(const fsgd_data *D, const fsgd_order_state *ord, int64_t ahead,
                                    const int sparse, int to_l1, int targets)
{
    if (ahead < ord->len_cur) FN(prefetch_row)(D, ord->cur[ahead], sparse, to_l1, targets);
    else if (ahead - ord->len_cur < ord->len_next)
        FN(prefetch_row)(D, ord->next[ahead - ord->len_cur], sparse, to_l1, targets);
}

/* ---- one binary problem, driven by fsgd_drive (fit_control.h) ---- */

/* The state of one problem's fit, kept between epochs. */
typedef struct {
    const fsgd_data *D;
    const fsgd_params *P;
    fsgd_problem *prob;
    FN(fsgd_wv) v;
    fsgd_order_state ord;
    fsgd_schedule sch;
    double ysel[2], wsel[2];   /* target and class weight by label (fsgd_target, kernels.h) */
    double l1_ratio, ybar;
    int64_t pf_rows;           /* rows prefetched ahead */
    /* carried from epoch to epoch */
    double t, eta, intercept, avg_intercept;
    int64_t count;             /* samples seen in this fit */
    /* shared with the driver */
    double step_scale, eta_last;
    uint8_t active;
} FN(sample_fit);

static int FN(all_finite)(const REAL *w, int64_t d)
{
    int ok = 1;
    for (int64_t j = 0; j < d; j++) ok &= isfinite(w[j]) ? 1 : 0;
    return ok;
}

/* The dense look-ahead epoch (penalty L2 or none, gradient steps).  A plain
 * loop reads w right after the previous step wrote it, so each row waits for
 * a dot product of d terms.  Here each row's update c x is applied one row
 * late: x_k . w = a + c_prev b, with a = x_k . w before the previous row's
 * update and b = x_k . x_{k-1}, both computed while the previous row's
 * prediction was being turned into its update (axpy_dot3, which also applies
 * the update before that).  The prediction is formed so that only one
 * multiply-add waits for the previous row's derivative: the chain from one
 * prediction to the next is the loss's derivative and that multiply-add.
 * The steps are the plain loop's in exact arithmetic; rounding differs in
 * the last bits.  Returns nonzero when a prediction was not finite. */
FSGD_INLINE int FN(sample_epoch_lookahead)(FN(sample_fit) *s, FN(fsgd_wv) *vp, fsgd_lossacc *acc,
                                          double *pen_sum_out, const int L)
{
    const fsgd_data *D = s->D;
    const fsgd_params *P = s->P;
    const int64_t d = D->n_features;
    const int lr = P->learning_rate;
    const double alpha = P->alpha, lparam = P->loss_param;
    const int32_t pos = s->prob->positive_class;
    const double *sw_arr = D->sample_weight;
    const int use_l2 = P->penalty >= FSGD_PEN_L2;
    const int pf_l1 = P->order == FSGD_ORDER_SEQUENTIAL;
    fsgd_order_state *ord = &s->ord;
    FN(fsgd_wv) v = *vp;
    double t = s->t, eta = s->eta, intercept = s->intercept, avg_intercept = s->avg_intercept;
    int64_t count = s->count;
    double pen_sum = 0.0;
    int nonfinite = 0;
    const REAL *xprev = NULL;
    double cprev = 0.0, a = 0.0, b = 0.0, xx = 0.0;
    /* the previous row's clipped derivative, its factor -eta weight, its
     * update and the intercept before it */
    double gprev = 0.0, mprev = 0.0, uprev = 0.0, icpt_prev = intercept;
    const double decay = P->fit_intercept ? P->intercept_decay : 0.0;
    int first = 1;
    while (ord->len_cur > 0) {
        ord->len_next = fsgd_order_fill(ord, ord->next);
        for (int64_t k = 0; k < ord->len_cur; k++) {
            /* into L1 in every order */
            FN(prefetch_ahead)(D, ord, k + s->pf_rows, 0, 1, !pf_l1);
            const int64_t r = ord->cur[k];
            const REAL *x = (const REAL *)D->X + r * d;
            if (first) {
                a = FN(dot_dense_xx)(v.w, x, d, &xx);
                first = 0;
            }
            /* p = wscale a + update_prev b + intercept, where update_prev =
             * m g (g the previous row's clipped derivative, m = -eta weight)
             * and the intercept took the step update_prev decay: p = (wscale
             * a + intercept before that step) + g (m (b + decay)), in which
             * only the last multiply-add waits for g. */
            double wx = v.wscale * a + uprev * b;
            const double p = (v.wscale * a + icpt_prev) + gprev * (mprev * (b + decay));
            const int64_t rn = k + 1 < ord->len_cur ? ord->cur[k + 1] : (ord->len_next > 0 ? ord->next[0] : -1);
            double an = 0.0, bn = 0.0, xxn = 0.0;
            if (rn >= 0)
                FN(axpy_dot3)(v.w, xprev ? xprev : x, cprev, (const REAL *)D->X + rn * d, x, d, &an, &bn, &xxn);
            else if (cprev != 0.0)
                FN(axpy_dense)(v.w, xprev, d, cprev);
            double cw;
            const double y = fsgd_target_weight(D, r, pos, s->ysel, s->wsel, &cw);
            nonfinite |= !isfinite(p);
            eta = fsgd_schedule_eta(&s->sch, eta, t, 0.0);
            double dloss = loss_step(L, lparam, y, p, acc);
            if (v.track) pen_sum += 0.5 * v.sq_norm;
            const double weight = cw * (sw_arr ? sw_arr[r] : 1.0);
            const double g = fsgd_clip_dloss(L, dloss);
            const double m = -eta * weight;
            double update = m * g;
            gprev = g;
            mprev = m;
            uprev = update;
            icpt_prev = intercept;
            if (use_l2) {
                double c = 1.0 - eta * alpha;
                if (c < 0.0) c = 0.0;
                double s_new = v.wscale * c;
                FN(wv_scale)(&v, c);
                if (v.wscale != s_new) an *= s_new; /* w was rescaled to wscale 1 */
                wx *= c;
            }
            cprev = 0.0;
            if (update != 0.0) {
                cprev = g * (m / v.wscale);
                if (v.track) {
                    double sq = v.sq_norm + update * (2.0 * wx + update * xx);
                    v.sq_norm = sq > 0.0 ? sq : 0.0;
                }
                if (P->fit_intercept) intercept += update * P->intercept_decay;
            }
            xprev = x;
            if (P->average > 0 && (double)P->average <= t) {
                double num_iter = t - (double)P->average + 1.0;
                FN(wv_add_average)(&v, x, NULL, d, update, num_iter, 0);
                avg_intercept += (intercept - avg_intercept) / num_iter;
            }
            a = an;
            b = bn;
            xx = xxn;
            t += 1.0;
            count++;
        }
        int64_t *tmp = ord->cur;
        ord->cur = ord->next;
        ord->next = tmp;
        ord->len_cur = ord->len_next;
    }
    if (cprev != 0.0) FN(axpy_dense)(v.w, xprev, d, cprev); /* the last row's update */
    (void)lr;
    *vp = v;
    s->t = t;
    s->eta = eta;
    s->intercept = intercept;
    s->avg_intercept = avg_intercept;
    s->count = count;
    *pen_sum_out += pen_sum;
    return nonfinite;
}

/* The general epoch: sparse or dense rows, every penalty, the PA rules.
 * Returns nonzero when a prediction was not finite. */
FSGD_INLINE int FN(sample_epoch_plain)(FN(sample_fit) *s, FN(fsgd_wv) *vp, fsgd_lossacc *acc,
                                      double *pen_sum_out, const int L, const int sparse)
{
    const fsgd_data *D = s->D;
    const fsgd_params *P = s->P;
    const int lr = P->learning_rate;
    const double alpha = P->alpha, eta0 = P->eta0, lparam = P->loss_param;
    const int32_t pos = s->prob->positive_class;
    const double *sw_arr = D->sample_weight;
    const int is_pa = (lr == FSGD_LR_PA1 || lr == FSGD_LR_PA2);
    const int is_hinge = (L == FSGD_LOSS_HINGE);
    const double l1_ratio = s->l1_ratio;
    const int use_l1 = (P->penalty == FSGD_PEN_L1 || P->penalty == FSGD_PEN_ELASTICNET);
    const int use_l2 = (P->penalty >= FSGD_PEN_L2);
    const int pf_l1 = P->order == FSGD_ORDER_SEQUENTIAL;
    fsgd_order_state *ord = &s->ord;
    FN(fsgd_wv) v = *vp;
    double t = s->t, eta = s->eta, intercept = s->intercept, avg_intercept = s->avg_intercept;
    int64_t count = s->count;
    double pen_sum = 0.0;
    int nonfinite = 0;
    while (ord->len_cur > 0) {
        ord->len_next = fsgd_order_fill(ord, ord->next);
        for (int64_t k = 0; k < ord->len_cur; k++) {
            FN(prefetch_ahead)(D, ord, k + s->pf_rows, sparse, pf_l1, !pf_l1);
            const int64_t r = ord->cur[k];
            FN(fsgd_row) row = FN(get_row)(D, r, sparse);
            double cw;
            const double y = fsgd_target_weight(D, r, pos, s->ysel, s->wsel, &cw);
            double xx = 0.0;
            double wx = sparse ? FN(dot)(v.w, row.x, row.ind, row.nnz, sparse)
                               : FN(dot_dense_xx)(v.w, row.x, row.nnz, &xx);
            wx *= v.wscale; /* w.x of the true weights */
            const double p = wx + intercept;
            /* an infinite or NaN prediction is divergence even when the
             * clipped derivative would keep the weights finite */
            nonfinite |= !isfinite(p);
            eta = fsgd_schedule_eta(&s->sch, eta, t, 0.0);
            double dloss = loss_step(L, lparam, y, p, acc);
            if (v.track) pen_sum += (1.0 - l1_ratio) * 0.5 * v.sq_norm + l1_ratio * v.l1_norm;
            const double weight = cw * (sw_arr ? sw_arr[r] : 1.0);
            double update;
            if (is_pa) {
                double sq = sparse ? FN(sqnorm_row)(row.x, row.nnz) : xx;
                double lv = loss_value(L, lparam, y, p);
                if (lr == FSGD_LR_PA1) {
                    if (sq == 0.0) continue; /* skipped, as scikit-learn does */
                    update = lv / sq;
                    if (update > eta0) update = eta0;
                } else {
                    update = lv / (sq + 0.5 / eta0);
                }
                if (is_hinge) update *= y;
                else if (y - p < 0.0) update *= -1.0;
                update *= weight;
            } else {
                update = sgd_update(L, dloss, eta, weight);
            }
            if (use_l2) {
                double c = 1.0 - (1.0 - l1_ratio) * eta * alpha;
                if (c < 0.0) c = 0.0;
                FN(wv_scale)(&v, c);
                wx *= c;
            }
            if (update != 0.0) {
                FN(wv_add)(&v, row.x, row.ind, row.nnz, update, sparse);
                if (!sparse && v.track) {
                    double sq = v.sq_norm + update * (2.0 * wx + update * xx);
                    v.sq_norm = sq > 0.0 ? sq : 0.0;
                }
                if (P->fit_intercept) intercept += update * P->intercept_decay;
            }
            if (P->average > 0 && (double)P->average <= t) {
                double num_iter = t - (double)P->average + 1.0;
                FN(wv_add_average)(&v, row.x, row.ind, row.nnz, update, num_iter, sparse);
                avg_intercept += (intercept - avg_intercept) / num_iter;
            }
            if (use_l1) {
                v.u += l1_ratio * eta * alpha;
                FN(wv_l1penalty)(&v, row.ind, row.nnz, sparse);
            }
            t += 1.0;
            count++;
        }
        int64_t *tmp = ord->cur;
        ord->cur = ord->next;
        ord->next = tmp;
        ord->len_cur = ord->len_next;
    }
    *vp = v;
    s->t = t;
    s->eta = eta;
    s->intercept = intercept;
    s->avg_intercept = avg_intercept;
    s->count = count;
    *pen_sum_out += pen_sum;
    return nonfinite;
}

/* One epoch (fsgd_engine_ops.run_epoch), for loss L and storage `sparse`
 * fixed at compile time. */
FSGD_INLINE int FN(sample_epoch)(void *self, double *objective_sum, const int L, const int sparse)
{
    FN(sample_fit) *s = (FN(sample_fit) *)self;
    const fsgd_params *P = s->P;
    const int is_pa = (P->learning_rate == FSGD_LR_PA1 || P->learning_rate == FSGD_LR_PA2);
    const int use_l1 = (P->penalty == FSGD_PEN_L1 || P->penalty == FSGD_PEN_ELASTICNET);
    fsgd_lossacc acc;
    lossacc_init(&acc);
    double pen_sum = 0.0;
    int nonfinite = 0;
    if (P->learning_rate == FSGD_LR_ADAPTIVE) s->eta = s->step_scale;
    if (s->v.track) FN(wv_norms)(&s->v);
    fsgd_order_epoch(&s->ord);
    s->ord.len_cur = fsgd_order_fill(&s->ord, s->ord.cur);
    if (!sparse && !use_l1 && !is_pa) nonfinite |= FN(sample_epoch_lookahead)(s, &s->v, &acc, &pen_sum, L);
    nonfinite |= FN(sample_epoch_plain)(s, &s->v, &acc, &pen_sum, L, sparse);
    objective_sum[0] += lossacc_total(&acc) + P->alpha * pen_sum;
    s->eta_last = s->eta;
    return nonfinite || !isfinite(s->intercept) || !isfinite(s->v.wscale) ||
           !FN(all_finite)(s->v.w, s->D->n_features);
}

/* Validation score of the current weights (fsgd_engine_ops.score). */
static void FN(sample_score)(void *self, double *score)
{
    FN(sample_fit) *s = (FN(sample_fit) *)self;
    const fsgd_data *D = s->D;
    const int sparse = D->is_csr;
    const int kind = s->P->score_kind;
    fsgd_score_acc acc = {0.0, 0.0, 0.0, 0.0};
    for (int64_t r = 0; r < D->n_samples; r++) {
        if (!D->validation_mask[r]) continue;
        FN(fsgd_row) row = FN(get_row)(D, r, sparse);
        double p = FN(dot)(s->v.w, row.x, row.ind, row.nnz, sparse) * s->v.wscale + s->intercept;
        double y = fsgd_target(D, r, s->prob->positive_class, s->ysel);
        double sw = D->sample_weight ? D->sample_weight[r] : 1.0;
        fsgd_score_add(&acc, kind, sw, y, p, s->ybar);
    }
    score[0] = fsgd_score_value(&acc, kind);
}

/* The weights for the epoch report (fsgd_engine_ops.describe). */
static void FN(sample_describe)(void *self, int k, fsgd_epoch_info *info)
{
    FN(sample_fit) *s = (FN(sample_fit) *)self;
    double sq = 0.0;
    int64_t nnz = 0;
    (void)k;
    for (int64_t j = 0; j < s->D->n_features; j++) {
        double z = (double)s->v.w[j] * s->v.wscale;
        sq += z * z;
        nnz += z != 0.0;
    }
    info->norm = sqrt(sq);
    info->nnz = nnz;
    info->intercept = s->intercept;
    info->t = (double)s->count;
}

/* One specialisation of the epoch per (loss, storage): the loss and the
 * storage are constants inside each, so the compiler removes every
 * per-sample branch on them. */
#define FSGD_SPECIALISE(L)                                                                          \
    static int FN(FSGD_CAT(sample_epoch_dense_, L))(void *s, double *o) { return FN(sample_epoch)(s, o, L, 0); } \
    static int FN(FSGD_CAT(sample_epoch_csr_, L))(void *s, double *o) { return FN(sample_epoch)(s, o, L, 1); }

FSGD_SPECIALISE(0)
FSGD_SPECIALISE(1)
FSGD_SPECIALISE(2)
FSGD_SPECIALISE(3)
FSGD_SPECIALISE(4)
FSGD_SPECIALISE(5)
FSGD_SPECIALISE(6)
FSGD_SPECIALISE(7)
#undef FSGD_SPECIALISE

static int (*const FN(sample_epoch_table)[2][FSGD_N_LOSSES])(void *, double *) = {
    {FN(sample_epoch_dense_0), FN(sample_epoch_dense_1), FN(sample_epoch_dense_2), FN(sample_epoch_dense_3),
     FN(sample_epoch_dense_4), FN(sample_epoch_dense_5), FN(sample_epoch_dense_6), FN(sample_epoch_dense_7)},
    {FN(sample_epoch_csr_0), FN(sample_epoch_csr_1), FN(sample_epoch_csr_2), FN(sample_epoch_csr_3),
     FN(sample_epoch_csr_4), FN(sample_epoch_csr_5), FN(sample_epoch_csr_6), FN(sample_epoch_csr_7)},
};

/* Fits one binary problem: set-up, the driver's epochs, the weights out. */
static int FN(fit_problem)(const fsgd_data *D, const fsgd_params *P, fsgd_problem *prob, int prob_index,
                           fsgd_progress_fn progress, void *ctx)
{
    const int64_t n = D->n_samples, d = D->n_features;
    const int sparse = D->is_csr ? 1 : 0;
    const int is_pa = (P->learning_rate == FSGD_LR_PA1 || P->learning_rate == FSGD_LR_PA2);
    const int use_l1 = (P->penalty == FSGD_PEN_L1 || P->penalty == FSGD_PEN_ELASTICNET);
    int status = FSGD_OK;
    FN(sample_fit) s;
    memset(&s, 0, sizeof(s));
    s.D = D;
    s.P = P;
    s.prob = prob;
    s.ysel[0] = P->label_01 ? 0.0 : -1.0;
    s.ysel[1] = 1.0;
    s.wsel[0] = prob->weight_neg;
    s.wsel[1] = prob->weight_pos;
    s.l1_ratio = fsgd_l1_ratio(P);
    s.t = P->t_start;
    s.eta = P->eta0;
    s.step_scale = P->eta0;
    s.intercept = prob->intercept;
    s.avg_intercept = prob->avg_intercept;
    fsgd_schedule_init(&s.sch, P, NULL, P->loss);

    FN(fsgd_wv) *v = &s.v;
    v->w = (REAL *)prob->coef;
    v->wscale = 1.0;
    v->avg_b = 1.0;
    v->d = d;
    v->track = (P->penalty != FSGD_PEN_NONE) && !is_pa;
    v->track_l1 = v->track && use_l1;
    /* float32 with averaging folds wscale back at 1e-3: the averaged weights
     * are (aw + avg_a w) / avg_b, whose two terms grow like 1 / wscale and
     * cancel, amplifying the float32 rounding of w by about 1 / wscale */
    v->reset_threshold = sizeof(REAL) == 4 ? (P->average > 0 ? 1e-3 : 1e-6) : 1e-9;

    const double row_bytes = sparse ? (double)(D->indptr[n] - D->indptr[0]) * (sizeof(REAL) + 4) / (n > 0 ? n : 1)
                                    : (double)d * sizeof(REAL);
    int order_ok = fsgd_order_init(&s.ord, P->order, n, row_bytes, prob->seed, D->validation_mask);
    s.ord.run_rows = fsgd_sample_run_rows(row_bytes);
    /* rows are prefetched ahead in visiting order, in storage order too: the
     * per-sample dependency chain keeps the core from running far enough
     * ahead for the hardware prefetcher alone (order.h has the distances) */
    s.pf_rows = fsgd_sample_prefetch_rows(row_bytes, P->order == FSGD_ORDER_SEQUENTIAL);
    if (use_l1) v->q = (double *)calloc((size_t)d, sizeof(double));
    if (P->average > 0) {
        v->aw = (double *)malloc(sizeof(double) * (size_t)d);
        if (v->aw)
            for (int64_t j = 0; j < d; j++) v->aw[j] = (double)((const REAL *)prob->avg_coef)[j];
    }
    if (order_ok != 0 || (use_l1 && !v->q) || (P->average > 0 && !v->aw)) {
        status = FSGD_NO_MEMORY;
        prob->status = status;
    } else {
        fsgd_engine_ops ops = {FN(sample_epoch_table)[sparse][P->loss], FN(sample_score), FN(sample_describe)};
        fsgd_drive_state ds;
        ds.n_outputs = 1;
        ds.one_rule = 0;
        ds.report_index = prob_index;
        ds.n_train = (double)fsgd_training_rows(D, &s.ybar);
        ds.active = &s.active;
        ds.step_scale = &s.step_scale;
        ds.eta_last = &s.eta_last;
        status = fsgd_drive(P, &ds, &ops, &s, prob, progress, ctx);
        FN(wv_reset)(v);
        if (v->aw)
            for (int64_t j = 0; j < d; j++) ((REAL *)prob->avg_coef)[j] = (REAL)v->aw[j];
    }
    prob->intercept = s.intercept;
    prob->avg_intercept = s.avg_intercept;
    free(v->q);
    free(v->aw);
    fsgd_order_free(&s.ord);
    return status;
}

#undef FN
#undef FSGD_VSFX
#undef VSFX_64
#undef VSFX_32
