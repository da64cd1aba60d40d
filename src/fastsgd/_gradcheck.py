"""``fastsgd.check_gradient``: the engine's gradient against finite differences.

The C engine never writes the gradient of the objective down as such: it
takes steps.  One step of plain full-batch gradient descent with a constant
step ``eta`` (``batch_size="full"``, ``optimizer="sgd"``,
``learning_rate="constant"``, one epoch) moves the weights by exactly
``-eta * gradient``, so the gradient the engine computes is ``(w - w') /
eta``.  The reference is the central difference of ``fastsgd.objective``
(the NumPy definition of the regularised objective) in each coordinate.
A loss or penalty added to the engine is checked by running this for it.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone, is_classifier

from ._objective import objective


@dataclass
class GradientCheck:
    """The engine's gradient, the finite-difference one, and their relative
    error ``||analytic - numeric|| / max(||analytic||, ||numeric||)`` (the
    intercepts are the last column of both, where fitted)."""

    analytic: np.ndarray
    numeric: np.ndarray
    relative_error: float


def check_gradient(
    estimator, X, y, *, coef=None, intercept=None, sample_weight=None, h=1e-6, eta=1e-6,
    random_state=0,
):  # fmt: skip
    """Compare the engine's gradient of the regularised objective with
    central finite differences of :func:`fastsgd.objective`.

    Parameters
    ----------
    estimator : SGDClassifier or SGDRegressor
        Its loss, penalty, alpha, l1_ratio, epsilon, fit_intercept and
        multi_class define the objective (class_weight is left out: it is
        not part of fastsgd.objective); it is not modified (a clone takes
        the step).
    X, y : the rows (dense, float64 is best for the finite differences).
    coef, intercept : where to take the gradient; by default a random point
        (seeded by ``random_state``) away from the kinks of hinge-like losses
        and of the L1 penalty.  coef has shape (K, n_features), K = 1 for
        regression and binary classification, else the number of classes.
    sample_weight : optional weights of the rows.
    h : the finite-difference step.
    eta : the engine's step; small enough that the step crosses no kink.

    Returns
    -------
    GradientCheck
    """
    X = X.astype(np.float64).tocsr() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    n_features = X.shape[1]
    classes = np.unique(y) if is_classifier(estimator) else None
    K = 1 if classes is None or classes.shape[0] == 2 else classes.shape[0]
    rng = np.random.default_rng(random_state)
    if coef is None:
        coef = rng.choice([-1.0, 1.0], (K, n_features)) * rng.uniform(0.05, 0.3, (K, n_features))
    coef = np.array(coef, dtype=np.float64).reshape(K, n_features)
    fit_intercept = bool(estimator.fit_intercept)
    if intercept is None:
        intercept = rng.uniform(-0.2, 0.2, K) if fit_intercept else np.zeros(K)
    intercept = np.array(intercept, dtype=np.float64).reshape(K)

    step = clone(estimator).set_params(
        batch_size="full", optimizer="sgd", learning_rate="constant", eta0=eta, max_iter=1,
        tol=None, shuffle=False, average=False, early_stopping=False, warm_start=False,
        clip_norm=None, warmup_epochs=0, scale=None, parallel=None, verbose=0,
    )  # fmt: skip
    settings = dict(
        loss=estimator.loss, penalty=estimator.penalty, alpha=estimator.alpha,
        l1_ratio=estimator.l1_ratio, epsilon=estimator.epsilon,
    )  # fmt: skip
    if classes is not None:
        # class weights are not part of fastsgd.objective: checked without
        step.set_params(class_weight=None)
        settings.update(multi_class=estimator.multi_class, classes=classes)
    coef_init = coef[0] if classes is None else coef
    step.fit(X, y, coef_init=coef_init, intercept_init=intercept, sample_weight=sample_weight)
    analytic_w = (coef - np.asarray(step.coef_, dtype=np.float64).reshape(K, n_features)) / eta
    analytic_b = (intercept - np.asarray(step.intercept_, dtype=np.float64).reshape(K)) / eta

    def f(c, b):
        c = c if classes is not None else c[0]
        return objective(c, X, y, sample_weight=sample_weight, intercept=b, **settings)

    numeric_w = np.empty_like(coef)
    numeric_b = np.zeros(K)
    for k in range(K):
        for j in range(n_features):
            up, down = coef.copy(), coef.copy()
            up[k, j] += h
            down[k, j] -= h
            numeric_w[k, j] = (f(up, intercept) - f(down, intercept)) / (2 * h)
        if fit_intercept:
            up, down = intercept.copy(), intercept.copy()
            up[k] += h
            down[k] -= h
            numeric_b[k] = (f(coef, up) - f(coef, down)) / (2 * h)
    if fit_intercept:
        analytic = np.hstack([analytic_w, analytic_b[:, None]])
        numeric = np.hstack([numeric_w, numeric_b[:, None]])
    else:
        analytic, numeric = analytic_w, numeric_w
    scale = max(np.linalg.norm(analytic), np.linalg.norm(numeric), 1e-300)
    return GradientCheck(analytic, numeric, float(np.linalg.norm(analytic - numeric) / scale))
