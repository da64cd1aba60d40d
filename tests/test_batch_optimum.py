"""The batch engine reaches the optimum of the regularised objective.

Every optimizer with the documented recipe against the scipy L-BFGS optimum,
the multinomial model against scikit-learn's LogisticRegression, and each
loss curve's end against the objective at the fitted weights
(fastsgd.objective).
"""

import numpy as np
import pytest
from _reference import OPTIMIZERS, lbfgs_optimum, ovr_objectives
from scipy.special import softmax
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from fastsgd import SGDClassifier, SGDRegressor, objective

from helpers import make_data

# The documented recipe (docs/batch.md, benchmarks): with it every optimizer
# reaches the regularised optimum within 1e-3 relative in 20 epochs on
# standardised data (20000 x 20, alpha=1e-3, batch_size=32,
# learning_rate="cosine", restart_epochs=20, random_state=0).
RECIPE_ETA0 = {
    "sgd": 0.1,
    "momentum": 0.01,
    "nesterov": 0.01,
    "adagrad": 0.1,
    "rmsprop": 0.003,
    "adadelta": 1.0,
    "adam": 0.003,
    "adamw": 0.003,
}


# ----------------------------------------------------------------------
# the optimum of the regularised objective
@pytest.fixture(scope="module")
def recipe_problems():
    alpha = 1e-3
    Xc, yc = make_classification(n_samples=20000, n_features=20, random_state=0)
    Xc = StandardScaler().fit_transform(Xc)
    Xr, yr = make_regression(n_samples=20000, n_features=20, noise=10, random_state=0)
    Xr = StandardScaler().fit_transform(Xr)
    yr = (yr - yr.mean()) / yr.std()
    options = dict(maxiter=20000, gtol=1e-12, ftol=1e-16)
    return dict(
        alpha=alpha,
        log=(Xc, yc, lbfgs_optimum(Xc, yc, "log_loss", alpha, **options).fun),
        sq=(Xr, yr, lbfgs_optimum(Xr, yr, "squared_error", alpha, **options).fun),
    )


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("batch_size", [64, 256])
def test_defaults_reach_optimum(recipe_problems, optimizer, batch_size):
    """Issue 18, item 5: with every other parameter at its default (the batch
    engine's learning_rate="optimal", docs/batch.md "Defaults that converge"),
    each optimizer ends within 1e-3 of the regularised optimum in 20 epochs."""
    alpha = recipe_problems["alpha"]
    X, y, f_opt = recipe_problems["log"]
    est = SGDClassifier(
        loss="log_loss",
        alpha=alpha,
        optimizer=optimizer,
        batch_size=batch_size,
        max_iter=20,
        tol=None,
        random_state=0,
    ).fit(X, y)
    f = objective(est, X, y)
    assert (f - f_opt) / f_opt <= 1e-3, (f, f_opt)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_defaults_reach_logistic_regression_accuracy(optimizer):
    """Issue 18, item 5: the defaults' 5-fold accuracy on a bundled real data
    set is that of the exact solver of the same objective (LogisticRegression
    with C = 1 / (alpha n_train)), within one test row of a fold."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline

    X, y = load_breast_cancer(return_X_y=True)
    n_train = int(0.8 * len(y))
    exact = make_pipeline(StandardScaler(), LogisticRegression(C=1.0 / (1e-4 * n_train)))
    est = make_pipeline(
        StandardScaler(),
        SGDClassifier(loss="log_loss", optimizer=optimizer, batch_size=64, random_state=0),
    )
    reference = cross_val_score(exact, X, y, cv=5).mean()
    assert cross_val_score(est, X, y, cv=5).mean() >= reference - 1.0 / 114


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("task", ["log", "sq"])
def test_reaches_optimum(recipe_problems, task, optimizer):
    alpha = recipe_problems["alpha"]
    X, y, f_opt = recipe_problems[task]
    params = dict(
        alpha=alpha,
        batch_size=32,
        optimizer=optimizer,
        eta0=RECIPE_ETA0[optimizer],
        learning_rate="cosine",
        restart_epochs=20,
        max_iter=20,
        tol=None,
        random_state=0,
    )
    if task == "log":
        est = SGDClassifier(loss="log_loss", **params).fit(X, y)
    else:
        est = SGDRegressor(loss="squared_error", **params).fit(X, y)
    f = objective(est, X, y)
    assert est.n_iter_ == 20
    assert f >= f_opt * (1 - 1e-9)  # L-BFGS found the minimum
    assert (f - f_opt) / f_opt <= 1e-3, (f, f_opt)


# ----------------------------------------------------------------------
# multinomial against scikit-learn's LogisticRegression
@pytest.fixture(scope="module")
def multinomial_problem():
    X, y = make_classification(
        n_samples=3000,
        n_features=8,
        n_informative=6,
        n_redundant=0,
        n_classes=4,
        n_clusters_per_class=1,
        class_sep=0.8,
        random_state=1,
    )
    X = StandardScaler().fit_transform(X)
    alpha = 1e-3
    lr = LogisticRegression(C=1.0 / (alpha * X.shape[0]), tol=1e-12, max_iter=10000).fit(X, y)
    f_opt = objective(
        lr.coef_,
        X,
        y,
        intercept=lr.intercept_,
        loss="log_loss",
        multi_class="multinomial",
        alpha=alpha,
    )
    return X, y, alpha, lr, f_opt


@pytest.mark.parametrize(
    "params",
    [
        dict(
            batch_size=32,
            optimizer="adam",
            eta0=0.01,
            learning_rate="cosine",
            restart_epochs=20,
            max_iter=20,
        ),
        dict(
            batch_size="full",
            optimizer="nesterov",
            eta0=1.0,
            momentum=0.9,
            learning_rate="constant",
            max_iter=120,
        ),
        dict(
            batch_size=1,
            optimizer="sgd",
            eta0=0.02,
            learning_rate="cosine",
            restart_epochs=15,
            max_iter=15,
        ),
        dict(
            batch_size=256,
            optimizer="adagrad",
            eta0=0.3,
            learning_rate="cosine",
            restart_epochs=40,
            max_iter=40,
        ),
    ],
    ids=["adam-32", "nesterov-full", "sgd-1", "adagrad-256"],
)
def test_multinomial_matches_logistic_regression(multinomial_problem, params):
    X, y, alpha, lr, f_opt = multinomial_problem
    # n_jobs=1: the threads are tested elsewhere, and on a busy machine a
    # spinning OpenMP thread makes many tiny full batches slow
    est = SGDClassifier(
        loss="log_loss",
        multi_class="multinomial",
        alpha=alpha,
        tol=None,
        random_state=0,
        n_jobs=1,
        **params,
    )
    est.fit(X, y)
    assert est.coef_.shape == (4, X.shape[1])
    f = objective(est, X, y)
    assert f >= f_opt * (1 - 1e-9)
    assert (f - f_opt) / f_opt <= 1e-3, (f, f_opt)
    agree = np.mean(est.predict(X) == lr.predict(X))
    assert agree >= 0.995, agree
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(proba, softmax(est.decision_function(X), axis=1), rtol=1e-12)
    np.testing.assert_allclose(est.predict_log_proba(X), np.log(proba), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(est.predict(X), est.classes_[np.argmax(proba, axis=1)])


@pytest.mark.parametrize("kind", ["bin", "ovr3", "multi3", "reg"])
def test_loss_curve_converged(kind):
    X, y = make_data(kind, n=400, d=5, seed=9)
    alpha = 1e-2
    params = dict(
        alpha=alpha,
        batch_size=16,
        optimizer="adam",
        eta0=0.02,
        learning_rate="cosine",
        restart_epochs=30,
        max_iter=30,
        tol=None,
        random_state=0,
    )
    if kind == "reg":
        est = SGDRegressor(loss="squared_error", **params).fit(X, y)
    else:
        extra = dict(multi_class="multinomial") if kind == "multi3" else {}
        est = SGDClassifier(loss="log_loss", **params, **extra).fit(X, y)
    curves = np.atleast_2d(est.loss_curve_)
    assert curves.shape[1] == 30
    finals = ovr_objectives(est, X, y) if kind == "ovr3" else [objective(est, X, y)]
    assert len(finals) == len(curves)
    for curve, final in zip(curves, finals, strict=True):
        assert np.all(np.isfinite(curve))
        assert curve[-1] < curve[0]
        assert np.all(np.diff(curve) <= 0.02 * curve[:-1])  # decreasing, up to noise
        assert abs(curve[-1] - final) <= 0.03 * final, (curve[-1], final)
