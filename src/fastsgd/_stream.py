"""Data sources: the rows of a fit handed to the engine a window at a time.

The C engine runs every epoch of a fit through its one driver; with a data
source (``fsgd_source``, csrc/fastsgd.h) an epoch is a sequence of windows
that the engine asks for one after another (``next_window``) and visits
each in its own shuffled order, carrying the weights, the step and the
optimizer state from window to window.  A source is what lets a fit run over
data that is never in memory at once:

- ``FileSource``: Parquet files (decoded a row group at a time), CSV files
  (streamed in blocks) and svmlight files (one file at a time), re-read every
  epoch;
- ``ArraySource``: an array, a CSR matrix or a memory map, read a chunk of
  rows at a time; with scaling the only way a large array is scaled without
  a scaled copy of it.

Both cut the rows into chunks: consecutive rows read together (a Parquet row
group, a CSV or svmlight file, about 64 KiB of an array).  With shuffling,
each epoch takes the chunks in an order drawn from (seed, problem, epoch) and
cuts what it reads into pieces of about 64 KiB that wait in a pool of
``MIX_WINDOWS`` windows' worth of rows; each window takes pieces from the pool
at random, and the engine visits each window in a random order.  A shuffle
within a window of pieces plus the chunk order (docs/streams.md has its
quality against a full shuffle).  Without shuffling chunks and rows come in
storage order, and a fit equals the in-memory fit of the same rows.

Memory stays bounded by the windows: the one the engine reads, the ones read
ahead by a background thread (``read_ahead``), the pool, and the chunks being
read (``READ_THREADS`` of them at once, in order).

Held-out rows for early stopping are chosen row by row by a hash of the
row's position and the seed (``held_out``): no index array, whatever the
number of rows.  Each epoch's validation score is a second pass that hands
over the held-out rows only.

Scaling (``Scaling``): per-feature mean and standard deviation from one pass
over the rows; each window is scaled as it is read (sparse data is only
divided, never centred, as scikit-learn's ``with_mean=False``); the fit runs
on the scaled rows, and ``to_original`` turns its weights into weights on the
original features.
"""

import collections
import itertools
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp

from . import _engine

# bytes of rows per window, windows read ahead while the engine trains, and
# windows' worth of rows in the pool that shuffled windows are drawn from
WINDOW_BYTES = 16 << 20
READ_AHEAD = 1
# threads reading chunks at once, in order, a chunk ahead of the one in use
READ_THREADS = 2
MIX_WINDOWS = 4
# bytes of an array chunk: the unit of the chunk order
ARRAY_CHUNK_BYTES = 64 << 10

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)


def held_out(rows, seed, fraction):
    """uint8 mask of the rows (positions in the data) held out for
    validation: splitmix64 of (position + seed) below ``fraction`` of 2**64.
    The same rows whatever the windows, the chunk order or the epoch."""
    with np.errstate(over="ignore"):
        h = np.asarray(rows, dtype=np.uint64) + np.uint64(seed) * _M1
        h = (h ^ (h >> np.uint64(30))) * _M2
        h = (h ^ (h >> np.uint64(27))) * _M3
        h ^= h >> np.uint64(31)
    return ((h >> np.uint64(11)).astype(np.float64) < fraction * 2.0**53).astype(np.uint8)


class Scaling:
    """Per-feature mean and scale (standard deviation, 1 where it is 0);
    ``mean`` is None for sparse data (divided only)."""

    def __init__(self, mean, scale):
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)

    @classmethod
    def from_moments(cls, count, mean, m2, sparse):
        var = m2 / max(count, 1)
        scale = np.sqrt(var)
        # constant features keep their values, as StandardScaler's scale_ = 1
        scale[~(scale > 1e-300 * np.maximum(1.0, np.abs(mean)))] = 1.0
        return cls(None if sparse else mean, scale)

    def apply(self, X):
        """X scaled in place (X is a window's own copy)."""
        if sp.issparse(X):
            X.data /= self.scale[X.indices].astype(X.dtype)
        else:
            if self.mean is not None:
                X -= self.mean.astype(X.dtype)
            X /= self.scale.astype(X.dtype)
        return X

    def to_scaled(self, coef, intercept):
        """Weights on the original features -> on the scaled ones, in place
        (coef K x n_features, intercept K)."""
        if self.mean is not None:
            intercept += coef.astype(np.float64) @ self.mean
        coef *= self.scale.astype(coef.dtype)

    def to_original(self, coef, intercept):
        """Weights on the scaled features -> on the original ones, in place."""
        coef /= self.scale.astype(coef.dtype)
        if self.mean is not None:
            intercept -= coef.astype(np.float64) @ self.mean


class _Moments:
    """Per-feature count, mean and sum of squared deviations, merged chunk
    by chunk (Chan et al.'s pairwise update: no cancellation)."""

    def __init__(self, d):
        self.n = 0
        self.mean = np.zeros(d)
        self.m2 = np.zeros(d)

    def add(self, X):
        k = X.shape[0]
        if k == 0:
            return
        if sp.issparse(X):
            X = X.astype(np.float64)
            mean = np.asarray(X.sum(axis=0)).ravel() / k
            sq = np.asarray(X.multiply(X).sum(axis=0)).ravel()
            m2 = np.maximum(sq - k * mean * mean, 0.0)
        else:
            X = np.asarray(X, dtype=np.float64)
            mean = X.mean(axis=0)
            m2 = ((X - mean) ** 2).sum(axis=0)
        n = self.n + k
        delta = mean - self.mean
        self.mean = self.mean + delta * (k / n)
        self.m2 = self.m2 + m2 + delta * delta * (self.n * k / n)
        self.n = n


class Window:
    """One window of rows as the engine reads them."""

    __slots__ = ("X", "y", "y_code", "sample_weight", "validation_mask")

    def __init__(self, X, y=None, y_code=None, sample_weight=None, validation_mask=None):
        self.X = X
        self.y = y
        self.y_code = y_code
        self.sample_weight = sample_weight
        self.validation_mask = validation_mask


class _End:
    pass


class _ReadAhead:
    """Runs an iterator on a background thread, up to ``depth`` items ahead
    (reading and decoding release the GIL, so the next window is read while
    the engine trains on this one).  An exception of the iterator comes out
    of ``next``; ``close`` stops the thread."""

    def __init__(self, iterator, depth):
        self._q = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(iterator,), daemon=True)
        self._thread.start()

    def _put(self, item):
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, iterator):
        try:
            for item in iterator:
                if not self._put(item):
                    return
            self._put(_End)
        except BaseException as exc:  # handed to the consumer
            self._put(exc)

    def next(self):
        item = self._q.get()
        if item is _End:
            return None
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self):
        self._stop.set()
        while True:
            try:
                self._q.get_nowait()
            except queue.Empty:
                break
        self._thread.join()


class RowSource:
    """The rows of a fit, read chunk by chunk (subclasses: ``n_chunks``,
    ``chunk_start``, ``read_chunk``).  ``prepare`` fixes what a fit needs
    before its first epoch (targets' classes, held-out rows, scaling)."""

    regression = False
    weighted = False

    def __init__(self, *, dtype, window_bytes=WINDOW_BYTES, read_ahead=READ_AHEAD):
        self.dtype = np.dtype(dtype)
        self.window_bytes = int(window_bytes)
        self.read_ahead = int(read_ahead)
        self.scaling = None
        self.classes = None
        self.shuffle = True
        self.seed = 0
        self.validation_fraction = 0.0
        self.validation_seed = 0
        self.window_rows = 1
        self._iters = {}
        self._epochs = {}

    # -- what subclasses give: n_rows, n_features, is_csr, row_values and
    # n_chunks(), read_chunk(c, start) -> iterator of (X, y, sw) blocks of
    # chunk c, whose first row is row `start` of the data (for messages)

    @property
    def shape(self):
        return (self.n_rows, self.n_features)

    def chunk_start(self, c):
        """The position of chunk c's first row (after the scan of prepare)."""
        return self._starts[c]

    def _blocks(self, c):
        start = self.chunk_start(c)
        for X, y, sw in self.read_chunk(c, start):
            yield start, X, y, sw
            start += X.shape[0]

    def _all_blocks(self):
        """Every block in storage order, with its position; records each
        chunk's first row (chunk_start) and the row count."""
        start = 0
        starts = []
        for c in range(self.n_chunks()):
            starts.append(start)
            for X, y, sw in self.read_chunk(c, start):
                yield start, X, y, sw
                start += X.shape[0]
        self._starts = np.asarray(starts, dtype=np.int64)
        self.n_rows = start

    # -- set-up before a fit

    def prepare(
        self,
        *,
        regression,
        classes=None,
        early_stopping=False,
        validation_fraction=0.1,
        validation_seed=0,
        scale=None,
        scaling=None,
        batch_rows=1,
        shuffle=True,
        seed=0,
    ):
        """One pass over the targets (and over X when scaling must be
        measured): the classes and their counts, the held-out rows' count and
        mean target, the scaling.  Sets the window size (a multiple of
        batch_rows, so that a batch never straddles two windows in storage
        order)."""
        self.regression = regression
        self.shuffle = shuffle
        self.seed = int(seed)
        self.validation_fraction = float(validation_fraction) if early_stopping else 0.0
        self.validation_seed = int(validation_seed)
        measure = scale == "standard" and scaling is None
        moments = _Moments(self.n_features) if measure else None
        labels, counts = [], []
        n_val, val_y, val_w = 0, 0.0, 0.0
        for start, X, y, sw in self._scan_blocks(with_X=measure):
            if moments is not None:
                moments.add(X)
            if not regression:
                u, c = np.unique(y, return_counts=True)
                labels.append(u)
                counts.append(c)
            if self.validation_fraction > 0:
                m = held_out(
                    np.arange(start, start + y.shape[0]),
                    self.validation_seed,
                    self.validation_fraction,
                ).astype(bool)
                n_val += int(m.sum())
                if regression:
                    w = np.ones(int(m.sum())) if sw is None else sw[m]
                    val_y += float(w @ np.asarray(y, np.float64)[m])
                    val_w += float(w.sum())
        if measure:
            self.scaling = Scaling.from_moments(moments.n, moments.mean, moments.m2, self.is_csr)
        else:
            self.scaling = scaling if scale == "standard" else None
        if not regression:
            u = np.concatenate(labels) if labels else np.zeros(0)
            c = np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)
            classes_seen, inv = np.unique(u, return_inverse=True)
            self.class_counts = np.bincount(inv, weights=c, minlength=classes_seen.shape[0])
            self.classes_seen = classes_seen
            self.classes = classes_seen if classes is None else np.asarray(classes)
        if early_stopping and (n_val == 0 or n_val == self.n_rows):
            raise ValueError(
                "Splitting %d samples into a train set and a validation set with "
                "validation_fraction=%r led to an empty set (%d and %d samples). "
                "Please either change validation_fraction, increase number of "
                "samples, or disable early_stopping."
                % (self.n_rows, validation_fraction, self.n_rows - n_val, n_val)
            )
        self.n_train = self.n_rows - n_val
        self.validation_ybar = val_y / val_w if val_w > 0 else 0.0
        row_bytes = max(1.0, self.row_values) * (self.dtype.itemsize + (4 if self.is_csr else 0))
        rows = max(1, int(self.window_bytes / row_bytes))
        batch_rows = max(1, int(batch_rows))
        self.window_rows = max(batch_rows, rows // batch_rows * batch_rows)
        return self

    def _scan_blocks(self, with_X):
        """The blocks of the pass ``prepare`` makes (subclasses may read the
        targets alone when X is not needed)."""
        return self._all_blocks()

    def sample(self, k):
        """Up to k rows spread over the first window's worth of data, scaled
        (the batch engine's curvature scale), with their sample weights."""
        parts, have = [], 0
        for p in self._pieces(range(self.n_chunks()), False):
            parts.append(p)
            have += p[0].shape[0]
            if have >= self.window_rows:
                break
        if not parts:
            raise ValueError("no rows")
        w, _, _ = self._cut(parts, have)
        n = w.X.shape[0]
        rows = np.arange(min(n, k)) * n // min(n, k)
        return w.X[rows], None if w.sample_weight is None else w.sample_weight[rows]

    # -- windows

    def _chunk_order(self, problem, epoch):
        n = self.n_chunks()
        if not self.shuffle or epoch is None:
            return range(n)
        return np.random.default_rng([self.seed, problem, epoch]).permutation(n)

    def _read_in_order(self, order):
        """The blocks of each chunk of ``order``, chunk after chunk.  With
        READ_THREADS > 1 the next chunks are read on that many threads while
        this one is consumed (decoding and copying release the GIL); the
        order, and so the fit, stays the same."""
        if READ_THREADS <= 1:
            for c in order:
                yield self._blocks(c)
            return
        pool = ThreadPoolExecutor(READ_THREADS, thread_name_prefix="fastsgd-read")
        try:
            it = iter(order)
            pending = collections.deque(
                pool.submit(list, self._blocks(c)) for c in itertools.islice(it, READ_THREADS)
            )
            while pending:
                blocks = pending.popleft().result()
                for c in itertools.islice(it, 1):
                    pending.append(pool.submit(list, self._blocks(c)))
                yield blocks
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _pieces(self, order, validation):
        """The rows of the chunks in ``order`` as pieces of at most
        ARRAY_CHUNK_BYTES (views of the blocks read), with their held-out
        marks; the validation pass keeps the held-out rows only."""
        row_bytes = max(1.0, self.row_values) * self.dtype.itemsize
        piece = max(1, int(ARRAY_CHUNK_BYTES / row_bytes))
        for blocks in self._read_in_order(order):
            for start, X, y, sw in blocks:
                mask = None
                if self.validation_fraction > 0:
                    mask = held_out(
                        np.arange(start, start + X.shape[0]),
                        self.validation_seed,
                        self.validation_fraction,
                    )
                    if validation:
                        keep = mask.astype(bool)
                        if not keep.any():
                            continue
                        X, y = X[keep], y[keep]
                        sw = None if sw is None else sw[keep]
                        mask = mask[keep]
                for a in range(0, X.shape[0], piece):
                    b = a + piece
                    yield (
                        X[a:b],
                        y[a:b],
                        None if sw is None else sw[a:b],
                        None if mask is None else mask[a:b],
                    )

    def _windows(self, problem, pass_, epoch):
        """The windows of a pass.  Training with shuffling: the chunks in the
        epoch's order, cut into pieces that wait in a pool of MIX_WINDOWS
        windows' worth of rows; each window takes pieces from the pool at
        random.  Otherwise (no shuffling, the validation pass): the rows in
        storage order, windows of window_rows rows."""
        validation = pass_ == _engine.PASS_VALIDATION
        order = self._chunk_order(problem, None if validation else epoch)
        pieces = self._pieces(order, validation)
        parts, have = [], 0
        if self.shuffle and not validation:
            rng = np.random.default_rng([self.seed, problem, epoch, 1])
            pool_rows = MIX_WINDOWS * self.window_rows
            for p in pieces:
                # the pool keeps copies: a view would hold its whole block
                # in memory for as long as the piece waits
                parts.append(tuple(None if a is None else a.copy() for a in p))
                have += p[0].shape[0]
                if have >= pool_rows:
                    w, parts, have = self._draw(parts, rng, self.window_rows)
                    yield w
            while have:
                w, parts, have = self._draw(parts, rng, self.window_rows)
                yield w
            return
        for p in pieces:
            parts.append(p)
            have += p[0].shape[0]
            while have >= self.window_rows:
                w, parts, have = self._cut(parts, self.window_rows)
                yield w
        if have:
            w, parts, have = self._cut(parts, have)
            yield w

    def _draw(self, parts, rng, rows):
        """A window of pieces drawn at random from the pool until it holds
        ``rows`` rows (or the pool is empty), and the pool left over."""
        take, left, got = [], [], 0
        for i in rng.permutation(len(parts)):
            if got < rows:
                take.append(parts[i])
                got += parts[i][0].shape[0]
            else:
                left.append(parts[i])
        w, _, _ = self._cut(take, got)
        return w, left, sum(p[0].shape[0] for p in left)

    def _cut(self, parts, rows):
        """The first ``rows`` rows of the parts as a window (its own copy of
        X, scaled), and the parts left over."""
        take, left, got = [], [], 0
        for X, y, sw, mask in parts:
            k = X.shape[0]
            if got + k <= rows:
                take.append((X, y, sw, mask))
                got += k
                continue
            cut = rows - got
            if cut > 0:
                take.append(
                    (
                        X[:cut],
                        y[:cut],
                        None if sw is None else sw[:cut],
                        None if mask is None else mask[:cut],
                    )
                )
            left.append(
                (
                    X[cut:],
                    y[cut:],
                    None if sw is None else sw[cut:],
                    None if mask is None else mask[cut:],
                )
            )
            got = rows
        Xs = [t[0] for t in take]
        if self.is_csr:
            X = sp.vstack(Xs, format="csr", dtype=self.dtype)
            X.indices = X.indices.astype(np.int32, copy=False)
            X.indptr = X.indptr.astype(np.int64, copy=False)
        else:
            X = np.concatenate(Xs) if len(Xs) > 1 else np.array(Xs[0], dtype=self.dtype)
            X = np.ascontiguousarray(X, dtype=self.dtype)
        if self.scaling is not None:
            X = self.scaling.apply(X)
        y = np.concatenate([t[1] for t in take])
        w = Window(X)
        if self.regression:
            # targets in X's dtype, as an in-memory fit casts them
            w.y = np.asarray(y, dtype=self.dtype).astype(np.float64)
        else:
            w.y_code = self._encode(y)
        if take[0][2] is not None:
            w.sample_weight = np.ascontiguousarray(
                np.concatenate([t[2] for t in take]), dtype=np.float64
            )
        if take[0][3] is not None:
            w.validation_mask = np.concatenate([t[3] for t in take])
        return w, left, sum(p[0].shape[0] for p in left)

    def _encode(self, y):
        codes = np.searchsorted(self.classes, y)
        codes = np.minimum(codes, self.classes.shape[0] - 1)
        bad = self.classes[codes] != y
        if np.any(bad):
            raise ValueError(
                "target value %r is not one of the classes %r"
                % (y[np.flatnonzero(bad)[0]], list(self.classes))
            )
        return codes.astype(np.int32)

    # -- the engine's side (fsgd_source.next through _engine._window_cb)

    def next_window(self, problem, pass_):
        key = (problem, pass_)
        it = self._iters.get(key)
        if it is None:
            epoch = self._epochs.get(key, 0)
            it = _ReadAhead(self._windows(problem, pass_, epoch), self.read_ahead)
            self._iters[key] = it
        w = it.next()
        if w is None:
            it.close()
            del self._iters[key]
            self._epochs[key] = self._epochs.get(key, 0) + 1
        return w

    def close(self):
        """Stops the read-ahead threads of unfinished passes."""
        for it in self._iters.values():
            it.close()
        self._iters.clear()
        self._epochs.clear()


class ArraySource(RowSource):
    """A dense array, a memory map or a CSR matrix, read chunk by chunk of
    about ARRAY_CHUNK_BYTES (every window is a copy of its rows)."""

    def __init__(self, X, y, sample_weight=None, **kw):
        super().__init__(dtype=X.dtype, **kw)
        self.X = X
        self.y = y
        self.sw = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        self.weighted = self.sw is not None
        self.n_rows, self.n_features = X.shape
        self.is_csr = sp.issparse(X)
        self.row_values = X.nnz / max(1, self.n_rows) if self.is_csr else float(self.n_features)
        row_bytes = max(1.0, self.row_values) * self.dtype.itemsize
        self.chunk_rows = max(1, int(ARRAY_CHUNK_BYTES / row_bytes))

    def n_chunks(self):
        return (self.n_rows + self.chunk_rows - 1) // self.chunk_rows

    def chunk_start(self, c):
        return c * self.chunk_rows

    def read_chunk(self, c, start=None):
        a = c * self.chunk_rows
        b = min(self.n_rows, a + self.chunk_rows)
        yield self.X[a:b], self.y[a:b], None if self.sw is None else self.sw[a:b]

    def sample(self, k):
        """k rows spread evenly over X (rows i * n // k, as an in-memory fit
        samples them), scaled, with their sample weights."""
        k = min(self.n_rows, k)
        rows = np.arange(k, dtype=np.int64) * self.n_rows // k
        X = self.X[rows]
        X = X.astype(self.dtype) if sp.issparse(X) else np.array(X, dtype=self.dtype)
        if self.scaling is not None:
            X = self.scaling.apply(X)
        return X, None if self.sw is None else self.sw[rows]

    def _scan_blocks(self, with_X):
        step = max(self.chunk_rows, 1 << 16)
        for a in range(0, self.n_rows, step):
            b = min(self.n_rows, a + step)
            X = self.X[a:b] if with_X else np.empty((b - a, 0))
            yield a, X, self.y[a:b], None if self.sw is None else self.sw[a:b]
