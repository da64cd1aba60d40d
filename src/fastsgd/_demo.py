"""``python -m fastsgd demo``: fastsgd and scikit-learn side by side.

Generates a dense binary classification problem, fits fastsgd.SGDClassifier
and sklearn.linear_model.SGDClassifier with the same settings, and prints
per-epoch progress and a summary (fit time, time per epoch, speed-up, the
memory-bandwidth floor of one pass over the data, held-out accuracy, final
objective).

The final objective is ``fastsgd.objective``'s; the data, the floor and the
timing are ``fastsgd.benchmarking``'s, as in the benchmark scripts.  Only
numpy, scipy, scikit-learn and fastsgd are needed.
"""

import argparse
import time

import numpy as np

from .benchmarking import (
    make_classification_data,
    memory_floor,
    n_cpus,
    timed_fit,
    train_test_views,
)

LOSSES = ("log_loss", "hinge", "modified_huber", "squared_hinge", "perceptron")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw")
ALPHA = 1e-4


# ----------------------------------------------------------------------------
# the demo
def add_arguments(parser):
    parser.add_argument(
        "--rows",
        type=int,
        default=1_000_000,
        help="number of rows, 20%% held out for testing (default: 1,000,000)",
    )
    parser.add_argument("--cols", type=int, default=100, help="number of features (default: 100)")
    parser.add_argument(
        "--dtype",
        choices=("float64", "float32"),
        default="float64",
        help="dtype of X (default: float64)",
    )
    parser.add_argument(
        "--epochs", type=int, default=5, help="epochs: max_iter with tol=None (default: 5)"
    )
    parser.add_argument(
        "--loss", choices=LOSSES, default="log_loss", help="loss (default: log_loss)"
    )
    parser.add_argument(
        "--penalty",
        choices=("l2", "l1", "elasticnet", "none"),
        default="l2",
        help="penalty of both models (default: l2)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the data and of both models' shuffling (default: 0)",
    )
    parser.add_argument(
        "--batch-size",
        type=_batch_size,
        default=1,
        help="fastsgd's batch_size: 1 (per-sample, default), a number of rows, "
        "or 'full'; scikit-learn always runs per-sample",
    )
    parser.add_argument(
        "--optimizer", choices=OPTIMIZERS, default="sgd", help="fastsgd's optimizer (default: sgd)"
    )
    parser.add_argument(
        "--n-jobs", type=int, default=None, help="fastsgd's n_jobs (default: all cores)"
    )
    parser.add_argument("--no-sklearn", action="store_true", help="skip the scikit-learn fit")
    return parser


def _batch_size(text):
    if text == "full":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            "expected a positive integer or 'full', got %r" % text
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError("expected a positive integer or 'full', got %r" % text)
    return value


def _check_args(parser, args):
    if args.rows < 10:
        parser.error("--rows must be at least 10")
    if args.cols < 1:
        parser.error("--cols must be at least 1")
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")


def _penalty(args):
    return None if args.penalty == "none" else args.penalty


def _estimator_params(args):
    return dict(
        loss=args.loss,
        penalty=_penalty(args),
        alpha=ALPHA,
        max_iter=args.epochs,
        tol=None,
        shuffle=True,
        random_state=args.seed,
    )


def _fmt_bytes(n):
    if n >= 1 << 30:
        return "%.2f GiB" % (n / (1 << 30))
    return "%.1f MiB" % (n / (1 << 20))


def _fit_and_report(name, est, X, y, n_epochs):
    print(name)
    width = len(str(n_epochs))

    def on_epoch(epoch, objective, seconds):
        print(
            "  epoch %*d/%d   objective %.6f   elapsed %7.2f s"
            % (width, epoch, n_epochs, objective, seconds),
            flush=True,
        )

    timing = timed_fit(est, X, y, on_epoch)
    print("  fit done in %.2f s" % timing.fit_seconds, flush=True)
    return timing


def run(args):
    import sklearn
    from sklearn.linear_model import SGDClassifier as SkSGDClassifier

    import fastsgd

    dtype = np.dtype(args.dtype)
    print(
        "fastsgd %s demo (OpenMP %s) | numpy %s, scikit-learn %s, %d CPUs"
        % (
            fastsgd.__version__,
            "on" if fastsgd.openmp_enabled() else "off",
            np.__version__,
            sklearn.__version__,
            n_cpus(),
        )
    )

    t = time.perf_counter()
    X, y = make_classification_data(args.rows, args.cols, dtype, args.seed)
    gen_seconds = time.perf_counter() - t
    X_train, X_test, y_train, y_test = train_test_views(X, y)
    print(
        "Data: %s x %s %s, %s (generated in %.1f s); train %s rows, test %s rows"
        % (
            f"{args.rows:,}",
            f"{args.cols:,}",
            dtype.name,
            _fmt_bytes(X.nbytes),
            gen_seconds,
            f"{X_train.shape[0]:,}",
            f"{X_test.shape[0]:,}",
        )
    )
    params = _estimator_params(args)
    print("Model: " + ", ".join("%s=%r" % kv for kv in params.items()))
    print()

    extra = dict(batch_size=args.batch_size, optimizer=args.optimizer, n_jobs=args.n_jobs)
    if args.batch_size != 1 or args.optimizer != "sgd":
        print("fastsgd also: " + ", ".join("%s=%r" % kv for kv in extra.items()))
        print()
    fast = fastsgd.SGDClassifier(**params, **extra)
    fast_t = _fit_and_report(
        "fastsgd.SGDClassifier (shuffle_mode=%r)" % fast.shuffle_mode,
        fast,
        X_train,
        y_train,
        args.epochs,
    )
    sk = sk_t = None
    if not args.no_sklearn:
        sk = SkSGDClassifier(**params)
        sk_t = _fit_and_report(
            "sklearn.linear_model.SGDClassifier", sk, X_train, y_train, args.epochs
        )

    floor = memory_floor(X_train, repeat=3)

    # summary
    print()
    cols = ["fastsgd"] + (["scikit-learn"] if sk is not None else [])
    row = "  %-34s" + "%14s" * len(cols)
    print(row % (("Summary",) + tuple(cols)))

    def line(label, fmt, *values):
        cells = tuple(fmt % v for v in values) + ("",) * (len(cols) - len(values))
        print((row % ((label,) + cells)).rstrip())

    fits = [(fast, fast_t)] + ([(sk, sk_t)] if sk is not None else [])

    def ratio(label, value, fmt):
        if sk is not None:
            print(row % (label, "", fmt % value))

    line("fit time (s)", "%.2f", *[t.fit_seconds for _, t in fits])
    if sk is not None:
        ratio("  speed-up (sklearn / fastsgd)", sk_t.fit_seconds / fast_t.fit_seconds, "%.1fx")
    line("time per epoch (ms)", "%.1f", *[1e3 * t.epoch_seconds for _, t in fits])
    if sk is not None:
        ratio("  speed-up (sklearn / fastsgd)", sk_t.epoch_seconds / fast_t.epoch_seconds, "%.1fx")
    line("memory floor: X_train.sum() (ms)", "%.2f", 1e3 * floor)
    line("epoch / floor", "%.2fx", *[t.epoch_seconds / floor for _, t in fits])
    line("held-out accuracy", "%.4f", *[e.score(X_test, y_test) for e, _ in fits])
    objectives = [fastsgd.objective(e, X_train, y_train) for e, _ in fits]
    line("final objective (NumPy)", "%.6f", *objectives)
    if sk is not None:
        ratio("  relative difference", (objectives[0] - objectives[1]) / objectives[1], "%+.3e")
    print()
    print("Time per epoch: mean interval between epoch reports (excludes input validation).")
    print(
        "Memory floor: best of 3 X_train.sum(), one streaming pass over the %s training array."
        % _fmt_bytes(X_train.nbytes)
    )
    term = {
        "l2": " + alpha/2 ||w||^2",
        "l1": " + alpha ||w||_1",
        "none": "",
        "elasticnet": " + alpha ((1 - l1_ratio)/2 ||w||^2 + l1_ratio ||w||_1)",
    }[args.penalty]
    print("Objective: mean %s on the training rows%s, alpha=%g." % (args.loss, term, ALPHA))
    return 0


def main(argv=None, prog="python -m fastsgd demo"):
    parser = add_arguments(argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0]))
    args = parser.parse_args(argv)
    _check_args(parser, args)
    return run(args)
