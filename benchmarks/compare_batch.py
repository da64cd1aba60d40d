#!/usr/bin/env python
"""The batch engine's figures, side by side in one run.

1. Adam on mini-batches of 256 rows with ``n_jobs=2`` (and 1), float64 and
   float32: epoch time against the one-pass floor (best ``X_train.sum()``).
2. The same epoch against PyTorch's CPU Adam (``torch.nn.Linear`` +
   ``BCEWithLogitsLoss``, batch 256, float32, 2 threads) on the same data;
   skipped when torch is not importable.
3. ``n_jobs=2`` against ``n_jobs=1`` on 200,000 x 1,000 float64, batch 1024.
4. Time to reach 1e-3 relative suboptimality of the L2-regularised log-loss
   against scikit-learn's ``LogisticRegression()`` (lbfgs, defaults: C=1, which
   is alpha = 1 / n_samples in SGD's parametrisation), both on the same data;
   the optimum f* comes from a tight L-BFGS fit.
5. The thread crossover: n_jobs=2 against n_jobs=1 for batch sizes 8 ... 4096
   with the engine's serial threshold switched off (FASTSGD_PARALLEL_MIN_WORK=0).

Writes a Markdown report (default benchmarks/results_batch.md).  Run
``python benchmarks/compare_batch.py --help``; ``--rows``/``--cols``/``--epochs``
shrink everything for a quick check.
"""

import argparse
import datetime
import gc
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from fastsgd._demo import make_classification_data, memory_floor, regularized_objective, timed_fit
from fastsgd._demo import train_test_views

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from compare import _cpu_model, _git_revision, _mark, _n_cpus  # noqa: E402

ALPHA = 1e-4
TARGETS = {"floor": 1.5, "torch": 20.0, "threads": 1.7, "lbfgs": 0.5}


def fastsgd_clf(**params):
    from fastsgd import SGDClassifier

    base = dict(loss="log_loss", penalty="l2", alpha=ALPHA, tol=None, random_state=0)
    base.update(params)
    return SGDClassifier(**base)


def best_epoch(make, X, y, repeat):
    """Best steady epoch time (s) of ``repeat`` fits, and the last estimator."""
    best, est = np.inf, None
    for _ in range(repeat):
        est = make()
        best = min(best, timed_fit(est, X, y).epoch_seconds)
    return best, est


# ----------------------------------------------------------------------------
# 1 and 2: Adam batch 256 against the floor and against PyTorch
def torch_adam_epoch(X, y, batch_size, epochs, threads):
    """Seconds per epoch of a plain PyTorch training loop (logistic regression,
    Adam, shuffled mini-batches indexed by a fresh permutation every epoch)."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    yt = torch.from_numpy(y.astype(np.float32)).unsqueeze(1)
    model = torch.nn.Linear(X.shape[1], 1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=ALPHA)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    n = Xt.shape[0]
    times = []
    for _ in range(epochs):
        t = time.perf_counter()
        perm = torch.randperm(n)
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t)
    return min(times), torch.__version__


def run_adam(args):
    out = {}
    for dtype in args.dtypes:
        print("== Adam, batch 256, %s: %s x %s" % (dtype, f"{args.rows:,}", f"{args.cols:,}"),
              flush=True)
        X, y = make_classification_data(args.rows, args.cols, np.dtype(dtype), args.seed)
        X_train, _, y_train, _ = train_test_views(X, y)
        rows = {}
        for label, params in [
            ("adam, n_jobs=2", dict(optimizer="adam", batch_size=256, n_jobs=2)),
            ("adam, n_jobs=1", dict(optimizer="adam", batch_size=256, n_jobs=1)),
            ("sgd, n_jobs=2", dict(optimizer="sgd", batch_size=256, n_jobs=2)),
        ]:
            make = lambda p=params: fastsgd_clf(max_iter=args.epochs, **p)  # noqa: E731
            make().set_params(max_iter=1).fit(X_train[:5000], y_train[:5000])  # warm-up
            sec, est = best_epoch(make, X_train, y_train, args.repeat)
            rows[label] = dict(epoch=sec, objective=regularized_objective(
                est, X_train, y_train, "log_loss", ALPHA))
            print("  %-16s epoch %8.2f ms" % (label, 1e3 * sec), flush=True)
        floor = min(memory_floor(X_train, repeat=5) for _ in range(args.repeat))
        print("  floor %.2f ms" % (1e3 * floor), flush=True)
        torch_row = None
        if dtype == "float32" and not args.no_torch:
            try:
                sec, version = torch_adam_epoch(X_train, y_train, 256, args.torch_epochs, 2)
                torch_row = dict(epoch=sec, version=version)
                print("  torch Adam epoch %.1f ms (torch %s)" % (1e3 * sec, version), flush=True)
            except ImportError as exc:
                print("  PyTorch skipped: %s" % exc, flush=True)
        out[dtype] = dict(rows=rows, floor=floor, torch=torch_row, n_train=X_train.shape[0],
                          nbytes=X_train.nbytes)
        del X, y, X_train, y_train
        gc.collect()
    return out


# ----------------------------------------------------------------------------
# 3: threads on a wide problem
def run_threads(args):
    rows, cols = args.wide_rows, args.wide_cols
    print("== n_jobs 2 vs 1: %s x %s float64, Adam, batch 1024" % (f"{rows:,}", f"{cols:,}"),
          flush=True)
    X, y = make_classification_data(rows, cols, np.dtype("float64"), args.seed)
    res = {}
    for _ in range(args.repeat):
        for nj in (1, 2):
            make = lambda n=nj: fastsgd_clf(optimizer="adam", batch_size=1024, n_jobs=n,  # noqa
                                            max_iter=args.epochs)
            sec, _ = best_epoch(make, X, y, 1)
            res[nj] = min(res.get(nj, np.inf), sec)
    floor = memory_floor(X, repeat=5)
    for nj in (1, 2):
        print("  n_jobs=%d epoch %.1f ms" % (nj, 1e3 * res[nj]), flush=True)
    del X, y
    gc.collect()
    return dict(epoch=res, floor=floor, rows=rows, cols=cols)


# ----------------------------------------------------------------------------
# 4: time to 1e-3 suboptimality against LogisticRegression
def log_objective(coef, intercept, X, y, alpha):
    from types import SimpleNamespace

    est = SimpleNamespace(coef_=np.atleast_2d(coef), intercept_=np.atleast_1d(intercept),
                          classes_=np.unique(y))
    return regularized_objective(est, X, y, "log_loss", alpha)


def run_lbfgs(args):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    print("== time to 1e-3 suboptimality: %s x %s float64, alpha = 1/n"
          % (f"{args.rows:,}", f"{args.cols:,}"), flush=True)
    X, y = make_classification_data(args.rows, args.cols, np.dtype("float64"), args.seed)
    n = X.shape[0]
    alpha = 1.0 / n  # LogisticRegression(C=1) in SGD's parametrisation
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        exact = LogisticRegression(tol=1e-12, max_iter=10_000).fit(X, y)
    f_star = log_objective(exact.coef_, exact.intercept_, X, y, alpha)
    lbfgs_time, lbfgs_obj = np.inf, None
    for _ in range(args.repeat):
        t = time.perf_counter()
        lr = LogisticRegression().fit(X, y)
        lbfgs_time = min(lbfgs_time, time.perf_counter() - t)
        lbfgs_obj = log_objective(lr.coef_, lr.intercept_, X, y, alpha)
    print("  LogisticRegression(): %.2f s, suboptimality %.2e" % (lbfgs_time, lbfgs_obj / f_star - 1),
          flush=True)
    # fastsgd: Adam on batches of 1024, cosine-annealed over E epochs; the
    # first E whose fit reaches f*(1 + 1e-3) is timed (fit() wall time,
    # validation included)
    config = dict(optimizer="adam", batch_size=1024, learning_rate="cosine", eta0=0.03,
                  n_jobs=2, alpha=alpha)
    found = None
    for epochs in range(1, args.max_epochs_to_target + 1):
        make = lambda e=epochs: fastsgd_clf(max_iter=e, restart_epochs=e, **config)  # noqa
        est = make().fit(X, y)
        sub = log_objective(est.coef_, est.intercept_, X, y, alpha) / f_star - 1
        print("  fastsgd %d epochs: suboptimality %.2e" % (epochs, sub), flush=True)
        if sub <= 1e-3:
            best = np.inf
            for _ in range(args.repeat):
                t = time.perf_counter()
                make().fit(X, y)
                best = min(best, time.perf_counter() - t)
            found = dict(epochs=epochs, seconds=best, suboptimality=sub)
            print("  fastsgd reaches it in %d epochs: %.2f s" % (epochs, best), flush=True)
            break
    del X, y
    gc.collect()
    return dict(f_star=f_star, lbfgs_time=lbfgs_time, lbfgs_sub=lbfgs_obj / f_star - 1,
                config=config, fastsgd=found)


# ----------------------------------------------------------------------------
# 5: the crossover
def run_crossover(args):
    rows = args.crossover_rows
    print("== thread crossover: %s x %s float64, Adam, threshold off" % (f"{rows:,}", args.cols),
          flush=True)
    X, y = make_classification_data(rows, args.cols, np.dtype("float64"), args.seed)
    old = os.environ.get("FASTSGD_PARALLEL_MIN_WORK")
    os.environ["FASTSGD_PARALLEL_MIN_WORK"] = "0"
    table = []
    try:
        for bs in args.crossover_batches:
            t = {}
            for nj in (1, 2):
                make = lambda b=bs, n=nj: fastsgd_clf(optimizer="adam", batch_size=b,  # noqa
                                                      n_jobs=n, max_iter=3)
                t[nj], _ = best_epoch(make, X, y, args.repeat)
            table.append((bs, bs * args.cols, t[1], t[2]))
            print("  batch %5d: n_jobs=1 %7.2f ms, n_jobs=2 %7.2f ms, speed-up %.2f"
                  % (bs, 1e3 * t[1], 1e3 * t[2], t[1] / t[2]), flush=True)
    finally:
        if old is None:
            del os.environ["FASTSGD_PARALLEL_MIN_WORK"]
        else:
            os.environ["FASTSGD_PARALLEL_MIN_WORK"] = old
    return table


# ----------------------------------------------------------------------------
def build_markdown(args, res):
    import scipy
    import sklearn

    import fastsgd

    git = _git_revision()
    md = [
        "# fastsgd batch engine: benchmark",
        "",
        "Command:",
        "",
        "```",
        shlex.join(getattr(sys, "orig_argv", [sys.executable] + sys.argv)),
        "```",
        "",
        "- Date: %s; host: %s, %s CPUs available; %s %s"
        % (datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), _cpu_model(), _n_cpus(),
           platform.system(), platform.release()),
        "- Python %s, numpy %s, scipy %s, scikit-learn %s, fastsgd %s (OpenMP %s, kernels %s)%s"
        % (platform.python_version(), np.__version__, scipy.__version__, sklearn.__version__,
           fastsgd.__version__, "on" if fastsgd.openmp_enabled() else "off",
           fastsgd._engine.kernels_name(), ", git %s" % git if git else ""),
        "- Data: dense standard-normal features, labels from a noisy random linear model "
        "(fastsgd._demo.make_classification_data); epoch time = steady interval between "
        "epoch reports of a `verbose=1` fit, best of %d; log_loss, L2, alpha %g, tol=None."
        % (args.repeat, ALPHA),
        "",
    ]
    targets = []
    if "adam" in res:
        md += ["## Adam, batch 256, %s x %s (%s training rows, %d epochs)"
               % (f"{args.rows:,}", f"{args.cols:,}",
                  f"{next(iter(res['adam'].values()))['n_train']:,}", args.epochs), "",
               "| dtype | configuration | epoch (ms) | epoch / floor | objective |",
               "|---|---|--:|--:|--:|"]
        for dtype, r in res["adam"].items():
            for label, row in r["rows"].items():
                md.append("| %s | %s | %.1f | %.2f | %.6f |" % (
                    dtype, label, 1e3 * row["epoch"], row["epoch"] / r["floor"], row["objective"]))
            md.append("| %s | floor: `X_train.sum()` (%.0f MiB) | %.1f | 1.00 | |"
                      % (dtype, r["nbytes"] / 2**20, 1e3 * r["floor"]))
            ratio = r["rows"]["adam, n_jobs=2"]["epoch"] / r["floor"]
            targets.append(("Adam batch 256, n_jobs=2: epoch ≤ %g× floor (%s)"
                            % (TARGETS["floor"], dtype), "%.2f×" % ratio,
                            ratio <= TARGETS["floor"]))
            if r["torch"] is not None:
                t = r["torch"]["epoch"]
                mine = r["rows"]["adam, n_jobs=2"]["epoch"]
                md.append("| %s | PyTorch %s Adam, 2 threads | %.1f | %.2f | |"
                          % (dtype, r["torch"]["version"], 1e3 * t, t / r["floor"]))
                targets.append(("≥ %g× faster than PyTorch CPU Adam per epoch (float32)"
                                % TARGETS["torch"], "%.1f×" % (t / mine), t / mine >= TARGETS["torch"]))
        md += ["", "PyTorch: `torch.nn.Linear` + `BCEWithLogitsLoss`, `torch.optim.Adam(lr=1e-3, "
               "weight_decay=alpha)`, batches of a fresh `torch.randperm` each epoch indexing a "
               "float32 tensor, `torch.set_num_threads(2)`; best of %d epochs." % args.torch_epochs,
               ""]
    if "threads" in res:
        r = res["threads"]
        s = r["epoch"][1] / r["epoch"][2]
        md += ["## n_jobs=2 against n_jobs=1: %s x %s float64, Adam, batch 1024"
               % (f"{r['rows']:,}", f"{r['cols']:,}"), "",
               "| n_jobs | epoch (ms) | epoch / floor |", "|--:|--:|--:|",
               "| 1 | %.1f | %.2f |" % (1e3 * r["epoch"][1], r["epoch"][1] / r["floor"]),
               "| 2 | %.1f | %.2f |" % (1e3 * r["epoch"][2], r["epoch"][2] / r["floor"]),
               "", "Speed-up %.2f×; floor %.1f ms." % (s, 1e3 * r["floor"]), ""]
        targets.append(("n_jobs=2 ≥ %g× n_jobs=1 (batch 1024, %s features)"
                        % (TARGETS["threads"], f"{r['cols']:,}"), "%.2f×" % s,
                        s >= TARGETS["threads"]))
    if "lbfgs" in res:
        r = res["lbfgs"]
        md += ["## Time to 1e-3 relative suboptimality against LogisticRegression (lbfgs)", "",
               "Objective: mean log-loss + alpha/2 ||w||², alpha = 1/n (LogisticRegression's C=1); "
               "f* = %.8f from `LogisticRegression(tol=1e-12, max_iter=10000)`." % r["f_star"], "",
               "| solver | time (s) | suboptimality |", "|---|--:|--:|",
               "| `LogisticRegression()` (lbfgs, defaults) | %.2f | %.1e |"
               % (r["lbfgs_time"], r["lbfgs_sub"])]
        f = r["fastsgd"]
        if f is not None:
            md.append("| fastsgd %s, %d epochs | %.2f | %.1e |" % (
                ", ".join("%s=%r" % kv for kv in r["config"].items() if kv[0] != "alpha"),
                f["epochs"], f["seconds"], f["suboptimality"]))
            q = f["seconds"] / r["lbfgs_time"]
            targets.append(("time to 1e-3 suboptimality ≤ %g× LogisticRegression's"
                            % TARGETS["lbfgs"], "%.2f×" % q, q <= TARGETS["lbfgs"]))
        else:
            targets.append(("time to 1e-3 suboptimality ≤ %g× LogisticRegression's"
                            % TARGETS["lbfgs"], "not reached in %d epochs"
                            % args.max_epochs_to_target, False))
        md += ["", "fastsgd's time is the whole `fit()` (validation included) of the first "
               "epoch count, annealed over that many epochs (`restart_epochs` = `max_iter`), "
               "whose result is within 1e-3 of f*.", ""]
    if "crossover" in res:
        md += ["## Thread crossover (%s x %s float64, Adam, serial threshold switched off)"
               % (f"{args.crossover_rows:,}", args.cols), "",
               "| batch | work (rows × features) | n_jobs=1 (ms/epoch) | n_jobs=2 (ms/epoch) "
               "| speed-up | default threshold runs it |", "|--:|--:|--:|--:|--:|---|"]
        threshold = 5000
        for bs, work, t1, t2 in res["crossover"]:
            md.append("| %d | %d | %.2f | %.2f | %.2f | %s |" % (
                bs, work, 1e3 * t1, 1e3 * t2, t1 / t2,
                "serially" if work < threshold else "on n_jobs threads"))
        md += ["", "The engine runs a fit on one thread when batch rows × stored values per row "
               "× outputs is below %d (csrc/batch.c, `FSGD_PARALLEL_MIN_WORK`)." % threshold, ""]
    md += ["## Targets", "", "| target | measured | |", "|---|--:|---|"]
    md += ["| %s | %s | %s |" % (name, value, _mark(ok)) for name, value, ok in targets]
    return "\n".join(md) + "\n"


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="compare_batch.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000, help="rows (default: 1,000,000)")
    p.add_argument("--cols", type=int, default=100, help="features (default: 100)")
    p.add_argument("--epochs", type=int, default=4, help="epochs per timed fit (default: 4)")
    p.add_argument("--dtypes", nargs="+", choices=("float64", "float32"),
                   default=["float64", "float32"])
    p.add_argument("--repeat", type=int, default=3, help="repeats; best reported (default: 3)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--torch-epochs", type=int, default=2, help="PyTorch epochs (default: 2)")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    p.add_argument("--wide-rows", type=int, default=200_000)
    p.add_argument("--wide-cols", type=int, default=1000)
    p.add_argument("--crossover-rows", type=int, default=200_000)
    p.add_argument("--crossover-batches", type=int, nargs="+",
                   default=[8, 16, 32, 64, 128, 256, 512, 1024, 4096])
    p.add_argument("--max-epochs-to-target", type=int, default=10)
    p.add_argument("--sections", nargs="+", default=["adam", "threads", "lbfgs", "crossover"],
                   choices=["adam", "threads", "lbfgs", "crossover"])
    p.add_argument("--markdown", type=Path, default=HERE / "results_batch.md")
    args = p.parse_args(argv)
    if min(args.rows, args.cols, args.epochs, args.repeat, args.wide_rows, args.wide_cols,
           args.crossover_rows) < 1 or args.rows < 10:
        p.error("sizes, --epochs and --repeat must be positive (--rows >= 10)")
    return args


def main(argv=None):
    args = parse_args(argv)
    runners = dict(adam=run_adam, threads=run_threads, lbfgs=run_lbfgs, crossover=run_crossover)
    res = {name: runners[name](args) for name in args.sections}
    md = build_markdown(args, res)
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(md, encoding="utf-8")
    print()
    print(md[md.index("## Targets"):])
    print("report written to %s" % args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
