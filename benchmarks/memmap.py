"""Fitting from a memory-mapped file against one plain read of it.

Writes a float32 matrix to a file (4 GB by default), then, side by side in one
run: ``cat file > /dev/null`` from a cold page cache (when the process may
drop it: root on Linux) and from a warm one, and one epoch of fastsgd's
per-sample fit on a read-only ``np.memmap`` of the file in storage order
(``shuffle=False``) and in the default block shuffle, cold and warm, plus the
steady epoch of a warm 3-epoch fit.  Times in seconds and as multiples of the
cat of the same temperature.

    python benchmarks/memmap.py                    # 10,000,000 x 100 float32 (4 GB)
    python benchmarks/memmap.py --rows 2000000     # 800 MB
"""

import argparse
import os
import tempfile

import numpy as np

from fastsgd import SGDClassifier
from fastsgd.benchmarking import cat_seconds, drop_page_cache, timed_fit


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--cols", type=int, default=100)
    parser.add_argument("--dir", default=None, help="where to write the file (default: tmp)")
    args = parser.parse_args(argv)

    fd, path = tempfile.mkstemp(suffix=".f32", dir=args.dir)
    os.close(fd)
    try:
        rng = np.random.default_rng(0)
        X = np.memmap(path, dtype=np.float32, mode="w+", shape=(args.rows, args.cols))
        w = rng.standard_normal(args.cols) / np.sqrt(args.cols)
        y = np.empty(args.rows, dtype=np.int32)
        step = 500_000
        for a in range(0, args.rows, step):
            b = min(a + step, args.rows)
            X[a:b] = rng.standard_normal((b - a, args.cols), dtype=np.float32)
            y[a:b] = (X[a:b] @ w + 0.3 * rng.standard_normal(b - a) > 0).astype(np.int32)
        X.flush()
        del X
        size = os.path.getsize(path)
        print("file %s: %.2f GB, %d x %d float32" % (path, size / 1e9, args.rows, args.cols))

        def memmap():
            return np.memmap(path, dtype=np.float32, mode="r", shape=(args.rows, args.cols))

        rows = []
        cold = drop_page_cache()
        if cold:
            rows.append(("cat, cold page cache", cat_seconds(path), "cold"))
        rows.append(("cat, warm page cache", cat_seconds(path), "warm"))
        for label, params in (
            ("fit 1 epoch, shuffle=False", dict(shuffle=False)),
            ("fit 1 epoch, block shuffle", dict()),
        ):
            if cold:
                drop_page_cache()
                est = SGDClassifier(loss="log_loss", max_iter=1, tol=None, random_state=0, **params)
                rows.append((label + ", cold", timed_fit(est, memmap(), y).fit_seconds, "cold"))
            est = SGDClassifier(loss="log_loss", max_iter=1, tol=None, random_state=0, **params)
            rows.append((label + ", warm", timed_fit(est, memmap(), y).fit_seconds, "warm"))
            est = SGDClassifier(loss="log_loss", max_iter=3, tol=None, random_state=0, **params)
            rows.append(
                (
                    label.replace("fit 1 epoch", "steady epoch") + ", warm",
                    timed_fit(est, memmap(), y).epoch_seconds,
                    "warm",
                )
            )
        ref = {temp: sec for label, sec, temp in rows if label.startswith("cat")}
        print("%-46s %9s %10s" % ("", "seconds", "/ cat"))
        for label, sec, temp in rows:
            print("%-46s %9.2f %10.2f" % (label, sec, sec / ref[temp]))
        if not cold:
            print("(the page cache could not be dropped: run as root for the cold rows)")
    finally:
        os.unlink(path)


if __name__ == "__main__":
    main()
