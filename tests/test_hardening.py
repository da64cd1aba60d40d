"""Inputs found by probing (issue 21, item 9) that once cost memory, time or
a crash, each with the behaviour it has now."""

import signal
import time
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from fastsgd import SGDClassifier, SGDRegressor


@pytest.mark.parametrize(
    "params", [dict(), dict(batch_size=16, optimizer="adam"), dict(parallel="shards", n_shards=2)]
)
def test_the_loss_curve_costs_the_epochs_that_run_not_max_iter(params):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 5))
    y = np.arange(300) % 10
    warnings.simplefilter("ignore")
    tracemalloc.start()
    try:
        est = SGDClassifier(max_iter=10_000_000, random_state=0, **params).fit(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # a curve preallocated for max_iter would be 10 x 10M doubles (763 MiB)
    assert peak < 8 << 20, peak
    assert est.n_iter_ < 10_000
    assert est.loss_curve_.shape == (10, est.n_iter_)
    # each problem's curve is finite for its own epochs
    assert np.isfinite(est.loss_curve_[:, 0]).all()


def test_the_loss_curve_holds_every_epochs_reported_objective(monkeypatch):
    # grown past its first 16 entries, the curve holds each epoch's objective
    import fastsgd._sgd as sgd

    reported = []
    monkeypatch.setattr(sgd, "_print_epoch", lambda info: reported.append(info["objective"]))
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 4))
    y = X @ np.ones(4)
    for params in (dict(), dict(batch_size=8, optimizer="adam")):
        reported.clear()
        est = SGDRegressor(max_iter=40, tol=None, random_state=0, verbose=1, **params).fit(X, y)
        assert est.loss_curve_.shape == (40,)
        np.testing.assert_array_equal(est.loss_curve_, reported)


def test_threads_fitting_their_own_estimators_match_one_after_another():
    # the engine keeps no global mutable state: fits in parallel Python
    # threads (the GIL released in C) give the sequential results, bit for bit
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(5)
    X = rng.standard_normal((4000, 12))
    y = np.arange(4000) % 3
    yr = X @ np.linspace(-1, 1, 12)
    configs = [
        (SGDClassifier, dict()),
        (SGDClassifier, dict(loss="log_loss", average=True)),
        (SGDClassifier, dict(batch_size=32, optimizer="adam", n_jobs=2)),
        (SGDClassifier, dict(parallel="shards", n_shards=4, n_jobs=2)),
        (SGDClassifier, dict(batch_size=64, loss="log_loss", multi_class="multinomial")),
        (SGDRegressor, dict(early_stopping=True)),
        (SGDRegressor, dict(batch_size=16, optimizer="rmsprop", penalty="elasticnet")),
        (SGDClassifier, dict(penalty="l1", learning_rate="adaptive", eta0=0.01)),
    ]

    def fit(i):
        cls, params = configs[i % len(configs)]
        target = yr if cls is SGDRegressor else y
        return cls(max_iter=5, tol=None, random_state=i, **params).fit(X, target)

    order = list(range(3 * len(configs)))
    sequential = [fit(i) for i in order]
    with ThreadPoolExecutor(max_workers=6) as pool:
        parallel = list(pool.map(fit, order))
    for a, b in zip(sequential, parallel, strict=True):
        np.testing.assert_array_equal(a.coef_, b.coef_)
        np.testing.assert_array_equal(a.intercept_, b.intercept_)
    # many threads predicting with one model
    model = sequential[1]
    expected = model.predict_proba(X)
    with ThreadPoolExecutor(max_workers=8) as pool:
        for got in pool.map(lambda _: model.predict_proba(X), range(32)):
            np.testing.assert_array_equal(got, expected)


def _message(call, module):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call(module)
    except Exception as e:  # noqa: BLE001 - the type is compared too
        return type(e).__name__, str(e)
    return None, "no error"


def test_errors_are_worded_as_scikit_learns():
    # people match on scikit-learn's messages: each bad call raises the same
    # type, and scikit-learn's message starts fastsgd's
    from sklearn import linear_model as sk

    import fastsgd

    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    y = (X[:, 0] > 0).astype(int)
    y3 = np.arange(50) % 3
    Xn = X.copy()
    Xn[3, 1] = np.nan
    cases = {
        "NaN in X": lambda m: m.SGDClassifier().fit(Xn, y),
        "1-D X": lambda m: m.SGDClassifier().fit(X[:, 0], y),
        "lengths": lambda m: m.SGDClassifier().fit(X, y[:-1]),
        "unknown loss": lambda m: m.SGDClassifier(loss="nope").fit(X, y),
        "one class": lambda m: m.SGDClassifier().fit(X, np.zeros(50)),
        "not fitted": lambda m: m.SGDClassifier().predict(X),
        "feature count": lambda m: m.SGDClassifier().fit(X, y).predict(X[:, :2]),
        "no classes": lambda m: m.SGDClassifier().partial_fit(X, y),
        "classes changed": lambda m: (
            m.SGDClassifier().partial_fit(X, y, classes=[0, 1]).partial_fit(X, y, classes=[0, 1, 2])
        ),
        "labels not in classes": lambda m: m.SGDClassifier().partial_fit(X, y3, classes=[0, 1]),
        "new labels": lambda m: m.SGDClassifier().fit(X, y3).partial_fit(X, y3 + 5),
        "continuous target": lambda m: m.SGDClassifier().fit(X, X[:, 0]),
        "continuous, partial_fit": lambda m: m.SGDClassifier().partial_fit(
            X, X[:, 0], classes=[0, 1]
        ),
        "balanced in partial_fit": lambda m: m.SGDClassifier(class_weight="balanced").partial_fit(
            X, y, classes=[0, 1]
        ),
        "early stopping in partial_fit": lambda m: m.SGDClassifier(early_stopping=True).partial_fit(
            X, y, classes=[0, 1]
        ),
        "sample_weight length": lambda m: m.SGDClassifier().fit(X, y, sample_weight=np.ones(3)),
        "coef_init shape": lambda m: m.SGDClassifier().fit(X, y, coef_init=np.zeros(5)),
        "no predict_proba": lambda m: m.SGDClassifier().fit(X, y).predict_proba(X),
        "regressor NaN y": lambda m: m.SGDRegressor().fit(X, np.where(y > 0, np.nan, 1.0)),
    }
    for name, call in cases.items():
        theirs, ours = _message(call, sk), _message(call, fastsgd)
        assert theirs[0] == ours[0], (name, theirs, ours)
        assert ours[1].startswith(theirs[1].split("\n")[0][:120]), (name, theirs, ours)
    assert fastsgd.SGDClassifier.loss_functions.keys() == sk.SGDClassifier.loss_functions.keys()


class _Alarm(Exception):
    pass


INSIDE_EPOCH = [
    ({}, 2, False, np.float64),
    ({"penalty": "elasticnet"}, 2, True, np.float32),
    ({"n_jobs": 2}, 3, False, np.float64),
    ({"parallel": "shards", "n_shards": 4, "n_jobs": 2}, 2, False, np.float32),
    ({"batch_size": 64, "n_jobs": 2}, 3, False, np.float64),
    (
        {"batch_size": 64, "optimizer": "adam", "multi_class": "multinomial", "loss": "log_loss"},
        3,
        True,
        np.float64,
    ),
    ({"batch_size": "full", "n_jobs": 2}, 2, False, np.float32),
]


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="POSIX interval timers")
@pytest.mark.parametrize("params, n_classes, sparse, dtype", INSIDE_EPOCH)
def test_a_signal_handlers_exception_stops_a_fit_inside_an_epoch(params, n_classes, sparse, dtype):
    """The engine polls Python's signal handlers inside its epochs (Ctrl-C,
    tests/test_interrupt.py): an exception a handler raises stops the fit in
    every mode (per-sample, one-vs-rest across threads, shards, mini-batch,
    multinomial, full batch; dense and CSR) and the estimator keeps its state."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400_000, 8)).astype(dtype)
    if sparse:
        X = sp.csr_matrix(X * (rng.random(X.shape) < 0.5))
    y = np.arange(X.shape[0]) % n_classes
    est = SGDClassifier(max_iter=1, tol=None, random_state=0, **params).fit(X, y)
    before = (est.coef_.copy(), est.intercept_.copy(), est.t_)
    est.set_params(max_iter=100_000)

    def handler(signum, frame):
        raise _Alarm

    old = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        start = time.monotonic()
        with pytest.raises(_Alarm):
            est.fit(X, y)
        assert time.monotonic() - start < 30
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    np.testing.assert_array_equal(est.coef_, before[0])
    np.testing.assert_array_equal(est.intercept_, before[1])
    assert est.t_ == before[2]
    # and the next fit runs normally
    est.set_params(max_iter=1)
    est.fit(X, y)
    assert np.all(np.isfinite(est.coef_))
