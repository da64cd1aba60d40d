#!/usr/bin/env python
"""fastsgd vs scikit-learn SGDClassifier, side by side in one run.

Fits scikit-learn's SGDClassifier and fastsgd's (default block shuffle, plus
shuffle_mode="full" and shuffle=False for information) with the same settings
on dense generated data in float64 and float32, interleaving the repeats so
that the ratios are meaningful on a noisy shared machine.  Also times one
NumPy ``X.sum()`` over the training array (the memory-bandwidth floor of an
epoch) and measures the extra peak memory of a fit in a fresh child process.

Writes a Markdown report (and a PNG bar chart of the speed-ups when
matplotlib is importable).  Run ``python benchmarks/compare.py --help``.
"""

import argparse
import datetime
import gc
import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

from fastsgd import objective
from fastsgd.benchmarking import (
    cpu_name,
    make_classification_data,
    memory_floor,
    n_cpus,
    timed_fit,
    train_test_views,
)

HERE = Path(__file__).resolve().parent
ALPHA = 1e-4

# (key, label, estimator family, extra parameters)
VARIANTS = [
    ("sklearn", "scikit-learn", "sklearn", {}),
    ("fastsgd", "fastsgd (default: block shuffle)", "fastsgd", {"shuffle_mode": "block"}),
    ("fastsgd-full", 'fastsgd, shuffle_mode="full"', "fastsgd", {"shuffle_mode": "full"}),
    ("fastsgd-noshuffle", "fastsgd, shuffle=False", "fastsgd", {"shuffle": False}),
]
TARGETS = {
    "speedup": 10.0,  # sklearn epoch / fastsgd epoch >= 10
    "floor": 1.5,  # fastsgd epoch / floor <= 1.5
    "objective": 0.01,  # |relative difference of the final objective| <= 1%
    "memory": 0.2,  # extra peak memory during fit / X.nbytes <= 0.2
}


def common_params(args):
    return dict(
        loss="log_loss",
        penalty="l2",
        alpha=ALPHA,
        max_iter=args.epochs,
        tol=None,
        shuffle=True,
        early_stopping=False,
        random_state=args.seed,
        n_jobs=1,
    )


def make_estimator(family, params):
    if family == "sklearn":
        from sklearn.linear_model import SGDClassifier
    else:
        from fastsgd import SGDClassifier
    return SGDClassifier(**params)


# ----------------------------------------------------------------------------
# peak memory, measured in a fresh child process
def _proc_status_kib(*keys):
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in keys:
                out[name] = int(value.split()[0])
    return out


def _memory_child(config):
    """Runs in the child: data, warm-up, baseline, fit, peak.  Prints JSON."""
    import resource

    rows, cols, dtype, seed = config["rows"], config["cols"], config["dtype"], config["seed"]
    X, y = make_classification_data(rows, cols, np.dtype(dtype), seed)
    X_train, _, y_train, _ = train_test_views(X, y)
    params = dict(config["params"])
    # warm-up on a few rows: lazy imports and one-off allocations are not the fit's
    warm = dict(params, max_iter=1)
    make_estimator(config["family"], warm).fit(X_train[:2000], y_train[:2000])
    est = make_estimator(config["family"], params)
    gc.collect()

    method = "ru_maxrss"
    baseline = None
    if os.path.exists("/proc/self/status"):
        baseline = _proc_status_kib("VmRSS")["VmRSS"] * 1024
        try:  # reset the high-water mark to the current RSS (Linux >= 4.0)
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            hwm = _proc_status_kib("VmHWM")["VmHWM"] * 1024
            method = "VmHWM reset" if hwm <= baseline + (8 << 20) else "VmHWM"
        except OSError:
            method = "VmHWM"
        if method == "VmHWM":  # no reset: only growth beyond the earlier peak is seen
            baseline = _proc_status_kib("VmHWM")["VmHWM"] * 1024
    if baseline is None:
        scale = 1 if sys.platform == "darwin" else 1024
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale

    est.fit(X_train, y_train)

    if method.startswith("VmHWM"):
        peak = _proc_status_kib("VmHWM")["VmHWM"] * 1024
    else:
        scale = 1 if sys.platform == "darwin" else 1024
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    print(
        json.dumps(dict(baseline=baseline, peak=peak, x_nbytes=int(X_train.nbytes), method=method))
    )


def measure_extra_memory(args, dtype, family, params):
    config = dict(
        rows=args.rows, cols=args.cols, dtype=dtype, seed=args.seed, family=family, params=params
    )
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--_memory-child", json.dumps(config)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        print("  memory measurement failed:\n" + proc.stderr, file=sys.stderr)
        return None
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["extra"] = max(0, out["peak"] - out["baseline"])
    out["ratio"] = out["extra"] / out["x_nbytes"]
    return out


# ----------------------------------------------------------------------------
# one dtype
def run_dtype(args, dtype):
    print("== %s: generating %s x %s ..." % (dtype, f"{args.rows:,}", f"{args.cols:,}"), flush=True)
    X, y = make_classification_data(args.rows, args.cols, np.dtype(dtype), args.seed)
    X_train, X_test, y_train, y_test = train_test_views(X, y)
    base = common_params(args)

    # warm-up (lazy imports, first-call costs), not timed
    for _, _, family, extra in VARIANTS:
        make_estimator(family, dict(base, **extra, max_iter=1)).fit(X_train[:2000], y_train[:2000])

    best = {key: {"fit": np.inf, "epoch": np.inf} for key, *_ in VARIANTS}
    fitted = {}
    floors = []
    for rep in range(args.repeat):
        for key, label, family, extra in VARIANTS:
            est = make_estimator(family, dict(base, **extra))
            timing = timed_fit(est, X_train, y_train)
            best[key]["fit"] = min(best[key]["fit"], timing.fit_seconds)
            best[key]["epoch"] = min(best[key]["epoch"], timing.epoch_seconds)
            fitted[key] = est
            print(
                "  rep %d/%d  %-34s fit %8.3f s   epoch %9.2f ms"
                % (rep + 1, args.repeat, label, timing.fit_seconds, 1e3 * timing.epoch_seconds),
                flush=True,
            )
        floors.append(memory_floor(X_train, repeat=args.floor_repeat))
    floor = min(floors)
    print(
        "  floor: X_train.sum() best of %d: %.2f ms"
        % (args.repeat * args.floor_repeat, 1e3 * floor),
        flush=True,
    )

    rows = {}
    for key, *_ in VARIANTS:
        est = fitted[key]
        rows[key] = dict(
            best[key],
            objective=objective(est, X_train, y_train),
            accuracy=float(est.score(X_test, y_test)),
            n_iter=int(est.n_iter_),
        )
    info = dict(
        x_train_nbytes=int(X_train.nbytes),
        n_train=X_train.shape[0],
        n_test=X_test.shape[0],
        floor=floor,
    )
    del X, y, X_train, X_test, y_train, y_test, fitted, est
    gc.collect()

    if not args.no_memory:
        for key, family, mem_params in [
            ("fastsgd", "fastsgd", dict(base, shuffle_mode="block")),
            # memory does not depend on the number of epochs: one is enough
            ("sklearn", "sklearn", dict(base, max_iter=1)),
        ]:
            mem = measure_extra_memory(args, dtype, family, mem_params)
            rows[key]["memory"] = mem
            if mem is not None:
                print(
                    "  extra peak memory during %s fit: %.1f MiB = %.3f x X_train (%s)"
                    % (family, mem["extra"] / 2**20, mem["ratio"], mem["method"]),
                    flush=True,
                )
    return rows, info


# ----------------------------------------------------------------------------
# report
def _git_revision():
    try:
        rev = subprocess.run(
            ["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if rev.returncode != 0:
            return None
        # the reports themselves (benchmarks/results*) do not count: they are
        # rewritten before this is asked
        dirty = subprocess.run(
            [
                "git",
                "-C",
                str(HERE),
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ":/",
                ":(top,exclude,glob)benchmarks/results*",
            ],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return rev.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _mark(ok):
    return "met" if ok else "**missed**"


def command_line():
    """The exact command line of this run, as the reports print it."""
    return shlex.join(getattr(sys, "orig_argv", [sys.executable] + sys.argv))


def environment_lines(extra_versions=()):
    """The reports' two Markdown bullets: date and machine, then versions.

    ``extra_versions``: more "name version" strings, after fastsgd's.
    """
    import scipy
    import sklearn

    import fastsgd

    git = _git_revision()
    versions = [
        "Python %s" % platform.python_version(),
        "numpy %s" % np.__version__,
        "scipy %s" % scipy.__version__,
        "scikit-learn %s" % sklearn.__version__,
        "fastsgd %s (OpenMP %s, kernels %s)"
        % (
            fastsgd.__version__,
            "on" if fastsgd.openmp_enabled() else "off",
            fastsgd._engine.kernels_name(),
        ),
        *extra_versions,
    ]
    if git:
        versions.append("git %s" % git)
    return [
        "- Date: %s; host: %s, %s CPUs available; %s %s"
        % (
            datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            cpu_name(),
            n_cpus(),
            platform.system(),
            platform.release(),
        ),
        "- " + ", ".join(versions),
    ]


def build_markdown(args, results, png_rel):
    some = next(iter(results.values()))[1]
    md = [
        "# fastsgd vs scikit-learn: SGDClassifier benchmark",
        "",
        "Command:",
        "",
        "```",
        command_line(),
        "```",
        "",
        *environment_lines(),
        "- Data: %s x %s dense standard-normal features, labels from a noisy random linear "
        "model; %s training rows (fitted), %s held-out rows (accuracy)."
        % (f"{args.rows:,}", f"{args.cols:,}", f"{some['n_train']:,}", f"{some['n_test']:,}"),
        '- Every fit: loss="log_loss", penalty="l2", alpha=%g, max_iter=%d, tol=None, '
        "shuffle=True, early_stopping=False, random_state=%d, n_jobs=1 (variants below). "
        "Best of %d repeats, estimators interleaved within each repeat."
        % (ALPHA, args.epochs, args.seed, args.repeat),
        "",
        "## Results",
        "",
        "| dtype | estimator | fit (s) | epoch (ms) | speed-up vs sklearn | epoch / floor "
        "| final objective | rel. diff vs sklearn | test accuracy | extra peak memory / X |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for dtype, (rows, info) in results.items():
        sk = rows["sklearn"]
        for key, label, *_ in VARIANTS:
            r = rows[key]
            mem = r.get("memory")
            md.append(
                "| %s | %s | %.3f | %.1f | %s | %.2f | %.6f | %s | %.4f | %s |"
                % (
                    dtype,
                    label,
                    r["fit"],
                    1e3 * r["epoch"],
                    "—" if key == "sklearn" else "%.1f×" % (sk["epoch"] / r["epoch"]),
                    r["epoch"] / info["floor"],
                    r["objective"],
                    "—"
                    if key == "sklearn"
                    else "%+.2e" % ((r["objective"] - sk["objective"]) / sk["objective"]),
                    r["accuracy"],
                    "%.3f" % mem["ratio"] if mem else "—",
                )
            )
    md += [
        "",
        "Floor, best `X_train.sum()` over %d runs: " % (args.repeat * args.floor_repeat)
        + ", ".join(
            "%s %.2f ms (%.0f MiB)" % (dt, 1e3 * info["floor"], info["x_train_nbytes"] / 2**20)
            for dt, (_, info) in results.items()
        )
        + ".",
        "",
        "## Targets",
        "",
        'For the default fastsgd configuration (shuffle_mode="block"). Informational: '
        "nothing is asserted.",
        "",
        "| target | " + " | ".join(results) + " |",
        "|---|" + "--:|" * len(results),
    ]
    cells = {"speedup": [], "floor": [], "objective": [], "memory": []}
    for rows, info in results.values():
        fs, sk = rows["fastsgd"], rows["sklearn"]
        s = sk["epoch"] / fs["epoch"]
        cells["speedup"].append("%.1f× %s" % (s, _mark(s >= TARGETS["speedup"])))
        f = fs["epoch"] / info["floor"]
        cells["floor"].append("%.2f× %s" % (f, _mark(f <= TARGETS["floor"])))
        d = (fs["objective"] - sk["objective"]) / sk["objective"]
        cells["objective"].append("%+.3f%% %s" % (100 * d, _mark(abs(d) <= TARGETS["objective"])))
        mem = fs.get("memory")
        cells["memory"].append(
            "%.3f× %s" % (mem["ratio"], _mark(mem["ratio"] <= TARGETS["memory"]))
            if mem
            else "not measured"
        )
    labels = {
        "speedup": "per-sample epoch ≥ %g× faster than sklearn" % TARGETS["speedup"],
        "floor": "epoch ≤ %g× the floor" % TARGETS["floor"],
        "objective": "final objective within %g%% of sklearn's" % (100 * TARGETS["objective"]),
        "memory": "extra peak memory during fit ≤ %g× X" % TARGETS["memory"],
    }
    for key, label in labels.items():
        md.append("| %s | %s |" % (label, " | ".join(cells[key])))
    md += [
        "",
        "## Definitions",
        "",
        "- **fit**: wall-clock time of `fit()` (input validation included), best over repeats.",
        "- **epoch**: mean interval between successive epoch reports of a `verbose=1` fit "
        "(steady-state epoch time, without validation or set-up), best over repeats.",
        "- **speed-up**: sklearn epoch / this row's epoch.",
        "- **floor**: one streaming NumPy pass over the training array, `X_train.sum()`; "
        "**epoch / floor** is this row's epoch divided by it.",
        "- **final objective**: mean log loss on the training rows + alpha/2·‖w‖², computed "
        "by `fastsgd.objective` from `coef_` and `intercept_`, identically for every row; the "
        "relative difference is against sklearn's (shuffle=True) fit.",
        "- **extra peak memory / X**: (peak RSS during `fit` − RSS before it) / `X_train.nbytes`, "
        "measured in a fresh child process after the data are generated and a small warm-up "
        "fit; on Linux the RSS high-water mark is reset just before the fit "
        "(`/proc/self/clear_refs`). sklearn's is measured on a 1-epoch fit.",
    ]
    if png_rel:
        md += ["", "![speed-up per epoch vs scikit-learn](%s)" % png_rel]
    return "\n".join(md) + "\n"


def write_png(path, args, results):
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed: no chart written")
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = [(key, label) for key, label, family, _ in VARIANTS if family == "fastsgd"]
    dtypes = list(results)
    width = 0.8 / len(variants)
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (key, label) in enumerate(variants):
        xs = [j + (i - (len(variants) - 1) / 2) * width for j in range(len(dtypes))]
        ys = [results[dt][0]["sklearn"]["epoch"] / results[dt][0][key]["epoch"] for dt in dtypes]
        bars = ax.bar(xs, ys, width, label=label)
        ax.bar_label(bars, fmt="%.1f×", fontsize=8)
    ax.axhline(
        TARGETS["speedup"],
        color="grey",
        linestyle="--",
        linewidth=1,
        label="target %g×" % TARGETS["speedup"],
    )
    ax.set_xticks(range(len(dtypes)), dtypes)
    ax.set_ylabel("speed-up per epoch vs scikit-learn")
    ax.set_title(
        "SGDClassifier(log_loss), %s × %s, %d epochs"
        % (f"{args.rows:,}", f"{args.cols:,}", args.epochs)
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


# ----------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="compare.py",
        description="Benchmark fastsgd.SGDClassifier against scikit-learn's, side by side.",
    )
    p.add_argument(
        "--rows",
        type=int,
        default=1_000_000,
        help="rows, 20%% held out for accuracy (default: 1,000,000)",
    )
    p.add_argument("--cols", type=int, default=100, help="features (default: 100)")
    p.add_argument("--epochs", type=int, default=5, help="max_iter, with tol=None (default: 5)")
    p.add_argument(
        "--dtypes",
        nargs="+",
        choices=("float64", "float32"),
        default=["float64", "float32"],
        help="dtypes of X (default: both)",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="repeats of every fit; the best is reported (default: 3)",
    )
    p.add_argument(
        "--floor-repeat", type=int, default=5, help="X_train.sum() timings per repeat (default: 5)"
    )
    p.add_argument("--seed", type=int, default=0, help="data and shuffling seed (default: 0)")
    p.add_argument(
        "--markdown",
        type=Path,
        default=HERE / "results.md",
        help="Markdown report (default: benchmarks/results.md)",
    )
    p.add_argument(
        "--png",
        type=Path,
        default=None,
        help="bar chart of the speed-ups, needs matplotlib (default: the Markdown path with .png)",
    )
    p.add_argument("--no-png", action="store_true", help="do not draw the chart")
    p.add_argument(
        "--no-memory",
        action="store_true",
        help="skip the peak-memory measurements (child processes)",
    )
    p.add_argument("--_memory-child", dest="memory_child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.memory_child is None:
        if (
            args.rows < 10
            or args.cols < 1
            or args.epochs < 1
            or args.repeat < 1
            or args.floor_repeat < 1
        ):
            p.error(
                "need --rows >= 10, --cols >= 1, --epochs >= 1, --repeat >= 1, --floor-repeat >= 1"
            )
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.memory_child is not None:
        _memory_child(json.loads(args.memory_child))
        return 0

    results = {}
    for dtype in dict.fromkeys(args.dtypes):
        results[dtype] = run_dtype(args, dtype)

    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    png_rel = None
    if not args.no_png:
        png = args.png or args.markdown.with_suffix(".png")
        if write_png(png, args, results):
            png_rel = os.path.relpath(png.resolve(), args.markdown.resolve().parent)
            print("chart written to %s" % png)
    md = build_markdown(args, results, png_rel)
    args.markdown.write_text(md, encoding="utf-8")
    print()
    start = md.index("## Results")
    print(md[start : md.index("## Definitions")].rstrip())
    print()
    print("report written to %s" % args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
