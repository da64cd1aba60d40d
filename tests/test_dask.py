"""Fits of dask collections on real local clusters (distributed.LocalCluster,
worker processes): the same coef_ bit for bit whatever the number of
workers, the single-machine fit's quality, a lost worker that changes
nothing, lazy block-wise prediction."""

import pickle
import threading

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

import pandas as pd  # noqa: E402

from fastsgd import SGDClassifier, SGDRegressor, objective  # noqa: E402

CHUNK = 2_000


@pytest.fixture(scope="module", autouse=True)
def restore_environment():
    # starting worker processes sets OMP_NUM_THREADS=1 (and more) in this
    # process's environment; later tests' subprocesses must not inherit it
    import os

    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def logistic(n=16_000, d=8, seed=0, classes=2):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if classes == 2:
        w = rng.standard_normal(d)
        y = (rng.random(n) < 1.0 / (1.0 + np.exp(-X @ w))).astype(np.int64)
    else:
        W = rng.standard_normal((d, classes))
        y = np.argmax(X @ W + rng.gumbel(size=(n, classes)), axis=1)
    return X, y


def collections(X, y, chunk=CHUNK):
    return da.from_array(X, chunks=(chunk, X.shape[1])), da.from_array(y, chunks=chunk)


def local_cluster(n_workers):
    """A cluster of worker processes, one thread each."""
    return distributed.LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
    )


@pytest.fixture(scope="module")
def two_workers():
    with local_cluster(2) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def one_worker():
    with local_cluster(1) as cluster:
        yield cluster


def fit_on(cluster, est, *args):
    with distributed.Client(cluster):
        return est.fit(*args)


CASES = [
    ("per-sample hinge", SGDClassifier, dict(), 2),
    ("per-sample log, averaged", SGDClassifier, dict(loss="log_loss", average=1000), 2),
    ("adam batch 32", SGDClassifier, dict(batch_size=32, optimizer="adam"), 2),
    ("one-vs-rest", SGDClassifier, dict(), 3),
    ("multinomial", SGDClassifier,
     dict(loss="log_loss", multi_class="multinomial", batch_size=64, optimizer="rmsprop"), 3),
    ("regression", SGDRegressor, dict(), None),
    ("regression momentum", SGDRegressor, dict(batch_size=16, optimizer="momentum"), None),
]  # fmt: skip


@pytest.mark.parametrize("name,cls,params,classes", CASES, ids=[c[0] for c in CASES])
def test_same_coef_bit_for_bit_with_one_and_two_workers(
    one_worker, two_workers, name, cls, params, classes
):
    X, y = logistic(classes=classes or 2)
    if classes is None:
        y = X @ np.linspace(-1, 1, X.shape[1]) + 0.1 * np.random.default_rng(1).standard_normal(
            X.shape[0]
        )
    dX, dy = collections(X, y)
    kw = dict(max_iter=4, tol=None, random_state=0, **params)
    a = fit_on(one_worker, cls(**kw), dX, dy)
    b = fit_on(two_workers, cls(**kw), dX, dy)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.intercept_, b.intercept_)
    assert a.n_iter_ == b.n_iter_ == 4
    assert np.all(np.isfinite(a.coef_))
    # and the same as the threaded scheduler in this process
    import dask

    with dask.config.set(scheduler="threads"):
        c = cls(**kw).fit(dX, dy)
    np.testing.assert_array_equal(a.coef_, c.coef_)


def test_one_shard_equals_the_in_memory_fit():
    # a single partition: parameter mixing of one shard is the ordinary fit
    import dask

    X, y = logistic(n=3000)
    dX, dy = collections(X, y, chunk=3000)
    for params in (dict(), dict(average=True), dict(batch_size=32, optimizer="adam")):
        kw = dict(max_iter=3, tol=None, shuffle=False, random_state=0, **params)
        with dask.config.set(scheduler="sync"):
            a = SGDClassifier(**kw).fit(dX, dy)
        b = SGDClassifier(**kw).fit(X, y)
        # the same updates; the engine folds its weight scale into the
        # weights at the end of each epoch's task, which rounds in the last bits
        np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=1e-12, atol=1e-13)
        assert a.t_ == b.t_


def test_quality_of_the_single_machine_fit_at_equal_epochs(two_workers):
    rng = np.random.default_rng(0)
    d = 20
    w = rng.standard_normal(d)
    X = rng.standard_normal((60_000, d))
    y = (rng.random(60_000) < 1.0 / (1.0 + np.exp(-X @ w))).astype(np.int64)
    Xt, yt, X, y = X[40_000:], y[40_000:], X[:40_000], y[:40_000]
    dX, dy = collections(X, y, chunk=5_000)
    kw = dict(loss="log_loss", alpha=1e-3, max_iter=10, tol=None, random_state=0)
    a = fit_on(two_workers, SGDClassifier(**kw), dX, dy)
    b = SGDClassifier(**kw).fit(X, y)
    assert abs(a.score(Xt, yt) - b.score(Xt, yt)) <= 0.002
    assert abs(objective(a, X, y) / objective(b, X, y) - 1) <= 0.01


def test_early_stopping_and_the_adaptive_schedule_run_in_the_driver():
    import dask

    X, y = logistic(n=20_000)
    dX, dy = collections(X, y)
    with dask.config.set(scheduler="threads"):
        est = SGDClassifier(early_stopping=True, max_iter=100, random_state=0).fit(dX, dy)
        assert 1 < est.n_iter_ < 100
        assert est.loss_curve_.shape == (est.n_iter_,)
        ada = SGDClassifier(
            learning_rate="adaptive", eta0=0.1, tol=1e-3, max_iter=60, random_state=0
        ).fit(dX, dy)
        assert ada.n_iter_ >= 1
        assert np.all(np.isfinite(ada.coef_))


def test_dataframes_partial_fit_pickle_and_lazy_prediction(two_workers):
    X, y = logistic(classes=3)
    frame = pd.DataFrame(X, columns=["f%d" % j for j in range(X.shape[1])])
    ddf = dd.from_pandas(frame, npartitions=6)
    dy = dd.from_pandas(pd.Series(y), npartitions=6)
    with distributed.Client(two_workers):
        est = SGDClassifier(loss="log_loss", max_iter=3, tol=None, random_state=0).fit(ddf, dy)
        assert list(est.feature_names_in_) == list(frame.columns)
        assert est.coef_.shape == (3, X.shape[1])
        lazy = est.predict(ddf)
        assert isinstance(lazy, dd.Series)
        np.testing.assert_array_equal(lazy.compute().to_numpy(), est.predict(frame))
        dX, _ = collections(X, y)
        proba = est.predict_proba(dX)
        assert isinstance(proba, da.Array)
        np.testing.assert_allclose(proba.compute(), est.predict_proba(X))
        # partial_fit: one more epoch of parameter mixing
        t = est.t_
        est.partial_fit(ddf, dy)
        assert est.t_ == t + X.shape[0]
    # an ordinary estimator: pickled, used without Dask
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))


def test_a_worker_killed_mid_fit_changes_nothing(two_workers):
    X, y = logistic(n=20_000)
    dX, dy = collections(X, y)
    kw = dict(max_iter=6, tol=None, random_state=0, verbose=1)
    with distributed.Client(two_workers) as client:
        ref = SGDClassifier(**kw).fit(dX, dy)
        import fastsgd._sgd as sgd

        killed = threading.Event()
        printer = sgd._print_epoch

        def kill_after_epoch_2(info):
            if info["epoch"] == 2 and not killed.is_set():
                killed.set()
                worker = sorted(client.scheduler_info()["workers"])[0]
                client.restart_workers([worker])
            printer(info)

        sgd._print_epoch = kill_after_epoch_2
        try:
            est = SGDClassifier(**kw).fit(dX, dy)
        finally:
            sgd._print_epoch = printer
        assert killed.is_set()
    np.testing.assert_array_equal(est.coef_, ref.coef_)
    np.testing.assert_array_equal(est.intercept_, ref.intercept_)


def test_bad_input_is_named():
    import dask

    X, y = logistic(n=6000)
    X[4321, 2] = np.nan
    dX, dy = collections(X, y)
    with dask.config.set(scheduler="threads"):
        with pytest.raises(ValueError, match=r"NaN or infinity \(partition 2, its row 321\)"):
            SGDClassifier().fit(dX, dy)
        with pytest.raises(ValueError, match="batch_size='full'"):
            SGDClassifier(batch_size="full").fit(*collections(*logistic(n=3000)))
        with pytest.raises(ValueError, match="coef_init"):
            SGDClassifier().fit(*collections(*logistic(n=3000)), coef_init=np.zeros(8))


def test_data_that_cannot_be_recomputed_gives_an_error_not_a_hang():
    import fastsgd._sgd as sgd

    X, y = logistic(n=8000, d=5)
    with local_cluster(2) as cluster, distributed.Client(cluster) as client:
        first = sorted(client.scheduler_info()["workers"])[0]
        # scattered blocks have no lineage: lost with their worker, they are gone
        parts = [
            (client.scatter(X[i : i + 2000], workers=[first]),
             client.scatter(y[i : i + 2000], workers=[first]))
            for i in range(0, 8000, 2000)
        ]  # fmt: skip
        dX = da.concatenate([da.from_delayed(f, shape=(2000, 5), dtype=float) for f, _ in parts])
        dy = da.concatenate([da.from_delayed(g, shape=(2000,), dtype=np.int64) for _, g in parts])
        printer = sgd._print_epoch

        def kill_after_epoch_2(info):
            if info["epoch"] == 2:
                client.restart_workers([first])

        sgd._print_epoch = kill_after_epoch_2
        try:
            est = SGDClassifier(max_iter=5, tol=None, verbose=1, random_state=0)
            with pytest.raises(RuntimeError, match="at epoch 3 a partition of the data was lost"):
                est.fit(dX, dy)
        finally:
            sgd._print_epoch = printer
        assert not hasattr(est, "coef_")


@pytest.mark.parametrize(
    "optimizer", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw"]
)
def test_every_optimizer_on_the_cluster(two_workers, optimizer):
    import dask

    X, y = logistic(n=8000)
    dX, dy = collections(X, y)
    kw = dict(loss="log_loss", batch_size=32, optimizer=optimizer, max_iter=3, tol=None,
              random_state=0)  # fmt: skip
    a = fit_on(two_workers, SGDClassifier(**kw), dX, dy)
    with dask.config.set(scheduler="threads"):
        b = SGDClassifier(**kw).fit(dX, dy)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert np.all(np.isfinite(a.coef_))
    assert a.score(X, y) > 0.7
    assert a.optimizer_state_["optimizer"] == optimizer


def test_weights_balanced_classes_and_regression_early_stopping(one_worker, two_workers):
    import dask

    X, y = logistic(n=12_000, classes=3)
    dX, dy = collections(X, y)
    w = np.random.default_rng(3).uniform(0.5, 2.0, X.shape[0])
    dw = da.from_array(w, chunks=CHUNK)
    kw = dict(class_weight="balanced", max_iter=3, tol=None, random_state=0)
    a = fit_on(one_worker, SGDClassifier(**kw), dX, dy, None, None, dw)
    b = fit_on(two_workers, SGDClassifier(**kw), dX, dy, None, None, dw)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    counts = np.bincount(y)
    np.testing.assert_allclose(a._expanded_class_weight, len(y) / (3 * counts))
    # sample weights change the fit
    c = fit_on(two_workers, SGDClassifier(**kw), dX, dy)
    assert not np.array_equal(a.coef_, c.coef_)
    # regression with early stopping: R² on hashed held-out rows
    yr = X @ np.linspace(-1, 1, X.shape[1]) + 0.1 * np.random.default_rng(4).standard_normal(
        X.shape[0]
    )
    with dask.config.set(scheduler="threads"):
        reg = SGDRegressor(early_stopping=True, max_iter=50, random_state=0).fit(
            dX, da.from_array(yr, chunks=CHUNK)
        )
    assert 1 < reg.n_iter_ < 50
    assert reg.score(X, yr) > 0.99
