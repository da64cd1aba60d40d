"""``fastsgd.objective``: the regularised training objective of a linear model.

One NumPy definition of what SGDClassifier and SGDRegressor minimise; the
tests, the benchmarks and ``python -m fastsgd demo`` evaluate models with it.
"""

import numpy as np
import scipy.sparse as sp
from scipy.special import logsumexp
from sklearn.utils import column_or_1d
from sklearn.utils.validation import check_array, check_is_fitted

CLASSIFICATION_LOSSES = ("hinge", "log_loss", "modified_huber", "squared_hinge", "perceptron")
REGRESSION_LOSSES = ("squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive")
PENALTIES = ("l2", "l1", "elasticnet", None)
# values of X (and of the decision function) widened to float64 at a time: X
# is never copied whole
_CHUNK_VALUES = 1 << 18
_SETTINGS = ("loss", "penalty", "alpha", "l1_ratio", "epsilon", "multi_class")


class _FromModel:
    """Default of a setting that objective() reads from the estimator."""

    def __repr__(self):
        return "<the estimator's>"


_FROM_MODEL = _FromModel()


def pointwise_loss(loss, p, t, epsilon=0.1):
    """The loss of each prediction ``p`` for the target ``t`` (same shapes).

    scikit-learn's definitions, log loss and squared error as half deviances.
    Classification losses take ``t`` in {-1, +1}; the regression losses take
    any real ``t`` (for a classifier, +-1).  ``epsilon`` is the width of the
    huber and epsilon-insensitive losses.
    """
    if loss in REGRESSION_LOSSES:
        r = np.abs(t - p)
        if loss == "squared_error":
            return 0.5 * r * r
        if loss == "huber":
            return np.where(r <= epsilon, 0.5 * r * r, epsilon * (r - 0.5 * epsilon))
        outside = np.maximum(0.0, r - epsilon)
        return outside if loss == "epsilon_insensitive" else outside * outside
    z = t * p
    if loss == "log_loss":
        return np.logaddexp(0.0, -z)
    if loss == "hinge":
        return np.maximum(0.0, 1.0 - z)
    if loss == "perceptron":
        return np.maximum(0.0, -z)
    if loss == "squared_hinge":
        return np.maximum(0.0, 1.0 - z) ** 2
    if loss == "modified_huber":
        return np.where(z >= -1.0, np.maximum(0.0, 1.0 - z) ** 2, -4.0 * z)
    raise _unknown_loss(loss)


def _unknown_loss(loss):
    return ValueError(
        "loss=%r: expected one of %s" % (loss, ", ".join(CLASSIFICATION_LOSSES + REGRESSION_LOSSES))
    )


def objective(
    estimator_or_coef,
    X,
    y,
    *,
    sample_weight=None,
    intercept=None,
    classes=None,
    loss=_FROM_MODEL,
    penalty=_FROM_MODEL,
    alpha=_FROM_MODEL,
    l1_ratio=_FROM_MODEL,
    epsilon=_FROM_MODEL,
    multi_class=_FROM_MODEL,
):
    """Regularised training objective of a linear model on (X, y).

    ``(1 / n) sum_i s_i loss_i + alpha * R(W)``: the mean loss over the
    ``n`` rows (each weighted by its sample weight ``s_i``, 1 by default),
    plus scikit-learn's penalty term ``R(W) = (1 - l1_ratio) / 2 ||W||^2 +
    l1_ratio ||W||_1`` (``l1_ratio`` 0 for "l2", 1 for "l1"; no term for
    ``penalty=None``).  The intercept is not penalised.

    This is the function SGDClassifier and SGDRegressor minimise (in
    expectation over the rows); ``loss_curve_`` is its value averaged over
    the weights of each epoch (the per-sample engine leaves the sample
    weights out, as scikit-learn does).  A binary classifier's loss compares
    the decision value with +1 for ``classes[1]`` and -1 otherwise.  A
    one-vs-rest multiclass model's objective is the sum of its K binary
    problems' objectives (one per row of ``coef_``, each one curve of
    ``loss_curve_``).  A multinomial model
    (``multi_class="multinomial"``, more than two classes) has the softmax
    cross-entropy as its loss.

    Computed in NumPy in float64 (a float32 ``X`` is widened chunk by chunk
    of rows), so that a large ``X`` is never copied whole.

    Parameters
    ----------
    estimator_or_coef : fitted estimator, or array-like of shape (n_features,) or (K, n_features)
        A fitted linear estimator (fastsgd's or scikit-learn's SGDClassifier
        or SGDRegressor, or any estimator with ``coef_`` and ``intercept_``,
        and ``classes_`` for a classifier), or the coefficients themselves.
        K is 1 for regression and binary classification, else the number of
        classes.  The settings below default to the estimator's parameters
        of the same names; for coefficients, or a setting the estimator does
        not have, to SGDClassifier's defaults.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        float32 or float64 arrays and CSR matrices are used without a copy;
        other sparse formats are converted to CSR.
    y : array-like of shape (n_samples,)
        Targets, or class labels of a classifier.
    sample_weight : array-like of shape (n_samples,), default=None
        Weight of each row's loss; the sum is still divided by n_samples.
        Class weights are not applied: pass them multiplied into
        ``sample_weight`` to include them.
    intercept : float or array-like of shape (K,), default=None
        With coefficients only (an estimator's ``intercept_`` is used
        otherwise): the intercepts, 0 by default.
    classes : array-like of shape (n_classes,), default=None
        With coefficients only (an estimator's ``classes_`` is used
        otherwise): the sorted class labels, ``np.unique(y)`` by default.
        Giving them makes a regression loss a classifier's (targets +-1).
    loss : str, default=the estimator's
        One of "hinge", "log_loss", "modified_huber", "squared_hinge",
        "perceptron", "squared_error", "huber", "epsilon_insensitive",
        "squared_epsilon_insensitive"; required with coefficients.
    penalty : {"l2", "l1", "elasticnet", None}, default=the estimator's, or "l2"
    alpha : float, default=the estimator's, or 1e-4
    l1_ratio : float, default=the estimator's, or 0.15
        The elastic net's L1 share.
    epsilon : float, default=the estimator's, or 0.1
        Width of the huber and epsilon-insensitive losses.
    multi_class : {"ovr", "multinomial"}, default=the estimator's, or "ovr"

    Returns
    -------
    value : float
        The objective.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from fastsgd import SGDClassifier, objective
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(1000, 5)
    >>> y = (X[:, 0] + 0.5 * rng.randn(1000) > 0).astype(int)
    >>> sgd = SGDClassifier(loss="log_loss", alpha=1e-3, random_state=0).fit(X, y)
    >>> lr = LogisticRegression(C=1 / (1e-3 * len(y))).fit(X, y)  # the same problem
    >>> f_sgd = objective(sgd, X, y)
    >>> f_lr = objective(lr.coef_, X, y, intercept=lr.intercept_, loss="log_loss", alpha=1e-3)
    >>> bool(f_lr <= f_sgd < 1.01 * f_lr)
    True
    """
    from ._sgd import SGDClassifier

    defaults = SGDClassifier().get_params()
    settings = {name: defaults[name] for name in _SETTINGS if name != "loss"}
    if hasattr(estimator_or_coef, "get_params"):
        est = estimator_or_coef
        if intercept is not None or classes is not None:
            raise ValueError(
                "intercept and classes are taken from the estimator: pass them "
                "only with coefficients"
            )
        check_is_fitted(est, "coef_")
        settings.update((name, getattr(est, name)) for name in _SETTINGS if hasattr(est, name))
        coef, intercept = est.coef_, est.intercept_
        classes = getattr(est, "classes_", None)
    else:
        coef = estimator_or_coef
        intercept = 0.0 if intercept is None else intercept
    given = dict(
        loss=loss,
        penalty=penalty,
        alpha=alpha,
        l1_ratio=l1_ratio,
        epsilon=epsilon,
        multi_class=multi_class,
    )
    settings.update((name, value) for name, value in given.items() if value is not _FROM_MODEL)
    loss = settings.get("loss")
    if loss not in CLASSIFICATION_LOSSES + REGRESSION_LOSSES:
        raise _unknown_loss(loss)
    if settings["penalty"] not in PENALTIES:
        raise ValueError(
            "penalty=%r: expected 'l2', 'l1', 'elasticnet' or None" % (settings["penalty"],)
        )
    if settings["multi_class"] not in ("ovr", "multinomial"):
        raise ValueError(
            "multi_class=%r: expected 'ovr' or 'multinomial'" % (settings["multi_class"],)
        )
    multinomial = settings["multi_class"] == "multinomial"
    if multinomial and loss != "log_loss":
        raise ValueError("multi_class='multinomial' needs loss='log_loss'; got %r" % loss)

    X = check_array(X, accept_sparse="csr", dtype=(np.float64, np.float32))
    y = column_or_1d(y)
    n = X.shape[0]
    if y.shape[0] != n:
        raise ValueError("X has %d rows but y has %d entries" % (n, y.shape[0]))
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.shape != (n,):
            raise ValueError(
                "sample_weight has shape %s, expected (%d,)" % (sample_weight.shape, n)
            )

    if classes is None and (loss in CLASSIFICATION_LOSSES or multinomial):
        classes = np.unique(y)
    if classes is not None:
        classes = np.asarray(classes)
        if classes.ndim != 1 or classes.shape[0] < 2 or not np.all(classes[:-1] < classes[1:]):
            raise ValueError("classes must be at least two sorted, distinct labels")
    n_outputs = 1 if classes is None or classes.shape[0] == 2 else classes.shape[0]
    multinomial = multinomial and n_outputs > 1  # with two classes: the binary log loss

    coef = coef.toarray() if sp.issparse(coef) else coef  # after est.sparsify()
    W = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    if W.shape != (n_outputs, X.shape[1]):
        raise ValueError(
            "coef has shape %s, expected (%d, %d) for %d features and %s"
            % (
                np.shape(coef),
                n_outputs,
                X.shape[1],
                X.shape[1],
                "regression" if classes is None else "%d classes" % classes.shape[0],
            )
        )
    b = np.broadcast_to(np.asarray(intercept, dtype=np.float64).ravel(), (n_outputs,))

    row_values = -(-X.nnz // n) if sp.issparse(X) else X.shape[1]
    rows = max(1, _CHUNK_VALUES // max(n_outputs, row_values))
    total = 0.0
    for a in range(0, n, rows):
        P = np.asarray(X[a : a + rows].astype(np.float64, copy=False) @ W.T)
        P += b
        y_chunk = y[a : a + rows]
        if classes is None:
            L = pointwise_loss(loss, P, y_chunk.astype(np.float64)[:, None], settings["epsilon"])
        else:
            codes = _class_codes(classes, y_chunk)
            if multinomial:
                L = logsumexp(P, axis=1) - P[np.arange(P.shape[0]), codes]
            else:
                positive = [1] if n_outputs == 1 else np.arange(n_outputs)
                T = np.where(codes[:, None] == positive, 1.0, -1.0)
                L = pointwise_loss(loss, P, T, settings["epsilon"])
        L = L.reshape(P.shape[0], -1).sum(axis=1)
        total += float(L.sum() if sample_weight is None else L @ sample_weight[a : a + rows])

    if settings["penalty"] is None:
        return total / n
    share = {"l2": 0.0, "l1": 1.0, "elasticnet": settings["l1_ratio"]}[settings["penalty"]]
    w = W.ravel()
    penalty_term = (1.0 - share) * 0.5 * float(w @ w) + share * float(np.abs(w).sum())
    return total / n + settings["alpha"] * penalty_term


def _class_codes(classes, labels):
    """Position of each label in the sorted ``classes``."""
    codes = np.searchsorted(classes, labels)
    known = codes < classes.shape[0]
    known[known] = classes[codes[known]] == labels[known]
    if not known.all():
        raise ValueError("y has labels not in classes: %s" % np.unique(labels[~known])[:5])
    return codes
