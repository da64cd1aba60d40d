#!/usr/bin/env python
"""The batch engine when other processes share the cores.

Fits ``SGDClassifier(batch_size=B, optimizer="adam", max_iter=2, tol=None)``
on ``--rows`` x ``--cols`` float64 data --fits times with n_jobs=1 and with
the default thread count, first on idle cores, then with one busy process
per core spinning beside the fits ("loaded").  Prints seconds per fit,
min / median / max, with the CPU.

    python benchmarks/contention.py                       # 1,000,000 x 100, batch 64
    python benchmarks/contention.py --cols 20 --batch 256
"""

import argparse
import multiprocessing as mp
import os
import statistics
import time

import numpy as np

from fastsgd import SGDClassifier
from fastsgd.benchmarking import cpu_name


def spin(stop):
    while not stop.is_set():
        for _ in range(10_000):
            pass


def fits(X, y, n_jobs, count, batch, cols):
    times = []
    for _ in range(count):
        est = SGDClassifier(
            batch_size=batch, optimizer="adam", max_iter=2, tol=None, random_state=0, n_jobs=n_jobs
        )
        start = time.perf_counter()
        est.fit(X, y)
        times.append(time.perf_counter() - start)
    return times


def summary(t):
    return "%.3f / %.3f / %.3f" % (min(t), statistics.median(t), max(t))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--cols", type=int, default=100)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--fits", type=int, default=8)
    ap.add_argument("--spinners", type=int, default=os.cpu_count())
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.rows, args.cols))
    y = (X @ rng.standard_normal(args.cols) > 0).astype(int)
    print("CPU: %s, %d CPUs; %d x %d, batch %d, Adam, 2 epochs, seconds per fit min / median / max"
          % (cpu_name(), os.cpu_count(), args.rows, args.cols, args.batch))  # fmt: skip
    fits(X, y, None, 1, args.batch, args.cols)  # warm up
    for loaded in (False, True):
        stop = mp.Event()
        spinners = [
            mp.Process(target=spin, args=(stop,)) for _ in range(args.spinners if loaded else 0)
        ]
        for p in spinners:
            p.start()
        time.sleep(0.2 if loaded else 0.0)
        for n_jobs in (1, None):
            t = fits(X, y, n_jobs, args.fits, args.batch, args.cols)
            print(
                "%-6s n_jobs=%-4s %s" % ("loaded" if loaded else "idle", n_jobs, summary(t)),
                flush=True,
            )
        stop.set()
        for p in spinners:
            p.join()


if __name__ == "__main__":
    main()
