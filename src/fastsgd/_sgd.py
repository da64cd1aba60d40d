"""Drop-in SGDClassifier and SGDRegressor.

Python validates, encodes options as integer codes and dispatches; the whole
multi-epoch fit of every binary problem runs in the C engine (csrc/) through
the Cython bridge (_engine.pyx), without the GIL.

The fitting procedure mirrors scikit-learn's ``_stochastic_gradient`` module
(same parameters, defaults, random-number consumption, learning-rate
schedules, intercept handling, averaging and stopping rule), so that with
``shuffle=False`` or ``shuffle_mode="full"`` the fitted coefficients equal
scikit-learn's up to floating-point rounding.
"""

import functools
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import sklearn.linear_model as _sk
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model._base import LinearClassifierMixin, SparseCoefMixin
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.utils import check_random_state, compute_class_weight
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import (
    _assert_all_finite,
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from . import _dask, _engine, _stream
from ._threads import effective_n_threads

MAX_INT = np.iinfo(np.int32).max
_MAX_EPOCHS = MAX_INT
_MAX_INT64 = np.iinfo(np.int64).max
DEFAULT_EPSILON = 0.1
SPARSE_INTERCEPT_DECAY = 0.01  # as scikit-learn: the intercept moves slower on sparse data

# loss name -> (engine code, fixed parameter or None when it is `epsilon`); the
# codes themselves are defined once, in csrc/fastsgd.h
_LOSS_CODES = {
    "hinge": (_engine.LOSS["hinge"], 1.0),
    "perceptron": (_engine.LOSS["hinge"], 0.0),
    "squared_hinge": (_engine.LOSS["squared_hinge"], 1.0),
    "log_loss": (_engine.LOSS["log"], 0.0),
    "modified_huber": (_engine.LOSS["modified_huber"], 0.0),
    "squared_error": (_engine.LOSS["squared"], 0.0),
    "huber": (_engine.LOSS["huber"], None),
    "epsilon_insensitive": (_engine.LOSS["epsilon_insensitive"], None),
    "squared_epsilon_insensitive": (_engine.LOSS["squared_epsilon_insensitive"], None),
}
_PENALTY_CODES = {None: _engine.PENALTY["none"], **_engine.PENALTY}
_LEARNING_RATE_CODES = _engine.LEARNING_RATE
_PER_SAMPLE_RATES = {"constant", "optimal", "invscaling", "adaptive", "pa1", "pa2"}
_OPTIMIZER_CODES = _engine.OPTIMIZER
# rows sampled for the curvature scale of the batch engine's "optimal" step
_SQ_NORM_ROWS = 1024
_PAPER_RHO = {"rmsprop": 0.9, "adadelta": 0.95}
_PAPER_EPSILON = {"adagrad": 1e-10, "rmsprop": 1e-8, "adadelta": 1e-6, "adam": 1e-8, "adamw": 1e-8}
_ORDER_SEQUENTIAL = _engine.ORDER["sequential"]
_SHUFFLE_MODES = {"block": _engine.ORDER["block"], "full": _engine.ORDER["permutation"]}
_SCORE_ACCURACY, _SCORE_R2 = _engine.SCORE["accuracy"], _engine.SCORE["r2"]
_CONTINUE = object()  # coef_init value: continue from the fitted state (partial_fit)


def _keep_state_on_error(method):
    """A fit that raises leaves the estimator exactly as it was before the call.

    (validate_data sets n_features_in_ and feature_names_in_ before any work;
    the engine itself works on copies.)
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        saved = dict(self.__dict__)
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    return wrapper


def _no_init_on_dask(coef_init, intercept_init):
    if coef_init is not None or intercept_init is not None:
        raise ValueError("coef_init and intercept_init are not supported on dask collections")


def _divergence_error(epoch):
    # scikit-learn's words, which people match on
    return ValueError(
        "Floating-point under-/overflow occurred at epoch #%d. Scaling input data "
        "with StandardScaler or MinMaxScaler might help." % epoch
    )


def _second_moment(X, sample_weight, fit_intercept):
    """Trace and largest eigenvalue of M = mean of sample_weight * x x' (x with
    a 1 appended when fit_intercept), over at most _SQ_NORM_ROWS rows spread
    evenly over X (rows i * n // k): the curvature scale of the batch engine's
    default step (docs/batch.md).  Exact below 256 features, else by power
    iteration (relative tolerance 1e-4).  O(k x n_features) work, independent of n;
    (1.0, 1.0) when the sample holds NaN or inf (the engine then stops at the
    first epoch with its error)."""
    n = X.shape[0]
    k = min(n, _SQ_NORM_ROWS)
    rows = np.arange(k, dtype=np.int64) * n // k
    if sp.issparse(X):
        # the sampled rows' structure is checked before scipy reads it (the
        # engine checks all of X later); a bad indptr is checked on all of X
        indptr = X.indptr
        if (
            indptr.shape[0] != n + 1
            or indptr[0] != 0
            or indptr[-1] > X.indices.shape[0]
            or np.any(indptr[1:] < indptr[:-1])
        ):
            _check_csr_structure(X)
        S = X[rows]
        try:
            _check_csr_structure(S)
        except ValueError:
            _check_csr_structure(X)  # the message with X's own positions
            raise
    else:
        S = X[rows]
    S = S.astype(np.float64) if sp.issparse(S) else np.asarray(S, dtype=np.float64)
    w = np.ones(k) if sample_weight is None else np.asarray(sample_weight, np.float64)[rows]
    w = w / k
    b = float(bool(fit_intercept))
    if sp.issparse(S):
        sq = np.asarray(S.multiply(S).sum(axis=1)).ravel()
    else:
        sq = np.einsum("ij,ij->i", S, S)
    trace = float(w @ (sq + b))
    if not (np.isfinite(trace) and trace >= 0.0):
        return 1.0, 1.0
    if trace == 0.0:
        return 0.0, 0.0
    d = S.shape[1]
    if d < 256:
        # exact: the eigenvalues of the (d + 1) x (d + 1) matrix
        A = (S.toarray() if sp.issparse(S) else S) * np.sqrt(w)[:, None]
        if fit_intercept:
            A = np.hstack([A, np.sqrt(w)[:, None]])
        top = float(np.linalg.eigvalsh(A.T @ A)[-1])
    else:
        # power iteration on M v = S' W (S v + b v_b) (and its intercept part)
        v = np.random.default_rng(0).standard_normal(d + 1)
        v[d] *= b
        top = 0.0
        for _ in range(100):
            v /= np.linalg.norm(v)
            p = w * (S @ v[:d] + b * v[d])
            Mv = np.append(S.T @ p, b * p.sum())
            new = float(v @ Mv)
            v = Mv
            if abs(new - top) <= 1e-4 * new:
                break
            top = new
        top = new
    return trace, min(max(top, 0.0), trace)


def _as_engine_csr(X):
    """CSR parts in the engine's layout: int32 column indices, int64 indptr.

    Only the index arrays are converted when their dtype differs; the values
    are used in place.
    """
    if X.nnz and X.indices.size and X.shape[1] > MAX_INT:
        raise ValueError("More than 2**31 - 1 features are not supported.")
    if X.indices.dtype != np.int32:
        _check_csr_structure(X)  # before the cast to int32, which would wrap large values
    indices = np.ascontiguousarray(X.indices, dtype=np.int32)
    indptr = np.ascontiguousarray(X.indptr, dtype=np.int64)
    data = np.ascontiguousarray(X.data)
    return data, indices, indptr


def _aligned(a):
    """a, or a C-ordered copy of it when its values do not sit at multiples
    of their size: the C engine reads each value as its type, which C
    requires to be aligned, while NumPy allows otherwise (arrays that Dask
    received inside a network frame, np.frombuffer at an odd offset)."""
    if a is None or a.flags.aligned:
        return a
    return np.require(a, requirements=["C", "A"])


def _check_csr_structure(X):
    """ValueError for a CSR matrix whose indptr or column indices are out of range."""
    indices = X.indices if X.indices.dtype in (np.int32, np.int64) else X.indices.astype(np.int64)
    _engine.check_csr(
        _aligned(np.ascontiguousarray(indices)),
        _aligned(np.ascontiguousarray(X.indptr, dtype=np.int64)),
        X.shape[1],
    )


def _print_epoch(info):
    """Prints one epoch's report (verbose > 0), like scikit-learn's SGD."""
    line = "-- Epoch %d\nNorm: %.2f, NNZs: %d, Bias: %.6f, T: %d, Avg. loss: %f" % (
        info["epoch"],
        info["norm"],
        info["nnz"],
        info["intercept"],
        info["t"],
        info["objective"],
    )
    if info["score"] == info["score"]:  # not NaN: early stopping
        line += ", Validation score: %f" % info["score"]
    print(line)
    print("Total training time: %.2f seconds." % info["seconds"], flush=True)


class _BaseSGD(SparseCoefMixin, BaseEstimator):
    """Parameters and the call into the engine, shared by both estimators."""

    _parameter_constraints: dict = {
        "fit_intercept": ["boolean"],
        # the engine counts epochs in a C int and samples in int64
        "max_iter": [Interval(Integral, 1, _MAX_EPOCHS, closed="both")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "shuffle": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "average": [Interval(Integral, 0, _MAX_INT64, closed="right"), "boolean"],
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both"), None],
        "power_t": [Interval(Real, None, None, closed="neither")],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "learning_rate": [StrOptions(set(_LEARNING_RATE_CODES))],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, _MAX_EPOCHS, closed="both")],
        "shuffle_mode": [StrOptions(set(_SHUFFLE_MODES))],
        "n_jobs": [Integral, None],
        "batch_size": [Interval(Integral, 1, _MAX_INT64, closed="both"), StrOptions({"full"})],
        "optimizer": [StrOptions(set(_OPTIMIZER_CODES))],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "rho": [Interval(Real, 0, 1, closed="left"), None],
        "optimizer_epsilon": [Interval(Real, 0, None, closed="neither"), None],
        "clip_norm": [Interval(Real, 0, None, closed="neither"), None],
        "lr_decay": [Interval(Real, 0, 1, closed="right")],
        "lr_decay_epochs": [Interval(Real, 0, None, closed="neither")],
        "restart_epochs": [Interval(Real, 0, None, closed="neither")],
        "restart_mult": [Interval(Real, 1, None, closed="left")],
        "eta_min": [Interval(Real, 0, None, closed="left")],
        "warmup_epochs": [Interval(Real, 0, None, closed="left")],
        "parallel": [StrOptions({"shards"}), None],
        "n_shards": [Interval(Integral, 1, MAX_INT, closed="both"), None],
        "scale": [StrOptions({"standard"}), None],
    }

    # ------------------------------------------------------------------
    # checks shared by fit and partial_fit
    def _uses_batch_engine(self):
        """Whether the batch engine runs the fit (docs/batch.md)."""
        return (
            self.batch_size != 1
            or self.optimizer != "sgd"
            or getattr(self, "multi_class", "ovr") == "multinomial"
            or self.learning_rate not in _PER_SAMPLE_RATES
            or self.warmup_epochs > 0
            or self.clip_norm is not None
        )

    def _thread_tasks(self, K, n_rows):
        """Units of work the threads share: the batch engine's chunks (no cap),
        the shards of a shard-parallel fit, else the one-vs-rest problems."""
        if self._uses_batch_engine():
            return None
        shards = self._shard_count(n_rows)
        return shards if shards > 1 else K

    def _shard_count(self, n_rows):
        """Shards of a shard-parallel fit: n_shards, or one per 50,000 rows (at
        most 16), never more than the rows; 1 (the sequential fit) without
        parallel="shards".  A function of the data only, never of n_jobs, so
        the result does not depend on the thread count."""
        if self.parallel != "shards":
            return 1
        if self.n_shards is not None:
            return int(min(self.n_shards, n_rows))
        return int(max(1, min(16, n_rows // 50_000)))

    def _more_validate_params(self, for_partial_fit=False):
        if self.early_stopping and for_partial_fit:
            raise ValueError("early_stopping should be False with partial_fit")
        if self.learning_rate in ("pa1", "pa2") and self._uses_batch_engine():
            raise ValueError(
                "learning_rate=%r is a per-sample rule: it needs batch_size=1, "
                "optimizer='sgd' and no clip_norm, warmup_epochs or multinomial."
                % self.learning_rate
            )
        if self.parallel == "shards" and self._uses_batch_engine():
            raise ValueError(
                "parallel='shards' runs the per-sample engine (batch_size=1, "
                "optimizer='sgd', a per-sample learning_rate); the batch engine "
                "shares each batch across the threads already."
            )
        if self.eta_min > self.eta0 and self.learning_rate == "cosine":
            raise ValueError("eta_min=%r must not exceed eta0=%r." % (self.eta_min, self.eta0))
        if self.learning_rate == "optimal" and self.alpha == 0 and not self._uses_batch_engine():
            raise ValueError(
                "alpha must be > 0 since learning_rate is 'optimal'. alpha is used "
                "to compute the optimal learning rate."
            )
        if self.learning_rate in ("pa1", "pa2"):
            needed = "hinge" if is_classifier(self) else "epsilon_insensitive"
            if self.loss != needed:
                raise ValueError(
                    f"Learning rate '{self.learning_rate}' only works with loss '{needed}'."
                )
        if getattr(self, "multi_class", "ovr") == "multinomial" and self.loss != "log_loss":
            raise ValueError(
                "multi_class='multinomial' needs loss='log_loss' (the softmax "
                "cross-entropy); got loss=%r." % self.loss
            )
        if self.penalty == "elasticnet" and self.l1_ratio is None:
            raise ValueError("l1_ratio must be set when penalty is 'elasticnet'")

    def _batch_rows(self):
        """Rows per batch the engine takes: 1 for the per-sample engine."""
        if not self._uses_batch_engine():
            return 1
        return self.batch_size

    def _source_of(self, X, y, sample_weight, first_call=True):
        """X as a data source when the fit reads it window by window
        (scale="standard"), else None."""
        if self.scale is None:
            return None
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        return _stream.ArraySource(X, y, sample_weight)

    def _prepare_source(self, source, classes=None, continue_scaling=False):
        """Fixes what a fit over a data source needs before its first epoch:
        the classes, the held-out rows, the scaling (``continue_scaling``:
        the fitted model's), the window size.  Seeds come from random_state,
        apart from the problems' seeds."""
        if self._uses_batch_engine() and self.batch_size == "full":
            raise ValueError(
                "batch_size='full' takes one step per pass over all rows in "
                "memory; a data source hands them over a window at a time: "
                "give batch_size an integer"
            )
        seed = int(check_random_state(self.random_state).randint(MAX_INT))
        scaling = None
        if continue_scaling and getattr(self, "feature_scale_", None) is not None:
            scaling = _stream.Scaling(self.feature_mean_, self.feature_scale_)
        source.prepare(
            regression=not is_classifier(self),
            classes=classes,
            early_stopping=self.early_stopping,
            validation_fraction=self.validation_fraction,
            validation_seed=seed,
            scale=self.scale,
            scaling=scaling,
            batch_rows=self._batch_rows(),
            shuffle=self.shuffle,
            seed=seed,
        )
        if source.n_rows == 0:
            raise ValueError("no rows to fit")
        return source

    def _loss_code(self):
        code, param = _LOSS_CODES[self.loss]
        return code, (self.epsilon if param is None else param)

    def _warn_after_fit(self):
        if self.tol is not None and self.tol > -np.inf and self.n_iter_ == self.max_iter:
            warnings.warn(
                "Maximum number of iteration reached before convergence. Consider "
                "increasing max_iter to improve the fit.",
                ConvergenceWarning,
                stacklevel=3,
            )
        if self.power_t < 0:
            warnings.warn(
                "Negative values for `power_t` are deprecated (as in scikit-learn "
                "1.8) and will raise an error in a future release.",
                FutureWarning,
                stacklevel=3,
            )

    def _make_validation_split(self, y, sample_weight):
        """Mask of the validation rows (all 0 without early stopping): the
        rows of scikit-learn's split, drawn by its splitter from y (or the
        class codes) alone; sample_weight None means unit weights."""
        n_samples = y.shape[0]
        validation_mask = np.zeros(n_samples, dtype=np.uint8)
        if not self.early_stopping:
            return validation_mask
        splitter = StratifiedShuffleSplit if is_classifier(self) else ShuffleSplit
        cv = splitter(test_size=self.validation_fraction, random_state=self.random_state)
        # the splitter only counts X's rows: a broadcast zero column costs no memory
        rows = np.broadcast_to(np.zeros((1, 1)), (n_samples, 1))
        idx_train, idx_val = next(cv.split(rows, y))
        if sample_weight is not None and not np.any(sample_weight[idx_val] > 0):
            raise ValueError(
                "The sample weights for validation set are all zero, consider using a"
                " different random state."
            )
        if idx_train.shape[0] == 0 or idx_val.shape[0] == 0:
            raise ValueError(
                "Splitting %d samples into a train set and a validation set with "
                "validation_fraction=%r led to an empty set (%d and %d samples). "
                "Please either change validation_fraction, increase number of "
                "samples, or disable early_stopping."
                % (n_samples, self.validation_fraction, idx_train.shape[0], idx_val.shape[0])
            )
        validation_mask[idx_val] = 1
        return validation_mask

    def _start_params(self, K, n_features, dtype, coef_init, intercept_init):
        """Working copies of the parameters a fit starts from, as K rows.

        ``coef_init`` is _CONTINUE (carry on from the fitted state: plain and
        averaged weights), None (zeros) or the user's initial coefficients.
        The estimator itself is untouched until the fit succeeds.
        """
        if coef_init is _CONTINUE:
            plain_coef = self._standard_coef if self.average else self.coef_
            plain_intercept = self._standard_intercept if self.average else self.intercept_
            coef = np.array(plain_coef, dtype=dtype, order="C").reshape(K, n_features)
            intercept = np.array(plain_intercept, dtype=np.float64).reshape(K)
            if self.average:
                avg_coef = np.array(self._average_coef, dtype=dtype, order="C").reshape(
                    K, n_features
                )
                avg_intercept = np.array(self._average_intercept, dtype=np.float64).reshape(K)
            else:
                avg_coef, avg_intercept = None, np.zeros(K)
            return coef, intercept, avg_coef, avg_intercept
        if coef_init is None:
            coef = np.zeros((K, n_features), dtype=dtype)
        else:
            coef = np.array(coef_init, dtype=dtype, order="C")
            if K == 1:
                coef = coef.ravel()
                if coef.shape != (n_features,):
                    raise ValueError("Provided coef_init does not match dataset.")
            elif coef.shape != (K, n_features):
                raise ValueError("Provided ``coef_`` does not match dataset. ")
            coef = coef.reshape(K, n_features)
        if intercept_init is None:
            intercept = np.zeros(K)
        else:
            intercept = np.array(intercept_init, dtype=dtype)
            if intercept.shape not in (((1,), ()) if K == 1 else ((K,),)):
                raise ValueError("Provided intercept_init does not match dataset.")
            intercept = intercept.astype(np.float64).reshape(K)
        avg_coef = np.zeros((K, n_features), dtype=dtype) if self.average else None
        return coef, intercept, avg_coef, np.zeros(K)

    def _publish(self, coef, intercept, avg_coef, avg_intercept, t_, n_iter_, loss_curve, shape):
        """Sets the fitted attributes (coef_ of the given shape) after a successful fit."""
        dtype = coef.dtype
        self.t_ = t_
        self.n_iter_ = n_iter_
        state = self.__dict__.pop("_pending_optimizer_state", None)
        if state is not None:
            self.optimizer_state_ = state
        elif hasattr(self, "optimizer_state_"):
            del self.optimizer_state_
        one_curve = loss_curve.shape[0] == 1 or getattr(self, "_multinomial", False)
        self.loss_curve_ = loss_curve[0, :n_iter_] if one_curve else loss_curve[:, :n_iter_]
        coef = coef.reshape(shape)
        intercept = intercept.astype(dtype)
        if self.average:
            self._standard_coef = coef
            self._standard_intercept = intercept
            self._average_coef = avg_coef.reshape(shape)
            self._average_intercept = avg_intercept.astype(dtype)
            # as scikit-learn: the averaged weights once averaging has started
            use_average = self.average <= t_ - 1
            self.coef_ = self._average_coef if use_average else self._standard_coef
            self.intercept_ = self._average_intercept if use_average else self._standard_intercept
        else:
            self.coef_ = coef
            self.intercept_ = intercept

    def _publish_scaling(self, source):
        """feature_mean_ / feature_scale_ of a scaled fit (removed otherwise)."""
        scaling = None if source is None else source.scaling
        if scaling is None:
            for name in ("feature_mean_", "feature_scale_"):
                self.__dict__.pop(name, None)
            return
        self.feature_mean_ = scaling.mean
        self.feature_scale_ = scaling.scale

    def _batch_params(self, multinomial):
        """The batch engine's settings (None: the per-sample engine runs)."""
        if not self._uses_batch_engine():
            return None
        opt = self.optimizer
        return dict(
            batch_size=np.iinfo(np.int64).max
            if self.batch_size == "full"
            else int(self.batch_size),
            optimizer=_OPTIMIZER_CODES[opt],
            momentum=float(self.momentum),
            beta_1=float(self.beta_1),
            beta_2=float(self.beta_2),
            rho=float(self.rho if self.rho is not None else _PAPER_RHO.get(opt, 0.9)),
            epsilon=float(
                self.optimizer_epsilon
                if self.optimizer_epsilon is not None
                else _PAPER_EPSILON.get(opt, 1e-8)
            ),
            clip_norm=float(self.clip_norm) if self.clip_norm is not None else 0.0,
            multinomial=int(multinomial),
            lr_decay=float(self.lr_decay),
            lr_decay_epochs=float(self.lr_decay_epochs),
            restart_epochs=float(self.restart_epochs),
            restart_mult=float(self.restart_mult),
            eta_min=float(self.eta_min),
            warmup_epochs=float(self.warmup_epochs),
        )

    def _optimizer_state(self, bparams, K, n_features, continue_state):
        """Optimizer state to start from: the fitted one (partial_fit) or zeros."""
        n_slots = _engine.optimizer_slots(bparams["optimizer"])
        old = getattr(self, "optimizer_state_", None) if continue_state else None
        if (
            old is not None
            and old["optimizer"] == self.optimizer
            and old["slots"].shape == (n_slots, K, n_features + 1)
        ):
            slots = np.array(old["slots"], dtype=np.float64, order="C")
            counters = np.array(
                [old["n_updates"], old["epochs"], old["n_averaged"]], dtype=np.float64
            )
        else:
            slots = np.zeros((n_slots, K, n_features + 1))
            counters = np.zeros(3)
        return slots, counters

    def _run_engine(
        self,
        X,
        *,
        y=None,
        y_code=None,
        sample_weight,
        validation_mask,
        coef,
        avg_coef,
        intercept,
        avg_intercept,
        positive_class,
        weight_pos,
        weight_neg,
        seeds,
        max_iter,
        t_start,
        label_01,
        score_kind,
        n_threads,
        multinomial=False,
        continue_state=False,
    ):
        """Run the engine on working copies; returns (n_iter per problem, loss curves).

        coef/avg_coef (K x n_features) and intercept/avg_intercept (K,) are
        updated in place; the caller publishes them only when this returns,
        so a diverged fit never leaves NaN in the estimator.
        """
        source = X if isinstance(X, _stream.RowSource) else None
        if source is not None:
            try:
                return self._run_source(
                    source,
                    coef=coef,
                    avg_coef=avg_coef,
                    intercept=intercept,
                    avg_intercept=avg_intercept,
                    positive_class=positive_class,
                    weight_pos=weight_pos,
                    weight_neg=weight_neg,
                    seeds=seeds,
                    max_iter=max_iter,
                    t_start=t_start,
                    label_01=label_01,
                    score_kind=score_kind,
                    n_threads=n_threads,
                    multinomial=multinomial,
                    continue_state=continue_state,
                )
            finally:
                source.close()
        return self._run_arrays(
            X,
            y=y,
            y_code=y_code,
            sample_weight=sample_weight,
            validation_mask=validation_mask,
            coef=coef,
            avg_coef=avg_coef,
            intercept=intercept,
            avg_intercept=avg_intercept,
            positive_class=positive_class,
            weight_pos=weight_pos,
            weight_neg=weight_neg,
            seeds=seeds,
            max_iter=max_iter,
            t_start=t_start,
            label_01=label_01,
            score_kind=score_kind,
            n_threads=n_threads,
            multinomial=multinomial,
            continue_state=continue_state,
        )

    def _run_source(self, source, *, coef, avg_coef, intercept, avg_intercept, **kw):
        """_run_arrays over a data source's windows: the weights turned to
        the scaled features before and back to the original ones after."""
        sc = source.scaling
        if sc is not None:
            sc.to_scaled(coef, intercept)
            if avg_coef is not None:
                sc.to_scaled(avg_coef, avg_intercept)
        if source.is_csr:
            data = np.zeros(0, dtype=source.dtype)
        else:
            data = np.zeros((0, source.n_features), dtype=source.dtype)
        result = self._run_arrays(
            data,
            y=None,
            y_code=None,
            sample_weight=None,
            validation_mask=None,
            coef=coef,
            avg_coef=avg_coef,
            intercept=intercept,
            avg_intercept=avg_intercept,
            source=source,
            **kw,
        )
        if sc is not None:
            sc.to_original(coef, intercept)
            if avg_coef is not None:
                sc.to_original(avg_coef, avg_intercept)
        return result

    def _run_arrays(
        self,
        X,
        *,
        y,
        y_code,
        sample_weight,
        validation_mask,
        coef,
        avg_coef,
        intercept,
        avg_intercept,
        positive_class,
        weight_pos,
        weight_neg,
        seeds,
        max_iter,
        t_start,
        label_01,
        score_kind,
        n_threads,
        multinomial,
        continue_state,
        source=None,
    ):
        loss_code, loss_param = self._loss_code()
        penalty = _PENALTY_CODES[self.penalty]
        bparams = self._batch_params(multinomial)
        learning_rate, eta0 = self.learning_rate, self.eta0
        if bparams is not None:
            bparams["row_sq_norm"] = bparams["row_top_eig"] = 0.0
            if learning_rate == "optimal":
                S, S_w = (X, sample_weight) if source is None else source.sample(_SQ_NORM_ROWS)
                bparams["row_sq_norm"], bparams["row_top_eig"] = _second_moment(
                    S, S_w, self.fit_intercept
                )
        if self.shuffle:
            order = _SHUFFLE_MODES[self.shuffle_mode]
        else:
            order = _ORDER_SEQUENTIAL
        if source is not None:
            data, indices, indptr = X, np.zeros(0, dtype=np.int32), np.zeros(1, dtype=np.int64)
            intercept_decay = SPARSE_INTERCEPT_DECAY if source.is_csr else 1.0
        elif sp.issparse(X):
            data, indices, indptr = _as_engine_csr(X)
            intercept_decay = SPARSE_INTERCEPT_DECAY
        else:
            data = X
            indices = np.zeros(0, dtype=np.int32)
            indptr = np.zeros(1, dtype=np.int64)
            intercept_decay = 1.0
        params = dict(
            loss=loss_code,
            loss_param=float(loss_param),
            label_01=int(label_01),
            penalty=penalty,
            alpha=float(self.alpha),
            l1_ratio=float(0.0 if self.l1_ratio is None else self.l1_ratio),
            learning_rate=_LEARNING_RATE_CODES[learning_rate],
            eta0=float(eta0),
            power_t=float(self.power_t),
            fit_intercept=int(self.fit_intercept),
            intercept_decay=intercept_decay,
            average=int(self.average),
            max_iter=int(max_iter),
            tol=float(self.tol) if self.tol is not None else -np.inf,
            n_iter_no_change=int(self.n_iter_no_change),
            early_stopping=int(self.early_stopping),
            score_kind=score_kind,
            order=order,
            t_start=float(t_start),
            n_shards=1 if source is not None else self._shard_count(X.shape[0]),
            one_class=int(getattr(self, "_one_class", False)),
        )
        K = coef.shape[0]
        n_iter = np.zeros(K, dtype=np.int32)
        status = np.zeros(K, dtype=np.int32)
        failed_epoch = np.zeros(K, dtype=np.int32)
        sw = (
            None if sample_weight is None else np.ascontiguousarray(sample_weight, dtype=np.float64)
        )
        mask = validation_mask if self.early_stopping else None
        if source is None:
            _check_validation_rows(self, X, mask)
        progress = _print_epoch if self.verbose else None
        slots = counters = None
        if bparams is not None:
            slots, counters = self._optimizer_state(bparams, K, coef.shape[1], continue_state)
        ret, loss_curve = _engine.fit(
            _aligned(data),
            _aligned(indices),
            _aligned(indptr),
            _aligned(y),
            _aligned(y_code),
            _aligned(sw),
            _aligned(mask),
            coef,
            avg_coef,
            intercept,
            avg_intercept,
            np.asarray(positive_class, dtype=np.int32),
            np.asarray(weight_pos, dtype=np.float64),
            np.asarray(weight_neg, dtype=np.float64),
            np.asarray(seeds, dtype=np.uint32),
            n_iter,
            status,
            failed_epoch,
            params,
            int(n_threads),
            progress,
            bparams,
            None if slots is None else slots.reshape(-1),
            counters,
            source,
        )
        if ret == _engine.STATUS_DIVERGED:
            if source is None:
                _raise_for_non_finite(self, X)
            elif isinstance(source, _stream.ArraySource):
                _raise_for_non_finite(self, source.X)
            raise _divergence_error(int(failed_epoch[status == _engine.STATUS_DIVERGED].min()))
        if ret == _engine.STATUS_NO_MEMORY:
            raise MemoryError("fastsgd: could not allocate the engine's working memory")
        if ret == _engine.STATUS_INVALID_ARGUMENT:  # the bridge checks first: not reached from here
            raise ValueError("fastsgd engine: invalid argument")
        if ret != _engine.STATUS_OK:
            raise RuntimeError("fastsgd engine stopped with status %d" % ret)
        if bparams is None:
            self._pending_optimizer_state = None
        else:
            self._pending_optimizer_state = {
                "optimizer": self.optimizer,
                "slots": slots,
                "n_updates": float(counters[0]),
                "epochs": float(counters[1]),
                "n_averaged": float(counters[2]),
            }
        return n_iter, loss_curve

    def _scores(self, X):
        """X @ coef_.T + intercept_ as an (n_samples, K) array, X validated first."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False)
        if sp.issparse(X):
            _check_csr_structure(X)
        scores = safe_sparse_dot(X, self.coef_.T, dense_output=True) + self.intercept_
        return np.asarray(scores).reshape(X.shape[0], -1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _check_classification_targets(y):
    """scikit-learn's check_classification_targets, without its pass over y
    for a 1-D integer or boolean y, whose type is always "binary" or
    "multiclass" (both accepted)."""
    y = np.asarray(y)
    if y.ndim == 1 and y.dtype.kind in "iub":
        return
    check_classification_targets(y)


def _class_weight(class_weight, classes, counts):
    """compute_class_weight from the rows per class, ``counts()`` (called for
    "balanced" only): "balanced" is n_samples / (n_classes * count),
    scikit-learn's rule, without its copies of y."""
    if class_weight != "balanced":
        return compute_class_weight(class_weight, classes=classes, y=classes)
    counts = np.asarray(counts(), dtype=np.float64)
    if np.any(counts == 0):
        raise ValueError("classes should have valid labels that are in y")
    return counts.sum() / (len(classes) * counts)


def _encode(y, classes):
    """Codes of y in the sorted array ``classes``; ValueError for unknown labels."""
    y = np.asarray(y)
    if (
        y.dtype.kind in "iub"
        and classes.dtype.kind in "iub"
        and classes.size
        and int(classes[0]) == 0
        and int(classes[-1]) == classes.size - 1
        and y.size
        and 0 <= int(y.min())
        and int(y.max()) < classes.size
    ):
        # labels 0 .. K-1, all known: the labels are their codes
        return y.astype(np.int32)
    if (
        y.dtype.kind in "iub"
        and classes.dtype.kind in "iub"
        and classes.size
        and int(classes[-1]) - int(classes[0]) < 4 * y.size + 1024
    ):
        # small integer labels: a lookup table, O(n)
        lo = int(classes[0])
        offsets = y.astype(np.int64) - lo
        span = int(classes[-1]) - lo + 1
        table = np.full(span, -1, dtype=np.int32)
        table[classes.astype(np.int64) - lo] = np.arange(classes.size, dtype=np.int32)
        inside = (offsets >= 0) & (offsets < span)
        codes = np.where(inside, table[np.clip(offsets, 0, span - 1)], -1).astype(np.int32)
    else:
        codes = np.searchsorted(classes, y).astype(np.int32)
        codes[codes >= classes.size] = -1
        codes[(codes >= 0) & (classes[np.clip(codes, 0, classes.size - 1)] != y)] = -1
    if np.any(codes < 0):
        unknown = np.setdiff1d(np.unique(y), classes)
        # scikit-learn's words first (people match on them), then which labels
        raise ValueError(
            "classes should include all valid labels that can be in y "
            "(y contains labels %r that are not in classes %r)" % (unknown[:5], classes)
        )
    return codes


def _unique_labels(y):
    """np.unique(y), in O(n) for small integer labels."""
    y = np.asarray(y)
    if y.dtype.kind in "iub" and y.size:
        lo, hi = int(y.min()), int(y.max())
        if hi - lo < 4 * y.size + 1024:
            present = np.bincount((y.astype(np.int64) - lo).ravel(), minlength=hi - lo + 1) > 0
            return (np.flatnonzero(present) + lo).astype(y.dtype)
    return np.unique(y)


def _check_X(est, X, y, reset):
    """validate_data with what the engine takes: float32/float64, C order, CSR.

    X's values are not read here: the engine's first epoch sees every
    training row, and a NaN or infinity in one makes its prediction
    non-finite, so a fit that reports divergence checks X then
    (_raise_for_non_finite) and names the bad input instead.  That saves a
    pass over X per fit.  Rows held out for early stopping are checked
    before the fit (_check_validation_rows).
    """
    X, y = validate_data(
        est,
        X,
        y,
        accept_sparse="csr",
        dtype=[np.float64, np.float32],
        order="C",
        accept_large_sparse=True,
        reset=reset,
        ensure_all_finite=False,
    )
    return X, y


def _raise_for_non_finite(est, X):
    """scikit-learn's ValueError for NaN or infinity in X, if X holds any."""
    _assert_all_finite(
        X.data if sp.issparse(X) else X, input_name="X", estimator_name=type(est).__name__
    )


def _check_validation_rows(est, X, validation_mask):
    """The rows the engine never trains on must be finite too."""
    if validation_mask is not None and validation_mask.any():
        _raise_for_non_finite(est, X[validation_mask.astype(bool)])


def _engine_dtype_like(est, X):
    """On later partial_fit calls X is cast to the model's dtype once."""
    coef = getattr(est, "coef_", None)
    if coef is not None and X.dtype != coef.dtype:
        X = X.astype(coef.dtype)
    return X


class SGDClassifier(LinearClassifierMixin, _BaseSGD):
    """Linear classifiers (SVM, logistic regression, ...) trained by SGD.

    A drop-in replacement for :class:`sklearn.linear_model.SGDClassifier`:
    every parameter has scikit-learn's name, meaning and default, and the
    update sequence is the same.  The epochs run in compiled code without the
    GIL; one-vs-rest problems run in parallel on OpenMP threads.

    Parameters beyond scikit-learn's
    --------------------------------
    shuffle_mode : {"block", "full"}, default="block"
        How rows are shuffled each epoch when ``shuffle=True``.  "block" keeps
        256 chunks of consecutive rows (at most 64 rows and 64 KiB) open at
        random places in X and takes each run of up to 4 rows (no more than
        2 KiB) from a random open chunk (the batch engine: runs of up to 8
        rows, at least 32 places per batch), every row once per epoch; X
        under 4 MiB is shuffled fully.
        Close to streaming speed, with the optimisation quality of a full
        shuffle.  "full" is scikit-learn's own random permutation (same
        generator and seed, so the same order as scikit-learn).

    n_jobs : int, default=None
        Threads: for the one-vs-rest problems of a per-sample multiclass fit,
        or sharing every batch of the batch engine.  ``None`` uses all
        available cores (respecting ``OMP_NUM_THREADS``, cgroup limits and
        threadpoolctl); the result is the same whatever its value.

    batch_size : int or "full", default=1
        Rows per gradient step.  1 is per-sample SGD (scikit-learn's updates
        exactly, with the other additions at their defaults); larger values
        average the gradient over the batch; "full" is full-batch gradient
        descent.

    optimizer : {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", \
            "adadelta", "adam", "adamw"}, default="sgd"
        Update rule (docs/batch.md), with ``momentum`` (0.9), ``beta_1``
        (0.9), ``beta_2`` (0.999), ``rho`` (None: 0.9 for rmsprop, 0.95 for
        adadelta) and ``optimizer_epsilon`` (None: 1e-10 adagrad, 1e-8 rmsprop,
        adam, adamw, 1e-6 adadelta) as in the papers.

    learning_rate : also "step", "exponential", "cosine"
        ``eta0 * lr_decay ** floor(epoch / lr_decay_epochs)`` (step, defaults
        0.1 and 10), its smooth form (exponential), or cosine annealing from
        ``eta0`` to ``eta_min`` with warm restarts every ``restart_epochs``
        epochs, each cycle ``restart_mult`` times longer.  ``warmup_epochs``
        ramps any schedule up linearly.

    clip_norm : float, default=None
        Clip each update's gradient to this global Euclidean norm.

    multi_class : {"ovr", "multinomial"}, default="ovr"
        "multinomial" fits softmax regression (with ``loss="log_loss"``);
        ``predict_proba`` then returns the softmax of the decision function.

    parallel : {None, "shards"}, default=None
        ``None`` runs scikit-learn's sequential per-sample updates.
        ``"shards"`` runs per-sample SGD on all threads by iterative
        parameter mixing: the rows are cut into ``n_shards`` contiguous
        shards; every epoch each shard runs the ordinary per-sample updates
        over its own rows from the epoch's starting weights, and the shards'
        weights (and averaged weights) are averaged, weighted by their rows.
        Schedules, averaging, early stopping and the stopping rule apply to
        the mixed model.  The result is the same for any ``n_jobs``, but not
        the same as the sequential fit's.  Per-sample engine only.

    n_shards : int, default=None
        Shards of ``parallel="shards"``; ``None``: one per 50,000 rows, at
        most 16.  A function of the data only, never of ``n_jobs``.

    scale : {None, "standard"}, default=None
        ``"standard"`` fits on standardised features without a scaled copy of
        X: per-feature mean and standard deviation from one pass over X
        (from the first call's rows with ``partial_fit``), applied to each
        window of rows as the engine reads it (sparse data is divided only,
        as ``StandardScaler(with_mean=False)``), the penalty on the
        standardised weights as in a ``StandardScaler`` pipeline; ``coef_``
        and ``intercept_`` are in the original units (``feature_mean_``,
        ``feature_scale_`` hold the scaling).  The rows are then visited a
        window at a time (docs/streams.md): the chunk order and a shuffle
        within each window, and the validation rows of ``early_stopping``
        chosen by a hash of each row's position.

    Attributes beyond scikit-learn's
    --------------------------------
    loss_curve_ : ndarray of shape (n_iter_,), or (n_classes, n_iter_) for a multiclass fit
        Mean regularised training objective of each epoch, accumulated while
        fitting (the quantity behind the ``tol`` stopping rule).  Entries after a
        one-vs-rest problem stopped are NaN.  One curve for a multinomial fit.

    optimizer_state_ : dict
        Batch engine only: the optimizer's per-coordinate state ("slots", of
        shape (n_slots, n_outputs, n_features + 1), intercept last) and the
        update, epoch and averaging counters; ``partial_fit`` carries it on.

    See :class:`sklearn.linear_model.SGDClassifier` for the other parameters.
    """

    # scikit-learn's public table of the loss names and its loss objects (the engine has
    # its own; this is for code that reads the attribute)
    loss_functions = _sk.SGDClassifier.loss_functions

    _parameter_constraints: dict = {
        **_BaseSGD._parameter_constraints,
        "loss": [StrOptions(set(_LOSS_CODES))],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "multi_class": [StrOptions({"ovr", "multinomial"})],
    }

    def __init__(
        self,
        loss="hinge",
        *,
        penalty="l2",
        alpha=0.0001,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        shuffle=True,
        verbose=0,
        epsilon=DEFAULT_EPSILON,
        n_jobs=None,
        random_state=None,
        learning_rate="optimal",
        eta0=0.01,
        power_t=0.5,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        class_weight=None,
        warm_start=False,
        average=False,
        shuffle_mode="block",
        batch_size=1,
        optimizer="sgd",
        momentum=0.9,
        beta_1=0.9,
        beta_2=0.999,
        rho=None,
        optimizer_epsilon=None,
        clip_norm=None,
        lr_decay=0.1,
        lr_decay_epochs=10,
        restart_epochs=10,
        restart_mult=1.0,
        eta_min=0.0,
        warmup_epochs=0.0,
        multi_class="ovr",
        parallel=None,
        n_shards=None,
        scale=None,
    ):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.epsilon = epsilon
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.average = average
        self.shuffle_mode = shuffle_mode
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.rho = rho
        self.optimizer_epsilon = optimizer_epsilon
        self.clip_norm = clip_norm
        self.lr_decay = lr_decay
        self.lr_decay_epochs = lr_decay_epochs
        self.restart_epochs = restart_epochs
        self.restart_mult = restart_mult
        self.eta_min = eta_min
        self.warmup_epochs = warmup_epochs
        self.multi_class = multi_class
        self.parallel = parallel
        self.n_shards = n_shards
        self.scale = scale

    # ------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    @_keep_state_on_error
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit the linear model with stochastic gradient descent.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
        coef_init : ndarray of shape (n_classes, n_features), default=None
        intercept_init : ndarray of shape (n_classes,), default=None
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        if isinstance(X, _stream.RowSource):
            return self._fit_source(X)
        if _dask.is_dask_collection(X):
            _no_init_on_dask(coef_init, intercept_init)
            return _dask.fit(self, X, y, sample_weight=sample_weight)
        self._more_validate_params()
        X, y = _check_X(self, X, y, reset=True)
        classes = _unique_labels(y)
        # scikit-learn's SGDClassifier meets a target that is not classes in
        # unique_labels of np.unique(y) first: the same error, in its words
        unique_labels(classes)
        _check_classification_targets(y)
        if self.warm_start and getattr(self, "coef_", None) is not None:
            if coef_init is None:
                coef_init = self.coef_
            if intercept_init is None:
                intercept_init = self.intercept_
        state = {"t_": 1.0, "classes_": classes}
        source = self._source_of(X, y, sample_weight)
        if source is not None:
            X, sample_weight = self._prepare_source(source, classes), None
        self._fit_samples(
            X, y, classes, sample_weight, coef_init, intercept_init, self.max_iter, state
        )
        self._warn_after_fit()
        return self

    @_keep_state_on_error
    def _fit_source(self, source):
        """fit over a data source (fastsgd.fit_files): the classes come from
        the source's pass over its targets."""
        self._validate_params()
        self._more_validate_params()
        self._prepare_source(source)
        classes = source.classes
        _check_classification_targets(classes)
        coef_init = intercept_init = None
        if self.warm_start and getattr(self, "coef_", None) is not None:
            coef_init, intercept_init = self.coef_, self.intercept_
        state = {"t_": 1.0, "classes_": classes}
        self._fit_samples(
            source, None, classes, None, coef_init, intercept_init, self.max_iter, state
        )
        self.n_features_in_ = source.n_features
        self._warn_after_fit()
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @_keep_state_on_error
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch of stochastic gradient descent on the given samples.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
        classes : ndarray of shape (n_classes,), default=None
            Required on the first call.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        first_call = getattr(self, "classes_", None) is None
        if not first_call:
            # scikit-learn's _fit_context validates only a fresh estimator's
            # partial_fit: set_params between calls is checked here
            self._validate_params()
        self._more_validate_params(for_partial_fit=True)
        if first_call:
            if self.class_weight == "balanced":
                cw = self.class_weight
                raise ValueError(  # scikit-learn's words
                    f"class_weight '{cw}' is not supported for partial_fit. In order to use "
                    f"'balanced' weights, use compute_class_weight('{cw}', classes=classes, "
                    "y=y). In place of y you can use a large enough sample of the full "
                    "training set target to properly estimate the class frequency "
                    "distributions. Pass the resulting weights as the class_weight "
                    "parameter."
                )
        if _dask.is_dask_collection(X):
            return _dask.fit(self, X, y, sample_weight=sample_weight, classes=classes, partial=True)
        X, y = _check_X(self, X, y, reset=first_call)
        X = _engine_dtype_like(self, X)
        # the classes first, then y: scikit-learn's order, and so its errors
        if first_call:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            classes = unique_labels(classes)
        else:
            if classes is not None and not np.array_equal(self.classes_, unique_labels(classes)):
                raise ValueError(
                    "`classes=%r` is not the same as on last call to partial_fit, was: %r"
                    % (classes, self.classes_)
                )
            classes = self.classes_
        try:
            _check_classification_targets(y)
        except ValueError:
            # scikit-learn checks the labels against the classes first
            _encode(y, np.asarray(classes))
            raise
        if first_call:
            state = {"t_": 1.0, "classes_": classes}
            coef_init = None
        else:
            state = {"t_": self.t_, "classes_": classes}
            coef_init = _CONTINUE
        source = self._source_of(X, y, sample_weight)
        if source is not None:
            X = self._prepare_source(source, classes, continue_scaling=not first_call)
            sample_weight = None
        self._fit_samples(X, y, classes, sample_weight, coef_init, None, 1, state)
        return self

    # ------------------------------------------------------------------
    def _fit_samples(
        self, X, y, classes, sample_weight, coef_init, intercept_init, max_iter, state
    ):
        """Everything fit and partial_fit share; publishes attributes on success."""
        n_samples, n_features = X.shape
        n_classes = classes.shape[0]
        if n_classes < 2:
            raise ValueError(
                "The number of classes has to be greater than one; got %d class" % n_classes
            )
        source = X if isinstance(X, _stream.RowSource) else None
        y_code = None if source is not None else _encode(y, classes)
        if not self.class_weight:
            # uniform (what compute_class_weight returns, without its pass over y)
            expanded_cw = np.ones(n_classes)
        elif source is not None:
            seen = dict(
                zip(source.classes_seen.tolist(), source.class_counts.tolist(), strict=True)
            )
            expanded_cw = _class_weight(
                self.class_weight,
                classes,
                lambda: [seen.get(c, 0) for c in np.asarray(classes).tolist()],
            )
        else:
            expanded_cw = _class_weight(
                self.class_weight, classes, lambda: np.bincount(y_code, minlength=n_classes)
            )
        if not np.all(np.isfinite(expanded_cw)):
            raise ValueError("class_weight must be finite, got %r" % (self.class_weight,))
        unit_weights = sample_weight is None
        if source is None and not unit_weights:
            # unit weights reach the engine (and the early-stopping split) as None
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=X.dtype, allow_all_zero_weights=self.early_stopping
            )
        dtype = X.dtype
        K = 1 if n_classes == 2 else n_classes
        # with two classes the multinomial model is the binary logistic one
        multinomial = self.multi_class == "multinomial" and n_classes > 2

        coef, intercept, avg_coef, avg_intercept = self._start_params(
            K, n_features, dtype, coef_init, intercept_init
        )

        # seeds and validation split, drawn in scikit-learn's order
        if K == 1:
            rs = check_random_state(self.random_state)
            rs.randint(1, np.iinfo(np.int32).max)  # scikit-learn's dataset seed (unused)
            validation_mask = None
            if source is None:
                # stratified on the class codes: the same split as on y
                validation_mask = self._make_validation_split(y_code, sample_weight)
            seeds = [rs.randint(MAX_INT)]
            positive = [1]
            weight_pos, weight_neg = [expanded_cw[1]], [expanded_cw[0]]
        else:
            validation_mask = None
            if source is None:
                validation_mask = self._make_validation_split(y_code, sample_weight)
            rs = check_random_state(self.random_state)
            seeds = []
            for s in rs.randint(MAX_INT, size=n_classes):
                r = check_random_state(s)
                r.randint(1, np.iinfo(np.int32).max)
                seeds.append(r.randint(MAX_INT))
            positive = list(range(n_classes))
            weight_pos, weight_neg = list(expanded_cw), [1.0] * n_classes

        n_iter, loss_curve = self._run_engine(
            X,
            y_code=y_code,
            sample_weight=None if unit_weights else sample_weight,
            validation_mask=validation_mask,
            coef=coef,
            avg_coef=avg_coef,
            intercept=intercept,
            avg_intercept=avg_intercept,
            positive_class=positive,
            weight_pos=weight_pos,
            weight_neg=weight_neg,
            seeds=seeds,
            max_iter=max_iter,
            t_start=state["t_"],
            label_01=self.loss == "log_loss",
            score_kind=_SCORE_ACCURACY,
            # the batch engine shares every batch over the threads; the
            # per-sample engine runs one problem per thread
            n_threads=effective_n_threads(self.n_jobs, self._thread_tasks(K, X.shape[0])),
            multinomial=multinomial,
            continue_state=coef_init is _CONTINUE,
        )
        n_iter_ = int(n_iter.max())
        t_ = state["t_"] + n_iter_ * n_samples

        self.classes_ = state["classes_"]
        self._expanded_class_weight = expanded_cw
        self._multinomial = multinomial
        self._publish(
            coef, intercept, avg_coef, avg_intercept, t_, n_iter_, loss_curve, (K, n_features)
        )
        self._publish_scaling(source)

    # ------------------------------------------------------------------
    def decision_function(self, X):
        """Confidence scores: the signed distance of each sample to the hyperplanes.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) for a binary problem, else (n_samples, n_classes)
        """
        if _dask.is_dask_collection(X):
            return _dask.predict_method(self, "decision_function", X)
        scores = self._scores(X)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Class labels for the samples in X (a dask collection: lazily, block
        by block)."""
        if _dask.is_dask_collection(X):
            return _dask.predict_method(self, "predict", X)
        return super().predict(X)

    def _check_proba(self):
        if self.loss not in ("log_loss", "modified_huber"):
            raise AttributeError("probability estimates are not available for loss=%r" % self.loss)
        return True

    @available_if(_check_proba)
    def predict_proba(self, X):
        """Probability estimates (loss="log_loss" or "modified_huber").

        Binary log loss: expit of the decision function.  Multiclass: the
        one-vs-rest estimates normalised to sum to one (computed in log space,
        so a row never comes out as 0/0).  Modified Huber: (clip(d, -1, 1) + 1) / 2,
        normalised; a row whose estimates are all zero becomes uniform.
        """
        check_is_fitted(self)
        if _dask.is_dask_collection(X):
            return _dask.predict_method(self, "predict_proba", X)
        scores = self.decision_function(X)
        if self.loss == "log_loss":
            if scores.ndim == 1:
                p = expit(scores)
                return np.vstack([1 - p, p]).T
            if getattr(self, "_multinomial", False):
                return softmax(scores, axis=1)
            logp = log_expit(scores)
            logp -= logp.max(axis=1, keepdims=True)
            prob = np.exp(logp)
            prob /= prob.sum(axis=1, keepdims=True)
            return prob
        prob = (np.clip(scores, -1, 1) + 1.0) / 2.0
        if scores.ndim == 1:
            return np.vstack([1 - prob, prob]).T
        prob_sum = prob.sum(axis=1)
        all_zero = prob_sum == 0
        if np.any(all_zero):
            prob[all_zero, :] = 1
            prob_sum[all_zero] = len(self.classes_)
        prob /= prob_sum.reshape((-1, 1))
        return prob

    @available_if(_check_proba)
    def predict_log_proba(self, X):
        """Log of the probability estimates (loss="log_loss" or "modified_huber")."""
        if _dask.is_dask_collection(X):
            return _dask.predict_method(self, "predict_log_proba", X)
        if self.loss == "log_loss":
            check_is_fitted(self)
            scores = self.decision_function(X)
            if scores.ndim == 1:
                return np.vstack([log_expit(-scores), log_expit(scores)]).T
            if getattr(self, "_multinomial", False):
                return log_softmax(scores, axis=1)
            logp = log_expit(scores)
            m = logp.max(axis=1, keepdims=True)
            return (logp - m) - np.log(np.exp(logp - m).sum(axis=1, keepdims=True))
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


class SGDRegressor(RegressorMixin, _BaseSGD):
    """Linear regression trained by SGD; drop-in for scikit-learn's SGDRegressor.

    Every parameter has scikit-learn's name, meaning and default; the update
    sequence is the same.  ``shuffle_mode``, the batch engine's parameters,
    ``parallel``, ``n_shards`` and ``loss_curve_`` are as in
    :class:`fastsgd.SGDClassifier`.  See
    :class:`sklearn.linear_model.SGDRegressor` for the other parameters.
    """

    # scikit-learn's public table of the loss names and its loss objects (the engine has
    # its own; this is for code that reads the attribute)
    loss_functions = _sk.SGDRegressor.loss_functions

    _parameter_constraints: dict = {
        **_BaseSGD._parameter_constraints,
        "loss": [
            StrOptions(
                {"squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"}
            )
        ],
    }

    def __init__(
        self,
        loss="squared_error",
        *,
        penalty="l2",
        alpha=0.0001,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        shuffle=True,
        verbose=0,
        epsilon=DEFAULT_EPSILON,
        random_state=None,
        learning_rate="invscaling",
        eta0=0.01,
        power_t=0.25,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        warm_start=False,
        average=False,
        shuffle_mode="block",
        batch_size=1,
        optimizer="sgd",
        momentum=0.9,
        beta_1=0.9,
        beta_2=0.999,
        rho=None,
        optimizer_epsilon=None,
        clip_norm=None,
        lr_decay=0.1,
        lr_decay_epochs=10,
        restart_epochs=10,
        restart_mult=1.0,
        eta_min=0.0,
        warmup_epochs=0.0,
        n_jobs=None,
        parallel=None,
        n_shards=None,
        scale=None,
    ):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.epsilon = epsilon
        self.random_state = random_state
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.average = average
        self.shuffle_mode = shuffle_mode
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.rho = rho
        self.optimizer_epsilon = optimizer_epsilon
        self.clip_norm = clip_norm
        self.lr_decay = lr_decay
        self.lr_decay_epochs = lr_decay_epochs
        self.restart_epochs = restart_epochs
        self.restart_mult = restart_mult
        self.eta_min = eta_min
        self.warmup_epochs = warmup_epochs
        self.n_jobs = n_jobs
        self.parallel = parallel
        self.n_shards = n_shards
        self.scale = scale

    @_fit_context(prefer_skip_nested_validation=True)
    @_keep_state_on_error
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit the linear model with stochastic gradient descent.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
        coef_init : ndarray of shape (n_features,), default=None
        intercept_init : ndarray of shape (1,), default=None
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        if isinstance(X, _stream.RowSource):
            return self._fit_source(X)
        if _dask.is_dask_collection(X):
            _no_init_on_dask(coef_init, intercept_init)
            return _dask.fit(self, X, y, sample_weight=sample_weight)
        self._more_validate_params()
        X, y = _check_X(self, X, y, reset=True)
        if self.warm_start and getattr(self, "coef_", None) is not None and coef_init is None:
            # as scikit-learn's regressor: carry on from the fitted state
            # (plain and averaged weights), with the schedule's t restarted
            coef_init = _CONTINUE
            if intercept_init is not None:
                raise ValueError(
                    "intercept_init without coef_init cannot be combined with warm_start "
                    "on a fitted SGDRegressor"
                )
        source = self._source_of(X, y, sample_weight)
        if source is not None:
            X, sample_weight = self._prepare_source(source), None
        self._fit_samples(X, y, sample_weight, coef_init, intercept_init, self.max_iter, 1.0)
        self._warn_after_fit()
        return self

    @_keep_state_on_error
    def _fit_source(self, source):
        """fit over a data source (fastsgd.fit_files)."""
        self._validate_params()
        self._more_validate_params()
        self._prepare_source(source)
        coef_init = (
            _CONTINUE if self.warm_start and getattr(self, "coef_", None) is not None else None
        )
        self._fit_samples(source, None, None, coef_init, None, self.max_iter, 1.0)
        self.n_features_in_ = source.n_features
        self._warn_after_fit()
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @_keep_state_on_error
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch of stochastic gradient descent on the given samples.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        first_call = getattr(self, "coef_", None) is None
        if not first_call:
            self._validate_params()  # as in SGDClassifier.partial_fit
        self._more_validate_params(for_partial_fit=True)
        if _dask.is_dask_collection(X):
            return _dask.fit(self, X, y, sample_weight=sample_weight, partial=True)
        X, y = _check_X(self, X, y, reset=first_call)
        X = _engine_dtype_like(self, X)
        coef_init = None if first_call else _CONTINUE
        t_start = 1.0 if first_call else self.t_
        source = self._source_of(X, y, sample_weight)
        if source is not None:
            X = self._prepare_source(source, continue_scaling=not first_call)
            sample_weight = None
        self._fit_samples(
            X, y, sample_weight, coef_init, None, 1, t_start, continue_state=not first_call
        )
        return self

    def _fit_samples(
        self,
        X,
        y,
        sample_weight,
        coef_init,
        intercept_init,
        max_iter,
        t_start,
        continue_state=False,
    ):
        """``continue_state``: carry the optimizer state on (partial_fit); a
        fit, warm_start included, starts it afresh."""
        n_samples, n_features = X.shape
        dtype = X.dtype
        source = X if isinstance(X, _stream.RowSource) else None
        unit_weights = sample_weight is None
        if source is None:
            y = np.ascontiguousarray(y, dtype=dtype).astype(np.float64)
            if not unit_weights:
                sample_weight = _check_sample_weight(sample_weight, X, dtype=dtype)
        coef, intercept, avg_coef, avg_intercept = self._start_params(
            1, n_features, dtype, coef_init, intercept_init
        )

        # validation split, then seeds, in scikit-learn's order
        validation_mask = None
        if source is None:
            validation_mask = self._make_validation_split(y, sample_weight)
        rs = check_random_state(self.random_state)
        seed = rs.randint(0, MAX_INT)
        rs.randint(1, np.iinfo(np.int32).max)  # scikit-learn's dataset seed (unused)

        n_iter, loss_curve = self._run_engine(
            X,
            y=y,
            sample_weight=None if unit_weights else sample_weight,
            validation_mask=validation_mask,
            coef=coef,
            avg_coef=avg_coef,
            intercept=intercept,
            avg_intercept=avg_intercept,
            positive_class=[0],
            weight_pos=[1.0],
            weight_neg=[1.0],
            seeds=[seed],
            max_iter=max_iter,
            t_start=t_start,
            label_01=False,
            score_kind=_SCORE_R2,
            n_threads=effective_n_threads(self.n_jobs, self._thread_tasks(1, X.shape[0])),
            continue_state=continue_state,
        )
        n_iter_ = int(n_iter[0])
        t_ = t_start + n_iter_ * n_samples

        self._publish(
            coef, intercept, avg_coef, avg_intercept, t_, n_iter_, loss_curve, (n_features,)
        )
        self._publish_scaling(source)

    def _decision_function(self, X):
        return self._scores(X).ravel()

    def predict(self, X):
        """Predict with the linear model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        if _dask.is_dask_collection(X):
            return _dask.predict_method(self, "predict", X)
        return self._decision_function(X)
