"""References the tests compare fastsgd with.

- ``Reference``: the batch engine's rules (docs/batch.md) in NumPy, for
  ``shuffle=False`` (batches of consecutive rows): the schedules, the
  optimizers, clipping, the proximal L1 step, averaging, the stopping rules
  and early stopping, with ``np_dloss`` (each loss's derivative) and
  ``cosine_cycle_exact`` (SGDR's cycles in exact arithmetic);
  ``assert_matches_reference`` compares a fitted estimator with it.
- ``sklearn_loss_and_dloss``: scikit-learn's own definition of every loss and
  its derivative.
- ``ovr_objectives``: the objective of each one-vs-rest problem, and
  ``lbfgs_optimum``: its minimum by scipy's L-BFGS, both from
  ``fastsgd.objective`` (tested against scikit-learn in test_objective.py).
"""

import math
from fractions import Fraction

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import expit, logsumexp, softmax
from sklearn._loss._loss import CyHalfBinomialLoss, CyHalfSquaredError, CyHuberLoss
from sklearn.linear_model import _sgd_fast
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

from fastsgd import objective
from fastsgd._objective import REGRESSION_LOSSES, pointwise_loss


def sklearn_loss_and_dloss(loss, p, y, epsilon=0.1):
    """scikit-learn's loss and d loss / d p at the prediction p for the target y.

    From its SGD loss objects and its _loss module; y in {0, 1} for log_loss,
    in {-1, +1} for the other classification losses.
    """
    sgd_objects = {
        "hinge": lambda: _sgd_fast.Hinge(1.0),
        "perceptron": lambda: _sgd_fast.Hinge(0.0),
        "squared_hinge": lambda: _sgd_fast.SquaredHinge(1.0),
        "modified_huber": _sgd_fast.ModifiedHuber,
        "epsilon_insensitive": lambda: _sgd_fast.EpsilonInsensitive(epsilon),
        "squared_epsilon_insensitive": lambda: _sgd_fast.SquaredEpsilonInsensitive(epsilon),
    }
    if loss in sgd_objects:  # py_loss / py_dloss take (p, y)
        obj = sgd_objects[loss]()
        return obj.py_loss(p, y), obj.py_dloss(p, y)
    cy = {
        "log_loss": CyHalfBinomialLoss,
        "squared_error": CyHalfSquaredError,
        "huber": lambda: CyHuberLoss(epsilon),
    }[loss]()
    yt, raw = np.array([y], dtype=np.float64), np.array([p], dtype=np.float64)
    value, grad = np.empty(1), np.empty(1)
    cy.loss(yt, raw, None, value, 1)
    cy.gradient(yt, raw, None, grad, 1)
    return value[0], grad[0]


def ovr_objectives(est, X, y, sample_weight=None):
    """The objective of each one-vs-rest problem of a multiclass classifier
    (what each curve of ``loss_curve_`` tracks): row k of ``coef_`` as the
    binary model of class k against the rest."""
    settings = dict(
        loss=est.loss,
        penalty=est.penalty,
        alpha=est.alpha,
        l1_ratio=est.l1_ratio,
        epsilon=est.epsilon,
    )
    return np.array(
        [
            objective(
                est.coef_[k],
                X,
                y == label,
                intercept=est.intercept_[k],
                classes=[False, True],
                sample_weight=sample_weight,
                **settings,
            )
            for k, label in enumerate(est.classes_)
        ]
    )


def lbfgs_optimum(X, y, loss, alpha, sample_weight=None, **options):
    """scipy's L-BFGS from zero on fastsgd.objective with an L2 penalty, for a
    binary or regression loss differentiable everywhere (log_loss,
    squared_error): the gradient comes from np_dloss.  Returns scipy's result
    (``x`` is the weights, intercept last)."""
    n = X.shape[0]
    sw = np.ones(n) if sample_weight is None else sample_weight
    classes = None if loss in REGRESSION_LOSSES else np.unique(y)
    t = y if classes is None else np.where(y == classes[1], 1.0, -1.0)

    def value_and_gradient(theta):
        w, b = theta[:-1], theta[-1]
        value = objective(
            w,
            X,
            y,
            intercept=b,
            classes=classes,
            loss=loss,
            penalty="l2",
            alpha=alpha,
            sample_weight=sample_weight,
        )
        r = sw * np_dloss(loss, X @ w + b, t) / n
        return value, np.r_[X.T @ r + alpha * w, r.sum()]

    return minimize(
        value_and_gradient, np.zeros(X.shape[1] + 1), jac=True, method="L-BFGS-B", options=options
    )


# ----------------------------------------------------------------------
# the batch engine (docs/batch.md)
def cosine_cycle_exact(T0, mult, e):
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

# Paper defaults (docs/batch.md), used by the reference when rho /
# optimizer_epsilon are None and for learning_rate="optimal" with the
# adaptive optimizers.
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


# the losses' derivatives (their values are fastsgd._objective.pointwise_loss's,
# tested against scikit-learn's in test_objective.py)
def np_dloss(loss, p, y, epsilon=0.1):
    """d loss / d p (subgradient convention of scikit-learn at the kinks);
    y in {-1, +1} for the classification losses."""
    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if loss == "log_loss":
        return expit(p) - (y > 0)
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
        self.moment = None  # (trace, top eigenvalue) for "optimal"; fit sets it
        self._fitting = False

    # targets and class-weight factors
    def _targets(self, y):
        if not self.classifier:
            return y.astype(np.float64)[:, None], np.ones((len(y), 1))
        codes = np.searchsorted(self.classes, y)
        if self.multinomial:
            return codes, self.cw[codes]
        if self.K == 1:
            pos = codes == 1
            T = np.where(pos, 1.0, -1.0)[:, None]
            C = np.where(pos, self.cw[1], self.cw[0])[:, None]
            return T, C
        T = np.empty((len(y), self.K))
        C = np.empty((len(y), self.K))
        for k in range(self.K):
            pos = codes == k
            T[:, k] = np.where(pos, 1.0, -1.0)
            C[:, k] = np.where(pos, self.cw[k], 1.0)
        return T, C

    def _eta(self, u, e, n_b):
        p = self.p
        lr, eta0 = self.lr, self.eta0
        if lr in ("constant", "adaptive"):
            eta = eta0
        elif lr == "optimal":
            base, r, kappa_inv, sqrt_decay = self._optimal
            x = r * min(e, u * kappa_inv)
            eta = base / (math.sqrt(1.0 + x) if sqrt_decay else 1.0 + x)
        elif lr == "invscaling":
            eta = eta0 / u ** p["power_t"]
        elif lr == "step":
            eta = eta0 * p["lr_decay"] ** math.floor(e / p["lr_decay_epochs"])
        elif lr == "exponential":
            eta = eta0 * p["lr_decay"] ** (e / p["lr_decay_epochs"])
        elif lr == "cosine":
            T, Ti = cosine_cycle_exact(p["restart_epochs"], p["restart_mult"], e)
            eta = p["eta_min"] + (eta0 - p["eta_min"]) * (1 + math.cos(math.pi * T / Ti)) / 2
        else:
            raise ValueError(lr)
        w = p["warmup_epochs"]
        if w > 0:
            eta *= min(1.0, (e + 1.0 / n_b) / w)
        return eta

    def second_moment(self, X, sw):
        """docs/batch.md: trace and largest eigenvalue of mean(s x x') over the
        rows i * n // k, k = min(n, 1024), x with a 1 appended with an intercept."""
        X = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
        n = X.shape[0]
        k = min(n, 1024)
        rows = np.arange(k) * n // k
        A = X[rows].astype(np.float64)
        if self.p["fit_intercept"]:
            A = np.hstack([A, np.ones((k, 1))])
        M = (A * (sw[rows] / k)[:, None]).T @ A
        return np.trace(M), np.linalg.eigvalsh(M)[-1]

    def _set_optimal(self, n, m):
        """docs/batch.md "Defaults that converge": the base step, the variance
        share r, 1 / (kappa / 16) and the decay's form for n rows, batches of m."""
        p, opt = self.p, self.opt
        trace, top = self.moment
        r = (n - m) / (n - 1) if n > 1 else 0.0
        full = n * (m - 1) / (m * (n - 1)) if n > 1 else 1.0
        if self.multinomial:
            c = 0.5
        else:
            c = {"log_loss": 0.25, "squared_hinge": 2.0, "modified_huber": 2.0}.get(self.loss, 1.0)
            if self.loss == "squared_epsilon_insensitive":
                c = 2.0
        L = c * (full * top + r / m * trace) + self.l2
        kappa_inv = 16.0 * self.l2 / L if self.l2 > 0 else math.inf
        base = {
            "sgd": 0.5 / L,
            "momentum": 0.5 / L * (1 - p["momentum"]),
            "nesterov": 0.5 / L * (1 - p["momentum"]),
            "adagrad": 0.01 * math.sqrt(m),
            "adadelta": 1.0,
        }.get(opt, 0.001 * math.sqrt(m))
        self._optimal = (base, r, kappa_inv, opt in ("adagrad", "adadelta"))

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
            losses = (sb[:, None] * Cb * pointwise_loss(self.loss, P, Tb, self.eps_loss)).sum(
                axis=0
            )
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
        if self.lr == "optimal":
            if not self._fitting:
                self.moment = self.second_moment(X, sw)
            self._set_optimal(n, m_max)
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
        self.moment = self.second_moment(X, sw)  # over every row, validation rows too
        self._fitting = True
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
        self._fitting = False
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
