"""Do the batch modes' defaults converge?  (issue 18, item 5)

1. Relative suboptimality of the regularised objective after 20 epochs, every
   optimizer with its defaults (learning_rate="optimal"), standardised
   20,000 x 20 data, alpha 1e-3, against scipy's L-BFGS optimum of the same
   objective: logistic (SGDClassifier) and squared loss (SGDRegressor with
   learning_rate="optimal"), batch sizes 16, 64 and 256, the worst of --seeds
   seeds.
2. 5-fold cross-validated accuracy on scikit-learn's bundled data sets (iris,
   wine, breast cancer, digits; standardised in a pipeline) against the exact
   solver of the same objective: LogisticRegression with C = 1 / (alpha
   n_train), one-vs-rest or multinomial as the SGD model; the worst
   difference per optimizer over batch sizes 32, 256 and "full", with the
   default tol and with tol=None (max_iter 300).

    python benchmarks/defaults.py             # both parts, about a minute
    python benchmarks/defaults.py --part 1
"""

import argparse
import os
import sys
import warnings

import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
    make_regression,
)
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastsgd import SGDClassifier, SGDRegressor, objective

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from _reference import OPTIMIZERS, lbfgs_optimum  # noqa: E402

ALPHA = 1e-3


def part1(seeds):
    Xc, yc = make_classification(n_samples=20000, n_features=20, random_state=0)
    Xc = StandardScaler().fit_transform(Xc)
    Xr, yr = make_regression(n_samples=20000, n_features=20, noise=10, random_state=0)
    Xr = StandardScaler().fit_transform(Xr)
    yr = (yr - yr.mean()) / yr.std()
    options = dict(maxiter=20000, gtol=1e-12, ftol=1e-16)
    f_log = lbfgs_optimum(Xc, yc, "log_loss", ALPHA, **options).fun
    f_sq = lbfgs_optimum(Xr, yr, "squared_error", ALPHA, **options).fun
    print("1. (f - f*) / f* after 20 epochs, defaults, worst of %d seeds" % seeds)
    print("%-9s %5s %10s %10s" % ("optimizer", "batch", "logistic", "squared"))
    for optimizer in OPTIMIZERS:
        for bs in (16, 64, 256):
            worst = [0.0, 0.0]
            for seed in range(seeds):
                kw = dict(
                    alpha=ALPHA,
                    batch_size=bs,
                    optimizer=optimizer,
                    max_iter=20,
                    tol=None,
                    random_state=seed,
                )
                est = SGDClassifier(loss="log_loss", **kw).fit(Xc, yc)
                worst[0] = max(worst[0], (objective(est, Xc, yc) - f_log) / f_log)
                est = SGDRegressor(learning_rate="optimal", **kw).fit(Xr, yr)
                worst[1] = max(worst[1], (objective(est, Xr, yr) - f_sq) / f_sq)
            print("%-9s %5d %10.1e %10.1e" % (optimizer, bs, worst[0], worst[1]), flush=True)


def part2():
    warnings.simplefilter("ignore")
    sets = [
        ("iris", load_iris),
        ("wine", load_wine),
        ("breast_cancer", load_breast_cancer),
        ("digits", load_digits),
    ]
    for tol_name, extra in (("default tol", {}), ("tol=None", dict(tol=None, max_iter=300))):
        print(
            "\n2. 5-fold accuracy - LogisticRegression's, worst over batch 32/256/full, " + tol_name
        )
        print("%-14s %7s %7s  %s" % ("data", "LR ovr", "LR mult", "per optimizer"))
        for name, load in sets:
            X, y = load(return_X_y=True)
            C = 1.0 / (1e-4 * int(0.8 * len(y)))

            def cv(est, X=X, y=y):
                return cross_val_score(make_pipeline(StandardScaler(), est), X, y, cv=5).mean()

            ref = {
                "ovr": cv(OneVsRestClassifier(LogisticRegression(C=C, max_iter=10000))),
                "multinomial": cv(LogisticRegression(C=C, max_iter=10000)),
            }
            modes = ["ovr", "multinomial"] if len(np.unique(y)) > 2 else ["ovr"]
            worst = {}
            for optimizer in OPTIMIZERS:
                for bs in (32, 256, "full"):
                    for mc in modes:
                        est = SGDClassifier(
                            loss="log_loss",
                            optimizer=optimizer,
                            batch_size=bs,
                            multi_class=mc,
                            random_state=0,
                            **extra,
                        )
                        diff = cv(est) - ref[mc]
                        if optimizer not in worst or diff < worst[optimizer][0]:
                            worst[optimizer] = (diff, bs, mc[:3])
            print(
                "%-14s %7.3f %7.3f  %s"
                % (
                    name,
                    ref["ovr"],
                    ref["multinomial"],
                    " ".join("%s %+.3f" % (o, w[0]) for o, w in worst.items()),
                ),
                flush=True,
            )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", type=int, choices=(1, 2), default=None)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    if args.part in (None, 1):
        part1(args.seeds)
    if args.part in (None, 2):
        part2()


if __name__ == "__main__":
    main()
