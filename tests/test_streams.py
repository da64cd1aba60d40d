"""Data sources (issue 19, items 2 and 6): files re-read every epoch a window
at a time, and scaling applied to each window, through the one fit driver.

References: the in-memory fit of the same rows (storage order: the same
updates, so the same weights up to rounding: the per-sample look-ahead
kernel restarts at each window), scikit-learn's StandardScaler in
a pipeline (scaled fits), and the held-out rows' own in-memory fit (early
stopping)."""

import os

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import fastsgd
from fastsgd import SGDClassifier, SGDRegressor, _stream

pa = pytest.importorskip("pyarrow")
import pyarrow.csv as pacsv  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from sklearn.datasets import dump_svmlight_file  # noqa: E402

WINDOW = 64 << 10  # small windows: many per epoch


def problem(n=6000, d=8, classes=3, seed=0, regression=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    s = X @ rng.standard_normal((d, classes))
    y = s[:, 0] + 0.1 * rng.standard_normal(n) if regression else s.argmax(axis=1)
    return X, y


def write(tmp_path, X, y, fmt, parts=2, row_group=1000):
    cols = {"f%d" % j: X[:, j] for j in range(X.shape[1])}
    cols["y"] = y
    table = pa.table(cols)
    step = -(-len(y) // parts)
    for k in range(parts):
        piece = table.slice(k * step, step)
        path = tmp_path / ("part-%d.%s" % (k, fmt))
        if fmt == "parquet":
            pq.write_table(piece, path, row_group_size=row_group)
        elif fmt == "csv":
            pacsv.write_csv(piece, path)
        else:
            a, b = k * step, min(len(y), (k + 1) * step)
            dump_svmlight_file(X[a:b], y[a:b], str(path))
    return str(tmp_path / ("part-*." + fmt))


def stream_fit(est, data):
    return fastsgd.fit_files(est, data, "y", window_bytes=WINDOW)


@pytest.mark.parametrize("fmt", ["parquet", "csv", "svm"])
@pytest.mark.parametrize(
    "params",
    [
        dict(),  # per-sample, three one-vs-rest problems (a reader each)
        dict(average=True, penalty="elasticnet", l1_ratio=0.3),
        dict(batch_size=32, optimizer="adam", learning_rate="constant", eta0=0.01),
        dict(batch_size=64, multi_class="multinomial", loss="log_loss", learning_rate="constant",
             eta0=0.05, optimizer="momentum"),
    ],
)  # fmt: skip
def test_stream_in_storage_order_equals_the_in_memory_fit(tmp_path, fmt, params):
    X, y = problem()
    data = write(tmp_path, X, y, fmt)
    if fmt == "svm":
        # the rows as the text files hold them (svmlight rounds to 16 digits)
        from sklearn.datasets import load_svmlight_files

        parts = load_svmlight_files(sorted(str(p) for p in tmp_path.glob("part-*.svm")))
        X = sp.vstack(parts[0::2], format="csr")
    kw = dict(shuffle=False, max_iter=4, tol=None, random_state=0, **params)
    est = stream_fit(SGDClassifier(**kw), data)
    ref = SGDClassifier(**kw).fit(X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-12, atol=1e-14)
    # the objective is summed window by window: the same up to rounding
    np.testing.assert_allclose(est.loss_curve_, ref.loss_curve_, rtol=1e-12)
    assert est.n_iter_ == ref.n_iter_ == 4 and est.t_ == ref.t_


def test_regression_stream_equals_the_in_memory_fit(tmp_path):
    X, y = problem(regression=True, seed=1)
    data = write(tmp_path, X.astype(np.float32), y, "parquet")
    for params in (dict(), dict(batch_size=16, optimizer="rmsprop", learning_rate="constant")):
        kw = dict(shuffle=False, max_iter=3, tol=None, random_state=0, **params)
        est = fastsgd.fit_files(SGDRegressor(**kw), data, "y", dtype="float32",
                                window_bytes=WINDOW)  # fmt: skip
        ref = SGDRegressor(**kw).fit(X.astype(np.float32), y)
        assert est.coef_.dtype == np.float32
        np.testing.assert_array_equal(est.coef_, ref.coef_)


@pytest.mark.parametrize("params", [dict(), dict(batch_size=64, optimizer="adam")])
def test_shuffled_stream_reaches_the_in_memory_accuracy(tmp_path, params):
    # stored sorted by label, the worst case for a window shuffle, in row
    # groups that are small against the pool the windows are drawn from
    X, y = problem(n=20000, d=10, classes=2, seed=3)
    order = np.argsort(y, kind="stable")
    data = write(tmp_path, X[order], y[order], "parquet", parts=4, row_group=500)
    rng = np.random.default_rng(9)
    Xt = rng.standard_normal((5000, 10))
    w = np.linalg.lstsq(X, 2.0 * y - 1.0, rcond=None)[0]
    yt = (Xt @ w > 0).astype(int)
    kw = dict(max_iter=10, tol=None, random_state=0, **params)
    ref = SGDClassifier(**kw).fit(X, y)
    est = fastsgd.fit_files(SGDClassifier(**kw), data, "y", window_bytes=256 << 10)
    assert abs(est.score(Xt, yt) - ref.score(Xt, yt)) < 0.01
    # each epoch takes the chunks in a new order: not the storage-order fit
    unshuffled = fastsgd.fit_files(
        SGDClassifier(shuffle=False, **kw), data, "y", window_bytes=256 << 10
    )
    assert not np.array_equal(est.coef_, unshuffled.coef_)


def test_early_stopping_holds_out_hashed_rows(tmp_path):
    X, y = problem(n=8000, classes=2, seed=4)
    data = write(tmp_path, X, y, "parquet")
    kw = dict(shuffle=False, random_state=0, early_stopping=True, n_iter_no_change=2,
              validation_fraction=0.2, max_iter=200)  # fmt: skip
    est = stream_fit(SGDClassifier(**kw), data)
    assert 3 <= est.n_iter_ < 200
    # the held-out rows: a hash of the row's position, never trained on
    seed = int(np.random.RandomState(0).randint(np.iinfo(np.int32).max))
    mask = _stream.held_out(np.arange(len(y)), seed, 0.2).astype(bool)
    assert abs(mask.mean() - 0.2) < 0.02
    ref = SGDClassifier(shuffle=False, random_state=0, max_iter=est.n_iter_, tol=None)
    ref.fit(X[~mask], y[~mask])
    np.testing.assert_array_equal(est.coef_, ref.coef_)
    # the stopping rule saw the validation accuracy of these rows
    reg = stream_fit(SGDRegressor(**kw), write(tmp_path, X, X[:, 0] * 2.0, "csv"))
    assert reg.n_iter_ < 200


def test_read_ahead_and_window_size_do_not_change_the_fit(tmp_path):
    X, y = problem(seed=5)
    data = write(tmp_path, X, y, "parquet")
    kw = dict(max_iter=3, tol=None, random_state=0, batch_size=32, optimizer="adam")
    a = fastsgd.fit_files(SGDClassifier(**kw), data, "y", window_bytes=WINDOW, read_ahead=1)
    b = fastsgd.fit_files(SGDClassifier(**kw), data, "y", window_bytes=WINDOW, read_ahead=4)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    # n_jobs does not change it either
    c = fastsgd.fit_files(SGDClassifier(n_jobs=2, **kw), data, "y", window_bytes=WINDOW)
    np.testing.assert_array_equal(a.coef_, c.coef_)


def test_a_file_that_disappears_mid_fit_is_named(tmp_path, monkeypatch):
    X, y = problem(classes=2, seed=6)
    data = write(tmp_path, X, y, "parquet")
    gone = tmp_path / "part-1.parquet"
    import fastsgd._sgd as sgd

    def delete_after_first_epoch(info):
        if info["epoch"] == 1 and gone.exists():
            os.remove(gone)

    monkeypatch.setattr(sgd, "_print_epoch", delete_after_first_epoch)
    est = SGDClassifier(max_iter=3, tol=None, verbose=1, random_state=0)
    with pytest.raises(ValueError, match="part-1.parquet"):
        stream_fit(est, data)
    assert not hasattr(est, "coef_")


def test_a_stream_rejects_a_full_batch(tmp_path):
    X, y = problem(classes=2)
    data = write(tmp_path, X, y, "parquet")
    with pytest.raises(ValueError, match="batch_size='full'"):
        stream_fit(SGDClassifier(batch_size="full"), data)


# ---- scale="standard" -------------------------------------------------------


def unscaled(n=4000, d=12, seed=0, regression=False):
    """Features on scales from 1e-3 to 1e3 and offsets: SGD's hard case."""
    X, y = problem(n=n, d=d, classes=2, seed=seed, regression=regression)
    scales = np.logspace(-3, 3, d)
    return X * scales + 5.0 * scales, y


def pipeline_coef(pipe):
    sc, est = pipe[0], pipe[1]
    coef = est.coef_ / sc.scale_
    mean = sc.mean_ if sc.with_mean else np.zeros(coef.shape[-1])
    return coef, est.intercept_ - np.atleast_2d(coef) @ mean


@pytest.mark.parametrize(
    "params",
    [dict(), dict(average=True), dict(penalty="l1"),
     dict(batch_size=32, optimizer="adam"), dict(batch_size=16, optimizer="sgd")],
)  # fmt: skip
@pytest.mark.parametrize("cls", [SGDClassifier, SGDRegressor])
def test_scale_equals_a_standard_scaler_pipeline(cls, params):
    X, y = unscaled(regression=cls is SGDRegressor)
    kw = dict(shuffle=False, max_iter=4, tol=None, random_state=0, **params)
    est = cls(scale="standard", **kw).fit(X, y)
    pipe = make_pipeline(StandardScaler(), cls(**kw)).fit(X, y)
    coef, intercept = pipeline_coef(pipe)
    np.testing.assert_allclose(est.coef_.ravel(), np.ravel(coef), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.intercept_, np.ravel(intercept), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(est.predict(X), pipe.predict(X), rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(est.feature_mean_, pipe[0].mean_, rtol=1e-12)
    np.testing.assert_allclose(est.feature_scale_, pipe[0].scale_, rtol=1e-12)


def test_scale_on_sparse_data_divides_only():
    X, y = unscaled()
    X[np.abs(X) < np.abs(X).mean(axis=0)] = 0.0
    Xs = sp.csr_matrix(X)
    kw = dict(shuffle=False, max_iter=3, tol=None, random_state=0)
    est = SGDClassifier(scale="standard", **kw).fit(Xs, y)
    pipe = make_pipeline(StandardScaler(with_mean=False), SGDClassifier(**kw)).fit(Xs, y)
    coef, intercept = pipeline_coef(pipe)
    np.testing.assert_allclose(est.coef_, coef, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.intercept_, intercept, rtol=1e-9)
    assert est.feature_mean_ is None


def test_scale_float32_and_the_caller_arrays_untouched():
    X, y = unscaled(seed=2)
    X32 = X.astype(np.float32)
    before = X32.copy()
    est = SGDClassifier(scale="standard", random_state=0, max_iter=5, tol=None).fit(X32, y)
    assert est.coef_.dtype == np.float32
    np.testing.assert_array_equal(X32, before)
    ref = SGDClassifier(scale="standard", random_state=0, max_iter=5, tol=None).fit(X, y)
    assert abs(est.score(X, y) - ref.score(X, y)) < 0.01


def test_scale_reaches_the_pipeline_accuracy_at_equal_epochs():
    X, y = unscaled(n=20000, d=20, seed=3)
    Xt, yt = X[15000:], y[15000:]
    X, y = X[:15000], y[:15000]
    for params in (dict(), dict(batch_size=64, optimizer="adam")):
        kw = dict(max_iter=10, tol=None, random_state=0, **params)
        scaled = SGDClassifier(scale="standard", **kw).fit(X, y).score(Xt, yt)
        pipe = make_pipeline(StandardScaler(), SGDClassifier(**kw)).fit(X, y).score(Xt, yt)
        raw = SGDClassifier(**kw).fit(X, y).score(Xt, yt)
        assert abs(scaled - pipe) < 0.01, (params, scaled, pipe)
        assert raw < pipe - 0.05, (params, raw, pipe)


def test_partial_fit_keeps_the_first_scaling():
    X, y = unscaled(seed=4)
    est = SGDClassifier(scale="standard", random_state=0, shuffle=False)
    est.partial_fit(X[:2000], y[:2000], classes=[0, 1])
    mean, scale = est.feature_mean_.copy(), est.feature_scale_.copy()
    est.partial_fit(X[2000:] * 3.0, y[2000:])
    np.testing.assert_array_equal(est.feature_mean_, mean)
    np.testing.assert_array_equal(est.feature_scale_, scale)
    # the same as scaling both calls' rows with the first call's statistics
    sc = StandardScaler().fit(X[:2000])
    ref = SGDClassifier(random_state=0, shuffle=False)
    ref.partial_fit(sc.transform(X[:2000]), y[:2000], classes=[0, 1])
    ref.partial_fit(sc.transform(X[2000:] * 3.0), y[2000:])
    np.testing.assert_allclose(est.coef_ * sc.scale_, ref.coef_, rtol=1e-8, atol=1e-10)


def test_scaled_stream_from_files(tmp_path):
    X, y = unscaled(seed=5)
    data = write(tmp_path, X, y, "parquet")
    kw = dict(shuffle=False, max_iter=3, tol=None, random_state=0, scale="standard")
    est = stream_fit(SGDClassifier(**kw), data)
    ref = SGDClassifier(**kw).fit(X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10)
    np.testing.assert_allclose(est.feature_scale_, X.std(axis=0), rtol=1e-10)
