"""Reading and writing the data files of the command line.

DATA is a file, a glob or a directory; the format follows the extension:
Parquet (``.parquet``, ``.pq``) and CSV (``.csv``) through pyarrow (the
``fastsgd[io]`` extra), svmlight / libsvm (``.svm``, ``.svmlight``,
``.libsvm``; sparse, the target in the file) through scikit-learn, and NumPy
``.npy`` (memory-mapped; the target in a second ``.npy`` given as
``--target``).  Files of a glob or directory are read in name order and
stacked.  Parquet and CSV are read one record batch at a time into a binary
cache file that the fit memory-maps (``_convert``), so their size is bounded
by the disk, not by RAM; svmlight files are read into memory; a single
``.npy`` stays memory-mapped.

Every error names the file, and where it applies the column and row.
"""

import glob
import os
import tempfile

import numpy as np
import scipy.sparse as sp

TABLE_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
SVMLIGHT_SUFFIXES = {".svm", ".svmlight", ".libsvm"}
NPY_SUFFIXES = {".npy"}
KNOWN = set(TABLE_SUFFIXES) | SVMLIGHT_SUFFIXES | NPY_SUFFIXES


def _suffix(path):
    return os.path.splitext(path)[1].lower()


def expand(data):
    """The files DATA names, sorted; ValueError when there are none."""
    if os.path.isdir(data):
        paths = sorted(
            os.path.join(data, name)
            for name in os.listdir(data)
            if _suffix(name) in KNOWN and not name.startswith(".")
        )
    elif glob.has_magic(data):
        paths = sorted(glob.glob(data))
    else:
        if not os.path.exists(data):
            raise FileNotFoundError("%s: no such file or directory" % data)
        paths = [data]
    if not paths:
        raise ValueError("%s: no data files (%s)" % (data, ", ".join(sorted(KNOWN))))
    kinds = {_kind(p) for p in paths}
    if len(kinds) > 1:
        raise ValueError("%s: files of different formats (%s)" % (data, ", ".join(sorted(kinds))))
    return paths


def _kind(path):
    s = _suffix(path)
    if s in TABLE_SUFFIXES:
        return TABLE_SUFFIXES[s]
    if s in SVMLIGHT_SUFFIXES:
        return "svmlight"
    if s in NPY_SUFFIXES:
        return "npy"
    raise ValueError("%s: unknown data format %r (known: %s)" % (path, s, ", ".join(sorted(KNOWN))))


def _pyarrow():
    try:
        import pyarrow  # noqa: F401
        import pyarrow.csv
        import pyarrow.parquet
    except ImportError as e:
        raise ImportError(
            "reading Parquet and CSV needs pyarrow: pip install 'fastsgd[io]' (or pyarrow)"
        ) from e
    return pyarrow


# rows per record batch read from Parquet or CSV: the unit of the memory bound
BATCH_ROWS = 16384


def _batches(path, kind):
    """The record batches of a Parquet or CSV file, at most about BATCH_ROWS
    rows each, read one at a time; ValueError naming the file for what
    pyarrow cannot read (ragged rows, a value of the wrong type in a later
    block, a broken file)."""
    pa = _pyarrow()
    if os.path.getsize(path) == 0:
        raise ValueError("%s: empty file" % path)
    try:
        if kind == "parquet":
            batches = pa.parquet.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS)
        else:
            # blocks of 4 MiB of text; the column types come from the first block
            batches = pa.csv.open_csv(path, read_options=pa.csv.ReadOptions(block_size=1 << 22))
        yield from batches
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OSError) as e:
        raise ValueError("%s: %s" % (path, str(e).strip())) from e


def _column_array(batch, name, path, offset, dtype):
    """A feature column as a NumPy array; ValueError naming the file, column
    and row for a non-numeric column, a missing value, NaN or infinity."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = batch.column(name)
    t = col.type
    if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)):
        raise ValueError(
            "%s: column %r holds %s values; fastsgd needs numeric features (encode or drop it)"
            % (path, name, t)
        )
    if col.null_count:
        row = int(pc.index(pc.is_null(col), True).as_py())
        raise ValueError("%s: column %r has a missing value at row %d" % (path, name, offset + row))
    values = col.to_numpy(zero_copy_only=False).astype(dtype, copy=False)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            "%s: column %r holds %s at row %d" % (path, name, float(values[row]), offset + row)
        )
    return values


def read(data, target=None, dtype=np.float64, features=None, cache_dir=None):
    """X (and y when ``target`` is given) from DATA.

    Returns (X, y, feature_names): X a C-contiguous ``dtype`` array (CSR for
    svmlight), y a NumPy array or None, feature_names a list of str or None.
    ``features`` (names from a fitted model) fixes the columns and their order.
    Parquet and CSV are streamed batch by batch: with ``cache_dir`` X is a
    memory map of a binary cache written there (memory bounded by a batch),
    without it an array in memory.
    """
    paths = expand(data)
    kind = _kind(paths[0])
    dtype = np.dtype(dtype)
    if kind == "svmlight":
        from sklearn.datasets import load_svmlight_files

        n_features = len(features) if features is not None else None
        try:
            parts = load_svmlight_files(paths, dtype=dtype, n_features=n_features)
        except ValueError as e:
            raise ValueError("%s: %s" % (data, e)) from e
        Xs, ys = parts[0::2], parts[1::2]
        X = sp.vstack(Xs, format="csr") if len(Xs) > 1 else Xs[0]
        y = np.concatenate(ys)  # svmlight files always carry their targets
        if X.nnz and not np.all(np.isfinite(X.data)):
            raise ValueError("%s: NaN or infinity among the values" % data)
        return X, y, None
    if kind == "npy":
        arrays = []
        for p in paths:
            try:
                a = np.load(p, mmap_mode="r", allow_pickle=False)
            except ValueError as e:
                raise ValueError("%s: %s" % (p, e)) from e
            if a.ndim != 2:
                raise ValueError("%s: a 2-d array is needed, got shape %s" % (p, a.shape))
            arrays.append(a)
        X = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
        if X.dtype != dtype:
            X = X.astype(dtype)
        y = None
        if target is not None:
            if _suffix(target) != ".npy" or not os.path.exists(target):
                raise ValueError(
                    "%s: for .npy data, --target names a .npy file of the targets; got %r"
                    % (data, target)
                )
            y = np.load(target, allow_pickle=False)
            if y.shape != (X.shape[0],):
                raise ValueError(
                    "%s: %d targets for %d rows of %s" % (target, y.shape[0], X.shape[0], data)
                )
        return X, y, None

    if cache_dir is None:
        with tempfile.TemporaryDirectory(prefix="fastsgd-cache-") as tmp:
            X, y, names = _convert(paths, kind, target, dtype, features, tmp)
            return np.array(X), y, names  # the cache goes with the directory
    return _convert(paths, kind, target, dtype, features, cache_dir)


def _convert(paths, kind, target, dtype, features, cache_dir):
    """Stream the Parquet / CSV files batch by batch into a binary cache in
    cache_dir (X.bin: the rows of X in ``dtype``, C order) and return X as a
    read-only memory map of it, with y and the feature names.  Memory stays
    bounded by one record batch, whatever the files' size; the cache takes
    the size of X on disk (as Vowpal Wabbit's cache does)."""
    x_path = os.path.join(cache_dir, "X.bin")
    ys, names, offset = [], None, 0
    with open(x_path, "wb") as out:
        for p in paths:
            rows_here = 0
            for batch in _batches(p, kind):
                cols = list(batch.schema.names)
                if target is not None and target not in cols:
                    raise ValueError(
                        "%s: no target column %r (columns: %s)" % (p, target, ", ".join(cols))
                    )
                these = [c for c in cols if c != target]
                if features is not None:
                    missing = [c for c in features if c not in cols]
                    if missing:
                        raise ValueError(
                            "%s: the model's feature column %r is missing" % (p, missing[0])
                        )
                    these = list(features)
                if names is None:
                    names = these
                    if not names:
                        raise ValueError("%s: no feature columns" % p)
                elif these != names:
                    raise ValueError(
                        "%s: columns %s differ from the first file's %s" % (p, these, names)
                    )
                if batch.num_rows == 0:
                    continue
                block = np.column_stack(
                    [_column_array(batch, c, p, offset, dtype) for c in names]
                ).astype(dtype, copy=False)
                out.write(np.ascontiguousarray(block).tobytes())
                if target is not None:
                    col = batch.column(target)
                    if col.null_count:
                        raise ValueError(
                            "%s: the target column %r has missing values" % (p, target)
                        )
                    ys.append(col.to_numpy(zero_copy_only=False))
                offset += batch.num_rows
                rows_here += batch.num_rows
            if rows_here == 0:
                raise ValueError("%s: no rows" % p)
    X = np.memmap(x_path, dtype=dtype, mode="r", shape=(offset, len(names)))
    y = None if target is None else (ys[0] if len(ys) == 1 else np.concatenate(ys))
    return X, y, names


def write_table(path, columns):
    """Write named 1-d arrays to path (.csv, .parquet or .npy for one
    column), through a temporary file renamed over it."""
    from fastsgd._persist import replace_atomically

    s = _suffix(path)

    def write(tmp):
        if s in (".csv", ".parquet", ".pq"):
            pa = _pyarrow()
            table = pa.table({name: np.asarray(values) for name, values in columns.items()})
            if s == ".csv":
                pa.csv.write_csv(table, tmp)
            else:
                pa.parquet.write_table(table, tmp)
        elif s == ".npy":
            if len(columns) != 1:
                raise ValueError("%s: .npy holds one column; use .csv or .parquet" % path)
            np.save(tmp, next(iter(columns.values())), allow_pickle=False)
        else:
            raise ValueError("%s: output format %r unknown (.csv, .parquet, .npy)" % (path, s))

    replace_atomically(path, s, write)


def fit_files(estimator, data, target, *, dtype="float64", cache_dir=None, fit=None):
    """Fit ``estimator`` on data files without holding them in memory.

    Parameters
    ----------
    estimator : SGDClassifier or SGDRegressor
    data : str
        A file, a glob or a directory of Parquet, CSV, svmlight or .npy files.
    target : str
        The target column (.npy data: a .npy file of the targets).
    dtype : {"float64", "float32"}
        The dtype X is fitted in.
    cache_dir : str, optional
        Where Parquet / CSV rows are cached as a binary file that the fit
        memory-maps (kept for the caller); default: a temporary directory
        removed after the fit.
    fit : callable, optional
        ``fit(estimator, X, y)`` instead of ``estimator.fit(X, y)``, returning
        the fitted estimator (the command line builds and times its own).

    Returns the fitted estimator.  Table files keep their column names in
    ``feature_names_in_``; ``predict_files`` checks them.
    """
    fit = fit or (lambda est, X, y: est.fit(X, y))
    with _cache(cache_dir) as cache:
        X, y, names = read(data, target, dtype=dtype, cache_dir=cache)
        if y is None:
            raise ValueError("%s: no target" % data)
        estimator = fit(estimator, X, y)
        if names is not None:
            # fitted on the array, so that the memory map is never copied; the
            # names are the columns' (what a DataFrame fit would record)
            estimator.feature_names_in_ = np.asarray(names, dtype=object)
        del X
    return estimator


def _cache(cache_dir):
    import contextlib

    if cache_dir is None:
        return tempfile.TemporaryDirectory(prefix="fastsgd-cache-")
    os.makedirs(cache_dir, exist_ok=True)
    return contextlib.nullcontext(cache_dir)


def read_for_model(model, data, target=None, dtype=None, cache_dir=None):
    """(X, y) of data files in a fitted model's columns and dtype, X possibly a
    memory map into cache_dir."""
    names = getattr(model, "feature_names_in_", None)
    names = list(names) if names is not None else None
    X, y, _ = read(
        data, target, dtype=dtype or model.coef_.dtype, features=names, cache_dir=cache_dir
    )
    return X, y
