"""Exact parity with scikit-learn's SGDClassifier / SGDRegressor.

With a fixed row order (``shuffle=False``, or ``shuffle_mode="full"`` which
replays scikit-learn's own permutation) fastsgd performs scikit-learn's update
sequence, so the fitted parameters must agree to rounding (rtol 1e-8).

fastsgd vectorises dense dot products, so its rounding differs from
scikit-learn's sequential sums.  The data and settings below keep the SGD
iteration contractive (features ~ N(0, 0.25), alpha=0.01, eta0=0.01), so
rounding differences stay at the 1e-15 level instead of being amplified.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.linear_model as sk
from sklearn.exceptions import ConvergenceWarning

import fastsgd

from helpers import visiting_order

CLF_LOSSES = [
    "hinge",
    "log_loss",
    "modified_huber",
    "squared_hinge",
    "perceptron",
    "squared_error",
    "huber",
    "epsilon_insensitive",
    "squared_epsilon_insensitive",
]
REG_LOSSES = ["squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"]
PENALTIES = ["l2", "l1", "elasticnet", None]
LEARNING_RATES = ["constant", "optimal", "invscaling", "adaptive"]
AVERAGES = [False, True, 10]

RTOL, ATOL = 1e-8, 1e-10
N, D = 200, 7

# Losses whose gradient grows without bound.  Under the 'optimal' schedule the
# first step size is about alpha**-0.25 (~3.2 for alpha=0.01), so with
# ||x||^2 ~ 1.75 the first updates are expansive (|1 - c eta ||x||^2| > 1) and
# amplify any rounding difference exponentially (chaos, not a bug: the CSR
# path, whose summation order is scikit-learn's, still agrees there).  For
# these cases the features are scaled down to keep every update contractive.
_UNBOUNDED_GRADIENT = {"squared_error", "squared_hinge", "squared_epsilon_insensitive"}


def _make_data(seed=0, n=N, d=D):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d) * 0.5
    w = rng.randn(d)
    score = X @ w + 0.3 * rng.randn(n)
    y_bin = (score > 0).astype(np.int64)
    y_multi = np.digitize(score, [-0.5, 0.5])  # 3 classes
    y_reg = X @ w + 0.1 * rng.randn(n)
    return X, y_bin, y_multi, y_reg


X_BASE, Y_BIN, Y_MULTI, Y_REG = _make_data()


def _X(loss, learning_rate, sparse):
    X = X_BASE
    if learning_rate == "optimal" and loss in _UNBOUNDED_GRADIENT:
        X = X * 0.2
    return sp.csr_matrix(X) if sparse else X


def assert_same_fit(ref, ours, check_n_iter=True):
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=RTOL, atol=ATOL, err_msg="coef_")
    np.testing.assert_allclose(
        ours.intercept_, ref.intercept_, rtol=RTOL, atol=ATOL, err_msg="intercept_"
    )
    assert ours.coef_.shape == ref.coef_.shape
    assert np.shape(ours.intercept_) == np.shape(ref.intercept_)
    assert ours.t_ == ref.t_
    if check_n_iter:
        assert ours.n_iter_ == ref.n_iter_


def _fit_both(sk_cls, fs_cls, X, y, fit_kw=None, **params):
    fit_kw = fit_kw or {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # scikit-learn writes into coef_init/intercept_init arrays it is given
        # (its coef_ is a view of them): each fit gets its own copies
        ref = sk_cls(**params).fit(X, y, **{k: np.copy(v) for k, v in fit_kw.items()})
        ours = fs_cls(**params).fit(X, y, **{k: np.copy(v) for k, v in fit_kw.items()})
    return ref, ours


def _fit_target(target, X, **params):
    """_fit_both with the estimators and y of target (binary, multiclass, regression)."""
    if target == "regression":
        return _fit_both(sk.SGDRegressor, fastsgd.SGDRegressor, X, Y_REG, **params)
    y = Y_BIN if target == "binary" else Y_MULTI
    return _fit_both(sk.SGDClassifier, fastsgd.SGDClassifier, X, y, **params)


BASE = dict(alpha=0.01, eta0=0.01, max_iter=5, tol=None, shuffle=False)


# ---------------------------------------------------------------------------
# full grid, shuffle=False


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("average", AVERAGES, ids=lambda a: f"avg={a}")
@pytest.mark.parametrize("learning_rate", LEARNING_RATES)
@pytest.mark.parametrize("penalty", PENALTIES, ids=lambda p: f"pen={p}")
@pytest.mark.parametrize("loss", CLF_LOSSES)
@pytest.mark.parametrize("target", ["binary", "multiclass"])
def test_classifier_grid(target, loss, penalty, learning_rate, average, sparse):
    y = Y_BIN if target == "binary" else Y_MULTI
    X = _X(loss, learning_rate, sparse)
    ref, ours = _fit_both(
        sk.SGDClassifier,
        fastsgd.SGDClassifier,
        X,
        y,
        loss=loss,
        penalty=penalty,
        learning_rate=learning_rate,
        average=average,
        **BASE,
    )
    assert_same_fit(ref, ours)
    np.testing.assert_array_equal(ours.classes_, ref.classes_)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("average", AVERAGES, ids=lambda a: f"avg={a}")
@pytest.mark.parametrize("learning_rate", LEARNING_RATES)
@pytest.mark.parametrize("penalty", PENALTIES, ids=lambda p: f"pen={p}")
@pytest.mark.parametrize("loss", REG_LOSSES)
def test_regressor_grid(loss, penalty, learning_rate, average, sparse):
    X = _X(loss, learning_rate, sparse)
    ref, ours = _fit_both(
        sk.SGDRegressor,
        fastsgd.SGDRegressor,
        X,
        Y_REG,
        loss=loss,
        penalty=penalty,
        learning_rate=learning_rate,
        average=average,
        **BASE,
    )
    assert_same_fit(ref, ours)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("average", [False, True])
@pytest.mark.parametrize("penalty", ["l2", None], ids=lambda p: f"pen={p}")
@pytest.mark.parametrize("eta0", [0.01, 1.0])
@pytest.mark.parametrize("learning_rate", ["pa1", "pa2"])
@pytest.mark.parametrize("target", ["binary", "multiclass", "regression"])
def test_passive_aggressive(target, learning_rate, eta0, penalty, average, sparse):
    X = sp.csr_matrix(X_BASE) if sparse else X_BASE
    params = dict(BASE, eta0=eta0, learning_rate=learning_rate, penalty=penalty, average=average)
    if target == "regression":
        ref, ours = _fit_both(
            sk.SGDRegressor, fastsgd.SGDRegressor, X, Y_REG, loss="epsilon_insensitive", **params
        )
    else:
        y = Y_BIN if target == "binary" else Y_MULTI
        ref, ours = _fit_both(sk.SGDClassifier, fastsgd.SGDClassifier, X, y, loss="hinge", **params)
    assert_same_fit(ref, ours)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("target", ["binary", "multiclass", "regression"])
def test_fit_intercept_and_epsilon(target, fit_intercept, sparse):
    X = sp.csr_matrix(X_BASE) if sparse else X_BASE
    params = dict(BASE, fit_intercept=fit_intercept, learning_rate="invscaling", eta0=0.05)
    if target == "regression":
        ref, ours = _fit_both(
            sk.SGDRegressor, fastsgd.SGDRegressor, X, Y_REG, loss="huber", epsilon=0.05, **params
        )
    else:
        y = Y_BIN if target == "binary" else Y_MULTI
        ref, ours = _fit_both(
            sk.SGDClassifier,
            fastsgd.SGDClassifier,
            X,
            y,
            loss="modified_huber",
            l1_ratio=0.4,
            penalty="elasticnet",
            **params,
        )
    assert_same_fit(ref, ours)
    if not fit_intercept:
        assert np.all(ours.intercept_ == 0)


# ---------------------------------------------------------------------------
# sample and class weights (shuffle=False)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("class_weight", [None, "balanced", {0: 3.0, 1: 0.5}])
@pytest.mark.parametrize("target", ["binary", "multiclass"])
def test_classifier_weights(target, class_weight, sparse):
    rng = np.random.RandomState(3)
    sw = rng.uniform(0.2, 3.0, N)
    y = Y_BIN if target == "binary" else Y_MULTI
    X = sp.csr_matrix(X_BASE) if sparse else X_BASE
    ref, ours = _fit_both(
        sk.SGDClassifier,
        fastsgd.SGDClassifier,
        X,
        y,
        fit_kw=dict(sample_weight=sw),
        loss="log_loss",
        learning_rate="constant",
        class_weight=class_weight,
        **BASE,
    )
    assert_same_fit(ref, ours)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_regressor_sample_weight(sparse):
    rng = np.random.RandomState(4)
    sw = rng.uniform(0.2, 3.0, N)
    X = sp.csr_matrix(X_BASE) if sparse else X_BASE
    ref, ours = _fit_both(
        sk.SGDRegressor,
        fastsgd.SGDRegressor,
        X,
        Y_REG,
        fit_kw=dict(sample_weight=sw),
        learning_rate="invscaling",
        **BASE,
    )
    assert_same_fit(ref, ours)


# ---------------------------------------------------------------------------
# default tol stopping rule: same n_iter_ and same coefficients


TOL_CASES = [
    ("binary", "hinge", "optimal"),
    ("binary", "log_loss", "optimal"),
    ("binary", "log_loss", "constant"),
    ("binary", "modified_huber", "invscaling"),
    ("binary", "hinge", "adaptive"),
    ("multiclass", "log_loss", "optimal"),
    ("multiclass", "hinge", "constant"),
    ("multiclass", "modified_huber", "optimal"),
    ("regression", "squared_error", "invscaling"),
    ("regression", "squared_error", "optimal"),
    ("regression", "huber", "constant"),
    ("regression", "squared_error", "adaptive"),
]


@pytest.mark.parametrize("target, loss, learning_rate", TOL_CASES)
def test_tol_stopping_rule(target, loss, learning_rate):
    params = dict(loss=loss, learning_rate=learning_rate, alpha=0.01, eta0=0.01, max_iter=50)
    params["shuffle"] = False
    ref, ours = _fit_target(target, X_BASE, **params)
    assert_same_fit(ref, ours)
    assert ours.n_iter_ <= 50


# Rows with zeros: scikit-learn's objective (which tol compares) uses the
# norms of the weights of each step's row only (all features for dense rows,
# the stored ones for CSR rows), kept through the L1 truncation; fastsgd
# keeps them the same way, so a fit stops at the same epoch.
X_ZEROS = np.where(np.abs(X_BASE) > 0.3, X_BASE, 0.0)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet"])
@pytest.mark.parametrize(
    "target, loss, learning_rate, average",
    [
        ("binary", "hinge", "optimal", False),
        ("binary", "log_loss", "optimal", 10),
        ("multiclass", "hinge", "constant", False),
        ("regression", "squared_error", "invscaling", False),
        ("regression", "huber", "optimal", True),
    ],
)
def test_tol_stopping_rule_on_rows_with_zeros(
    target, loss, learning_rate, average, penalty, sparse
):
    X = sp.csr_matrix(X_ZEROS) if sparse else X_ZEROS
    params = dict(loss=loss, learning_rate=learning_rate, penalty=penalty, average=average,
                  alpha=0.01, eta0=0.01, max_iter=60, shuffle=False)  # fmt: skip
    ref, ours = _fit_target(target, X, **params)
    assert_same_fit(ref, ours)


def test_tol_stops_early_somewhere():
    # guard: the cases above must include fits that stopped before max_iter,
    # otherwise the stopping rule would not be exercised
    ref, ours = _fit_both(
        sk.SGDClassifier,
        fastsgd.SGDClassifier,
        X_BASE,
        Y_BIN,
        loss="log_loss",
        alpha=0.01,
        max_iter=50,
        shuffle=False,
    )
    assert ref.n_iter_ < 50
    assert ours.n_iter_ == ref.n_iter_


@pytest.mark.parametrize("est", ["classifier", "regressor"])
def test_convergence_warning_like_sklearn(est):
    sk_cls, fs_cls, y = (
        (sk.SGDClassifier, fastsgd.SGDClassifier, Y_BIN)
        if est == "classifier"
        else (sk.SGDRegressor, fastsgd.SGDRegressor, Y_REG)
    )
    params = dict(max_iter=2, tol=1e-3, shuffle=False, alpha=0.01, eta0=0.01)
    with pytest.warns(ConvergenceWarning):
        sk_cls(**params).fit(X_BASE, y)
    with pytest.warns(ConvergenceWarning, match="Maximum number of iteration"):
        fs_cls(**params).fit(X_BASE, y)


# ---------------------------------------------------------------------------
# shuffle_mode="full" replays scikit-learn's permutation and seeds


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("average", [False, True])
@pytest.mark.parametrize("random_state", [0, 42, 2**31 - 2])
@pytest.mark.parametrize("target", ["binary", "multiclass", "regression"])
def test_full_shuffle(target, random_state, average, sparse):
    X = sp.csr_matrix(X_BASE) if sparse else X_BASE
    params = dict(
        alpha=0.01,
        eta0=0.01,
        max_iter=5,
        tol=None,
        shuffle=True,
        random_state=random_state,
        learning_rate="invscaling",
        average=average,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if target == "regression":
            ref = sk.SGDRegressor(**params).fit(X, Y_REG)
            ours = fastsgd.SGDRegressor(shuffle_mode="full", **params).fit(X, Y_REG)
            unshuffled = fastsgd.SGDRegressor(**dict(params, shuffle=False)).fit(X, Y_REG)
        else:
            y = Y_BIN if target == "binary" else Y_MULTI
            ref = sk.SGDClassifier(**params).fit(X, y)
            ours = fastsgd.SGDClassifier(shuffle_mode="full", **params).fit(X, y)
            unshuffled = fastsgd.SGDClassifier(**dict(params, shuffle=False)).fit(X, y)
    assert_same_fit(ref, ours)
    # the shuffle did something: the result differs from storage order
    assert not np.allclose(unshuffled.coef_, ours.coef_, rtol=1e-6)


def _fit_full_shuffle_pair(target, **params):
    if target == "regression":
        return _fit_both(
            sk.SGDRegressor,
            lambda **p: fastsgd.SGDRegressor(shuffle_mode="full", **p),
            X_BASE,
            Y_REG,
            **params,
        )
    y = Y_BIN if target == "binary" else Y_MULTI
    return _fit_both(
        sk.SGDClassifier,
        lambda **p: fastsgd.SGDClassifier(shuffle_mode="full", **p),
        X_BASE,
        y,
        **params,
    )


@pytest.mark.parametrize("random_state", [3, 7])
@pytest.mark.parametrize("target", ["binary", "multiclass", "regression"])
def test_full_shuffle_with_tol(target, random_state):
    ref, ours = _fit_full_shuffle_pair(
        target,
        alpha=0.01,
        eta0=0.01,
        max_iter=100,
        random_state=random_state,
        learning_rate="constant",
    )
    assert ref.n_iter_ < 100
    assert_same_fit(ref, ours)


# scikit-learn's validation-score callback scores the raw weight array without
# its L2 scale factor (``weights.base`` while ``wscale != 1``), so early
# stopping parity is only defined where that scale stays 1: no L2 term.
@pytest.mark.parametrize("penalty", [None, "l1"], ids=lambda p: f"pen={p}")
@pytest.mark.parametrize("validation_fraction", [0.1, 0.2])
@pytest.mark.parametrize("random_state", [0, 7])
@pytest.mark.parametrize("target", ["binary", "multiclass", "regression"])
def test_full_shuffle_early_stopping(target, random_state, validation_fraction, penalty):
    ref, ours = _fit_full_shuffle_pair(
        target,
        alpha=0.01,
        eta0=0.01,
        max_iter=100,
        random_state=random_state,
        learning_rate="constant",
        penalty=penalty,
        early_stopping=True,
        validation_fraction=validation_fraction,
    )
    assert ref.n_iter_ < 100
    assert_same_fit(ref, ours)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("n", [2, 7, 300])
@pytest.mark.parametrize("random_state", [0, 1, 123456])
def test_full_shuffle_visits_rows_in_sklearn_order(random_state, n, sparse):
    X = np.eye(n)
    X = sp.csr_matrix(X) if sparse else X
    ref = visiting_order(sk.SGDRegressor(random_state=random_state), X)
    ours = visiting_order(fastsgd.SGDRegressor(random_state=random_state, shuffle_mode="full"), X)
    np.testing.assert_array_equal(np.sort(ref), np.arange(1, n + 1))
    np.testing.assert_array_equal(ours, ref)


def test_full_shuffle_random_state_instance():
    params = dict(alpha=0.01, eta0=0.01, max_iter=5, tol=None, learning_rate="constant")
    ref = sk.SGDClassifier(random_state=np.random.RandomState(11), **params).fit(X_BASE, Y_MULTI)
    ours = fastsgd.SGDClassifier(
        random_state=np.random.RandomState(11), shuffle_mode="full", **params
    ).fit(X_BASE, Y_MULTI)
    assert_same_fit(ref, ours)


# ---------------------------------------------------------------------------
# partial_fit, warm_start, coef_init

CHUNKS = [slice(0, 50), slice(50, 120), slice(120, 200), slice(0, 200), slice(30, 90)]


@pytest.mark.parametrize("learning_rate", ["constant", "optimal", "invscaling"])
@pytest.mark.parametrize("target", ["binary", "multiclass"])
def test_classifier_partial_fit_sequence(target, learning_rate):
    y = Y_BIN if target == "binary" else Y_MULTI
    classes = np.unique(y)
    params = dict(alpha=0.01, eta0=0.01, shuffle=False, learning_rate=learning_rate)
    ref = sk.SGDClassifier(**params)
    ours = fastsgd.SGDClassifier(**params)
    for sl in CHUNKS:
        ref.partial_fit(X_BASE[sl], y[sl], classes=classes)
        ours.partial_fit(X_BASE[sl], y[sl], classes=classes)
        assert_same_fit(ref, ours)


@pytest.mark.parametrize("average", [False, True, 10])
@pytest.mark.parametrize("learning_rate", ["constant", "optimal", "invscaling"])
def test_regressor_partial_fit_sequence(learning_rate, average):
    params = dict(
        alpha=0.01, eta0=0.01, shuffle=False, learning_rate=learning_rate, average=average
    )
    ref = sk.SGDRegressor(**params)
    ours = fastsgd.SGDRegressor(**params)
    for sl in CHUNKS:
        ref.partial_fit(X_BASE[sl], Y_REG[sl])
        ours.partial_fit(X_BASE[sl], Y_REG[sl])
        assert_same_fit(ref, ours)


@pytest.mark.parametrize("average", [True, 10])
@pytest.mark.parametrize("target", ["binary", "multiclass"])
def test_classifier_averaged_partial_fit_equals_sklearn_fit(target, average):
    # scikit-learn's own averaged classifier partial_fit does not carry the
    # non-averaged intercept from one call to the next, so the reference for
    # k calls is scikit-learn's single fit with max_iter=k (same updates).
    y = Y_BIN if target == "binary" else Y_MULTI
    params = dict(alpha=0.01, eta0=0.01, shuffle=False, learning_rate="invscaling", average=average)
    ours = fastsgd.SGDClassifier(**params)
    for k in range(1, 4):
        ours.partial_fit(X_BASE, y, classes=np.unique(y))
        ref = sk.SGDClassifier(max_iter=k, tol=None, **params).fit(X_BASE, y)
        assert_same_fit(ref, ours, check_n_iter=False)


@pytest.mark.parametrize("average", [False, True])
@pytest.mark.parametrize("target", ["binary", "multiclass", "regression"])
def test_warm_start(target, average):
    params = dict(
        alpha=0.01,
        eta0=0.01,
        shuffle=False,
        warm_start=True,
        max_iter=3,
        tol=None,
        learning_rate="constant",
        average=average,
    )
    if target == "regression":
        ref, ours = sk.SGDRegressor(**params), fastsgd.SGDRegressor(**params)
        y = Y_REG
    else:
        ref, ours = sk.SGDClassifier(**params), fastsgd.SGDClassifier(**params)
        y = Y_BIN if target == "binary" else Y_MULTI
    ref.fit(X_BASE, y)
    ours.fit(X_BASE, y)
    assert_same_fit(ref, ours)
    for alpha in (0.001, 0.05):
        ref.set_params(alpha=alpha)
        ours.set_params(alpha=alpha)
        ref.fit(X_BASE, y)
        ours.fit(X_BASE, y)  # second fit starts from the first fit's coef_
        assert_same_fit(ref, ours)


@pytest.mark.parametrize("target", ["binary", "multiclass", "regression"])
def test_coef_init_and_intercept_init(target):
    rng = np.random.RandomState(5)
    params = dict(BASE, learning_rate="constant")
    if target == "regression":
        coef_init, intercept_init = rng.randn(D), np.array([0.3])
        ref, ours = _fit_both(
            sk.SGDRegressor,
            fastsgd.SGDRegressor,
            X_BASE,
            Y_REG,
            fit_kw=dict(coef_init=coef_init, intercept_init=intercept_init),
            **params,
        )
    else:
        y = Y_BIN if target == "binary" else Y_MULTI
        k = 1 if target == "binary" else 3
        coef_init, intercept_init = rng.randn(k, D), rng.randn(k)
        ref, ours = _fit_both(
            sk.SGDClassifier,
            fastsgd.SGDClassifier,
            X_BASE,
            y,
            fit_kw=dict(coef_init=coef_init, intercept_init=intercept_init),
            **params,
        )
    assert_same_fit(ref, ours)


# ---------------------------------------------------------------------------
# float32


F32_CASES = [
    ("binary", "hinge", "l2", "constant", False),
    ("binary", "log_loss", "elasticnet", "invscaling", True),
    ("multiclass", "log_loss", "l2", "constant", False),
    ("multiclass", "modified_huber", "l1", "invscaling", 10),
    ("regression", "squared_error", "l2", "invscaling", False),
    ("regression", "huber", "elasticnet", "constant", True),
]


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("target, loss, penalty, learning_rate, average", F32_CASES)
def test_float32_matches_float64(target, loss, penalty, learning_rate, average, sparse):
    params = dict(BASE, loss=loss, penalty=penalty, learning_rate=learning_rate, average=average)
    if target == "regression":
        est, y = fastsgd.SGDRegressor, Y_REG
    else:
        est, y = fastsgd.SGDClassifier, (Y_BIN if target == "binary" else Y_MULTI)
    X64 = X_BASE
    X32 = X_BASE.astype(np.float32)
    if sparse:
        X64, X32 = sp.csr_matrix(X64), sp.csr_matrix(X32)
    m64 = est(**params).fit(X64, y)
    m32 = est(**params).fit(X32, y)
    assert m64.coef_.dtype == np.float64
    assert m32.coef_.dtype == np.float32
    assert m32.t_ == m64.t_
    scale = np.abs(m64.coef_).max()
    np.testing.assert_allclose(m32.coef_, m64.coef_, rtol=1e-3, atol=1e-5 * scale)
    np.testing.assert_allclose(m32.intercept_, m64.intercept_, rtol=1e-3, atol=1e-5 * scale)
    # predictions on float32 input stay float32-consistent
    if target != "regression":
        assert np.mean(m32.predict(X32) == m64.predict(X64)) > 0.99


@pytest.mark.parametrize("target", ["binary", "multiclass"])
def test_string_labels(target):
    y = Y_BIN if target == "binary" else Y_MULTI
    labels = (
        np.array(["neg", "mid", "pos"])[y] if target == "multiclass" else np.array(["no", "yes"])[y]
    )
    params = dict(BASE, loss="log_loss", learning_rate="constant")
    ref, ours = _fit_both(sk.SGDClassifier, fastsgd.SGDClassifier, X_BASE, labels, **params)
    assert_same_fit(ref, ours)
    np.testing.assert_array_equal(ours.classes_, ref.classes_)
    np.testing.assert_array_equal(ours.predict(X_BASE), ref.predict(X_BASE))
    np.testing.assert_allclose(
        ours.predict_proba(X_BASE), ref.predict_proba(X_BASE), rtol=1e-8, atol=1e-12
    )


_S3 = np.digitize(X_BASE[:, 0] + X_BASE[:, 1], [-0.3, 0.3])
LABEL_CASES = {
    "int8": _S3.astype(np.int8),
    "uint8": _S3.astype(np.uint8),
    "negative": _S3 * 7 - 9,
    "bool": _S3 > 0,
    "wide_span": np.array([0, 10**9, 2 * 10**9])[_S3],
    "int64_extremes": np.array([-(2**62), 0, 2**62])[_S3],
    "uint64_extremes": np.array([0, 2**63, 2**64 - 1], dtype=np.uint64)[_S3],
    "float_integral": np.array([-1.0, 0.0, 2.0])[_S3],
    "str": np.array(["b", "a", "c"])[_S3],
    "object": np.array(["x", "y", "z"], dtype=object)[_S3],
}


@pytest.mark.parametrize("name", list(LABEL_CASES))
def test_label_encodings(name):
    y = LABEL_CASES[name]
    params = dict(BASE, learning_rate="constant")
    ref, ours = _fit_both(sk.SGDClassifier, fastsgd.SGDClassifier, X_BASE, y, **params)
    assert list(ours.classes_) == list(ref.classes_)
    assert_same_fit(ref, ours)
    np.testing.assert_array_equal(ours.predict(X_BASE), ref.predict(X_BASE))
    # partial_fit with every class declared up front, chunks missing some classes
    classes = np.unique(y)
    pf = dict(alpha=0.01, eta0=0.01, shuffle=False, learning_rate="constant")
    ref, ours = sk.SGDClassifier(**pf), fastsgd.SGDClassifier(**pf)
    order = np.argsort(_S3, kind="stable")  # first chunk holds one class only
    for sl in (slice(0, 40), slice(40, 200)):
        idx = order[sl]
        ref.partial_fit(X_BASE[idx], y[idx], classes=classes)
        ours.partial_fit(X_BASE[idx], y[idx], classes=classes)
        assert_same_fit(ref, ours)
    # labels outside the declared classes are refused
    if y.dtype.kind in "iuf":
        top = classes.max()
        unknown = np.array([top - 1 if name == "uint64_extremes" else top + 1], dtype=y.dtype)
        assert unknown[0] not in classes
        with pytest.raises(ValueError, match="not in classes"):
            ours.partial_fit(X_BASE[:1], unknown)


# ---------------------------------------------------------------------------
# the dense look-ahead loop (penalty L2 or none, gradient steps): each row's
# update is applied one row late and its prediction corrected by x_k . x_{k-1}
# (csrc/rows.inc).  Feature counts around the vector widths (4 doubles; 8 or
# 16 floats and the float32 block of 256) exercise every tail.

LOOKAHEAD_D = [1, 3, 4, 5, 8, 17, 33, 100, 300]


@pytest.mark.parametrize("d", LOOKAHEAD_D)
@pytest.mark.parametrize(
    "kind, loss, penalty, average",
    [
        ("clf", "log_loss", "l2", False),
        ("clf", "hinge", None, True),
        ("clf", "modified_huber", "l2", 10),
        ("reg", "squared_error", "l2", False),
        ("reg", "huber", None, True),
    ],
)
def test_lookahead_matches_sklearn_any_width(d, kind, loss, penalty, average):
    rng = np.random.RandomState(d)
    # ||x||^2 about 1 whatever d: every update stays contractive
    X = rng.randn(150, d) / np.sqrt(d)
    w = rng.randn(d)
    if kind == "clf":
        y = (X @ w + 0.3 * rng.randn(150) > 0).astype(np.int64)
        classes = (sk.SGDClassifier, fastsgd.SGDClassifier)
    else:
        y = X @ w + 0.1 * rng.randn(150)
        classes = (sk.SGDRegressor, fastsgd.SGDRegressor)
    params = dict(BASE, loss=loss, penalty=penalty, average=average, learning_rate="optimal")
    ref, ours = _fit_both(*classes, X, y, **params)
    assert_same_fit(ref, ours)
    # float32 against float64 under the constant schedule: "optimal" starts
    # with steps near 3, which amplify float32 rounding past 1e-3 (the plain
    # loop did the same)
    params["learning_rate"] = "constant"
    m64 = classes[1](**params).fit(X, y)
    m32 = classes[1](**params).fit(X.astype(np.float32), y)
    assert m32.coef_.dtype == np.float32
    scale = np.abs(m64.coef_).max()
    np.testing.assert_allclose(m32.coef_, m64.coef_, rtol=1e-3, atol=1e-5 * scale)
    np.testing.assert_allclose(m32.intercept_, m64.intercept_, rtol=1e-3, atol=1e-5 * scale)


@pytest.mark.parametrize("average", [False, True])
@pytest.mark.parametrize("d", [5, 100])
def test_lookahead_through_weight_rescaling(d, average):
    """With eta0 * alpha = 0.005 the L2 factor w = wscale * v shrinks by 0.995
    per step: 10,000 steps fold wscale back into v twice in float64 (at 1e-9,
    scikit-learn's threshold) and three times in float32 (1e-6; 1e-3, seven
    times, when averaging), while the look-ahead holds a dot product taken
    before the fold."""
    rng = np.random.RandomState(1)
    X = rng.randn(200, d) / np.sqrt(d)
    y = (X @ rng.randn(d) > 0).astype(np.int64)
    params = dict(
        alpha=0.1,
        eta0=0.05,
        learning_rate="constant",
        max_iter=50,
        tol=None,
        shuffle=False,
        average=average,
    )
    assert (1 - 0.05 * 0.1) ** (200 * 50) < 1e-18
    ref, ours = _fit_both(sk.SGDClassifier, fastsgd.SGDClassifier, X, y, **params)
    # 50 epochs, and the averaged weights are (aw + a w) / b with a and b
    # growing without bound: rounding reaches 1e-8 here (the plain loop too)
    scale = np.abs(ref.coef_).max()
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-7, atol=1e-8 * scale)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-7, atol=1e-8 * scale)
    assert ours.t_ == ref.t_
    # float32 averaged weights too: their sums are kept in double and wscale is
    # folded at 1e-3 (with float32 sums and folds at 1e-6 they were 1% off)
    m32 = fastsgd.SGDClassifier(**params).fit(X.astype(np.float32), y)
    scale = np.abs(ours.coef_).max()
    np.testing.assert_allclose(m32.coef_, ours.coef_, rtol=1e-3, atol=1e-5 * scale)
    np.testing.assert_allclose(m32.intercept_, ours.intercept_, rtol=1e-3, atol=1e-5 * scale)
