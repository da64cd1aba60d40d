"""How many OpenMP threads a fit uses."""

import os

from joblib import cpu_count

from . import _engine


def effective_n_threads(n_jobs=None, n_tasks=None):
    """Threads for a parallel region of the engine.

    ``n_jobs=None`` uses every available core: ``omp_get_max_threads()`` (which
    follows ``OMP_NUM_THREADS`` and threadpoolctl's limits), capped by the
    cores this process may use (cgroup quotas and affinity included) unless
    ``OMP_NUM_THREADS`` is set.  A negative ``n_jobs`` counts back from the
    number of cores (-1: all of them).  Never more than ``n_tasks`` and
    always 1 when the engine was built without OpenMP.
    """
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, -1 or a positive number.")
    if not _engine.openmp_enabled():
        return 1
    if n_jobs is None:
        n = _engine.omp_max_threads()
        if not os.getenv("OMP_NUM_THREADS"):
            n = min(n, cpu_count())
    elif n_jobs < 0:
        n = cpu_count() + 1 + n_jobs
    else:
        n = n_jobs
    if n_tasks is not None:
        n = min(n, n_tasks)
    return max(1, int(n))
