"""The ``fit``, ``predict`` and ``evaluate`` commands of ``fastsgd`` /
``python -m fastsgd``.

    fastsgd fit DATA --target y [--loss log_loss --max-iter 5 ...] -o model.fsgd
    fastsgd predict model.fsgd DATA -o predictions.csv [--proba]
    fastsgd evaluate model.fsgd DATA --target y [--json]

Every parameter of SGDClassifier / SGDRegressor is an option of ``fit``
(``--max-iter`` for ``max_iter``); values are read as JSON when they parse
(numbers, true/false, null, {"0": 2.0}), ``none`` as None, else as strings.
Models are written with fastsgd.save.  Data formats: fastsgd._files.
"""

import inspect
import json
import sys
import time

import numpy as np


def _estimators():
    from fastsgd import SGDClassifier, SGDRegressor

    return SGDClassifier, SGDRegressor


def _param_names():
    clf, reg = _estimators()
    names = []
    for cls in (clf, reg):
        for name in inspect.signature(cls.__init__).parameters:
            if name != "self" and name not in names:
                names.append(name)
    return names


def _value(text):
    if text.lower() == "none":
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, dict):
        # JSON keys are strings: class_weight={"0": 2} means label 0
        return {_key(k): v for k, v in value.items()}
    return value


def _key(k):
    try:
        return int(k)
    except ValueError:
        try:
            return float(k)
        except ValueError:
            return k


def add_fit_arguments(p):
    p.add_argument("data", metavar="DATA", help="a file, a glob or a directory of data files")
    p.add_argument("--target", required=True, help="the target column (.npy data: a .npy file)")
    p.add_argument("-o", "--output", required=True, help="the model file to write")
    p.add_argument(
        "--task",
        choices=["auto", "classification", "regression"],
        default="auto",
        help="auto: regression for a continuous target (scikit-learn's type_of_target)",
    )
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument(
        "--cache",
        metavar="DIR",
        help="write the rows of Parquet/CSV/svmlight files once as a binary cache here and fit "
        "on it (default: read the files again every epoch, a window at a time)",
    )
    p.add_argument(
        "--no-scale",
        action="store_true",
        help="fit on the features as they are (default: scale='standard', each feature "
        "standardised on the fly; coefficients in the original units)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument("--plot", metavar="PNG", help="draw the loss curve to this file (matplotlib)")
    est = p.add_argument_group("estimator parameters (scikit-learn's names, - for _)")
    for name in _param_names():
        est.add_argument("--" + name.replace("_", "-"), dest="p_" + name, metavar="VALUE")


def add_predict_arguments(p):
    p.add_argument("model", help="a model file written by fastsgd fit or fastsgd.save")
    p.add_argument("data", metavar="DATA")
    p.add_argument("-o", "--output", required=True, help=".csv, .parquet or .npy")
    p.add_argument("--proba", action="store_true", help="add proba_<class> columns")
    p.add_argument("--dtype", choices=["float64", "float32"], default=None)


def add_evaluate_arguments(p):
    p.add_argument("model")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--target", required=True)
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--dtype", choices=["float64", "float32"], default=None)


class _Progress:
    """One line per epoch on a terminal, rewritten in place."""

    def __init__(self, max_iter, stream):
        self.max_iter, self.stream, self.t0 = max_iter, stream, time.perf_counter()

    def __call__(self, epoch, objective, seconds):
        width = 30
        done = min(width, int(width * epoch / max(self.max_iter, 1)))
        self.stream.write(
            "\r[%s%s] epoch %d/%d  objective %s  %.1f s"
            % ("#" * done, "." * (width - done), epoch, self.max_iter, objective, seconds)
        )
        self.stream.flush()

    def close(self):
        self.stream.write("\n")
        self.stream.flush()


def run_fit(args):
    import fastsgd
    from fastsgd import _files
    from fastsgd.benchmarking import timed_fit

    clf_cls, reg_cls = _estimators()
    params = {
        k[2:]: _value(v) for k, v in vars(args).items() if k.startswith("p_") and v is not None
    }
    if args.plot:
        _matplotlib()  # before any work: a missing package is said first
    show = not args.quiet and sys.stderr.isatty()
    state = {}

    def fit(_, X, y):
        task = args.task
        if task == "auto":
            from sklearn.utils.multiclass import type_of_target

            probe = X.target_sample() if y is None else y
            task = "regression" if type_of_target(probe) == "continuous" else "classification"
        cls = clf_cls if task == "classification" else reg_cls
        allowed = set(inspect.signature(cls.__init__).parameters) - {"self"}
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise ValueError("%s takes no parameter %s" % (cls.__name__, ", ".join(unknown)))
        if not args.no_scale:
            params.setdefault("scale", "standard")
        est = cls(**params)
        progress = _Progress(est.max_iter, sys.stderr) if show else None
        t0 = time.perf_counter()
        if progress is not None:
            timed_fit(est, X, y, on_epoch=progress)
            progress.close()
        else:
            est.fit(X, y)
        state.update(est=est, seconds=time.perf_counter() - t0, shape=X.shape)
        return est

    _files.fit_files(None, args.data, args.target, dtype=args.dtype, cache_dir=args.cache, fit=fit)
    est = state["est"]
    fastsgd.save(est, args.output)
    if not args.quiet:
        print(
            "%s fitted on %d rows x %d features in %.2f s (%d epochs); model written to %s"
            % (type(est).__name__, *state["shape"], state["seconds"], est.n_iter_, args.output)
        )
    if args.plot:
        _plot(est, args.plot)
    return 0


def _matplotlib():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError("--plot needs matplotlib: pip install 'fastsgd[plot]'") from e
    return plt


def _plot(est, path):
    plt = _matplotlib()
    curve = np.atleast_2d(est.loss_curve_)
    fig, ax = plt.subplots(figsize=(6, 4))
    for k, row in enumerate(curve):
        ax.plot(np.arange(1, row.size + 1), row, label=None if curve.shape[0] == 1 else str(k))
    ax.set_xlabel("epoch")
    ax.set_ylabel("training objective")
    ax.set_title(type(est).__name__)
    if curve.shape[0] > 1:
        ax.legend(title="output")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _model_and_data(args, with_target, cache):
    import fastsgd
    from fastsgd import _files

    est = fastsgd.load(args.model)
    if not hasattr(est, "coef_"):
        raise ValueError("%s: the model is not fitted" % args.model)
    X, y = _files.read_for_model(
        est, args.data, args.target if with_target else None, dtype=args.dtype, cache_dir=cache
    )
    return est, X, y


def _quiet_names():
    """The data were read in the model's own columns: scikit-learn's warning
    about an array without feature names does not apply."""
    import warnings

    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    return ctx


def run_predict(args):
    from fastsgd import _files

    with _files._cache(None) as cache:
        est, X, _ = _model_and_data(args, with_target=False, cache=cache)
        if args.proba and not hasattr(est, "predict_proba"):
            raise ValueError("%s: --proba needs a classifier" % args.model)
        ctx = _quiet_names()
        try:
            columns = {"prediction": est.predict(X)}
            if args.proba:
                proba = est.predict_proba(X)
                for k, c in enumerate(est.classes_):
                    columns["proba_%s" % c] = proba[:, k]
        finally:
            ctx.__exit__(None, None, None)
        del X
    _files.write_table(args.output, columns)
    return 0


def run_evaluate(args):
    from sklearn import metrics

    from fastsgd import _files

    with _files._cache(None) as cache:
        est, X, y = _model_and_data(args, with_target=True, cache=cache)
        ctx = _quiet_names()
        try:
            out = _metrics(metrics, est, X, y)
        finally:
            ctx.__exit__(None, None, None)
        del X
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            print("%-18s %s" % (k, ("%.6f" % v) if isinstance(v, float) else v))
    return 0


def _metrics(metrics, est, X, y):
    pred = est.predict(X)
    if hasattr(est, "classes_"):
        out = {
            "task": "classification",
            "rows": int(X.shape[0]),
            "accuracy": metrics.accuracy_score(y, pred),
            "balanced_accuracy": metrics.balanced_accuracy_score(y, pred),
            "precision_macro": metrics.precision_score(y, pred, average="macro", zero_division=0),
            "recall_macro": metrics.recall_score(y, pred, average="macro", zero_division=0),
            "f1_macro": metrics.f1_score(y, pred, average="macro", zero_division=0),
        }
        if hasattr(est, "predict_proba"):
            try:
                proba = est.predict_proba(X)
            except AttributeError:
                proba = None
            if proba is not None:
                out["log_loss"] = metrics.log_loss(y, proba, labels=est.classes_)
        if len(est.classes_) == 2:
            out["roc_auc"] = metrics.roc_auc_score(y, est.decision_function(X))
    else:
        mse = metrics.mean_squared_error(y, pred)
        out = {
            "task": "regression",
            "rows": int(X.shape[0]),
            "r2": metrics.r2_score(y, pred),
            "mse": mse,
            "rmse": float(np.sqrt(mse)),
            "mae": metrics.mean_absolute_error(y, pred),
        }
    return {k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in out.items()}
