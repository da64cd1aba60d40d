"""Fitting dask arrays and dataframes where they lie: iterative parameter mixing.

``SGDClassifier.fit`` and ``SGDRegressor.fit`` (and ``partial_fit``) hand a
dask collection here.  The rows stay on the workers; only weights travel.

- **Shards.** Each partition of X (a block of rows) is a shard: their count
  and content depend on the data's partitioning only, never on the number
  of workers.  The collections are persisted once, so that every epoch's
  tasks go to the same placed data.
- **An epoch** is one pure task per shard (``_shard_epoch``): it runs the C
  engine for one epoch over that shard's training rows, from the epoch's
  starting state (weights, intercepts, averages, optimizer state, t),
  shuffled by a seed drawn from (random_state, epoch, shard), and returns
  the shard's state, its row count and its objective sum.  The client mixes
  the shards' states weighted by their rows, in shard order.  A task's
  result depends on its arguments alone, so the fit is bit-identical for
  any number of workers, and a task lost with its worker is recomputed by
  Dask to the same result.
- **Fit control** is the C driver's (``_engine.drive``, csrc/fit_control.c):
  the same stopping rule, adaptive schedule, divergence test, loss curve and
  epoch report as every other fit; this module only supplies the epoch and
  the validation score.
- **Held-out rows** for early stopping are chosen row by row by a hash of
  the row's position and the seed (``_stream.held_out``), as for streams:
  no index array, and each epoch's score is one more task per shard.
- A one-vs-rest classifier fits its binary problems one after another (each
  with its own driver, as the per-sample engine does); the multinomial model
  and regression are one problem.

docs/scale.md has the cost model.
"""

import numbers

import numpy as np

from . import _engine, _stream

# attributes of a fitted estimator that are not state an epoch carries on
_NOT_STATE = {"n_iter_", "loss_curve_", "feature_names_in_"}
# state mixed as a weighted mean over the shards (the rest is the same in all)
_MIXED = ("coef_", "intercept_", "_standard_coef", "_standard_intercept",
          "_average_coef", "_average_intercept")  # fmt: skip


def is_dask_collection(X):
    """Whether X is a dask collection (without importing dask when it is not
    already imported: nothing can then be one)."""
    import sys

    if "dask" not in sys.modules:
        return False
    import dask

    return dask.is_dask_collection(X)


def _require_dask():
    try:
        import dask  # noqa: F401
        import dask.array  # noqa: F401
    except ImportError as e:  # pragma: no cover - dask is there when a collection is
        raise ImportError("fitting dask collections needs dask: pip install 'fastsgd[dask]'") from e


# ------------------------------------------------------------- partitions


def _blocks(X, what):
    """(delayed blocks of rows, feature names or None, rows per block or None)."""
    import dask.array as da
    import dask.dataframe as dd

    if isinstance(X, (dd.DataFrame, dd.Series)):
        return list(X.to_delayed()), (list(X.columns) if isinstance(X, dd.DataFrame) else None)
    if isinstance(X, da.Array):
        if X.ndim == 2:
            if X.numblocks[1] > 1:
                X = X.rechunk({1: -1})
            return list(X.to_delayed()[:, 0]), None
        if X.ndim == 1:
            return list(X.to_delayed()), None
        raise ValueError("%s: a dask array of %d dimensions" % (what, X.ndim))
    raise TypeError(
        "%s: a dask collection is fitted with dask collections; got %s" % (what, type(X).__name__)
    )


def _aligned(X, y, sample_weight):
    """X, y and sample_weight as dask collections partitioned alike."""
    import dask.array as da

    if isinstance(X, da.Array):
        rows = X.chunks[0]
        if isinstance(y, da.Array) and y.chunks[0] != rows:
            y = y.rechunk({0: rows})
        if isinstance(sample_weight, da.Array) and sample_weight.chunks[0] != rows:
            sample_weight = sample_weight.rechunk({0: rows})
    return X, y, sample_weight


def _rows(X, dtype):
    """A block of X as a C-contiguous array of dtype."""
    if hasattr(X, "to_numpy"):
        X = X.to_numpy()
    return np.ascontiguousarray(X, dtype=dtype)


def _vector(y):
    if y is None:
        return None
    if hasattr(y, "to_numpy"):
        y = y.to_numpy()
    return np.asarray(y).ravel()


def _training_rows(spec, offset, n):
    """Mask of the shard's training rows (None: all of them)."""
    if not spec["validation_fraction"]:
        return None
    held = _stream.held_out(
        np.arange(offset, offset + n), spec["validation_seed"], spec["validation_fraction"]
    )
    return ~held.astype(bool)


# ------------------------------------------------------------------ tasks


def _pack(X, y, w, dtype):
    """A shard: its rows of X (C order, dtype), y and the weights (or None)."""
    return _rows(X, dtype), _vector(y), _vector(w)


def _shard_stats(spec, shard, part):
    """Rows, the labels and their counts, after checking the block (shape,
    finite values); errors name the partition and the row in it."""
    X, y, w = part
    if X.ndim != 2 or X.shape[1] != spec["n_features"]:
        raise ValueError(
            "partition %d of X has %s columns, expected %d"
            % (shard, X.shape[1:] or "no", spec["n_features"])
        )
    if y is None or y.shape[0] != X.shape[0]:
        raise ValueError("partition %d: y and X have different lengths" % shard)
    if not np.isfinite(X).all():
        row = int(np.flatnonzero(~np.isfinite(X).all(axis=1))[0])
        raise ValueError(
            "Input X contains NaN or infinity (partition %d, its row %d)" % (shard, row)
        )
    out = {"rows": X.shape[0]}
    if spec["regression"]:
        y = y.astype(np.float64)
        if not np.isfinite(y).all():
            raise ValueError("Input y contains NaN or infinity (partition %d)" % shard)
    else:
        labels, counts = np.unique(y, return_counts=True)
        out["labels"], out["counts"] = labels, counts
    return out


def _shard_held(spec, offset, part):
    """The shard's held-out rows: their count, weight and weighted target sum."""
    _, y, w = part
    held = ~_training_rows(spec, offset, y.shape[0])
    wv = np.ones(int(held.sum())) if w is None else w[held]
    out = {"held": int(held.sum()), "held_w": float(wv.sum())}
    if spec["regression"]:
        out["held_wy"] = float((wv * y[held].astype(np.float64)).sum())
    return out


def _estimator(spec, state, epoch=None, shard=None):
    """The shard's estimator: the fit's parameters for one epoch, the
    epoch's starting state."""
    params = dict(spec["params"])
    if epoch is not None:
        params["random_state"] = int(
            np.random.default_rng([spec["seed"], epoch, shard]).integers(2**31 - 1)
        )
        params["eta0"] = spec["eta0"] * spec["step_scale"]
    est = spec["cls"](**params)
    if state is not None:
        for k, v in state.items():
            setattr(est, k, _copy(v))
    return est


def _state_of(est):
    """What a fitted estimator carries from one epoch to the next: every
    attribute that is not a parameter, but the loss curve and n_iter_."""
    params = est.get_params(deep=False)
    return {k: v for k, v in vars(est).items() if k not in params and k not in _NOT_STATE}


def _copy(v):
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, dict):
        return {k: _copy(x) for k, x in v.items()}
    return v


def _target(spec, y):
    if spec["positive"] is not None:
        # problem k of one-vs-rest: is the row of class k
        return (y == spec["positive"]).astype(np.int8)
    return y


def _shard_epoch(spec, state, epoch, shard, offset, part):
    """One epoch of the engine over the shard's training rows from ``state``:
    a pure function of its arguments."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    X, y, w = part
    y = _target(spec, y)
    train = _training_rows(spec, offset, X.shape[0])
    if train is not None:
        X, y = X[train], y[train]
        w = None if w is None else w[train]
    if X.shape[0] == 0:
        return {"rows": 0}
    import time

    began = time.perf_counter()
    est = _estimator(spec, state, epoch, shard)
    kw = {} if spec["regression"] else {"classes": spec["fit_classes"]}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.partial_fit(X, y, sample_weight=w, **kw)
    except ValueError as e:
        if "under-/overflow" in str(e):
            return {"rows": X.shape[0], "diverged": True}
        raise
    out = _state_of(est)
    out["rows"] = X.shape[0]
    out["seconds"] = time.perf_counter() - began  # for benchmarks/dask_scale.py
    out["objective"] = float(np.ravel(est.loss_curve_)[-1]) * X.shape[0]
    return out


def _shard_score(spec, state, offset, part):
    """The held-out rows' score accumulators: (weighted correct, weight) for
    accuracy, (residual sum of squares, total sum of squares) for R²."""
    X, y, w = part
    y = _target(spec, y)
    train = _training_rows(spec, offset, X.shape[0])
    held = ~train
    if not held.any():
        return 0.0, 0.0
    X, y = X[held], y[held]
    w = np.ones(X.shape[0]) if w is None else w[held]
    est = _estimator(spec, state)
    p = est.predict(X)
    if spec["regression"]:
        y = y.astype(np.float64)
        return float((w * (y - p) ** 2).sum()), float((w * (y - spec["ybar"]) ** 2).sum())
    return float((w * (p == y)).sum()), float(w.sum())


# ------------------------------------------------------------------ the fit


class _Steps:
    """The epochs and validation scores of one driven problem, as Dask
    tasks; the mixed state lives here between epochs."""

    def __init__(self, spec, state, parts, offsets):
        self.spec = spec
        self.state = state
        self.parts = parts
        self.offsets = offsets
        self.epoch = 0
        self.step_scale = np.ones(1)
        self.eta_last = np.full(1, spec["eta0"])
        self.active = np.ones(1, dtype=np.uint8)

    def run_epoch(self):
        import dask

        spec = dict(self.spec, step_scale=float(self.step_scale[0]))
        state = dask.delayed(self.state, pure=True)
        task = dask.delayed(_shard_epoch, pure=True)
        results = _compute(
            [
                task(spec, state, self.epoch, s, self.offsets[s], part)
                for s, part in enumerate(self.parts)
            ],
            self.epoch,
        )
        self.epoch += 1
        if any(r.get("diverged") for r in results):
            return None
        done = [r for r in results if r["rows"] > 0]
        # the shards' engine seconds (benchmarks/dask_scale.py reads them)
        self._last_seconds = [r["seconds"] for r in done]
        self.state = _mix(done)
        self.eta_last[0] = spec["eta0"] * spec["step_scale"]
        return [sum(r["objective"] for r in done)]

    def score(self):
        import dask

        spec = dict(self.spec)
        state = dask.delayed(self.state, pure=True)
        task = dask.delayed(_shard_score, pure=True)
        acc = _compute(
            [task(spec, state, self.offsets[s], part) for s, part in enumerate(self.parts)],
            self.epoch - 1,
        )
        a = sum(t[0] for t in acc)
        b = sum(t[1] for t in acc)
        if spec["regression"]:
            return [1.0 - a / b if b != 0 else (1.0 if a == 0 else 0.0)]
        return [a / b if b > 0 else 0.0]

    def describe(self, k):
        coef = np.asarray(self.state["coef_"], dtype=np.float64)
        return (
            float(np.sqrt((coef * coef).sum())),
            int(np.count_nonzero(coef)),
            float(np.ravel(self.state["intercept_"])[0]),
            float(self.state["t_"]),
        )


def _compute(tasks, epoch):
    """The tasks' results, in order.  Data lost with a worker that Dask
    cannot recompute (scattered, or computed outside the graph) cancels the
    tasks: that becomes an error naming the epoch."""
    import dask

    try:
        return dask.compute(*tasks)
    except Exception as e:
        if "Cancelled" not in type(e).__name__:
            raise
        raise RuntimeError(
            "fastsgd: at epoch %d a partition of the data was lost with its worker and Dask "
            "cannot recompute it (data scattered or computed outside the task graph): %s"
            % (epoch + 1, e)
        ) from e


def _mix(results):
    """The shards' states mixed: each mixed array the row-weighted mean of
    the shards' (summed in shard order), t the sum of the rows, the
    optimizer's state and counters the row-weighted mean."""
    total = float(sum(r["rows"] for r in results))
    first = results[0]
    out = {}
    for k, v in first.items():
        if k in ("rows", "objective", "seconds"):
            continue
        if k in _MIXED and v is not None:
            acc = np.zeros(np.shape(v), dtype=np.float64)
            for r in results:
                acc += (r["rows"] / total) * np.asarray(r[k], dtype=np.float64)
            out[k] = acc.astype(np.asarray(v).dtype)
        elif k == "optimizer_state_":
            st = dict(v)
            for name in ("slots", "n_updates", "n_averaged"):
                acc = np.zeros(np.shape(v[name]), dtype=np.float64)
                for r in results:
                    acc += (r["rows"] / total) * np.asarray(r[k][name], dtype=np.float64)
                st[name] = acc if np.ndim(v[name]) else float(acc)
            out[k] = st
        else:
            out[k] = v
    t0 = first["t_"] - first["rows"]
    out["t_"] = t0 + total
    return out


def _check_params(est):
    if est.batch_size == "full":
        raise ValueError("batch_size='full' is not supported on dask collections; use mini-batches")
    if est.parallel == "shards":
        raise ValueError("parallel='shards' is for one process; on Dask the partitions are shards")
    if est.scale is not None:
        raise ValueError("scale='standard' is not supported on dask collections yet")


def fit(est, X, y, sample_weight=None, classes=None, partial=False):
    """Fit (or, with ``partial``, one more epoch of) ``est`` on dask
    collections; returns est."""
    _require_dask()
    import dask
    from sklearn.base import is_classifier

    from ._sgd import _divergence_error, _print_epoch

    est._validate_params()
    est._more_validate_params(for_partial_fit=bool(partial))
    _check_params(est)
    if y is None:
        raise ValueError("y is required")
    if partial and getattr(est, "coef_", None) is None:
        partial = "first"
    X, y, sample_weight = _aligned(X, y, sample_weight)
    xb, names = _blocks(X, "X")
    yb, _ = _blocks(y, "y")
    wb = [None] * len(xb) if sample_weight is None else _blocks(sample_weight, "sample_weight")[0]
    if len(yb) != len(xb) or len(wb) != len(xb):
        raise ValueError(
            "X, y and sample_weight have different numbers of partitions (%d, %d, %d)"
            % (len(xb), len(yb), len(wb))
        )
    regression = not is_classifier(est)
    n_features = len(names) if names is not None else X.shape[1]
    if partial is True and n_features != est.n_features_in_:
        raise ValueError(
            "X has %d features, but %s is expecting %d features as input."
            % (n_features, type(est).__name__, est.n_features_in_)
        )
    dtype = np.float32 if np.dtype(getattr(X, "dtype", np.float64)) == np.float32 else np.float64
    if names is not None:
        dtypes = set(np.dtype(t) for t in X.dtypes)
        dtype = np.float32 if dtypes == {np.dtype(np.float32)} else np.float64
    seed = _seed_of(est.random_state)
    fraction = est.validation_fraction if (est.early_stopping and not partial) else 0.0
    base = {
        "dtype": dtype,
        "n_features": n_features,
        "regression": regression,
        "validation_fraction": fraction,
        "validation_seed": seed,
    }
    # each shard's X, y and weights as one object, placed once: a task
    # then finds all of its rows on one worker, and nothing moves after
    pack = dask.delayed(_pack, pure=True)
    parts = dask.persist(*[pack(x, yy, w, dtype) for x, yy, w in zip(xb, yb, wb, strict=True)])
    stats = dask.compute(
        *[dask.delayed(_shard_stats, pure=True)(base, s, part) for s, part in enumerate(parts)]
    )
    rows = np.array([s["rows"] for s in stats], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(rows)[:-1]]).tolist()
    n = int(rows.sum())
    if n == 0:
        raise ValueError("Found array with 0 sample(s) (shape=(0, %d))" % n_features)
    if fraction:
        helds = dask.compute(
            *[
                dask.delayed(_shard_held, pure=True)(base, offsets[s], part)
                for s, part in enumerate(parts)
            ]
        )
    else:
        helds = [{"held": 0, "held_w": 0.0, "held_wy": 0.0}] * len(stats)
    held = sum(h["held"] for h in helds)
    if fraction and (held == 0 or held == n):
        raise ValueError(
            "Splitting %d samples into a train set and a validation set with "
            "validation_fraction=%r led to an empty set." % (n, fraction)
        )
    n_train = n - held
    if regression:
        ybar = 0.0
        if fraction:
            ybar = sum(h["held_wy"] for h in helds) / max(sum(h["held_w"] for h in helds), 1e-300)
        problems = [dict(positive=None, fit_classes=None, ybar=ybar, class_weight=None)]
        all_classes = None
    else:
        seen = np.unique(np.concatenate([s["labels"] for s in stats]))
        if partial is True:
            all_classes = est.classes_
        elif classes is not None:
            all_classes = np.unique(np.asarray(classes))
        else:
            if partial:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            all_classes = seen
        unknown = np.setdiff1d(seen, all_classes)
        if unknown.size:
            raise ValueError("y has labels %r not in classes %r" % (unknown, all_classes))
        if all_classes.shape[0] < 2:
            raise ValueError(
                "The number of classes has to be greater than one; got %d class"
                % all_classes.shape[0]
            )
        cw = _class_weights(est, all_classes, stats)
        if all_classes.shape[0] == 2 or est.multi_class == "multinomial":
            problems = [dict(positive=None, fit_classes=all_classes, class_weight=est.class_weight)]
        else:
            problems = [
                dict(positive=c, fit_classes=np.array([0, 1]), class_weight={0: 1.0, 1: cw[k]})
                for k, c in enumerate(all_classes)
            ]
    params = est.get_params()
    params.update(max_iter=1, tol=None, early_stopping=False, verbose=0, warm_start=False, n_jobs=1)
    fitted = []
    for k, prob in enumerate(problems):
        p = dict(params)
        if prob["class_weight"] is not None:
            p["class_weight"] = prob["class_weight"]
        spec = dict(
            base,
            cls=type(est),
            params=p,
            seed=seed + k,
            eta0=est.eta0,
            step_scale=1.0,
            positive=prob["positive"],
            fit_classes=prob["fit_classes"],
            ybar=prob.get("ybar", 0.0),
        )
        state = _start_state(est, partial, k, len(problems))
        steps = _Steps(spec, state, parts, offsets)
        drive_params = _drive_params(est, regression, partial)
        n_iter = np.zeros(1, dtype=np.int32)
        status = np.zeros(1, dtype=np.int32)
        failed = np.zeros(1, dtype=np.int32)
        progress = _print_epoch if est.verbose else None
        _, loss_curve = _engine.drive(steps, drive_params, 1, True, float(n_train), steps.active,
                                      steps.step_scale, steps.eta_last, n_iter, status, failed,
                                      progress)  # fmt: skip
        if status[0] == _engine.STATUS_DIVERGED:
            raise _divergence_error(int(failed[0]))
        if status[0] == _engine.STATUS_INTERRUPTED:
            raise KeyboardInterrupt
        if steps.state is None:
            raise ValueError("no training rows")
        fitted.append((steps.state, int(n_iter[0]), loss_curve[0, : n_iter[0]]))
    _publish(est, fitted, all_classes, n_features, names, partial)
    return est


def _seed_of(random_state):
    """The fit's seed: random_state itself when it is an int (so that the
    tasks' keys and results are the same from fit to fit), else a draw."""
    if isinstance(random_state, numbers.Integral):
        return int(random_state)
    from sklearn.utils import check_random_state

    return int(check_random_state(random_state).randint(2**31 - 1))


def _class_weights(est, classes, stats):
    from ._sgd import _class_weight

    counts = {}
    for s in stats:
        for lab, c in zip(s["labels"].tolist(), s["counts"].tolist(), strict=True):
            counts[lab] = counts.get(lab, 0) + c
    cw = est.class_weight
    if not cw:
        return np.ones(len(classes))
    return _class_weight(cw, classes, lambda: [counts.get(c, 0) for c in classes.tolist()])


def _drive_params(est, regression, partial):
    """The driver's settings (fsgd_params) for the fit's stopping rule."""
    return {
        "loss": 0,
        "loss_param": 0.0,
        "label_01": 0,
        "penalty": 0,
        "alpha": est.alpha,
        "l1_ratio": est.l1_ratio,
        "learning_rate": _engine.LEARNING_RATE[est.learning_rate],
        "eta0": est.eta0,
        "power_t": est.power_t,
        "fit_intercept": est.fit_intercept,
        "intercept_decay": 1.0,
        "average": 0,
        "max_iter": 1 if partial else est.max_iter,
        "tol": -np.inf if est.tol is None or partial else est.tol,
        "n_iter_no_change": est.n_iter_no_change,
        "early_stopping": bool(est.early_stopping and not partial),
        "score_kind": _engine.SCORE["r2" if regression else "accuracy"],
        "order": 0,
        "t_start": 1.0,
    }


def _start_state(est, partial, k, n_problems):
    """The state the first epoch starts from: none for a new fit, the
    fitted estimator's (problem k's rows of it) for partial_fit."""
    if partial is not True:
        return None
    state = _state_of(est)
    if n_problems == 1:
        return state
    # problem k of one-vs-rest as a binary estimator
    out = {}
    for a, v in state.items():
        if a in _MIXED and isinstance(v, np.ndarray):
            out[a] = v[k : k + 1]
        elif a == "optimizer_state_":
            out[a] = dict(v, slots=v["slots"][:, k : k + 1])
        elif a == "classes_":
            out[a] = np.array([0, 1])
        elif a == "_expanded_class_weight":
            out[a] = np.array([1.0, v[k]])
        else:
            out[a] = v
    return out


def _publish(est, fitted, classes, n_features, names, partial):
    """The fitted attributes of est from the problems' mixed states."""
    if len(fitted) == 1:
        state = fitted[0][0]
    else:
        state = {}
        for a, v in fitted[0][0].items():
            if a in _MIXED and isinstance(v, np.ndarray):
                state[a] = np.concatenate([f[0][a] for f in fitted])
            elif a == "optimizer_state_":
                state[a] = dict(v, slots=np.concatenate([f[0][a]["slots"] for f in fitted], axis=1))
            else:
                state[a] = v
        state["classes_"] = classes
        state["_expanded_class_weight"] = np.array(
            [f[0]["_expanded_class_weight"][1] for f in fitted]
        )
    for a, v in state.items():
        setattr(est, a, v)
    n_iter = max(f[1] for f in fitted)
    est.n_iter_ = n_iter
    curves = [f[2] for f in fitted]
    if len(curves) == 1:
        curve = curves[0]
    else:
        curve = np.full((len(curves), n_iter), np.nan)
        for k, c in enumerate(curves):
            curve[k, : c.shape[0]] = c
    if partial is True and getattr(est, "loss_curve_", None) is not None:
        est.loss_curve_ = np.concatenate([np.atleast_1d(est.loss_curve_), curve], axis=-1)
    else:
        est.loss_curve_ = curve
    est.n_features_in_ = n_features
    if names is not None and all(isinstance(c, str) for c in names):
        est.feature_names_in_ = np.asarray(names, dtype=object)
    elif hasattr(est, "feature_names_in_"):
        del est.feature_names_in_


# ----------------------------------------------------------------- predict


def predict_method(est, method, X):
    """``est.<method>`` applied block by block to a dask collection, lazily."""
    _require_dask()
    import dask.array as da
    import dask.dataframe as dd

    f = getattr(est, method)
    if isinstance(X, dd.DataFrame):
        return X.map_partitions(lambda df: _frame_result(f(df), df.index),
                                meta=_meta(est, method))  # fmt: skip
    if isinstance(X, da.Array):
        if X.numblocks[1] > 1:
            X = X.rechunk({1: -1})
        out = f(np.zeros((1, X.shape[1]), dtype=X.dtype))
        if out.ndim == 1:
            return X.map_blocks(f, drop_axis=1, dtype=out.dtype)
        return X.map_blocks(f, chunks=(X.chunks[0], (out.shape[1],)), dtype=out.dtype)
    raise TypeError("%s of a %s" % (method, type(X).__name__))


def _frame_result(values, index):
    import pandas as pd

    if values.ndim == 1:
        return pd.Series(values, index=index)
    return pd.DataFrame(values, index=index)


def _meta(est, method):
    import pandas as pd

    if method == "predict":
        dt = est.classes_.dtype if hasattr(est, "classes_") else np.float64
        return pd.Series([], dtype=dt)
    k = len(est.classes_) if hasattr(est, "classes_") else 1
    if method == "decision_function" and k == 2:
        return pd.Series([], dtype=np.float64)
    return pd.DataFrame({i: pd.Series([], dtype=np.float64) for i in range(k)})
