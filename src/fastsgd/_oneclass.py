"""SGDOneClassSVM: scikit-learn's linear one-class SVM, fitted by fastsgd's engine.

scikit-learn's ``SGDOneClassSVM`` solves the one-class SVM's primal by
per-sample SGD on the hinge loss of every row against +1, with the
intercept also moving by ``-eta * nu`` at every row and ``nu`` times the
intercept in the objective.  This class is scikit-learn's, every parameter,
attribute, method and check included; only its solver is replaced: the epochs
run in fastsgd's C engine and fit driver (the per-sample engine with its
``one_class`` setting, csrc/sample_engine.inc), visiting the rows in
scikit-learn's order, so that a fit equals scikit-learn's
(tests/test_oneclass.py).
"""

import numpy as np
import sklearn.linear_model as _sk
from sklearn.utils import check_random_state

from ._sgd import _SCORE_ACCURACY, SGDClassifier


class SGDOneClassSVM(_sk.SGDOneClassSVM):
    __doc__ = (
        "Linear one-class SVM fitted by stochastic gradient descent: "
        "scikit-learn's SGDOneClassSVM (same parameters, attributes and "
        "results) with its epochs in fastsgd's C engine.\n\n" + (_sk.SGDOneClassSVM.__doc__ or "")
    )

    # scikit-learn's loss object, rebuilt by every fit and partial_fit:
    # fastsgd.save leaves it out
    _rebuilt_attributes = ("_loss_function_",)

    def _engine(self, alpha, learning_rate):
        """A classifier that runs the one-class problem through the engine:
        hinge loss, L2 penalty alpha, the same schedule and stopping rule,
        scikit-learn's visiting order."""
        eng = SGDClassifier(
            loss="hinge",
            penalty="l2",
            alpha=alpha,
            l1_ratio=0.0,
            fit_intercept=self.fit_intercept,
            max_iter=self.max_iter,
            tol=self.tol,
            shuffle=self.shuffle,
            shuffle_mode="full",
            verbose=self.verbose,
            learning_rate=learning_rate,
            eta0=self.eta0,
            power_t=self.power_t,
            average=self.average,
            n_iter_no_change=self.n_iter_no_change,
            n_jobs=1,
        )
        eng._one_class = True
        return eng

    def _fit_one_class(self, X, alpha, sample_weight, learning_rate, max_iter):
        """scikit-learn's solver call, made to the engine: the same seed, the
        same starting point (intercept = 1 - offset), the same state after."""
        n_samples, n_features = X.shape
        seed = check_random_state(self.random_state).randint(0, np.iinfo(np.int32).max)
        if self.average:
            coef, intercept = self._standard_coef, self._standard_intercept
            avg_coef = np.array(self._average_coef, dtype=X.dtype).reshape(1, n_features)
            avg_intercept = np.array(self._average_intercept, dtype=np.float64).reshape(1)
        else:
            coef, intercept = self.coef_, 1 - self.offset_
            avg_coef, avg_intercept = None, np.zeros(1)
        coef = np.array(coef, dtype=X.dtype, order="C").reshape(1, n_features)
        intercept = np.array(intercept, dtype=np.float64).reshape(1)
        weights = np.ascontiguousarray(sample_weight, dtype=np.float64)
        n_iter, _ = self._engine(alpha, learning_rate)._run_engine(
            X,
            y_code=np.ones(n_samples, dtype=np.int32),
            sample_weight=None if np.all(weights == 1.0) else weights,
            validation_mask=None,
            coef=coef,
            avg_coef=avg_coef,
            intercept=intercept,
            avg_intercept=avg_intercept,
            positive_class=np.array([1], dtype=np.int32),
            weight_pos=np.ones(1),
            weight_neg=np.ones(1),
            seeds=np.array([seed], dtype=np.uint32),
            max_iter=max_iter,
            t_start=float(self.t_),
            label_01=False,
            score_kind=_SCORE_ACCURACY,
            n_threads=1,
        )
        self.n_iter_ = int(n_iter[0])
        self.t_ += self.n_iter_ * n_samples
        coef = coef.reshape(n_features)
        if self.average > 0:
            self._standard_coef = coef
            self._standard_intercept = np.atleast_1d(intercept).astype(X.dtype)
            self._average_coef = avg_coef.reshape(n_features)
            self._average_intercept = np.atleast_1d(avg_intercept).astype(X.dtype)
            if self.average <= self.t_ - 1.0:
                self.coef_ = self._average_coef
                self.offset_ = 1 - self._average_intercept
            else:
                self.coef_ = coef
                self.offset_ = 1 - self._standard_intercept
        else:
            self.coef_ = coef
            self.offset_ = 1 - np.atleast_1d(intercept).astype(X.dtype)
