"""The asv benchmark suite (benchmarks/benchmarks/) runs, without asv.

Every benchmark's setup, method and teardown run once for every parameter
combination at the small "ci" profile, the way asv calls them.  The suite
imports only numpy, scipy, scikit-learn and fastsgd, so asv is not needed.
"""

import ast
import importlib.util
import inspect
import itertools
import math
import sys
from pathlib import Path

import pytest

import fastsgd

SUITE = Path(__file__).resolve().parent.parent / "benchmarks" / "benchmarks"
PREFIXES = ("time_", "timeraw_", "peakmem_", "mem_", "track_")
PACKAGE = "_fastsgd_asv_suite"  # not "benchmarks": no clash with anything on sys.path


@pytest.fixture(scope="module")
def suite():
    """(common, [benchmark modules]) imported with FASTSGD_ASV_PROFILE=ci."""
    mp = pytest.MonkeyPatch()
    mp.setenv("FASTSGD_ASV_PROFILE", "ci")
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        PACKAGE, SUITE / "__init__.py", submodule_search_locations=[str(SUITE)]
    )
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    spec.loader.exec_module(package)
    modules = [
        importlib.import_module("%s.%s" % (PACKAGE, path.stem))
        for path in sorted(SUITE.glob("*.py"))
        if path.stem != "__init__"
    ]
    common = sys.modules[PACKAGE + ".common"]
    yield common, modules
    common.clear_cache()
    mp.undo()
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]


def _benchmarks(modules):
    """(class, method name) of every benchmark, found the way asv finds them."""
    found = []
    for module in modules:
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            for name, _ in inspect.getmembers(cls, inspect.isfunction):
                if name.startswith(PREFIXES):
                    found.append((cls, name))
    return found


def test_suite_imports_no_asv():
    for path in SUITE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in ("asv", "asv_runner"), (path.name, name)


def test_profiles(suite):
    common, _ = suite
    assert common.PROFILE.name == "ci"
    assert common.get_profile("default").dense_shape == (100_000, 200)
    assert common.get_profile("default").sparse_shape == (100_000, 1_000)
    assert common.get_profile("large").dense_shape == (1_000_000, 100)
    with pytest.raises(ValueError, match="unknown profile"):
        common.get_profile("huge")
    assert common.DATA == ["dense-float64@ci", "dense-float32@ci", "csr-float64@ci"]


def test_data_is_deterministic(suite):
    common, _ = suite
    for label in common.DATA:
        a = common.get_dataset(label, "classifier")
        common.clear_cache()
        b = common.get_dataset(label, "classifier")
        assert a.X_train.shape[0] == 20_000 and a.X_test.shape[0] == 4_000
        X_a = a.X_train.toarray() if hasattr(a.X_train, "toarray") else a.X_train
        X_b = b.X_train.toarray() if hasattr(b.X_train, "toarray") else b.X_train
        assert (X_a == X_b).all() and (a.y_train == b.y_train).all()
    sparse = common.get_dataset("csr-float64@ci", "regressor").X_train
    assert sparse.format == "csr" and sparse.nnz == 20_000 * 10 and sparse.has_sorted_indices


def test_every_benchmark_runs_once(suite):
    common, modules = suite
    benchmarks = _benchmarks(modules)
    names = {"%s.%s" % (cls.__name__, name) for cls, name in benchmarks}
    assert {
        "Fit.time_fit",
        "Fit.peakmem_fit",
        "FitThreads.time_fit",
        "Predict.time_predict",
        "Quality.track_objective",
        "Quality.track_objective_gap",
        "Quality.track_heldout_error",
    } <= names
    results = {}
    for cls, name in benchmarks:
        assert cls.param_names[0] == "batch_size"
        for params in itertools.product(*cls.params):
            bench = cls()
            if hasattr(bench, "setup"):
                bench.setup(*params)
            try:
                results[cls.__name__, name, params] = getattr(bench, name)(*params)
            finally:
                if hasattr(bench, "teardown"):
                    bench.teardown(*params)
    for (_cls_name, name, params), value in results.items():
        if not name.startswith("track_"):
            continue
        estimator = params[2]
        assert isinstance(value, float) and math.isfinite(value), (name, params, value)
        if name == "track_objective_gap":
            assert 0 <= value < 20, (params, value)
        elif name == "track_heldout_error":
            # better than chance / than predicting the mean
            assert 0 < value < (0.4 if estimator == "classifier" else 0.6), (params, value)
        else:
            assert value > 0, (params, value)


def test_parameter_axes(suite):
    common, _ = suite
    # the per-sample engine, mini-batches and full batches
    assert common.BATCH_SIZES[0] == 1 and {256, "full"} <= set(common.BATCH_SIZES)
    assert common.THREAD_PARAM_NAMES == common.PARAM_NAMES + ["n_jobs"]
    assert common.N_JOBS == [1, 2] and 1 not in common.THREAD_BATCH_SIZES
    for estimator in common.ESTIMATORS:
        assert common.make_estimator(estimator).n_jobs == 1  # every benchmark but FitThreads
        for batch_size in common.THREAD_BATCH_SIZES:
            for n_jobs in common.N_JOBS:
                est = common.make_estimator(estimator, batch_size, n_jobs)
                assert (est.batch_size, est.optimizer, est.n_jobs) == (batch_size, "adam", n_jobs)


def test_optimal_objective_is_a_lower_bound(suite):
    common, _ = suite
    for estimator in common.ESTIMATORS:
        ds = common.get_dataset("csr-float64@ci", estimator)
        best = common.optimal_objective(estimator, ds.X_train, ds.y_train)
        est = common.make_estimator(estimator).set_params(max_iter=20).fit(ds.X_train, ds.y_train)
        assert best <= fastsgd.objective(est, ds.X_train, ds.y_train)
