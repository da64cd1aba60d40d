"""The batch engine against the NumPy reference of docs/batch.md.

Each test fits an estimator with shuffle=False and compares coef_, the
intercept, the plain and averaged weights, the optimizer state and the loss
curve with ``Reference`` (tests/_reference.py) to 1e-12: every optimizer with
the schedules, penalties, clipping, averaging and batch sizes; the tol and
adaptive stopping rules, early stopping, coef_init, learning_rate="optimal"'s
first step and partial_fit's carried optimizer state.
"""

import math
import pickle
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from _reference import OPTIMIZERS, Reference, assert_matches_reference, cosine_cycle_exact
from sklearn.base import clone

from fastsgd import SGDClassifier, SGDRegressor, _engine

from helpers import make_data

ETA0 = {
    "sgd": 0.1,
    "momentum": 0.05,
    "nesterov": 0.05,
    "adagrad": 0.1,
    "rmsprop": 0.01,
    "adadelta": 1.0,
    "adam": 0.02,
    "adamw": 0.02,
}

# (id, kind, estimator parameters, data options); each runs with every optimizer
REFERENCE_CASES = [
    ("log-l2-constant", "bin", dict(loss="log_loss", learning_rate="constant"), {}),
    ("sq-l2-constant", "reg", dict(loss="squared_error", learning_rate="constant"), {}),
    (
        "hinge-l1-invscaling",
        "bin",
        dict(loss="hinge", penalty="l1", alpha=0.05, learning_rate="invscaling", power_t=0.4),
        {},
    ),
    (
        "huber-enet-step",
        "reg",
        dict(
            loss="huber",
            epsilon=0.3,
            penalty="elasticnet",
            l1_ratio=0.4,
            alpha=0.05,
            learning_rate="step",
            lr_decay=0.5,
            lr_decay_epochs=0.5,
        ),
        {},
    ),
    (
        "log-nopen-nointercept-exp",
        "bin",
        dict(
            loss="log_loss",
            penalty=None,
            fit_intercept=False,
            learning_rate="exponential",
            lr_decay=0.3,
            lr_decay_epochs=1.5,
        ),
        {},
    ),
    (
        "mhuber-sw-cw-optimal",
        "bin",
        dict(
            loss="modified_huber",
            alpha=0.01,
            learning_rate="optimal",
            class_weight={-1: 0.5, 3: 2.0},
        ),
        dict(sample_weight=True),
    ),
    ("log-optimal", "bin", dict(loss="log_loss", alpha=0.01, learning_rate="optimal"), {}),
    ("sq-optimal", "reg", dict(loss="squared_error", alpha=0.03, learning_rate="optimal"), {}),
    (
        "ovr3-log-cw-cosine-mult",
        "ovr3",
        dict(
            loss="log_loss",
            learning_rate="cosine",
            restart_epochs=0.75,
            restart_mult=2.0,
            eta_min=0.001,
            class_weight={2: 3.0, 7: 0.5},
        ),
        {},
    ),
    (
        # cycles far shorter than a batch: the cycle is found in closed form
        "log-cosine-tiny-cycles",
        "bin",
        dict(loss="log_loss", learning_rate="cosine", restart_epochs=1e-9, eta_min=0.001),
        {},
    ),
    (
        "sq-cosine-tiny-cycles-mult",
        "reg",
        dict(
            loss="squared_error",
            learning_rate="cosine",
            restart_epochs=1e-6,
            restart_mult=1.5,
            eta_min=0.001,
        ),
        {},
    ),
    (
        "ovr4-hinge-sw-enet",
        "ovr4",
        dict(
            loss="hinge", penalty="elasticnet", l1_ratio=0.5, alpha=0.02, learning_rate="constant"
        ),
        dict(sample_weight=True),
    ),
    (
        "multi3-cw-sw-l2",
        "multi3",
        dict(
            loss="log_loss",
            multi_class="multinomial",
            alpha=0.01,
            learning_rate="constant",
            class_weight={5: 2.0},
        ),
        dict(sample_weight=True),
    ),
    (
        "multi4-l1-csr",
        "multi4",
        dict(
            loss="log_loss",
            multi_class="multinomial",
            penalty="l1",
            alpha=0.02,
            learning_rate="invscaling",
        ),
        dict(sparse=True),
    ),
    (
        "multi3-optimal",
        "multi3",
        dict(loss="log_loss", multi_class="multinomial", alpha=0.01, learning_rate="optimal"),
        {},
    ),
    (
        "eps-insensitive-csr",
        "reg",
        dict(loss="epsilon_insensitive", epsilon=0.05, learning_rate="constant"),
        dict(sparse=True),
    ),
    (
        "sq-eps-insensitive-nopen",
        "reg",
        dict(
            loss="squared_epsilon_insensitive", epsilon=0.2, penalty=None, learning_rate="constant"
        ),
        {},
    ),
    (
        "sqhinge-csr-cosine-warmup",
        "bin",
        dict(loss="squared_hinge", learning_rate="cosine", restart_epochs=2, warmup_epochs=1.5),
        dict(sparse=True),
    ),
    (
        "perceptron-l1-warmup",
        "bin",
        dict(
            loss="perceptron", penalty="l1", alpha=0.01, learning_rate="constant", warmup_epochs=0.6
        ),
        {},
    ),
    ("log-clip", "bin", dict(loss="log_loss", learning_rate="constant", clip_norm=0.3), {}),
    ("ovr3-hinge-clip", "ovr3", dict(loss="hinge", learning_rate="constant", clip_norm=0.5), {}),
    (
        "multi3-clip-enet",
        "multi3",
        dict(
            loss="log_loss",
            multi_class="multinomial",
            penalty="elasticnet",
            l1_ratio=0.3,
            alpha=0.02,
            learning_rate="constant",
            clip_norm=0.4,
        ),
        {},
    ),
    (
        "multi3-nointercept-clip",
        "multi3",
        dict(
            loss="log_loss",
            multi_class="multinomial",
            fit_intercept=False,
            learning_rate="constant",
            clip_norm=0.3,
        ),
        {},
    ),
    (
        "sq-average-true",
        "reg",
        dict(loss="squared_error", learning_rate="constant", average=True),
        {},
    ),
    ("log-average-int", "bin", dict(loss="log_loss", learning_rate="constant", average=7), {}),
    (
        "ovr3-average-int-l1",
        "ovr3",
        dict(loss="modified_huber", penalty="l1", alpha=0.01, learning_rate="constant", average=20),
        {},
    ),
    (
        "sq-average-late",
        "reg",
        dict(loss="squared_error", learning_rate="constant", average=100),
        {},
    ),
    # a full batch needs no shuffling: shuffle=True changes nothing
    (
        "log-full-batch-shuffle",
        "bin",
        dict(
            loss="log_loss",
            learning_rate="constant",
            batch_size="full",
            shuffle=True,
            random_state=0,
        ),
        {},
    ),
    (
        "sq-batch-above-n",
        "reg",
        dict(loss="squared_error", learning_rate="invscaling", batch_size=100),
        {},
    ),
    (
        "multi3-full-batch-csr",
        "multi3",
        dict(
            loss="log_loss", multi_class="multinomial", learning_rate="constant", batch_size="full"
        ),
        dict(sparse=True),
    ),
    (
        "sq-adaptive-hyper",
        "reg",
        dict(
            loss="squared_error",
            learning_rate="adaptive",
            momentum=0.5,
            beta_1=0.8,
            beta_2=0.99,
            rho=0.7,
            optimizer_epsilon=1e-3,
        ),
        {},
    ),
    (
        "ovr3-sq-batch5-nointercept",
        "ovr3",
        dict(
            loss="squared_error",
            fit_intercept=False,
            learning_rate="constant",
            batch_size=5,
            alpha=0.01,
        ),
        dict(sparse=True),
    ),
    # batch_size=1 (the clip_norm, never reached, keeps plain sgd on the batch engine)
    (
        "huber-batch1",
        "reg",
        dict(loss="huber", epsilon=0.5, learning_rate="constant", batch_size=1, clip_norm=100.0),
        {},
    ),
    (
        "bin-multinomial-is-binary",
        "bin",
        dict(loss="log_loss", multi_class="multinomial", learning_rate="constant"),
        {},
    ),
]


def _case_estimator(kind, params, optimizer):
    base = dict(
        optimizer=optimizer,
        eta0=ETA0[optimizer],
        batch_size=4,
        shuffle=False,
        max_iter=3,
        tol=None,
        alpha=0.001,
    )
    base.update(params)
    est_cls = SGDRegressor if kind == "reg" else SGDClassifier
    return est_cls(**base)


def _case_data(kind, opts, n=14, seed=0):
    X, y = make_data(kind, n=n, seed=seed)
    sw = None
    if opts.get("sample_weight"):
        sw = np.random.RandomState(seed + 100).uniform(0.2, 2.0, size=X.shape[0])
    if opts.get("sparse"):
        X = X.copy()
        X[np.abs(X) < 0.6] = 0.0
        X = sp.csr_matrix(X)
    return X, y, sw


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("case", REFERENCE_CASES, ids=[c[0] for c in REFERENCE_CASES])
def test_matches_numpy_reference(case, optimizer):
    _, kind, params, opts = case
    est = _case_estimator(kind, params, optimizer)
    X, y, sw = _case_data(kind, opts)
    assert est._uses_batch_engine()
    est.fit(X, y, sample_weight=sw)
    classes = None if kind == "reg" else np.unique(y)
    ref = Reference(est, X.shape[1], classes=classes).fit(X, y, sw)
    assert est.n_iter_ == est.max_iter
    assert_matches_reference(est, ref, X)
    # the model really moved (a vacuous comparison of zeros would not test anything)
    assert np.max(np.abs(ref.W)) > 1e-3


@pytest.mark.parametrize("mult", [1.0, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("T0", [0.75, 2.0, 0.01, 1e-7])
def test_cosine_cycle_against_exact(T0, mult):
    """The engine's closed-form cycle search against exact rational arithmetic:
    at random epoch times, at every cycle start below 60 epochs, and one
    representable number either side of it."""
    rng = np.random.RandomState(0)
    es = list(rng.uniform(0.0, 60.0, 200)) + [0.0, 1e-300, 59.999]
    start, Ti = Fraction(0), Fraction(T0)
    while start <= 60 and len(es) < 500:
        es += [float(start), math.nextafter(float(start), 0.0), math.nextafter(float(start), 1e9)]
        start += Ti
        Ti *= Fraction(mult)
    for e in es:
        T, Ti = _engine.cosine_cycle(T0, mult, e)
        T_ref, Ti_ref = cosine_cycle_exact(T0, mult, e)
        tol = 1e-12 * max(e, 1.0)
        ok = Ti == pytest.approx(Ti_ref, rel=1e-12) and abs(T - T_ref) <= tol
        if T_ref <= tol:  # at a cycle's start to rounding: may be the previous cycle's end
            ok |= Ti == pytest.approx(Ti_ref / mult, rel=1e-12) and abs(T - Ti) <= tol
        if Ti_ref - T_ref <= tol:  # at a cycle's end to rounding: may be the next one's start
            ok |= Ti == pytest.approx(Ti_ref * mult, rel=1e-12) and T <= tol
        assert ok, (e, T, Ti, T_ref, Ti_ref)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_reference_with_coef_init(optimizer):
    """Starting from coef_init / intercept_init (OvR, 3 classes, elastic-net)."""
    X, y, sw = _case_data("ovr3", {}, n=17, seed=3)
    est = _case_estimator(
        "ovr3", dict(loss="log_loss", penalty="elasticnet", l1_ratio=0.5, alpha=0.02), optimizer
    )
    rng = np.random.RandomState(7)
    c0, b0 = rng.randn(3, X.shape[1]) * 0.3, rng.randn(3) * 0.3
    est.fit(X, y, coef_init=c0, intercept_init=b0)
    ref = Reference(est, X.shape[1], classes=np.unique(y), coef_init=c0, intercept_init=b0)
    ref.fit(X, y)
    assert_matches_reference(est, ref, X)


STOPPING_CASES = [
    ("bin-adaptive", "bin", dict(loss="log_loss", learning_rate="adaptive", eta0=0.5)),
    (
        "ovr3-tol",
        "ovr3",
        dict(loss="hinge", learning_rate="invscaling", eta0=0.3, clip_norm=0.8, average=30),
    ),
    (
        "ovr3-adaptive",
        "ovr3",
        dict(loss="log_loss", learning_rate="adaptive", eta0=0.5, clip_norm=2.0),
    ),
    (
        "multi3-tol",
        "multi3",
        dict(loss="log_loss", multi_class="multinomial", learning_rate="constant", eta0=0.3),
    ),
    (
        "multi3-adaptive",
        "multi3",
        dict(loss="log_loss", multi_class="multinomial", learning_rate="adaptive", eta0=0.5),
    ),
    ("reg-adaptive", "reg", dict(loss="squared_error", learning_rate="adaptive", eta0=0.1)),
]


@pytest.mark.parametrize("optimizer", ["sgd", "nesterov", "adam"])
@pytest.mark.parametrize("case", STOPPING_CASES, ids=[c[0] for c in STOPPING_CASES])
def test_stopping_rule_matches_reference(case, optimizer):
    """The tol rule on the epoch objective (one per OvR output, which is then
    frozen; one for a multinomial model) and learning_rate="adaptive"'s
    division of the step by 5, against the reference."""
    _, kind, params = case
    est = _case_estimator(
        kind, dict(params, eta0=params["eta0"] * (0.1 if optimizer != "sgd" else 1.0)), optimizer
    )
    est.set_params(tol=0.02, n_iter_no_change=2, max_iter=25)
    X, y, sw = _case_data(kind, {}, n=30, seed=11)
    est.fit(X, y)
    ref = Reference(est, X.shape[1], classes=None if kind == "reg" else np.unique(y)).fit(X, y)
    assert_matches_reference(est, ref, X)
    # the rule did something in this case
    fired = (
        (ref.eta_scale < 1).any()
        if params["learning_rate"] == "adaptive"
        else (ref.n_iter < 25).any()
    )
    assert fired, (ref.eta_scale, ref.n_iter)


EARLY_STOPPING_CASES = [
    ("bin-sw", "bin", dict(loss="hinge", learning_rate="constant", eta0=0.05), True),
    (
        "ovr3-adaptive-avg",
        "ovr3",
        dict(loss="log_loss", learning_rate="adaptive", eta0=0.2, average=50),
        False,
    ),
    (
        "multi3-cosine",
        "multi3",
        dict(
            loss="log_loss",
            multi_class="multinomial",
            learning_rate="cosine",
            restart_epochs=3,
            eta0=0.2,
        ),
        True,
    ),
    (
        "reg-warmup",
        "reg",
        dict(loss="squared_error", learning_rate="constant", eta0=0.05, warmup_epochs=2),
        True,
    ),
]


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "rmsprop", "adamw"])
@pytest.mark.parametrize("case", EARLY_STOPPING_CASES, ids=[c[0] for c in EARLY_STOPPING_CASES])
def test_early_stopping_matches_reference(case, optimizer):
    """early_stopping: the validation rows are left out of the batches (and of
    the epoch's batch count), the rule runs on the validation score."""
    _, kind, params, weighted = case
    scale = {"sgd": 1.0, "momentum": 0.2, "rmsprop": 0.1, "adamw": 0.1}[optimizer]
    est = _case_estimator(kind, dict(params, eta0=params["eta0"] * scale), optimizer)
    est.set_params(
        early_stopping=True,
        validation_fraction=0.25,
        tol=1e-3,
        n_iter_no_change=2,
        max_iter=30,
        random_state=3,
    )
    X, y, sw = _case_data(kind, dict(sample_weight=weighted), n=41, seed=12)
    est.fit(X, y, sample_weight=sw)
    ref = Reference(est, X.shape[1], classes=None if kind == "reg" else np.unique(y)).fit(X, y, sw)
    assert_matches_reference(est, ref, X)
    assert ref.n_updates == est.n_iter_ * math.ceil(30 / 4)  # 30 training rows


def test_optimal_first_step_is_half_over_curvature():
    """learning_rate="optimal" in the batch engine (docs/batch.md): a full
    batch of squared loss without penalty steps 1 / (2 L) from w = 0, L the
    largest eigenvalue of the rows' second moment (a 1 appended for the
    intercept), times 1 - momentum for momentum; a full batch never decays."""
    X, y = make_data("reg", n=6, d=3, seed=1)
    A = np.hstack([X, np.ones((6, 1))])
    L = np.linalg.eigvalsh(A.T @ A / 6)[-1]
    for optimizer, factor in [("sgd", 1.0), ("momentum", 0.5)]:
        est = SGDRegressor(
            batch_size=6,
            optimizer=optimizer,
            momentum=0.5,
            learning_rate="optimal",
            penalty=None,
            shuffle=False,
            max_iter=1,
            tol=None,
        ).fit(X, y)
        g = np.mean((0.0 - y)[:, None] * X, axis=0)  # gradient at w = 0
        np.testing.assert_allclose(est.coef_, -factor * 0.5 / L * g, rtol=1e-12)
        # a second epoch: the same step (r = 0) from the new weights
        est2 = clone(est).set_params(max_iter=2).fit(X, y)
        w, b = est.coef_, est.intercept_[0]
        g2 = np.mean((X @ w + b - y)[:, None] * X, axis=0)
        if optimizer == "sgd":
            np.testing.assert_allclose(est2.coef_, w - 0.5 / L * g2, rtol=1e-12)


# ----------------------------------------------------------------------
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize(
    "kind, params",
    [
        (
            "ovr3",
            dict(
                loss="log_loss",
                learning_rate="cosine",
                restart_epochs=2,
                average=10,
                class_weight={2: 2.0},
            ),
        ),
        (
            "multi3",
            dict(
                loss="log_loss",
                multi_class="multinomial",
                penalty="l1",
                alpha=0.01,
                learning_rate="exponential",
                lr_decay=0.5,
                lr_decay_epochs=1,
            ),
        ),
        (
            "multi3",
            dict(
                loss="log_loss",
                multi_class="multinomial",
                learning_rate="invscaling",
                warmup_epochs=2.5,
            ),
        ),
        ("bin", dict(loss="modified_huber", learning_rate="optimal", alpha=0.01, average=True)),
        (
            "reg",
            dict(
                loss="huber",
                learning_rate="step",
                lr_decay=0.5,
                lr_decay_epochs=2,
                warmup_epochs=1.5,
                clip_norm=1.0,
            ),
        ),
    ],
    ids=[
        "ovr3-cosine-avg",
        "multi3-exp-l1",
        "multi3-invscaling-warmup",
        "bin-optimal-avg",
        "reg-step-warmup-clip",
    ],
)
def test_partial_fit_carries_optimizer_state(kind, params, optimizer):
    """partial_fit calls (each one epoch, counters carried, pickled between
    calls) equal the reference run continuously over the same chunks."""
    est = _case_estimator(kind, params, optimizer)
    pickled = clone(est)
    X, y, sw = _case_data(kind, {}, n=40, seed=5)
    classes = None if kind == "reg" else np.unique(y)
    ref = Reference(est, X.shape[1], classes=classes)
    chunks = [slice(0, 14), slice(14, 23), slice(23, 40), slice(0, 14)]
    for rows in chunks:
        Xc, yc = X[rows], y[rows]
        for model in (est, pickled):
            if kind == "reg":
                model.partial_fit(Xc, yc)
            else:
                model.partial_fit(Xc, yc, classes=classes)
        pickled = pickle.loads(pickle.dumps(pickled))
        ref.epoch(Xc, yc)
        assert_matches_reference(est, ref, Xc, check_curve=False)
        np.testing.assert_allclose(np.ravel(est.loss_curve_), np.ravel(ref.curves[-1]), rtol=1e-10)
        # pickling between calls changes nothing, bit for bit
        assert np.array_equal(pickled.coef_, est.coef_)
        assert np.array_equal(pickled.intercept_, est.intercept_)
        assert np.array_equal(pickled.optimizer_state_["slots"], est.optimizer_state_["slots"])
        assert pickled.optimizer_state_["n_updates"] == est.optimizer_state_["n_updates"]
    # a fresh fit starts the state afresh
    est.set_params(max_iter=1)
    est.fit(X[chunks[0]], y[chunks[0]])
    assert est.optimizer_state_["n_updates"] == math.ceil(14 / 4)
    assert est.optimizer_state_["epochs"] == 1
