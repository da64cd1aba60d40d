"""Loss functions of the C engine, probability estimates and loss_curve_."""

import contextlib
import copy
import io
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.linear_model as sk
from _reference import ovr_objectives, sklearn_loss_and_dloss
from scipy.special import expit
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

import fastsgd
from fastsgd import _engine

# engine loss codes (defined in csrc/fastsgd.h, read by the bridge)
HINGE, SQ_HINGE, LOG, MOD_HUBER, SQUARED, HUBER, EPS_INS, SQ_EPS_INS = (
    _engine.LOSS[name]
    for name in (
        "hinge",
        "squared_hinge",
        "log",
        "modified_huber",
        "squared",
        "huber",
        "epsilon_insensitive",
        "squared_epsilon_insensitive",
    )
)

# (name, engine code, loss parameter, targets to test)
LOSS_CASES = [
    ("hinge", HINGE, 1.0, [-1.0, 1.0]),
    ("perceptron", HINGE, 0.0, [-1.0, 1.0]),
    ("squared_hinge", SQ_HINGE, 1.0, [-1.0, 1.0]),
    ("log", LOG, 0.0, [0.0, 1.0]),
    ("modified_huber", MOD_HUBER, 0.0, [-1.0, 1.0]),
    ("squared", SQUARED, 0.0, [-2.5, 0.0, 0.7, 3.0]),
    ("huber", HUBER, 0.1, [-2.5, 0.0, 0.7, 3.0]),
    ("huber_wide", HUBER, 1.35, [-2.5, 0.0, 0.7]),
    ("epsilon_insensitive", EPS_INS, 0.1, [-2.5, 0.0, 0.7, 3.0]),
    ("epsilon_insensitive_0", EPS_INS, 0.0, [-1.0, 0.5]),
    ("squared_epsilon_insensitive", SQ_EPS_INS, 0.1, [-2.5, 0.0, 0.7, 3.0]),
]
# the estimators' name of each case's loss, where it differs
SKLEARN_NAMES = {
    "log": "log_loss",
    "squared": "squared_error",
    "huber_wide": "huber",
    "epsilon_insensitive_0": "epsilon_insensitive",
}


def _kinks(code, param, y):
    """Values of p where the loss is not twice differentiable."""
    if code in (HINGE, SQ_HINGE):
        return [param / y]
    if code == MOD_HUBER:
        return [1.0 / y, -1.0 / y]
    if code in (HUBER, EPS_INS, SQ_EPS_INS):
        return [y - param, y + param]
    return []


def _points(code, param, y, n=400, margin=1e-3):
    rng = np.random.RandomState(code * 100 + int(10 * param))
    p = np.concatenate([np.linspace(-6, 6, n), rng.uniform(-20, 20, n), y + rng.randn(n) * 0.3])
    for k in _kinks(code, param, y):
        p = p[np.abs(p - k) > margin]
    return p


@pytest.mark.parametrize("name, code, param, targets", LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
def test_dloss_matches_central_differences(name, code, param, targets):
    h = 1e-6
    n_checked = 0
    for y in targets:
        for p in _points(code, param, y):
            f_plus = _engine.loss_value(code, param, y, p + h)
            f_minus = _engine.loss_value(code, param, y, p - h)
            fd = (f_plus - f_minus) / (2 * h)
            d = _engine.loss_dloss(code, param, y, p)
            # central-difference error: O(h^2 f''') + rounding eps*|f|/h
            f = abs(_engine.loss_value(code, param, y, p))
            tol = 1e-6 * (1.0 + abs(d)) + 4e-16 * (1.0 + f) / h
            assert abs(d - fd) <= tol, (name, y, p, d, fd)
            n_checked += 1
    assert n_checked > 1000


@pytest.mark.parametrize("name, code, param, targets", LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
def test_loss_matches_sklearn_definitions(name, code, param, targets):
    # everywhere, kinks included: the conventions at the kinks must be the same
    for y in targets:
        pts = np.concatenate([_points(code, param, y, n=200, margin=0.0), _kinks(code, param, y)])
        for p in pts:
            ref_l, ref_d = sklearn_loss_and_dloss(SKLEARN_NAMES.get(name, name), p, y, param)
            ours_l = _engine.loss_value(code, param, y, p)
            ours_d = _engine.loss_dloss(code, param, y, p)
            assert ours_l == pytest.approx(ref_l, rel=1e-12, abs=1e-12), (name, y, p)
            assert ours_d == pytest.approx(ref_d, rel=1e-12, abs=1e-12), (name, y, p)


def test_engine_exponential_is_accurate():
    # the engine's table-driven e^x (per-sample loop and batch loss groups)
    # against NumPy's, over the whole range it is used on and densely where
    # log-loss predictions live
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            np.linspace(-708, 708, 100001),
            rng.uniform(-40, 40, 100000),
            [
                0.0,
                -0.0,
                1e-300,
                -1e-300,
                np.log(2) / 128,
                -np.log(2) / 128,
                np.log(2) / 2,
                37.0,
                -37.0,
                708.0,
                -708.0,
            ],
        ]
    )
    ours = np.array([_engine.exp_tab(v) for v in x])
    ref = np.exp(x)
    rel = np.abs(ours - ref) / ref
    assert rel.max() <= 4 * np.finfo(float).eps, x[np.argmax(rel)]
    assert _engine.exp_tab(0.0) == 1.0
    # beyond the range it saturates at e^+-708 instead of overflowing
    assert _engine.exp_tab(800.0) == pytest.approx(np.exp(708.0), rel=1e-15)
    assert _engine.exp_tab(-800.0) == pytest.approx(np.exp(-708.0), rel=1e-15)


@pytest.mark.parametrize("name, code, param, targets", LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
def test_per_sample_loss_step_equals_loss_and_derivative(name, code, param, targets):
    # what the per-sample loop computes for a row (its own exponential, the
    # log loss through the accumulator's product) against the reference forms
    p = np.concatenate(
        [np.linspace(-60, 60, 2401), [-800.0, -37.0, -36.99, 36.99, 707.9, 708.0, 708.1, 800.0]]
    )
    for y in targets:
        for v in p:
            value, dloss = _engine.loss_step(code, param, y, v)
            assert dloss == pytest.approx(
                _engine.loss_dloss(code, param, y, v), rel=1e-14, abs=1e-300
            )
            ref = _engine.loss_value(code, param, y, v)
            # the log loss as (1 - y) p + log(1 + e^-p) cancels for p << 0: a few ulps of |p|
            tol = 8 * np.finfo(float).eps * abs(v) + 1e-15
            assert value == pytest.approx(ref, rel=1e-13, abs=tol), (name, y, v)


def test_log_loss_extreme_values():
    p = np.concatenate(
        [np.linspace(-800, 800, 16001), [-745.2, -37.0, -36.9, -2.0, 18.0, 33.3, 33.4]]
    )
    for y in (0.0, 1.0):
        ref = np.logaddexp(0.0, p) - y * p
        ours = np.array([_engine.loss_value(LOG, 0.0, y, v) for v in p])
        assert np.all(np.isfinite(ours))
        assert np.all(ours >= 0.0)
        # reference computed in the same form; atol covers the cancellation of
        # log(1 + e^p) - p for large p (a few ulps of |p|)
        tol = 1e-12 * np.abs(ref) + 4 * np.finfo(float).eps * np.abs(p)
        assert np.all(np.abs(ours - ref) <= tol), p[np.abs(ours - ref) > tol]
        # derivative: expit(p) - y, bounded by 1, never NaN
        d = np.array([_engine.loss_dloss(LOG, 0.0, y, v) for v in p])
        assert np.all(np.isfinite(d))
        np.testing.assert_allclose(d, expit(p) - y, rtol=1e-12, atol=1e-15)
    # the exact small tail: log(1 + e^p) ~ e^p for very negative p
    for v in (-40.0, -100.0, -700.0):
        assert _engine.loss_value(LOG, 0.0, 0.0, v) == pytest.approx(np.exp(v), rel=1e-12)


# ---------------------------------------------------------------------------
# probability estimates with huge decision values


def _clf_data():
    rng = np.random.RandomState(0)
    X = rng.randn(300, 5)
    y3 = np.digitize(X[:, 0] + X[:, 1], [-0.5, 0.5])
    return X, y3


def _reference_proba(loss, d):
    """Independent NumPy reference of the OvR probability estimates."""
    if loss == "log_loss":
        if d.ndim == 1:
            p1 = np.exp(-np.logaddexp(0.0, -d))
            return np.column_stack([1 - p1, p1])
        logp = -np.logaddexp(0.0, -d)  # log expit, exact for any magnitude
        logp -= logp.max(axis=1, keepdims=True)
        prob = np.exp(logp)
        return prob / prob.sum(axis=1, keepdims=True)
    prob = (np.clip(d, -1, 1) + 1) / 2
    if d.ndim == 1:
        return np.column_stack([1 - prob, prob])
    s = prob.sum(axis=1, keepdims=True)
    zero = s[:, 0] == 0
    prob[zero] = 1.0
    s[zero] = prob.shape[1]
    return prob / s


def _huge_decision_cases(loss, n_classes):
    X, y3 = _clf_data()
    y = y3 if n_classes == 3 else (y3 > 0).astype(int)
    m = fastsgd.SGDClassifier(loss=loss, random_state=0, max_iter=20, tol=None).fit(X, y)
    cases = []
    big = copy.deepcopy(m)
    big.coef_ = m.coef_ * 1e300
    big.intercept_ = m.intercept_ * 0.0
    cases.append(("coef*1e300", big, X))
    cases.append(("X*1e250", m, X * 1e250))
    cases.append(("-X*1e250", m, -X * 1e250))
    # every class hugely negative (or positive) at once: the OvR estimates all
    # underflow to 0 (or are all 1) and must still normalise to a probability
    for sign in (-1.0, 1.0):
        for level in (1e300, 1e20, 800.0):
            shifted = copy.deepcopy(m)
            shifted.intercept_ = np.full_like(m.intercept_, sign * level)
            cases.append((f"intercept={sign * level:g}", shifted, X))
    return cases


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("loss", ["log_loss", "modified_huber"])
def test_predict_proba_no_nan_for_huge_decision_values(loss, n_classes):
    for name, est, Z in _huge_decision_cases(loss, n_classes):
        d = est.decision_function(Z)
        assert np.all(np.isfinite(d)), name
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            P = est.predict_proba(Z)
        assert P.shape == (Z.shape[0], n_classes)
        assert not np.any(np.isnan(P)), name
        assert np.all((P >= 0) & (P <= 1)), name
        np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(
            P, _reference_proba(loss, d), rtol=1e-10, atol=1e-300, err_msg=name
        )


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("loss", ["log_loss", "modified_huber"])
def test_predict_log_proba_for_huge_decision_values(loss, n_classes):
    for name, est, Z in _huge_decision_cases(loss, n_classes):
        P = est.predict_proba(Z)
        with np.errstate(divide="ignore"):
            logP = est.predict_log_proba(Z)
        assert not np.any(np.isnan(logP)), name
        assert np.all(logP <= 0), name
        # exp(log P) is the probability: rows sum to one
        np.testing.assert_allclose(np.exp(logP), P, rtol=1e-10, atol=1e-300, err_msg=name)


def test_predict_proba_moderate_values_match_reference():
    X, y3 = _clf_data()
    for y in (y3, (y3 > 0).astype(int)):
        for loss in ("log_loss", "modified_huber"):
            m = fastsgd.SGDClassifier(loss=loss, random_state=0, max_iter=20, tol=None).fit(X, y)
            d = m.decision_function(X)
            np.testing.assert_allclose(
                m.predict_proba(X), _reference_proba(loss, d), rtol=1e-12, atol=1e-15
            )


def test_binary_log_proba_is_accurate_in_the_tails():
    X, y3 = _clf_data()
    m = fastsgd.SGDClassifier(loss="log_loss", random_state=0, max_iter=20, tol=None)
    m.fit(X, (y3 > 0).astype(int))
    m.coef_ = m.coef_ * 200.0
    d = m.decision_function(X)
    assert np.abs(d).max() > 100
    logP = m.predict_log_proba(X)
    np.testing.assert_allclose(logP[:, 1], -np.logaddexp(0, -d), rtol=1e-12)
    np.testing.assert_allclose(logP[:, 0], -np.logaddexp(0, d), rtol=1e-12)


# ---------------------------------------------------------------------------
# loss_curve_


# small constant step, fixed order: a smooth, non-chaotic trajectory
CURVE = dict(alpha=1e-3, learning_rate="constant", eta0=1e-3, shuffle=False)


def _clf_problem():
    X, y = make_classification(1000, 10, n_informative=6, random_state=0)
    return StandardScaler().fit_transform(X), y


def _reg_problem():
    X, y = make_regression(1000, 10, n_informative=6, noise=20.0, random_state=0)
    X = StandardScaler().fit_transform(X)
    return X, (y - y.mean()) / y.std()


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet", None], ids=lambda p: f"pen={p}")
@pytest.mark.parametrize(
    "loss", ["log_loss", "hinge", "squared_hinge", "modified_huber", "squared_error"]
)
def test_classifier_loss_curve_ends_at_objective(loss, penalty, sparse):
    X, y = _clf_problem()
    Xf = sp.csr_matrix(X) if sparse else X
    m = fastsgd.SGDClassifier(loss=loss, penalty=penalty, max_iter=30, tol=None, **CURVE).fit(Xf, y)
    lc = m.loss_curve_
    assert lc.shape == (30,)
    assert np.all(np.isfinite(lc))
    obj = fastsgd.objective(m, X, y)
    assert lc[-1] == pytest.approx(obj, rel=0.05)
    # the objective went down from the first epoch (which starts at zero weights)
    assert lc[-1] < lc[0]


@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet", None], ids=lambda p: f"pen={p}")
@pytest.mark.parametrize(
    "loss", ["squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"]
)
def test_regressor_loss_curve_ends_at_objective(loss, penalty):
    X, y = _reg_problem()
    m = fastsgd.SGDRegressor(loss=loss, penalty=penalty, max_iter=30, tol=None, **CURVE).fit(X, y)
    lc = m.loss_curve_
    assert lc.shape == (30,)
    obj = fastsgd.objective(m, X, y)
    assert lc[-1] == pytest.approx(obj, rel=0.05)
    assert lc[-1] < lc[0]


@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet", None], ids=lambda p: f"pen={p}")
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_loss_curve_decreases_monotonically(sparse, penalty):
    # smooth convex problem, small constant step, fixed order: after the first
    # epoch every epoch's mean objective is lower than the previous one
    X, y = _clf_problem()
    Xf = sp.csr_matrix(X) if sparse else X
    m = fastsgd.SGDClassifier(loss="log_loss", penalty=penalty, max_iter=40, tol=None, **CURVE).fit(
        Xf, y
    )
    assert np.all(np.diff(m.loss_curve_[1:]) < 0), np.diff(m.loss_curve_)
    # (no such claim for least squares on this data: once at its noise floor
    # the epoch objective of cyclic constant-step SGD may rise by ~1e-6, and
    # scikit-learn's printed objective does the same)


def _sklearn_printed_objectives(est):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est()
    return np.array([float(v) for v in re.findall(r"Objective: ([-+0-9.eE]+)", buf.getvalue())])


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet", None], ids=lambda p: f"pen={p}")
@pytest.mark.parametrize("loss", ["log_loss", "hinge", "modified_huber", "squared_hinge", "huber"])
def test_loss_curve_equals_sklearn_epoch_objective(loss, penalty, sparse):
    # scikit-learn prints the same per-epoch objective (6 decimals) with verbose
    X, y = _clf_problem()
    X, y = X[:500], y[:500]
    Xf = sp.csr_matrix(X) if sparse else X
    params = dict(loss=loss, penalty=penalty, max_iter=15, tol=None, **CURVE)
    ref = _sklearn_printed_objectives(lambda: sk.SGDClassifier(verbose=1, **params).fit(Xf, y))
    ours = fastsgd.SGDClassifier(**params).fit(Xf, y).loss_curve_
    assert ref.shape == ours.shape == (15,)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1.5e-6)


@pytest.mark.parametrize("loss", ["squared_error", "epsilon_insensitive"])
def test_regressor_loss_curve_equals_sklearn_epoch_objective(loss):
    X, y = _reg_problem()
    params = dict(
        loss=loss,
        alpha=1e-3,
        penalty="elasticnet",
        learning_rate="invscaling",
        shuffle=False,
        max_iter=15,
        tol=None,
    )
    ref = _sklearn_printed_objectives(lambda: sk.SGDRegressor(verbose=1, **params).fit(X, y))
    ours = fastsgd.SGDRegressor(**params).fit(X, y).loss_curve_
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1.5e-6)


def test_multiclass_loss_curve_shape_and_values():
    X, y = make_classification(600, 8, n_informative=5, n_classes=3, random_state=1)
    X = StandardScaler().fit_transform(X)
    params = dict(loss="log_loss", max_iter=12, tol=None, **CURVE)
    m = fastsgd.SGDClassifier(**params).fit(X, y)
    assert m.loss_curve_.shape == (3, 12)
    ref = _sklearn_printed_objectives(
        lambda: sk.SGDClassifier(verbose=1, n_jobs=1, **params).fit(X, y)
    )
    np.testing.assert_allclose(m.loss_curve_.ravel(), ref, rtol=0, atol=1.5e-6)
    # each OvR problem's last epoch objective matches NumPy at its final weights
    objectives = ovr_objectives(m, X, y)
    for k in range(3):
        assert m.loss_curve_[k, -1] == pytest.approx(objectives[k], rel=0.05)


@pytest.mark.parametrize("scale", [30.0, 300.0])
def test_log_loss_curve_with_large_margins_equals_sklearn(scale):
    # |p| reaches hundreds: the engine's accumulated log loss (products of
    # (1 + e^-p) folded into logs) must still equal the per-sample sum
    X, y = _clf_problem()
    X = X[:400] * scale
    y = y[:400]
    params = dict(loss="log_loss", penalty="l2", max_iter=4, tol=None, **CURVE)
    ref = _sklearn_printed_objectives(lambda: sk.SGDClassifier(verbose=1, **params).fit(X, y))
    m = fastsgd.SGDClassifier(**params).fit(X, y)
    assert np.abs(m.decision_function(X)).max() > scale / 3
    np.testing.assert_allclose(m.loss_curve_, ref, rtol=1e-9, atol=1.5e-6)
