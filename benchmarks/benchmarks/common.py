"""Data, estimators and quality measures shared by the asv benchmarks.

Only numpy, scipy, scikit-learn (with its dependency threadpoolctl) and fastsgd
are imported here: no asv.

Sizes come from the profile named by the environment variable
``FASTSGD_ASV_PROFILE`` (read at import):

========= ============================ =============================================
profile   dense data (train rows x cols) CSR data (train rows x cols, density)
========= ============================ =============================================
default   100,000 x 200                100,000 x 1,000, 0.01 (scikit-learn's SGD
                                       benchmark shapes)
large     1,000,000 x 100              1,000,000 x 1,000, 0.01
ci        20,000 x 200                 20,000 x 1,000, 0.01 (smoke runs)
========= ============================ =============================================

Every data set also has held-out rows (a fifth of the training rows) drawn
from the same model.  Generation is deterministic (fixed seeds) and cached in
the process, one data set at a time: asv re-runs ``setup`` before every timing
sample, and that must not regenerate the data.
"""

import os
from collections import namedtuple

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

import fastsgd

PROFILE_ENV = "FASTSGD_ASV_PROFILE"

Profile = namedtuple(
    "Profile", "name dense_shape sparse_shape sparse_density timeout max_repeat_time"
)
PROFILES = {
    "default": Profile("default", (100_000, 200), (100_000, 1_000), 0.01, 180.0, 20.0),
    "large": Profile("large", (1_000_000, 100), (1_000_000, 1_000), 0.01, 900.0, 60.0),
    "ci": Profile("ci", (20_000, 200), (20_000, 1_000), 0.01, 60.0, 5.0),
}


def get_profile(name=None):
    """The profile named by ``name`` or else by $FASTSGD_ASV_PROFILE (default: "default")."""
    if name is None:
        name = os.environ.get(PROFILE_ENV, "").strip() or "default"
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(
            "%s=%r: unknown profile, expected one of %s" % (PROFILE_ENV, name, ", ".join(PROFILES))
        ) from None


PROFILE = get_profile()

# ---------------------------------------------------------------------------
# parameter axes
#
# batch_size: 1 is the per-sample engine; 256 and "full" the batch engine
# with Adam (make_estimator).  New sizes can be appended: the results of the
# existing combinations stay comparable because their code does not change.
BATCH_SIZES = [1, 256, "full"]
DATA_KINDS = ["dense-float64", "dense-float32", "csr-float64"]
ESTIMATORS = ["classifier", "regressor"]


def data_label(kind, profile=PROFILE):
    """Parameter value of a data kind: the kind, plus "@profile" unless default.

    Results of different profiles therefore never share a parameter value, so
    asv does not compare a large-profile run with a default-profile one.
    """
    return kind if profile.name == "default" else "%s@%s" % (kind, profile.name)


DATA = [data_label(kind) for kind in DATA_KINDS]
PARAMS = [BATCH_SIZES, DATA, ESTIMATORS]
PARAM_NAMES = ["batch_size", "data", "estimator"]

# threads: the batch engine's fit time with n_jobs 1 and 2 (sgd.FitThreads).
# Its coef_ does not depend on n_jobs, so only the time is tracked; the other
# benchmarks run n_jobs=1.  The thread count is part of the parameters, not
# taken from the machine, so results stay comparable across machines.
THREAD_BATCH_SIZES = [256, "full"]
N_JOBS = [1, 2]
THREAD_PARAMS = [THREAD_BATCH_SIZES, DATA, ESTIMATORS, N_JOBS]
THREAD_PARAM_NAMES = PARAM_NAMES + ["n_jobs"]

# ---------------------------------------------------------------------------
# estimators
ALPHA = 1e-4
MAX_ITER = 5
RANDOM_STATE = 0


def make_estimator(estimator, batch_size=1, n_jobs=1):
    """fastsgd estimator of a benchmark: L2, alpha=1e-4, max_iter=5, tol=None, random_state=0.

    The classifier uses log_loss (as benchmarks/compare.py), the regressor its
    default squared_error; everything else is scikit-learn's defaults
    (block shuffle).  batch_size 1 is the per-sample engine; other sizes run
    the batch engine with Adam at a constant step (0.001 for mini-batches,
    Adam's default; 0.1 for full batches, which take one step per epoch).
    n_jobs is explicit for both estimators: the batch engine shares every
    batch among n_jobs threads (a binary per-sample fit uses one anyway).
    """
    common = dict(
        penalty="l2",
        alpha=ALPHA,
        max_iter=MAX_ITER,
        tol=None,
        random_state=RANDOM_STATE,
        n_jobs=n_jobs,
    )
    if batch_size != 1:
        eta0 = 0.1 if batch_size == "full" else 0.001
        common.update(batch_size=batch_size, optimizer="adam", learning_rate="constant", eta0=eta0)
    if estimator == "classifier":
        return fastsgd.SGDClassifier(loss="log_loss", **common)
    if estimator == "regressor":
        return fastsgd.SGDRegressor(loss="squared_error", **common)
    raise ValueError("unknown estimator %r" % estimator)


def single_threaded():
    """Limit BLAS/OpenMP pools to one thread (call .restore_original_limits() to undo).

    Binary fits run on one thread anyway; this keeps predict's and NumPy's
    matrix products from competing for the cores of a shared machine.
    """
    return threadpool_limits(limits=1)


# ---------------------------------------------------------------------------
# data
Dataset = namedtuple("Dataset", "kind X_train X_test y_train y_test")

LABEL_SHIFT = 0.2  # true intercept
NOISE = 0.5  # std of the noise added to the unit-variance true score
TEST_FRACTION = 0.2  # held-out rows per training row
_SEED = 20_250_601

_cache = {}


def parse_kind(label):
    """Data kind of a parameter value ("dense-float32@ci" -> "dense-float32")."""
    kind = label.split("@", 1)[0]
    if kind not in DATA_KINDS:
        raise ValueError("unknown data kind %r" % label)
    return kind


def _dense(n_rows, n_cols, dtype, rng):
    X = np.empty((n_rows, n_cols), dtype=dtype)
    rng.standard_normal(out=X, dtype=dtype)  # in place: no float64 temporary for float32
    return X


def _csr(n_rows, n_cols, density, rng):
    """CSR with exactly round(density * n_cols) standard-normal entries per row.

    The columns are split into that many equal strata and each row has one
    entry at a uniform position in every stratum (sorted, no duplicates, built
    directly in CSR form without COO temporaries).
    """
    k = max(1, int(round(density * n_cols)))
    edges = np.linspace(0, n_cols, k + 1).astype(np.int64)
    offsets = (rng.random((n_rows, k)) * np.diff(edges)).astype(np.int64)
    indices = (offsets + edges[:-1]).astype(np.int32).ravel()
    data = rng.standard_normal(n_rows * k)
    indptr = np.arange(0, n_rows * k + 1, k, dtype=np.int32 if n_rows * k < 2**31 else np.int64)
    return sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_cols))


def _make(kind, profile):
    ss = np.random.SeedSequence([_SEED, DATA_KINDS.index(kind)])
    rng_w, rng_train, rng_test, rng_noise = (np.random.default_rng(s) for s in ss.spawn(4))
    if kind.startswith("dense"):
        n_rows, n_cols = profile.dense_shape
        dtype = np.float32 if kind == "dense-float32" else np.float64
        make = lambda n, rng: _dense(n, n_cols, dtype, rng)  # noqa: E731
        nnz_per_row = n_cols
    else:
        n_rows, n_cols = profile.sparse_shape
        make = lambda n, rng: _csr(n, n_cols, profile.sparse_density, rng)  # noqa: E731
        nnz_per_row = max(1, int(round(profile.sparse_density * n_cols)))
    n_test = max(1, int(round(TEST_FRACTION * n_rows)))
    # true weights: the score x . w has unit variance
    w_true = rng_w.standard_normal(n_cols) / np.sqrt(nnz_per_row)
    X_train = make(n_rows, rng_train)
    X_test = make(n_test, rng_test)
    y_train, y_test = {}, {}
    for X, ys in ((X_train, y_train), (X_test, y_test)):
        w = w_true if sp.issparse(X) else w_true.astype(X.dtype)
        target = np.asarray(X @ w, dtype=np.float64) + LABEL_SHIFT
        target += NOISE * rng_noise.standard_normal(X.shape[0])
        ys["regressor"] = target
        ys["classifier"] = (target > 0).astype(np.int32)
    return kind, X_train, X_test, y_train, y_test


def get_dataset(label, estimator, profile=PROFILE):
    """Dataset(kind, X_train, X_test, y_train, y_test) for a parameter value and an estimator.

    X is shared by both estimators; the last data kind stays cached in the
    process (the cache is emptied before another kind is generated).
    """
    kind = parse_kind(label)
    key = (kind, profile)
    if key not in _cache:
        _cache.clear()
        _cache[key] = _make(kind, profile)
    kind, X_train, X_test, y_train, y_test = _cache[key]
    return Dataset(kind, X_train, X_test, y_train[estimator], y_test[estimator])


def clear_cache():
    _cache.clear()


# ---------------------------------------------------------------------------
# quality
def _row_chunks(X, target_bytes=8 << 20):
    """(start, stop, float64 chunk) over the rows of X; dense chunks of ~8 MiB."""
    n = X.shape[0]
    if sp.issparse(X):
        yield 0, n, X.astype(np.float64, copy=False)
        return
    step = max(1, target_bytes // (8 * max(1, X.shape[1])))
    for a in range(0, n, step):
        yield a, min(a + step, n), np.asarray(X[a : a + step], dtype=np.float64)


def _decision(X, w, b):
    out = np.empty(X.shape[0])
    for a, z, Xc in _row_chunks(X):
        out[a:z] = Xc @ w
    return out + b


LOSSES = {"classifier": "log_loss", "regressor": "squared_error"}


def coef_objective(estimator, X, y, w, b, alpha=ALPHA):
    """fastsgd.objective of the benchmarked model (L2 penalty) with weights w, intercept b."""
    classes = [0, 1] if estimator == "classifier" else None
    return fastsgd.objective(
        w, X, y, intercept=b, classes=classes, loss=LOSSES[estimator], penalty="l2", alpha=alpha
    )


def optimal_objective(estimator, X, y, alpha=ALPHA):
    """Minimum of the benchmarked model's objective over (w, b), from a
    deterministic reference solver.

    Regressor: the exact ridge solution of the normal equations (float64).
    Classifier: L-BFGS on the (strongly convex) L2-regularised log loss to a
    gradient tolerance far below the suboptimality of a 5-epoch SGD fit.
    """
    n, d = X.shape
    if estimator == "regressor":
        G = np.zeros((d + 1, d + 1))
        rhs = np.zeros(d + 1)
        for a, z, Xc in _row_chunks(X):
            XtX = Xc.T @ Xc
            G[:d, :d] += XtX.toarray() if sp.issparse(XtX) else XtX
            colsum = np.asarray(Xc.sum(axis=0)).ravel()
            G[:d, d] += colsum
            G[d, :d] += colsum
            rhs[:d] += Xc.T @ y[a:z]
            rhs[d] += y[a:z].sum()
        G[d, d] = n
        G[np.arange(d), np.arange(d)] += alpha * n
        theta = np.linalg.solve(G, rhs)
        return coef_objective(estimator, X, y, theta[:d], theta[d], alpha)

    z_sign = np.where(y == 1, 1.0, -1.0)

    def fun(theta):
        w, b = theta[:d], theta[d]
        m = z_sign * _decision(X, w, b)
        r = -z_sign * np.exp(-np.logaddexp(0.0, m)) / n  # d loss / d f, averaged
        grad = np.empty(d + 1)
        gw = np.zeros(d)
        for a, e, Xc in _row_chunks(X):
            gw += Xc.T @ r[a:e]
        grad[:d] = gw + alpha * w
        grad[d] = r.sum()
        return coef_objective(estimator, X, y, w, b, alpha), grad

    res = scipy.optimize.minimize(
        fun,
        np.zeros(d + 1),
        jac=True,
        method="L-BFGS-B",
        options=dict(maxiter=5000, maxcor=20, ftol=1e-15, gtol=1e-10),
    )
    return float(res.fun)


def heldout_error(est, X_test, y_test):
    """1 - accuracy (classifier) or 1 - R^2 (regressor) on the held-out rows: lower is better."""
    return 1.0 - float(est.score(X_test, y_test))
