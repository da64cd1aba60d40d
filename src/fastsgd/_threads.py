"""How many OpenMP threads a fit uses, and the fork guard.

The count is capped by the CPUs this process may use: ``joblib.cpu_count()``
(affinity and cgroup CPU quotas) and ``omp_get_max_threads()`` (which follows
``OMP_NUM_THREADS`` and threadpoolctl's limits).  No ``n_jobs`` starts more
threads than that.

GNU OpenMP is not fork-safe: a child forked after the parent ran a parallel
region waits forever for the parent's worker threads when it opens one of its
own.  A fork handler marks such a child, and every fit in it runs on one
thread (a parallel region of one thread never touches the pool), with a
one-time warning.
"""

import os
import warnings

from joblib import cpu_count

from . import _engine

# Set when this process has asked the engine for more than one thread.
_parallel_used = False
# Set in a child forked after that: its OpenMP pool is unusable.
_forked_after_parallel = False
_fork_warned = False


def _after_fork_in_child():
    global _forked_after_parallel, _fork_warned
    if _parallel_used:
        _forked_after_parallel = True
        _fork_warned = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def usable_cpus():
    """CPUs a parallel region may use: affinity, cgroup quota and OpenMP's limit."""
    if not _engine.openmp_enabled():
        return 1
    return max(1, min(cpu_count(), _engine.omp_max_threads()))


def effective_n_threads(n_jobs=None, n_tasks=None):
    """Threads for a parallel region of the engine.

    ``n_jobs=None`` uses every usable CPU (see :func:`usable_cpus`); a
    negative ``n_jobs`` counts back from them (-1: all of them); a positive
    one is capped by them.  Never more than ``n_tasks``; always 1 when the
    engine was built without OpenMP, and in a process forked after this one
    had run a parallel fit.
    """
    global _parallel_used, _fork_warned
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, -1 or a positive number.")
    cap = usable_cpus()
    if n_jobs is None:
        n = cap
    elif n_jobs < 0:
        n = max(1, min(cap, cpu_count() + 1 + n_jobs))
    else:
        n = min(n_jobs, cap)
    if n_tasks is not None:
        n = min(n, n_tasks)
    n = max(1, int(n))
    if n > 1 and _forked_after_parallel:
        if not _fork_warned:
            _fork_warned = True
            warnings.warn(
                "fastsgd: this process was forked after its parent had run a parallel fit; "
                "the OpenMP runtime cannot start threads in it, so fits here run on one "
                "thread. Use the 'spawn' or 'forkserver' start method (or joblib's loky "
                "backend) to fit in parallel.",
                RuntimeWarning,
                stacklevel=3,
            )
        return 1
    if n > 1:
        _parallel_used = True
    return n
