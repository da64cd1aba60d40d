"""The installed ``fastsgd`` command on real Parquet, CSV, svmlight and .npy
files (issue 19, items 3 and 5): fit / predict / evaluate give what the same
estimator gives in Python, and bad input gives one clear line naming the file,
the column and the row, with exit status 2 and no model written."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
import pyarrow.csv as pacsv  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from sklearn.datasets import dump_svmlight_file  # noqa: E402
from sklearn.metrics import accuracy_score, r2_score  # noqa: E402

import fastsgd  # noqa: E402
from fastsgd import SGDClassifier, SGDRegressor  # noqa: E402

FASTSGD = os.path.join(os.path.dirname(sys.executable), "fastsgd")


def run(*args, cwd):
    return subprocess.run([FASTSGD, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def data(n=3000, d=4, seed=0, regression=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    score = X @ np.linspace(1.0, -1.0, d) + 0.3 * rng.standard_normal(n)
    y = score if regression else (score > 0).astype(np.int64)
    return X, y


def table(X, y, names=None):
    names = names or ["f%d" % j for j in range(X.shape[1])]
    cols = {name: X[:, j] for j, name in enumerate(names)}
    cols["y"] = y
    return pa.table(cols)


def test_installed_command_exists():
    assert os.access(FASTSGD, os.X_OK), FASTSGD
    proc = run("--help", cwd=".")
    assert proc.returncode == 0
    for command in ("demo", "fit", "predict", "evaluate"):
        assert command in proc.stdout


def test_parquet_glob_fit_predict_evaluate(tmp_path):
    X, y = data()
    t = table(X, y)
    pq.write_table(t.slice(0, 1500), tmp_path / "part-0.parquet")
    pq.write_table(t.slice(1500), tmp_path / "part-1.parquet")
    proc = run(
        "fit", "part-*.parquet", "--target", "y", "--loss", "log_loss", "--max-iter", "7",
        "--tol", "none", "--random-state", "0", "--alpha", "1e-3", "-o", "m.fsgd",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "SGDClassifier fitted on 3000 rows x 4 features" in proc.stdout
    model = fastsgd.load(tmp_path / "m.fsgd")
    params = dict(loss="log_loss", max_iter=7, tol=None, random_state=0, alpha=1e-3)
    # the command's defaults: the files streamed, the features standardised
    ref = fastsgd.fit_files(
        SGDClassifier(scale="standard", **params), str(tmp_path / "part-*.parquet"), "y"
    )
    np.testing.assert_array_equal(model.coef_, ref.coef_)
    np.testing.assert_array_equal(model.intercept_, ref.intercept_)
    assert list(model.feature_names_in_) == ["f0", "f1", "f2", "f3"]
    # unscaled, from the binary cache: the in-memory fit of the same rows
    proc = run(
        "fit", "part-*.parquet", "--target", "y", "--loss", "log_loss", "--max-iter", "7",
        "--tol", "none", "--random-state", "0", "--alpha", "1e-3", "-o", "m2.fsgd",
        "--no-scale", "--cache", "cache", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "cache" / "X.bin").stat().st_size == X.size * 8
    in_memory = SGDClassifier(**params).fit(X, y)
    np.testing.assert_array_equal(fastsgd.load(tmp_path / "m2.fsgd").coef_, in_memory.coef_)

    pacsv.write_csv(t, tmp_path / "all.csv")
    proc = run("predict", "m.fsgd", "all.csv", "-o", "pred.parquet", "--proba", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = pq.read_table(tmp_path / "pred.parquet")
    assert out.column_names == ["prediction", "proba_0", "proba_1"]
    np.testing.assert_array_equal(out.column("prediction").to_numpy(), ref.predict(X))
    np.testing.assert_allclose(out.column("proba_1").to_numpy(), ref.predict_proba(X)[:, 1])

    proc = run("evaluate", "m.fsgd", "all.csv", "--target", "y", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads(proc.stdout)
    assert metrics["task"] == "classification" and metrics["rows"] == 3000
    assert metrics["accuracy"] == pytest.approx(accuracy_score(y, ref.predict(X)), abs=1e-12)
    assert 0.5 < metrics["roc_auc"] <= 1.0 and "log_loss" in metrics


def test_csv_regression_is_detected(tmp_path):
    X, y = data(regression=True, seed=1)
    pacsv.write_csv(table(X, y), tmp_path / "train.csv")
    proc = run(
        "fit", "train.csv", "--target", "y", "--random-state", "0", "--max-iter", "5",
        "--tol", "none", "--batch-size", "32", "--optimizer", "adam", "-o", "r.fsgd",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    ref = SGDRegressor(
        random_state=0, max_iter=5, tol=None, batch_size=32, optimizer="adam", scale="standard"
    )
    ref = fastsgd.fit_files(ref, str(tmp_path / "train.csv"), "y")
    model = fastsgd.load(tmp_path / "r.fsgd")
    np.testing.assert_array_equal(model.coef_, ref.coef_)
    proc = run("evaluate", "r.fsgd", "train.csv", "--target", "y", "--json", cwd=tmp_path)
    metrics = json.loads(proc.stdout)
    assert metrics["r2"] == pytest.approx(r2_score(y, ref.predict(X)), abs=1e-12)


def test_svmlight_and_npy(tmp_path):
    X, y = data(seed=2)
    dump_svmlight_file(X, y, str(tmp_path / "train.svm"))
    proc = run("fit", "train.svm", "--target", "y", "--random-state", "0", "-o", "s.fsgd",
               cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    proc = run("predict", "s.fsgd", "train.svm", "-o", "p.npy", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    model = fastsgd.load(tmp_path / "s.fsgd")
    import scipy.sparse as sp

    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), model.predict(sp.csr_matrix(X)))

    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    proc = run("fit", "X.npy", "--target", "y.npy", "--random-state", "0", "-o", "n.fsgd",
               cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    ref = SGDClassifier(random_state=0, scale="standard").fit(X, y)
    np.testing.assert_array_equal(fastsgd.load(tmp_path / "n.fsgd").coef_, ref.coef_)


@pytest.mark.parametrize(
    "name, content, args, message",
    [
        ("a.csv", "f0,f1,y\n1,2,0\n3,4,1\n", ["--target", "label"],
         "a.csv: no target column 'label'"),
        ("b.csv", "f0,city,y\n1,paris,0\n3,rome,1\n", ["--target", "y"],
         "b.csv: column 'city' holds string values"),
        ("c.csv", "f0,f1,y\n1,2,0\n3,4,1,7\n", ["--target", "y"], "c.csv: .*Expected 3 columns"),
        ("d.csv", "f0,f1,y\n1,2,0\n3,nan,1\n5,6,0\n", ["--target", "y"],
         "d.csv: column 'f1' has a missing value at row 1"),  # pyarrow reads nan as null
        ("e.csv", "f0,f1,y\n1,2,0\n3,,1\n", ["--target", "y"],
         "e.csv: column 'f1' has a missing value at row 1"),
        ("f.csv", "", ["--target", "y"], "f.csv: empty file"),
        ("g.csv", "f0,f1,y\n1,2,0\n3,4,1\n", ["--target", "y", "--loss", "nonsense"],
         "loss"),
        ("h.csv", "f0,f1,y\n1,2,0\n3,4,1\n", ["--target", "y", "--no-such-param", "1"], ""),
    ],
)  # fmt: skip
def test_bad_input_is_named_and_no_model_is_written(tmp_path, name, content, args, message):
    (tmp_path / name).write_text(content)
    proc = run("fit", name, *args, "-o", "m.fsgd", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    import re

    assert re.search(message, proc.stderr), proc.stderr
    assert not (tmp_path / "m.fsgd").exists()
    assert [p for p in os.listdir(tmp_path) if p.startswith(".fastsgd-")] == []


def test_nan_and_infinity_in_a_parquet_chunk_are_named(tmp_path):
    X, y = data(n=200)
    pq.write_table(table(X, y), tmp_path / "p0.parquet")
    X2 = X.copy()
    X2[17, 2] = np.nan
    pq.write_table(table(X2, y), tmp_path / "p1.parquet")
    proc = run("fit", "p*.parquet", "--target", "y", "-o", "m.fsgd", cwd=tmp_path)
    assert proc.returncode == 2
    # the row counts from the first file's start: 200 + 17
    assert "p1.parquet: column 'f2' holds nan at row 217" in proc.stderr
    X2[17, 2] = np.inf
    pq.write_table(table(X2, y), tmp_path / "p1.parquet")
    proc = run("fit", "p*.parquet", "--target", "y", "-o", "m.fsgd", cwd=tmp_path)
    assert "p1.parquet: column 'f2' holds inf at row 217" in proc.stderr
    assert not (tmp_path / "m.fsgd").exists()


def test_a_failed_fit_keeps_the_previous_model(tmp_path):
    X, y = data(n=300)
    pq.write_table(table(X, y), tmp_path / "good.parquet")
    assert run("fit", "good.parquet", "--target", "y", "-o", "m.fsgd", cwd=tmp_path).returncode == 0
    before = (tmp_path / "m.fsgd").read_bytes()
    (tmp_path / "bad.csv").write_text("f0,f1,f2,f3,y\n1,2,3,x,0\n")
    proc = run("fit", "bad.csv", "--target", "y", "-o", "m.fsgd", cwd=tmp_path)
    assert proc.returncode == 2
    assert (tmp_path / "m.fsgd").read_bytes() == before


def test_missing_files_and_mismatched_columns(tmp_path):
    proc = run("fit", "nothing-*.parquet", "--target", "y", "-o", "m.fsgd", cwd=tmp_path)
    assert proc.returncode == 2 and "nothing-*.parquet: no data files" in proc.stderr
    proc = run("fit", "absent.csv", "--target", "y", "-o", "m.fsgd", cwd=tmp_path)
    assert proc.returncode == 2 and "absent.csv: no such file" in proc.stderr
    X, y = data(n=100)
    pq.write_table(table(X, y), tmp_path / "p1.parquet")
    pq.write_table(table(X[:, :3], y), tmp_path / "p2.parquet")
    proc = run("fit", "p*.parquet", "--target", "y", "-o", "m.fsgd", cwd=tmp_path)
    assert proc.returncode == 2 and "p2.parquet: columns" in proc.stderr
    # predict with a model whose feature columns the data lacks
    pq.write_table(table(X, y), tmp_path / "ok.parquet")
    assert run("fit", "ok.parquet", "--target", "y", "-o", "m.fsgd", cwd=tmp_path).returncode == 0
    proc = run("predict", "m.fsgd", "p2.parquet", "-o", "out.csv", cwd=tmp_path)
    assert proc.returncode == 2 and "p2.parquet: the model's feature column 'f3'" in proc.stderr
    assert not (tmp_path / "out.csv").exists()
