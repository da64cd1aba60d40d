"""The thread count of n_jobs=None follows OMP_NUM_THREADS and threadpoolctl."""

import os
import subprocess
import sys

import pytest
from threadpoolctl import threadpool_limits

import fastsgd
from fastsgd._threads import effective_n_threads


def test_explicit_counts():
    assert effective_n_threads(3, n_tasks=8) == (3 if fastsgd.openmp_enabled() else 1)
    assert effective_n_threads(5, n_tasks=2) <= 2
    assert effective_n_threads(-1, n_tasks=1000) >= 1
    with pytest.raises(ValueError, match="n_jobs == 0"):
        effective_n_threads(0)


def test_threadpoolctl_limit_is_respected():
    with threadpool_limits(1, user_api="openmp"):
        assert effective_n_threads(None, n_tasks=8) == 1


def test_omp_num_threads_is_respected():
    env = dict(os.environ, OMP_NUM_THREADS="1")
    code = "from fastsgd._threads import effective_n_threads; print(effective_n_threads(None, 8))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
