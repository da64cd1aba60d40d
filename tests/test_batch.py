"""The batch engine (mini-batch / full-batch gradient descent, docs/batch.md).

Every exact test compares the engine with a NumPy re-implementation of the
rules of docs/batch.md (``Reference`` below: batches of consecutive rows with
shuffle=False, the schedules, the optimizers, clipping, the proximal step,
averaging, the stopping rule) to 1e-12; the convergence tests compare with
the exact optimum of the same objective (scipy L-BFGS, scikit-learn's
LogisticRegression), and the gradient tests with finite differences.
"""

import math
import pickle
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import expit, log_softmax, logsumexp, softmax
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted

from fastsgd import SGDClassifier, SGDRegressor

from helpers import expected_failed_checks
from fastsgd import _engine, _sgd


def _cosine_cycle_exact(T0, mult, e):
    """(T, Ti) of SGDR's cycles in exact rational arithmetic: cycles of T0,
    T0 mult, T0 mult^2, ... epochs; e lies T into a cycle of length Ti."""
    e, T0, m = Fraction(e), Fraction(T0), Fraction(mult)
    if m == 1:
        return float(e % T0), float(T0)
    start, Ti = Fraction(0), T0
    while start + Ti <= e:
        start += Ti
        Ti *= m
    return float(e - start), float(Ti)


OPTIMIZERS = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw"]
ADAPTIVE = {"adagrad", "rmsprop", "adadelta", "adam", "adamw"}

# The documented recipe (docs/batch.md, benchmarks): with it every optimizer
# reaches the regularised optimum within 1e-3 relative in 20 epochs on
# standardised data (20000 x 20, alpha=1e-3, batch_size=32,
# learning_rate="cosine", restart_epochs=20, random_state=0).
RECIPE_ETA0 = {
    "sgd": 0.1,
    "momentum": 0.01,
    "nesterov": 0.01,
    "adagrad": 0.1,
    "rmsprop": 0.003,
    "adadelta": 1.0,
    "adam": 0.003,
    "adamw": 0.003,
}

# Paper defaults (docs/batch.md), used by the reference when rho /
# optimizer_epsilon are None and for learning_rate="optimal" with the
# adaptive optimizers.
PAPER_LR = {"adagrad": 0.01, "rmsprop": 0.001, "adadelta": 1.0, "adam": 0.001, "adamw": 0.001}
PAPER_RHO = {"rmsprop": 0.9, "adadelta": 0.95}
PAPER_EPS = {"adagrad": 1e-10, "rmsprop": 1e-8, "adadelta": 1e-6, "adam": 1e-8, "adamw": 1e-8}
N_SLOTS = {
    "sgd": 0,
    "momentum": 1,
    "nesterov": 1,
    "adagrad": 1,
    "rmsprop": 1,
    "adadelta": 2,
    "adam": 2,
    "adamw": 2,
}
MAX_DLOSS = 1e12

CLF_LOSSES = ["hinge", "log_loss", "modified_huber", "squared_hinge", "perceptron"]
REG_LOSSES = ["squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"]


# ----------------------------------------------------------------------
# losses, from their definitions (scikit-learn's conventions: log loss and
# squared loss as half deviances, log loss with y in {0, 1}, the other
# classification losses with y in {-1, +1})
def np_loss(loss, p, y, epsilon=0.1):
    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if loss == "log_loss":
        return np.logaddexp(0.0, p) - y * p
    if loss == "squared_error":
        return 0.5 * (p - y) ** 2
    if loss in ("hinge", "perceptron"):
        thr = 1.0 if loss == "hinge" else 0.0
        return np.maximum(0.0, thr - p * y)
    if loss == "squared_hinge":
        return np.maximum(0.0, 1.0 - p * y) ** 2
    if loss == "modified_huber":
        z = p * y
        return np.where(z >= 1.0, 0.0, np.where(z >= -1.0, (1.0 - z) ** 2, -4.0 * z))
    if loss == "huber":
        r = np.abs(y - p)
        return np.where(r <= epsilon, 0.5 * r**2, epsilon * (r - 0.5 * epsilon))
    if loss == "epsilon_insensitive":
        return np.maximum(0.0, np.abs(y - p) - epsilon)
    if loss == "squared_epsilon_insensitive":
        return np.maximum(0.0, np.abs(y - p) - epsilon) ** 2
    raise ValueError(loss)


def np_dloss(loss, p, y, epsilon=0.1):
    """d loss / d p (subgradient convention of scikit-learn at the kinks)."""
    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if loss == "log_loss":
        return expit(p) - y
    if loss == "squared_error":
        return p - y
    if loss in ("hinge", "perceptron"):
        thr = 1.0 if loss == "hinge" else 0.0
        return np.where(p * y <= thr, -y, 0.0)
    if loss == "squared_hinge":
        z = 1.0 - p * y
        return np.where(z > 0.0, -2.0 * y * z, 0.0)
    if loss == "modified_huber":
        z = p * y
        return np.where(z >= 1.0, 0.0, np.where(z >= -1.0, -2.0 * y * (1.0 - z), -4.0 * y))
    if loss == "huber":
        r = p - y
        return np.where(np.abs(r) <= epsilon, r, epsilon * np.sign(r))
    if loss == "epsilon_insensitive":
        return np.where(y - p > epsilon, -1.0, np.where(p - y > epsilon, 1.0, 0.0))
    if loss == "squared_epsilon_insensitive":
        z = y - p
        return np.where(
            z > epsilon, -2.0 * (z - epsilon), np.where(z < -epsilon, 2.0 * (-z - epsilon), 0.0)
        )
    raise ValueError(loss)


# ----------------------------------------------------------------------
class Reference:
    """docs/batch.md in NumPy, for ``shuffle=False`` (batches of consecutive rows).

    The weights are K rows of n_features + 1 values (intercept last); each
    call of ``epoch`` is one epoch (one ``partial_fit`` call, or one of
    ``fit``'s ``max_iter`` epochs).
    """

    def __init__(self, est, n_features, classes=None, coef_init=None, intercept_init=None):
        p = est.get_params()
        self.p = p
        self.classifier = classes is not None
        self.classes = classes
        self.multinomial = (
            self.classifier and p.get("multi_class") == "multinomial" and len(classes) > 2
        )
        if self.classifier:
            self.K = 1 if len(classes) == 2 else len(classes)
        else:
            self.K = 1
        self.d = d = n_features
        self.loss = "log_loss" if self.multinomial else p["loss"]
        self.eps_loss = {"hinge": 1.0, "perceptron": 0.0}.get(p["loss"], p["epsilon"])
        opt = p["optimizer"]
        self.opt = opt
        self.rho = p["rho"] if p["rho"] is not None else PAPER_RHO.get(opt, 0.9)
        self.eps = (
            p["optimizer_epsilon"]
            if p["optimizer_epsilon"] is not None
            else PAPER_EPS.get(opt, 1e-8)
        )
        penalty = p["penalty"]
        l1_ratio = {"l2": 0.0, "l1": 1.0, "elasticnet": p["l1_ratio"]}.get(penalty, 0.0)
        alpha = p["alpha"]
        if penalty is None:
            self.l1 = self.l2 = 0.0
        else:
            self.l1 = alpha * l1_ratio
            self.l2 = alpha * (1.0 - l1_ratio)
        self.ncol = d + 1 if p["fit_intercept"] else d
        self.W = np.zeros((self.K, d + 1))
        if coef_init is not None:
            self.W[:, :d] = np.asarray(coef_init, dtype=np.float64).reshape(self.K, d)
        if intercept_init is not None:
            self.W[:, d] = np.asarray(intercept_init, dtype=np.float64).reshape(self.K)
        self.Wavg = np.zeros((self.K, d + 1))
        self.slots = np.zeros((N_SLOTS[opt], self.K, d + 1))
        self.n_updates = 0
        self.epochs = 0
        self.n_averaged = 0
        self.t = 1.0  # samples trained on + 1: decides when averaging starts
        self.t_pub = 1.0  # the published t_: rows given (validation rows included) + 1
        self.curves = []
        # stopping rule state: one rule per OvR output, one for a multinomial model
        self.nk = 1 if self.multinomial else self.K
        self.active = np.ones(self.nk, dtype=bool)
        self.eta_scale = np.ones(self.nk)
        self.best = np.full(self.nk, np.inf)
        self.no_imp = np.zeros(self.nk, dtype=int)
        self.n_iter = np.zeros(self.nk, dtype=int)
        # class weights, as scikit-learn's compute_class_weight for a dict / None
        cw = p.get("class_weight")
        if self.classifier:
            cw = cw or {}
            self.cw = np.array([float(cw.get(c, 1.0)) for c in classes])
        # learning_rate="optimal": scikit-learn's t0
        self.lr, self.eta0 = p["learning_rate"], p["eta0"]
        if self.lr == "optimal" and opt in ADAPTIVE:
            self.lr, self.eta0 = "constant", PAPER_LR[opt]
        if self.lr == "optimal":
            typw = math.sqrt(1.0 / math.sqrt(alpha))
            g = float(np_dloss(self.loss, -typw, 1.0, self.eps_loss))
            initial_eta0 = typw / max(1.0, g)
            self.t0 = 1.0 / (initial_eta0 * alpha)

    # targets and class-weight factors
    def _targets(self, y):
        if not self.classifier:
            return y.astype(np.float64)[:, None], np.ones((len(y), 1))
        codes = np.searchsorted(self.classes, y)
        if self.multinomial:
            return codes, self.cw[codes]
        neg = 0.0 if self.loss == "log_loss" else -1.0
        if self.K == 1:
            pos = codes == 1
            T = np.where(pos, 1.0, neg)[:, None]
            C = np.where(pos, self.cw[1], self.cw[0])[:, None]
            return T, C
        T = np.empty((len(y), self.K))
        C = np.empty((len(y), self.K))
        for k in range(self.K):
            pos = codes == k
            T[:, k] = np.where(pos, 1.0, neg)
            C[:, k] = np.where(pos, self.cw[k], 1.0)
        return T, C

    def _eta(self, u, e, n_b):
        p = self.p
        lr, eta0 = self.lr, self.eta0
        if lr in ("constant", "adaptive"):
            eta = eta0
        elif lr == "optimal":
            eta = 1.0 / (p["alpha"] * (self.t0 + u - 1))
            if self.opt in ("momentum", "nesterov"):
                eta *= 1.0 - p["momentum"]
        elif lr == "invscaling":
            eta = eta0 / u ** p["power_t"]
        elif lr == "step":
            eta = eta0 * p["lr_decay"] ** math.floor(e / p["lr_decay_epochs"])
        elif lr == "exponential":
            eta = eta0 * p["lr_decay"] ** (e / p["lr_decay_epochs"])
        elif lr == "cosine":
            T, Ti = _cosine_cycle_exact(p["restart_epochs"], p["restart_mult"], e)
            eta = p["eta_min"] + (eta0 - p["eta_min"]) * (1 + math.cos(math.pi * T / Ti)) / 2
        else:
            raise ValueError(lr)
        w = p["warmup_epochs"]
        if w > 0:
            eta *= min(1.0, (e + 1.0 / n_b) / w)
        return eta

    def predictions(self, X):
        return X @ self.W[:, : self.d].T + self.W[:, self.d]

    def gradient(self, Xb, Tb, Cb, sb):
        """Loss gradient of a batch (K x (d+1)), L2 part included (not adamw),
        and the loss sums per output, weighted by sample x class weight."""
        d, m = self.d, Xb.shape[0]
        P = self.predictions(Xb)
        if self.multinomial:
            prob = softmax(P, axis=1)
            onehot = np.eye(self.K)[Tb]
            coefs = (sb * Cb)[:, None] * (prob - onehot)
            losses = np.array([np.sum(sb * Cb * (logsumexp(P, axis=1) - P[np.arange(m), Tb]))])
        else:
            D = np.clip(np_dloss(self.loss, P, Tb, self.eps_loss), -MAX_DLOSS, MAX_DLOSS)
            coefs = sb[:, None] * Cb * D
            losses = (sb[:, None] * Cb * np_loss(self.loss, P, Tb, self.eps_loss)).sum(axis=0)
        G = np.zeros((self.K, d + 1))
        G[:, :d] = coefs.T @ Xb / m
        G[:, d] = coefs.sum(axis=0) / m
        if self.opt != "adamw":
            G[:, :d] += self.l2 * self.W[:, :d]
        if self.ncol == d:
            G[:, d] = 0.0
        return G, losses

    def step(self, g, eta, u, rows):
        """One optimizer step on the coordinates of the given output rows
        (g: len(rows) x ncol, eta: one step per row); returns the new weights
        (docs/batch.md)."""
        p, opt = self.p, self.opt
        nc = self.ncol
        w = self.W[rows, :nc]
        s = self.slots[:, rows, :nc]  # a copy (fancy index), written back below
        eta = np.asarray(eta, dtype=np.float64)[:, None]
        if opt == "sgd":
            eff = np.broadcast_to(eta, w.shape)
            nw = w - eta * g
        elif opt == "momentum":
            s[0] = p["momentum"] * s[0] - eta * g
            eff = np.broadcast_to(eta, w.shape)
            nw = w + s[0]
        elif opt == "nesterov":
            s[0] = p["momentum"] * s[0] - eta * g
            eff = np.broadcast_to(eta, w.shape)
            nw = w + p["momentum"] * s[0] - eta * g
        elif opt == "adagrad":
            s[0] += g * g
            eff = eta / (np.sqrt(s[0]) + self.eps)
            nw = w - eff * g
        elif opt == "rmsprop":
            s[0] = self.rho * s[0] + (1 - self.rho) * g * g
            eff = eta / (np.sqrt(s[0]) + self.eps)
            nw = w - eff * g
        elif opt == "adadelta":
            s[0] = self.rho * s[0] + (1 - self.rho) * g * g
            r = np.sqrt(s[1] + self.eps) / np.sqrt(s[0] + self.eps)
            delta = r * g
            s[1] = self.rho * s[1] + (1 - self.rho) * delta * delta
            eff = eta * r
            nw = w - eta * delta
        elif opt in ("adam", "adamw"):
            b1, b2 = p["beta_1"], p["beta_2"]
            s[0] = b1 * s[0] + (1 - b1) * g
            s[1] = b2 * s[1] + (1 - b2) * g * g
            eff = eta / (np.sqrt(s[1] / (1 - b2**u)) + self.eps)
            nw = w - eff * (s[0] / (1 - b1**u))
        else:
            raise ValueError(opt)
        self.slots[:, rows, :nc] = s
        d = self.d
        if opt == "adamw":
            nw[:, :d] -= eta * self.l2 * w[:, :d]
        if self.l1 > 0:
            tau = self.l1 * eff[:, :d]
            nw[:, :d] = np.sign(nw[:, :d]) * np.maximum(0.0, np.abs(nw[:, :d]) - tau)
        return nw

    def epoch(self, X, y, sample_weight=None):
        """One epoch over X in storage order; returns the epoch objective and
        the last batch's steps."""
        X = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
        X = X.astype(np.float64)
        n, d = X.shape
        sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        T, C = self._targets(np.asarray(y))
        bs = self.p["batch_size"]
        m_max = n if bs == "full" else min(int(bs), n)
        n_b = math.ceil(n / m_max)
        nk = self.nk
        # output rows still being fitted (an OvR output whose rule fired is frozen)
        rows_k = np.arange(self.K) if self.multinomial else np.flatnonzero(self.active)
        ep_loss = np.zeros(nk)
        average = int(self.p["average"])
        for j in range(n_b):
            rows = slice(j * m_max, min(n, (j + 1) * m_max))
            m = rows.stop - rows.start
            u = self.n_updates + 1
            e = self.epochs + j / n_b
            base = self._eta(u, e, n_b)
            eta = base * self._row_scale()[rows_k]
            G, losses = self.gradient(X[rows], T[rows], C[rows], sw[rows])
            ep_loss += losses
            W_old = self.W[:, :d]
            pen = 0.5 * self.l2 * np.sum(W_old**2, axis=1) + self.l1 * np.sum(np.abs(W_old), axis=1)
            ep_loss += m * (pen.sum() if self.multinomial else pen)
            G = G[rows_k]
            if self.p["clip_norm"] is not None:
                norm = np.sqrt(np.sum(G * G))
                if norm > self.p["clip_norm"]:
                    G = G * (self.p["clip_norm"] / norm)
            self.W[rows_k, : self.ncol] = self.step(G[:, : self.ncol], eta, u, rows_k)
            if average > 0 and self.t >= average:
                k = self.n_averaged + 1
                nc = self.ncol
                self.Wavg[rows_k, :nc] += (self.W[rows_k, :nc] - self.Wavg[rows_k, :nc]) / k
                self.n_averaged += 1
            self.t += m
            self.n_updates += 1
        self.epochs += 1
        self.t_pub += n
        objective = ep_loss / n
        if not self.multinomial:
            objective[~self.active] = np.nan
        self.curves.append(objective)
        return objective, eta

    def _row_scale(self):
        """The adaptive division of each output row's step: a multinomial
        model has one step (one stopping rule) for all its rows."""
        return np.full(self.K, self.eta_scale[0]) if self.multinomial else self.eta_scale

    def validation_split(self, y):
        """scikit-learn's validation rows (as its SGD: stratified for a
        classifier, on the binary labels of a binary problem)."""
        p = self.p
        if self.classifier:
            codes = np.searchsorted(self.classes, y)
            y_split = (codes == 1).astype(int) if self.K == 1 else y
            cv = StratifiedShuffleSplit(
                test_size=p["validation_fraction"], random_state=p["random_state"]
            )
        else:
            y_split = y
            cv = ShuffleSplit(test_size=p["validation_fraction"], random_state=p["random_state"])
        _, idx_val = next(cv.split(np.zeros((len(y), 1)), y_split))
        mask = np.zeros(len(y), dtype=bool)
        mask[idx_val] = True
        return mask

    def validation_scores(self, X, y, sw):
        """Per OvR output: weighted accuracy of its sign; multinomial: argmax
        accuracy; regression: weighted R^2."""
        P = self.predictions(X)
        if not self.classifier:
            ybar = np.sum(sw * y) / np.sum(sw)
            return np.array([1.0 - np.sum(sw * (y - P[:, 0]) ** 2) / np.sum(sw * (y - ybar) ** 2)])
        codes = np.searchsorted(self.classes, y)
        if self.multinomial:
            return np.array([np.sum(sw * (np.argmax(P, axis=1) == codes)) / np.sum(sw)])
        T, _ = self._targets(y)
        return np.sum(sw[:, None] * ((P > 0) == (T > 0)), axis=0) / np.sum(sw)

    def fit(self, X, y, sample_weight=None):
        """``max_iter`` epochs with scikit-learn's ``tol`` rule (on the epoch
        objective, or on the validation score with early_stopping; one rule per
        OvR output) and the ``adaptive`` division by 5."""
        p = self.p
        tol = p["tol"]
        y = np.asarray(y)
        sw = (
            np.ones(len(y))
            if sample_weight is None
            else np.asarray(sample_weight, dtype=np.float64)
        )
        early = p["early_stopping"]
        if early:
            X = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
            val = self.validation_split(y)
            Xv, yv, swv = X[val], y[val], sw[val]
            X, y, sw = X[~val], y[~val], sw[~val]
            self.best_score = np.full(self.nk, -np.inf)
        for epoch in range(p["max_iter"]):
            objective, eta = self.epoch(X, y, sw)
            if early:
                self.t_pub += len(yv)
                score = self.validation_scores(Xv, yv, swv)
            eta_last = np.full(self.nk, np.nan)
            if self.multinomial:
                eta_last[0] = eta[0]
            else:
                eta_last[self.active] = eta
            for k in np.flatnonzero(self.active):
                if early:
                    if tol is not None and score[k] < self.best_score[k] + tol:
                        self.no_imp[k] += 1
                    else:
                        self.no_imp[k] = 0
                    self.best_score[k] = max(self.best_score[k], score[k])
                else:
                    if tol is not None and objective[k] > self.best[k] - tol:
                        self.no_imp[k] += 1
                    else:
                        self.no_imp[k] = 0
                    self.best[k] = min(self.best[k], objective[k])
                if self.no_imp[k] >= p["n_iter_no_change"]:
                    if p["learning_rate"] == "adaptive" and eta_last[k] > 1e-6:
                        self.eta_scale[k] /= 5.0
                        self.no_imp[k] = 0
                    else:
                        self.active[k] = False
                        self.n_iter[k] = epoch + 1
            if not self.active.any():
                break
        self.n_iter[self.active] = p["max_iter"]
        return self

    # what the estimator publishes
    def coef(self, shape):
        return self.W[:, : self.d].reshape(shape), self.W[:, self.d]

    def avg_coef(self, shape):
        return self.Wavg[:, : self.d].reshape(shape), self.Wavg[:, self.d]

    def published(self, shape):
        average = int(self.p["average"])
        if average and average <= self.t_pub - 1:
            return self.avg_coef(shape)
        return self.coef(shape)


TOL = dict(rtol=1e-12, atol=1e-12)


def assert_matches_reference(est, ref, X, check_curve=True):
    """coef_/intercept_ (and the plain / averaged weights, the optimizer state,
    the loss curve) equal the reference's."""
    shape = est.coef_.shape
    coef, intercept = ref.published(shape)
    np.testing.assert_allclose(est.coef_, coef, **TOL)
    np.testing.assert_allclose(
        np.ravel(est.intercept_), np.ravel(intercept)[: np.size(est.intercept_)], **TOL
    )
    if est.average:
        c, b = ref.coef(shape)
        np.testing.assert_allclose(est._standard_coef, c, **TOL)
        np.testing.assert_allclose(np.ravel(est._standard_intercept), np.ravel(b), **TOL)
        c, b = ref.avg_coef(shape)
        np.testing.assert_allclose(est._average_coef, c, **TOL)
        np.testing.assert_allclose(np.ravel(est._average_intercept), np.ravel(b), **TOL)
    state = est.optimizer_state_
    assert state["optimizer"] == ref.opt
    assert state["slots"].shape == ref.slots.shape
    np.testing.assert_allclose(state["slots"], ref.slots, **TOL)
    assert state["n_updates"] == ref.n_updates
    assert state["epochs"] == ref.epochs
    assert state["n_averaged"] == ref.n_averaged
    assert est.t_ == ref.t_pub
    if check_curve:
        curves = np.array(ref.curves)  # epochs x outputs (NaN once an output stopped)
        got = np.asarray(est.loss_curve_)
        expected = curves.T if got.ndim == 2 else curves[:, 0]
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12, equal_nan=True)
        assert est.n_iter_ == ref.n_iter.max() == len(ref.curves)


# ----------------------------------------------------------------------
# data
def make_data(kind, n=14, d=5, seed=0, labels=None):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    w = rng.randn(d)
    score = X @ w + 0.5 * rng.randn(n)
    if kind == "reg":
        return X, score + 0.3
    if kind == "bin":
        labels = labels if labels is not None else np.array([-1, 3])
        return X, labels[(score > 0).astype(int)]
    n_classes = int(kind[-1])
    labels = labels if labels is not None else np.array([2, 5, 7, 11, 13])[:n_classes]
    # classes by quantiles of the score: learnable, every class present
    codes = np.digitize(score, np.quantile(score, np.arange(1, n_classes) / n_classes))
    return X, labels[codes]


ETA0 = {
    "sgd": 0.1,
    "momentum": 0.05,
    "nesterov": 0.05,
    "adagrad": 0.1,
    "rmsprop": 0.01,
    "adadelta": 1.0,
    "adam": 0.02,
    "adamw": 0.02,
}

# (id, kind, estimator parameters, data options); each runs with every optimizer
REFERENCE_CASES = [
    ("log-l2-constant", "bin", dict(loss="log_loss", learning_rate="constant"), {}),
    ("sq-l2-constant", "reg", dict(loss="squared_error", learning_rate="constant"), {}),
    (
        "hinge-l1-invscaling",
        "bin",
        dict(loss="hinge", penalty="l1", alpha=0.05, learning_rate="invscaling", power_t=0.4),
        {},
    ),
    (
        "huber-enet-step",
        "reg",
        dict(
            loss="huber",
            epsilon=0.3,
            penalty="elasticnet",
            l1_ratio=0.4,
            alpha=0.05,
            learning_rate="step",
            lr_decay=0.5,
            lr_decay_epochs=0.5,
        ),
        {},
    ),
    (
        "log-nopen-nointercept-exp",
        "bin",
        dict(
            loss="log_loss",
            penalty=None,
            fit_intercept=False,
            learning_rate="exponential",
            lr_decay=0.3,
            lr_decay_epochs=1.5,
        ),
        {},
    ),
    (
        "mhuber-sw-cw-optimal",
        "bin",
        dict(
            loss="modified_huber",
            alpha=0.01,
            learning_rate="optimal",
            class_weight={-1: 0.5, 3: 2.0},
        ),
        dict(sample_weight=True),
    ),
    ("log-optimal", "bin", dict(loss="log_loss", alpha=0.01, learning_rate="optimal"), {}),
    ("sq-optimal", "reg", dict(loss="squared_error", alpha=0.03, learning_rate="optimal"), {}),
    (
        "ovr3-log-cw-cosine-mult",
        "ovr3",
        dict(
            loss="log_loss",
            learning_rate="cosine",
            restart_epochs=0.75,
            restart_mult=2.0,
            eta_min=0.001,
            class_weight={2: 3.0, 7: 0.5},
        ),
        {},
    ),
    (
        # cycles far shorter than a batch: the cycle is found in closed form
        "log-cosine-tiny-cycles",
        "bin",
        dict(loss="log_loss", learning_rate="cosine", restart_epochs=1e-9, eta_min=0.001),
        {},
    ),
    (
        "sq-cosine-tiny-cycles-mult",
        "reg",
        dict(
            loss="squared_error",
            learning_rate="cosine",
            restart_epochs=1e-6,
            restart_mult=1.5,
            eta_min=0.001,
        ),
        {},
    ),
    (
        "ovr4-hinge-sw-enet",
        "ovr4",
        dict(
            loss="hinge", penalty="elasticnet", l1_ratio=0.5, alpha=0.02, learning_rate="constant"
        ),
        dict(sample_weight=True),
    ),
    (
        "multi3-cw-sw-l2",
        "multi3",
        dict(
            loss="log_loss",
            multi_class="multinomial",
            alpha=0.01,
            learning_rate="constant",
            class_weight={5: 2.0},
        ),
        dict(sample_weight=True),
    ),
    (
        "multi4-l1-csr",
        "multi4",
        dict(
            loss="log_loss",
            multi_class="multinomial",
            penalty="l1",
            alpha=0.02,
            learning_rate="invscaling",
        ),
        dict(sparse=True),
    ),
    (
        "multi3-optimal",
        "multi3",
        dict(loss="log_loss", multi_class="multinomial", alpha=0.01, learning_rate="optimal"),
        {},
    ),
    (
        "eps-insensitive-csr",
        "reg",
        dict(loss="epsilon_insensitive", epsilon=0.05, learning_rate="constant"),
        dict(sparse=True),
    ),
    (
        "sq-eps-insensitive-nopen",
        "reg",
        dict(
            loss="squared_epsilon_insensitive", epsilon=0.2, penalty=None, learning_rate="constant"
        ),
        {},
    ),
    (
        "sqhinge-csr-cosine-warmup",
        "bin",
        dict(loss="squared_hinge", learning_rate="cosine", restart_epochs=2, warmup_epochs=1.5),
        dict(sparse=True),
    ),
    (
        "perceptron-l1-warmup",
        "bin",
        dict(
            loss="perceptron", penalty="l1", alpha=0.01, learning_rate="constant", warmup_epochs=0.6
        ),
        {},
    ),
    ("log-clip", "bin", dict(loss="log_loss", learning_rate="constant", clip_norm=0.3), {}),
    ("ovr3-hinge-clip", "ovr3", dict(loss="hinge", learning_rate="constant", clip_norm=0.5), {}),
    (
        "multi3-clip-enet",
        "multi3",
        dict(
            loss="log_loss",
            multi_class="multinomial",
            penalty="elasticnet",
            l1_ratio=0.3,
            alpha=0.02,
            learning_rate="constant",
            clip_norm=0.4,
        ),
        {},
    ),
    (
        "multi3-nointercept-clip",
        "multi3",
        dict(
            loss="log_loss",
            multi_class="multinomial",
            fit_intercept=False,
            learning_rate="constant",
            clip_norm=0.3,
        ),
        {},
    ),
    (
        "sq-average-true",
        "reg",
        dict(loss="squared_error", learning_rate="constant", average=True),
        {},
    ),
    ("log-average-int", "bin", dict(loss="log_loss", learning_rate="constant", average=7), {}),
    (
        "ovr3-average-int-l1",
        "ovr3",
        dict(loss="modified_huber", penalty="l1", alpha=0.01, learning_rate="constant", average=20),
        {},
    ),
    (
        "sq-average-late",
        "reg",
        dict(loss="squared_error", learning_rate="constant", average=100),
        {},
    ),
    # a full batch needs no shuffling: shuffle=True changes nothing
    (
        "log-full-batch-shuffle",
        "bin",
        dict(
            loss="log_loss",
            learning_rate="constant",
            batch_size="full",
            shuffle=True,
            random_state=0,
        ),
        {},
    ),
    (
        "sq-batch-above-n",
        "reg",
        dict(loss="squared_error", learning_rate="invscaling", batch_size=100),
        {},
    ),
    (
        "multi3-full-batch-csr",
        "multi3",
        dict(
            loss="log_loss", multi_class="multinomial", learning_rate="constant", batch_size="full"
        ),
        dict(sparse=True),
    ),
    (
        "sq-adaptive-hyper",
        "reg",
        dict(
            loss="squared_error",
            learning_rate="adaptive",
            momentum=0.5,
            beta_1=0.8,
            beta_2=0.99,
            rho=0.7,
            optimizer_epsilon=1e-3,
        ),
        {},
    ),
    (
        "ovr3-sq-batch5-nointercept",
        "ovr3",
        dict(
            loss="squared_error",
            fit_intercept=False,
            learning_rate="constant",
            batch_size=5,
            alpha=0.01,
        ),
        dict(sparse=True),
    ),
    # batch_size=1 (the clip_norm, never reached, keeps plain sgd on the batch engine)
    (
        "huber-batch1",
        "reg",
        dict(loss="huber", epsilon=0.5, learning_rate="constant", batch_size=1, clip_norm=100.0),
        {},
    ),
    (
        "bin-multinomial-is-binary",
        "bin",
        dict(loss="log_loss", multi_class="multinomial", learning_rate="constant"),
        {},
    ),
]


def _case_estimator(kind, params, optimizer):
    base = dict(
        optimizer=optimizer,
        eta0=ETA0[optimizer],
        batch_size=4,
        shuffle=False,
        max_iter=3,
        tol=None,
        alpha=0.001,
    )
    base.update(params)
    est_cls = SGDRegressor if kind == "reg" else SGDClassifier
    return est_cls(**base)


def _case_data(kind, opts, n=14, seed=0):
    X, y = make_data(kind, n=n, seed=seed)
    sw = None
    if opts.get("sample_weight"):
        sw = np.random.RandomState(seed + 100).uniform(0.2, 2.0, size=X.shape[0])
    if opts.get("sparse"):
        X = X.copy()
        X[np.abs(X) < 0.6] = 0.0
        X = sp.csr_matrix(X)
    return X, y, sw


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("case", REFERENCE_CASES, ids=[c[0] for c in REFERENCE_CASES])
def test_matches_numpy_reference(case, optimizer):
    _, kind, params, opts = case
    est = _case_estimator(kind, params, optimizer)
    X, y, sw = _case_data(kind, opts)
    assert est._uses_batch_engine()
    est.fit(X, y, sample_weight=sw)
    classes = None if kind == "reg" else np.unique(y)
    ref = Reference(est, X.shape[1], classes=classes).fit(X, y, sw)
    assert est.n_iter_ == est.max_iter
    assert_matches_reference(est, ref, X)
    # the model really moved (a vacuous comparison of zeros would not test anything)
    assert np.max(np.abs(ref.W)) > 1e-3


@pytest.mark.parametrize("mult", [1.0, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("T0", [0.75, 2.0, 0.01, 1e-7])
def test_cosine_cycle_against_exact(T0, mult):
    """The engine's closed-form cycle search against exact rational arithmetic:
    at random epoch times, at every cycle start below 60 epochs, and one
    representable number either side of it."""
    rng = np.random.RandomState(0)
    es = list(rng.uniform(0.0, 60.0, 200)) + [0.0, 1e-300, 59.999]
    start, Ti = Fraction(0), Fraction(T0)
    while start <= 60 and len(es) < 500:
        es += [float(start), math.nextafter(float(start), 0.0), math.nextafter(float(start), 1e9)]
        start += Ti
        Ti *= Fraction(mult)
    for e in es:
        T, Ti = _engine.cosine_cycle(T0, mult, e)
        T_ref, Ti_ref = _cosine_cycle_exact(T0, mult, e)
        tol = 1e-12 * max(e, 1.0)
        ok = Ti == pytest.approx(Ti_ref, rel=1e-12) and abs(T - T_ref) <= tol
        if T_ref <= tol:  # at a cycle's start to rounding: may be the previous cycle's end
            ok |= Ti == pytest.approx(Ti_ref / mult, rel=1e-12) and abs(T - Ti) <= tol
        if Ti_ref - T_ref <= tol:  # at a cycle's end to rounding: may be the next one's start
            ok |= Ti == pytest.approx(Ti_ref * mult, rel=1e-12) and T <= tol
        assert ok, (e, T, Ti, T_ref, Ti_ref)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_reference_with_coef_init(optimizer):
    """Starting from coef_init / intercept_init (OvR, 3 classes, elastic-net)."""
    X, y, sw = _case_data("ovr3", {}, n=17, seed=3)
    est = _case_estimator(
        "ovr3", dict(loss="log_loss", penalty="elasticnet", l1_ratio=0.5, alpha=0.02), optimizer
    )
    rng = np.random.RandomState(7)
    c0, b0 = rng.randn(3, X.shape[1]) * 0.3, rng.randn(3) * 0.3
    est.fit(X, y, coef_init=c0, intercept_init=b0)
    ref = Reference(est, X.shape[1], classes=np.unique(y), coef_init=c0, intercept_init=b0)
    ref.fit(X, y)
    assert_matches_reference(est, ref, X)


STOPPING_CASES = [
    ("bin-adaptive", "bin", dict(loss="log_loss", learning_rate="adaptive", eta0=0.5)),
    (
        "ovr3-tol",
        "ovr3",
        dict(loss="hinge", learning_rate="invscaling", eta0=0.3, clip_norm=0.8, average=30),
    ),
    (
        "ovr3-adaptive",
        "ovr3",
        dict(loss="log_loss", learning_rate="adaptive", eta0=0.5, clip_norm=2.0),
    ),
    (
        "multi3-tol",
        "multi3",
        dict(loss="log_loss", multi_class="multinomial", learning_rate="constant", eta0=0.3),
    ),
    (
        "multi3-adaptive",
        "multi3",
        dict(loss="log_loss", multi_class="multinomial", learning_rate="adaptive", eta0=0.5),
    ),
    ("reg-adaptive", "reg", dict(loss="squared_error", learning_rate="adaptive", eta0=0.1)),
]


@pytest.mark.parametrize("optimizer", ["sgd", "nesterov", "adam"])
@pytest.mark.parametrize("case", STOPPING_CASES, ids=[c[0] for c in STOPPING_CASES])
def test_stopping_rule_matches_reference(case, optimizer):
    """The tol rule on the epoch objective (one per OvR output, which is then
    frozen; one for a multinomial model) and learning_rate="adaptive"'s
    division of the step by 5, against the reference."""
    _, kind, params = case
    est = _case_estimator(
        kind, dict(params, eta0=params["eta0"] * (0.1 if optimizer != "sgd" else 1.0)), optimizer
    )
    est.set_params(tol=0.02, n_iter_no_change=2, max_iter=25)
    X, y, sw = _case_data(kind, {}, n=30, seed=11)
    est.fit(X, y)
    ref = Reference(est, X.shape[1], classes=None if kind == "reg" else np.unique(y)).fit(X, y)
    assert_matches_reference(est, ref, X)
    # the rule did something in this case
    fired = (
        (ref.eta_scale < 1).any()
        if params["learning_rate"] == "adaptive"
        else (ref.n_iter < 25).any()
    )
    assert fired, (ref.eta_scale, ref.n_iter)


EARLY_STOPPING_CASES = [
    ("bin-sw", "bin", dict(loss="hinge", learning_rate="constant", eta0=0.05), True),
    (
        "ovr3-adaptive-avg",
        "ovr3",
        dict(loss="log_loss", learning_rate="adaptive", eta0=0.2, average=50),
        False,
    ),
    (
        "multi3-cosine",
        "multi3",
        dict(
            loss="log_loss",
            multi_class="multinomial",
            learning_rate="cosine",
            restart_epochs=3,
            eta0=0.2,
        ),
        True,
    ),
    (
        "reg-warmup",
        "reg",
        dict(loss="squared_error", learning_rate="constant", eta0=0.05, warmup_epochs=2),
        True,
    ),
]


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "rmsprop", "adamw"])
@pytest.mark.parametrize("case", EARLY_STOPPING_CASES, ids=[c[0] for c in EARLY_STOPPING_CASES])
def test_early_stopping_matches_reference(case, optimizer):
    """early_stopping: the validation rows are left out of the batches (and of
    the epoch's batch count), the rule runs on the validation score."""
    _, kind, params, weighted = case
    scale = {"sgd": 1.0, "momentum": 0.2, "rmsprop": 0.1, "adamw": 0.1}[optimizer]
    est = _case_estimator(kind, dict(params, eta0=params["eta0"] * scale), optimizer)
    est.set_params(
        early_stopping=True,
        validation_fraction=0.25,
        tol=1e-3,
        n_iter_no_change=2,
        max_iter=30,
        random_state=3,
    )
    X, y, sw = _case_data(kind, dict(sample_weight=weighted), n=41, seed=12)
    est.fit(X, y, sample_weight=sw)
    ref = Reference(est, X.shape[1], classes=None if kind == "reg" else np.unique(y)).fit(X, y, sw)
    assert_matches_reference(est, ref, X)
    assert ref.n_updates == est.n_iter_ * math.ceil(30 / 4)  # 30 training rows


def test_optimal_t0_is_scikit_learns():
    """learning_rate="optimal": the first step (one full batch from w = 0) is
    scikit-learn's eta = 1 / (alpha t0), t0 from typw, and (1 - momentum)
    times that for momentum."""
    X, y = make_data("reg", n=6, d=3, seed=1)
    alpha = 0.02
    typw = math.sqrt(1.0 / math.sqrt(alpha))
    # squared loss: dloss(1, -typw) = -typw - 1 < 1 -> initial_eta0 = typw
    initial_eta0 = typw / max(1.0, -typw - 1.0)
    eta1 = 1.0 / (alpha * (1.0 / (initial_eta0 * alpha)))
    for optimizer, factor in [("sgd", 1.0), ("momentum", 0.5)]:
        est = SGDRegressor(
            batch_size=6,
            optimizer=optimizer,
            momentum=0.5,
            learning_rate="optimal",
            alpha=alpha,
            penalty=None,
            shuffle=False,
            max_iter=1,
            tol=None,
        ).fit(X, y)
        g = np.mean((0.0 - y)[:, None] * X, axis=0)  # gradient at w = 0
        np.testing.assert_allclose(est.coef_, -factor * eta1 * g, rtol=1e-12)


# ----------------------------------------------------------------------
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize(
    "kind, params",
    [
        (
            "ovr3",
            dict(
                loss="log_loss",
                learning_rate="cosine",
                restart_epochs=2,
                average=10,
                class_weight={2: 2.0},
            ),
        ),
        (
            "multi3",
            dict(
                loss="log_loss",
                multi_class="multinomial",
                penalty="l1",
                alpha=0.01,
                learning_rate="exponential",
                lr_decay=0.5,
                lr_decay_epochs=1,
            ),
        ),
        (
            "multi3",
            dict(
                loss="log_loss",
                multi_class="multinomial",
                learning_rate="invscaling",
                warmup_epochs=2.5,
            ),
        ),
        ("bin", dict(loss="modified_huber", learning_rate="optimal", alpha=0.01, average=True)),
        (
            "reg",
            dict(
                loss="huber",
                learning_rate="step",
                lr_decay=0.5,
                lr_decay_epochs=2,
                warmup_epochs=1.5,
                clip_norm=1.0,
            ),
        ),
    ],
    ids=[
        "ovr3-cosine-avg",
        "multi3-exp-l1",
        "multi3-invscaling-warmup",
        "bin-optimal-avg",
        "reg-step-warmup-clip",
    ],
)
def test_partial_fit_carries_optimizer_state(kind, params, optimizer):
    """partial_fit calls (each one epoch, counters carried, pickled between
    calls) equal the reference run continuously over the same chunks."""
    est = _case_estimator(kind, params, optimizer)
    pickled = clone(est)
    X, y, sw = _case_data(kind, {}, n=40, seed=5)
    classes = None if kind == "reg" else np.unique(y)
    ref = Reference(est, X.shape[1], classes=classes)
    chunks = [slice(0, 14), slice(14, 23), slice(23, 40), slice(0, 14)]
    for rows in chunks:
        Xc, yc = X[rows], y[rows]
        for model in (est, pickled):
            if kind == "reg":
                model.partial_fit(Xc, yc)
            else:
                model.partial_fit(Xc, yc, classes=classes)
        pickled = pickle.loads(pickle.dumps(pickled))
        ref.epoch(Xc, yc)
        assert_matches_reference(est, ref, Xc, check_curve=False)
        np.testing.assert_allclose(np.ravel(est.loss_curve_), np.ravel(ref.curves[-1]), rtol=1e-10)
        # pickling between calls changes nothing, bit for bit
        assert np.array_equal(pickled.coef_, est.coef_)
        assert np.array_equal(pickled.intercept_, est.intercept_)
        assert np.array_equal(pickled.optimizer_state_["slots"], est.optimizer_state_["slots"])
        assert pickled.optimizer_state_["n_updates"] == est.optimizer_state_["n_updates"]
    # a fresh fit starts the state afresh
    est.set_params(max_iter=1)
    est.fit(X[chunks[0]], y[chunks[0]])
    assert est.optimizer_state_["n_updates"] == math.ceil(14 / 4)
    assert est.optimizer_state_["epochs"] == 1


# ----------------------------------------------------------------------
# the optimum of the regularised objective
def _objective_logistic(W, b, X, y01, alpha):
    p = X @ W + b
    return np.mean(np.logaddexp(0.0, p) - y01 * p) + 0.5 * alpha * W @ W


def _objective_squared(W, b, X, y, alpha):
    p = X @ W + b
    return np.mean(0.5 * (p - y) ** 2) + 0.5 * alpha * W @ W


def _lbfgs_optimum(obj_grad, d):
    res = minimize(
        obj_grad,
        np.zeros(d + 1),
        jac=True,
        method="L-BFGS-B",
        options=dict(maxiter=20000, gtol=1e-12, ftol=1e-16),
    )
    return res.fun


@pytest.fixture(scope="module")
def recipe_problems():
    alpha = 1e-3
    Xc, yc = make_classification(n_samples=20000, n_features=20, random_state=0)
    Xc = StandardScaler().fit_transform(Xc)
    Xr, yr = make_regression(n_samples=20000, n_features=20, noise=10, random_state=0)
    Xr = StandardScaler().fit_transform(Xr)
    yr = (yr - yr.mean()) / yr.std()

    def log_fg(theta):
        W, b = theta[:-1], theta[-1]
        p = Xc @ W + b
        f = np.mean(np.logaddexp(0.0, p) - yc * p) + 0.5 * alpha * W @ W
        r = (expit(p) - yc) / len(yc)
        return f, np.concatenate([Xc.T @ r + alpha * W, [r.sum()]])

    def sq_fg(theta):
        W, b = theta[:-1], theta[-1]
        p = Xr @ W + b
        f = np.mean(0.5 * (p - yr) ** 2) + 0.5 * alpha * W @ W
        r = (p - yr) / len(yr)
        return f, np.concatenate([Xr.T @ r + alpha * W, [r.sum()]])

    return dict(
        alpha=alpha,
        log=(Xc, yc, _lbfgs_optimum(log_fg, 20)),
        sq=(Xr, yr, _lbfgs_optimum(sq_fg, 20)),
    )


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("task", ["log", "sq"])
def test_reaches_optimum(recipe_problems, task, optimizer):
    alpha = recipe_problems["alpha"]
    X, y, f_opt = recipe_problems[task]
    params = dict(
        alpha=alpha,
        batch_size=32,
        optimizer=optimizer,
        eta0=RECIPE_ETA0[optimizer],
        learning_rate="cosine",
        restart_epochs=20,
        max_iter=20,
        tol=None,
        random_state=0,
    )
    if task == "log":
        est = SGDClassifier(loss="log_loss", **params).fit(X, y)
        f = _objective_logistic(est.coef_.ravel(), est.intercept_[0], X, y, alpha)
    else:
        est = SGDRegressor(loss="squared_error", **params).fit(X, y)
        f = _objective_squared(est.coef_, est.intercept_[0], X, y, alpha)
    assert est.n_iter_ == 20
    assert f >= f_opt * (1 - 1e-9)  # L-BFGS found the minimum
    assert (f - f_opt) / f_opt <= 1e-3, (f, f_opt)


# ----------------------------------------------------------------------
# multinomial against scikit-learn's LogisticRegression
def _softmax_objective(W, b, X, y_codes, alpha):
    P = X @ W.T + b
    return np.mean(
        -log_softmax(P, axis=1)[np.arange(len(y_codes)), y_codes]
    ) + 0.5 * alpha * np.sum(W * W)


@pytest.fixture(scope="module")
def multinomial_problem():
    X, y = make_classification(
        n_samples=3000,
        n_features=8,
        n_informative=6,
        n_redundant=0,
        n_classes=4,
        n_clusters_per_class=1,
        class_sep=0.8,
        random_state=1,
    )
    X = StandardScaler().fit_transform(X)
    alpha = 1e-3
    lr = LogisticRegression(C=1.0 / (alpha * X.shape[0]), tol=1e-12, max_iter=10000).fit(X, y)
    f_opt = _softmax_objective(lr.coef_, lr.intercept_, X, y, alpha)
    return X, y, alpha, lr, f_opt


@pytest.mark.parametrize(
    "params",
    [
        dict(
            batch_size=32,
            optimizer="adam",
            eta0=0.01,
            learning_rate="cosine",
            restart_epochs=20,
            max_iter=20,
        ),
        dict(
            batch_size="full",
            optimizer="nesterov",
            eta0=1.0,
            momentum=0.9,
            learning_rate="constant",
            max_iter=120,
        ),
        dict(
            batch_size=1,
            optimizer="sgd",
            eta0=0.02,
            learning_rate="cosine",
            restart_epochs=15,
            max_iter=15,
        ),
        dict(
            batch_size=256,
            optimizer="adagrad",
            eta0=0.3,
            learning_rate="cosine",
            restart_epochs=40,
            max_iter=40,
        ),
    ],
    ids=["adam-32", "nesterov-full", "sgd-1", "adagrad-256"],
)
def test_multinomial_matches_logistic_regression(multinomial_problem, params):
    X, y, alpha, lr, f_opt = multinomial_problem
    # n_jobs=1: the threads are tested elsewhere, and on a busy machine a
    # spinning OpenMP thread makes many tiny full batches slow
    est = SGDClassifier(
        loss="log_loss",
        multi_class="multinomial",
        alpha=alpha,
        tol=None,
        random_state=0,
        n_jobs=1,
        **params,
    )
    est.fit(X, y)
    assert est.coef_.shape == (4, X.shape[1])
    f = _softmax_objective(est.coef_, est.intercept_, X, y, alpha)
    assert f >= f_opt * (1 - 1e-9)
    assert (f - f_opt) / f_opt <= 1e-3, (f, f_opt)
    agree = np.mean(est.predict(X) == lr.predict(X))
    assert agree >= 0.995, agree
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(proba, softmax(est.decision_function(X), axis=1), rtol=1e-12)
    np.testing.assert_allclose(est.predict_log_proba(X), np.log(proba), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(est.predict(X), est.classes_[np.argmax(proba, axis=1)])


# ----------------------------------------------------------------------
# bit-identical results for any number of threads
def _parallel_data(kind, sparse, n=8000, d=32, seed=0, dtype=np.float64):
    X, y = _parallel_data64(kind, sparse, n, d, seed)
    return X.astype(dtype), y


def _parallel_data64(kind, sparse, n, d, seed):
    rng = np.random.RandomState(seed)
    if sparse:
        X = sp.random(n, d, density=0.5, format="csr", random_state=rng) * 2.0
        X.data -= 1.0
        Xd = X.toarray()
    else:
        X = Xd = rng.randn(n, d)
    w = rng.randn(d)
    score = Xd @ w + 0.5 * rng.randn(n)
    if kind == "reg":
        return X, score
    if kind == "bin":
        return X, (score > 0).astype(int)
    return X, np.digitize(score, np.quantile(score, [0.25, 0.5, 0.75]))


PARALLEL_CASES = [
    ("bin-dense-sgd", "bin", False, dict(optimizer="sgd", loss="log_loss")),
    ("bin-csr-adam-clip", "bin", True, dict(optimizer="adam", loss="hinge", clip_norm=0.05)),
    (
        "ovr-dense-nesterov-shuffle",
        "ovr",
        False,
        dict(optimizer="nesterov", loss="log_loss", shuffle=True),
    ),
    (
        "ovr-csr-rmsprop-l1-avg",
        "ovr",
        True,
        dict(optimizer="rmsprop", loss="modified_huber", penalty="l1", average=True),
    ),
    (
        "multi-dense-adamw-clip",
        "multi",
        False,
        dict(optimizer="adamw", loss="log_loss", multi_class="multinomial", clip_norm=0.1),
    ),
    (
        "multi-csr-adagrad-shuffle",
        "multi",
        True,
        dict(optimizer="adagrad", loss="log_loss", multi_class="multinomial", shuffle=True),
    ),
    (
        "reg-dense-adadelta-shuffle-clip",
        "reg",
        False,
        dict(optimizer="adadelta", loss="squared_error", shuffle=True, clip_norm=0.5),
    ),
    ("reg-csr-momentum", "reg", True, dict(optimizer="momentum", loss="huber", eta0=0.01)),
    (
        "ovr-dense-f32-adam-shuffle",
        "ovr",
        False,
        dict(optimizer="adam", loss="hinge", shuffle=True, dtype=np.float32),
    ),
    (
        "multi-csr-f32-sgd-clip",
        "multi",
        True,
        dict(
            optimizer="sgd",
            loss="log_loss",
            multi_class="multinomial",
            clip_norm=0.2,
            dtype=np.float32,
        ),
    ),
]


@pytest.mark.parametrize("case", PARALLEL_CASES, ids=[c[0] for c in PARALLEL_CASES])
def test_bit_identical_across_n_jobs(case):
    _, kind, sparse, params = case
    params = dict(params)
    X, y = _parallel_data(kind, sparse, dtype=params.pop("dtype", np.float64))
    base = dict(
        batch_size=1024,
        max_iter=3,
        tol=None,
        shuffle=False,
        random_state=0,
        learning_rate="constant",
        eta0=0.05,
    )
    base.update(params)
    est_cls = SGDRegressor if kind == "reg" else SGDClassifier
    nnz_per_row = X.nnz / X.shape[0] if sparse else X.shape[1]
    K = {"bin": 1, "reg": 1}.get(kind, 4)
    assert 1024 * nnz_per_row * K >= 16384  # big enough to run on several threads
    fits = [est_cls(n_jobs=n_jobs, **base).fit(X, y) for n_jobs in (1, 2, 4)]
    for other in fits[1:]:
        assert np.array_equal(other.coef_, fits[0].coef_)
        assert np.array_equal(other.intercept_, fits[0].intercept_)
        assert np.array_equal(other.optimizer_state_["slots"], fits[0].optimizer_state_["slots"])
        np.testing.assert_array_equal(other.loss_curve_, fits[0].loss_curve_)
    assert np.all(np.isfinite(fits[0].coef_)) and np.any(fits[0].coef_ != 0)


def test_bit_identical_across_n_jobs_many_small_batches(monkeypatch):
    """Many tiny parallel batches (the serial threshold lifted): each batch's
    update runs on one thread while another takes the rows of the batch after
    next.  The slot those rows go to must not depend on which thread gets
    there first (a race on the current slot once trained stale rows now and
    then: about 1 fit in 50 differed with 2 or 4 threads)."""
    monkeypatch.setenv("FASTSGD_PARALLEL_MIN_WORK", "0")
    rng = np.random.RandomState(0)
    X = rng.randn(203, 13)
    y = rng.randint(0, 3, 203)
    params = dict(optimizer="adam", loss="log_loss", batch_size=1, max_iter=3, tol=None,
                  shuffle=True, random_state=0)
    ref = SGDClassifier(n_jobs=1, **params).fit(X, y)
    for n_jobs in (2, 4):
        for _ in range(100):
            m = SGDClassifier(n_jobs=n_jobs, **params).fit(X, y)
            assert m.n_iter_ == ref.n_iter_
            assert np.array_equal(m.coef_, ref.coef_)
            assert np.array_equal(m.intercept_, ref.intercept_)


def test_bit_identical_across_n_jobs_many_features():
    """More than 1024 coordinates: the update step is split over threads by
    blocks of features (with clip_norm: a reduction of the norm over blocks)."""
    rng = np.random.RandomState(0)
    n, d = 2000, 1500
    X = sp.random(n, d, density=0.03, format="csr", random_state=rng)
    y = np.digitize(X @ rng.randn(d), [-0.3, 0.0, 0.3])
    for params in (
        dict(optimizer="adam"),
        dict(optimizer="momentum", clip_norm=0.05, multi_class="multinomial"),
    ):
        base = dict(
            loss="log_loss",
            batch_size=512,
            max_iter=2,
            tol=None,
            learning_rate="constant",
            eta0=0.05,
            random_state=0,
            **params,
        )
        fits = [SGDClassifier(n_jobs=n_jobs, **base).fit(X, y) for n_jobs in (1, 2, 4)]
        for other in fits[1:]:
            assert np.array_equal(other.coef_, fits[0].coef_)
            assert np.array_equal(other.intercept_, fits[0].intercept_)
    # and the block-split update is still the reference's (shuffle=False)
    base = dict(
        loss="log_loss",
        optimizer="rmsprop",
        batch_size=512,
        max_iter=2,
        tol=None,
        shuffle=False,
        learning_rate="constant",
        eta0=0.01,
        clip_norm=0.05,
        penalty="elasticnet",
        l1_ratio=0.5,
        alpha=1e-3,
        n_jobs=2,
    )
    est = SGDClassifier(**base).fit(X, y)
    ref = Reference(est, d, classes=np.unique(y))
    ref.fit(X, y)
    assert_matches_reference(est, ref, X)


# ----------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["bin", "ovr3", "multi3", "reg"])
def test_clip_norm_bounds_every_step(kind):
    """sgd, constant eta0, one batch per partial_fit call: the step's norm is
    eta0 * min(||g||, clip_norm) (so never above eta0 * clip_norm)."""
    X, y = make_data(kind, n=80, d=6, seed=2)
    # clip_norm inside the range of this run's gradient norms: some steps are
    # clipped, some not
    eta0, bs = 0.1, 8
    clip = {"bin": 0.55, "ovr3": 0.85, "multi3": 0.7, "reg": 3.5}[kind]
    params = dict(
        optimizer="sgd",
        learning_rate="constant",
        eta0=eta0,
        clip_norm=clip,
        batch_size=bs,
        shuffle=False,
        alpha=0.01,
    )
    if kind == "reg":
        est = SGDRegressor(loss="squared_error", **params)
    else:
        extra = dict(multi_class="multinomial") if kind == "multi3" else {}
        est = SGDClassifier(loss="log_loss", **params, **extra)
    classes = None if kind == "reg" else np.unique(y)
    ref = Reference(est, X.shape[1], classes=classes)
    clipped = unclipped = 0
    for i in range(0, X.shape[0], bs):
        Xb, yb = X[i : i + bs], y[i : i + bs]
        if i == 0:
            before_coef = np.zeros((ref.K, X.shape[1]))
            before_b = np.zeros(ref.K)
        else:
            before_coef = np.array(est.coef_).reshape(ref.K, -1)
            before_b = np.array(est.intercept_).reshape(-1)
        if kind == "reg":
            est.partial_fit(Xb, yb)
        else:
            est.partial_fit(Xb, yb, classes=classes)
        delta = np.concatenate(
            [
                (np.array(est.coef_).reshape(ref.K, -1) - before_coef).ravel(),
                np.ravel(est.intercept_) - before_b,
            ]
        )
        step = np.linalg.norm(delta)
        # the gradient at the weights before the step, computed independently
        ref.W[:, :-1], ref.W[:, -1] = before_coef, before_b
        T, C = ref._targets(yb)
        G, _ = ref.gradient(Xb, T, C, np.ones(len(yb)))
        gnorm = np.linalg.norm(G)
        assert step <= eta0 * clip + 1e-12
        if gnorm < clip:
            unclipped += 1
            np.testing.assert_allclose(step, eta0 * gnorm, rtol=1e-10)
        else:
            clipped += 1
            np.testing.assert_allclose(step, eta0 * clip, rtol=1e-10)
            # the direction is still the gradient's
            np.testing.assert_allclose(
                delta,
                -eta0 * clip / gnorm * np.concatenate([G[:, :-1].ravel(), G[:, -1]]),
                rtol=1e-9,
                atol=1e-14,
            )
    assert clipped > 0 and unclipped > 0, (clipped, unclipped)


# ----------------------------------------------------------------------
# the mini-batch gradient, checked by finite differences
def _fd_gradient(f, theta, h=1e-6):
    g = np.zeros_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e.flat[i] = h
        g.flat[i] = (f(theta + e) - f(theta - e)) / (2 * h)
    return g


KINKS = {
    "hinge": lambda p, y: [p * y - 1.0],
    "perceptron": lambda p, y: [p * y],
    "squared_hinge": lambda p, y: [p * y - 1.0],
    "modified_huber": lambda p, y: [p * y - 1.0, p * y + 1.0],
    "huber": lambda p, y: [np.abs(p - y) - 0.3],
    "epsilon_insensitive": lambda p, y: [np.abs(p - y) - 0.3],
    "squared_epsilon_insensitive": lambda p, y: [np.abs(p - y) - 0.3],
}


@pytest.mark.parametrize("loss", CLF_LOSSES + REG_LOSSES + ["multinomial"])
def test_batch_gradient_finite_differences(loss):
    m, d, alpha, eta0 = 12, 4, 0.1, 0.5
    rng = np.random.RandomState(sum(map(ord, loss)))
    regression = loss in REG_LOSSES
    for attempt in range(200):
        X = rng.randn(m, d)
        sw = rng.uniform(0.5, 2.0, size=m)
        if loss == "multinomial":
            K = 3
            y = np.arange(m) % K
            w0, b0 = rng.randn(K, d) * 0.5, rng.randn(K) * 0.5
        else:
            K = 1
            w0, b0 = rng.randn(d) * 0.7, rng.randn(1) * 0.3
            p0 = X @ w0 + b0
            if regression:
                y = p0 + rng.choice([-1, 1], size=m) * rng.uniform(0.0, 1.0, size=m)
            else:
                y = rng.choice([0, 1], size=m)
                y[:2] = [0, 1]
        if loss in KINKS:
            ypm = y if regression else np.where(y == 1, 1.0, -1.0)
            dist = np.min(np.abs(np.concatenate(KINKS[loss](p0, ypm))))
            if dist < 0.05:
                continue
        break
    else:
        raise AssertionError("no point away from the kinks")
    common = dict(
        penalty="l2",
        alpha=alpha,
        learning_rate="constant",
        eta0=eta0,
        batch_size=m,
        shuffle=False,
        max_iter=1,
        tol=None,
        optimizer="sgd",
    )
    if loss == "multinomial":
        est = SGDClassifier(loss="log_loss", multi_class="multinomial", **common)
    elif regression:
        est = SGDRegressor(loss=loss, epsilon=0.3, **common)
    else:
        est = SGDClassifier(loss=loss, epsilon=0.3, **common)
    est.fit(X, y, coef_init=w0, intercept_init=b0, sample_weight=sw)
    theta0 = np.concatenate([np.ravel(w0), np.ravel(b0)])
    theta1 = np.concatenate([np.ravel(est.coef_), np.ravel(est.intercept_)])
    engine_grad = (theta0 - theta1) / eta0

    def objective(theta):
        W = theta[: K * d].reshape(K, d)
        b = theta[K * d :]
        P = X @ W.T + b
        if loss == "multinomial":
            per = logsumexp(P, axis=1) - P[np.arange(m), y]
        else:
            p = P[:, 0]
            if regression:
                t = y
            elif loss == "log_loss":
                t = y.astype(float)
            else:
                t = np.where(y == 1, 1.0, -1.0)
            per = np_loss(loss, p, t, epsilon=0.3)
        return np.mean(sw * per) + 0.5 * alpha * np.sum(W * W)

    fd = _fd_gradient(objective, theta0)
    assert np.linalg.norm(fd) > 1e-2
    np.testing.assert_allclose(engine_grad, fd, rtol=1e-6, atol=1e-7)


# ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "kind, params, sparse",
    [
        ("bin", dict(loss="log_loss", optimizer="adam", eta0=0.01), False),
        (
            "multi3",
            dict(loss="log_loss", optimizer="nesterov", multi_class="multinomial", eta0=0.05),
            True,
        ),
        ("ovr3", dict(loss="modified_huber", optimizer="rmsprop", eta0=0.003, average=True), False),
        (
            "reg",
            dict(loss="squared_error", optimizer="adagrad", eta0=0.1, penalty="elasticnet"),
            True,
        ),
    ],
)
def test_float32_matches_float64(kind, params, sparse):
    X, y = make_data(kind, n=300, d=6, seed=4)
    if sparse:
        X[np.abs(X) < 0.5] = 0.0
    est_cls = SGDRegressor if kind == "reg" else SGDClassifier
    base = dict(
        batch_size=16,
        max_iter=5,
        tol=None,
        random_state=0,
        learning_rate="constant",
        alpha=1e-3,
        **params,
    )
    fits = {}
    for dtype in (np.float64, np.float32):
        Xt = X.astype(dtype)
        Xt = sp.csr_matrix(Xt) if sparse else Xt
        fits[dtype] = est_cls(**base).fit(Xt, y)
    assert fits[np.float32].coef_.dtype == np.float32
    assert fits[np.float64].coef_.dtype == np.float64
    assert np.asarray(fits[np.float32].intercept_).dtype == np.float32
    np.testing.assert_allclose(fits[np.float32].coef_, fits[np.float64].coef_, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(
        fits[np.float32].intercept_, fits[np.float64].intercept_, rtol=1e-3, atol=1e-4
    )


@pytest.mark.parametrize("d", [16, 33, 100, 300, 600])
@pytest.mark.parametrize(
    "kind, params",
    [
        ("bin", dict(loss="log_loss", optimizer="adam")),
        ("ovr3", dict(loss="hinge", optimizer="sgd", eta0=0.01, learning_rate="constant")),
    ],
)
def test_float32_float_lanes_match_float64(kind, params, d):
    """Dense float32 rows go through float-lane kernels (group dot products
    with w narrowed to float, group gradients summed in float: batch_impl.h);
    feature counts around their widths (16 floats, 32 per gradient step, the
    256-feature block) against the float64 fit."""
    X, y = make_data(kind, n=400, d=d, seed=d)
    X = X / np.sqrt(d)
    base = dict(batch_size=32, max_iter=5, tol=None, random_state=0, alpha=1e-3, **params)
    f64 = SGDClassifier(**base).fit(X, y)
    f32 = SGDClassifier(**base).fit(X.astype(np.float32), y)
    assert f32.coef_.dtype == np.float32
    scale = np.abs(f64.coef_).max()
    np.testing.assert_allclose(f32.coef_, f64.coef_, rtol=1e-3, atol=1e-4 * scale)
    np.testing.assert_allclose(f32.intercept_, f64.intercept_, rtol=1e-3, atol=1e-4 * scale)


# ----------------------------------------------------------------------
# behaviour
@pytest.mark.parametrize("kind", ["bin", "multi3", "reg"])
def test_early_stopping_in_batch_mode(kind):
    X, y = make_data(kind, n=600, d=5, seed=6)
    if kind == "reg":
        est = SGDRegressor(
            batch_size=16,
            optimizer="adam",
            eta0=0.01,
            early_stopping=True,
            max_iter=500,
            random_state=0,
        )
    else:
        extra = dict(multi_class="multinomial", loss="log_loss") if kind == "multi3" else {}
        est = SGDClassifier(
            batch_size=16,
            optimizer="adam",
            eta0=0.01,
            early_stopping=True,
            max_iter=500,
            random_state=0,
            **extra,
        )
    est.fit(X, y)
    assert est.n_iter_ < 500
    assert est.score(X, y) > (0.8 if kind == "reg" else 0.7)
    # each epoch is counted once: updates = epochs x batches over the training rows
    n_train = X.shape[0] - int(np.ceil(0.1 * X.shape[0]))
    assert est.optimizer_state_["n_updates"] == est.n_iter_ * math.ceil(n_train / 16)


@pytest.mark.parametrize("kind", ["ovr3", "reg"])
def test_warm_start_restarts_optimizer_state(kind):
    """fit with warm_start starts from the fitted weights with a fresh
    optimizer state and counters (docs/batch.md: "fit (warm_start included)
    starts it afresh")."""
    X, y = make_data(kind, n=60, d=5, seed=8)
    params = dict(optimizer="adam", eta0=0.02, batch_size=8, shuffle=False, max_iter=3, tol=None)
    if kind == "reg":
        est_cls, params = SGDRegressor, dict(params, loss="squared_error")
    else:
        est_cls, params = SGDClassifier, dict(params, loss="log_loss")
    est = est_cls(warm_start=True, **params).fit(X, y)
    c1, b1 = est.coef_.copy(), est.intercept_.copy()
    est.fit(X, y)
    assert est.optimizer_state_["n_updates"] == 3 * math.ceil(60 / 8)
    assert est.optimizer_state_["epochs"] == 3
    # the second fit is the reference started from the first's weights
    ref = Reference(
        est, 5, classes=None if kind == "reg" else np.unique(y), coef_init=c1, intercept_init=b1
    )
    ref.fit(X, y)
    assert_matches_reference(est, ref, X)
    fresh = est_cls(**params).fit(X, y, coef_init=c1, intercept_init=b1)
    np.testing.assert_array_equal(est.coef_, fresh.coef_)
    np.testing.assert_array_equal(est.intercept_, fresh.intercept_)
    assert not np.allclose(est.coef_, c1)


@pytest.mark.parametrize("kind", ["bin", "ovr3", "multi3", "reg"])
def test_loss_curve_converged(kind):
    X, y = make_data(kind, n=400, d=5, seed=9)
    alpha = 1e-2
    params = dict(
        alpha=alpha,
        batch_size=16,
        optimizer="adam",
        eta0=0.02,
        learning_rate="cosine",
        restart_epochs=30,
        max_iter=30,
        tol=None,
        random_state=0,
    )
    if kind == "reg":
        est = SGDRegressor(loss="squared_error", **params).fit(X, y)
    else:
        extra = dict(multi_class="multinomial") if kind == "multi3" else {}
        est = SGDClassifier(loss="log_loss", **params, **extra).fit(X, y)
    curves = np.atleast_2d(est.loss_curve_)
    assert curves.shape[1] == 30
    P = X @ np.atleast_2d(est.coef_).T + est.intercept_
    W = np.atleast_2d(est.coef_)
    if kind == "multi3":
        codes = np.searchsorted(est.classes_, y)
        finals = [
            np.mean(logsumexp(P, axis=1) - P[np.arange(len(y)), codes])
            + 0.5 * alpha * np.sum(W * W)
        ]
    else:
        finals = []
        for k in range(curves.shape[0]):
            if kind == "reg":
                t = y
            else:
                pos = est.classes_[1] if kind == "bin" else est.classes_[k]
                t = (y == pos).astype(float)
            loss = "squared_error" if kind == "reg" else "log_loss"
            finals.append(np.mean(np_loss(loss, P[:, k], t)) + 0.5 * alpha * W[k] @ W[k])
    for curve, final in zip(curves, finals):
        assert np.all(np.isfinite(curve))
        assert curve[-1] < curve[0]
        assert np.all(np.diff(curve) <= 0.02 * curve[:-1])  # decreasing, up to noise
        assert abs(curve[-1] - final) <= 0.03 * final, (curve[-1], final)


def test_divergence_raises_and_leaves_estimator_unfitted():
    X, y = make_data("reg", n=64, d=5, seed=10)
    X = X * 100
    est = SGDRegressor(
        batch_size=4, learning_rate="constant", eta0=1e6, max_iter=50, tol=None, shuffle=False
    )
    with pytest.raises(ValueError, match=r"epoch #\d+"):
        est.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    assert not hasattr(est, "optimizer_state_")
    # a fitted estimator keeps its state when a later fit diverges
    est.set_params(eta0=1e-6)
    est.fit(X, y)
    coef = est.coef_.copy()
    state = est.optimizer_state_
    est.set_params(eta0=1e6, optimizer="momentum")
    with pytest.raises(ValueError, match="epoch"):
        est.fit(X, y)
    np.testing.assert_array_equal(est.coef_, coef)
    assert est.optimizer_state_ is state


@pytest.mark.parametrize(
    "est, match",
    [
        (SGDClassifier(learning_rate="pa1", loss="hinge", batch_size=4), "per-sample"),
        (
            SGDRegressor(learning_rate="pa2", loss="epsilon_insensitive", optimizer="adam"),
            "per-sample",
        ),
        (SGDClassifier(multi_class="multinomial", loss="hinge"), "multinomial"),
        (SGDClassifier(batch_size=0), "batch_size"),
        (SGDRegressor(batch_size="half"), "batch_size"),
        (SGDClassifier(optimizer="foo"), "optimizer"),
        (SGDRegressor(clip_norm=0), "clip_norm"),
        (SGDClassifier(clip_norm=-1.0, batch_size=4), "clip_norm"),
        (SGDClassifier(multi_class="softmax"), "multi_class"),
        (SGDClassifier(learning_rate="cosine", eta0=0.01, eta_min=0.1, batch_size=4), "eta_min"),
    ],
)
def test_bad_parameters_raise_before_work(est, match, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("the engine ran")

    monkeypatch.setattr(_sgd._engine, "fit", no_work)
    X, y = make_data("multi3", n=30, d=3)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y if isinstance(est, SGDClassifier) else y.astype(float))
    with pytest.raises(NotFittedError):
        check_is_fitted(est)


# ----------------------------------------------------------------------
# The multinomial model runs plain sgd with the default 'optimal' schedule.
# (With batch_size=8 instead of 16, check_classifiers_train's 3-class blobs
# end at exactly its 0.83 threshold: the schedule's first steps, ~10, are
# still large after the few updates those 150 rows give; adam, momentum,
# averaging or batch sizes 1, 4 and 16 all pass.)
@parametrize_with_checks(
    [
        SGDClassifier(batch_size=16, optimizer="adam"),
        SGDClassifier(multi_class="multinomial", loss="log_loss", batch_size=16),
        SGDRegressor(batch_size=16, optimizer="adam"),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible_batch_estimator(estimator, check):
    check(estimator)


def test_float32_weights_beyond_float_range_are_divergence():
    """Weights finite in the engine's double precision but beyond float32's
    range would come out infinite in a float32 coef_: that is divergence too."""
    rng = np.random.RandomState(0)
    X = rng.randn(30, 4)
    y = rng.randn(30)
    params = dict(batch_size=10, optimizer="sgd", learning_rate="constant", eta0=1e36,
                  max_iter=1, tol=None, penalty=None, shuffle=False)
    m64 = SGDRegressor(**params).fit(X, y)
    assert np.all(np.isfinite(m64.coef_)) and np.abs(m64.coef_).max() > 1e39
    with pytest.raises(ValueError, match="epoch #1"):
        SGDRegressor(**params).fit(X.astype(np.float32), y)
