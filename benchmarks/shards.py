"""Shard-parallel per-sample SGD (parallel="shards") against the sequential fit.

Side by side in one process, the fits interleaved within every repeat: the
steady epoch (interval between epoch reports) and the whole fit() time of the
sequential per-sample fit (n_jobs=1) and of the shard-parallel fit with
n_jobs=1 and n_jobs=2, against the one-pass floor (X.sum()); the final
objective (fastsgd.objective) and held-out accuracy of each.

    python benchmarks/shards.py                      # 1,000,000 x 100, both dtypes
    python benchmarks/shards.py --rows 200000 --repeat 1
"""

import argparse
import platform

import numpy as np

import fastsgd
from fastsgd.benchmarking import make_classification_data, memory_floor, timed_fit, train_test_views


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows, 20%% held out")
    parser.add_argument("--cols", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3, help="repeats; best reported")
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"])
    parser.add_argument("--n-shards", type=int, default=None, help="default: the estimator's")
    args = parser.parse_args(argv)

    configs = {
        "sequential, n_jobs=1": dict(n_jobs=1),
        "shards, n_jobs=1": dict(n_jobs=1, parallel="shards", n_shards=args.n_shards),
        "shards, n_jobs=2": dict(n_jobs=2, parallel="shards", n_shards=args.n_shards),
    }
    print(
        "fastsgd %s, %s, kernels %s"
        % (
            fastsgd.__version__,
            platform.processor() or platform.machine(),
            fastsgd._engine.kernels_name(),
        )
    )
    for dtype in args.dtypes:
        X, y = make_classification_data(args.rows, args.cols, dtype, seed=0)
        Xtr, Xte, ytr, yte = train_test_views(X, y)
        best = {name: (np.inf, np.inf) for name in configs}
        models = {}
        floor = np.inf
        for _ in range(args.repeat):
            floor = min(floor, memory_floor(Xtr, repeat=5))
            for name, extra in configs.items():
                est = fastsgd.SGDClassifier(
                    loss="log_loss",
                    alpha=1e-4,
                    max_iter=args.epochs,
                    tol=None,
                    random_state=0,
                    **extra,
                )
                timing = timed_fit(est, Xtr, ytr)
                epoch, fit = best[name]
                best[name] = (min(epoch, timing.epoch_seconds), min(fit, timing.fit_seconds))
                models[name] = est
        seq_epoch = best["sequential, n_jobs=1"][0]
        seq_obj = fastsgd.objective(models["sequential, n_jobs=1"], Xtr, ytr)
        seq_acc = models["sequential, n_jobs=1"].score(Xte, yte)
        n_shards = models["shards, n_jobs=1"]._shard_count(Xtr.shape[0])
        print()
        print(
            "%s, %d x %d (%d training rows), %d epochs, %d shards, floor %.1f ms"
            % (dtype, args.rows, args.cols, Xtr.shape[0], args.epochs, n_shards, floor * 1e3)
        )
        print(
            "| configuration | epoch (ms) | epoch / floor | epoch / sequential | fit (s) "
            "| fit / floor | objective | vs sequential | accuracy | vs sequential |"
        )
        print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        for name, (epoch, fit) in best.items():
            est = models[name]
            obj, acc = fastsgd.objective(est, Xtr, ytr), est.score(Xte, yte)
            print(
                "| %s | %.1f | %.2f | %.2f | %.3f | %.1f | %.6f | %+.2f%% | %.4f | %+.4f |"
                % (
                    name,
                    epoch * 1e3,
                    epoch / floor,
                    epoch / seq_epoch,
                    fit,
                    fit / floor,
                    obj,
                    100 * (obj / seq_obj - 1),
                    acc,
                    acc - seq_acc,
                )
            )


if __name__ == "__main__":
    main()
