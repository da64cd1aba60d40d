"""Data and timing shared by the benchmark scripts (compare.py, compare_batch.py).

The scripts import it from their own directory; it needs numpy and nothing of
fastsgd, so a benchmark measures any installed fastsgd through its public API.
The problem is the one ``python -m fastsgd demo`` generates: standard-normal
features, labels from a noisy random linear model.
"""

import contextlib
import io
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

TEST_FRACTION = 0.2
LABEL_NOISE = 0.5  # std of the noise added to the true (unit-variance) score
LABEL_SHIFT = 0.2  # true intercept, so the classes are not exactly balanced


def n_cpus():
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def make_classification_data(n_rows, n_cols, dtype=np.float64, seed=0, n_threads=None):
    """Standard-normal features and labels from a noisy random linear model.

    X is filled in place, chunk by chunk, from independent streams (one per
    fixed-size chunk, so the result does not depend on ``n_threads``); the
    only temporaries are a few vectors of length ``n_rows``.

    Returns X (C-contiguous, ``dtype``) and y (int32 in {0, 1}).
    """
    dtype = np.dtype(dtype)
    X = np.empty((n_rows, n_cols), dtype=dtype)
    rows_per_chunk = max(1, (1 << 21) // max(n_cols, 1))
    starts = range(0, n_rows, rows_per_chunk)
    seqs = np.random.SeedSequence(seed).spawn(len(starts) + 1)

    def fill(i):
        a = starts[i]
        b = min(a + rows_per_chunk, n_rows)
        np.random.Generator(np.random.PCG64(seqs[i + 1])).standard_normal(out=X[a:b], dtype=dtype)

    n_threads = n_threads or min(n_cpus(), 8)
    if n_threads > 1 and len(starts) > 1:
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            list(pool.map(fill, range(len(starts))))
    else:
        for i in range(len(starts)):
            fill(i)

    rng = np.random.Generator(np.random.PCG64(seqs[0]))
    w_true = (rng.standard_normal(n_cols) / np.sqrt(n_cols)).astype(dtype)
    score = (X @ w_true).astype(np.float64, copy=False)
    score += LABEL_SHIFT
    score += LABEL_NOISE * rng.standard_normal(n_rows)
    y = (score > 0).astype(np.int32)
    return X, y


def train_test_views(X, y, test_fraction=TEST_FRACTION):
    """Split by slicing (views, no copies): the rows are i.i.d. already."""
    n_test = max(1, int(round(test_fraction * X.shape[0])))
    n_train = X.shape[0] - n_test
    return X[:n_train], X[n_train:], y[:n_train], y[n_train:]


def memory_floor(X, repeat=3):
    """Best-of-``repeat`` time of ``X.sum()``: one streaming pass over X."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        X.sum()
        best = min(best, time.perf_counter() - t)
    return best


@dataclass
class FitTiming:
    """Wall-clock time of one fit and the time of each of its epoch reports."""

    fit_seconds: float
    n_iter: int
    epoch_stamps: list = field(default_factory=list)  # seconds since fit() was called

    @property
    def epoch_seconds(self):
        """Steady-state time per epoch: the mean interval between successive
        epoch reports (this leaves out once-per-fit work such as input
        validation); fit time / epochs when there are fewer than two."""
        s = self.epoch_stamps
        if len(s) >= 2:
            return (s[-1] - s[0]) / (len(s) - 1)
        return self.fit_seconds / max(self.n_iter, 1)


class _EpochStamps(io.TextIOBase):
    """Stands in for stdout during a ``verbose=1`` fit: time-stamps the end of
    each epoch report ("Total training time: ...", printed by fastsgd and
    scikit-learn alike) and drops the report lines."""

    def __init__(self, t0):
        self.t0 = t0
        self.stamps = []
        self.line = ""

    def writable(self):
        return True

    def write(self, s):
        self.line += s
        while "\n" in self.line:
            line, self.line = self.line.split("\n", 1)
            if line.startswith("Total training time"):
                self.stamps.append(time.perf_counter() - self.t0)
        return len(s)


def timed_fit(est, X, y):
    """Fit ``est`` with ``verbose=1``, time it, and return a :class:`FitTiming`."""
    est.set_params(verbose=1)
    t0 = time.perf_counter()
    stamps = _EpochStamps(t0)
    try:
        with contextlib.redirect_stdout(stamps):
            est.fit(X, y)
            fit_seconds = time.perf_counter() - t0
    finally:
        est.set_params(verbose=0)
    return FitTiming(fit_seconds, int(est.n_iter_), stamps.stamps)
