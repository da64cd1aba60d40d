#!/usr/bin/env python
"""The batch engine's speed figures, side by side in one run.

Everything runs in one process on the same data, with the repeats
interleaved (each configuration once per repeat, the best of the repeats
reported), as in compare.py.  On dense generated data (``--rows`` x
``--cols``, default 1,000,000 x 100, fitted whole):

1. Adam on batches of 256 rows with ``n_jobs=2`` (and, for information,
   ``n_jobs=1`` and plain sgd), float64 and float32: time per epoch (the
   steady interval between epoch reports, as in compare.py, ``tol=None``)
   against the one-pass floor, the best ``X.sum()`` over the same array;
2. the float32 epoch against PyTorch's CPU Adam (``torch.nn.Linear`` +
   ``BCEWithLogitsLoss``, batch 256, 2 threads) on the same array; skipped,
   saying why, when torch is not importable;
3. ``n_jobs=2`` against ``n_jobs=1`` on ``--wide-rows`` x ``--wide-cols``
   (200,000 x 1,000) float64, Adam, batch 1024;
4. the time to reach 1e-3 relative suboptimality of the L2-regularised
   log-loss against scikit-learn's ``LogisticRegression()`` (lbfgs, defaults:
   C=1, which is alpha = 1 / n_samples in SGD's parametrisation), f* from a
   tight L-BFGS fit;
5. the thread crossover: ``n_jobs=2`` against ``n_jobs=1`` for batch sizes
   8 ... 4096, with the engine's serial threshold switched off
   (FASTSGD_PARALLEL_MIN_WORK=0).

Writes a Markdown report (default benchmarks/results_batch.md) and prints it.
Run ``python benchmarks/compare_batch.py --help``.
"""

import argparse
import functools
import os
import re
import sys
import time
import warnings
from collections import defaultdict
from importlib import metadata
from pathlib import Path

import numpy as np

from fastsgd import objective

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from compare import _mark, command_line, environment_lines, measure_extra_memory  # noqa: E402

from fastsgd.benchmarking import make_classification_data, memory_floor  # noqa: E402
from fastsgd.benchmarking import timed_fit as common_timed_fit  # noqa: E402

ALPHA = 1e-4  # items 1-3 and 5 (item 4 uses LogisticRegression's 1 / n_samples)
BATCH = 256  # items 1 and 2
THREADS = 2  # fastsgd's n_jobs and torch.set_num_threads in items 1 and 2
TARGETS = {"floor": 1.5, "torch": 20.0, "threads": 1.7, "lbfgs": 0.5, "suboptimality": 1e-3}
SECTIONS = ["adam", "threads", "lbfgs", "crossover"]  # the report's order (items 1-5)
RUN_ORDER = ["adam", "lbfgs", "crossover", "threads"]  # the first three share the float64 array

TORCH_STEP = dict(learning_rate="constant", eta0=1e-3)
# item 1: (label, parameters); the first is the one the targets are about
ADAM_CONFIGS = [
    # Adam's step as PyTorch's default (lr=1e-3), so that both fit the same steps
    ("adam, n_jobs=2", dict(optimizer="adam", batch_size=BATCH, n_jobs=2, **TORCH_STEP)),
    ("adam, n_jobs=1", dict(optimizer="adam", batch_size=BATCH, n_jobs=1, **TORCH_STEP)),
    ("sgd, n_jobs=2", dict(optimizer="sgd", batch_size=BATCH, n_jobs=2)),
]
# item 4: fastsgd configurations raced to f*(1 + 1e-3); each is fitted with
# max_iter = restart_epochs = E (one cosine decay over the run) for E = 1, 2, ...
LBFGS_CANDIDATES = [
    dict(optimizer="adam", batch_size=1024, eta0=0.03),
    dict(optimizer="adam", batch_size=256, eta0=0.01),
    dict(optimizer="sgd", batch_size=1024, eta0=3.0),
    dict(optimizer="sgd", batch_size=4096, eta0=10.0),
]
# item 5: the engine runs a fit on one thread when batch_size x stored values
# per row x outputs is below FSGD_PARALLEL_MIN_WORK (#defined in csrc/); the
# environment variable FASTSGD_PARALLEL_MIN_WORK overrides it
THRESHOLD_MACRO = "FSGD_PARALLEL_MIN_WORK"
OVERRIDE_ENV = "FASTSGD_PARALLEL_MIN_WORK"


# ----------------------------------------------------------------------------
# helpers
def fastsgd_clf(**params):
    """fastsgd.SGDClassifier(log_loss, L2, alpha=1e-4, tol=None, random_state=0) + params."""
    from fastsgd import SGDClassifier

    base = dict(loss="log_loss", penalty="l2", alpha=ALPHA, tol=None, random_state=0)
    return SGDClassifier(**{**base, **params})


def timed_fit(est, X, y):
    """Fits ``est``: (fit seconds, seconds per epoch).

    The epoch time is the steady interval between the epoch reports of a
    ``verbose=1`` fit (fastsgd.benchmarking.timed_fit), as in compare.py: input
    validation and set-up, paid once per fit, are not in it.
    """
    timing = common_timed_fit(est, X, y)
    return timing.fit_seconds, timing.epoch_seconds


def log_objective(coef, intercept, X, y, alpha):
    """fastsgd.objective of a binary logistic model given by its coefficients."""
    return objective(coef, X, y, intercept=intercept, loss="log_loss", alpha=alpha, classes=[0, 1])


@functools.cache
def dataset(rows, cols, dtype, seed):
    """(X, y) from make_classification_data, generated once per shape and dtype:
    the sections that share a shape fit the same array."""
    print("  generating %s x %s %s ..." % (f"{rows:,}", f"{cols:,}", dtype), flush=True)
    return make_classification_data(rows, cols, np.dtype(dtype), seed)


def keep_best(best, key, value):
    best[key] = min(best[key], value)


# ----------------------------------------------------------------------------
# 1 and 2: Adam, batch 256, against the floor and against PyTorch
def import_torch():
    """(torch, None), or (None, why it is not used)."""
    try:
        import torch
    except (ImportError, OSError) as exc:
        return None, "torch is not importable (%s: %s)" % (type(exc).__name__, exc)
    return torch, None


def torch_adam_fit(torch, X, y, epochs, seed):
    """A plain PyTorch training loop of the same model, the way one writes it.

    Logistic regression as ``torch.nn.Linear(n_features, 1)`` +
    ``BCEWithLogitsLoss`` (mean over the batch), ``torch.optim.Adam(lr=1e-3)``
    with weight decay ``ALPHA`` on the weights only (the objective fastsgd's
    Adam descends: L2 gradient ``alpha w`` added, intercept not penalised),
    batches of 256 rows drawn from the float32 tensor (``X`` itself, no copy)
    by indexing it with a fresh ``torch.randperm`` every epoch.

    Returns (seconds per epoch = loop time / epochs, final objective).
    """
    torch.manual_seed(seed)  # initial weights
    gen = torch.Generator().manual_seed(seed)  # permutations
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y.astype(np.float32)).unsqueeze(1)
    model = torch.nn.Linear(X.shape[1], 1)
    opt = torch.optim.Adam(
        [
            {"params": [model.weight], "weight_decay": ALPHA},
            {"params": [model.bias], "weight_decay": 0.0},
        ],
        lr=1e-3,
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    n = Xt.shape[0]
    t = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, BATCH):
            idx = perm[i : i + BATCH]
            opt.zero_grad()
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - t
    coef = model.weight.detach().numpy().astype(np.float64)
    intercept = model.bias.detach().numpy().astype(np.float64)
    return seconds / epochs, log_objective(coef, intercept, X, y, ALPHA)


def run_adam(args):
    out = {}
    torch, torch_skipped = (None, "--no-torch") if args.no_torch else import_torch()
    for dtype in args.dtypes:
        print(
            "== 1%s. Adam, batch %d, %s x %s %s"
            % (
                "-2" if dtype == "float32" else "",
                BATCH,
                f"{args.rows:,}",
                f"{args.cols:,}",
                dtype,
            ),
            flush=True,
        )
        X, y = dataset(args.rows, args.cols, dtype, args.seed)
        with_torch = dtype == "float32" and torch is not None
        # warm-ups (lazy imports, first calls), not timed
        for _, params in ADAM_CONFIGS:
            fastsgd_clf(max_iter=1, **params).fit(X[:5000], y[:5000])
        if with_torch:
            torch.set_num_threads(THREADS)
            torch_adam_fit(torch, X[:5000], y[:5000], 1, args.seed)

        epoch, fitted, floor = defaultdict(lambda: np.inf), {}, np.inf
        torch_objective = None
        for rep in range(args.repeat):
            for label, params in ADAM_CONFIGS:
                est = fastsgd_clf(max_iter=args.epochs, **params)
                _, sec = timed_fit(est, X, y)
                keep_best(epoch, label, sec)
                fitted[label] = est
                print(
                    "  rep %d/%d  %-22s %9.2f ms/epoch" % (rep + 1, args.repeat, label, 1e3 * sec),
                    flush=True,
                )
            if with_torch:
                sec, torch_objective = torch_adam_fit(torch, X, y, args.epochs, args.seed)
                keep_best(epoch, "torch", sec)
                print(
                    "  rep %d/%d  %-22s %9.2f ms/epoch"
                    % (rep + 1, args.repeat, "PyTorch Adam", 1e3 * sec),
                    flush=True,
                )
            floor = min(floor, memory_floor(X, repeat=args.floor_repeat))
        print(
            "  floor: X.sum() best of %d: %.2f ms" % (args.repeat * args.floor_repeat, 1e3 * floor),
            flush=True,
        )

        rows = {
            label: dict(epoch=epoch[label], objective=objective(fitted[label], X, y))
            for label, _ in ADAM_CONFIGS
        }
        if not args.no_memory:
            label, params = ADAM_CONFIGS[0]
            mem = measure_extra_memory(
                args,
                dtype,
                "fastsgd",
                dict(
                    loss="log_loss",
                    penalty="l2",
                    alpha=ALPHA,
                    tol=None,
                    random_state=0,
                    max_iter=args.epochs,
                    **params,
                ),
            )
            rows[label]["memory"] = mem
            if mem is not None:
                print(
                    "  extra peak memory during the %s fit: %.1f MiB = %.3f x X_train (%s)"
                    % (label, mem["extra"] / 2**20, mem["ratio"], mem["method"]),
                    flush=True,
                )
        torch_row = None
        if dtype == "float32":
            if with_torch:
                torch_row = dict(
                    epoch=epoch["torch"], objective=torch_objective, version=torch.__version__
                )
            else:
                print("  PyTorch skipped: %s" % torch_skipped, flush=True)
        out[dtype] = dict(
            rows=rows, floor=floor, torch=torch_row, torch_skipped=torch_skipped, nbytes=X.nbytes
        )
    return out


# ----------------------------------------------------------------------------
# 3: two threads against one on a wide problem
def run_threads(args):
    rows, cols = args.wide_rows, args.wide_cols
    print(
        "== 3. n_jobs 2 vs 1: %s x %s float64, Adam, batch 1024" % (f"{rows:,}", f"{cols:,}"),
        flush=True,
    )
    dataset.cache_clear()  # it runs last: the other sections' arrays are done with
    X, y = dataset(rows, cols, "float64", args.seed)

    def make(nj, e):
        return fastsgd_clf(
            optimizer="adam",
            batch_size=1024,
            n_jobs=nj,
            max_iter=e,
        )

    for nj in (1, 2):
        make(nj, 1).fit(X[:5000], y[:5000])  # warm-up
    epoch, floor = defaultdict(lambda: np.inf), np.inf
    for rep in range(args.repeat):
        for nj in (1, 2):
            _, sec = timed_fit(make(nj, args.epochs), X, y)
            keep_best(epoch, nj, sec)
            print(
                "  rep %d/%d  n_jobs=%d %9.2f ms/epoch" % (rep + 1, args.repeat, nj, 1e3 * sec),
                flush=True,
            )
        floor = min(floor, memory_floor(X, repeat=args.floor_repeat))
    return dict(epoch=dict(epoch), floor=floor, rows=rows, cols=cols)


# ----------------------------------------------------------------------------
# 4: time to 1e-3 suboptimality against LogisticRegression
def run_lbfgs(args):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    print(
        "== 4. time to %g suboptimality: %s x %s float64, alpha = 1/n"
        % (TARGETS["suboptimality"], f"{args.rows:,}", f"{args.cols:,}"),
        flush=True,
    )
    X, y = dataset(args.rows, args.cols, "float64", args.seed)
    alpha = 1.0 / X.shape[0]  # LogisticRegression(C=1) in SGD's parametrisation
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        exact = LogisticRegression(tol=1e-10, max_iter=100_000).fit(X, y)
    f_star = log_objective(exact.coef_, exact.intercept_, X, y, alpha)
    print(
        "  f* = %.10f (LogisticRegression(tol=1e-10), %d iterations, %.1f s)"
        % (f_star, exact.n_iter_[0], time.perf_counter() - t),
        flush=True,
    )
    target = f_star * (1 + TARGETS["suboptimality"])

    def candidate(config, epochs):
        return fastsgd_clf(
            alpha=alpha,
            learning_rate="cosine",
            n_jobs=THREADS,
            max_iter=epochs,
            restart_epochs=epochs,
            **config,
        )

    # the fewest epochs with which each candidate reaches the target
    found = []
    for config in LBFGS_CANDIDATES:
        candidate(config, 1).fit(X[:5000], y[:5000])  # warm-up
        for epochs in range(1, args.max_epochs_to_target + 1):
            est = candidate(config, epochs).fit(X, y)
            value = objective(est, X, y)
            if value <= target:
                found.append(dict(config=config, epochs=epochs, suboptimality=value / f_star - 1))
                break
        else:
            found.append(dict(config=config, epochs=None, suboptimality=value / f_star - 1))
        print(
            "  %-50s %s"
            % (
                _config_label(config),
                "reaches it in %d epochs" % epochs
                if found[-1]["epochs"]
                else "not in %d epochs (%.1e)"
                % (args.max_epochs_to_target, found[-1]["suboptimality"]),
            ),
            flush=True,
        )

    # timings, interleaved: LogisticRegression(), then every candidate that got there
    lbfgs_time, lbfgs_warned = np.inf, False
    for rep in range(args.repeat):
        t = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            lr = LogisticRegression().fit(X, y)
        seconds = time.perf_counter() - t
        lbfgs_time = min(lbfgs_time, seconds)
        lbfgs_warned |= any(issubclass(w.category, ConvergenceWarning) for w in caught)
        print(
            "  rep %d/%d  LogisticRegression()  %.3f s" % (rep + 1, args.repeat, seconds),
            flush=True,
        )
        for f in found:
            if f["epochs"]:
                seconds, _ = timed_fit(candidate(f["config"], f["epochs"]), X, y)
                f["seconds"] = min(f.get("seconds", np.inf), seconds)
                print(
                    "  rep %d/%d  %-50s %.3f s"
                    % (rep + 1, args.repeat, _config_label(f["config"]), seconds),
                    flush=True,
                )
    lbfgs_sub = log_objective(lr.coef_, lr.intercept_, X, y, alpha) / f_star - 1
    return dict(
        f_star=f_star,
        exact_iter=int(exact.n_iter_[0]),
        lbfgs_time=lbfgs_time,
        lbfgs_sub=lbfgs_sub,
        lbfgs_iter=int(lr.n_iter_[0]),
        lbfgs_warned=lbfgs_warned,
        candidates=found,
        n=X.shape[0],
    )


def _config_label(config):
    return ", ".join("%s=%r" % kv for kv in config.items())


# ----------------------------------------------------------------------------
# 5: the thread crossover
def parallel_threshold():
    """(value, file) of ``#define FSGD_PARALLEL_MIN_WORK`` in csrc/, or (None, None)."""
    pattern = re.compile(r"#define\s+%s\s+([0-9.eE+]+)" % THRESHOLD_MACRO)
    for path in sorted(
        p for p in (HERE.parent / "csrc").iterdir() if p.suffix in (".c", ".h", ".inc")
    ):
        m = pattern.search(path.read_text(encoding="utf-8", errors="replace"))
        if m:
            return float(m.group(1)), path.relative_to(HERE.parent).as_posix()
    return None, None


def crossover_summary(table):
    """Where n_jobs=2 starts to beat n_jobs=1, from the rows that really ran both."""
    forced = [r for r in table if r["forced"]]
    if not forced:
        return "no row ran n_jobs=2 on two threads"
    slower = [r for r in forced if r["t1"] / r["t2"] <= 1.0]
    if not slower:
        return "n_jobs=2 is faster at every measured size (from batch %d, work %s)" % (
            forced[0]["batch"],
            f"{forced[0]['work']:,}",
        )
    last = slower[-1]
    after = [r for r in forced if r["work"] > last["work"]]
    text = "n_jobs=2 is not faster up to batch %d (work %s)" % (last["batch"], f"{last['work']:,}")
    if after:
        text += "; faster from batch %d (work %s) on" % (after[0]["batch"], f"{after[0]['work']:,}")
    return text


def run_crossover(args):
    rows = args.crossover_rows or args.rows
    threshold, source = parallel_threshold()
    override = True  # the engine reads FASTSGD_PARALLEL_MIN_WORK (csrc/batch_engine.inc)
    print(
        "== 5. thread crossover: %s x %s float64, Adam; threshold %s (%s), %s"
        % (
            f"{rows:,}",
            f"{args.cols:,}",
            "unknown" if threshold is None else "%g" % threshold,
            source,
            "switched off with %s=0" % OVERRIDE_ENV
            if override
            else "not overridable in this build",
        ),
        flush=True,
    )
    X, y = dataset(rows, args.cols, "float64", args.seed)

    def make(bs, nj, e):
        return fastsgd_clf(
            optimizer="adam",
            batch_size=bs,
            n_jobs=nj,
            max_iter=e,
        )

    old = os.environ.get(OVERRIDE_ENV)
    if override:
        os.environ[OVERRIDE_ENV] = "0"
    epoch = defaultdict(lambda: np.inf)
    try:
        for bs in args.crossover_batches:
            for nj in (1, 2):
                make(bs, nj, 1).fit(X[:5000], y[:5000])  # warm-up
        for rep in range(args.repeat):
            for bs in args.crossover_batches:
                for nj in (1, 2):
                    _, sec = timed_fit(make(bs, nj, args.epochs), X, y)
                    keep_best(epoch, (bs, nj), sec)
                print(
                    "  rep %d/%d  batch %5d: n_jobs=1 %8.2f ms, n_jobs=2 %8.2f ms (best so far)"
                    % (rep + 1, args.repeat, bs, 1e3 * epoch[bs, 1], 1e3 * epoch[bs, 2]),
                    flush=True,
                )
    finally:
        if old is None:
            os.environ.pop(OVERRIDE_ENV, None)
        else:
            os.environ[OVERRIDE_ENV] = old
    table = []
    for bs in args.crossover_batches:
        work = min(bs, X.shape[0]) * X.shape[1]
        serial = threshold is not None and work < threshold
        table.append(
            dict(
                batch=bs,
                work=work,
                t1=epoch[bs, 1],
                t2=epoch[bs, 2],
                serial_by_default=serial,
                forced=override or not serial,
            )
        )
    return dict(
        rows=rows,
        threshold=threshold,
        source=source,
        override=override,
        table=table,
        summary=crossover_summary(table),
    )


# ----------------------------------------------------------------------------
# report
def build_markdown(args, res):
    try:
        torch_version = "torch %s" % metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = "torch not installed"
    md = [
        "# fastsgd batch engine: benchmark",
        "",
        "Command:",
        "",
        "```",
        command_line(),
        "```",
        "",
        *environment_lines([torch_version]),
        "- Data: dense standard-normal features, labels from a noisy random linear model "
        "(`fastsgd.benchmarking.make_classification_data`, seed %d), every row fitted. "
        "log_loss, L2, `tol=None`, `random_state=0`; alpha %g except in the "
        "LogisticRegression comparison. Best of %d repeats, the configurations of a section "
        "interleaved within each repeat; ms/epoch = steady interval between the epoch "
        "reports of a `verbose=1` fit of %d epochs (input validation, once per fit, "
        "excluded), as compare.py." % (args.seed, ALPHA, args.repeat, args.epochs),
        "",
    ]
    targets = []
    if "adam" in res:
        md += [
            "## 1-2. Adam, batch %d, %s x %s" % (BATCH, f"{args.rows:,}", f"{args.cols:,}"),
            "",
            "| dtype | configuration | ms/epoch | epoch / floor | final objective "
            "| extra peak memory / X |",
            "|---|---|--:|--:|--:|--:|",
        ]
        for dtype, r in res["adam"].items():
            for label, row in r["rows"].items():
                mem = row.get("memory")
                md.append(
                    "| %s | fastsgd %s | %.1f | %.2f | %.6f | %s |"
                    % (
                        dtype,
                        label,
                        1e3 * row["epoch"],
                        row["epoch"] / r["floor"],
                        row["objective"],
                        "%.3f" % mem["ratio"] if mem else "—",
                    )
                )
            t = r["torch"]
            if t is not None:
                md.append(
                    "| %s | PyTorch %s Adam, %d threads | %.1f | %.2f | %.6f | — |"
                    % (
                        dtype,
                        t["version"],
                        THREADS,
                        1e3 * t["epoch"],
                        t["epoch"] / r["floor"],
                        t["objective"],
                    )
                )
            md.append(
                "| %s | floor: `X.sum()` (%.0f MiB) | %.1f | 1.00 | | |"
                % (dtype, r["nbytes"] / 2**20, 1e3 * r["floor"])
            )
            mine = r["rows"][ADAM_CONFIGS[0][0]]["epoch"]
            targets.append(
                (
                    "Adam batch %d, n_jobs=2: epoch ≤ %g× floor (%s)"
                    % (BATCH, TARGETS["floor"], dtype),
                    "%.2f×" % (mine / r["floor"]),
                    mine / r["floor"] <= TARGETS["floor"],
                )
            )
            if dtype == "float32":
                name = "≥ %g× faster per epoch than PyTorch CPU Adam (float32)" % TARGETS["torch"]
                if t is not None:
                    q = t["epoch"] / mine
                    targets.append((name, "%.1f×" % q, q >= TARGETS["torch"]))
                else:
                    targets.append((name, "not measured: %s" % r["torch_skipped"], None))
        md.append("")
        r32 = res["adam"].get("float32")
        if r32 is not None and r32["torch"] is None:
            md += ["PyTorch: not measured: %s." % r32["torch_skipped"], ""]
        elif r32 is not None:
            md += [
                "PyTorch: `torch.nn.Linear(%d, 1)` + `BCEWithLogitsLoss`, "
                "`torch.optim.Adam(lr=1e-3)` with `weight_decay=%g` on the weights only (the "
                "same objective as fastsgd's Adam), `torch.set_num_threads(%d)`; each epoch "
                "indexes the float32 tensor (`torch.from_numpy(X)`, no copy) with slices of a "
                "fresh `torch.randperm`; ms/epoch = loop time / %d epochs. fastsgd's Adam takes "
                'the same step (`learning_rate="constant"`, `eta0=1e-3`).'
                % (args.cols, ALPHA, THREADS, args.epochs),
                "",
            ]
    if "threads" in res:
        r = res["threads"]
        s = r["epoch"][1] / r["epoch"][2]
        md += [
            "## 3. n_jobs=2 against n_jobs=1: %s x %s float64, Adam, batch 1024"
            % (f"{r['rows']:,}", f"{r['cols']:,}"),
            "",
            "| n_jobs | ms/epoch | epoch / floor |",
            "|--:|--:|--:|",
            "| 1 | %.1f | %.2f |" % (1e3 * r["epoch"][1], r["epoch"][1] / r["floor"]),
            "| 2 | %.1f | %.2f |" % (1e3 * r["epoch"][2], r["epoch"][2] / r["floor"]),
            "",
            "Speed-up %.2f×; floor (`X.sum()`) %.1f ms." % (s, 1e3 * r["floor"]),
            "",
        ]
        targets.append(
            (
                "n_jobs=2 ≥ %g× faster than n_jobs=1 (batch 1024, %s features)"
                % (TARGETS["threads"], f"{r['cols']:,}"),
                "%.2f×" % s,
                s >= TARGETS["threads"],
            )
        )
    if "lbfgs" in res:
        r = res["lbfgs"]
        md += [
            "## 4. Time to %g relative suboptimality against LogisticRegression (lbfgs)"
            % TARGETS["suboptimality"],
            "",
            "%s x %s float64. Objective: mean log-loss + alpha/2 ‖w‖², alpha = 1/n = %.3g "
            "(`LogisticRegression()`'s C=1; intercept not penalised). f* = %.10f from "
            "`LogisticRegression(tol=1e-10, max_iter=100000)` (%d iterations)."
            % (f"{r['n']:,}", f"{args.cols:,}", 1.0 / r["n"], r["f_star"], r["exact_iter"]),
            "",
            "| solver | epochs | time (s) | suboptimality | time / LogisticRegression's |",
            "|---|--:|--:|--:|--:|",
            "| `LogisticRegression()` (lbfgs, defaults) | %d iterations%s | %.3f | %.1e | 1.00 |"
            % (
                r["lbfgs_iter"],
                ", not converged" if r["lbfgs_warned"] else "",
                r["lbfgs_time"],
                r["lbfgs_sub"],
            ),
        ]
        reached = [f for f in r["candidates"] if f["epochs"]]
        best = min(reached, key=lambda f: f["seconds"]) if reached else None
        for f in r["candidates"]:
            label = "fastsgd %s, learning_rate='cosine', n_jobs=%d%s" % (
                _config_label(f["config"]),
                THREADS,
                " (**chosen**)" if f is best else "",
            )
            if f["epochs"]:
                md.append(
                    "| %s | %d | %.3f | %.1e | %.2f |"
                    % (
                        label,
                        f["epochs"],
                        f["seconds"],
                        f["suboptimality"],
                        f["seconds"] / r["lbfgs_time"],
                    )
                )
            else:
                md.append(
                    "| %s | > %d | — | %.1e after %d | — |"
                    % (
                        label,
                        args.max_epochs_to_target,
                        f["suboptimality"],
                        args.max_epochs_to_target,
                    )
                )
        md += [
            "",
            "Each fastsgd configuration is fitted with `max_iter` = `restart_epochs` = E "
            "(one cosine decay from `eta0` to 0 over the run) for E = 1, 2, ... up to %d; "
            "the first E whose result is within %g of f* is then timed (whole `fit()`). "
            "The chosen one is the fastest of these to the target."
            % (args.max_epochs_to_target, TARGETS["suboptimality"]),
            "",
        ]
        name = "time to %g suboptimality ≤ %g× LogisticRegression's" % (
            TARGETS["suboptimality"],
            TARGETS["lbfgs"],
        )
        if best:
            q = best["seconds"] / r["lbfgs_time"]
            targets.append((name, "%.2f×" % q, q <= TARGETS["lbfgs"]))
        else:
            targets.append((name, "not reached in %d epochs" % args.max_epochs_to_target, False))
    if "crossover" in res:
        r = res["crossover"]
        how = (
            "Measured with the serial threshold switched off (`%s=0`): every row ran "
            "both thread counts." % OVERRIDE_ENV
            if r["override"]
            else "This build of the engine cannot switch its serial threshold off (no `%s`): the "
            "rows it makes serial ran n_jobs=2 on one thread (speed-up *serial*, not used "
            "for the crossover)." % OVERRIDE_ENV
        )
        md += [
            "## 5. Thread crossover: %s x %s float64, Adam" % (f"{r['rows']:,}", f"{args.cols:,}"),
            "",
            how,
            "",
            "| batch | work (rows × features) | n_jobs=1 (ms/epoch) | n_jobs=2 (ms/epoch) "
            "| speed-up | default threshold runs it |",
            "|--:|--:|--:|--:|--:|---|",
        ]
        for row in r["table"]:
            md.append(
                "| %d | %s | %.2f | %.2f | %s | %s |"
                % (
                    row["batch"],
                    f"{row['work']:,}",
                    1e3 * row["t1"],
                    1e3 * row["t2"],
                    "%.2f" % (row["t1"] / row["t2"]) if row["forced"] else "*serial*",
                    "serially" if row["serial_by_default"] else "on n_jobs threads",
                )
            )
        md += [
            "",
            "Crossover: %s." % r["summary"],
            "The engine runs a fit on one thread when batch rows × stored values per row "
            "× outputs < %s (`%s` in %s)."
            % (
                "?" if r["threshold"] is None else "%g" % r["threshold"],
                THRESHOLD_MACRO,
                r["source"] or "csrc/, not found",
            ),
            "",
        ]
    md += [
        "## Targets",
        "",
        "Informational: nothing is asserted.",
        "",
        "| target | measured | |",
        "|---|--:|---|",
    ]
    md += [
        "| %s | %s | %s |" % (name, value, "—" if ok is None else _mark(ok))
        for name, value, ok in targets
    ]
    md += [
        "",
        "## Definitions",
        "",
        "- **ms/epoch**: mean interval between successive epoch reports of a `verbose=1` "
        "fit (`tol=None`), best of the repeats; PyTorch: the wall time of its epoch loop.",
        "- **floor**: one streaming NumPy pass over the same array, `X.sum()`, best of "
        "%d; **epoch / floor** is the row's epoch divided by it."
        % (args.repeat * args.floor_repeat),
        "- **final objective**: mean log loss + alpha/2·‖w‖² on the fitted rows, computed by "
        "`fastsgd.objective` from the weights, identically for every model.",
        "- **extra peak memory / X**: (peak RSS during `fit` − RSS before) / X.nbytes, "
        "measured by compare.py's child process on its training split (80% of the rows).",
        "- **work**: batch rows × stored values per row (× outputs, 1 here), the quantity "
        "the engine's serial threshold compares.",
    ]
    return "\n".join(md) + "\n"


# ----------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="compare_batch.py", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--rows",
        type=int,
        default=1_000_000,
        help="rows of items 1, 2, 4 and 5 (default: 1,000,000)",
    )
    p.add_argument("--cols", type=int, default=100, help="features (default: 100)")
    p.add_argument(
        "--epochs",
        type=int,
        default=3,
        help="max_iter (tol=None) of the timed fits, and PyTorch's epochs (default: 3)",
    )
    p.add_argument(
        "--dtypes",
        nargs="+",
        choices=("float64", "float32"),
        default=["float64", "float32"],
        help="item 1's dtypes (default: both)",
    )
    p.add_argument("--repeat", type=int, default=3, help="repeats; best reported (default: 3)")
    p.add_argument(
        "--floor-repeat", type=int, default=5, help="X.sum() timings per repeat (default: 5)"
    )
    p.add_argument("--seed", type=int, default=0, help="data seed (default: 0)")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch (item 2)")
    p.add_argument(
        "--no-memory",
        action="store_true",
        help="skip the peak-memory measurement of item 1 (child processes)",
    )
    p.add_argument("--wide-rows", type=int, default=200_000, help="item 3 (default: 200,000)")
    p.add_argument("--wide-cols", type=int, default=1000, help="item 3 (default: 1,000)")
    p.add_argument(
        "--crossover-rows",
        type=int,
        default=None,
        help="item 5's rows (default: --rows, the same array)",
    )
    p.add_argument(
        "--crossover-batches",
        type=int,
        nargs="+",
        default=[2**k for k in range(3, 13)],
        help="item 5 (default: 8 16 ... 4096)",
    )
    p.add_argument(
        "--max-epochs-to-target",
        type=int,
        default=10,
        help="item 4: most epochs tried per configuration (default: 10)",
    )
    p.add_argument(
        "--sections",
        nargs="+",
        default=SECTIONS,
        choices=SECTIONS,
        help="adam: items 1-2, threads: 3, lbfgs: 4, crossover: 5 (default: all)",
    )
    p.add_argument(
        "--markdown",
        type=Path,
        default=HERE / "results_batch.md",
        help="Markdown report (default: benchmarks/results_batch.md)",
    )
    args = p.parse_args(argv)
    if (
        args.rows < 5000
        or min(
            args.cols,
            args.epochs,
            args.repeat,
            args.floor_repeat,
            args.wide_cols,
            args.max_epochs_to_target,
            *args.crossover_batches,
        )
        < 1
        or args.wide_rows < 5000
        or (args.crossover_rows or 5000) < 5000
    ):
        p.error(
            "need row counts >= 5000 and positive --cols, --epochs, --repeat, "
            "--floor-repeat, --wide-cols, --max-epochs-to-target, --crossover-batches"
        )
    return args


def main(argv=None):
    args = parse_args(argv)
    runners = dict(adam=run_adam, threads=run_threads, lbfgs=run_lbfgs, crossover=run_crossover)
    res = {name: runners[name](args) for name in RUN_ORDER if name in args.sections}
    dataset.cache_clear()
    md = build_markdown(args, res)
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(md, encoding="utf-8")
    print()
    print(md[md.index("## ") :].rstrip())
    print()
    print("report written to %s" % args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
