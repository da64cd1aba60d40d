"""fastsgd.save / fastsgd.load (issue 19, item 4): every fitted attribute
round-trips bit for bit, a loaded model predicts and continues with
partial_fit exactly as the original (and as a pickled copy), nothing is
unpickled, and bad files give a clear ValueError naming the file."""

import json
import os
import pickle
import zipfile

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import fastsgd
from fastsgd import SGDClassifier, SGDRegressor
from fastsgd._persist import FORMAT_VERSION

from helpers import make_data

CASES = [
    ("bin", SGDClassifier, dict(loss="log_loss")),
    ("ovr3", SGDClassifier, dict(average=5, class_weight="balanced")),
    ("ovr3", SGDClassifier, dict(optimizer="adam", batch_size=8, loss="log_loss")),
    ("ovr3", SGDClassifier, dict(multi_class="multinomial", loss="log_loss", batch_size=16)),
    ("reg", SGDRegressor, dict()),
    ("reg", SGDRegressor, dict(optimizer="rmsprop", batch_size=4, average=True)),
]


def assert_same_state(a, b):
    assert type(a) is type(b)
    assert a.get_params() == b.get_params()
    va, vb = vars(a), vars(b)
    assert va.keys() == vb.keys()
    for k in va:
        x, y = va[k], vb[k]
        if isinstance(x, dict):
            assert x.keys() == y.keys()
            for kk in x:
                np.testing.assert_array_equal(x[kk], y[kk])
        elif isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape, k
            np.testing.assert_array_equal(x, y)
        else:
            assert x == y and type(x) is type(y), k


@pytest.mark.parametrize("kind, cls, params", CASES)
def test_round_trip_predicts_and_continues_like_the_original(tmp_path, kind, cls, params):
    X, y = make_data(kind, n=120, d=4, seed=3)
    est = cls(random_state=0, max_iter=5, tol=None, **params).fit(X, y)
    path = tmp_path / "model.fsgd"
    assert fastsgd.save(est, path) == str(path)
    loaded = fastsgd.load(path)
    assert_same_state(est, loaded)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    np.testing.assert_array_equal(
        loaded.decision_function(X) if hasattr(est, "classes_") else loaded.predict(X),
        est.decision_function(X) if hasattr(est, "classes_") else est.predict(X),
    )
    # partial_fit continues exactly as the original and as a pickled copy
    pickled = pickle.loads(pickle.dumps(est))
    for model in (est, loaded, pickled):
        model.partial_fit(X, y)
    np.testing.assert_array_equal(loaded.coef_, est.coef_)
    np.testing.assert_array_equal(pickled.coef_, est.coef_)


def test_string_labels_feature_names_and_unfitted(tmp_path):
    X, y = make_data("ovr3", n=90, d=3, seed=1)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    labels = np.array(["cat", "dog", "emu"])[np.searchsorted(np.unique(y), y)]
    est = SGDClassifier(random_state=0).fit(frame, labels)
    loaded = fastsgd.load(fastsgd.save(est, tmp_path / "m.fsgd"))
    assert loaded.feature_names_in_.dtype == object
    assert list(loaded.feature_names_in_) == ["a", "b", "c"]
    np.testing.assert_array_equal(loaded.classes_, est.classes_)
    np.testing.assert_array_equal(loaded.predict(frame), est.predict(frame))
    # an unfitted estimator keeps its parameters, and stays unfitted
    raw = SGDRegressor(alpha=0.5, learning_rate="cosine", eta0=0.3)
    back = fastsgd.load(fastsgd.save(raw, tmp_path / "raw.fsgd"))
    assert back.get_params() == raw.get_params()
    assert not hasattr(back, "coef_")


def test_sparse_fit_and_float_params(tmp_path):
    X, y = make_data("bin", n=80, d=6, seed=2)
    first = int(np.unique(y)[0])
    est = SGDClassifier(
        random_state=0, clip_norm=2.5, tol=None, max_iter=3, class_weight={first: 3.0}
    )
    est.fit(sp.csr_matrix(X), y)
    loaded = fastsgd.load(fastsgd.save(est, tmp_path / "m.fsgd"))
    np.testing.assert_array_equal(loaded.predict(sp.csr_matrix(X)), est.predict(X))
    assert loaded.tol is None and loaded.clip_norm == 2.5
    # dict keys keep their type (JSON's keys are strings)
    assert loaded.class_weight == {first: 3.0}
    assert type(next(iter(loaded.class_weight))) is int


def test_the_file_holds_no_pickle(tmp_path):
    X, y = make_data("ovr3", n=60, d=3, seed=4)
    path = fastsgd.save(SGDClassifier(random_state=0).fit(X, y), tmp_path / "m.fsgd")
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            data = z.read(name)
            # .npy entries of object dtype would need pickle; none is there
            assert b"'descr': '|O'" not in data
    with np.load(path, allow_pickle=False) as z:
        header = json.loads(bytes(z["__header__"]))
    assert header["format"] == "fastsgd-model"
    assert header["format_version"] == FORMAT_VERSION
    assert header["class"] == "SGDClassifier"
    assert header["fastsgd_version"] == fastsgd.__version__


def _rewrite_header(path, change):
    with np.load(path, allow_pickle=False) as z:
        entries = {k: z[k] for k in z.files}
    header = json.loads(bytes(entries["__header__"]))
    change(header)
    entries["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **entries)


def test_bad_files_give_clear_errors(tmp_path):
    X, y = make_data("bin", n=60, d=3, seed=5)
    good = fastsgd.save(SGDClassifier(random_state=0).fit(X, y), tmp_path / "good.fsgd")
    raw = open(good, "rb").read()

    truncated = tmp_path / "truncated.fsgd"
    truncated.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="truncated.fsgd.*corrupted or truncated"):
        fastsgd.load(truncated)

    corrupted = tmp_path / "corrupted.fsgd"
    flipped = bytearray(raw)
    # a byte inside the first stored array, not the ZIP directory: CRC-32 fails
    flipped[len(raw) // 3] ^= 0xFF
    corrupted.write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match="corrupted.fsgd"):
        fastsgd.load(corrupted)

    newer = tmp_path / "newer.fsgd"
    newer.write_bytes(raw)
    _rewrite_header(newer, lambda h: h.update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(
        ValueError, match="newer.fsgd has model format version %d.*upgrade" % (FORMAT_VERSION + 1)
    ):
        fastsgd.load(newer)

    other = tmp_path / "other.npz"
    np.savez(other, a=np.arange(3))
    with pytest.raises(ValueError, match="other.npz is not a fastsgd model file"):
        fastsgd.load(other)

    strange = tmp_path / "strange.fsgd"
    strange.write_bytes(raw)
    _rewrite_header(strange, lambda h: h.update({"class": "os.system"}))
    with pytest.raises(ValueError, match="unknown estimator class 'os.system'"):
        fastsgd.load(strange)

    text = tmp_path / "text.fsgd"
    text.write_text("not a model")
    with pytest.raises(ValueError, match="text.fsgd"):
        fastsgd.load(text)

    with pytest.raises(FileNotFoundError):
        fastsgd.load(tmp_path / "missing.fsgd")


def test_unsavable_values_are_refused_and_leave_no_file(tmp_path):
    X, y = make_data("bin", n=60, d=3, seed=6)
    est = SGDClassifier(random_state=np.random.RandomState(0)).fit(X, y)
    path = tmp_path / "m.fsgd"
    with pytest.raises(TypeError, match="parameter random_state.*RandomState"):
        fastsgd.save(est, path)
    assert os.listdir(tmp_path) == []
    with pytest.raises(TypeError, match="fastsgd's SGDClassifier, SGDRegressor and SGDOneClassSVM"):
        fastsgd.save(object(), path)


def test_save_replaces_atomically(tmp_path):
    X, y = make_data("bin", n=60, d=3, seed=7)
    path = tmp_path / "m.fsgd"
    first = SGDClassifier(random_state=0).fit(X, y)
    fastsgd.save(first, path)
    # a save that fails half-way leaves the previous file as it was
    broken = SGDClassifier(random_state=0).fit(X, y)
    broken.some_object_ = np.array([object()], dtype=object)
    before = path.read_bytes()
    with pytest.raises(TypeError, match="attribute some_object_"):
        fastsgd.save(broken, path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.fsgd"]  # no temporary file left
