/*
 * Loss functions of a prediction p against a target y, as inline C.
 *
 * Conventions are scikit-learn's: classification losses other than log take
 * y in {-1, +1}; the log loss is the half binomial deviance with y in {0, 1}
 * (log(1 + e^p) - y p, derivative expit(p) - y); squared loss is 0.5 (p - y)^2.
 *
 * `loss_step` is what the epoch loop calls: it returns dloss/dp and adds the
 * loss value to an accumulator.  For the log loss the accumulator keeps
 * sum((1 - y) p) plus a running product of (1 + e^-p), whose log is taken
 * only when it grows large: one exp per sample serves both the gradient and
 * the loss, and the log is paid once every dozen samples or more.
 */
#ifndef FASTSGD_LOSSES_H
#define FASTSGD_LOSSES_H

#include <math.h>
#include <stdint.h>
#include <string.h>
#include "compiler.h"
#include "fastsgd.h"


typedef struct {
    double sum;   /* accumulated loss */
    double prod;  /* log loss: pending product of (1 + exp(-p)) factors */
} fsgd_lossacc;

FSGD_INLINE void lossacc_init(fsgd_lossacc *a)
{
    a->sum = 0.0;
    a->prod = 1.0;
}

FSGD_INLINE double lossacc_total(fsgd_lossacc *a)
{
    a->sum += log(a->prod);
    a->prod = 1.0;
    return a->sum;
}

/* log(1 + exp(p)) without overflow or loss of precision (cut-offs as in
 * scikit-learn's _loss module). */
FSGD_INLINE double log1pexp(double p)
{
    if (p <= -37.0) return exp(p);
    if (p <= -2.0) return log1p(exp(p));
    if (p <= 18.0) return log(1.0 + exp(p));
    if (p <= 33.3) return p + exp(-p);
    return p;
}

FSGD_INLINE double loss_value(const int L, double param, double y, double p)
{
    double z, r;
    switch (L) {
    case FSGD_LOSS_HINGE:
        z = p * y;
        return z <= param ? param - z : 0.0;
    case FSGD_LOSS_SQUARED_HINGE:
        z = param - p * y;
        return z > 0.0 ? z * z : 0.0;
    case FSGD_LOSS_LOG:
        return log1pexp(p) - y * p;
    case FSGD_LOSS_MODIFIED_HUBER:
        z = p * y;
        if (z >= 1.0) return 0.0;
        if (z >= -1.0) return (1.0 - z) * (1.0 - z);
        return -4.0 * z;
    case FSGD_LOSS_SQUARED:
        return 0.5 * (p - y) * (p - y);
    case FSGD_LOSS_HUBER:
        r = fabs(y - p);
        return r <= param ? 0.5 * r * r : param * (r - 0.5 * param);
    case FSGD_LOSS_EPS_INSENSITIVE:
        r = fabs(y - p) - param;
        return r > 0.0 ? r : 0.0;
    case FSGD_LOSS_SQ_EPS_INSENSITIVE:
        r = fabs(y - p) - param;
        return r > 0.0 ? r * r : 0.0;
    default:
        return 0.0;
    }
}

/* Derivative of the log loss, expit(p) - y, in scikit-learn's form (exact for
 * y in {0, 1}, no overflow); `e` is exp(-p), used for p > -37. */
FSGD_INLINE double log_dloss_from_e(double y, double p, double e)
{
    if (p > -37.0) return ((1.0 - y) - y * e) / (1.0 + e);
    return exp(p) - y;
}

FSGD_INLINE double loss_dloss(const int L, double param, double y, double p)
{
    double z, r;
    switch (L) {
    case FSGD_LOSS_HINGE:
        return p * y <= param ? -y : 0.0;
    case FSGD_LOSS_SQUARED_HINGE:
        z = param - p * y;
        return z > 0.0 ? -2.0 * y * z : 0.0;
    case FSGD_LOSS_LOG:
        return log_dloss_from_e(y, p, p > -37.0 ? exp(-p) : 0.0);
    case FSGD_LOSS_MODIFIED_HUBER:
        z = p * y;
        if (z >= 1.0) return 0.0;
        if (z >= -1.0) return 2.0 * (1.0 - z) * -y;
        return -4.0 * y;
    case FSGD_LOSS_SQUARED:
        return p - y;
    case FSGD_LOSS_HUBER:
        r = p - y;
        if (fabs(r) <= param) return r;
        return r >= 0.0 ? param : -param;
    case FSGD_LOSS_EPS_INSENSITIVE:
        if (y - p > param) return -1.0;
        if (p - y > param) return 1.0;
        return 0.0;
    case FSGD_LOSS_SQ_EPS_INSENSITIVE:
        z = y - p;
        if (z > param) return -2.0 * (z - param);
        if (z < -param) return 2.0 * (-z - param);
        return 0.0;
    default:
        return 0.0;
    }
}

/* e^x for |x| <= 708, to about 1.5 ulp (saturating beyond): x = (64 k + j)
 * ln2 / 64 + r, |r| <= ln2 / 128, e^r by its Taylor polynomial of degree 5
 * (error below 4e-17), 2^(j/64) from a table of correctly rounded values, 2^k
 * added to its exponent.  In the per-sample loop the exponential is on the
 * chain from one row's prediction to the next, so it is kept short: half
 * the operations of a degree-12 polynomial on |r| <= ln2/2. */
static const double fsgd_exp2_64[64] = {
    /* 2^(j/64), generated with 60-digit decimals */
    0x1.0000000000000p+0, 0x1.02c9a3e778061p+0, 0x1.059b0d3158574p+0, 0x1.0874518759bc8p+0,
    0x1.0b5586cf9890fp+0, 0x1.0e3ec32d3d1a2p+0, 0x1.11301d0125b51p+0, 0x1.1429aaea92de0p+0,
    0x1.172b83c7d517bp+0, 0x1.1a35beb6fcb75p+0, 0x1.1d4873168b9aap+0, 0x1.2063b88628cd6p+0,
    0x1.2387a6e756238p+0, 0x1.26b4565e27cddp+0, 0x1.29e9df51fdee1p+0, 0x1.2d285a6e4030bp+0,
    0x1.306fe0a31b715p+0, 0x1.33c08b26416ffp+0, 0x1.371a7373aa9cbp+0, 0x1.3a7db34e59ff7p+0,
    0x1.3dea64c123422p+0, 0x1.4160a21f72e2ap+0, 0x1.44e086061892dp+0, 0x1.486a2b5c13cd0p+0,
    0x1.4bfdad5362a27p+0, 0x1.4f9b2769d2ca7p+0, 0x1.5342b569d4f82p+0, 0x1.56f4736b527dap+0,
    0x1.5ab07dd485429p+0, 0x1.5e76f15ad2148p+0, 0x1.6247eb03a5585p+0, 0x1.6623882552225p+0,
    0x1.6a09e667f3bcdp+0, 0x1.6dfb23c651a2fp+0, 0x1.71f75e8ec5f74p+0, 0x1.75feb564267c9p+0,
    0x1.7a11473eb0187p+0, 0x1.7e2f336cf4e62p+0, 0x1.82589994cce13p+0, 0x1.868d99b4492edp+0,
    0x1.8ace5422aa0dbp+0, 0x1.8f1ae99157736p+0, 0x1.93737b0cdc5e5p+0, 0x1.97d829fde4e50p+0,
    0x1.9c49182a3f090p+0, 0x1.a0c667b5de565p+0, 0x1.a5503b23e255dp+0, 0x1.a9e6b5579fdbfp+0,
    0x1.ae89f995ad3adp+0, 0x1.b33a2b84f15fbp+0, 0x1.b7f76f2fb5e47p+0, 0x1.bcc1e904bc1d2p+0,
    0x1.c199bdd85529cp+0, 0x1.c67f12e57d14bp+0, 0x1.cb720dcef9069p+0, 0x1.d072d4a07897cp+0,
    0x1.d5818dcfba487p+0, 0x1.da9e603db3285p+0, 0x1.dfc97337b9b5fp+0, 0x1.e502ee78b3ff6p+0,
    0x1.ea4afa2a490dap+0, 0x1.efa1bee615a27p+0, 0x1.f50765b6e4540p+0, 0x1.fa7c1819e90d8p+0,
};

/* e^x = scale (p01 + r2 u) for x in [-708, 708] (exp_tab below clamps to
 * it): the table's 2^(k + j/64) and the polynomial's parts, of which u is
 * the last ready.  A caller that needs a + b e^x can then end on one
 * multiply-add after u instead of a multiply, an add and another multiply. */
typedef struct {
    double scale, p01, r2, u;
} fsgd_exp_parts;

FSGD_INLINE fsgd_exp_parts exp_tab_parts(double x)
{
    const double shifter = 6755399441055744.0; /* 1.5 * 2^52: rounds to an integer */
    double kd = x * 0x1.71547652b82fep+6 + shifter; /* 64 / ln2 */
    uint64_t kb;
    memcpy(&kb, &kd, sizeof(kb));
    kd -= shifter;
    /* ln2 / 64 in two parts; the first has 20 trailing zero bits, so kd times
     * it is exact for |kd| < 2^16 (|x| <= 708 gives |kd| <= 65,370) */
    double r = x - kd * 0x1.62e42fef00000p-7 - kd * 0x1.473de6af278edp-40;
    fsgd_exp_parts e;
    e.r2 = r * r;
    e.p01 = 1.0 + r;
    double p23 = 0.5 + r * 0x1.5555555555555p-3;                 /* 1/2 + r/6 */
    double p45 = 0x1.5555555555555p-5 + r * 0x1.1111111111111p-7; /* 1/24 + r/120 */
    e.u = p23 + e.r2 * p45;
    /* the low 32 bits of kb hold 64 k + j */
    const int32_t kj = (int32_t)(uint32_t)kb;
    uint64_t sb;
    memcpy(&sb, &fsgd_exp2_64[kj & 63], sizeof(sb));
    /* 2^(j/64) is in [1, 2): adding k to its exponent stays in range */
    sb += (uint64_t)(int64_t)((kj - (kj & 63)) / 64) << 52;
    memcpy(&e.scale, &sb, sizeof(e.scale));
    return e;
}

/* e^x, saturating at e^+-708 beyond that range instead of overflowing */
FSGD_INLINE double exp_tab(double x)
{
    fsgd_exp_parts e = exp_tab_parts(x > 708.0 ? 708.0 : (x < -708.0 ? -708.0 : x));
    return e.scale * (e.p01 + e.r2 * e.u);
}

/* dloss/dp, and the loss value added to `acc`. */
FSGD_INLINE double loss_step(const int L, double param, double y, double p, fsgd_lossacc *acc)
{
    if (L == FSGD_LOSS_LOG) {
        /* log(1 + e^p) - y p = (1 - y) p + log(1 + e^-p) */
        if (p > -37.0) {
            /* e = e^-p; the range check as a branch (taken the same way
             * nearly always), not a clamp on the path from p to dloss, and
             * 1 + e and (1 - y) - y e each one multiply-add after the
             * polynomial's last part (exp_tab_parts) */
            fsgd_exp_parts e = exp_tab_parts(p < 708.0 ? -p : -708.0);
            const double s = e.scale * e.p01, t = e.scale * e.r2;
            const double den = (1.0 + s) + t * e.u;
            const double num = ((1.0 - y) - y * s) - (y * t) * e.u;
            acc->sum += (1.0 - y) * p;
            acc->prod *= den;  /* each factor is below 2e16 */
            if (acc->prod > 1e250) {
                acc->sum += log(acc->prod);
                acc->prod = 1.0;
            }
            return num / den;
        }
        double ep = exp(p);
        acc->sum += ep - y * p;
        return ep - y;
    }
    acc->sum += loss_value(L, param, y, p);
    return loss_dloss(L, param, y, p);
}

/* ---- losses of a group of predictions (the batch engine) ----
 * The batch engine computes a chunk's predictions first, then their losses
 * here, then the gradient.  Written branch-free, but GCC 12 leaves these
 * loops scalar (with the table exponential as with the polynomial before it,
 * checked with -fopt-info-vec); the rows' independent chains still overlap. */
/* dl[i] = dloss/dp at (y[i], p[i]) for i < n; returns the summed loss, each
 * row's weighted by w[i] (w NULL: unweighted).  n is at most FSGD_GROUP_MAX. */
#define FSGD_GROUP_MAX 32
FSGD_INLINE double loss_group(const int L, double param, const double *y, const double *p,
                              const double *w, double *dl, int n)
{
    double total = 0.0;
    if (L == FSGD_LOSS_LOG) {
        /* as loss_step: loss = (1 - y) p + log(1 + e^-p), dloss from e = e^-p;
         * below p = -37, e is taken at -37 and the loss corrected by -37 - p
         * (log(1 + e^-p) = -p + O(e^p) there) */
        double fac[FSGD_GROUP_MAX], lin[FSGD_GROUP_MAX];
#pragma omp simd
        for (int i = 0; i < n; i++) {
            double pc = p[i] > -37.0 ? p[i] : -37.0;
            double e = exp_tab(-pc);
            dl[i] = ((1.0 - y[i]) - y[i] * e) / (1.0 + e);
            fac[i] = 1.0 + e;
            lin[i] = (1.0 - y[i]) * p[i] + (-37.0 - p[i] > 0.0 ? -37.0 - p[i] : 0.0);
        }
        if (w) {
            for (int i = 0; i < n; i++) total += w[i] * (lin[i] + log(fac[i]));
            return total;
        }
        /* unweighted: one log per 16 rows; each factor is below 1.2e16, 16 of
         * them below 1e257 */
        for (int i0 = 0; i0 < n; i0 += 16) {
            double prod = 1.0;
            for (int i = i0; i < n && i < i0 + 16; i++) {
                prod *= fac[i];
                total += lin[i];
            }
            total += log(prod);
        }
        return total;
    }
    for (int i = 0; i < n; i++) {
        double lv = loss_value(L, param, y[i], p[i]);
        total += w ? w[i] * lv : lv;
        dl[i] = loss_dloss(L, param, y[i], p[i]);
    }
    return total;
}

#endif
