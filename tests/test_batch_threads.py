"""The batch engine's results are bit-identical for any n_jobs (docs/batch.md, Threads)."""

import numpy as np
import pytest
import scipy.sparse as sp
from _reference import Reference, assert_matches_reference

from fastsgd import SGDClassifier, SGDRegressor


# bit-identical results for any number of threads
def _parallel_data(kind, sparse, n=8000, d=32, seed=0, dtype=np.float64):
    X, y = _parallel_data64(kind, sparse, n, d, seed)
    return X.astype(dtype), y


def _parallel_data64(kind, sparse, n, d, seed):
    rng = np.random.RandomState(seed)
    if sparse:
        X = sp.random(n, d, density=0.5, format="csr", random_state=rng) * 2.0
        X.data -= 1.0
        Xd = X.toarray()
    else:
        X = Xd = rng.randn(n, d)
    w = rng.randn(d)
    score = Xd @ w + 0.5 * rng.randn(n)
    if kind == "reg":
        return X, score
    if kind == "bin":
        return X, (score > 0).astype(int)
    return X, np.digitize(score, np.quantile(score, [0.25, 0.5, 0.75]))


PARALLEL_CASES = [
    ("bin-dense-sgd", "bin", False, dict(optimizer="sgd", loss="log_loss")),
    ("bin-csr-adam-clip", "bin", True, dict(optimizer="adam", loss="hinge", clip_norm=0.05)),
    (
        "ovr-dense-nesterov-shuffle",
        "ovr",
        False,
        dict(optimizer="nesterov", loss="log_loss", shuffle=True),
    ),
    (
        "ovr-csr-rmsprop-l1-avg",
        "ovr",
        True,
        dict(optimizer="rmsprop", loss="modified_huber", penalty="l1", average=True),
    ),
    (
        "multi-dense-adamw-clip",
        "multi",
        False,
        dict(optimizer="adamw", loss="log_loss", multi_class="multinomial", clip_norm=0.1),
    ),
    (
        "multi-csr-adagrad-shuffle",
        "multi",
        True,
        dict(optimizer="adagrad", loss="log_loss", multi_class="multinomial", shuffle=True),
    ),
    (
        "reg-dense-adadelta-shuffle-clip",
        "reg",
        False,
        dict(optimizer="adadelta", loss="squared_error", shuffle=True, clip_norm=0.5),
    ),
    ("reg-csr-momentum", "reg", True, dict(optimizer="momentum", loss="huber", eta0=0.01)),
    (
        "ovr-dense-f32-adam-shuffle",
        "ovr",
        False,
        dict(optimizer="adam", loss="hinge", shuffle=True, dtype=np.float32),
    ),
    (
        "multi-csr-f32-sgd-clip",
        "multi",
        True,
        dict(
            optimizer="sgd",
            loss="log_loss",
            multi_class="multinomial",
            clip_norm=0.2,
            dtype=np.float32,
        ),
    ),
]


@pytest.mark.parametrize("case", PARALLEL_CASES, ids=[c[0] for c in PARALLEL_CASES])
def test_bit_identical_across_n_jobs(case):
    _, kind, sparse, params = case
    params = dict(params)
    X, y = _parallel_data(kind, sparse, dtype=params.pop("dtype", np.float64))
    base = dict(
        batch_size=1024,
        max_iter=3,
        tol=None,
        shuffle=False,
        random_state=0,
        learning_rate="constant",
        eta0=0.05,
    )
    base.update(params)
    est_cls = SGDRegressor if kind == "reg" else SGDClassifier
    nnz_per_row = X.nnz / X.shape[0] if sparse else X.shape[1]
    K = {"bin": 1, "reg": 1}.get(kind, 4)
    assert 1024 * nnz_per_row * K >= 16384  # big enough to run on several threads
    fits = [est_cls(n_jobs=n_jobs, **base).fit(X, y) for n_jobs in (1, 2, 4)]
    for other in fits[1:]:
        assert np.array_equal(other.coef_, fits[0].coef_)
        assert np.array_equal(other.intercept_, fits[0].intercept_)
        assert np.array_equal(other.optimizer_state_["slots"], fits[0].optimizer_state_["slots"])
        np.testing.assert_array_equal(other.loss_curve_, fits[0].loss_curve_)
    assert np.all(np.isfinite(fits[0].coef_)) and np.any(fits[0].coef_ != 0)


def test_bit_identical_across_n_jobs_many_small_batches(monkeypatch):
    """Many tiny parallel batches (the serial threshold lifted): each batch's
    update runs on one thread while another takes the rows of the batch after
    next.  The slot those rows go to must not depend on which thread gets
    there first (a race on the current slot once trained stale rows now and
    then: about 1 fit in 50 differed with 2 or 4 threads)."""
    monkeypatch.setenv("FASTSGD_PARALLEL_MIN_WORK", "0")
    rng = np.random.RandomState(0)
    X = rng.randn(203, 13)
    y = rng.randint(0, 3, 203)
    params = dict(
        optimizer="adam",
        loss="log_loss",
        batch_size=1,
        max_iter=3,
        tol=None,
        shuffle=True,
        random_state=0,
    )
    ref = SGDClassifier(n_jobs=1, **params).fit(X, y)
    for n_jobs in (2, 4):
        for _ in range(100):
            m = SGDClassifier(n_jobs=n_jobs, **params).fit(X, y)
            assert m.n_iter_ == ref.n_iter_
            assert np.array_equal(m.coef_, ref.coef_)
            assert np.array_equal(m.intercept_, ref.intercept_)


def test_bit_identical_across_n_jobs_many_features():
    """More than 1024 coordinates: the update step is split over threads by
    blocks of features (with clip_norm: a reduction of the norm over blocks)."""
    rng = np.random.RandomState(0)
    n, d = 2000, 1500
    X = sp.random(n, d, density=0.03, format="csr", random_state=rng)
    y = np.digitize(X @ rng.randn(d), [-0.3, 0.0, 0.3])
    for params in (
        dict(optimizer="adam"),
        dict(optimizer="momentum", clip_norm=0.05, multi_class="multinomial"),
    ):
        base = dict(
            loss="log_loss",
            batch_size=512,
            max_iter=2,
            tol=None,
            learning_rate="constant",
            eta0=0.05,
            random_state=0,
            **params,
        )
        fits = [SGDClassifier(n_jobs=n_jobs, **base).fit(X, y) for n_jobs in (1, 2, 4)]
        for other in fits[1:]:
            assert np.array_equal(other.coef_, fits[0].coef_)
            assert np.array_equal(other.intercept_, fits[0].intercept_)
    # and the block-split update is still the reference's (shuffle=False)
    base = dict(
        loss="log_loss",
        optimizer="rmsprop",
        batch_size=512,
        max_iter=2,
        tol=None,
        shuffle=False,
        learning_rate="constant",
        eta0=0.01,
        clip_norm=0.05,
        penalty="elasticnet",
        l1_ratio=0.5,
        alpha=1e-3,
        n_jobs=2,
    )
    est = SGDClassifier(**base).fit(X, y)
    ref = Reference(est, d, classes=np.unique(y))
    ref.fit(X, y)
    assert_matches_reference(est, ref, X)


@pytest.mark.parametrize("every", [1, 3])
@pytest.mark.parametrize("case", PARALLEL_CASES[::2], ids=[c[0] for c in PARALLEL_CASES[::2]])
def test_bit_identical_when_the_thread_count_changes_within_an_epoch(case, every, monkeypatch):
    """The batch engine runs an epoch's batches in segments, each on one
    thread or on n_jobs threads, whichever has been faster (csrc/batch_engine.inc,
    fsgd_thread_choice).  Forced to switch every `every` batches, a fit equals
    the one-thread fit bit for bit."""
    _, kind, sparse, params = case
    params = dict(params)
    X, y = _parallel_data(kind, sparse, n=3000, dtype=params.pop("dtype", np.float64))
    base = dict(batch_size=64, max_iter=2, tol=None, random_state=0, learning_rate="constant",
                eta0=0.05, shuffle=True)  # fmt: skip
    base.update(params)
    est_cls = SGDRegressor if kind == "reg" else SGDClassifier
    monkeypatch.setenv("FASTSGD_PARALLEL_MIN_WORK", "0")
    ref = est_cls(n_jobs=1, **base).fit(X, y)
    monkeypatch.setenv("FASTSGD_THREADS_ALTERNATE", str(every))
    for n_jobs in (2, 3):
        m = est_cls(n_jobs=n_jobs, **base).fit(X, y)
        assert np.array_equal(m.coef_, ref.coef_)
        assert np.array_equal(m.intercept_, ref.intercept_)
        assert np.array_equal(m.optimizer_state_["slots"], ref.optimizer_state_["slots"])
        np.testing.assert_array_equal(m.loss_curve_, ref.loss_curve_)
