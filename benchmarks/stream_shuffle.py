#!/usr/bin/env python
"""How good a stream's shuffle is against the full shuffle of an in-memory fit.

A stream (``fastsgd.fit_files`` without a cache) shuffles the order of the
chunks (Parquet row groups) and the rows within a pool of pieces; an in-memory
fit draws a permutation of all rows every epoch.  This writes one logistic
problem as Parquet three ways: in random row order, sorted by the label, and
sorted by the first feature (a drifting file), each with row groups of
``--row-group`` rows, and prints the held-out accuracy and log loss of the
streamed fit and of the in-memory fit of the same rows at equal epochs, for
per-sample SGD and for mini-batch Adam.

    python benchmarks/stream_shuffle.py                  # 1,000,000 x 50
    python benchmarks/stream_shuffle.py --rows 200000    # quick
"""

import argparse
import os
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.metrics import log_loss

import fastsgd
from fastsgd import SGDClassifier
from fastsgd.benchmarking import cpu_name


def problem(n, d, seed=0):
    rng = np.random.default_rng(seed)
    w = 2.0 * rng.standard_normal(d) / np.sqrt(d)
    X = rng.standard_normal((n, d), dtype=np.float32)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(X @ w)))).astype(np.int8)
    return X, y


def write_parquet(path, X, y, row_group):
    cols = [pa.array(np.ascontiguousarray(X[:, j])) for j in range(X.shape[1])]
    names = ["f%d" % j for j in range(X.shape[1])]
    pq.write_table(
        pa.Table.from_arrays(cols + [pa.array(y)], names=names + ["y"]),
        path,
        row_group_size=row_group,
        use_dictionary=False,
    )


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--cols", type=int, default=50)
    p.add_argument("--row-group", type=int, default=65_536)
    p.add_argument("--epochs", type=int, default=5)
    args = p.parse_args()
    print("CPU: %s; %d x %d, row groups of %d rows, %d epochs"
          % (cpu_name(), args.rows, args.cols, args.row_group, args.epochs))  # fmt: skip
    X, y = problem(args.rows + 200_000, args.cols)
    Xt, yt = X[args.rows :], y[args.rows :]
    X, y = X[: args.rows], y[: args.rows]
    orders = {
        "random": np.arange(args.rows),
        "sorted by label": np.argsort(y, kind="stable"),
        "sorted by f0": np.argsort(X[:, 0], kind="stable"),
    }
    models = {
        "per-sample SGD": dict(),
        "Adam, batch 256": dict(batch_size=256, optimizer="adam"),
    }
    print("\n| file order | model | fit | held-out accuracy | log loss | seconds |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        for oname, order in orders.items():
            Xo, yo = X[order], y[order]
            path = os.path.join(tmp, "data.parquet")
            write_parquet(path, Xo, yo, args.row_group)
            for mname, params in models.items():
                kw = dict(loss="log_loss", max_iter=args.epochs, tol=None, random_state=0)
                for how in ("in memory (full shuffle)", "stream"):
                    est = SGDClassifier(**kw, **params)
                    t = time.perf_counter()
                    if how == "stream":
                        fastsgd.fit_files(est, path, target="y", dtype="float32")
                        del est.feature_names_in_
                    else:
                        est.fit(Xo, yo)
                    s = time.perf_counter() - t
                    acc = est.score(Xt, yt)
                    ll = log_loss(yt, est.predict_proba(Xt))
                    print("| %s | %s | %s | %.4f | %.4f | %.2f |" % (oname, mname, how, acc, ll, s),
                          flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
