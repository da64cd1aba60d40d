"""The user-facing scripts: ``python -m fastsgd demo``, ``benchmarks/compare.py`` and
``benchmarks/compare_batch.py``."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
COMPARE = ROOT / "benchmarks" / "compare.py"
COMPARE_BATCH = ROOT / "benchmarks" / "compare_batch.py"


def _run(args, cwd, timeout=120):
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def test_demo_runs_both_fits(tmp_path):
    proc = _run(
        ["-m", "fastsgd", "demo", "--rows", "20000", "--cols", "10", "--epochs", "2"], cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "fastsgd.SGDClassifier" in out
    assert "sklearn.linear_model.SGDClassifier" in out
    assert re.search(r"epoch 2/2 +objective \d", out)
    match = re.search(r"held-out accuracy +([0-9.]+) +([0-9.]+)", out)
    assert match, out
    for value in match.groups():
        assert 0.5 < float(value) <= 1.0
    assert "speed-up" in out and "final objective" in out


def test_demo_no_sklearn_and_float32(tmp_path):
    proc = _run(
        "-m fastsgd demo --rows 5000 --cols 5 --epochs 2 --dtype float32 --no-sklearn".split(),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "float32" in proc.stdout
    assert "sklearn.linear_model" not in proc.stdout
    assert re.search(r"held-out accuracy +[0-9.]+\s*$", proc.stdout, re.M)


def test_demo_mini_batch_adam(tmp_path):
    proc = _run(
        "-m fastsgd demo --rows 20000 --cols 10 --epochs 3".split()
        + "--batch-size 64 --optimizer adam --n-jobs 2".split(),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "batch_size=64" in proc.stdout and "optimizer='adam'" in proc.stdout
    accuracies = re.search(r"held-out accuracy +([0-9.]+) +([0-9.]+)", proc.stdout)
    assert accuracies, proc.stdout
    # Adam on mini-batches learns the problem about as well as per-sample SGD
    assert float(accuracies.group(1)) > float(accuracies.group(2)) - 0.05


def test_cli_usage_errors(tmp_path):
    assert _run(["-m", "fastsgd"], cwd=tmp_path).returncode == 2
    proc = _run(["-m", "fastsgd", "demo", "--rows", "3"], cwd=tmp_path)
    assert proc.returncode == 2
    assert "--rows" in proc.stderr
    proc = _run(["-m", "fastsgd", "demo", "--batch-size", "0"], cwd=tmp_path)
    assert proc.returncode == 2
    assert "--batch-size" in proc.stderr


def test_compare_writes_markdown(tmp_path):
    md = tmp_path / "out" / "results.md"
    proc = _run(
        [
            str(COMPARE),
            "--rows",
            "20000",
            "--cols",
            "10",
            "--repeat",
            "1",
            "--no-png",
            "--markdown",
            str(md),
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert md.exists()
    assert not md.with_suffix(".png").exists()
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# fastsgd vs scikit-learn")
    assert "--rows 20000 --cols 10 --repeat 1" in text  # the command line
    for header in (
        "## Results",
        "## Targets",
        "## Definitions",
        "| dtype | estimator | fit (s) | epoch (ms) | speed-up vs sklearn",
    ):
        assert header in text
    for dtype in ("float64", "float32"):
        for label in (
            "scikit-learn",
            "fastsgd (default: block shuffle)",
            'fastsgd, shuffle_mode="full"',
            "fastsgd, shuffle=False",
        ):
            assert "| %s | %s |" % (dtype, label) in text
    # shuffle_mode="full" follows scikit-learn's permutation: same final objective
    row = re.search(r'\| float64 \| fastsgd, shuffle_mode="full" \|(.*)\|', text).group(1)
    rel_diff = float(row.split("|")[5])
    assert abs(rel_diff) < 1e-6
    assert "## Results" in proc.stdout


def test_demo_elasticnet(tmp_path):
    # the penalty reaches both models and the objective's penalty term
    proc = _run(
        "-m fastsgd demo --rows 20000 --cols 10 --epochs 2 --penalty elasticnet".split(),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "penalty='elasticnet'" in proc.stdout
    assert "l1_ratio ||w||_1" in proc.stdout
    objectives = re.search(r"final objective \(NumPy\) +([0-9.]+) +([0-9.]+)", proc.stdout)
    assert objectives, proc.stdout
    for value in objectives.groups():
        assert 0.0 < float(value) < 1.0


def test_compare_batch_writes_markdown(tmp_path):
    # its two sections that use the objective: Adam's final objective and the
    # time to 1e-3 suboptimality against LogisticRegression
    md = tmp_path / "results_batch.md"
    proc = _run(
        [
            str(COMPARE_BATCH),
            "--rows",
            "20000",
            "--cols",
            "10",
            "--epochs",
            "2",
            "--repeat",
            "1",
            "--floor-repeat",
            "1",
            "--no-torch",
            "--no-memory",
            "--max-epochs-to-target",
            "4",
            "--sections",
            "adam",
            "lbfgs",
            "--markdown",
            str(md),
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# fastsgd batch engine: benchmark")
    rows = re.findall(r"\| float(?:32|64) \| fastsgd adam, n_jobs=2 \|(.*)\|", text)
    assert len(rows) == 2, text
    for row in rows:
        assert 0.3 < float(row.split("|")[2]) < 0.7  # the final objective: log loss near log 2
    f_star = float(re.search(r"f\* = ([0-9.]+)", text).group(1))
    assert 0.3 < f_star < 0.7
    # at least one configuration reaches f* (1 + 1e-3)
    assert "(**chosen**)" in text


def test_generated_problem_does_not_depend_on_threads():
    # fastsgd.benchmarking's generator (the demo's and the benchmark scripts'
    # data) fills X chunk by chunk from independent streams: the same data
    # over several of its chunks whatever the thread count, and two classes
    from fastsgd.benchmarking import make_classification_data, train_test_views

    for dtype in (np.float64, np.float32):
        one = make_classification_data(900, 5000, dtype, seed=3, n_threads=1)
        two = make_classification_data(900, 5000, dtype, seed=3, n_threads=2)
        for a, b in zip(train_test_views(*one), train_test_views(*two), strict=True):
            np.testing.assert_array_equal(a, b)
        assert one[0].dtype == dtype and 0.3 < one[1].mean() < 0.7
