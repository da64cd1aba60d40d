"""fastsgd fit / predict speed, fit memory and fit quality.

Every benchmark is parameterised by batch_size x data x estimator (see
common.py): per-sample fits (batch_size 1) and Adam on batches of 256 rows
and on full batches, on dense float64, dense float32 and CSR float64 data, with
SGDClassifier(log_loss) and SGDRegressor(squared_error), all with alpha=1e-4,
max_iter=5, tol=None, random_state=0, n_jobs=1.  FitThreads adds an n_jobs
axis (1, 2) to the batch engine's fit time (batch sizes 256 and "full").

asv flags an *increase* as a regression for every benchmark type, so quality
is tracked as quantities where lower is better: the final objective, its
relative gap to the optimum, and the held-out error (1 - accuracy, 1 - R^2).
"""

import time

import fastsgd

from . import common


class _Suite:
    params = common.PARAMS
    param_names = common.PARAM_NAMES
    timer = time.perf_counter  # wall clock (asv's default for time_)
    rounds = 1  # asv >= 0.5 name of `processes`: one process per benchmark
    processes = 1
    number = 1  # one fit per sample
    repeat = (3, 7, common.PROFILE.max_repeat_time)  # (min, max samples, max seconds)
    warmup_time = 0.0  # the warm-up is an explicit small fit in setup
    timeout = common.PROFILE.timeout

    def _data(self, batch_size, data, estimator):
        self._threads = common.single_threaded()
        self.ds = common.get_dataset(data, estimator)
        return self.ds

    def teardown(self, batch_size, data, estimator):
        self._threads.restore_original_limits()


_warmed = set()
_fitted = {}


def _warm_up(batch_size, ds, estimator, n_jobs=1):
    """One small fit per process and combination: lazy imports, first calls."""
    key = (batch_size, ds.kind, estimator, n_jobs)
    if key not in _warmed:
        est = common.make_estimator(estimator, batch_size, n_jobs)
        est.set_params(max_iter=1)
        est.fit(ds.X_train[:1000], ds.y_train[:1000])
        _warmed.add(key)


def _fitted_model(batch_size, data, ds, estimator):
    """The benchmark fit on the training rows, once per process and combination."""
    key = (batch_size, data, estimator, common.PROFILE)
    if key not in _fitted:
        _fitted.clear()
        _fitted[key] = common.make_estimator(estimator, batch_size).fit(ds.X_train, ds.y_train)
    return _fitted[key]


class Fit(_Suite):
    """fit() on the training rows: wall-clock time and peak memory (RSS, data included)."""

    def setup(self, batch_size, data, estimator):
        ds = self._data(batch_size, data, estimator)
        _warm_up(batch_size, ds, estimator)
        self.est = common.make_estimator(estimator, batch_size)

    def time_fit(self, batch_size, data, estimator):
        self.est.fit(self.ds.X_train, self.ds.y_train)

    def peakmem_fit(self, batch_size, data, estimator):
        self.est.fit(self.ds.X_train, self.ds.y_train)


class FitThreads(_Suite):
    """fit() time of the batch engine with n_jobs threads sharing every batch.

    The model does not depend on n_jobs (bit-identical coef_), so neither
    memory nor quality is repeated here.  n_jobs=2 on a machine with fewer
    free cores measures contention, not the engine.
    """

    params = common.THREAD_PARAMS
    param_names = common.THREAD_PARAM_NAMES

    def setup(self, batch_size, data, estimator, n_jobs):
        ds = self._data(batch_size, data, estimator)
        _warm_up(batch_size, ds, estimator, n_jobs)
        self.est = common.make_estimator(estimator, batch_size, n_jobs)

    def time_fit(self, batch_size, data, estimator, n_jobs):
        self.est.fit(self.ds.X_train, self.ds.y_train)

    def teardown(self, batch_size, data, estimator, n_jobs):
        super().teardown(batch_size, data, estimator)


class Predict(_Suite):
    """predict() of the fitted model on the training rows (the larger set: steadier timings)."""

    def setup(self, batch_size, data, estimator):
        ds = self._data(batch_size, data, estimator)
        self.est = _fitted_model(batch_size, data, ds, estimator)
        self.est.predict(ds.X_test[:1000])  # warm-up

    def time_predict(self, batch_size, data, estimator):
        self.est.predict(self.ds.X_train)


class Quality(_Suite):
    """How good the 5-epoch fit is; deterministic (fixed seeds), so any change is real."""

    def setup(self, batch_size, data, estimator):
        ds = self._data(batch_size, data, estimator)
        self.est = _fitted_model(batch_size, data, ds, estimator)

    def track_objective(self, batch_size, data, estimator):
        """Final training objective: mean loss + alpha/2 ||w||^2 (lower is better)."""
        return fastsgd.objective(self.est, self.ds.X_train, self.ds.y_train)

    track_objective.unit = "objective"

    def track_objective_gap(self, batch_size, data, estimator):
        """(objective - optimum) / optimum: the suboptimality left after 5 epochs.

        A fit that got worse moves this by much more than it moves the
        objective itself, so `asv continuous --factor 1.1` sees it.
        """
        X, y = self.ds.X_train, self.ds.y_train
        value = fastsgd.objective(self.est, X, y)
        best = common.optimal_objective(estimator, X, y)
        return (value - best) / best

    track_objective_gap.unit = "relative gap"

    def track_heldout_error(self, batch_size, data, estimator):
        """1 - accuracy (classifier) or 1 - R^2 (regressor) on the held-out rows."""
        return common.heldout_error(self.est, self.ds.X_test, self.ds.y_test)

    track_heldout_error.unit = "1 - score"
