"""Model files that never unpickle: ``fastsgd.save`` and ``fastsgd.load``.

A model file is a ZIP archive written by ``numpy.savez``: one ``.npy`` entry
per fitted array, and ``__header__``, the UTF-8 bytes of a JSON document with
the format's name and version, the fastsgd version that wrote it, the
estimator's class and parameters, its scalar fitted attributes and which
array holds which attribute.  Loading reads it with ``allow_pickle=False``:
no code runs from the file, and ZIP's CRC-32 of every entry catches a
corrupted or truncated file.  Files are written to a temporary file in the
target's directory and renamed over it, so a model on disk is never half
written.  Pickle keeps working as for any scikit-learn estimator.
"""

import json
import math
import os
import tempfile
import zipfile

import numpy as np

FORMAT_NAME = "fastsgd-model"
FORMAT_VERSION = 1
_HEADER = "__header__"


def _classes():
    from fastsgd._oneclass import SGDOneClassSVM
    from fastsgd._sgd import SGDClassifier, SGDRegressor

    return {cls.__name__: cls for cls in (SGDClassifier, SGDRegressor, SGDOneClassSVM)}


# ----------------------------------------------------------------------
# JSON with the types a parameter or a scalar attribute may hold
def _encode_value(value, where):
    """A JSON value for a parameter or scalar attribute; TypeError names
    ``where`` when the value cannot be stored without pickle."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else {"float": repr(v)}
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, dict):
        # class_weight: keys may be ints, floats or strings; JSON keys are strings
        return {
            "dict": [[_encode_value(k, where), _encode_value(v, where)] for k, v in value.items()]
        }
    if isinstance(value, (list, tuple)):
        return {"list": [_encode_value(v, where) for v in value]}
    raise TypeError(
        "%s: a value of type %s cannot be saved without pickle; use pickle (or joblib) "
        "for this model, or give %s a plain value" % (where, type(value).__name__, where)
    )


def _decode_value(value):
    if isinstance(value, dict):
        if "float" in value:
            return float(value["float"])
        if "dict" in value:
            return {_decode_value(k): _decode_value(v) for k, v in value["dict"]}
        if "list" in value:
            return [_decode_value(v) for v in value["list"]]
        raise ValueError("unknown value %r in the header" % (value,))
    return value


def _storable_array(a, where):
    """(array to store, note to restore it): object arrays of strings (pandas
    column names, labels) are stored as fixed-width unicode."""
    a = np.asarray(a)
    if a.dtype.kind != "O":
        return a, None
    if all(isinstance(v, str) for v in a.ravel()):
        return a.astype(str), "object"
    raise TypeError(
        "%s: an array of Python objects cannot be saved without pickle; use labels of "
        "one numeric or string type, or pickle (joblib) for this model" % where
    )


# ----------------------------------------------------------------------
def save(model, path):
    """Write a fitted (or unfitted) fastsgd estimator to ``path``.

    The file holds arrays and a JSON header only (module docstring); nothing
    in it is unpickled by :func:`load`.  It is written to a temporary file
    next to ``path`` and renamed over it, so an interrupted save leaves any
    previous file at ``path`` intact.

    Parameters
    ----------
    model : SGDClassifier, SGDRegressor or SGDOneClassSVM
    path : str or os.PathLike
        The file to write (any name; the CLI uses ``.fsgd``).
    """
    classes = _classes()
    name = type(model).__name__
    if classes.get(name) is not type(model):
        raise TypeError(
            "fastsgd.save writes fastsgd's SGDClassifier, SGDRegressor and SGDOneClassSVM; "
            "got %s" % name
        )
    from fastsgd import __version__

    params = model.get_params(deep=False)
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "fastsgd_version": __version__,
        "class": name,
        "params": {k: _encode_value(v, "parameter %s" % k) for k, v in params.items()},
        "scalars": {},
        "arrays": {},
    }
    arrays = {}

    def store(full, value):
        """An attribute (or an entry of a dict attribute) into the file."""
        if isinstance(value, np.ndarray):
            stored, note = _storable_array(value, "attribute " + full)
            entry = "a%d" % len(arrays)
            arrays[entry] = stored
            header["arrays"][full] = {"entry": entry, "restore": note}
        else:
            header["scalars"][full] = _encode_value(value, "attribute " + full)

    # state the estimator rebuilds on every fit and partial_fit
    # (SGDOneClassSVM's scikit-learn loss object) is not written
    unsaved = getattr(type(model), "_rebuilt_attributes", ())
    for attr, value in vars(model).items():
        if attr in params or attr in unsaved:
            continue
        if isinstance(value, dict):  # optimizer_state_: arrays and scalars
            for key, item in value.items():
                store("%s.%s" % (attr, key), item)
        else:
            store(attr, value)
    blob = np.frombuffer(json.dumps(header, allow_nan=False).encode("utf-8"), dtype=np.uint8)

    def write(tmp):
        with open(tmp, "wb") as f:
            np.savez(f, **{_HEADER: blob}, **arrays)
            f.flush()
            os.fsync(f.fileno())

    path = os.fspath(path)
    replace_atomically(path, ".tmp", write)
    return path


def replace_atomically(path, suffix, write):
    """Call write(tmp) on a temporary file in path's directory, then rename it
    over path; on any failure remove it and leave path as it was."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".fastsgd-", suffix=suffix, dir=directory)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def load(path):
    """Read a model written by :func:`save`.

    Raises ValueError naming the file when it is not a fastsgd model file,
    is corrupted or truncated, or comes from a newer format version than this
    fastsgd reads.  Nothing in the file is unpickled.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"PK\x03\x04":
        # np.load would try other formats (and refuse a pickle); say what it is not
        raise ValueError("%s is not a fastsgd model file (not a ZIP archive)" % path)
    try:
        with np.load(path, allow_pickle=False) as z:
            if _HEADER not in z.files:
                raise ValueError("%s is not a fastsgd model file (no header)" % path)
            header = json.loads(bytes(z[_HEADER]).decode("utf-8"))
            if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
                raise ValueError("%s is not a fastsgd model file" % path)
            version = header.get("format_version")
            if not isinstance(version, int) or version > FORMAT_VERSION:
                raise ValueError(
                    "%s has model format version %r, written by fastsgd %s; this fastsgd "
                    "reads versions up to %d: upgrade fastsgd to load it"
                    % (path, version, header.get("fastsgd_version"), FORMAT_VERSION)
                )
            arrays = {attr: z[spec["entry"]] for attr, spec in header["arrays"].items()}
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, UnicodeDecodeError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise ValueError(
            "%s is not a readable fastsgd model file (corrupted or truncated?): %s" % (path, e)
        ) from e
    except json.JSONDecodeError as e:
        raise ValueError("%s: the model header is not valid JSON: %s" % (path, e)) from e

    classes = _classes()
    cls = classes.get(header.get("class"))
    if cls is None:
        raise ValueError("%s holds an unknown estimator class %r" % (path, header.get("class")))
    model = cls(**{k: _decode_value(v) for k, v in header["params"].items()})
    state = {}
    for full, value in header["scalars"].items():
        _assign(state, full, _decode_value(value))
    for full, a in arrays.items():
        if header["arrays"][full]["restore"] == "object":
            a = a.astype(object)
        _assign(state, full, a)
    for attr, value in state.items():
        setattr(model, attr, value)
    return model


def _assign(state, full, value):
    if "." in full:
        attr, key = full.split(".", 1)
        state.setdefault(attr, {})[key] = value
    else:
        state[full] = value
