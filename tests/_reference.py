"""References the tests compare fastsgd with.

- ``sklearn_loss_and_dloss``: scikit-learn's own definition of every loss and
  its derivative.
- ``ovr_objectives``: the objective of each one-vs-rest problem, from
  ``fastsgd.objective`` (tested against scikit-learn in test_objective.py).
"""

import numpy as np
from sklearn._loss._loss import CyHalfBinomialLoss, CyHalfSquaredError, CyHuberLoss
from sklearn.linear_model import _sgd_fast

from fastsgd import objective


def sklearn_loss_and_dloss(loss, p, y, epsilon=0.1):
    """scikit-learn's loss and d loss / d p at the prediction p for the target y.

    From its SGD loss objects and its _loss module; y in {0, 1} for log_loss,
    in {-1, +1} for the other classification losses.
    """
    sgd_objects = {
        "hinge": lambda: _sgd_fast.Hinge(1.0),
        "perceptron": lambda: _sgd_fast.Hinge(0.0),
        "squared_hinge": lambda: _sgd_fast.SquaredHinge(1.0),
        "modified_huber": _sgd_fast.ModifiedHuber,
        "epsilon_insensitive": lambda: _sgd_fast.EpsilonInsensitive(epsilon),
        "squared_epsilon_insensitive": lambda: _sgd_fast.SquaredEpsilonInsensitive(epsilon),
    }
    if loss in sgd_objects:  # py_loss / py_dloss take (p, y)
        obj = sgd_objects[loss]()
        return obj.py_loss(p, y), obj.py_dloss(p, y)
    cy = {
        "log_loss": CyHalfBinomialLoss,
        "squared_error": CyHalfSquaredError,
        "huber": lambda: CyHuberLoss(epsilon),
    }[loss]()
    yt, raw = np.array([y], dtype=np.float64), np.array([p], dtype=np.float64)
    value, grad = np.empty(1), np.empty(1)
    cy.loss(yt, raw, None, value, 1)
    cy.gradient(yt, raw, None, grad, 1)
    return value[0], grad[0]


def ovr_objectives(est, X, y, sample_weight=None):
    """The objective of each one-vs-rest problem of a multiclass classifier
    (what each curve of ``loss_curve_`` tracks): row k of ``coef_`` as the
    binary model of class k against the rest."""
    settings = dict(loss=est.loss, penalty=est.penalty, alpha=est.alpha, l1_ratio=est.l1_ratio,
                    epsilon=est.epsilon)
    return np.array([
        objective(est.coef_[k], X, y == label, intercept=est.intercept_[k],
                  classes=[False, True], sample_weight=sample_weight, **settings)
        for k, label in enumerate(est.classes_)
    ])
