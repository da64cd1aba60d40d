"""The user-facing scripts: ``python -m fastsgd demo`` and ``benchmarks/compare.py``."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMPARE = ROOT / "benchmarks" / "compare.py"


def _run(args, cwd, timeout=120):
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def test_demo_runs_both_fits(tmp_path):
    proc = _run(["-m", "fastsgd", "demo", "--rows", "20000", "--cols", "10", "--epochs", "2"],
                cwd=tmp_path)
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
    proc = _run(["-m", "fastsgd", "demo", "--rows", "5000", "--cols", "5", "--epochs", "2",
                 "--dtype", "float32", "--no-sklearn"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "float32" in proc.stdout
    assert "sklearn.linear_model" not in proc.stdout
    assert re.search(r"held-out accuracy +[0-9.]+\s*$", proc.stdout, re.M)


def test_demo_mini_batch_adam(tmp_path):
    proc = _run(["-m", "fastsgd", "demo", "--rows", "20000", "--cols", "10", "--epochs", "3",
                 "--batch-size", "64", "--optimizer", "adam", "--n-jobs", "2"], cwd=tmp_path)
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
    proc = _run([str(COMPARE), "--rows", "20000", "--cols", "10", "--repeat", "1",
                 "--no-png", "--markdown", str(md)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert md.exists()
    assert not md.with_suffix(".png").exists()
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# fastsgd vs scikit-learn")
    assert "--rows 20000 --cols 10 --repeat 1" in text  # the command line
    for header in ("## Results", "## Targets", "## Definitions",
                   "| dtype | estimator | fit (s) | epoch (ms) | speed-up vs sklearn"):
        assert header in text
    for dtype in ("float64", "float32"):
        for label in ("scikit-learn", "fastsgd (default: block shuffle)",
                      'fastsgd, shuffle_mode="full"', "fastsgd, shuffle=False"):
            assert "| %s | %s |" % (dtype, label) in text
    # shuffle_mode="full" follows scikit-learn's permutation: same final objective
    row = re.search(r'\| float64 \| fastsgd, shuffle_mode="full" \|(.*)\|', text).group(1)
    rel_diff = float(row.split("|")[5])
    assert abs(rel_diff) < 1e-6
    assert "## Results" in proc.stdout


def test_demo_elasticnet(tmp_path):
    # the penalty reaches both models and the objective's penalty term
    proc = _run(["-m", "fastsgd", "demo", "--rows", "20000", "--cols", "10", "--epochs", "2",
                 "--penalty", "elasticnet"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "penalty='elasticnet'" in proc.stdout
    assert "l1_ratio ||w||_1" in proc.stdout
    objectives = re.search(r"final objective \(NumPy\) +([0-9.]+) +([0-9.]+)", proc.stdout)
    assert objectives, proc.stdout
    for value in objectives.groups():
        assert 0.0 < float(value) < 1.0


def test_regularized_objective_penalty_terms():
    import numpy as np
    from sklearn.linear_model import SGDClassifier

    from fastsgd._demo import regularized_objective

    rng = np.random.RandomState(0)
    X = rng.randn(500, 6)
    y = (X[:, 0] + 0.5 * rng.randn(500) > 0).astype(int)
    est = SGDClassifier(loss="log_loss", random_state=0).fit(X, y)
    w = est.coef_.ravel()
    margin = np.where(y == 1, 1.0, -1.0) * (X @ w + est.intercept_[0])
    data = np.mean(np.logaddexp(0.0, -margin))
    alpha = 0.01
    expected = {
        None: data,
        "l2": data + alpha * 0.5 * w @ w,
        "l1": data + alpha * np.abs(w).sum(),
        "elasticnet": data + alpha * (0.7 * 0.5 * w @ w + 0.3 * np.abs(w).sum()),
    }
    for penalty, value in expected.items():
        got = regularized_objective(est, X, y, "log_loss", alpha, penalty=penalty, l1_ratio=0.3)
        assert got == pytest.approx(value, rel=1e-12), penalty
