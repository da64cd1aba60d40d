"""Numerics of the batch engine.

The mini-batch gradient against finite differences of the objective,
clip_norm's bound on every step (against the reference's gradient), float32
against float64 fits, and divergence.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from _reference import Reference
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from fastsgd import SGDClassifier, SGDRegressor, objective
from fastsgd._objective import CLASSIFICATION_LOSSES, REGRESSION_LOSSES

from helpers import make_data


# ----------------------------------------------------------------------
# the mini-batch gradient, checked by finite differences
def _fd_gradient(f, theta, h=1e-6):
    g = np.zeros_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e.flat[i] = h
        g.flat[i] = (f(theta + e) - f(theta - e)) / (2 * h)
    return g


KINKS = {
    "hinge": lambda p, y: [p * y - 1.0],
    "perceptron": lambda p, y: [p * y],
    "squared_hinge": lambda p, y: [p * y - 1.0],
    "modified_huber": lambda p, y: [p * y - 1.0, p * y + 1.0],
    "huber": lambda p, y: [np.abs(p - y) - 0.3],
    "epsilon_insensitive": lambda p, y: [np.abs(p - y) - 0.3],
    "squared_epsilon_insensitive": lambda p, y: [np.abs(p - y) - 0.3],
}


@pytest.mark.parametrize("loss", CLASSIFICATION_LOSSES + REGRESSION_LOSSES + ("multinomial",))
def test_batch_gradient_finite_differences(loss):
    m, d, alpha, eta0 = 12, 4, 0.1, 0.5
    rng = np.random.RandomState(sum(map(ord, loss)))
    regression = loss in REGRESSION_LOSSES
    for _attempt in range(200):
        X = rng.randn(m, d)
        sw = rng.uniform(0.5, 2.0, size=m)
        if loss == "multinomial":
            K = 3
            y = np.arange(m) % K
            w0, b0 = rng.randn(K, d) * 0.5, rng.randn(K) * 0.5
        else:
            K = 1
            w0, b0 = rng.randn(d) * 0.7, rng.randn(1) * 0.3
            p0 = X @ w0 + b0
            if regression:
                y = p0 + rng.choice([-1, 1], size=m) * rng.uniform(0.0, 1.0, size=m)
            else:
                y = rng.choice([0, 1], size=m)
                y[:2] = [0, 1]
        if loss in KINKS:
            ypm = y if regression else np.where(y == 1, 1.0, -1.0)
            dist = np.min(np.abs(np.concatenate(KINKS[loss](p0, ypm))))
            if dist < 0.05:
                continue
        break
    else:
        raise AssertionError("no point away from the kinks")
    common = dict(
        penalty="l2",
        alpha=alpha,
        learning_rate="constant",
        eta0=eta0,
        batch_size=m,
        shuffle=False,
        max_iter=1,
        tol=None,
        optimizer="sgd",
    )
    if loss == "multinomial":
        est = SGDClassifier(loss="log_loss", multi_class="multinomial", **common)
    elif regression:
        est = SGDRegressor(loss=loss, epsilon=0.3, **common)
    else:
        est = SGDClassifier(loss=loss, epsilon=0.3, **common)
    est.fit(X, y, coef_init=w0, intercept_init=b0, sample_weight=sw)
    theta0 = np.concatenate([np.ravel(w0), np.ravel(b0)])
    theta1 = np.concatenate([np.ravel(est.coef_), np.ravel(est.intercept_)])
    engine_grad = (theta0 - theta1) / eta0

    if loss == "multinomial":
        settings = dict(loss="log_loss", multi_class="multinomial")
    else:
        settings = dict(loss=loss, epsilon=0.3)

    def objective_at(theta):
        W, b = theta[: K * d].reshape(K, d), theta[K * d :]
        return objective(
            W, X, y, intercept=b, sample_weight=sw, penalty="l2", alpha=alpha, **settings
        )

    fd = _fd_gradient(objective_at, theta0)
    assert np.linalg.norm(fd) > 1e-2
    np.testing.assert_allclose(engine_grad, fd, rtol=1e-6, atol=1e-7)


# ----------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["bin", "ovr3", "multi3", "reg"])
def test_clip_norm_bounds_every_step(kind):
    """sgd, constant eta0, one batch per partial_fit call: the step's norm is
    eta0 * min(||g||, clip_norm) (so never above eta0 * clip_norm)."""
    X, y = make_data(kind, n=80, d=6, seed=2)
    # clip_norm inside the range of this run's gradient norms: some steps are
    # clipped, some not
    eta0, bs = 0.1, 8
    clip = {"bin": 0.55, "ovr3": 0.85, "multi3": 0.7, "reg": 3.5}[kind]
    params = dict(
        optimizer="sgd",
        learning_rate="constant",
        eta0=eta0,
        clip_norm=clip,
        batch_size=bs,
        shuffle=False,
        alpha=0.01,
    )
    if kind == "reg":
        est = SGDRegressor(loss="squared_error", **params)
    else:
        extra = dict(multi_class="multinomial") if kind == "multi3" else {}
        est = SGDClassifier(loss="log_loss", **params, **extra)
    classes = None if kind == "reg" else np.unique(y)
    ref = Reference(est, X.shape[1], classes=classes)
    clipped = unclipped = 0
    for i in range(0, X.shape[0], bs):
        Xb, yb = X[i : i + bs], y[i : i + bs]
        if i == 0:
            before_coef = np.zeros((ref.K, X.shape[1]))
            before_b = np.zeros(ref.K)
        else:
            before_coef = np.array(est.coef_).reshape(ref.K, -1)
            before_b = np.array(est.intercept_).reshape(-1)
        if kind == "reg":
            est.partial_fit(Xb, yb)
        else:
            est.partial_fit(Xb, yb, classes=classes)
        delta = np.concatenate(
            [
                (np.array(est.coef_).reshape(ref.K, -1) - before_coef).ravel(),
                np.ravel(est.intercept_) - before_b,
            ]
        )
        step = np.linalg.norm(delta)
        # the gradient at the weights before the step, computed independently
        ref.W[:, :-1], ref.W[:, -1] = before_coef, before_b
        T, C = ref._targets(yb)
        G, _ = ref.gradient(Xb, T, C, np.ones(len(yb)))
        gnorm = np.linalg.norm(G)
        assert step <= eta0 * clip + 1e-12
        if gnorm < clip:
            unclipped += 1
            np.testing.assert_allclose(step, eta0 * gnorm, rtol=1e-10)
        else:
            clipped += 1
            np.testing.assert_allclose(step, eta0 * clip, rtol=1e-10)
            # the direction is still the gradient's
            np.testing.assert_allclose(
                delta,
                -eta0 * clip / gnorm * np.concatenate([G[:, :-1].ravel(), G[:, -1]]),
                rtol=1e-9,
                atol=1e-14,
            )
    assert clipped > 0 and unclipped > 0, (clipped, unclipped)


# ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "kind, params, sparse",
    [
        ("bin", dict(loss="log_loss", optimizer="adam", eta0=0.01), False),
        (
            "multi3",
            dict(loss="log_loss", optimizer="nesterov", multi_class="multinomial", eta0=0.05),
            True,
        ),
        ("ovr3", dict(loss="modified_huber", optimizer="rmsprop", eta0=0.003, average=True), False),
        (
            "reg",
            dict(loss="squared_error", optimizer="adagrad", eta0=0.1, penalty="elasticnet"),
            True,
        ),
    ],
)
def test_float32_matches_float64(kind, params, sparse):
    X, y = make_data(kind, n=300, d=6, seed=4)
    if sparse:
        X[np.abs(X) < 0.5] = 0.0
    est_cls = SGDRegressor if kind == "reg" else SGDClassifier
    base = dict(
        batch_size=16,
        max_iter=5,
        tol=None,
        random_state=0,
        learning_rate="constant",
        alpha=1e-3,
        **params,
    )
    fits = {}
    for dtype in (np.float64, np.float32):
        Xt = X.astype(dtype)
        Xt = sp.csr_matrix(Xt) if sparse else Xt
        fits[dtype] = est_cls(**base).fit(Xt, y)
    assert fits[np.float32].coef_.dtype == np.float32
    assert fits[np.float64].coef_.dtype == np.float64
    assert np.asarray(fits[np.float32].intercept_).dtype == np.float32
    np.testing.assert_allclose(fits[np.float32].coef_, fits[np.float64].coef_, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(
        fits[np.float32].intercept_, fits[np.float64].intercept_, rtol=1e-3, atol=1e-4
    )


@pytest.mark.parametrize("d", [16, 33, 100, 300, 600])
@pytest.mark.parametrize(
    "kind, params",
    [
        ("bin", dict(loss="log_loss", optimizer="adam")),
        ("ovr3", dict(loss="hinge", optimizer="sgd", eta0=0.01, learning_rate="constant")),
    ],
)
def test_float32_float_lanes_match_float64(kind, params, d):
    """Dense float32 rows go through float-lane kernels (group dot products
    with w narrowed to float, group gradients summed in float: batch_rows.inc);
    feature counts around their widths (16 floats, 32 per gradient step, the
    256-feature block) against the float64 fit."""
    X, y = make_data(kind, n=400, d=d, seed=d)
    X = X / np.sqrt(d)
    base = dict(batch_size=32, max_iter=5, tol=None, random_state=0, alpha=1e-3, **params)
    f64 = SGDClassifier(**base).fit(X, y)
    f32 = SGDClassifier(**base).fit(X.astype(np.float32), y)
    assert f32.coef_.dtype == np.float32
    scale = np.abs(f64.coef_).max()
    np.testing.assert_allclose(f32.coef_, f64.coef_, rtol=1e-3, atol=1e-4 * scale)
    np.testing.assert_allclose(f32.intercept_, f64.intercept_, rtol=1e-3, atol=1e-4 * scale)


def test_divergence_raises_and_leaves_estimator_unfitted():
    X, y = make_data("reg", n=64, d=5, seed=10)
    X = X * 100
    est = SGDRegressor(
        batch_size=4, learning_rate="constant", eta0=1e6, max_iter=50, tol=None, shuffle=False
    )
    with pytest.raises(ValueError, match=r"epoch #\d+"):
        est.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    assert not hasattr(est, "optimizer_state_")
    # a fitted estimator keeps its state when a later fit diverges
    est.set_params(eta0=1e-6)
    est.fit(X, y)
    coef = est.coef_.copy()
    state = est.optimizer_state_
    est.set_params(eta0=1e6, optimizer="momentum")
    with pytest.raises(ValueError, match="epoch"):
        est.fit(X, y)
    np.testing.assert_array_equal(est.coef_, coef)
    assert est.optimizer_state_ is state


def test_float32_weights_beyond_float_range_are_divergence():
    """Weights finite in the engine's double precision but beyond float32's
    range would come out infinite in a float32 coef_: that is divergence too."""
    rng = np.random.RandomState(0)
    X = rng.randn(30, 4)
    y = rng.randn(30)
    params = dict(
        batch_size=10,
        optimizer="sgd",
        learning_rate="constant",
        eta0=1e36,
        max_iter=1,
        tol=None,
        penalty=None,
        shuffle=False,
    )
    m64 = SGDRegressor(**params).fit(X, y)
    assert np.all(np.isfinite(m64.coef_)) and np.abs(m64.coef_).max() > 1e39
    with pytest.raises(ValueError, match="epoch #1"):
        SGDRegressor(**params).fit(X.astype(np.float32), y)
