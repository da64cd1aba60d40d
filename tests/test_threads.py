"""Thread counts: n_jobs is capped by the usable CPUs and follows OMP_NUM_THREADS
and threadpoolctl; a forked child fits on one thread instead of hanging."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from joblib import cpu_count
from threadpoolctl import threadpool_limits

import fastsgd
from fastsgd._threads import effective_n_threads, usable_cpus


def test_explicit_counts():
    cap = usable_cpus()
    assert cap == (
        min(cpu_count(), fastsgd._engine.omp_max_threads()) if fastsgd.openmp_enabled() else 1
    )
    assert effective_n_threads(3, n_tasks=8) == min(3, cap)
    assert effective_n_threads(5, n_tasks=2) <= 2
    assert effective_n_threads(-1, n_tasks=1000) == cap
    with pytest.raises(ValueError, match="n_jobs == 0"):
        effective_n_threads(0)


@pytest.mark.parametrize("n_jobs", [1000, 40_000, 100_000, 2**40, 2**70, -1, -(2**40)])
def test_huge_n_jobs_is_capped_by_usable_cpus(n_jobs):
    assert 1 <= effective_n_threads(n_jobs) <= usable_cpus()


@pytest.mark.parametrize("kwargs", [{}, {"batch_size": 64, "optimizer": "adam"}])
def test_fit_with_huge_n_jobs_equals_one_thread(kwargs):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3000, 8))
    y = np.arange(3000) % 4
    ref = fastsgd.SGDClassifier(n_jobs=1, random_state=0, max_iter=3, tol=None, **kwargs).fit(X, y)
    big = fastsgd.SGDClassifier(n_jobs=100_000, random_state=0, max_iter=3, tol=None, **kwargs).fit(
        X, y
    )
    np.testing.assert_array_equal(ref.coef_, big.coef_)


@pytest.mark.parametrize("n_jobs", [None, -1, 2])
def test_threadpoolctl_limit_is_respected(n_jobs):
    with threadpool_limits(1, user_api="openmp"):
        assert effective_n_threads(n_jobs, n_tasks=8) == 1


def test_omp_num_threads_is_respected():
    env = dict(os.environ, OMP_NUM_THREADS="1")
    code = "from fastsgd._threads import effective_n_threads; print(effective_n_threads(None, 8))"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "1"


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity (Linux)")
def test_cpu_affinity_is_respected():
    """A process allowed on one CPU (taskset, a container's cpuset) fits on
    one thread whatever n_jobs asks."""
    code = (
        "import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})\n"
        "from fastsgd._threads import effective_n_threads\n"
        "print(effective_n_threads(None, 8), effective_n_threads(-1, 8), effective_n_threads(8, 8))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "1", "1"]


FORK_SCRIPT = textwrap.dedent(
    """
    import multiprocessing as mp
    import os
    import warnings
    import numpy as np
    from fastsgd import SGDClassifier

    def fit(seed):
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((4000, 30))
        y = np.arange(4000) % 3
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            a = SGDClassifier(n_jobs=2, random_state=0, max_iter=2, tol=None).fit(X, y)
            b = SGDClassifier(batch_size=256, optimizer="adam", n_jobs=2, random_state=0,
                              max_iter=2, tol=None).fit(X, y)
        forked = sum("forked" in str(w.message) for w in caught)
        return a.coef_.tobytes() + b.coef_.tobytes(), forked, os.getpid()

    if __name__ == "__main__":
        parent = fit(0)  # starts the OpenMP thread pool in the parent
        with mp.get_context("fork").Pool(2) as pool:
            children = pool.map(fit, [0, 0])
        assert all(c[0] == parent[0] for c in children), "child fits differ from the parent's"
        # a busy machine may hand both calls to one child: count per process
        per_child = {}
        for _, n, pid in children:
            per_child[pid] = per_child.get(pid, 0) + n
        print("warnings per child:", sorted(set(per_child.values())))
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_fork_after_parallel_fit_does_not_hang(tmp_path):
    script = tmp_path / "fork_pool.py"
    script.write_text(FORK_SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    if fastsgd.openmp_enabled() and usable_cpus() > 1:
        # one warning per child process, not one per fit
        assert "warnings per child: [1]" in proc.stdout, proc.stdout


def test_threadpoolctl_sees_and_limits_the_engines_openmp_runtime():
    from threadpoolctl import threadpool_info

    if not fastsgd.openmp_enabled():
        pytest.skip("built without OpenMP: nothing to limit")
    assert any(info["user_api"] == "openmp" for info in threadpool_info())
    before = fastsgd._engine.omp_max_threads()
    with threadpool_limits(1, user_api="openmp"):
        # the runtime the engine's parallel regions use follows the limit
        assert fastsgd._engine.omp_max_threads() == 1
        for n_jobs in (None, -1, 2, 100):
            assert effective_n_threads(n_jobs, n_tasks=8) == 1
    assert fastsgd._engine.omp_max_threads() == before
