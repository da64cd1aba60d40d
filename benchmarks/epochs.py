"""Epoch / floor on this machine, for every shape and engine issue 18 names.

One table a new machine fills in about two minutes: for each configuration the
steady epoch (the interval between epoch reports) and the whole fit() time for
E = 1 and E = 5 epochs, each divided by the one-pass floor (``X.sum()`` on one
thread; for CSR, one pass over its values and column indices), side by side in
one run, best of ``--repeat``.  With ``--sklearn`` scikit-learn's fit times for
the per-sample configurations stand beside them.

    python benchmarks/epochs.py                       # every configuration
    python benchmarks/epochs.py --only 1Mx100 --sklearn
    python benchmarks/epochs.py --scale 0.2           # a fifth of the rows, quick

Configurations: dense 1,000,000 x 100, 1,000,000 x 20 and 200,000 x 500, and CSR
200,000 x 10,000 at 1% density, float64 and float32; per-sample SGD with the
defaults (log loss, alpha 1e-4, block shuffle), and Adam on batches of 256 with
n_jobs=1 and n_jobs=2.  The fits are timed with ``tol=None`` so that every fit
runs its E epochs.
"""

import argparse

import numpy as np
import scipy.sparse as sp

import fastsgd
from fastsgd.benchmarking import (
    cpu_name,
    make_classification_data,
    memory_floor,
    n_cpus,
    timed_fit,
)

SHAPES = {
    "1Mx100": (1_000_000, 100, None),
    "1Mx20": (1_000_000, 20, None),
    "200kx500": (200_000, 500, None),
    "csr1%": (200_000, 10_000, 0.01),
}
ENGINES = {
    "per-sample": dict(),
    "adam b256 j1": dict(optimizer="adam", batch_size=256, n_jobs=1),
    "adam b256 j2": dict(optimizer="adam", batch_size=256, n_jobs=2),
}


def make_csr(n_rows, n_cols, density, dtype, seed=0):
    """CSR with the same number of stored values in every row, sorted column
    indices, standard-normal values, labels from a random linear model."""
    rng = np.random.default_rng(seed)
    k = max(1, int(round(density * n_cols)))
    indices = np.sort(rng.integers(0, n_cols, size=(n_rows, k), dtype=np.int32), axis=1)
    data = rng.standard_normal(n_rows * k).astype(dtype)
    X = sp.csr_matrix(
        (data, indices.ravel(), np.arange(0, n_rows * k + 1, k, dtype=np.int64)),
        shape=(n_rows, n_cols),
    )
    X.sum_duplicates()
    w = rng.standard_normal(n_cols) / np.sqrt(k)
    y = (X @ w + 0.3 * rng.standard_normal(n_rows) > 0).astype(np.int32)
    return X, y


def floor_seconds(X, repeat):
    """One streaming pass over what an epoch must read."""
    if sp.issparse(X):
        best = float("inf")
        for _ in range(repeat):
            a = memory_floor(X.data, 1)
            b = memory_floor(X.indices, 1)
            best = min(best, a + b)
        return best
    return memory_floor(X, repeat)


def fit_times(make, X, y, repeat):
    """(steady epoch, fit E=1, fit E=5) in seconds, best of repeat."""
    epoch = fit1 = fit5 = float("inf")
    for _ in range(repeat):
        t5 = timed_fit(make(5), X, y)
        epoch = min(epoch, t5.epoch_seconds)
        fit5 = min(fit5, t5.fit_seconds)
        fit1 = min(fit1, timed_fit(make(1), X, y).fit_seconds)
    return epoch, fit1, fit5


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(SHAPES), default=list(SHAPES))
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"])
    parser.add_argument("--engines", nargs="+", choices=list(ENGINES), default=list(ENGINES))
    parser.add_argument("--repeat", type=int, default=2, help="repeats; best reported")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the rows")
    parser.add_argument("--sklearn", action="store_true", help="also time scikit-learn")
    args = parser.parse_args(argv)

    print(
        "fastsgd %s, kernels %s, CPU %r, %d usable CPUs"
        % (fastsgd.__version__, fastsgd._engine.kernels_name(), cpu_name(), n_cpus())
    )
    head = "%-9s %-8s %-14s %9s %9s %8s %9s %9s" % (
        "shape",
        "dtype",
        "engine",
        "epoch ms",
        "floor ms",
        "ep/floor",
        "fit1/fl",
        "fit5/fl",
    )
    print(head)
    print("-" * len(head))
    for shape in args.only:
        n_rows, n_cols, density = SHAPES[shape]
        n_rows = max(1000, int(n_rows * args.scale))
        for dtype in args.dtypes:
            if density is None:
                X, y = make_classification_data(n_rows, n_cols, dtype)
            else:
                X, y = make_csr(n_rows, n_cols, density, dtype)
            floor = floor_seconds(X, 5)
            rows = []
            for name in args.engines:

                def make(e, params=ENGINES[name]):
                    return fastsgd.SGDClassifier(
                        loss="log_loss", max_iter=e, tol=None, random_state=0, **params
                    )

                rows.append((name, fit_times(make, X, y, args.repeat)))
            if args.sklearn:
                from sklearn.linear_model import SGDClassifier

                def make_sk(e):
                    return SGDClassifier(loss="log_loss", max_iter=e, tol=None, random_state=0)

                rows.append(("scikit-learn", fit_times(make_sk, X, y, 1)))
            floor = min(floor, floor_seconds(X, 3))  # again, after the fits
            for name, (epoch, fit1, fit5) in rows:
                print(
                    "%-9s %-8s %-14s %9.1f %9.1f %8.2f %9.2f %9.2f"
                    % (
                        shape,
                        dtype,
                        name,
                        epoch * 1e3,
                        floor * 1e3,
                        epoch / floor,
                        fit1 / floor,
                        fit5 / floor,
                    ),
                    flush=True,
                )
            del X, y


if __name__ == "__main__":
    main()
