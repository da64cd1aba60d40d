"""Bad input, input that must be accepted as is, and estimator state."""

import hashlib
import pickle
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.linear_model as sk
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import fastsgd

from helpers import peak_traced_bytes

N, D = 60, 4


def _data(seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(N, D)
    y_clf = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)
    y_reg = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * rng.randn(N)
    return X, y_clf, y_reg


X0, Y_CLF, Y_REG = _data()

ESTIMATORS = {
    "classifier": (fastsgd.SGDClassifier, Y_CLF, {"classes": np.array([0, 1])}),
    "regressor": (fastsgd.SGDRegressor, Y_REG, {}),
}


def _est(kind, **params):
    cls, y, pf_kw = ESTIMATORS[kind]
    params.setdefault("max_iter", 5)
    params.setdefault("tol", None)
    return cls(**params), y.copy(), pf_kw


def _digest(*arrays):
    """sha256 of the bytes, dtype, shape and flags of every array (CSR: its parts)."""
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            continue
        if sp.issparse(a):
            parts = (a.data, a.indices, a.indptr)
        else:
            parts = (np.asarray(a),)
        for p in parts:
            h.update(np.ascontiguousarray(p).tobytes())
            h.update(str((p.dtype, p.shape, p.flags.writeable)).encode())
    return h.hexdigest()


kinds = pytest.mark.parametrize("kind", list(ESTIMATORS))
storages = pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])


def _maybe_csr(X, sparse):
    return sp.csr_matrix(X) if sparse else X


# ---------------------------------------------------------------------------
# non-finite values


@storages
@kinds
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_X(kind, sparse, bad):
    est, y, _ = _est(kind)
    X = X0.copy()
    X[3, 1] = bad
    X = _maybe_csr(X, sparse)
    before = _digest(X, y)
    with pytest.raises(ValueError, match="NaN|infinity"):
        est.fit(X, y)
    assert _digest(X, y) == before
    assert not hasattr(est, "coef_")


@kinds
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_y(kind, bad):
    est, y, _ = _est(kind)
    y = y.astype(np.float64)
    y[5] = bad
    with pytest.raises(ValueError, match="NaN|infinity|Unknown label type"):
        est.fit(X0, y)


@kinds
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_sample_weight(kind, bad):
    est, y, _ = _est(kind)
    sw = np.ones(N)
    sw[2] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        est.fit(X0, y, sample_weight=sw)


@storages
@kinds
def test_non_finite_in_partial_fit_and_predict(kind, sparse):
    est, y, pf_kw = _est(kind)
    est.partial_fit(_maybe_csr(X0, sparse), y, **pf_kw)
    coef = est.coef_.copy()
    X = X0.copy()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.partial_fit(_maybe_csr(X, sparse), y)
    np.testing.assert_array_equal(est.coef_, coef)
    with pytest.raises(ValueError, match="NaN"):
        est.predict(_maybe_csr(X, sparse))


# ---------------------------------------------------------------------------
# shapes


@kinds
def test_1d_X(kind):
    est, y, _ = _est(kind)
    with pytest.raises(ValueError, match="Expected 2D array"):
        est.fit(X0[:, 0], y)


@kinds
def test_y_wrong_length(kind):
    est, y, _ = _est(kind)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.fit(X0, y[:-1])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.fit(X0[:-2], y)


@kinds
def test_2d_y(kind):
    est, y, _ = _est(kind)
    with pytest.raises(ValueError, match="y should be a 1d array"):
        est.fit(X0, np.column_stack([y, y]))


@kinds
def test_sample_weight_wrong_shape(kind):
    est, y, _ = _est(kind)
    with pytest.raises(ValueError, match="sample_weight"):
        est.fit(X0, y, sample_weight=np.ones(N - 1))
    with pytest.raises(ValueError, match="sample_weight|1D"):
        est.fit(X0, y, sample_weight=np.ones((N, 2)))


@storages
@kinds
def test_feature_count_mismatch_predict(kind, sparse):
    est, y, _ = _est(kind)
    est.fit(_maybe_csr(X0, sparse), y)
    with pytest.raises(ValueError, match=f"X has {D - 1} features, but .* expecting {D} features"):
        est.predict(_maybe_csr(X0[:, :-1], sparse))
    if kind == "classifier":
        with pytest.raises(ValueError, match=f"X has {D + 1} features"):
            est.decision_function(np.column_stack([X0, X0[:, 0]]))


@storages
@kinds
def test_feature_count_mismatch_second_partial_fit(kind, sparse):
    est, y, pf_kw = _est(kind)
    est.partial_fit(_maybe_csr(X0, sparse), y, **pf_kw)
    coef, t = est.coef_.copy(), est.t_
    with pytest.raises(ValueError, match=f"X has {D - 1} features, but .* expecting {D} features"):
        est.partial_fit(_maybe_csr(X0[:, :-1], sparse), y, **pf_kw)
    # the failed call changed nothing
    np.testing.assert_array_equal(est.coef_, coef)
    assert est.t_ == t
    assert est.n_features_in_ == D


@storages
@kinds
def test_empty_data(kind, sparse):
    est, y, pf_kw = _est(kind)
    with pytest.raises(ValueError, match="0 sample"):
        est.fit(_maybe_csr(X0[:0], sparse), y[:0])
    with pytest.raises(ValueError, match="0 feature"):
        est.fit(_maybe_csr(X0[:, :0], sparse), y)
    with pytest.raises(ValueError, match="0 sample"):
        est.partial_fit(_maybe_csr(X0[:0], sparse), y[:0], **pf_kw)


def _malformed_csr(how, index_dtype):
    """A CSR matrix of X0's shape whose structure scipy accepts but is out of range."""
    X = sp.csr_matrix(X0)
    indices = X.indices.astype(index_dtype)
    indptr = X.indptr.astype(index_dtype)
    if how == "index_too_large":
        indices[7] = D
    elif how == "index_huge":
        indices[7] = D + 2**32 if index_dtype == np.int64 else np.iinfo(np.int32).max
    elif how == "index_negative":
        indices[7] = -1
    elif how == "indptr_decreasing":
        indptr[5], indptr[6] = indptr[6], indptr[5]
    bad = sp.csr_matrix((X.data.copy(), indices, indptr), shape=X.shape)
    if index_dtype == np.int64:
        bad.indices, bad.indptr = indices, indptr  # scipy may downcast on construction
    return bad


MALFORMED = ["index_too_large", "index_huge", "index_negative", "indptr_decreasing"]


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("how", MALFORMED)
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"penalty": "l1"},
        {"penalty": "elasticnet", "average": True},
        {"batch_size": 8, "optimizer": "adam"},
    ],
)
@kinds
def test_malformed_csr_raises_before_work(kind, params, how, index_dtype):
    est, y, pf_kw = _est(kind, **params)
    bad = _malformed_csr(how, index_dtype)
    match = "indptr decreases" if how == "indptr_decreasing" else "column index"
    with pytest.raises(ValueError, match="Invalid CSR matrix: " + match):
        est.fit(bad, y)
    assert not hasattr(est, "coef_")
    with pytest.raises(ValueError, match="Invalid CSR matrix"):
        est.partial_fit(bad, y, **pf_kw)
    assert not hasattr(est, "coef_")


@pytest.mark.parametrize("how", MALFORMED)
@kinds
def test_malformed_csr_in_predict(kind, how):
    est, y, _ = _est(kind)
    est.fit(X0, y)
    bad = _malformed_csr(how, np.int32)
    for method in ("predict", "decision_function") if kind == "classifier" else ("predict",):
        with pytest.raises(ValueError, match="Invalid CSR matrix"):
            getattr(est, method)(bad)
    if kind == "classifier":
        est.set_params(loss="log_loss").fit(X0, y)
        with pytest.raises(ValueError, match="Invalid CSR matrix"):
            est.predict_proba(bad)


# ---------------------------------------------------------------------------
# parameters


@kinds
@pytest.mark.parametrize("param", ["loss", "penalty", "learning_rate", "shuffle_mode"])
def test_unknown_parameter_values(kind, param):
    est, y, pf_kw = _est(kind, **{param: "foo"})
    with pytest.raises(ValueError, match=f"The '{param}' parameter of SGD\\w+ must be"):
        est.fit(X0, y)
    est, y, pf_kw = _est(kind, **{param: "foo"})
    with pytest.raises(ValueError, match=f"The '{param}' parameter"):
        est.partial_fit(X0, y, **pf_kw)


@kinds
@pytest.mark.parametrize(
    "params, match",
    [
        (dict(alpha=-1.0), "'alpha' parameter"),
        (dict(max_iter=0), "'max_iter' parameter"),
        (dict(eta0=0.0), "'eta0' parameter"),
        (dict(l1_ratio=1.5), "'l1_ratio' parameter"),
        (dict(validation_fraction=1.0), "'validation_fraction' parameter"),
        (dict(average=-1), "'average' parameter"),
        (dict(learning_rate="optimal", alpha=0.0), "alpha must be > 0"),
        (dict(learning_rate="pa1", loss="squared_epsilon_insensitive"), "only works with loss"),
        (dict(penalty="elasticnet", l1_ratio=None), "l1_ratio must be set"),
    ],
)
def test_invalid_parameter_combinations(kind, params, match):
    est, y, _ = _est(kind, **params)
    with pytest.raises(ValueError, match=match):
        est.fit(X0, y)


def test_n_jobs_zero():
    with pytest.raises(ValueError, match="n_jobs"):
        fastsgd.SGDClassifier(n_jobs=0).fit(X0, np.arange(N) % 3)


@kinds
def test_early_stopping_with_partial_fit(kind):
    est, y, pf_kw = _est(kind, early_stopping=True)
    with pytest.raises(ValueError, match="early_stopping should be False with partial_fit"):
        est.partial_fit(X0, y, **pf_kw)


# ---------------------------------------------------------------------------
# classes


def test_single_class():
    with pytest.raises(ValueError, match="number of classes has to be greater than one"):
        fastsgd.SGDClassifier().fit(X0, np.zeros(N))
    with pytest.raises(ValueError, match="number of classes has to be greater than one"):
        fastsgd.SGDClassifier().partial_fit(X0, np.zeros(N), classes=[0])


def test_partial_fit_without_classes_on_first_call():
    est = fastsgd.SGDClassifier()
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        est.partial_fit(X0, Y_CLF)
    assert not hasattr(est, "coef_")
    # and works once they are given; later calls may omit them
    est.partial_fit(X0, Y_CLF, classes=[0, 1])
    est.partial_fit(X0, Y_CLF)
    assert est.t_ == 1 + 2 * N


def test_partial_fit_labels_outside_classes():
    est = fastsgd.SGDClassifier()
    with pytest.raises(ValueError, match="not in classes"):
        est.partial_fit(X0, Y_CLF + 5, classes=[0, 1])
    est.partial_fit(X0, Y_CLF, classes=[0, 1])
    with pytest.raises(ValueError, match="not the same as on last call"):
        est.partial_fit(X0, Y_CLF, classes=[0, 1, 2])


def test_continuous_target_for_classifier():
    with pytest.raises(ValueError, match="Unknown label type"):
        fastsgd.SGDClassifier().fit(X0, Y_REG)


def test_class_weight_balanced_with_partial_fit():
    with pytest.raises(ValueError, match="balanced"):
        fastsgd.SGDClassifier(class_weight="balanced").partial_fit(X0, Y_CLF, classes=[0, 1])


# ---------------------------------------------------------------------------
# the caller's arrays are never modified


def _csr_unsorted(X):
    """CSR with the indices of every row reversed (non-canonical)."""
    C = sp.csr_matrix(X)
    ind, dat = C.indices.copy(), C.data.copy()
    for i in range(C.shape[0]):
        s, e = C.indptr[i], C.indptr[i + 1]
        ind[s:e], dat[s:e] = ind[s:e][::-1].copy(), dat[s:e][::-1].copy()
    return sp.csr_matrix((dat, ind, C.indptr.copy()), shape=C.shape)


def _inputs():
    Xs = X0.copy()
    Xs[np.abs(Xs) < 0.2] = 0.0
    csr64 = sp.csr_matrix(Xs)
    csr64.indices = csr64.indices.astype(np.int64)
    csr64.indptr = csr64.indptr.astype(np.int64)
    return {
        "dense64": X0.copy(),
        "dense32": X0.astype(np.float32),
        "fortran": np.asfortranarray(X0),
        "strided": np.repeat(X0, 2, axis=1)[:, ::2],
        "csr": sp.csr_matrix(Xs),
        "csr32": sp.csr_matrix(Xs.astype(np.float32)),
        "csr_int64_index": csr64,
        "csr_unsorted": _csr_unsorted(Xs),
        "csc": sp.csc_matrix(Xs),
    }


@kinds
@pytest.mark.parametrize("input_kind", list(_inputs()))
def test_inputs_not_modified_by_successful_fits(kind, input_kind):
    X = _inputs()[input_kind]
    est, y, pf_kw = _est(kind, average=True)
    sw = np.random.RandomState(1).uniform(0.5, 2.0, N)
    before = _digest(X, y, sw)
    est.fit(X, y, sample_weight=sw)
    assert _digest(X, y, sw) == before
    est.partial_fit(X, y, sample_weight=sw, **pf_kw)
    assert _digest(X, y, sw) == before
    est.predict(X)
    est.score(X, y)
    assert _digest(X, y, sw) == before
    # and the estimator keeps no view on the caller's data
    coef = est.coef_.copy()
    Xc = X.copy()
    if sp.issparse(Xc):
        Xc.data[:] = 1e6
    else:
        Xc[:] = 1e6
    np.testing.assert_array_equal(est.coef_, coef)


@kinds
def test_inputs_not_modified_by_failed_fits(kind):
    for name, X in _inputs().items():
        est, y, pf_kw = _est(kind)
        sw = np.ones(N)
        before = _digest(X, y, sw)
        # fails in validation of the parameters, of the weights, and in the
        # engine (divergence)
        with pytest.raises(ValueError):
            est.set_params(alpha=-1).fit(X, y, sample_weight=sw)
        with pytest.raises(ValueError):
            est.set_params(alpha=1e-4).fit(X, y, sample_weight=sw[:-1])
        assert _digest(X, y, sw) == before, name
        Xbig = X.astype(np.float64) * 1e150
        big_before = _digest(Xbig)
        est.set_params(learning_rate="constant", eta0=1e10, penalty=None, loss="squared_error")
        if sp.issparse(X):
            # whether this sparse fit diverges is test_divergence_raises_like_sklearn's
            # business; here only the inputs matter
            try:
                est.fit(Xbig, y, sample_weight=sw)
            except ValueError:
                pass
        else:
            with pytest.raises(ValueError, match="epoch"):
                est.fit(Xbig, y, sample_weight=sw)
        assert _digest(Xbig) == big_before, name
        assert _digest(X, y, sw) == before, name


@kinds
def test_init_arrays_not_modified(kind):
    est, y, _ = _est(kind)
    coef_init = np.full(D if kind == "regressor" else (1, D), 0.1)
    intercept_init = np.array([0.2])
    before = _digest(coef_init, intercept_init)
    est.fit(X0, y, coef_init=coef_init, intercept_init=intercept_init)
    assert _digest(coef_init, intercept_init) == before
    assert est.coef_ is not coef_init
    assert not np.shares_memory(est.coef_, coef_init)


# ---------------------------------------------------------------------------
# read-only, memmap, float32 without copy, pandas


@storages
@kinds
def test_read_only_input(kind, sparse):
    for dtype in (np.float64, np.float32):
        X = _maybe_csr(X0.astype(dtype), sparse)
        est, y, pf_kw = _est(kind, shuffle=False)
        sw = np.ones(N)
        ref = clone(est).fit(X.copy(), y.copy(), sample_weight=sw.copy())
        parts = (X.data, X.indices, X.indptr) if sparse else (X,)
        for a in (*parts, y, sw):
            a.setflags(write=False)
        est.fit(X, y, sample_weight=sw)
        np.testing.assert_array_equal(est.coef_, ref.coef_)
        assert est.coef_.dtype == dtype
        est.partial_fit(X, y, sample_weight=sw, **pf_kw)
        est.predict(X)


@kinds
def test_memmap_input(kind, tmp_path):
    for dtype in (np.float64, np.float32):
        path = tmp_path / f"X_{np.dtype(dtype).name}.dat"
        mm = np.memmap(path, dtype=dtype, mode="w+", shape=X0.shape)
        mm[:] = X0
        mm.flush()
        del mm
        X = np.memmap(path, dtype=dtype, mode="r", shape=X0.shape)
        est, y, pf_kw = _est(kind, shuffle=False)
        est.fit(X, y)
        ref = clone(est).fit(np.array(X), y)
        np.testing.assert_array_equal(est.coef_, ref.coef_)
        assert est.coef_.dtype == dtype
        est.partial_fit(X, y, **pf_kw)
        np.testing.assert_array_equal(est.predict(X), est.predict(np.array(X)))


@storages
@kinds
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_c_contiguous_input_is_not_copied(kind, sparse, dtype):
    # NumPy reports its allocations to tracemalloc: a copy of X (or of the CSR
    # values) would show up as a peak of at least X's size
    rng = np.random.RandomState(0)
    Xbig = rng.randn(20000, 50).astype(dtype)
    y = (Xbig[:, 0] > 0).astype(np.int64) if kind == "classifier" else Xbig[:, 0].astype(dtype)
    if sparse:
        Xbig[np.abs(Xbig) < 0.5] = 0
        Xbig = sp.csr_matrix(Xbig)
        nbytes = Xbig.data.nbytes
        Xbig.data.setflags(write=False)
    else:
        nbytes = Xbig.nbytes
        Xbig.setflags(write=False)
    est, _, _ = _est(kind, max_iter=1)
    # the reference: an explicit copy is detected by this measurement
    copy_peak = peak_traced_bytes(lambda: Xbig.copy())
    assert copy_peak >= 0.9 * nbytes
    peak = peak_traced_bytes(lambda: est.fit(Xbig, y))
    assert peak < 0.5 * nbytes, (peak, nbytes)
    assert est.coef_.dtype == dtype


@kinds
def test_pandas_dataframe(kind):
    pd = pytest.importorskip("pandas")
    cols = [f"feat_{i}" for i in range(D)]
    df = pd.DataFrame(X0, columns=cols)
    est, y, _ = _est(kind, shuffle=False)
    est.fit(df, pd.Series(y))
    np.testing.assert_array_equal(est.feature_names_in_, np.array(cols, dtype=object))
    ref = clone(est).fit(X0, y)
    np.testing.assert_array_equal(est.coef_, ref.coef_)
    np.testing.assert_allclose(est.predict(df), ref.predict(X0), rtol=1e-12)
    with pytest.raises(ValueError, match="feature names should match"):
        est.predict(df.rename(columns={"feat_0": "other"}))
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        est.predict(X0)


# ---------------------------------------------------------------------------
# divergence


def _diverging(kind, **extra):
    params = dict(learning_rate="constant", eta0=1e10, penalty=None, max_iter=5, tol=None)
    if kind == "classifier":
        params["loss"] = "squared_error"
    params.update(extra)
    return ESTIMATORS[kind][0](**params)


@kinds
def test_divergence_on_fresh_estimator(kind):
    _, y, _ = _est(kind)
    Xbad = X0 * 1e150  # finite, but the weights overflow in the first epoch
    est = _diverging(kind)
    with pytest.raises(ValueError, match=r"epoch #?\d"):
        est.fit(Xbad, y)
    # nothing with NaN is left behind: the estimator is not fitted
    for name, value in vars(est).items():
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            assert np.all(np.isfinite(value)), name
    assert not hasattr(est, "coef_")
    with pytest.raises(NotFittedError):
        est.predict(X0)


@kinds
@pytest.mark.parametrize("n_features_second_fit", [D, D + 2])
def test_divergence_keeps_previous_fit(kind, n_features_second_fit):
    _, y, _ = _est(kind)
    est = _diverging(kind, eta0=0.01)
    est.fit(X0, y)
    coef, intercept, t, pred = est.coef_.copy(), est.intercept_.copy(), est.t_, est.predict(X0)
    rng = np.random.RandomState(3)
    Xbad = rng.randn(N, n_features_second_fit) * 1e150
    with pytest.raises(ValueError, match="epoch"):
        est.set_params(eta0=1e10).fit(Xbad, y)
    # the previous, finite fit is still there and still usable as a whole
    np.testing.assert_array_equal(est.coef_, coef)
    np.testing.assert_array_equal(est.intercept_, intercept)
    assert est.t_ == t
    assert est.n_features_in_ == est.coef_.shape[-1]
    np.testing.assert_array_equal(est.predict(X0), pred)


@kinds
def test_divergence_in_partial_fit_keeps_state(kind):
    _, y, pf_kw = _est(kind)
    est = _diverging(kind, eta0=0.01)
    est.partial_fit(X0, y, **pf_kw)
    coef, t = est.coef_.copy(), est.t_
    with pytest.raises(ValueError, match="epoch"):
        est.set_params(eta0=1e10).partial_fit(X0 * 1e150, y)
    np.testing.assert_array_equal(est.coef_, coef)
    assert est.t_ == t
    assert np.all(np.isfinite(est.coef_))


@storages
@kinds
def test_divergence_raises_like_sklearn(kind, sparse):
    # an overflowing fit must be reported, as scikit-learn reports it on the
    # very same input (there the reference raises at epoch 1)
    _, y, _ = _est(kind)
    Xbad = _maybe_csr(X0 * 1e150, sparse)
    ref_cls = sk.SGDClassifier if kind == "classifier" else sk.SGDRegressor
    params = dict(
        learning_rate="constant", eta0=1e10, penalty=None, max_iter=5, tol=None, shuffle=False
    )
    if kind == "classifier":
        params["loss"] = "squared_error"
    with pytest.raises(ValueError, match="epoch #1"):
        ref_cls(**params).fit(Xbad, y)
    est = ESTIMATORS[kind][0](**params)
    with pytest.raises(ValueError, match="epoch #1"):
        est.fit(Xbad, y)


# ---------------------------------------------------------------------------
# persistence, clone, parameters


@kinds
@pytest.mark.parametrize("average", [False, True])
def test_pickle_and_joblib_roundtrip(kind, average, tmp_path):
    est, y, pf_kw = _est(
        kind, average=average, random_state=0, loss="log_loss" if kind == "classifier" else "huber"
    )
    est.fit(X0, y)
    for restored in (
        pickle.loads(pickle.dumps(est)),
        joblib.load(joblib.dump(est, tmp_path / "est.joblib")[0]),
    ):
        assert type(restored) is type(est)
        np.testing.assert_array_equal(restored.predict(X0), est.predict(X0))
        np.testing.assert_array_equal(restored.coef_, est.coef_)
        np.testing.assert_array_equal(restored.intercept_, est.intercept_)
        assert restored.get_params() == est.get_params()
        if kind == "classifier":
            np.testing.assert_array_equal(restored.decision_function(X0), est.decision_function(X0))
            np.testing.assert_array_equal(restored.predict_proba(X0), est.predict_proba(X0))
        # a restored estimator continues exactly like the original
        a = pickle.loads(pickle.dumps(est)).partial_fit(X0, y)
        b = pickle.loads(pickle.dumps(restored)).partial_fit(X0, y)
        np.testing.assert_array_equal(a.coef_, b.coef_)


@kinds
def test_clone(kind):
    est, y, _ = _est(kind, alpha=0.003, shuffle_mode="full", random_state=4)
    est.fit(X0, y)
    c = clone(est)
    assert c.get_params() == est.get_params()
    assert not hasattr(c, "coef_")
    c.fit(X0, y)
    np.testing.assert_array_equal(c.coef_, est.coef_)


@pytest.mark.parametrize(
    "ours, theirs",
    [(fastsgd.SGDClassifier, sk.SGDClassifier), (fastsgd.SGDRegressor, sk.SGDRegressor)],
)
def test_params_superset_of_sklearn_with_same_defaults(ours, theirs):
    p_ours, p_theirs = ours().get_params(), theirs().get_params()
    assert set(p_theirs) <= set(p_ours), set(p_theirs) - set(p_ours)
    for name, default in p_theirs.items():
        assert p_ours[name] == default, name
    # the additions (README) default to scikit-learn's behaviour: per-sample
    # SGD, one-vs-rest, no clipping or warm-up
    additions = {
        "shuffle_mode": "block",
        "batch_size": 1,
        "optimizer": "sgd",
        "momentum": 0.9,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "rho": None,
        "optimizer_epsilon": None,
        "clip_norm": None,
        "lr_decay": 0.1,
        "lr_decay_epochs": 10,
        "restart_epochs": 10,
        "restart_mult": 1.0,
        "eta_min": 0.0,
        "warmup_epochs": 0.0,
        "multi_class": "ovr",
        "n_jobs": None,
        "parallel": None,
        "n_shards": None,
        "scale": None,
    }
    extra = set(p_ours) - set(p_theirs)
    assert extra <= set(additions), extra - set(additions)
    for name in extra:
        assert p_ours[name] == additions[name], name
    assert not ours()._uses_batch_engine()


@pytest.mark.parametrize("cls", [fastsgd.SGDClassifier, fastsgd.SGDRegressor])
def test_set_params_roundtrip(cls):
    est = cls()
    new = dict(
        alpha=0.123,
        penalty="elasticnet",
        l1_ratio=0.3,
        max_iter=7,
        tol=None,
        shuffle=False,
        epsilon=0.2,
        learning_rate="adaptive",
        eta0=0.5,
        power_t=0.4,
        average=3,
        warm_start=True,
        shuffle_mode="full",
        random_state=9,
    )
    est.set_params(**new)
    got = est.get_params()
    for k, v in new.items():
        assert got[k] == v, k
    with pytest.raises(ValueError, match="Invalid parameter"):
        est.set_params(not_a_parameter=1)


@kinds
def test_convergence_warning_and_n_iter(kind):
    est, y, _ = _est(kind, max_iter=1, tol=1e-3)
    with pytest.warns(ConvergenceWarning):
        est.fit(X0, y)
    assert est.n_iter_ == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        _est(kind, max_iter=1, tol=None)[0].fit(X0, y)  # tol=None: no warning


@kinds
def test_sparsify_densify_keep_predictions(kind):
    est, y, _ = _est(kind, penalty="l1", random_state=0)
    est.fit(X0, y)
    pred = est.predict(X0)
    est.sparsify()
    assert sp.issparse(est.coef_)
    np.testing.assert_allclose(est.predict(X0), pred, rtol=1e-12)
    est.densify()
    assert isinstance(est.coef_, np.ndarray)
    np.testing.assert_allclose(est.predict(X0), pred, rtol=1e-12)


# ---------------------------------------------------------------------------
# the engine's own size checks: _engine.fit trusts no caller with its buffers

# position of an argument of _engine.fit, and what the error names
_ENGINE_ARGS = {
    1: "indptr does not match",
    2: "indptr does not match",
    4: "y_code has",
    5: "sample_weight has",
    6: "validation_mask has",
    13: "weight_neg has",
    14: "seeds has",
    15: "n_iter has",
}
_ENGINE_CASES = [(False, p) for p in (4, 5, 6, 13, 14, 15)] + [
    (True, p) for p in (1, 2, 4, 5, 14, 15)
]


@pytest.mark.parametrize("sparse, position", _ENGINE_CASES)
def test_engine_checks_buffer_sizes(monkeypatch, sparse, position):
    from fastsgd import _sgd

    rng = np.random.RandomState(0)
    X = rng.randn(60, 5)
    y = rng.randint(0, 3, 60)
    sw = rng.uniform(0.5, 2.0, 60)
    if sparse:
        X = sp.csr_matrix(X)
    real_fit = _sgd._engine.fit

    def one_entry_short(*args, **kwargs):
        args = list(args)
        a = args[position]
        if position == 2:  # indptr: the rows end past the data
            a = a.copy()
            a[-1] += 1
        else:
            a = a[:-1]
        args[position] = a
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(_sgd._engine, "fit", one_entry_short)
    est = fastsgd.SGDClassifier(max_iter=3, tol=None, early_stopping=position == 6)
    with pytest.raises(ValueError, match=_ENGINE_ARGS[position]):
        est.fit(X, y, sample_weight=sw)


# the engine's argument check (fsgd_check_args): a bad code or an empty
# training set reaching C is a ValueError naming it, not a MemoryError
_BAD_ENGINE_ARGS = [
    ({"loss": 99}, "loss: unknown loss code"),
    ({"penalty": -1}, "penalty: unknown penalty code"),
    ({"learning_rate": 42}, "learning_rate: unknown schedule code"),
    ({"order": 7}, "order: unknown order code"),
    ({"max_iter": 0}, "max_iter"),
    ({"n_iter_no_change": 0}, "n_iter_no_change"),
]


@pytest.mark.parametrize("batch", [False, True], ids=["per-sample", "batch"])
@pytest.mark.parametrize(
    "change, match", _BAD_ENGINE_ARGS + [("all_validation", "validation_mask: no training rows")]
)
def test_engine_rejects_invalid_arguments(monkeypatch, change, match, batch):
    from fastsgd import _sgd

    real_fit = _sgd._engine.fit

    def bad_call(*args, **kwargs):
        args = list(args)
        if change == "all_validation":
            args[6] = np.ones(args[0].shape[0], dtype=np.uint8)
        else:
            args[18] = {**args[18], **change}
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(_sgd._engine, "fit", bad_call)
    params = dict(max_iter=3, tol=None, early_stopping=change == "all_validation")
    if batch:
        params.update(batch_size=8, optimizer="adam")
    est = fastsgd.SGDClassifier(**params)
    with pytest.raises(ValueError, match="invalid argument: " + match):
        est.fit(X0, Y_CLF)
    assert not hasattr(est, "coef_")


def test_engine_codes_come_from_the_header():
    from fastsgd import _engine, _sgd

    assert _sgd._LOSS_CODES["log_loss"][0] == _engine.LOSS["log"]
    assert len(set(_engine.LOSS.values())) == len(_engine.LOSS)
    assert len(set(_engine.OPTIMIZER.values())) == len(_engine.OPTIMIZER) == 8
    assert set(_sgd._LEARNING_RATE_CODES) == set(_engine.LEARNING_RATE)
    assert _engine.STATUS_INVALID_ARGUMENT not in (
        _engine.STATUS_OK,
        _engine.STATUS_DIVERGED,
        _engine.STATUS_NO_MEMORY,
        _engine.STATUS_INTERRUPTED,
    )


# parameters changed with set_params between partial_fit calls are validated
# on every call (scikit-learn's _fit_context checks only the first)
@pytest.mark.parametrize(
    "change, match",
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": -1}, "batch_size"),
        ({"optimizer": "bad"}, "optimizer"),
        ({"average": -5}, "average"),
        ({"eta0": -1.0}, "eta0"),
        ({"learning_rate": "bad"}, "learning_rate"),
    ],
)
@kinds
def test_partial_fit_validates_params_on_every_call(kind, change, match):
    est, y, pf_kw = _est(kind)
    est.partial_fit(X0, y, **pf_kw)
    coef, t = est.coef_.copy(), est.t_
    est.set_params(**change)
    with pytest.raises(ValueError, match=match):
        est.partial_fit(X0, y, **pf_kw)
    np.testing.assert_array_equal(est.coef_, coef)
    assert est.t_ == t


# integers beyond what the engine's counters hold are a ValueError naming the
# parameter, before any work (not OverflowError or MemoryError)
@pytest.mark.parametrize(
    "param, value",
    [
        ("batch_size", 2**70),
        ("max_iter", 2**31),
        ("max_iter", 10**12),
        ("n_iter_no_change", 2**40),
        ("average", 2**70),
    ],
)
@kinds
def test_huge_integers_name_the_parameter(kind, param, value):
    est, y, _ = _est(kind, **{param: value})
    with pytest.raises(ValueError, match=param):
        est.fit(X0, y)
    assert not hasattr(est, "coef_")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_class_weight_must_be_finite(bad):
    est = fastsgd.SGDClassifier(class_weight={0: bad, 1: 1.0}, max_iter=3, tol=None)
    with pytest.raises(ValueError, match="class_weight must be finite"):
        est.fit(X0, Y_CLF)
    assert not hasattr(est, "coef_")


# absurdly scaled data in the batch engine: a divergence error naming the
# epoch and the previous state kept, never a model that predicts NaN or an
# infinite optimizer state or loss curve
@pytest.mark.parametrize(
    "dtype, scale, optimizer",
    [
        (np.float64, 1e200, "adam"),
        (np.float64, 1e200, "adagrad"),
        (np.float64, 1e200, "rmsprop"),
        (np.float32, 1e20, "sgd"),
        (np.float32, 1e20, "momentum"),
        (np.float64, 1e100, "sgd"),
    ],
)
@kinds
def test_batch_engine_reports_divergence_on_absurd_scales(kind, dtype, scale, optimizer):
    est, y, _ = _est(kind, batch_size=16, optimizer=optimizer)
    X = (X0 * scale).astype(dtype)
    try:
        est.fit(X, y)
    except ValueError as exc:
        assert "overflow occurred at epoch #" in str(exc)
        assert not hasattr(est, "coef_")
        return
    # a fit that succeeds is a usable model
    assert np.all(np.isfinite(est.coef_)) and np.all(np.isfinite(est.intercept_))
    assert np.all(np.isfinite(est.loss_curve_))
    assert np.all(np.isfinite(est.predict(X)))
    for slots in est.optimizer_state_["slots"].reshape(-1, 1):
        assert np.all(np.isfinite(slots))


# X's finiteness is checked by the engine's first epoch (every training row's
# prediction), and the held-out rows of early stopping before the fit: every
# path names the bad input with scikit-learn's message, and the estimator
# keeps its state
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"penalty": "elasticnet", "average": True},
        {"learning_rate": "pa1", "eta0": 0.1},
        {"batch_size": 8, "optimizer": "adam"},
        {"batch_size": "full"},
        {"parallel": "shards", "n_shards": 3},
        {"early_stopping": True, "validation_fraction": 0.5},
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("row", [0, 3, N - 1])
@storages
@kinds
def test_non_finite_X_on_every_engine_path(kind, sparse, row, bad, dtype, params):
    if kind == "regressor" and params.get("learning_rate") == "pa1":
        params = dict(params, loss="epsilon_insensitive")
    est, y, _ = _est(kind, random_state=0, **params)
    X = X0.astype(dtype)
    X[row, 2] = bad
    X = _maybe_csr(X, sparse)
    sw = np.ones(N)
    sw[row] = 0.0  # a row that does not count still holds bad input
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        est.fit(X, y, sample_weight=sw)
    assert not hasattr(est, "coef_")


def test_multinomial_non_finite_X():
    X = X0.copy()
    X[7, 0] = np.nan
    est = fastsgd.SGDClassifier(loss="log_loss", multi_class="multinomial", batch_size=8)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        est.fit(X, np.arange(N) % 3)


# what a user who swaps the import sees: scikit-learn's public class attribute
# and its messages, word for word
@pytest.mark.parametrize(
    "ours, theirs",
    [(fastsgd.SGDClassifier, sk.SGDClassifier), (fastsgd.SGDRegressor, sk.SGDRegressor)],
)
def test_loss_functions_attribute_is_sklearns(ours, theirs):
    assert ours.loss_functions == theirs.loss_functions
    assert set(ours.loss_functions) == set(ours._parameter_constraints["loss"][0].options)


def _message(fn):
    try:
        fn()
    except ValueError as exc:
        return str(exc)
    raise AssertionError("no ValueError")


def test_messages_word_for_word_as_sklearns():
    X = X0 * 1e300
    y = Y_REG * 1e300
    for cls in (sk.SGDRegressor, fastsgd.SGDRegressor):
        assert _message(lambda cls=cls: cls(max_iter=5, tol=None).fit(X, y)) == (
            "Floating-point under-/overflow occurred at epoch #1. Scaling input data with "
            "StandardScaler or MinMaxScaler might help."
        )
    msgs = [
        _message(
            lambda cls=cls: cls(class_weight="balanced").partial_fit(X0, Y_CLF, classes=[0, 1])
        )
        for cls in (sk.SGDClassifier, fastsgd.SGDClassifier)
    ]
    assert msgs[0] == msgs[1]


def _misaligned(a):
    """A copy of a whose values start one byte past an aligned address (as
    NumPy allows: arrays Dask receives in network frames can be so)."""
    a = np.ascontiguousarray(a)
    raw = np.frombuffer(bytearray(a.nbytes + 1), dtype=np.uint8, offset=1, count=a.nbytes)
    out = raw.view(a.dtype).reshape(a.shape)
    out[...] = a
    assert not out.flags.aligned or a.dtype.itemsize == 1
    return out


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "params", [dict(average=True, penalty="elasticnet"), dict(batch_size=8, optimizer="adam")]
)
def test_misaligned_arrays_fit_as_aligned_ones(params, dtype, sparse):
    """The C engine needs each value at a multiple of its size (reading it
    otherwise is undefined behaviour, which the sanitizer run reports): a
    misaligned X, y, sample_weight or CSR part is copied first, and the fit
    is the one of the aligned arrays."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 6)).astype(dtype)
    X[rng.random(X.shape) < 0.4] = 0
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    w = rng.uniform(0.5, 2.0, 300)
    if sparse:
        Xs = sp.csr_matrix(X)
        Xm = Xs.copy()  # the constructor would copy the parts into aligned arrays
        Xm.data, Xm.indices, Xm.indptr = (_misaligned(a) for a in (Xs.data, Xs.indices, Xs.indptr))
        assert not Xm.data.flags.aligned and not Xm.indices.flags.aligned
        X = Xs
    else:
        Xm = _misaligned(X)
    est = dict(max_iter=3, tol=None, random_state=0, **params)
    ref = fastsgd.SGDClassifier(**est).fit(X, y, sample_weight=w)
    got = fastsgd.SGDClassifier(**est).fit(Xm, _misaligned(y), sample_weight=_misaligned(w))
    np.testing.assert_array_equal(got.coef_, ref.coef_)
    np.testing.assert_array_equal(got.intercept_, ref.intercept_)
    reg = fastsgd.SGDRegressor(**est).fit(Xm, _misaligned(y.astype(np.float64)))
    assert np.all(np.isfinite(reg.coef_))
