"""Statistical behaviour: block shuffling, sample/class weights, partial_fit, OvR threads.

References are scikit-learn itself, fastsgd.objective at the fitted weights and
L-BFGS optima (scipy.optimize).  Tolerances are tied to the seed-to-seed
spread measured in the test itself.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.linear_model as sk
from _reference import lbfgs_optimum
from scipy.stats import spearmanr
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.preprocessing import StandardScaler
from sklearn.utils import compute_class_weight

import fastsgd
from fastsgd import objective

from helpers import visiting_order


def _classification(n=20000, d=20, seed=0):
    X, y = make_classification(
        n, d, n_informative=10, n_redundant=0, n_clusters_per_class=1, random_state=seed
    )
    return StandardScaler().fit_transform(X), y


def _regression(n=20000, d=20, seed=0):
    X, y = make_regression(n, d, n_informative=10, noise=10.0, random_state=seed)
    X = StandardScaler().fit_transform(X)
    return X, (y - y.mean()) / y.std()


# ---------------------------------------------------------------------------
# (a) block shuffle (default) vs scikit-learn's full shuffle


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_block_shuffle_classifier_matches_sklearn(seed):
    # invscaling keeps the seed-to-seed spread of the objective at ~0.03%, so
    # a per-seed 1% comparison is meaningful (with 'optimal' and alpha=1e-4 the
    # final iterate's objective varies by ~6% between seeds, for both libraries)
    X, y = _classification()
    params = dict(
        loss="log_loss", alpha=1e-4, learning_rate="invscaling", eta0=0.05, max_iter=5, tol=None
    )
    ref = sk.SGDClassifier(random_state=seed, **params).fit(X, y)
    ours = fastsgd.SGDClassifier(random_state=seed, **params).fit(X, y)
    assert ours.shuffle_mode == "block"
    assert objective(ours, X, y) == pytest.approx(objective(ref, X, y), rel=0.01)
    assert abs(ours.score(X, y) - ref.score(X, y)) <= 0.005


def test_block_shuffle_classifier_optimal_schedule_matches_sklearn_on_average():
    # default 'optimal' schedule: compare means over seeds (per-fit spread ~0.5%)
    X, y = _classification()
    params = dict(loss="log_loss", alpha=1e-3, max_iter=5, tol=None)
    seeds = range(8)
    ref = [sk.SGDClassifier(random_state=s, **params).fit(X, y) for s in seeds]
    ours = [fastsgd.SGDClassifier(random_state=s, **params).fit(X, y) for s in seeds]
    obj_ref = np.array([objective(m, X, y) for m in ref])
    obj_ours = np.array([objective(m, X, y) for m in ours])
    acc_ref = np.array([m.score(X, y) for m in ref])
    acc_ours = np.array([m.score(X, y) for m in ours])
    se = np.sqrt(obj_ref.var(ddof=1) / len(obj_ref) + obj_ours.var(ddof=1) / len(obj_ours))
    assert se < 0.003 * obj_ref.mean()  # the comparison below has resolution
    assert obj_ours.mean() == pytest.approx(obj_ref.mean(), rel=0.01)
    assert abs(acc_ours.mean() - acc_ref.mean()) <= 0.005


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_block_shuffle_regressor_matches_sklearn(seed):
    X, y = _regression()
    params = dict(alpha=1e-4, max_iter=5, tol=None)
    ref = sk.SGDRegressor(random_state=seed, **params).fit(X, y)
    ours = fastsgd.SGDRegressor(random_state=seed, **params).fit(X, y)
    assert objective(ours, X, y) == pytest.approx(objective(ref, X, y), rel=0.01)
    assert abs(r2_score(y, ours.predict(X)) - r2_score(y, ref.predict(X))) <= 0.005


def test_block_shuffle_is_random_and_reproducible():
    X, y = _classification(n=5000)
    params = dict(loss="log_loss", alpha=1e-4, max_iter=3, tol=None)
    a = fastsgd.SGDClassifier(random_state=0, **params).fit(X, y)
    b = fastsgd.SGDClassifier(random_state=0, **params).fit(X, y)
    c = fastsgd.SGDClassifier(random_state=1, **params).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert not np.allclose(a.coef_, c.coef_)


# ---------------------------------------------------------------------------
# (b) block shuffle on data sorted by label


SORTED_DATASETS = {
    # well-specified linear problem (objective ~0.26)
    "linear": dict(n_informative=10, n_redundant=0, n_clusters_per_class=1),
    # make_classification's defaults: two clusters per class, redundant
    # features, a harder problem (objective ~0.54)
    "clustered": dict(n_informative=10),
}


@pytest.mark.parametrize("dataset", list(SORTED_DATASETS))
def test_block_shuffle_on_label_sorted_data_matches_full_shuffle(dataset):
    X, y = make_classification(200000, 20, random_state=0, **SORTED_DATASETS[dataset])
    X = StandardScaler().fit_transform(X)
    order = np.argsort(y, kind="stable")
    X, y = np.ascontiguousarray(X[order]), y[order]
    params = dict(loss="log_loss", alpha=1e-4, max_iter=5, tol=None)
    obj = {"block": [], "full": []}
    for seed in (0, 1, 2):
        for mode in obj:
            m = fastsgd.SGDClassifier(shuffle_mode=mode, random_state=seed, **params).fit(X, y)
            obj[mode].append(objective(m, X, y))
    block, full = np.mean(obj["block"]), np.mean(obj["full"])
    # sanity: the data really is adversarial for an unshuffled pass
    unshuffled = fastsgd.SGDClassifier(shuffle=False, **params).fit(X, y)
    assert objective(unshuffled, X, y) > 1.5 * full
    assert block == pytest.approx(full, rel=0.01), (obj["block"], obj["full"])


def test_block_shuffle_on_small_label_sorted_data():
    # iris is stored sorted by class and is tiny (150 x 4): shuffle=True must
    # still shuffle it, as scikit-learn's does
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    assert np.all(np.diff(y) >= 0)
    seeds = range(10)
    acc = {}
    for mode in ("block", "full"):
        fits = [fastsgd.SGDClassifier(shuffle_mode=mode, random_state=s).fit(X, y) for s in seeds]
        acc[mode] = np.mean([m.score(X, y) for m in fits])
    acc_sklearn = np.mean([sk.SGDClassifier(random_state=s).fit(X, y).score(X, y) for s in seeds])
    acc_unshuffled = fastsgd.SGDClassifier(shuffle=False).fit(X, y).score(X, y)
    assert acc["full"] == pytest.approx(acc_sklearn, abs=1e-12)  # same permutations
    assert acc_unshuffled < acc_sklearn - 0.2  # the row order matters here
    assert acc["block"] >= acc_sklearn - 0.03, (acc, acc_sklearn, acc_unshuffled)


def _onehot_csr(n, pad):
    """Row i: 1.0 in column i, plus `pad` explicit zeros (to set the row size)."""
    cols = np.column_stack([np.arange(n)] + [np.full(n, n + k) for k in range(pad)]).ravel()
    vals = np.column_stack([np.ones(n)] + [np.zeros(n)] * pad).ravel()
    indptr = np.arange(0, n * (pad + 1) + 1, pad + 1)
    return sp.csr_matrix((vals, cols, indptr), shape=(n, n + pad))


@pytest.mark.parametrize(
    "n, pad", [(60, 3), (150, 2), (1000, 2), (5000, 2), (50000, 2), (3000, 40)]
)
def test_block_order_visits_every_row_once_and_mixes(n, pad):
    X = _onehot_csr(n, pad)
    unshuffled = visiting_order(fastsgd.SGDRegressor(shuffle=False), X)
    np.testing.assert_array_equal(unshuffled, np.arange(1, n + 1))  # the probe works
    orders = [visiting_order(fastsgd.SGDRegressor(random_state=s), X) for s in range(5)]
    for pos in orders:
        # a permutation: every row exactly once per epoch
        np.testing.assert_array_equal(np.sort(pos), np.arange(1, n + 1))
    # not storage order: for a uniform permutation the rank correlation
    # between a row's index and its position is ~N(0, 1/n); the block order
    # keeps runs of consecutive rows, but a row's position must not be
    # predictable from where it is stored
    rho = [spearmanr(pos, np.arange(n))[0] for pos in orders]
    assert max(abs(r) for r in rho) < 0.5, rho
    assert len({pos.tobytes() for pos in orders}) == len(orders)  # seeds matter


@pytest.mark.parametrize("n, pad, run", [(150000, 2, 4), (80000, 60, 2), (25000, 99, 1)])
def test_block_order_runs_follow_the_row_size(n, pad, run):
    # the per-sample engine takes `run` consecutive rows per draw: 4 of small
    # rows, fewer as a run would pass 2 KiB (csrc/order.h,
    # fsgd_sample_run_rows; CSR float64 rows here hold 12 bytes per stored
    # value: 36, 732 and 1,200 bytes).  The data holds well over the 256
    # chunks that are open at once, so most of the epoch is drawn in runs
    X = _onehot_csr(n, pad)
    pos = visiting_order(fastsgd.SGDRegressor(random_state=0), X)
    # how often row i + 1 is visited right after row i: (run - 1) / run inside
    # runs, less where the epoch's fully shuffled tail (the rows left in the
    # last open chunks) takes over, plus a chance in a few hundred of drawing
    # the same chunk again
    follows = np.mean(pos[1:] == pos[:-1] + 1)
    expected = (run - 1) / run
    assert 0.8 * expected <= follows <= expected + 0.02, (follows, expected)


# ---------------------------------------------------------------------------
# (c) sample_weight = k is repeating the row k times, in expectation


def _params_of(m):
    return np.r_[m.coef_.ravel(), m.intercept_]


def _weighted_vs_repeated(make_est, X, y, sw, n_seeds=10):
    k = sw.astype(int)
    Xr, yr = np.repeat(X, k, axis=0), np.repeat(y, k)
    W = np.array([_params_of(make_est(s).fit(X, y, sample_weight=sw)) for s in range(n_seeds)])
    R = np.array([_params_of(make_est(s).fit(Xr, yr)) for s in range(n_seeds)])
    U = np.array([_params_of(make_est(s).fit(X, y)) for s in range(n_seeds)])
    return W, R, U


def _check_weight_equivalence(W, R, U, opt_weighted):
    scale = np.linalg.norm(opt_weighted)
    # per-fit seed-to-seed spread (root of the summed coordinate variances)
    spread = max(np.sqrt(W.var(axis=0, ddof=1).sum()), np.sqrt(R.var(axis=0, ddof=1).sum()))
    diff = np.linalg.norm(W.mean(axis=0) - R.mean(axis=0))
    # the two means differ by sampling noise (~spread/sqrt(5)) plus the
    # deterministic difference of the two step sequences; 5 spreads covers both
    tol = 5 * spread
    assert tol < 0.1 * scale, "the test has no resolution"
    assert diff <= tol, (diff / scale, spread / scale)
    # both sit at the weighted optimum (L-BFGS) ...
    assert np.linalg.norm(W.mean(axis=0) - opt_weighted) <= 0.03 * scale
    assert np.linalg.norm(R.mean(axis=0) - opt_weighted) <= 0.03 * scale
    # ... and ignoring the weights lands far away: the check has power
    assert np.linalg.norm(U.mean(axis=0) - R.mean(axis=0)) > 4 * tol


def test_sample_weight_equals_repetition_classifier():
    X, y = make_classification(2000, 5, n_informative=4, n_redundant=0, flip_y=0.1, random_state=0)
    X = StandardScaler().fit_transform(X)
    # integer weights in {1, 2, 3}, correlated with the data so that they
    # move the optimum
    sw = (1 + (X[:, 0] > 0) + (y == 1)).astype(np.float64)
    res = lbfgs_optimum(X, y, "log_loss", 0.0, sample_weight=sw, gtol=1e-10, maxiter=2000)
    assert res.success
    opt = res.x

    def make(seed):
        return fastsgd.SGDClassifier(
            loss="log_loss",
            penalty=None,
            learning_rate="invscaling",
            eta0=0.1,
            max_iter=20,
            tol=None,
            random_state=seed,
        )

    W, R, U = _weighted_vs_repeated(make, X, y, sw)
    _check_weight_equivalence(W, R, U, opt)


def test_sample_weight_equals_repetition_regressor():
    rng = np.random.RandomState(0)
    X = rng.randn(2000, 5)
    # a misspecified (quadratic) truth: the weighted least-squares line
    # depends on where the weight is
    y = X @ np.array([1.0, -0.5, 0.3, 0.0, 0.8]) + 0.7 * X[:, 0] ** 2 + 0.5 * rng.randn(2000)
    sw = (1 + 2 * (X[:, 0] > 0)).astype(np.float64)
    A = np.c_[X, np.ones(len(y))]
    opt = np.linalg.lstsq(A * np.sqrt(sw)[:, None], y * np.sqrt(sw), rcond=None)[0]

    def make(seed):
        return fastsgd.SGDRegressor(
            penalty=None, eta0=0.02, power_t=0.5, max_iter=20, tol=None, random_state=seed
        )

    W, R, U = _weighted_vs_repeated(make, X, y, sw)
    _check_weight_equivalence(W, R, U, opt)


# ---------------------------------------------------------------------------
# (d) class_weight


def _imbalanced(n_classes, seed=0):
    weights = [0.7, 0.3] if n_classes == 2 else [0.5, 0.2, 0.2, 0.1]
    X, y = make_classification(
        600, 8, n_informative=5, n_classes=n_classes, weights=weights, random_state=seed
    )
    return StandardScaler().fit_transform(X) * 0.5, y


@pytest.mark.parametrize("n_classes", [2, 4])
def test_balanced_class_weight_values(n_classes):
    X, y = _imbalanced(n_classes)
    y_str = np.array(["c%d" % v for v in y])  # labels need not be integers
    m = fastsgd.SGDClassifier(class_weight="balanced", max_iter=5, tol=None).fit(X, y_str)
    expected = compute_class_weight("balanced", classes=np.unique(y_str), y=y_str)
    np.testing.assert_allclose(m._expanded_class_weight, expected, rtol=1e-14)
    counts = np.bincount(y)
    np.testing.assert_allclose(expected, len(y) / (n_classes * counts))  # the formula itself


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("class_weight", ["balanced", {0: 0.3, 1: 4.0}])
@pytest.mark.parametrize("loss", ["hinge", "log_loss"])
@pytest.mark.parametrize("n_classes", [2, 4])
def test_class_weight_parity_with_sklearn(n_classes, loss, class_weight, sparse):
    X, y = _imbalanced(n_classes)
    Xf = sp.csr_matrix(X) if sparse else X
    params = dict(
        loss=loss,
        class_weight=class_weight,
        shuffle=False,
        alpha=0.01,
        eta0=0.01,
        learning_rate="invscaling",
        max_iter=5,
        tol=None,
    )
    ref = sk.SGDClassifier(**params).fit(Xf, y)
    ours = fastsgd.SGDClassifier(**params).fit(Xf, y)
    np.testing.assert_allclose(ours._expanded_class_weight, ref._expanded_class_weight, rtol=1e-14)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-8, atol=1e-10)
    # the weights do something
    plain = fastsgd.SGDClassifier(**dict(params, class_weight=None)).fit(Xf, y)
    assert not np.allclose(plain.coef_, ours.coef_, rtol=1e-3)


def test_binary_class_weight_equals_sample_weight():
    # binary problem: class weight c_y multiplies each update like sample weight c_y
    X, y = _imbalanced(2)
    params = dict(
        loss="log_loss", shuffle=False, alpha=0.01, eta0=0.01, learning_rate="constant", max_iter=5
    )
    params["tol"] = None
    a = fastsgd.SGDClassifier(class_weight="balanced", **params).fit(X, y)
    cw = compute_class_weight("balanced", classes=np.array([0, 1]), y=y)
    b = fastsgd.SGDClassifier(**params).fit(X, y, sample_weight=cw[y])
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------
# (e) partial_fit vs fit


@pytest.mark.parametrize("average", [False, True, 100])
@pytest.mark.parametrize("target", ["binary", "multiclass", "regression"])
def test_partial_fit_k_times_equals_fit_max_iter_k(target, average):
    rng = np.random.RandomState(0)
    X = rng.randn(400, 6) * 0.5
    s = X @ rng.randn(6)
    params = dict(shuffle=False, alpha=0.01, eta0=0.01, average=average, learning_rate="invscaling")
    k = 4
    if target == "regression":
        y = s + 0.1 * rng.randn(400)
        a = fastsgd.SGDRegressor(**params)
        for _ in range(k):
            a.partial_fit(X, y)
        b = fastsgd.SGDRegressor(max_iter=k, tol=None, **params).fit(X, y)
    else:
        y = (s > 0).astype(int) if target == "binary" else np.digitize(s, [-0.5, 0.5])
        a = fastsgd.SGDClassifier(loss="log_loss", **params)
        for _ in range(k):
            a.partial_fit(X, y, classes=np.unique(y))
        b = fastsgd.SGDClassifier(loss="log_loss", max_iter=k, tol=None, **params).fit(X, y)
    assert a.t_ == b.t_ == 1 + k * 400
    # the same update sequence; only the folding of the L2 scale factor into
    # the weights between calls rounds differently
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=1e-10, atol=1e-13)


def test_partial_fit_over_chunks_reaches_fit_objective():
    X, y = _classification()
    params = dict(
        loss="log_loss", alpha=1e-4, learning_rate="invscaling", eta0=0.05, random_state=0
    )
    full = fastsgd.SGDClassifier(max_iter=5, tol=None, **params).fit(X, y)
    chunked = fastsgd.SGDClassifier(**params)
    for _ in range(5):
        for start in range(0, len(y), 2000):
            chunked.partial_fit(X[start : start + 2000], y[start : start + 2000], classes=[0, 1])
    assert chunked.t_ == full.t_
    assert objective(chunked, X, y) == pytest.approx(objective(full, X, y), rel=0.03)
    assert abs(chunked.score(X, y) - full.score(X, y)) < 0.01


def test_partial_fit_over_chunks_regressor():
    X, y = _regression()
    full = fastsgd.SGDRegressor(max_iter=5, tol=None, random_state=0).fit(X, y)
    chunked = fastsgd.SGDRegressor(random_state=0)
    for _ in range(5):
        for start in range(0, len(y), 2000):
            chunked.partial_fit(X[start : start + 2000], y[start : start + 2000])
    assert objective(chunked, X, y) == pytest.approx(objective(full, X, y), rel=0.03)


# ---------------------------------------------------------------------------
# (f) one-vs-rest threads


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("shuffle_mode", ["block", "full"])
@pytest.mark.parametrize("average", [False, True])
def test_ovr_bit_identical_across_n_jobs(shuffle_mode, average, sparse):
    X, y = make_classification(3000, 20, n_informative=8, n_classes=4, random_state=0)
    X = StandardScaler().fit_transform(X)
    Xf = sp.csr_matrix(X) if sparse else X
    fits = []
    for n_jobs in (1, 2, None, -1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            m = fastsgd.SGDClassifier(
                n_jobs=n_jobs,
                random_state=0,
                shuffle_mode=shuffle_mode,
                average=average,
                max_iter=10,
            ).fit(Xf, y)
        fits.append(m)
    for m in fits[1:]:
        assert np.array_equal(m.coef_, fits[0].coef_)
        assert np.array_equal(m.intercept_, fits[0].intercept_)
        assert m.n_iter_ == fits[0].n_iter_
        assert np.array_equal(m.loss_curve_, fits[0].loss_curve_, equal_nan=True)
    # and the four problems really differ (they are not one problem repeated)
    assert len({tuple(row) for row in fits[0].coef_}) == 4
