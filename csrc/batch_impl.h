/*
 * The batch engine's row kernels for one dtype: the partial gradient of a
 * chunk of rows, and predictions.  sgd_kernels.c includes this file after
 * sgd_impl.h, with REAL = double / SFX = 64 and REAL = float / SFX = 32, once
 * per instruction set.  The orchestration (batches, threads, optimizers,
 * schedules, stopping) is in batch.c; docs/batch.md has the semantics.
 *
 * The working weights are double whatever X's dtype (K rows of n_features + 1
 * values, intercept last), and so are the gradient accumulators: a chunk's
 * gradient sums hundreds of rows.  Dense float32 rows of binary and OvR
 * losses are multiplied in float lanes (twice as many per vector, no
 * widening of X): the weights narrowed to float for the group's dot products,
 * a group's gradient rows summed in float (at most FSGD_GROUP_MAX terms per
 * lane, or FSGD_F32_BLOCK features per dot product) before the sums are
 * widened and added in double.  That costs about 1e-7 relative, the order of
 * float32 data's own rounding.
 */

#define FSGD_CAT_(a, b) a##b
#define FSGD_CAT(a, b) FSGD_CAT_(a, b)
#define FN(name) FSGD_CAT(name, SFX)

/* w.x with double weights and a row of X's dtype. */
FSGD_INLINE double FN(bdot)(const double *w, const REAL *x, const int32_t *ind, int64_t nnz,
                            const int sparse)
{
    if (sparse) {
        double s0 = 0.0, s1 = 0.0;
        int64_t j = 0;
        for (; j + 2 <= nnz; j += 2) {
            s0 += w[ind[j]] * (double)x[j];
            s1 += w[ind[j + 1]] * (double)x[j + 1];
        }
        if (j < nnz) s0 += w[ind[j]] * (double)x[j];
        return s0 + s1;
    }
#if defined(__GNUC__)
    fsgd_vd a0 = {0}, a1 = {0};
    int64_t j = 0;
    for (; j + 2 * FSGD_VL <= nnz; j += 2 * FSGD_VL) {
        fsgd_vd w0, w1;
        memcpy(&w0, w + j, sizeof(w0));
        memcpy(&w1, w + j + FSGD_VL, sizeof(w1));
        a0 += w0 * FN(loadv)(x + j);
        a1 += w1 * FN(loadv)(x + j + FSGD_VL);
    }
    double r = fsgd_hsum(a0 + a1);
    for (; j < nnz; j++) r += w[j] * (double)x[j];
    return r;
#else
    double r = 0.0;
    for (int64_t j = 0; j < nnz; j++) r += w[j] * (double)x[j];
    return r;
#endif
}

/* g += c x. */
FSGD_INLINE void FN(baxpy)(double *g, const REAL *x, const int32_t *ind, int64_t nnz, double c,
                           const int sparse)
{
    if (sparse) {
        for (int64_t j = 0; j < nnz; j++) g[ind[j]] += c * (double)x[j];
        return;
    }
#if defined(__GNUC__)
    int64_t j = 0;
    for (; j + FSGD_VL <= nnz; j += FSGD_VL) {
        fsgd_vd gv;
        memcpy(&gv, g + j, sizeof(gv));
        gv += FN(loadv)(x + j) * c;
        memcpy(g + j, &gv, sizeof(gv));
    }
    for (; j < nnz; j++) g[j] += c * (double)x[j];
#else
    for (int64_t j = 0; j < nnz; j++) g[j] += c * (double)x[j];
#endif
}

/* G[0..d) += sum_i coef[i] x_i[0..d) over the dense rows xr[0..n) of a group:
 * the rows are in L1 (the group's predictions just read them), and four
 * vectors of G are accumulated in registers over all the rows before being
 * stored once, rather than G being loaded and stored once per row. */
FSGD_INLINE void FN(group_axpy_dense)(double *G, const REAL *const *xr, const double *coef, int n,
                                      int64_t d)
{
    int64_t j = 0;
#if defined(__GNUC__) && SFX == 32
    /* float32 rows: float lanes, twice as many per vector and no widening of
     * x; each lane sums at most FSGD_GROUP_MAX products in float before the
     * sum is widened and added to G */
    {
        float cf[FSGD_GROUP_MAX];
        for (int i = 0; i < n; i++) cf[i] = (float)coef[i];
        for (; j + 2 * FSGD_FL <= d; j += 2 * FSGD_FL) {
            fsgd_vfw a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0};
            int i = 0;
            for (; i + 2 <= n; i += 2) {
                fsgd_vfw x0, x1, y0, y1;
                memcpy(&x0, xr[i] + j, sizeof(x0));
                memcpy(&x1, xr[i] + j + FSGD_FL, sizeof(x1));
                memcpy(&y0, xr[i + 1] + j, sizeof(y0));
                memcpy(&y1, xr[i + 1] + j + FSGD_FL, sizeof(y1));
                a0 += x0 * cf[i];
                a1 += x1 * cf[i];
                b0 += y0 * cf[i + 1];
                b1 += y1 * cf[i + 1];
            }
            if (i < n) {
                fsgd_vfw x0, x1;
                memcpy(&x0, xr[i] + j, sizeof(x0));
                memcpy(&x1, xr[i] + j + FSGD_FL, sizeof(x1));
                a0 += x0 * cf[i];
                a1 += x1 * cf[i];
            }
            fsgd_widen_add(G + j, a0 + b0);
            fsgd_widen_add(G + j + FSGD_FL, a1 + b1);
        }
    }
#endif
#if defined(__GNUC__)
    for (; j + 4 * FSGD_VL <= d; j += 4 * FSGD_VL) {
        fsgd_vd a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        for (int i = 0; i < n; i++) {
            const REAL *x = xr[i] + j;
            const double c = coef[i];
            a0 += FN(loadv)(x) * c;
            a1 += FN(loadv)(x + FSGD_VL) * c;
            a2 += FN(loadv)(x + 2 * FSGD_VL) * c;
            a3 += FN(loadv)(x + 3 * FSGD_VL) * c;
        }
        fsgd_vd g0, g1, g2, g3;
        memcpy(&g0, G + j, sizeof(g0));
        memcpy(&g1, G + j + FSGD_VL, sizeof(g1));
        memcpy(&g2, G + j + 2 * FSGD_VL, sizeof(g2));
        memcpy(&g3, G + j + 3 * FSGD_VL, sizeof(g3));
        g0 += a0;
        g1 += a1;
        g2 += a2;
        g3 += a3;
        memcpy(G + j, &g0, sizeof(g0));
        memcpy(G + j + FSGD_VL, &g1, sizeof(g1));
        memcpy(G + j + 2 * FSGD_VL, &g2, sizeof(g2));
        memcpy(G + j + 3 * FSGD_VL, &g3, sizeof(g3));
    }
    for (; j + FSGD_VL <= d; j += FSGD_VL) {
        fsgd_vd a0 = {0}, a1 = {0};
        int i = 0;
        for (; i + 2 <= n; i += 2) {
            a0 += FN(loadv)(xr[i] + j) * coef[i];
            a1 += FN(loadv)(xr[i + 1] + j) * coef[i + 1];
        }
        if (i < n) a0 += FN(loadv)(xr[i] + j) * coef[i];
        fsgd_vd g0;
        memcpy(&g0, G + j, sizeof(g0));
        g0 += a0 + a1;
        memcpy(G + j, &g0, sizeof(g0));
    }
#endif
    for (; j < d; j++) {
        double a = 0.0;
        for (int i = 0; i < n; i++) a += coef[i] * (double)xr[i][j];
        G[j] += a;
    }
}

/* Softmax cross-entropy rows: per row, the K predictions, their
 * log-sum-exp, and the K gradient rows. */
FSGD_INLINE void FN(bchunk_softmax)(const fsgd_data *D, const fsgd_batch_ctx *c,
                                    const int64_t *rows, int64_t nrows, int64_t n_ahead,
                                    double *G, double *loss, double *scratch, int *nonfinite,
                                    const int sparse)
{
    const int K = c->K;
    const int64_t d = c->d, ld = d + 1;
    const double *W = c->W;
    const double *sw = D->sample_weight;
    const int64_t pf = c->prefetch_l1 ? FSGD_PREFETCH_ROWS_SEQ : FSGD_PREFETCH_ROWS_RANDOM;
    double *z = scratch;  /* K values */
    double total = 0.0;
    int nf = 0;
    for (int64_t i = 0; i < nrows; i++) {
        if (i + pf < nrows + n_ahead)
            FN(prefetch_row)(D, rows[i + pf], sparse, c->prefetch_l1, !c->prefetch_l1);
        const int64_t r = rows[i];
        FN(fsgd_row) row = FN(get_row)(D, r, sparse);
        double mx = -INFINITY;
        for (int k = 0; k < K; k++) {
            const double *Wk = W + (int64_t)k * ld;
            z[k] = FN(bdot)(Wk, row.x, row.ind, row.nnz, sparse) + Wk[d];
            nf |= !isfinite(z[k]);
            if (z[k] > mx) mx = z[k];
        }
        double se = 0.0;
        for (int k = 0; k < K; k++) se += exp(z[k] - mx);
        const double lse = mx + log(se);
        const int32_t yc = D->y_code[r];
        const double sy = (sw ? sw[r] : 1.0) * c->weight_pos[yc];
        total += sy * (lse - z[yc]);
        for (int k = 0; k < K; k++) {
            double coef = sy * (exp(z[k] - lse) - (k == yc ? 1.0 : 0.0));
            if (coef != 0.0) {
                double *Gk = G + (int64_t)k * ld;
                FN(baxpy)(Gk, row.x, row.ind, row.nnz, coef, sparse);
                Gk[d] += coef;
            }
        }
    }
    loss[0] = total;
    for (int k = 1; k < K; k++) loss[k] = 0.0;
    *nonfinite = nf;
}

#if defined(__GNUC__) && SFX == 32
/* out[i] = w . x_i for the n float32 rows of a group, in float lanes: each
 * block of w is narrowed to float once per four rows; products are summed in
 * float within blocks of FSGD_F32_BLOCK features, the block sums in double. */
FSGD_INLINE void group_dot_f32(const double *w, const float *const *xr, int n, int64_t d,
                               double *out)
{
    for (int i0 = 0; i0 < n; i0 += 4) {
        /* rows past the group's end repeat its last row; their sums are dropped */
        const float *x0 = xr[i0], *x1 = xr[i0 + 1 < n ? i0 + 1 : n - 1];
        const float *x2 = xr[i0 + 2 < n ? i0 + 2 : n - 1], *x3 = xr[i0 + 3 < n ? i0 + 3 : n - 1];
        fsgd_vd s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
        int64_t j = 0;
        while (j + FSGD_FL <= d) {
            const int64_t end = d - j > FSGD_F32_BLOCK ? j + FSGD_F32_BLOCK : d;
            fsgd_vfw a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
            for (; j + FSGD_FL <= end; j += FSGD_FL) {
                fsgd_vfw wf, v0, v1, v2, v3;
                fsgd_vd wl, wh;
                memcpy(&wl, w + j, sizeof(wl));
                memcpy(&wh, w + j + FSGD_VL, sizeof(wh));
                wf = fsgd_vfw_join(fsgd_d2f(wl), fsgd_d2f(wh));
                memcpy(&v0, x0 + j, sizeof(v0));
                memcpy(&v1, x1 + j, sizeof(v1));
                memcpy(&v2, x2 + j, sizeof(v2));
                memcpy(&v3, x3 + j, sizeof(v3));
                a0 += wf * v0;
                a1 += wf * v1;
                a2 += wf * v2;
                a3 += wf * v3;
            }
            s0 += fsgd_widen_sum(a0);
            s1 += fsgd_widen_sum(a1);
            s2 += fsgd_widen_sum(a2);
            s3 += fsgd_widen_sum(a3);
        }
        double r[4] = {fsgd_hsum(s0), fsgd_hsum(s1), fsgd_hsum(s2), fsgd_hsum(s3)};
        for (; j < d; j++) {
            r[0] += w[j] * (double)x0[j];
            r[1] += w[j] * (double)x1[j];
            r[2] += w[j] * (double)x2[j];
            r[3] += w[j] * (double)x3[j];
        }
        for (int k = 0; k < 4 && i0 + k < n; k++) out[i0 + k] = r[k];
    }
}
#undef FSGD_GROUP_DOT_F32
#define FSGD_GROUP_DOT_F32 1
#else
#undef FSGD_GROUP_DOT_F32
#define FSGD_GROUP_DOT_F32 0
#endif

/* Partial gradient of the rows `rows[0..nrows)`: G (K x (d + 1), zeroed here)
 * receives sum_i s_i dloss_i x_i (intercept slot: sum_i s_i dloss_i), loss[k]
 * sum_i s_i loss_i (s_i: sample times class weight), *nonfinite whether a prediction was not
 * finite.  rows[nrows .. nrows + n_ahead) are the batch's next rows (another
 * chunk's, usually this thread's next): they are prefetched too, so a chunk
 * does not start on rows still in memory.  scratch holds
 * FSGD_CHUNK_SCRATCH(K) doubles.
 *
 * Binary losses go by groups of rows (FSGD_GROUP_MAX, 8 for dense float32
 * rows) in three steps: the predictions, then the losses and derivatives of
 * the group in one vectorised loop (loss_group), then the gradient rows (dense: all rows of
 * the group at once, group_axpy_dense).  The rows of a group are still in L1
 * for the third step, and no row waits for its own exp/division chain before
 * the next row's dot product can start. */
FSGD_INLINE void FN(bchunk_impl)(const fsgd_data *D, const fsgd_batch_ctx *c, const int64_t *rows,
                                 int64_t nrows, int64_t n_ahead, double *G, double *loss,
                                 double *scratch, int *nonfinite, const int L, const int sparse)
{
    const int K = c->K;
    const int64_t d = c->d, ld = d + 1;
    memset(G, 0, sizeof(double) * (size_t)K * (size_t)ld);
    if (L == FSGD_LOSS_SOFTMAX) {
        FN(bchunk_softmax)(D, c, rows, nrows, n_ahead, G, loss, scratch, nonfinite, sparse);
        return;
    }
    const double *W = c->W;
    const double *sw = D->sample_weight;
    const double max_dloss = 1e12;
    /* Rows per group, and how far ahead rows are prefetched.  A group's
     * first step reads all its rows from memory in a burst, its last two
     * work on them in L1 while memory idles; for dense float32 rows, whose
     * products are cheap, groups of 8 keep the reads more even (with rows
     * prefetched 8 ahead, one group: epoch_harness.c, 800,000 x 100, Adam,
     * batch 256, block order, interleaved: 67.7 -> 62.1 ns per row on one
     * thread, 39.1 -> 36.5 on two); float64 rows were 5% slower on one
     * thread in groups of 8, and groups of 4 were no faster. */
    const int grows = (SFX == 32 && !sparse) ? 8 : FSGD_GROUP_MAX;
    const int64_t pf = (SFX == 32 && !sparse) ? 8
                       : (c->prefetch_l1 ? FSGD_PREFETCH_ROWS_SEQ : FSGD_PREFETCH_ROWS_RANDOM);
    /* per output k: predictions, targets, derivatives of the group */
    double *P = scratch, *Y = scratch + (size_t)K * FSGD_GROUP_MAX;
    double *DL = scratch + 2 * (size_t)K * FSGD_GROUP_MAX;
    double *WT = scratch + 3 * (size_t)K * FSGD_GROUP_MAX;  /* weights, when weighted */
    const REAL *XR[FSGD_GROUP_MAX];  /* the group's dense rows */
    const double ysel[2] = {c->neg, 1.0};  /* target by label (fsgd_target, kernels.h) */
    int nf = 0;
    for (int k = 0; k < K; k++) loss[k] = 0.0;
    for (int64_t g0 = 0; g0 < nrows; g0 += grows) {
        const int gn = (int)(nrows - g0 < grows ? nrows - g0 : grows);
        for (int i = 0; i < gn; i++) {
            const int64_t ia = g0 + i;
            if (ia + pf < nrows + n_ahead)
                FN(prefetch_row)(D, rows[ia + pf], sparse, c->prefetch_l1, !c->prefetch_l1);
            const int64_t r = rows[ia];
            FN(fsgd_row) row = FN(get_row)(D, r, sparse);
            XR[i] = row.x;
            for (int k = 0; k < K; k++) {
                if (!c->active[k]) continue;
                const double wsel[2] = {c->weight_neg[k], c->weight_pos[k]};
                double cw;
                const double y = fsgd_target_weight(D, r, c->positive[k], ysel, wsel, &cw);
                if (!(FSGD_GROUP_DOT_F32 && !sparse)) {
                    const double *Wk = W + (int64_t)k * ld;
                    P[k * FSGD_GROUP_MAX + i] = FN(bdot)(Wk, row.x, row.ind, row.nnz, sparse) + Wk[d];
                }
                Y[k * FSGD_GROUP_MAX + i] = y;
                WT[k * FSGD_GROUP_MAX + i] = (sw ? sw[r] : 1.0) * cw;
            }
        }
        for (int k = 0; k < K; k++) {
            if (!c->active[k]) continue;
            double *Pk = P + k * FSGD_GROUP_MAX;
#if FSGD_GROUP_DOT_F32
            const double *Wk = W + (int64_t)k * ld;
            if (!sparse) {
                group_dot_f32(Wk, (const float *const *)XR, gn, d, Pk);
                for (int i = 0; i < gn; i++) Pk[i] += Wk[d];
            }
#endif
            for (int i = 0; i < gn; i++) nf |= !isfinite(Pk[i]);
        }
        for (int k = 0; k < K; k++) {
            if (!c->active[k]) continue;
            loss[k] += loss_group(L, c->loss_param, Y + k * FSGD_GROUP_MAX, P + k * FSGD_GROUP_MAX,
                                  c->weighted ? WT + k * FSGD_GROUP_MAX : NULL,
                                  DL + k * FSGD_GROUP_MAX, gn);
        }
        for (int k = 0; k < K; k++) {
            if (!c->active[k]) continue;
            /* DL becomes the rows' gradient coefficients s_i dloss_i */
            double *coef = DL + k * FSGD_GROUP_MAX;
            const double *wt = WT + k * FSGD_GROUP_MAX;
            double *Gk = G + (int64_t)k * ld;
            double bsum = 0.0;
            for (int i = 0; i < gn; i++) {
                double dl = coef[i];
                if (dl < -max_dloss) dl = -max_dloss;
                else if (dl > max_dloss) dl = max_dloss;
                coef[i] = wt[i] * dl;
                bsum += coef[i];
            }
            Gk[d] += bsum;
            if (!sparse) {
                FN(group_axpy_dense)(Gk, XR, coef, gn, d);
                continue;
            }
            for (int i = 0; i < gn; i++) {
                if (coef[i] == 0.0) continue;
                FN(fsgd_row) row = FN(get_row)(D, rows[g0 + i], sparse);
                FN(baxpy)(Gk, row.x, row.ind, row.nnz, coef[i], sparse);
            }
        }
    }
    *nonfinite = nf;
}

/* P[i K + k] = W_k x_i + b_k for the given rows. */
static void FN(bpredict)(const fsgd_data *D, const fsgd_batch_ctx *c, const int64_t *rows,
                         int64_t nrows, double *P)
{
    const int sparse = D->is_csr;
    const int64_t ld = c->d + 1;
    for (int64_t i = 0; i < nrows; i++) {
        FN(fsgd_row) row = FN(get_row)(D, rows[i], sparse);
        for (int k = 0; k < c->K; k++) {
            const double *Wk = c->W + (int64_t)k * ld;
            P[i * c->K + k] = FN(bdot)(Wk, row.x, row.ind, row.nnz, sparse) + Wk[c->d];
        }
    }
}

#define FSGD_SPECIALISE(L)                                                                       \
    static void FN(FSGD_CAT(bchunk_dense_, L))(const fsgd_data *D, const fsgd_batch_ctx *c,     \
                                               const int64_t *rows, int64_t n, int64_t ahead,    \
                                               double *G, double *loss, double *scratch,         \
                                               int *nf)                                          \
    {                                                                                            \
        FN(bchunk_impl)(D, c, rows, n, ahead, G, loss, scratch, nf, L, 0);                       \
    }                                                                                            \
    static void FN(FSGD_CAT(bchunk_csr_, L))(const fsgd_data *D, const fsgd_batch_ctx *c,       \
                                             const int64_t *rows, int64_t n, int64_t ahead,      \
                                             double *G, double *loss, double *scratch,           \
                                             int *nf)                                            \
    {                                                                                            \
        FN(bchunk_impl)(D, c, rows, n, ahead, G, loss, scratch, nf, L, 1);                       \
    }

FSGD_SPECIALISE(0)
FSGD_SPECIALISE(1)
FSGD_SPECIALISE(2)
FSGD_SPECIALISE(3)
FSGD_SPECIALISE(4)
FSGD_SPECIALISE(5)
FSGD_SPECIALISE(6)
FSGD_SPECIALISE(7)
FSGD_SPECIALISE(8)
#undef FSGD_SPECIALISE

static const fsgd_batch_chunk_fn FN(bchunk_table)[2][FSGD_N_LOSSES + 1] = {
    {FN(bchunk_dense_0), FN(bchunk_dense_1), FN(bchunk_dense_2), FN(bchunk_dense_3),
     FN(bchunk_dense_4), FN(bchunk_dense_5), FN(bchunk_dense_6), FN(bchunk_dense_7),
     FN(bchunk_dense_8)},
    {FN(bchunk_csr_0), FN(bchunk_csr_1), FN(bchunk_csr_2), FN(bchunk_csr_3), FN(bchunk_csr_4),
     FN(bchunk_csr_5), FN(bchunk_csr_6), FN(bchunk_csr_7), FN(bchunk_csr_8)},
};

#undef FN
