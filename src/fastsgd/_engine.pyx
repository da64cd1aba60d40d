"""Bridge between the Python estimators and the C engine (csrc/).

Python has validated every argument before it gets here: this module only
takes typed memoryviews, fills the C structs and runs the fit without the GIL.
The GIL is taken back only by the progress callback (verbose output), by the
interrupt poll (Ctrl-C, a few times a second on the calling thread) and by a
data source's window callback (``source=``), which asks the Python source
object for the next window of rows.
"""
from cpython.exc cimport PyErr_CheckSignals
from cpython.ref cimport PyObject
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free
from cython cimport floating

import threading

import numpy as np


cdef extern from "fastsgd.h" nogil:
    ctypedef struct fsgd_data

    ctypedef int (*fsgd_window_fn)(void *ctx, int problem, int pass_,
                                   fsgd_data *window) noexcept

    ctypedef struct fsgd_source:
        fsgd_window_fn next
        void *ctx
        int64_t n_train
        double validation_ybar
        double row_values
        int weighted

    ctypedef struct fsgd_data:
        int64_t n_samples
        int64_t n_features
        int is_float32
        int is_csr
        const void *X
        const int64_t *indptr
        const int32_t *indices
        const double *y
        const int32_t *y_code
        const double *sample_weight
        const uint8_t *validation_mask
        const fsgd_source *source

    ctypedef int (*fsgd_poll_fn)(void *ctx) noexcept

    ctypedef struct fsgd_interrupt:
        fsgd_poll_fn poll
        void *ctx
        double interval
        double next_poll
        int countdown
        int stop

    ctypedef struct fsgd_params:
        int loss
        double loss_param
        int label_01
        int penalty
        double alpha
        double l1_ratio
        int learning_rate
        double eta0
        double power_t
        int fit_intercept
        double intercept_decay
        int64_t average
        int max_iter
        double tol
        int n_iter_no_change
        int early_stopping
        int score_kind
        int order
        double t_start
        int n_shards
        int one_class
        fsgd_interrupt *interrupt

    ctypedef struct fsgd_problem:
        void *coef
        void *avg_coef
        double intercept
        double avg_intercept
        int32_t positive_class
        double weight_pos
        double weight_neg
        uint32_t seed
        int n_iter
        int status
        int failed_epoch
        double *loss_curve
        int loss_curve_cap

    ctypedef struct fsgd_epoch_info:
        int problem
        int epoch
        double objective
        double score
        double norm
        int64_t nnz
        double intercept
        double t
        double seconds

    ctypedef int (*fsgd_progress_fn)(void *ctx, const fsgd_epoch_info *info) noexcept

    ctypedef struct fsgd_batch_params:
        int64_t batch_size
        int optimizer
        double momentum, beta_1, beta_2, rho, epsilon
        double clip_norm
        int multinomial
        double lr_decay, lr_decay_epochs
        double restart_epochs, restart_mult, eta_min
        double warmup_epochs
        double row_sq_norm, row_top_eig

    ctypedef struct fsgd_batch_state:
        double *slots
        double n_updates
        double epochs
        double n_averaged

    int fsgd_optimizer_slots(int optimizer)
    int fsgd_fit_batch(const fsgd_data *data, const fsgd_params *params,
                       const fsgd_batch_params *bp, fsgd_problem *problems, int n_problems,
                       fsgd_batch_state *state, int n_threads,
                       fsgd_progress_fn progress, void *progress_ctx)
    int fsgd_fit(const fsgd_data *data, const fsgd_params *params,
                 fsgd_problem *problems, int n_problems, int n_threads,
                 fsgd_progress_fn progress, void *progress_ctx)
    double fsgd_loss_value(int loss, double param, double y, double p)
    double fsgd_loss_dloss(int loss, double param, double y, double p)
    double fsgd_loss_step(int loss, double param, double y, double p, double *value)
    double fsgd_exp_tab(double x)
    void fsgd_cosine_cycle(double T0, double mult, double e, double *T, double *Ti)
    int fsgd_openmp_enabled()
    int fsgd_max_threads()
    const char *fsgd_kernels_name()


cdef extern from "fastsgd.h" nogil:
    # every code is defined once, in csrc/fastsgd.h; Python reads them from here
    enum:
        FSGD_LOSS_HINGE, FSGD_LOSS_SQUARED_HINGE, FSGD_LOSS_LOG, FSGD_LOSS_MODIFIED_HUBER,
        FSGD_LOSS_SQUARED, FSGD_LOSS_HUBER, FSGD_LOSS_EPS_INSENSITIVE,
        FSGD_LOSS_SQ_EPS_INSENSITIVE, FSGD_LOSS_SOFTMAX
        FSGD_PEN_NONE, FSGD_PEN_L1, FSGD_PEN_L2, FSGD_PEN_ELASTICNET
        FSGD_LR_CONSTANT, FSGD_LR_OPTIMAL, FSGD_LR_INVSCALING, FSGD_LR_ADAPTIVE, FSGD_LR_PA1,
        FSGD_LR_PA2, FSGD_LR_STEP, FSGD_LR_EXPONENTIAL, FSGD_LR_COSINE
        FSGD_OPT_SGD, FSGD_OPT_MOMENTUM, FSGD_OPT_NESTEROV, FSGD_OPT_ADAGRAD, FSGD_OPT_RMSPROP,
        FSGD_OPT_ADADELTA, FSGD_OPT_ADAM, FSGD_OPT_ADAMW
        FSGD_ORDER_SEQUENTIAL, FSGD_ORDER_BLOCK, FSGD_ORDER_PERMUTATION
        FSGD_SCORE_ACCURACY, FSGD_SCORE_R2
        FSGD_OK, FSGD_DIVERGED, FSGD_NO_MEMORY, FSGD_INTERRUPTED, FSGD_INVALID_ARGUMENT
        FSGD_SOURCE_ERROR
        FSGD_PASS_TRAIN, FSGD_PASS_VALIDATION
    const char *fsgd_check_args(const fsgd_data *data, const fsgd_params *params,
                                const fsgd_batch_params *bp, int n_problems)


LOSS = dict(hinge=FSGD_LOSS_HINGE, squared_hinge=FSGD_LOSS_SQUARED_HINGE, log=FSGD_LOSS_LOG,
            modified_huber=FSGD_LOSS_MODIFIED_HUBER, squared=FSGD_LOSS_SQUARED,
            huber=FSGD_LOSS_HUBER, epsilon_insensitive=FSGD_LOSS_EPS_INSENSITIVE,
            squared_epsilon_insensitive=FSGD_LOSS_SQ_EPS_INSENSITIVE, softmax=FSGD_LOSS_SOFTMAX)
PENALTY = dict(none=FSGD_PEN_NONE, l1=FSGD_PEN_L1, l2=FSGD_PEN_L2, elasticnet=FSGD_PEN_ELASTICNET)
LEARNING_RATE = dict(constant=FSGD_LR_CONSTANT, optimal=FSGD_LR_OPTIMAL,
                     invscaling=FSGD_LR_INVSCALING, adaptive=FSGD_LR_ADAPTIVE, pa1=FSGD_LR_PA1,
                     pa2=FSGD_LR_PA2, step=FSGD_LR_STEP, exponential=FSGD_LR_EXPONENTIAL,
                     cosine=FSGD_LR_COSINE)
OPTIMIZER = dict(sgd=FSGD_OPT_SGD, momentum=FSGD_OPT_MOMENTUM, nesterov=FSGD_OPT_NESTEROV,
                 adagrad=FSGD_OPT_ADAGRAD, rmsprop=FSGD_OPT_RMSPROP, adadelta=FSGD_OPT_ADADELTA,
                 adam=FSGD_OPT_ADAM, adamw=FSGD_OPT_ADAMW)
ORDER = dict(sequential=FSGD_ORDER_SEQUENTIAL, block=FSGD_ORDER_BLOCK,
             permutation=FSGD_ORDER_PERMUTATION)
SCORE = dict(accuracy=FSGD_SCORE_ACCURACY, r2=FSGD_SCORE_R2)
STATUS_OK = FSGD_OK
STATUS_DIVERGED = FSGD_DIVERGED
STATUS_NO_MEMORY = FSGD_NO_MEMORY
STATUS_INTERRUPTED = FSGD_INTERRUPTED
STATUS_INVALID_ARGUMENT = FSGD_INVALID_ARGUMENT
STATUS_SOURCE_ERROR = FSGD_SOURCE_ERROR
PASS_TRAIN = FSGD_PASS_TRAIN
PASS_VALIDATION = FSGD_PASS_VALIDATION


cdef class _Progress:
    """The epoch callback's Python side: the verbose printer (or None) and any
    exception raised there or by a signal handler."""
    cdef object func
    cdef public object error

    def __init__(self, func):
        self.func = func
        self.error = None


cdef int _interrupt_cb(void *ctx) noexcept nogil:
    """The interrupt poll (fsgd_interrupt.poll), on the thread that called
    the fit, the main thread: runs Python's signal handlers, so that Ctrl-C
    stops a fit within an epoch.  Nonzero (the exception kept in the
    _Progress, re-raised by fit) stops the fit."""
    with gil:
        prog = <_Progress><PyObject *>ctx
        if prog.error is not None:
            return 1
        try:
            PyErr_CheckSignals()
        except BaseException as exc:  # KeyboardInterrupt included: re-raised by fit
            prog.error = exc
            return 1
    return 0


cdef int _progress_cb(void *ctx, const fsgd_epoch_info *info) noexcept nogil:
    """Called by the driver after every epoch: the interrupt poll (so a fit
    from any thread stops at the end of an epoch at the latest), then the
    verbose printer.  Nonzero stops the fit."""
    if _interrupt_cb(ctx):
        return 1
    with gil:
        prog = <_Progress><PyObject *>ctx
        if prog.func is None:
            return 0
        try:
            prog.func(dict(problem=info.problem, epoch=info.epoch,
                           objective=info.objective, score=info.score,
                           norm=info.norm, nnz=info.nnz, intercept=info.intercept,
                           t=info.t, seconds=info.seconds))
        except BaseException as exc:
            prog.error = exc
            return 1
    return 0


# Seconds between two polls for Ctrl-C inside an epoch.
_INTERRUPT_INTERVAL = 0.05


cdef class _Windows:
    """The Python side of a data source (fsgd_source): ``source.next_window(
    problem, pass_)`` returns the next window of a pass (an object with X, y
    or y_code, sample_weight and validation_mask) or None when the pass is
    over.  Keeps each problem's current window alive while C reads it, and
    the first exception the source raised (re-raised by fit)."""
    cdef object source
    cdef public object error
    cdef dict current
    cdef int64_t n_features
    cdef bint f32, csr, regression

    def __init__(self, source, n_features, f32, csr, regression):
        self.source = source
        self.error = None
        self.current = {}
        self.n_features = n_features
        self.f32 = f32
        self.csr = csr
        self.regression = regression

    cdef int fill(self, int problem, object w, fsgd_data *win) except -1:
        """Points *win at the arrays of window w, after checking them."""
        cdef const int64_t[::1] ip
        cdef const int32_t[::1] ix
        cdef const double[::1] y_mv
        cdef const int32_t[::1] yc_mv
        cdef const double[::1] sw_mv
        cdef const uint8_t[::1] mask_mv
        X = w.X
        if self.csr:
            n = X.shape[0]
            if X.shape[1] != self.n_features or X.dtype != (np.float32 if self.f32 else np.float64):
                raise ValueError("a window of the wrong shape or dtype")
            ip = X.indptr
            ix = X.indices
            if ip[0] != 0:
                raise ValueError("a window's CSR indptr does not start at 0")
            check_csr(ix, ip, self.n_features)
            win.indptr = &ip[0]
            win.indices = &ix[0] if ix.shape[0] > 0 else &_no_indices[0]
            if X.data.shape[0] == 0:
                win.X = <const void *>&_no_values[0]
            elif self.f32:
                win.X = _ptr1[float](X.data)
            else:
                win.X = _ptr1[double](X.data)
        else:
            n = X.shape[0]
            if X.ndim != 2 or X.shape[1] != self.n_features or n == 0:
                raise ValueError("a window of the wrong shape")
            win.indptr = NULL
            win.indices = NULL
            win.X = _ptr2[float](X) if self.f32 else _ptr2[double](X)
        win.n_samples = n
        win.n_features = self.n_features
        win.is_float32 = self.f32
        win.is_csr = self.csr
        win.y = NULL
        win.y_code = NULL
        win.sample_weight = NULL
        win.validation_mask = NULL
        win.source = NULL
        target = w.y if self.regression else w.y_code
        if target is None or target.shape[0] != n:
            raise ValueError("a window without one target per row")
        if self.regression:
            y_mv = target
            win.y = &y_mv[0]
        else:
            yc_mv = target
            win.y_code = &yc_mv[0]
        if w.sample_weight is not None:
            if w.sample_weight.shape[0] != n:
                raise ValueError("a window's sample_weight does not match its rows")
            sw_mv = w.sample_weight
            win.sample_weight = &sw_mv[0]
        if w.validation_mask is not None:
            if w.validation_mask.shape[0] != n:
                raise ValueError("a window's validation_mask does not match its rows")
            mask_mv = w.validation_mask
            win.validation_mask = &mask_mv[0]
        self.current[problem] = w
        return 0


cdef int _window_cb(void *ctx, int problem, int pass_, fsgd_data *win) noexcept nogil:
    """fsgd_source.next: the next window of the pass from the Python source
    (1), the end of the pass (0), or -1 after an exception (kept, re-raised
    by fit; Ctrl-C included, so an interrupt stops a fit between windows)."""
    with gil:
        src = <_Windows><PyObject *>ctx
        if src.error is not None:
            return -1
        try:
            PyErr_CheckSignals()
            w = src.source.next_window(problem, pass_)
            if w is None:
                src.current.pop(problem, None)
                return 0
            src.fill(problem, w, win)
            return 1
        except BaseException as exc:
            src.error = exc
            return -1


cdef int _check_args(const fsgd_data *data, const fsgd_params *prm, const fsgd_batch_params *bp,
                     Py_ssize_t K) except -1:
    """ValueError naming the first argument the engine rejects (fsgd_check_args)."""
    cdef const char *why = fsgd_check_args(data, prm, bp, <int>K)
    if why != NULL:
        raise ValueError("fastsgd engine: invalid argument: " + why.decode())
    return 0


cdef const void *_ptr2(const floating[:, ::1] a):
    return <const void *>&a[0, 0]


cdef const void *_ptr1(const floating[::1] a):
    return <const void *>&a[0]


cdef void *_wptr2(floating[:, ::1] a):
    return <void *>&a[0, 0]


# what an empty CSR matrix's data and indices point to
cdef double _no_values[1]
cdef int32_t _no_indices[1]


ctypedef fused index_t:
    int32_t
    int64_t


cdef int64_t _first_bad_index(const index_t *indices, int64_t nnz,
                              int64_t n_features) noexcept nogil:
    """Position of the first index outside [0, n_features), or -1.  Blocks
    of 4096 are scanned with a branch-free OR of unsigned comparisons (a
    negative index is a huge unsigned one), which the compiler vectorises;
    only a block that fails is searched for the position."""
    cdef int64_t start, end, i
    cdef uint64_t limit = <uint64_t>n_features
    cdef uint32_t limit32 = <uint32_t>4294967295
    cdef uint32_t bad32
    cdef uint64_t bad
    if n_features < <int64_t>4294967295:
        limit32 = <uint32_t>n_features
    start = 0
    while start < nnz:
        end = start + 4096 if start + 4096 < nnz else nnz
        bad = 0
        if index_t is int32_t:
            # in 32-bit lanes: a negative index is a huge unsigned one
            bad32 = 0
            for i in range(start, end):
                bad32 |= <uint32_t>indices[i] >= limit32
            bad = bad32
        else:
            for i in range(start, end):
                bad |= <uint64_t>indices[i] >= limit
        if bad:
            for i in range(start, end):
                if <uint64_t><int64_t>indices[i] >= limit:
                    return i
        start = end
    return -1


def check_csr(const index_t[::1] indices, const int64_t[::1] indptr, int64_t n_features):
    """Raise ValueError unless indptr and indices describe a valid CSR structure.

    indptr must start at 0, never decrease and end within indices; every
    column index must lie in [0, n_features).  One pass over the stored
    entries, without the GIL: the engine indexes the weights with these
    values, so a bad one would read and write out of bounds.
    """
    cdef Py_ssize_t n = indptr.shape[0] - 1
    cdef Py_ssize_t i
    cdef int64_t nnz, bad_row = -1, bad_pos = -1
    if n < 0 or indptr[0] != 0:
        raise ValueError("Invalid CSR matrix: indptr must start with 0.")
    nnz = indptr[n]
    if nnz > indices.shape[0]:
        raise ValueError("Invalid CSR matrix: indptr does not match data and indices "
                         "(indptr[-1] = %d, %d stored indices)." % (nnz, indices.shape[0]))
    with nogil:
        for i in range(n):
            if indptr[i + 1] < indptr[i]:
                bad_row = i
                break
        if bad_row < 0:
            bad_pos = _first_bad_index(&indices[0] if nnz > 0 else NULL, nnz, n_features)
    if bad_row >= 0:
        raise ValueError("Invalid CSR matrix: indptr decreases at row %d." % bad_row)
    if bad_pos >= 0:
        raise ValueError("Invalid CSR matrix: column index %d at position %d is outside [0, %d)."
                         % (indices[bad_pos], bad_pos, n_features))


cdef int _fill_params(dict params, fsgd_params *prm) except -1:
    """fsgd_params from the dict _sgd.py builds (the names of its fields)."""
    prm.loss = params["loss"]
    prm.loss_param = params["loss_param"]
    prm.label_01 = params["label_01"]
    prm.penalty = params["penalty"]
    prm.alpha = params["alpha"]
    prm.l1_ratio = params["l1_ratio"]
    prm.learning_rate = params["learning_rate"]
    prm.eta0 = params["eta0"]
    prm.power_t = params["power_t"]
    prm.fit_intercept = params["fit_intercept"]
    prm.intercept_decay = params["intercept_decay"]
    prm.average = params["average"]
    prm.max_iter = params["max_iter"]
    prm.tol = params["tol"]
    prm.n_iter_no_change = params["n_iter_no_change"]
    prm.early_stopping = params["early_stopping"]
    prm.score_kind = params["score_kind"]
    prm.order = params["order"]
    prm.t_start = params["t_start"]
    prm.n_shards = params.get("n_shards", 1)
    prm.one_class = params.get("one_class", 0)
    prm.interrupt = NULL
    return 0


cdef object _take_curves(fsgd_problem *problems, Py_ssize_t K):
    """The first K problems' loss curves as a (K, epochs) array, NaN past a
    problem's own epochs (the longest fit sets the width).  Each curve starts
    empty (calloc'd problems: NULL, capacity 0) and the driver grows it as
    epochs run (fsgd_problem.loss_curve), so it costs the epochs, not
    max_iter."""
    cdef Py_ssize_t k, i, width = 0
    for k in range(K):
        width = max(width, min(problems[k].n_iter, problems[k].loss_curve_cap))
    out = np.full((K, width), np.nan)
    cdef double[:, ::1] o = out
    for k in range(K):
        for i in range(min(problems[k].n_iter, problems[k].loss_curve_cap)):
            o[k, i] = problems[k].loss_curve[i]
    return out


cdef void _free_curves(fsgd_problem *problems, Py_ssize_t K) noexcept:
    for k in range(K):
        free(problems[k].loss_curve)
        problems[k].loss_curve = NULL


def fit(X, const int32_t[::1] indices, const int64_t[::1] indptr,
        y, y_code, sample_weight, validation_mask,
        coef, avg_coef,
        double[::1] intercept, double[::1] avg_intercept,
        const int32_t[::1] positive_class,
        const double[::1] weight_pos, const double[::1] weight_neg,
        const uint32_t[::1] seeds,
        int32_t[::1] n_iter, int32_t[::1] status, int32_t[::1] failed_epoch,
        dict params, int n_threads, progress=None,
        dict batch_params=None, double[::1] slots=None, double[::1] counters=None,
        source=None):
    """Fit K binary problems; coef (K x n_features, X's dtype) is updated in
    place.  Returns the status and the loss curves (K x epochs, NaN past a
    problem's own epochs).

    X is a C-contiguous 2-D array (dense) or the 1-D ``data`` of a CSR matrix
    whose ``indices`` (int32) and ``indptr`` (int64) are given.

    With ``batch_params`` the batch engine runs (docs/batch.md): ``slots``
    holds the optimizer state (optimizer_slots(optimizer) x K x
    (n_features + 1)) and ``counters`` [n_updates, epochs, n_averaged]; both
    are updated in place.

    With ``source`` (fastsgd._stream) the rows come from the source a window
    at a time: X is then an empty array of the windows' dtype (CSR: its
    ``data``), y, y_code, sample_weight and validation_mask are None, and
    the source gives the row counts.
    """
    cdef fsgd_batch_params bp
    cdef fsgd_source src
    cdef _Windows windows = None
    cdef fsgd_batch_state bst
    cdef fsgd_data data
    cdef fsgd_params prm
    cdef const double[::1] y_mv
    cdef const int32_t[::1] yc_mv
    cdef const double[::1] sw_mv
    cdef const uint8_t[::1] mask_mv
    cdef Py_ssize_t K = coef.shape[0]
    cdef Py_ssize_t k
    cdef int ret
    cdef fsgd_problem *problems = NULL
    cdef _Progress prog = None
    cdef void *ctx = NULL
    cdef fsgd_progress_fn cb = NULL
    cdef fsgd_interrupt intr
    cdef bint f32 = X.dtype == np.float32

    data.is_float32 = f32
    data.is_csr = X.ndim == 1
    data.source = NULL
    if source is not None:
        windows = _Windows(source, coef.shape[1], f32, data.is_csr, source.regression)
        src.next = _window_cb
        src.ctx = <void *>windows
        src.n_train = source.n_train
        src.validation_ybar = source.validation_ybar
        src.row_values = source.row_values
        src.weighted = source.weighted
        data.source = &src
        data.n_samples = source.n_rows
        data.n_features = coef.shape[1]
        data.X = NULL
        data.indptr = NULL
        data.indices = NULL
    elif data.is_csr:
        data.n_samples = indptr.shape[0] - 1
        data.n_features = coef.shape[1]
        data.indptr = &indptr[0]
        # no stored values: valid pointers all the same (NULL + 0 is undefined in C)
        data.indices = &indices[0] if indices.shape[0] > 0 else &_no_indices[0]
        if X.shape[0] == 0:
            data.X = <const void *>&_no_values[0]
        elif f32:
            data.X = _ptr1[float](X)
        else:
            data.X = _ptr1[double](X)
    else:
        data.n_samples = X.shape[0]
        data.n_features = X.shape[1]
        data.indptr = NULL
        data.indices = NULL
        data.X = _ptr2[float](X) if f32 else _ptr2[double](X)
    # the engine trusts these sizes (_sgd.py builds every array): check them
    # here, once, so that a wrong call fails with an error instead of reading
    # or writing out of bounds
    n = data.n_samples
    for name, arr in (("y", y), ("y_code", y_code), ("sample_weight", sample_weight),
                      ("validation_mask", validation_mask)):
        if arr is not None and (arr.shape[0] != n or source is not None):
            raise ValueError("%s has %d entries for %d samples" % (name, arr.shape[0], n))
    if y is None and y_code is None and source is None:
        raise ValueError("one of y and y_code is needed")
    for name, arr in (("intercept", intercept), ("avg_intercept", avg_intercept),
                      ("positive_class", positive_class), ("weight_pos", weight_pos),
                      ("weight_neg", weight_neg), ("seeds", seeds), ("n_iter", n_iter),
                      ("status", status), ("failed_epoch", failed_epoch)):
        if arr.shape[0] < K:
            raise ValueError("%s has %d entries for %d problems" % (name, arr.shape[0], K))
    if coef.shape[1] != data.n_features or (avg_coef is not None and avg_coef.shape != coef.shape):
        raise ValueError("coef of shape %r for %d features" % (coef.shape, data.n_features))
    if data.is_csr and source is None:
        if X.shape[0] < indices.shape[0]:
            raise ValueError("indptr does not match data and indices")
        check_csr(indices, indptr, data.n_features)

    data.y = NULL
    data.y_code = NULL
    data.sample_weight = NULL
    data.validation_mask = NULL
    if y is not None:
        y_mv = y
        data.y = &y_mv[0]
    if y_code is not None:
        yc_mv = y_code
        data.y_code = &yc_mv[0]
    if sample_weight is not None:
        sw_mv = sample_weight
        data.sample_weight = &sw_mv[0]
    if validation_mask is not None:
        mask_mv = validation_mask
        data.validation_mask = &mask_mv[0]

    _fill_params(params, &prm)

    problems = <fsgd_problem *>calloc(K, sizeof(fsgd_problem))
    if problems == NULL:
        raise MemoryError()
    try:
        for k in range(K):
            problems[k].avg_coef = NULL
            if f32:
                problems[k].coef = _wptr2[float](coef[k:k + 1])
                if avg_coef is not None:
                    problems[k].avg_coef = _wptr2[float](avg_coef[k:k + 1])
            else:
                problems[k].coef = _wptr2[double](coef[k:k + 1])
                if avg_coef is not None:
                    problems[k].avg_coef = _wptr2[double](avg_coef[k:k + 1])
            problems[k].intercept = intercept[k]
            problems[k].avg_intercept = avg_intercept[k]
            problems[k].positive_class = positive_class[k]
            problems[k].weight_pos = weight_pos[k]
            problems[k].weight_neg = weight_neg[k]
            problems[k].seed = seeds[k]
        prog = _Progress(progress)
        ctx = <void *>prog
        cb = _progress_cb
        # Python runs signal handlers on the main thread only: a fit called
        # from another thread is interrupted between epochs, as before
        intr.poll = NULL
        if threading.current_thread() is threading.main_thread():
            intr.poll = _interrupt_cb
        intr.ctx = ctx
        intr.interval = _INTERRUPT_INTERVAL
        intr.next_poll = 0.0
        intr.countdown = 0
        intr.stop = 0
        prm.interrupt = &intr
        if batch_params is None:
            _check_args(&data, &prm, NULL, K)
            with nogil:
                ret = fsgd_fit(&data, &prm, problems, <int>K, n_threads, cb, ctx)
        else:
            bp.batch_size = batch_params["batch_size"]
            bp.optimizer = batch_params["optimizer"]
            bp.momentum = batch_params["momentum"]
            bp.beta_1 = batch_params["beta_1"]
            bp.beta_2 = batch_params["beta_2"]
            bp.rho = batch_params["rho"]
            bp.epsilon = batch_params["epsilon"]
            bp.clip_norm = batch_params["clip_norm"]
            bp.multinomial = batch_params["multinomial"]
            bp.lr_decay = batch_params["lr_decay"]
            bp.lr_decay_epochs = batch_params["lr_decay_epochs"]
            bp.restart_epochs = batch_params["restart_epochs"]
            bp.restart_mult = batch_params["restart_mult"]
            bp.eta_min = batch_params["eta_min"]
            bp.warmup_epochs = batch_params["warmup_epochs"]
            bp.row_sq_norm = batch_params["row_sq_norm"]
            bp.row_top_eig = batch_params["row_top_eig"]
            n_slots = fsgd_optimizer_slots(bp.optimizer)
            if slots.shape[0] != n_slots * K * (coef.shape[1] + 1) or counters.shape[0] != 3:
                raise ValueError("optimizer state of the wrong size")
            _check_args(&data, &prm, &bp, K)
            bst.slots = &slots[0] if slots.shape[0] > 0 else NULL
            bst.n_updates = counters[0]
            bst.epochs = counters[1]
            bst.n_averaged = counters[2]
            with nogil:
                ret = fsgd_fit_batch(&data, &prm, &bp, problems, <int>K, &bst, n_threads, cb, ctx)
            counters[0] = bst.n_updates
            counters[1] = bst.epochs
            counters[2] = bst.n_averaged
        for k in range(K):
            intercept[k] = problems[k].intercept
            avg_intercept[k] = problems[k].avg_intercept
            n_iter[k] = problems[k].n_iter
            status[k] = problems[k].status
            failed_epoch[k] = problems[k].failed_epoch
        curves = _take_curves(problems, K)
    finally:
        _free_curves(problems, K)
        free(problems)
    if prog is not None and prog.error is not None:
        raise prog.error
    if windows is not None and windows.error is not None:
        raise windows.error
    return ret, curves


def optimizer_slots(int optimizer):
    """How many state values per coordinate the optimizer keeps."""
    return fsgd_optimizer_slots(optimizer)


def loss_value(int loss, double param, double y, double p):
    """Loss of prediction p against target y (the C engine's own function)."""
    return fsgd_loss_value(loss, param, y, p)


def loss_dloss(int loss, double param, double y, double p):
    """Derivative of the loss with respect to p (the C engine's own function)."""
    return fsgd_loss_dloss(loss, param, y, p)


def loss_step(int loss, double param, double y, double p):
    """(loss, dloss) as the per-sample loop computes them for one row."""
    cdef double value = 0.0
    cdef double dloss = fsgd_loss_step(loss, param, y, p, &value)
    return value, dloss


def exp_tab(double x):
    """The engines' exponential (table-driven, about 1.5 ulp), as both engines use it."""
    return fsgd_exp_tab(x)


def cosine_cycle(double T0, double mult, double e):
    """(T, Ti): epoch time e into its cosine cycle, and that cycle's length."""
    cdef double T = 0.0, Ti = 0.0
    fsgd_cosine_cycle(T0, mult, e, &T, &Ti)
    return T, Ti


def openmp_enabled():
    """Whether the compiled engine was built with OpenMP."""
    return bool(fsgd_openmp_enabled())


def omp_max_threads():
    """omp_get_max_threads() of the engine's OpenMP runtime (1 without OpenMP)."""
    return fsgd_max_threads()


def kernels_name():
    """Which build of the epoch loops this CPU runs: "x86-64-v4", "x86-64-v3" or "baseline"."""
    return fsgd_kernels_name().decode()


# ---- the driver with its steps in Python (fits whose epochs run elsewhere:
# fastsgd._dask runs each epoch as tasks on a Dask cluster) ----

cdef extern from "fit_control.h" nogil:
    ctypedef struct fsgd_engine_ops:
        int (*run_epoch)(void *self, double *objective_sum) noexcept
        int (*score)(void *self, double *score) noexcept
        void (*describe)(void *self, int k, fsgd_epoch_info *info) noexcept

    ctypedef struct fsgd_drive_state:
        int n_outputs
        int one_rule
        int report_index
        double n_train
        uint8_t *active
        double *step_scale
        const double *eta_last

    int fsgd_drive(const fsgd_params *P, fsgd_drive_state *ds, const fsgd_engine_ops *ops,
                   void *self, fsgd_problem *probs, fsgd_progress_fn progress,
                   void *progress_ctx)


cdef class _Steps:
    """The Python side of a driven fit: ``steps.run_epoch()`` returns the
    epoch's objective sum of each output; ``steps.score()`` the validation
    score of each rule; ``steps.describe(k)`` (norm, nnz, intercept, t) of
    rule k.  Keeps the first exception they raise (re-raised by drive)."""
    cdef object steps
    cdef public object error

    def __init__(self, steps):
        self.steps = steps
        self.error = None


cdef int _steps_epoch(void *self, double *objective_sum) noexcept with gil:
    cdef _Steps s = <_Steps><PyObject *>self
    try:
        sums = s.steps.run_epoch()
        diverged = sums is None
        if not diverged:
            for k, v in enumerate(sums):
                objective_sum[k] += v
        return FSGD_DIVERGED if diverged else FSGD_OK
    except BaseException as exc:
        s.error = exc
        return FSGD_SOURCE_ERROR


cdef int _steps_score(void *self, double *score) noexcept with gil:
    cdef _Steps s = <_Steps><PyObject *>self
    try:
        for r, v in enumerate(s.steps.score()):
            score[r] = v
        return FSGD_OK
    except BaseException as exc:
        s.error = exc
        return FSGD_SOURCE_ERROR


cdef void _steps_describe(void *self, int k, fsgd_epoch_info *info) noexcept with gil:
    cdef _Steps s = <_Steps><PyObject *>self
    try:
        info.norm, info.nnz, info.intercept, info.t = s.steps.describe(k)
    except BaseException as exc:
        if s.error is None:
            s.error = exc


def drive(steps, dict params, int n_outputs, bint one_rule, double n_train,
          uint8_t[::1] active, double[::1] step_scale, const double[::1] eta_last,
          int32_t[::1] n_iter, int32_t[::1] status,
          int32_t[::1] failed_epoch, progress=None):
    """Run the C driver (csrc/fit_control.c) over epochs that ``steps`` runs:
    the same stopping rule, adaptive schedule, divergence test, report and
    interruption as every other fit.  ``active``, ``step_scale`` and
    ``eta_last`` (one entry per output) are shared with ``steps``: the driver
    clears an output's ``active`` when it stops and divides its
    ``step_scale`` by 5 (learning_rate="adaptive"); ``steps`` sets
    ``eta_last``.  Fills n_iter, status and failed_epoch (per output);
    returns the status and the loss curves (rules x epochs)."""
    cdef fsgd_params prm
    cdef fsgd_drive_state ds
    cdef fsgd_engine_ops ops
    cdef fsgd_problem *problems = NULL
    cdef _Steps st = _Steps(steps)
    cdef _Progress prog = _Progress(progress)
    cdef int K = n_outputs, k, ret
    if active.shape[0] != K or step_scale.shape[0] != K or eta_last.shape[0] != K:
        raise ValueError("driver arrays of the wrong size")
    _fill_params(params, &prm)
    ds.n_outputs = K
    ds.one_rule = one_rule
    ds.report_index = 0
    ds.n_train = n_train
    ds.active = &active[0]
    ds.step_scale = &step_scale[0]
    ds.eta_last = &eta_last[0]
    ops.run_epoch = _steps_epoch
    ops.score = _steps_score
    ops.describe = _steps_describe
    problems = <fsgd_problem *>calloc(K, sizeof(fsgd_problem))
    if problems == NULL:
        raise MemoryError()
    try:
        ret = fsgd_drive(&prm, &ds, &ops, <void *>st, problems, _progress_cb, <void *>prog)
        for k in range(K):
            n_iter[k] = problems[k].n_iter
            status[k] = problems[k].status
            failed_epoch[k] = problems[k].failed_epoch
        curves = _take_curves(problems, 1 if one_rule else K)
    finally:
        _free_curves(problems, K)
        free(problems)
    if prog.error is not None:
        raise prog.error
    if st.error is not None:
        raise st.error
    return ret, curves
