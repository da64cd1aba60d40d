"""Helpers shared by several test modules."""

import tracemalloc

import numpy as np

_SAMPLE_WEIGHT_REASON = (
    "SGD with sample_weight=k is equivalent to repeating rows only in "
    "expectation (see test_statistical.py), as for scikit-learn's SGD"
)


def expected_failed_checks(estimator):
    """The checks parametrize_with_checks may see fail: only the two
    sample-weight equivalence checks, which scikit-learn declares for its own
    SGD estimators too."""
    return {
        "check_sample_weight_equivalence_on_dense_data": _SAMPLE_WEIGHT_REASON,
        "check_sample_weight_equivalence_on_sparse_data": _SAMPLE_WEIGHT_REASON,
    }


def peak_traced_bytes(func):
    """Peak of the memory traced (NumPy's allocations included) while func() runs."""
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def visiting_order(est, X):
    """1-based position at which one epoch visits each row of a one-hot X.

    Squared loss, y = 1, constant eta, no penalty/intercept: row i moves only
    w_i, from 0 to eta, when it is visited; the running average of w_i over
    the epoch is then eta * (n - pos_i + 1) / n, which gives pos_i exactly.
    """
    n = X.shape[0]
    eta = 0.5
    est.set_params(
        penalty=None,
        fit_intercept=False,
        average=True,
        max_iter=1,
        tol=None,
        learning_rate="constant",
        eta0=eta,
    )
    est.fit(X, np.ones(n))
    avg = np.ravel(est.coef_)[:n]
    pos = n + 1 - avg * n / eta
    np.testing.assert_allclose(pos, np.rint(pos), atol=1e-6)
    return np.rint(pos).astype(np.int64)


def make_data(kind, n=14, d=5, seed=0, labels=None):
    """A small learnable problem of the batch tests: "reg" (targets), "bin"
    (labels -1, 3), "ovrK" or "multiK" (K classes labelled 2, 5, 7, 11, 13)."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    w = rng.randn(d)
    score = X @ w + 0.5 * rng.randn(n)
    if kind == "reg":
        return X, score + 0.3
    if kind == "bin":
        labels = labels if labels is not None else np.array([-1, 3])
        return X, labels[(score > 0).astype(int)]
    n_classes = int(kind[-1])
    labels = labels if labels is not None else np.array([2, 5, 7, 11, 13])[:n_classes]
    # classes by quantiles of the score: learnable, every class present
    codes = np.digitize(score, np.quantile(score, np.arange(1, n_classes) / n_classes))
    return X, labels[codes]
