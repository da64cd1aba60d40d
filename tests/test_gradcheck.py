"""fastsgd.check_gradient: the engine's gradient of the regularised objective
(read off one full-batch gradient step) against central finite differences
of fastsgd.objective (NumPy), for every loss and penalty."""

import numpy as np
import pytest
import scipy.sparse as sp

import fastsgd
from fastsgd import SGDClassifier, SGDRegressor

REG_LOSSES = ["squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"]
CLF_LOSSES = ["hinge", "log_loss", "modified_huber", "squared_hinge", "perceptron", *REG_LOSSES]
PENALTIES = ["l2", "l1", "elasticnet", None]


def data(seed=0, n=150, d=6):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y_bin = (X[:, 0] + 0.3 * rng.standard_normal(n) > 0).astype(int)
    y_reg = X @ np.arange(d) + rng.standard_normal(n)
    return X, y_bin, np.arange(n) % 3, y_reg


@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("loss", CLF_LOSSES)
def test_classifier_gradient(loss, penalty):
    X, y, _, _ = data()
    r = fastsgd.check_gradient(SGDClassifier(loss=loss, penalty=penalty, alpha=0.01), X, y)
    assert r.analytic.shape == (1, X.shape[1] + 1)
    assert r.relative_error < 1e-6, r


@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("loss", REG_LOSSES)
def test_regressor_gradient(loss, penalty):
    X, _, _, y = data(1)
    r = fastsgd.check_gradient(SGDRegressor(loss=loss, penalty=penalty, alpha=0.01), X, y)
    assert r.relative_error < 1e-6, r


@pytest.mark.parametrize("multi_class", ["ovr", "multinomial"])
def test_multiclass_sparse_weighted_and_no_intercept(multi_class):
    X, _, y, _ = data(2)
    w = np.random.default_rng(3).uniform(0.5, 2.0, X.shape[0])
    est = SGDClassifier(loss="log_loss", multi_class=multi_class, alpha=0.01)
    r = fastsgd.check_gradient(est, X, y, sample_weight=w)
    assert r.analytic.shape == (3, X.shape[1] + 1)
    assert r.relative_error < 1e-6
    Xs = sp.csr_matrix(np.where(np.abs(X) > 0.7, X, 0.0))
    est = SGDClassifier(loss="hinge", penalty="elasticnet", fit_intercept=False)
    r = fastsgd.check_gradient(est, Xs, y, random_state=4)
    assert r.analytic.shape == (3, X.shape[1])
    assert r.relative_error < 1e-6


def test_a_wrong_gradient_is_caught(monkeypatch):
    # the same check against an objective with an extra term must fail
    import fastsgd._gradcheck as gc

    X, y, _, _ = data()
    real = gc.objective
    monkeypatch.setattr(gc, "objective", lambda c, *a, **k: real(c, *a, **k) + 0.01 * np.sum(c))
    r = fastsgd.check_gradient(SGDClassifier(loss="log_loss"), X, y)
    assert r.relative_error > 1e-2
