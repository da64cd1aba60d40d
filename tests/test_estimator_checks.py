"""scikit-learn's estimator checks.

Only the two sample-weight equivalence checks may fail: like scikit-learn's own
SGD estimators, a stochastic fit with weight k is not the same as a fit on the
row repeated k times (different number of steps, different step sizes).  The
expectation version of that property is tested in test_statistical.py.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from fastsgd import SGDClassifier, SGDRegressor

from helpers import expected_failed_checks


@parametrize_with_checks(
    [SGDClassifier(), SGDRegressor()],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
