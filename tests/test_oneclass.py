"""fastsgd.SGDOneClassSVM: scikit-learn's estimator with its solver in
fastsgd's engine.  The fits equal scikit-learn's (every schedule, averaging,
no intercept, CSR, partial_fit, warm start, shuffled or not: the engine
visits the rows in scikit-learn's order), and scikit-learn's estimator
checks pass."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.linear_model as sk
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastsgd import SGDOneClassSVM

from helpers import expected_failed_checks


def data(seed=0, n=400, d=5):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)) + 1.0


def assert_same(a, b, rtol=1e-10):
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=rtol, atol=rtol * 1e-3)
    np.testing.assert_allclose(b.offset_, a.offset_, rtol=rtol, atol=rtol * 1e-3)
    assert a.n_iter_ == b.n_iter_
    assert a.t_ == b.t_
    assert b.coef_.shape == a.coef_.shape and b.coef_.dtype == a.coef_.dtype


@pytest.mark.parametrize(
    "params",
    [
        dict(shuffle=False),
        dict(random_state=3),
        dict(nu=0.1, learning_rate="constant", eta0=0.01, random_state=0),
        dict(nu=0.9, learning_rate="invscaling", eta0=0.05, shuffle=False),
        dict(learning_rate="adaptive", eta0=0.1, tol=1e-4, random_state=1),
        dict(average=True, shuffle=False),
        dict(average=50, random_state=2),
        dict(fit_intercept=False, random_state=4),
        dict(tol=None, max_iter=7, random_state=5),
    ],
)
@pytest.mark.parametrize("kind", ["dense", "float32", "csr"])
def test_fit_equals_scikit_learns(params, kind):
    X = data()
    rtol = 1e-10
    if kind == "float32":
        # float32 weights round differently from scikit-learn's float32 path (as in test_parity)
        X = X.astype(np.float32)
        rtol = 1e-3
    elif kind == "csr":
        X = sp.csr_matrix(np.where(X > 1.3, X, 0.0))
    w = np.random.default_rng(9).uniform(0.5, 2.0, X.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for sample_weight in (None, w):
            a = sk.SGDOneClassSVM(**params).fit(X, sample_weight=sample_weight)
            b = SGDOneClassSVM(**params).fit(X, sample_weight=sample_weight)
            assert_same(a, b, rtol)
    np.testing.assert_allclose(b.score_samples(X), a.score_samples(X), rtol=rtol * 10)
    sure = np.abs(a.decision_function(X)) > rtol * 1e3  # rows not on the boundary
    np.testing.assert_array_equal(b.predict(X)[sure], a.predict(X)[sure])


def test_partial_fit_and_warm_start_equal_scikit_learns():
    X = data(1)
    a = sk.SGDOneClassSVM(shuffle=False, average=10)
    b = SGDOneClassSVM(shuffle=False, average=10)
    for i in range(4):
        a.partial_fit(X[i * 100 : (i + 1) * 100])
        b.partial_fit(X[i * 100 : (i + 1) * 100])
        assert_same(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = sk.SGDOneClassSVM(warm_start=True, max_iter=3, tol=None, random_state=0).fit(X)
        b = SGDOneClassSVM(warm_start=True, max_iter=3, tol=None, random_state=0).fit(X)
        a.fit(X)
        b.fit(X)
    assert_same(a, b)
    # the same parameters as scikit-learn's
    assert SGDOneClassSVM().get_params() == sk.SGDOneClassSVM().get_params()


def test_divergence_keeps_scikit_learns_words():
    X = data() * 1e200
    with pytest.raises(ValueError, match="under-/overflow occurred at epoch #1"):
        SGDOneClassSVM(learning_rate="constant", eta0=1.0).fit(X)


@parametrize_with_checks([SGDOneClassSVM()], expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_save_load_round_trip_continues_as_before(tmp_path):
    import fastsgd

    X = data(2)
    for average in (False, 5):
        model = SGDOneClassSVM(random_state=0, average=average).fit(X)
        path = tmp_path / ("m%d.fsgd" % average)
        fastsgd.save(model, path)
        loaded = fastsgd.load(path)
        assert type(loaded) is SGDOneClassSVM
        np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))
        loaded.partial_fit(X)
        model.partial_fit(X)
        np.testing.assert_array_equal(loaded.coef_, model.coef_)
        np.testing.assert_array_equal(loaded.offset_, model.offset_)
