"""Reading and writing the data files of ``fit_files`` and the command line.

DATA is a file, a glob or a directory; the format follows the extension:
Parquet (``.parquet``, ``.pq``) and CSV (``.csv``) through pyarrow (the
``fastsgd[io]`` extra), svmlight / libsvm (``.svm``, ``.svmlight``,
``.libsvm``; sparse, the target in the file) through scikit-learn, and NumPy
``.npy`` (memory-mapped; the target in a second ``.npy`` given as
``--target``).  Files of a glob or directory are read in name order.

A fit streams Parquet, CSV and svmlight files every epoch (``FileSource``, a
``_stream.RowSource``: a Parquet row group, a CSV or svmlight file at a
time), or, with a cache directory, reads them once a record batch at a time
into a binary file that the fit memory-maps (``_convert``).  Prediction and
evaluation read them with ``read``: into memory, or into such a cache.

Every error names the file, and where it applies the column and row.
"""

import glob
import os
import tempfile

import numpy as np
import scipy.sparse as sp

from . import _stream

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


# rows per record batch of Parquet (and of an svmlight file) handed on at a
# time; a Parquet row group is decoded whole either way
BATCH_ROWS = 16384


def _release_arrow_memory(pa):
    """Hands the memory Arrow's allocator keeps for reuse (mimalloc or
    jemalloc) back to the system: without it a pass over a file leaves about
    the file's decoded size resident."""
    pa.default_memory_pool().release_unused()


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
            # a row group at a time (Parquet decompresses a row group's
            # column chunks whole), its memory handed back after it
            f = pa.parquet.ParquetFile(path)
            for g in range(f.num_row_groups):
                yield from f.read_row_group(g).to_batches(max_chunksize=BATCH_ROWS)
                _release_arrow_memory(pa)
        else:
            # blocks of 4 MiB of text; the column types come from the first block
            for batch in pa.csv.open_csv(path, read_options=pa.csv.ReadOptions(block_size=1 << 22)):
                yield batch
                _release_arrow_memory(pa)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OSError) as e:
        raise ValueError("%s: %s" % (path, str(e).strip())) from e


def _column_values(batch, name, path, offset):
    """A feature column of a record batch or table as a NumPy array (no copy
    where Arrow allows it); ValueError naming the file, column and row for a
    non-numeric column or a missing value."""
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
    return col.to_numpy(zero_copy_only=False)


def _feature_rows(batch, names, path, offset, dtype):
    """The feature columns of a record batch or table as a C-order
    (rows, features) array of ``dtype``; ValueError naming the file, column
    and row for a non-numeric column, a missing value, NaN or infinity."""
    X = np.empty((batch.num_rows, len(names)), dtype=dtype)
    for j, name in enumerate(names):
        X[:, j] = _column_values(batch, name, path, offset)
    # one pass over X: NaN or infinity anywhere makes the sum non-finite (so
    # may an overflow of the sum: the columns are then looked at one by one)
    if not np.isfinite(X.sum()):
        for j, name in enumerate(names):
            bad = ~np.isfinite(X[:, j])
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise ValueError(
                    "%s: column %r holds %s at row %d"
                    % (path, name, float(X[row, j]), offset + row)
                )
    return X


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
                out.write(_feature_rows(batch, names, p, offset, dtype).tobytes())
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


def fit_files(
    estimator,
    data,
    target,
    *,
    dtype="float64",
    cache_dir=None,
    window_bytes=_stream.WINDOW_BYTES,
    read_ahead=_stream.READ_AHEAD,
    fit=None,
):
    """Fit ``estimator`` on data files without holding them in memory.

    Parameters
    ----------
    estimator : SGDClassifier or SGDRegressor
    data : str
        A file, a glob or a directory of Parquet, CSV, svmlight or .npy files.
    target : str
        The target column (.npy data: a .npy file of the targets; svmlight
        files carry their own).
    dtype : {"float64", "float32"}
        The dtype X is fitted in.
    cache_dir : str, optional
        Without it (the default) Parquet, CSV and svmlight files are read
        again every epoch, a window of rows at a time (docs/streams.md).  With
        it, the first pass writes the rows as a binary file there (kept for
        the caller) and the fit memory-maps it, as Vowpal Wabbit's cache does.
    window_bytes, read_ahead : int
        Streams: bytes of rows per window, and windows read ahead on a
        background thread while the engine trains.
    fit : callable, optional
        ``fit(estimator, X, y)`` instead of ``estimator.fit(X, y)``, returning
        the fitted estimator; X is then a data source (y None) or an array.

    Returns the fitted estimator.  Table files keep their column names in
    ``feature_names_in_``; ``predict_files`` checks them.
    """
    fit = fit or (lambda est, X, y: est.fit(X, y))
    kind = _kind(expand(data)[0])
    if kind != "npy" and cache_dir is None:
        source = FileSource(
            data, target, dtype=dtype, window_bytes=window_bytes, read_ahead=read_ahead
        )
        estimator = fit(estimator, source, None)
        if source.names is not None:
            estimator.feature_names_in_ = np.asarray(source.names, dtype=object)
        return estimator
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


def _table_names(path, kind, target, features):
    """The feature columns of a Parquet or CSV file (all but the target, or
    the model's ``features``), checked against the file's columns."""
    pa = _pyarrow()
    if os.path.getsize(path) == 0:
        raise ValueError("%s: empty file" % path)
    try:
        if kind == "parquet":
            cols = list(pa.parquet.ParquetFile(path).schema_arrow.names)
        else:
            with pa.csv.open_csv(path, read_options=pa.csv.ReadOptions(block_size=1 << 16)) as r:
                cols = list(r.schema.names)
    except (pa.ArrowInvalid, OSError) as e:
        raise ValueError("%s: %s" % (path, str(e).strip())) from e
    if target is not None and target not in cols:
        raise ValueError("%s: no target column %r (columns: %s)" % (path, target, ", ".join(cols)))
    if features is not None:
        missing = [c for c in features if c not in cols]
        if missing:
            raise ValueError("%s: the model's feature column %r is missing" % (path, missing[0]))
        return list(features)
    names = [c for c in cols if c != target]
    if not names:
        raise ValueError("%s: no feature columns" % path)
    return names


def _target_array(batch, target, path, offset, regression):
    col = batch.column(target)
    if col.null_count:
        import pyarrow.compute as pc

        row = int(pc.index(pc.is_null(col), True).as_py())
        raise ValueError(
            "%s: the target column %r has a missing value at row %d" % (path, target, offset + row)
        )
    y = col.to_numpy(zero_copy_only=False)
    if regression:
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError) as e:
            raise ValueError("%s: the target column %r is not numeric" % (path, target)) from e
        bad = ~np.isfinite(y)
        if bad.any():
            raise ValueError(
                "%s: the target column %r holds %s at row %d"
                % (path, target, y[bad][0], offset + int(np.flatnonzero(bad)[0]))
            )
    return y


class FileSource(_stream.RowSource):
    """Parquet, CSV or svmlight files read again every epoch, a chunk at a
    time: a Parquet row group (decoded whole), a CSV
    file (in blocks of 4 MiB of text), an svmlight file (whole).  Errors
    name the file, the column and the row."""

    def __init__(self, data, target, *, dtype="float64", features=None, **kw):
        super().__init__(dtype=dtype, **kw)
        self.paths = expand(data)
        self.kind = _kind(self.paths[0])
        self.target = target
        self.is_csr = self.kind == "svmlight"
        if self.kind == "npy":
            raise ValueError("%s: .npy data is memory-mapped, not streamed" % data)
        if self.is_csr:
            self.names = None
            self.n_features = len(features) if features is not None else None
            self._chunks = [(i, None) for i in range(len(self.paths))]
            self.n_rows = None
            if self.n_features is None:
                # svmlight files do not say how many features they have: the
                # largest index over all files (one pass)
                from sklearn.datasets import load_svmlight_files

                self.n_features = max(X.shape[1] for X in load_svmlight_files(self.paths)[0::2])
            self.row_values = 1.0
        else:
            if target is None:
                raise ValueError("%s: no target column given" % data)
            self.names = _table_names(self.paths[0], self.kind, target, features)
            for p in self.paths[1:]:
                if _table_names(p, self.kind, target, features) != self.names:
                    raise ValueError(
                        "%s: columns differ from the first file's %s" % (p, self.names)
                    )
            self.n_features = len(self.names)
            self.row_values = float(self.n_features)
            if self.kind == "parquet":
                pa = _pyarrow()
                self._chunks = []
                self.n_rows = 0
                for i, p in enumerate(self.paths):
                    meta = pa.parquet.ParquetFile(p).metadata
                    if meta.num_rows == 0:
                        raise ValueError("%s: no rows" % p)
                    for g in range(meta.num_row_groups):
                        self._chunks.append((i, g))
                    self.n_rows += meta.num_rows
            else:
                self._chunks = [(i, None) for i in range(len(self.paths))]
                self.n_rows = None

    def n_chunks(self):
        return len(self._chunks)

    def target_sample(self):
        """The targets of the first chunk's first block (to tell the task)."""
        for _, y, _ in self.read_chunk(0, 0):
            return y
        raise ValueError("%s: no rows" % self.paths[0])

    def read_chunk(self, c, start):
        i, g = self._chunks[c]
        path = self.paths[i]
        if self.is_csr:
            yield from self._svmlight(path, start)
            return
        pa = _pyarrow()
        columns = self.names + [self.target]
        offset = start  # row of the data, counted from the first file's start, for messages
        if self.kind == "parquet":
            # a row group is decoded whole (Parquet's unit of compression):
            # one block, one transposition into rows
            try:
                table = pa.parquet.ParquetFile(path).read_row_group(g, columns=columns)
                X = _feature_rows(table, self.names, path, offset, self.dtype)
                y = np.array(_target_array(table, self.target, path, offset, self.regression))
            except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as e:
                raise ValueError("%s: %s" % (path, str(e).strip())) from e
            del table
            _release_arrow_memory(pa)
            if X.shape[0]:
                yield X, y, None
            return
        else:
            if not os.path.exists(path):
                raise ValueError("%s: the file is gone" % path)
            batches = _batches(path, "csv")
        try:
            for batch in batches:
                if batch.num_rows == 0:
                    continue
                cols = batch.schema.names
                missing = [c for c in columns if c not in cols]
                if missing:
                    raise ValueError("%s: no column %r" % (path, missing[0]))
                X = _feature_rows(batch, self.names, path, offset, self.dtype)
                y = np.array(_target_array(batch, self.target, path, offset, self.regression))
                offset += batch.num_rows
                yield X, y, None
        except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as e:
            raise ValueError("%s: %s" % (path, str(e).strip())) from e

    def _svmlight(self, path, start):
        from sklearn.datasets import load_svmlight_file

        try:
            X, y = load_svmlight_file(path, dtype=self.dtype, n_features=self.n_features)
        except (ValueError, OSError) as e:
            raise ValueError("%s: %s" % (path, e)) from e
        if X.nnz and not np.all(np.isfinite(X.data)):
            row = int(np.searchsorted(X.indptr, np.flatnonzero(~np.isfinite(X.data))[0], "right"))
            raise ValueError("%s: NaN or infinity at row %d" % (path, start + row - 1))
        for a in range(0, X.shape[0], BATCH_ROWS):
            yield X[a : a + BATCH_ROWS], y[a : a + BATCH_ROWS], None

    def _scan_blocks(self, with_X):
        """Parquet without scaling reads the target column alone."""
        if with_X or self.kind != "parquet":
            yield from self._all_blocks()
            return
        pa = _pyarrow()
        start = 0
        starts = []
        for i, g in self._chunks:
            starts.append(start)
            path = self.paths[i]
            try:
                t = pa.parquet.ParquetFile(path).read_row_group(g, columns=[self.target])
            except (pa.ArrowInvalid, OSError) as e:
                raise ValueError("%s: %s" % (path, str(e).strip())) from e
            for batch in t.to_batches():
                y = _target_array(batch, self.target, path, start, self.regression)
                yield start, np.empty((y.shape[0], 0)), y, None
                start += y.shape[0]
        self._starts = np.asarray(starts, dtype=np.int64)
        self.n_rows = start
