#!/usr/bin/env python
"""fastsgd on a local Dask cluster against one machine and against dask-ml.

Generates ``--rows`` x ``--cols`` float64 logistic data with dask (the same
seed everywhere; on a cluster the blocks are made and kept on the workers),
cut into ``--shards`` partitions, and fits ``SGDClassifier(loss="log_loss",
tol=None)`` for ``--epochs`` epochs:

* fastsgd on a ``distributed.LocalCluster`` of 1 and of 2 worker processes
  (1 thread each): the steady epoch (from the epoch reports), split into the
  shards' engine time, the client's mix and the rest (scheduling, the
  transfer of weights); the bytes per epoch that Dask moved between workers
  (its ``transfer_outgoing_bytes_total``: the data never moves) and the bytes
  of weights sent and returned; scaling efficiency T(1) / (2 T(2));
* fastsgd in one process on the same rows, ``parallel="shards"`` with the
  same shard count on 2 threads, and per-sample SGD on one thread;
* dask-ml ``Incremental(sklearn SGDClassifier)`` on the 2-worker cluster, at
  equal epochs (in ``--bench-python``'s environment, which has dask-ml).

    python benchmarks/dask_scale.py                       # 8,000,000 x 50 (3.2 GB)
    python benchmarks/dask_scale.py --rows 400000 --epochs 2   # quick
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

DEFAULT_BENCH_PYTHON = "/work/bench-venv/bin/python"


def make(rows, cols, shards, seed=0):
    """X (dask, float64) and y (dask int64) of a logistic model."""
    import dask.array as da

    rng = da.random.default_rng(seed)
    chunk = -(-rows // shards)
    X = rng.standard_normal((rows, cols), chunks=(chunk, cols))
    w = np.random.default_rng(seed + 1).standard_normal(cols) / np.sqrt(cols) * 2.0
    u = da.random.default_rng(seed + 2).random(rows, chunks=chunk)
    y = (u < 1.0 / (1.0 + da.exp(-(X @ w)))).astype(np.int64)
    return X, y


def child_dask_ml(a):
    """dask-ml Incremental on a 2-worker LocalCluster, ``epochs`` passes."""
    import dask
    from dask_ml.wrappers import Incremental
    from distributed import Client, LocalCluster
    from sklearn.linear_model import SGDClassifier

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster),
    ):
        X, y = make(a["rows"], a["cols"], a["shards"])
        X, y = dask.persist(X, y)
        inc = Incremental(SGDClassifier(loss="log_loss", random_state=0))
        t = time.perf_counter()
        for _ in range(a["epochs"]):
            inc.partial_fit(X, y, classes=[0, 1])
        return {"seconds": time.perf_counter() - t}


def fastsgd_on_cluster(n_workers, args):
    import dask
    from distributed import Client, LocalCluster

    from fastsgd import SGDClassifier, _dask
    from fastsgd.benchmarking import timed_fit

    with (
        LocalCluster(n_workers=n_workers, threads_per_worker=1, dashboard_address=None) as cl,
        Client(cl) as client,
    ):
        X, y = make(args.rows, args.cols, args.shards)
        X, y = dask.persist(X, y)
        dask.compute(X.sum(), y.sum())  # placed before the clock starts
        epochs = []
        run_epoch = _dask._Steps.run_epoch

        def timed_epoch(self):
            import dask as _d
            from dask.sizeof import sizeof

            before = sum(client.run(lambda dask_worker: dask_worker.transfer_outgoing_bytes_total
                                    ).values())  # fmt: skip
            t = time.perf_counter()
            state_bytes = sizeof(self.state) if self.state is not None else 0
            # the epoch, as _Steps.run_epoch runs it, with its parts timed
            out = run_epoch(self)
            seconds = time.perf_counter() - t
            after = sum(client.run(lambda dask_worker: dask_worker.transfer_outgoing_bytes_total
                                   ).values())  # fmt: skip
            epochs.append(
                {
                    "seconds": seconds,
                    "moved": after - before,
                    "state_bytes": state_bytes,
                    "shard_seconds": list(self._last_seconds),
                }  # fmt: skip
            )
            del _d
            return out

        _dask._Steps.run_epoch = timed_epoch
        try:
            est = SGDClassifier(loss="log_loss", max_iter=args.epochs, tol=None, random_state=0)
            timing = timed_fit(est, X, y)
        finally:
            _dask._Steps.run_epoch = run_epoch
        return est, timing, epochs


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=8_000_000)
    p.add_argument("--cols", type=int, default=50)
    p.add_argument("--shards", type=int, default=16)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--bench-python", default=DEFAULT_BENCH_PYTHON)
    p.add_argument("_child", nargs="*")
    args = p.parse_args()
    if args._child:
        print(json.dumps(child_dask_ml(json.loads(args._child[-1]))), flush=True)
        return
    import dask

    from fastsgd import SGDClassifier, objective
    from fastsgd.benchmarking import cpu_name, timed_fit

    print("CPU: %s (%d logical CPUs)" % (cpu_name(), os.cpu_count()))
    print("command: python %s" % " ".join(sys.argv))
    n, d, S, E = args.rows, args.cols, args.shards, args.epochs
    print("%d x %d float64 (%.2f GB), %d shards, %d epochs\n" % (n, d, n * d * 8 / 1e9, S, E))

    results = {}
    for workers in (1, 2):
        est, timing, epochs = fastsgd_on_cluster(workers, args)
        steady = [e for e in epochs[1:]] or epochs
        sec = np.mean([e["seconds"] for e in steady])
        shard = np.mean([sum(e["shard_seconds"]) for e in steady])
        results[workers] = (est, timing, sec)
        print(
            "fastsgd on %d worker(s): fit %.2f s, steady epoch %.3f s (report interval %.3f s); "
            "engine time summed over shards %.3f s per epoch; workers sent %d B per "
            "epoch (the shards' states, to the client); weights sent %d B x %d tasks"
            % (workers, timing.fit_seconds, sec, timing.epoch_seconds, shard,
               int(np.mean([e["moved"] for e in steady])), int(steady[-1]["state_bytes"]), S)
        )  # fmt: skip
    eff = results[1][2] / (2 * results[2][2])
    same = np.array_equal(results[1][0].coef_, results[2][0].coef_)
    print("scaling efficiency 1 -> 2 workers: %.2f; coef_ bit-identical: %s" % (eff, same))

    with dask.config.set(scheduler="threads"):
        X, y = make(n, d, S)
        Xn, yn = dask.compute(X, y)
    floor = min(_timed(Xn.sum) for _ in range(3))
    kw = dict(loss="log_loss", max_iter=E, tol=None, random_state=0)
    one = timed_fit(SGDClassifier(n_jobs=1, **kw), Xn, yn)
    shards = timed_fit(SGDClassifier(parallel="shards", n_shards=S, n_jobs=2, **kw), Xn, yn)
    print("X.sum() floor %.3f s" % floor)
    print("one process, per-sample, 1 thread: steady epoch %.3f s" % one.epoch_seconds)
    print("one process, parallel='shards' (%d), 2 threads: steady epoch %.3f s"
          % (S, shards.epoch_seconds))  # fmt: skip
    dist = results[2][0]
    ref = SGDClassifier(**kw).fit(Xn, yn)
    print("objective: Dask %.5f, one process %.5f; train accuracy %.4f, %.4f"
          % (objective(dist, Xn, yn), objective(ref, Xn, yn), dist.score(Xn, yn),
             ref.score(Xn, yn)))  # fmt: skip
    del Xn, yn

    if os.path.exists(args.bench_python):
        a = {"rows": n, "cols": d, "shards": S, "epochs": E}
        out = subprocess.run(
            [args.bench_python, os.path.abspath(__file__), "_child", "dask-ml", json.dumps(a)],
            capture_output=True, text=True,
        )  # fmt: skip
        if out.returncode == 0:
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print("dask-ml Incremental, 2 workers: %d passes %.2f s, %.3f s per pass"
                  % (E, r["seconds"], r["seconds"] / E))  # fmt: skip
        else:
            print("dask-ml FAILED:", out.stderr[-2000:])


def _timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
