"""Tools to measure fastsgd on a machine: the generated problem the demo and
the benchmark scripts fit, one pass over memory as the floor, and fit timing
from the epoch reports.

``python -m fastsgd demo`` and ``benchmarks/compare*.py`` use these, so that
anyone can time fastsgd against the memory floor with the same data:

>>> from fastsgd.benchmarking import make_classification_data, memory_floor, timed_fit
>>> X, y = make_classification_data(100_000, 100)
>>> floor = memory_floor(X)                      # seconds of one X.sum()
>>> timing = timed_fit(SGDClassifier(max_iter=5, tol=None), X, y)  # doctest: +SKIP
>>> timing.epoch_seconds / floor                 # doctest: +SKIP
"""

import contextlib
import io
import os
import platform
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "FitTiming",
    "cat_seconds",
    "cpu_name",
    "drop_page_cache",
    "make_classification_data",
    "memory_floor",
    "n_cpus",
    "timed_fit",
    "train_test_views",
]

TEST_FRACTION = 0.2
LABEL_NOISE = 0.5  # std of the noise added to the true (unit-variance) score
LABEL_SHIFT = 0.2  # true intercept, so the classes are not exactly balanced


def n_cpus():
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cpu_name():
    """The processor's model name (lscpu's "Model name", /proc/cpuinfo's
    "model name"), to print beside every figure."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def drop_page_cache():
    """Drop the page cache (the kernel's copy of files read); True when it
    was (root on Linux), so that a read that follows comes from the disk."""
    try:
        subprocess.run(["sync"], check=True)
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def cat_seconds(path):
    """Seconds of one plain read of the file: ``cat path > /dev/null``."""
    t = time.perf_counter()
    subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


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


@dataclass
class FitTiming:
    """Wall-clock timing of one fit, with the time of each epoch report."""

    fit_seconds: float
    n_iter: int
    epoch_stamps: list = field(default_factory=list)  # seconds since fit() was called
    epoch_objectives: list = field(default_factory=list)

    @property
    def epoch_seconds(self):
        """Steady-state time per epoch.

        The mean interval between successive epoch reports when there are at
        least two (this excludes one-off work such as input validation);
        otherwise fit time / number of epochs.
        """
        s = self.epoch_stamps
        if len(s) >= 2:
            return (s[-1] - s[0]) / (len(s) - 1)
        return self.fit_seconds / max(self.n_iter, 1)


_OBJECTIVE_RE = re.compile(r"Objective: ([^,\s]+)")
_AVG_LOSS_RE = re.compile(r"Avg\. loss: ([^,\s]+)")


class _EpochLineReader(io.TextIOBase):
    """Stands in for stdout during a ``verbose=1`` fit.

    Parses scikit-learn-style epoch lines ("-- Epoch N", "... Avg. loss: x
    [, Objective: y]", "Total training time: ..."), which both fastsgd and
    scikit-learn print, time-stamps each epoch as it is reported and calls
    ``on_epoch(epoch, objective, seconds)``.  Other lines are passed through.
    """

    def __init__(self, t0, out, on_epoch=None):
        self.t0 = t0
        self.out = out
        self.on_epoch = on_epoch
        self.buffer = ""
        self.epoch = None
        self.objective = float("nan")
        self.stamps = []
        self.objectives = []

    def writable(self):
        return True

    def write(self, s):
        self.buffer += s
        while "\n" in self.buffer:
            line, self.buffer = self.buffer.split("\n", 1)
            self._line(line)
        return len(s)

    def _line(self, line):
        if line.startswith("-- Epoch"):
            try:
                self.epoch = int(line.split()[-1])
            except ValueError:
                self.epoch = len(self.stamps) + 1
            return
        m = _OBJECTIVE_RE.search(line) or _AVG_LOSS_RE.search(line)
        if m and line.startswith("Norm:"):
            try:
                self.objective = float(m.group(1))
            except ValueError:
                self.objective = float("nan")
            return
        if line.startswith("Total training time"):
            t = time.perf_counter() - self.t0
            epoch = self.epoch if self.epoch is not None else len(self.stamps) + 1
            self.stamps.append(t)
            self.objectives.append(self.objective)
            if self.on_epoch is not None:
                self.on_epoch(epoch, self.objective, t)
            return
        self.out.write(line + "\n")

    def close_pending(self):
        if self.buffer:
            self.out.write(self.buffer)
            self.buffer = ""


def timed_fit(est, X, y, on_epoch=None):
    """Fit ``est`` with ``verbose=1`` and time it; returns a :class:`FitTiming`.

    The estimator's per-epoch lines are captured (not printed) and each epoch
    is time-stamped when reported; ``on_epoch(epoch, objective, seconds)`` is
    called for each.
    """
    est.set_params(verbose=1)
    real_stdout = sys.stdout
    t0 = time.perf_counter()
    reader = _EpochLineReader(t0, real_stdout, on_epoch)
    try:
        with contextlib.redirect_stdout(reader):
            est.fit(X, y)
            fit_seconds = time.perf_counter() - t0
    finally:
        reader.close_pending()
        est.set_params(verbose=0)
    return FitTiming(fit_seconds, int(est.n_iter_), reader.stamps, reader.objectives)


def memory_floor(X, repeat=3):
    """Best-of-``repeat`` time of ``X.sum()``: one streaming pass over X."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        X.sum()
        best = min(best, time.perf_counter() - t)
    return best
