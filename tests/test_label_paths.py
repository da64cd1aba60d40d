"""The O(n) label paths of fit (encoding, class detection, uniform class
weights) agree with the general ones: scikit-learn's np.unique, searchsorted
and compute_class_weight."""

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from fastsgd import SGDClassifier
from fastsgd._sgd import _encode, _unique_labels

LABELS = [[0, 1], [0, 1, 2, 3], [0, 2, 5], [-3, 0, 4], [7, 8]]
CASES = [(dtype, labels) for dtype in (np.int8, np.int32, np.int64) for labels in LABELS]
CASES += [(np.uint16, labels) for labels in LABELS if min(labels) >= 0] + [(bool, [0, 1])]


@pytest.mark.parametrize("dtype, labels", CASES)
def test_encode_and_classes_match_numpy(dtype, labels):
    rng = np.random.default_rng(0)
    y = np.asarray(labels, dtype=dtype)[rng.integers(0, len(labels), 500)]
    y_before = y.copy()
    classes = _unique_labels(y)
    np.testing.assert_array_equal(classes, np.unique(y))
    codes = _encode(y, classes)
    assert codes.dtype == np.int32
    np.testing.assert_array_equal(codes, np.searchsorted(np.unique(y), y))
    np.testing.assert_array_equal(y, y_before)  # never written to
    codes[:] = -7  # a copy, not a view of y
    np.testing.assert_array_equal(y, y_before)


def test_encode_rejects_labels_outside_classes():
    classes = np.array([0, 1, 2])
    with pytest.raises(ValueError, match="not in classes"):
        _encode(np.array([0, 1, 3]), classes)
    with pytest.raises(ValueError, match="not in classes"):
        _encode(np.array([-1, 1, 2]), classes)


def test_uniform_class_weight_and_target_checks():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 3))
    y = rng.integers(0, 3, 200)
    est = SGDClassifier(max_iter=2, tol=None, random_state=0).fit(X, y)
    np.testing.assert_array_equal(
        est._expanded_class_weight, compute_class_weight(None, classes=np.arange(3), y=y)
    )
    # a continuous target still gets scikit-learn's error
    with pytest.raises(ValueError, match="Unknown label type"):
        SGDClassifier(max_iter=2).fit(X, rng.standard_normal(200))
