"""fastsgd.objective against its terms written out independently.

The loss terms come from scikit-learn (its metrics, and its own per-sample
loss definitions for the losses no metric covers), the penalty terms from
NumPy norms; the link with the estimators is their batch engine's
``loss_curve_``, which is this objective at each epoch's starting weights
when the whole data is one batch.
"""

import doctest

import numpy as np
import pytest
import scipy.sparse as sp
from _reference import ovr_objectives, sklearn_loss_and_dloss
from scipy.special import expit, softmax
from sklearn.linear_model import LogisticRegression
from sklearn.linear_model import SGDClassifier as SkSGDClassifier
from sklearn.metrics import hinge_loss, log_loss, mean_squared_error

from fastsgd import SGDClassifier, SGDRegressor, _objective, objective
from fastsgd._objective import CLASSIFICATION_LOSSES, REGRESSION_LOSSES

from helpers import peak_traced_bytes

EPSILON = 0.3
LABELS = np.array([-1, 3])  # not {0, 1}: the positive class is found, not assumed


def _data(n=300, d=6, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    w, b = rng.randn(d), 0.2
    score = X @ w + b + rng.randn(n)
    return X, score, w, b


def _labels(score, n_classes):
    if n_classes == 2:
        return LABELS[(score > 0).astype(int)]
    return np.digitize(score, np.quantile(score, np.arange(1, n_classes) / n_classes))


# ---------------------------------------------------------------------------
# the loss term
LOSS_CASES = [(loss, "classifier") for loss in CLASSIFICATION_LOSSES + REGRESSION_LOSSES] + [
    (loss, "regressor") for loss in REGRESSION_LOSSES
]


@pytest.mark.parametrize("loss, task", LOSS_CASES, ids=["-".join(c) for c in LOSS_CASES])
def test_loss_term_is_sklearns_mean_loss(loss, task):
    X, score, w, b = _data()
    p = X @ w + b
    if task == "regressor":
        y, targets, extra = score, score, {}
    else:
        y = _labels(score, 2)
        # a regression loss needs the classes to be a classifier's
        extra = dict(classes=LABELS) if loss in REGRESSION_LOSSES else {}
        positive = y == LABELS[1]
        targets = np.where(positive, 1.0, 0.0 if loss == "log_loss" else -1.0)
    expected = np.mean(
        [
            sklearn_loss_and_dloss(loss, pi, ti, EPSILON)[0]
            for pi, ti in zip(p, targets, strict=True)
        ]
    )
    got = objective(w, X, y, intercept=b, loss=loss, penalty=None, epsilon=EPSILON, **extra)
    assert got == pytest.approx(expected, rel=1e-12)
    assert got > 0.05  # the loss is not vacuously 0 on this data


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_loss_term_equals_sklearn_metrics(weighted):
    """The metrics average over the weights: objective divides the weighted
    sum by the row count, so weights of mean 1 make the two the same."""
    X, score, w, b = _data()
    n = X.shape[0]
    sw = np.random.RandomState(1).uniform(0.2, 2.0, n) if weighted else None
    scale = n / sw.sum() if weighted else 1.0
    p = X @ w + b
    y = _labels(score, 2)

    def ours(labels, **kw):
        return scale * objective(w, X, labels, intercept=b, penalty=None, sample_weight=sw, **kw)

    assert ours(y, loss="log_loss") == pytest.approx(
        log_loss(y, expit(p), sample_weight=sw), rel=1e-12
    )
    assert ours(y, loss="hinge") == pytest.approx(hinge_loss(y, p, sample_weight=sw), rel=1e-12)
    assert ours(score, loss="squared_error") == pytest.approx(
        0.5 * mean_squared_error(score, p, sample_weight=sw), rel=1e-12
    )

    # multiclass: the softmax cross-entropy, and one-vs-rest as the sum of the
    # binary problems
    y4 = _labels(score, 4)
    W = np.random.RandomState(2).randn(4, X.shape[1])
    b4 = np.array([0.1, -0.2, 0.3, 0.0])
    P = X @ W.T + b4
    multinomial = objective(
        W,
        X,
        y4,
        intercept=b4,
        loss="log_loss",
        multi_class="multinomial",
        penalty=None,
        sample_weight=sw,
    )
    assert scale * multinomial == pytest.approx(
        log_loss(y4, softmax(P, axis=1), sample_weight=sw), rel=1e-12
    )
    ovr = objective(W, X, y4, intercept=b4, loss="hinge", penalty=None, sample_weight=sw)
    expected = sum(
        hinge_loss(np.where(y4 == k, 1, -1), P[:, k], sample_weight=sw) for k in range(4)
    )
    assert scale * ovr == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------------------
# the penalty term
@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet", None], ids=str)
@pytest.mark.parametrize("model", ["sklearn-binary", "fastsgd-ovr3", "fastsgd-multinomial3"])
def test_penalty_term(model, penalty):
    X, score, _, _ = _data()
    alpha, l1_ratio = 0.01, 0.3
    if model == "sklearn-binary":
        y = _labels(score, 2)
        est = SkSGDClassifier(loss="log_loss", random_state=0).fit(X, y)
    else:
        y = _labels(score, 3)
        multi_class = model.split("-")[1].rstrip("3")
        est = SGDClassifier(loss="log_loss", multi_class=multi_class, random_state=0).fit(X, y)
    W = np.atleast_2d(est.coef_)
    data_term = objective(est, X, y, penalty=None)
    expected = (
        data_term
        + {
            None: 0.0,
            "l2": alpha * 0.5 * np.sum(W**2),
            "l1": alpha * np.sum(np.abs(W)),
            "elasticnet": alpha
            * (
                (1 - l1_ratio) * 0.5 * np.linalg.norm(W) ** 2
                + l1_ratio * np.linalg.norm(W.ravel(), 1)
            ),
        }[penalty]
    )
    got = objective(est, X, y, penalty=penalty, alpha=alpha, l1_ratio=l1_ratio)
    assert got == pytest.approx(expected, rel=1e-12)
    if penalty is not None:
        assert got > data_term


def test_settings_come_from_the_estimator():
    X, score, _, _ = _data()
    est = SGDRegressor(
        loss="huber", epsilon=0.2, penalty="elasticnet", l1_ratio=0.6, alpha=0.05, random_state=0
    ).fit(X, score)
    explicit = objective(
        est.coef_,
        X,
        score,
        intercept=est.intercept_,
        loss="huber",
        epsilon=0.2,
        penalty="elasticnet",
        l1_ratio=0.6,
        alpha=0.05,
    )
    assert objective(est, X, score) == explicit
    # a keyword overrides the estimator's setting
    assert objective(est, X, score, alpha=0.0) == objective(est, X, score, penalty=None)
    assert objective(est, X, score, epsilon=0.5) != objective(est, X, score)
    # coefficients alone take SGDClassifier's defaults: l2, alpha=1e-4
    w = np.ravel(est.coef_)
    assert objective(w, X, score, loss="squared_error") == pytest.approx(
        objective(w, X, score, loss="squared_error", penalty=None) + 1e-4 * 0.5 * w @ w, rel=1e-14
    )
    # a sparsified estimator has a sparse coef_
    assert objective(est.sparsify(), X, score) == explicit
    # an estimator without the settings takes them as keywords
    y = _labels(score, 2)
    lr = LogisticRegression().fit(X, y)
    assert objective(lr, X, y, loss="log_loss", penalty="l2", alpha=1e-3) == objective(
        lr.coef_, X, y, intercept=lr.intercept_, loss="log_loss", alpha=1e-3
    )


# ---------------------------------------------------------------------------
# storage, precision, chunks
def _model(kind):
    X, score, _, _ = _data(n=500, d=8, seed=3)
    X[np.abs(X) < 0.7] = 0.0
    if kind == "reg":
        return X, score, SGDRegressor(random_state=0).fit(X, score)
    n_classes = {"bin": 2, "ovr3": 3, "multi3": 3}[kind]
    y = _labels(score, n_classes)
    multi_class = "multinomial" if kind == "multi3" else "ovr"
    return X, y, SGDClassifier(loss="log_loss", multi_class=multi_class, random_state=0).fit(X, y)


KINDS = ["bin", "ovr3", "multi3", "reg"]


@pytest.mark.parametrize("kind", KINDS)
def test_dense_and_csr_agree(kind):
    X, y, est = _model(kind)
    dense = objective(est, X, y)
    assert objective(est, sp.csr_matrix(X), y) == pytest.approx(dense, rel=1e-13)
    assert objective(est, sp.csc_matrix(X), y) == pytest.approx(dense, rel=1e-13)


@pytest.mark.parametrize("kind", KINDS)
def test_float32_matches_float64(kind):
    X, y, est = _model(kind)
    f64 = objective(est, X, y)
    for X32 in (X.astype(np.float32), sp.csr_matrix(X.astype(np.float32))):
        f32 = objective(est, X32, y)
        assert type(f32) is float
        assert f32 == pytest.approx(f64, rel=1e-6)
        assert f32 != f64  # X's rounding to float32 shows


@pytest.mark.parametrize("kind", KINDS)
def test_chunks_change_nothing(kind, monkeypatch):
    X, y, est = _model(kind)
    sw = np.random.RandomState(4).uniform(0.5, 1.5, X.shape[0])
    whole = [objective(est, X, y), objective(est, sp.csr_matrix(X), y, sample_weight=sw)]
    monkeypatch.setattr(_objective, "_CHUNK_VALUES", 7)
    chunked = [objective(est, X, y), objective(est, sp.csr_matrix(X), y, sample_weight=sw)]
    np.testing.assert_allclose(chunked, whole, rtol=1e-13)


@pytest.mark.parametrize("loss, multi_class", [("hinge", "ovr"), ("log_loss", "multinomial")])
def test_memory_does_not_grow_with_the_rows(loss, multi_class):
    """Four outputs of a million float32 rows: the decision values alone would
    be 32 MB in float64; the objective's temporaries are the same for a
    quarter of the rows."""
    rng = np.random.default_rng(0)
    W = rng.standard_normal((4, 3))
    peaks, values = [], []
    for n in (250_000, 1_000_000):
        X = rng.standard_normal((n, 3), dtype=np.float32)
        y = rng.integers(0, 4, n)
        peaks.append(
            peak_traced_bytes(
                lambda X=X, y=y: values.append(
                    objective(W, X, y, loss=loss, multi_class=multi_class, classes=np.arange(4))
                )
            )
        )
    assert np.all(np.isfinite(values)) and min(values) > 0
    assert peaks[1] < 1.1 * peaks[0] + 100_000, peaks
    assert peaks[1] < 1_000_000 * 4 * 8 / 1.5, peaks


# ---------------------------------------------------------------------------
# the estimators' own objective: the batch engine's loss_curve_
CURVE_CASES = (
    [("bin", loss) for loss in CLASSIFICATION_LOSSES + ("huber",)]
    + [("reg", loss) for loss in REGRESSION_LOSSES]
    + [("ovr3", "modified_huber"), ("multi3", "log_loss")]
)


@pytest.mark.parametrize("kind, loss", CURVE_CASES, ids=["-".join(c) for c in CURVE_CASES])
def test_equals_the_batch_loss_curve(kind, loss):
    """With one batch per epoch, epoch k's loss_curve_ entry is the objective
    at the weights after k - 1 epochs (sample weights included)."""
    X, score, _, _ = _data(n=200, d=5, seed=5)
    sw = np.random.RandomState(6).uniform(0.2, 2.0, X.shape[0])
    params = dict(
        loss=loss,
        penalty="elasticnet",
        l1_ratio=0.4,
        alpha=0.02,
        epsilon=EPSILON,
        batch_size="full",
        learning_rate="constant",
        eta0=0.05,
        tol=None,
    )
    if kind == "reg":
        y, make = score, SGDRegressor
    else:
        y = _labels(score, 2 if kind == "bin" else 3)
        params["multi_class"] = "multinomial" if kind == "multi3" else "ovr"
        make = SGDClassifier
    before = make(max_iter=3, **params).fit(X, y, sample_weight=sw)
    after = make(max_iter=4, **params).fit(X, y, sample_weight=sw)
    curve_end = np.atleast_2d(after.loss_curve_)[:, -1]
    value = objective(before, X, y, sample_weight=sw)
    assert value == pytest.approx(curve_end.sum(), rel=1e-10)
    if kind == "ovr3":  # and each one-vs-rest problem is one curve
        assert curve_end.shape == (3,)
        np.testing.assert_allclose(ovr_objectives(before, X, y, sw), curve_end, rtol=1e-10)
    assert value > 1e-3  # not a comparison of zeros


# ---------------------------------------------------------------------------
BAD_ARGUMENTS = [
    (dict(), "loss=None"),  # coefficients need a loss
    (dict(loss="hinge", multi_class="multinomial"), "needs loss='log_loss'"),  # binary too
    (dict(loss="log_loss", penalty="l3"), "penalty='l3'"),
    (dict(loss="log_loss", multi_class="softmax"), "multi_class='softmax'"),
    (dict(loss="log_loss", classes=[3, -1]), "sorted"),
    (dict(loss="log_loss", classes=[-1, 2]), "labels not in classes"),
    (dict(loss="log_loss", sample_weight=np.ones(3)), "sample_weight"),
]


@pytest.mark.parametrize("kwargs, match", BAD_ARGUMENTS, ids=[m for _, m in BAD_ARGUMENTS])
def test_bad_arguments(kwargs, match):
    X, score, w, _ = _data(n=20)
    with pytest.raises(ValueError, match=match):
        objective(w, X, _labels(score, 2), **kwargs)


def test_bad_shapes_and_estimator_arguments():
    X, score, w, _ = _data(n=20)
    y = _labels(score, 2)
    with pytest.raises(ValueError, match="coef has shape"):
        objective(w[:-1], X, y, loss="log_loss")
    with pytest.raises(ValueError, match="coef has shape"):
        objective(w, X, _labels(score, 3), loss="log_loss")  # one row, three classes
    with pytest.raises(ValueError, match="rows"):
        objective(w, X, y[:-1], loss="log_loss")
    est = SGDClassifier(loss="log_loss").fit(X, y)
    with pytest.raises(ValueError, match="taken from the estimator"):
        objective(est, X, y, intercept=0.0)
    with pytest.raises(Exception, match="not fitted"):
        objective(SGDClassifier(), X, y)


def test_docstring_example_runs():
    result = doctest.testmod(_objective, raise_on_error=False)
    assert result.attempted >= 8 and result.failed == 0
