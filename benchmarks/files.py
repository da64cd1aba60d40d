#!/usr/bin/env python
"""fastsgd on files larger than its working memory, and its out-of-core peers,
on one large dense logistic data set, side by side in one run.

Writes (once; a second run reuses the files) ``--rows`` x 100 float32 rows of
standardised Gaussian features with labels from a logistic model as

* ``X.f32`` (raw float32, C order, for ``np.memmap``) and ``y.npy``;
* ``data.parquet`` (columns f0..f99 float32 and y int8, row groups of 131,072
  rows, snappy, plain encoding, written chunk by chunk with
  ``pyarrow.parquet.ParquetWriter``; pyarrow's default dictionary encoding
  would make these random floats 1.5 times larger than the raw array);
* ``data.vw`` (Vowpal Wabbit text, labels -1/1, ``|f 0:v 1:v ...``), of the
  first ``--vw-rows`` rows only (text of all 10M rows would be ~13 GB).

plus ``data_1m.parquet`` (the first ``--vw-rows`` rows, the rows VW reads) and
``test.npz`` (200,000 more rows of the same model, for held-out accuracy).

Then measures, each in seconds, in ns per row and as a multiple of the floor
(one ``X.sum()`` of the page-cached float32 memmap over the same rows):

* fastsgd (``SGDClassifier(loss="log_loss", tol=None)``, per-sample SGD, its
  defaults otherwise): ``fit`` on a read-only ``np.memmap`` of X.f32;
  ``fastsgd.fit_files`` streaming data.parquet every epoch; ``fit_files``
  with ``cache_dir`` (the first pass writes a float32 cache, later passes
  memory-map it).  Each at 1 epoch (cold page cache where it can be dropped)
  and at more epochs (warm): the steady epoch is the difference divided by
  the extra epochs.  The same on data_1m.parquet against VW's cached passes,
  and the streamed fit's peak RSS on 1M and 10M rows.  Held-out accuracy on
  test.npz for the memmap and the streamed fits at equal epochs;

* the floors: ``X.sum()``; ``cat`` of X.f32, data.parquet and data.vw, from a
  cold page cache (``sync; echo 3 > /proc/sys/vm/drop_caches``) and warm;
* Vowpal Wabbit (its command line, ``python -m vowpalwabbit``, from
  ``--bench-python``'s environment): the first pass that writes the cache,
  5 passes read from the cache, and the whole 5-pass command, on data.vw;
* dask-ml: ``Incremental(SGDClassifier(loss="log_loss"))`` on
  ``dask.dataframe.read_parquet(data.parquet)``, one ``fit`` (one pass) and 3
  ``partial_fit`` passes with the local threaded scheduler, and one pass on a
  2-worker ``LocalCluster``; on all rows unless one pass takes longer than
  ``--dask-timeout`` seconds, then on the first ~2M rows.

Every tool runs in a child process (the peers in ``--bench-python``, by default
/work/bench-venv, so that the dev environment is not touched); its peak RSS is
that of the largest process of its tree, from ``/usr/bin/time -f %M``.  The
data files are left in place for other benchmarks.  Prints a Markdown table at the end.

    python benchmarks/files_peers.py --data-dir /work/bench-data --rows 10000000
    python benchmarks/files_peers.py --data-dir /tmp/quick --rows 200000   # quick check
"""

import argparse
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROW_GROUP = 131_072
CHUNK = 4 * ROW_GROUP  # rows generated at a time (~200 MB of float32 at 100 columns)
VW_ARGS = ["--loss_function", "logistic", "--sgd", "--holdout_off"]
VW_PASSES = 5
DASK_SUBSET_ROWS = 2_000_000
DEFAULT_BENCH_PYTHON = "/work/bench-venv/bin/python"
HAVE_TIME = os.path.exists("/usr/bin/time")


# --------------------------------------------------------------------------- data


def _meta_ok(path, want):
    try:
        return json.loads(Path(path).read_text()) == want
    except (OSError, ValueError):
        return False


def make_data(dir, n_rows, n_features=100, seed=0, vw_rows=1_000_000):
    """Write X.f32, y.npy, data.parquet and data.vw under ``dir``, or reuse them.

    Returns a dict of the paths.  Files are written under temporary names and
    renamed, and a small JSON file recording the parameters is written last,
    so an interrupted run is redone rather than reused.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    d = Path(dir)
    d.mkdir(parents=True, exist_ok=True)
    paths = {
        "X": d / "X.f32",
        "y": d / "y.npy",
        "parquet": d / "data.parquet",
        "vw": d / "data.vw",
    }
    want = {"n_rows": n_rows, "n_features": n_features, "seed": seed, "version": 2}
    meta = d / "meta.json"
    if (
        _meta_ok(meta, want)
        and all(paths[k].exists() for k in ("X", "y", "parquet"))
        and paths["X"].stat().st_size == 4 * n_rows * n_features
    ):
        print("reusing X.f32, y.npy, data.parquet in %s" % d, flush=True)
    else:
        meta.unlink(missing_ok=True)
        t0 = time.perf_counter()
        rng = np.random.default_rng(seed)
        w = 2.0 * rng.standard_normal(n_features) / math.sqrt(n_features)  # logit sd ~ 2
        y = np.empty(n_rows, dtype=np.int8)
        names = ["f%d" % j for j in range(n_features)]
        schema = pa.schema([(c, pa.float32()) for c in names] + [("y", pa.int8())])
        tmp_x, tmp_p = paths["X"].with_suffix(".tmp"), paths["parquet"].with_suffix(".tmp")
        with (
            open(tmp_x, "wb") as fx,
            pq.ParquetWriter(tmp_p, schema, use_dictionary=False) as writer,
        ):
            for a in range(0, n_rows, CHUNK):
                b = min(a + CHUNK, n_rows)
                X = rng.standard_normal((b - a, n_features), dtype=np.float32)
                p = 1.0 / (1.0 + np.exp(-(X @ w.astype(np.float32))))
                y[a:b] = rng.random(b - a) < p
                X.tofile(fx)
                XT = np.ascontiguousarray(X.T)
                cols = [pa.array(XT[j]) for j in range(n_features)] + [pa.array(y[a:b])]
                writer.write_table(pa.Table.from_arrays(cols, schema=schema), ROW_GROUP)
                if (a // CHUNK) % 4 == 0:
                    print("  generated %d / %d rows" % (b, n_rows), flush=True)
        np.save(paths["y"], y)
        os.replace(tmp_x, paths["X"])
        os.replace(tmp_p, paths["parquet"])
        meta.write_text(json.dumps(want))
        print(
            "wrote X.f32, y.npy, data.parquet (%d x %d) in %.1f s"
            % (n_rows, n_features, time.perf_counter() - t0),
            flush=True,
        )

    m = min(vw_rows, n_rows)
    want_vw = dict(want, vw_rows=m)
    meta_vw = d / "meta_vw.json"
    if _meta_ok(meta_vw, want_vw) and paths["vw"].exists():
        print("reusing data.vw (%d rows)" % m, flush=True)
    else:
        meta_vw.unlink(missing_ok=True)
        t0 = time.perf_counter()
        X = np.memmap(paths["X"], dtype=np.float32, mode="r", shape=(n_rows, n_features))
        y = np.load(paths["y"])
        fmt = "%d |f " + " ".join("%d:%%.7g" % j for j in range(n_features)) + "\n"
        tmp = paths["vw"].with_suffix(".tmp")
        with open(tmp, "w") as f:
            for a in range(0, m, 50_000):
                b = min(a + 50_000, m)
                labels = (2 * y[a:b].astype(np.int64) - 1).tolist()
                rows = X[a:b].tolist()
                f.write("".join([fmt % (lab, *row) for lab, row in zip(labels, rows, strict=True)]))
        os.replace(tmp, paths["vw"])
        meta_vw.write_text(json.dumps(want_vw))
        print("wrote data.vw (%d rows) in %.1f s" % (m, time.perf_counter() - t0), flush=True)
    return paths


def make_extra(paths, n_rows, n_features, seed=0, first_rows=1_000_000, test_rows=200_000):
    """Write data_1m.parquet (the first ``first_rows`` rows of X.f32 and y) and
    test.npz (``test_rows`` new rows of make_data's model), or reuse them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    d = paths["X"].parent
    m = min(first_rows, n_rows)
    paths["parquet_1m"], paths["test"] = d / "data_1m.parquet", d / "test.npz"
    want = {"n_rows": n_rows, "n_features": n_features, "seed": seed, "m": m, "t": test_rows}
    meta = d / "meta_extra.json"
    if _meta_ok(meta, want) and paths["parquet_1m"].exists() and paths["test"].exists():
        print("reusing data_1m.parquet, test.npz", flush=True)
        return paths
    meta.unlink(missing_ok=True)
    w = 2.0 * np.random.default_rng(seed).standard_normal(n_features) / math.sqrt(n_features)
    rng = np.random.default_rng([seed, 1])
    Xt = rng.standard_normal((test_rows, n_features), dtype=np.float32)
    yt = (rng.random(test_rows) < 1.0 / (1.0 + np.exp(-(Xt @ w.astype(np.float32))))).astype(
        np.int8
    )
    np.savez(paths["test"], X=Xt, y=yt)
    X = np.memmap(paths["X"], dtype=np.float32, mode="r", shape=(n_rows, n_features))
    y = np.load(paths["y"])
    names = ["f%d" % j for j in range(n_features)]
    schema = pa.schema([(c, pa.float32()) for c in names] + [("y", pa.int8())])
    tmp = paths["parquet_1m"].with_suffix(".tmp")
    with pq.ParquetWriter(tmp, schema, use_dictionary=False) as writer:
        for a in range(0, m, CHUNK):
            b = min(a + CHUNK, m)
            XT = np.ascontiguousarray(X[a:b].T)
            cols = [pa.array(XT[j]) for j in range(n_features)] + [pa.array(y[a:b])]
            writer.write_table(pa.Table.from_arrays(cols, schema=schema), ROW_GROUP)
    os.replace(tmp, paths["parquet_1m"])
    meta.write_text(json.dumps(want))
    print("wrote data_1m.parquet (%d rows), test.npz (%d rows)" % (m, test_rows), flush=True)
    return paths


# --------------------------------------------------------------------- running


def run_child(cmd, timeout=None, cwd=None):
    """Run ``cmd``; return (seconds, peak RSS in MiB, rc, stdout, stderr).

    The peak RSS is that of the command's process tree (its largest process),
    measured by ``/usr/bin/time -f %M``: the command is then forked from the
    small ``time`` process, not from this one, whose own peak would otherwise
    be inherited through fork and exec.  rc is None when the child was stopped
    after ``timeout`` seconds; the child gets its own process group so that a
    timeout also ends its workers.
    """
    tag = "/tmp/files_peers.%d" % os.getpid()
    out_path, err_path, rss_path = Path(tag + ".out"), Path(tag + ".err"), Path(tag + ".rss")
    rss_path.unlink(missing_ok=True)
    timer = ["/usr/bin/time", "-f", "%M", "-o", str(rss_path)] if HAVE_TIME else []
    with open(out_path, "w") as fo, open(err_path, "w") as fe:
        t = time.perf_counter()
        p = subprocess.Popen(timer + cmd, stdout=fo, stderr=fe, cwd=cwd, start_new_session=True)
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            rc = None
        seconds = time.perf_counter() - t
    out, err = out_path.read_text(), err_path.read_text()
    rss = math.nan
    try:
        rss = int(rss_path.read_text().strip().splitlines()[-1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    for f in (out_path, err_path, rss_path):
        f.unlink(missing_ok=True)
    return seconds, rss, rc, out, err


def child_json(out):
    """The last line of a child's stdout that parses as a JSON object."""
    for line in reversed(out.strip().splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    raise RuntimeError("no JSON result in child output:\n" + out[-2000:])


# ------------------------------------------------------------- child processes


def child_floor(a):
    """Best-of-3 ``X.sum()`` of the memmap over the first r rows, for each r."""
    X = np.memmap(a["X"], dtype=np.float32, mode="r", shape=(a["n_rows"], a["n_features"]))
    res = {}
    for r in sorted(set(a["rows"]), reverse=True):
        V = X[:r]
        V.sum()  # one warm read
        best = math.inf
        for _ in range(3):
            t = time.perf_counter()
            s = V.sum()
            best = min(best, time.perf_counter() - t)
        res[str(r)] = best
        assert np.isfinite(s)
    return res


def child_dask(a):
    import warnings

    import dask
    import dask.dataframe as dd
    import pyarrow.parquet as pq
    from dask_ml.wrappers import Incremental
    from sklearn.linear_model import SGDClassifier

    warnings.filterwarnings("ignore")
    if a["max_rows"]:
        df = dd.read_parquet(a["parquet"], split_row_groups=True)
        df = df.partitions[: math.ceil(a["max_rows"] / ROW_GROUP)]
    else:
        df = dd.read_parquet(a["parquet"])
    names = [c for c in df.columns if c != "y"]
    X, y = df[names], df["y"]
    client = cluster = None
    if a["cluster"]:
        from distributed import Client, LocalCluster

        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    else:
        dask.config.set(scheduler="threads")
    inc = Incremental(SGDClassifier(loss="log_loss", random_state=0))
    t = time.perf_counter()
    if a["passes"] == 1:
        inc.fit(X, y, classes=[0, 1])
    else:
        for _ in range(a["passes"]):
            inc.partial_fit(X, y, classes=[0, 1])
    seconds = time.perf_counter() - t
    if client is not None:
        client.close()
        cluster.close()
    # sanity: log-loss on the first row group
    head = pq.ParquetFile(a["parquet"]).read_row_group(0).to_pandas()
    proba = inc.estimator_.predict_proba(head[names].to_numpy())[:, 1]
    yy = head["y"].to_numpy()
    eps = 1e-12
    loss = -np.mean(yy * np.log(proba + eps) + (1 - yy) * np.log(1 - proba + eps))
    return {
        "seconds": seconds,
        "npartitions": df.npartitions,
        "rows": int(inc.estimator_.t_ - 1) // a["passes"],
        "logloss_rg0": float(loss),
    }


def child_fastsgd(a):
    """One fastsgd fit: ``mode`` memmap (fit on np.memmap of X.f32), stream
    (fit_files, re-reading the Parquet file every epoch) or cache (fit_files
    with a fresh cache directory).  Returns the whole fit's seconds, the
    time stamp of each epoch's end, and the held-out accuracy on test.npz."""
    import tempfile

    import fastsgd
    from fastsgd import SGDClassifier
    from fastsgd.benchmarking import timed_fit

    est = SGDClassifier(loss="log_loss", max_iter=a["epochs"], tol=None, random_state=0)
    timing = {}

    def fit(est, X, y):
        timing["t"] = timed_fit(est, X, y)
        return est

    t = time.perf_counter()
    if a["mode"] == "memmap":
        X = np.memmap(a["X"], dtype=np.float32, mode="r", shape=(a["n_rows"], a["n_features"]))
        y = np.load(a["y"])
        fit(est, X, y)
    elif a["mode"] == "stream":
        fastsgd.fit_files(est, a["parquet"], target="y", dtype="float32", fit=fit)
    else:
        with tempfile.TemporaryDirectory(dir=a["cache_parent"]) as cache:
            fastsgd.fit_files(
                est, a["parquet"], target="y", dtype="float32", cache_dir=cache, fit=fit
            )
    seconds = time.perf_counter() - t
    test = np.load(a["test"])
    if hasattr(est, "feature_names_in_"):
        del est.feature_names_in_  # scored on the bare array of test.npz
    acc = float(est.score(test["X"], test["y"]))
    # stamps count from the estimator's fit; what came before it (reading
    # file metadata, writing the cache) is added to the first epoch
    before = seconds - timing["t"].fit_seconds
    stamps = [before + s for s in timing["t"].epoch_stamps]
    return {"seconds": seconds, "stamps": stamps, "accuracy": acc, "n_iter": int(est.n_iter_)}


CHILDREN = {"floor": child_floor, "dask": child_dask, "fastsgd": child_fastsgd}


# ------------------------------------------------------------------- the runs


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "_child":
        print(json.dumps(CHILDREN[argv[1]](json.loads(argv[2]))), flush=True)
        return
    # fastsgd is imported here, not above: the peers' children run this file in
    # an environment without it
    from fastsgd.benchmarking import cat_seconds, cpu_name, drop_page_cache

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="/work/bench-data")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--cols", type=int, default=100)
    parser.add_argument("--vw-rows", type=int, default=1_000_000)
    parser.add_argument("--bench-python", default=DEFAULT_BENCH_PYTHON)
    parser.add_argument(
        "--dask-timeout",
        type=float,
        default=600.0,
        help="seconds allowed for one dask pass over all rows before falling back to ~2M",
    )
    parser.add_argument("--skip-cluster", action="store_true", help="no LocalCluster run")
    parser.add_argument("--epochs", type=int, default=3, help="fastsgd's multi-epoch fits")
    args = parser.parse_args(argv)

    print("CPU: %s (%d logical CPUs)" % (cpu_name(), os.cpu_count()), flush=True)
    print("command: python %s" % " ".join([sys.argv[0], *argv]), flush=True)
    paths = make_data(args.data_dir, args.rows, args.cols, vw_rows=args.vw_rows)
    paths = make_extra(paths, args.rows, args.cols, first_rows=args.vw_rows)
    n, d = args.rows, args.cols
    vw_rows = min(args.vw_rows, n)
    me = os.path.abspath(__file__)
    bench = args.bench_python
    rows_table = []  # (measurement, rows, seconds, floor rows, rss MiB, note)

    def add(name, rows, seconds, rss=None, note="", floor_rows=None):
        rows_table.append(
            (name, rows, seconds, rows if floor_rows is None else floor_rows, rss, note)
        )
        print("  %-44s %9d rows  %9.3f s  %s" % (name, rows, seconds, note), flush=True)

    # -- cat, cold and warm
    print("\n== cat (page cache dropped: cold; then warm, best of 2)", flush=True)
    cold_ok = True
    for key, name in (("X", "X.f32"), ("parquet", "data.parquet"), ("vw", "data.vw")):
        size = paths[key].stat().st_size
        r = n if key != "vw" else vw_rows
        note = "%.2f GB" % (size / 1e9)
        if drop_page_cache():
            add("cat %s cold" % name, r, cat_seconds(paths[key]), note=note)
        else:
            cold_ok = False
            print("  cannot drop the page cache (not root?): no cold figure", flush=True)
        cat_seconds(paths[key])
        warm = min(cat_seconds(paths[key]) for _ in range(2))
        add("cat %s warm" % name, r, warm, note=note)

    # -- the X.sum() floor, page-cached memmap, over every row count used below
    dask_rows_sub = min(n, math.ceil(DASK_SUBSET_ROWS / ROW_GROUP) * ROW_GROUP)
    need = sorted({n, vw_rows, dask_rows_sub})
    cat_seconds(paths["X"])
    fa = {"X": str(paths["X"]), "n_rows": n, "n_features": d, "rows": need}
    sec, rss, rc, out, err = run_child([sys.executable, me, "_child", "floor", json.dumps(fa)])
    if rc != 0:
        raise RuntimeError("floor child failed:\n" + err[-3000:])
    floor = {int(k): v for k, v in child_json(out).items()}
    print("\n== floor: X.sum() of the page-cached float32 memmap (best of 3)", flush=True)
    for r in need:
        add("X.sum() floor", r, floor[r], rss if r == n else None, "float32 memmap, warm")

    # -- fastsgd
    print("\n== fastsgd SGDClassifier(log_loss, tol=None), per-sample SGD", flush=True)
    E = args.epochs
    accuracy = {}

    def fastsgd_run(mode, epochs, parquet="parquet", cold=False):
        a = {
            "mode": mode,
            "epochs": epochs,
            "X": str(paths["X"]),
            "y": str(paths["y"]),
            "n_rows": n,
            "n_features": d,
            "parquet": str(paths[parquet]),
            "test": str(paths["test"]),
            "cache_parent": args.data_dir,
        }
        if cold and not drop_page_cache():
            print("  (cannot drop the page cache: this run is warm)", flush=True)
        sec, rss, rc, out, err = run_child([sys.executable, me, "_child", "fastsgd", json.dumps(a)])
        if rc != 0:
            raise RuntimeError("fastsgd child failed:\n" + err[-3000:])
        return sec, rss, child_json(out)

    for mode, what, parquet, r in (
        ("memmap", "fit(np.memmap X.f32)", "parquet", n),
        ("stream", "fit_files(data.parquet) stream", "parquet", n),
        ("cache", "fit_files(data.parquet, cache_dir)", "parquet", n),
        ("cache", "fit_files(data_1m.parquet, cache_dir)", "parquet_1m", vw_rows),
        ("stream", "fit_files(data_1m.parquet) stream", "parquet_1m", vw_rows),
    ):
        sec, rss, res = fastsgd_run(mode, E, parquet, cold=True)
        st = res["stamps"]
        acc = "held-out acc %.4f" % res["accuracy"]
        add("fastsgd %s: first epoch (cold)" % what, r, st[0], None, "")
        steady = (st[-1] - st[0]) / (len(st) - 1)
        add("fastsgd %s: steady epoch" % what, r, steady, None, "mean of epochs 2-%d" % E)
        add("fastsgd %s: whole fit, %d epochs" % (what, E), r, res["seconds"], rss, acc)
        accuracy[(mode, r)] = res["accuracy"]
    dm = accuracy[("stream", n)] - accuracy[("memmap", n)]
    print(
        "  held-out accuracy, %d epochs: stream %.4f, memmap %.4f, difference %+.4f"
        % (E, accuracy[("stream", n)], accuracy[("memmap", n)], dm),
        flush=True,
    )

    # -- Vowpal Wabbit
    print("\n== Vowpal Wabbit on data.vw (first %d rows), warm text file" % vw_rows, flush=True)
    vw = [bench, "-m", "vowpalwabbit"]
    cache = Path(args.data_dir) / "data.vw.cache_fp"
    ver = subprocess.run(vw + ["--version"], capture_output=True, text=True)
    print(
        "  vowpalwabbit %s (python -m vowpalwabbit)" % ver.stdout.strip().splitlines()[0],
        flush=True,
    )
    t_start, _, _, _, _ = run_child([bench, "-c", "import vowpalwabbit"])
    print("  (interpreter start + import vowpalwabbit: %.2f s, included below)" % t_start)
    cat_seconds(paths["vw"])
    runs = [
        ("VW pass 1: parse text + write cache", ["--passes", "1", "-c", "-k"], 1),
        ("VW 5 passes from the cache", ["--passes", str(VW_PASSES)], VW_PASSES),
        ("VW full command (5 passes, -c -k)", ["--passes", str(VW_PASSES), "-c", "-k"], 0),
    ]
    for name, extra, per in runs:
        cmd = vw + ["-d", str(paths["vw"]), *VW_ARGS, "--cache_file", str(cache), *extra]
        sec, rss, rc, out, err = run_child(cmd, cwd=args.data_dir)
        if rc != 0:
            print("  FAILED (rc %s): %s\n%s" % (rc, " ".join(cmd), err[-2000:]), flush=True)
            add(name, vw_rows, math.nan, rss, "FAILED rc=%s" % rc)
            continue
        m = re.search(r"average loss = ([0-9.eE+-]+)", err + out)
        loss = "VW progressive avg loss %s" % (m.group(1) if m else "?")
        add(name, vw_rows, sec, rss, loss)
        if per > 1:
            add("VW per cached pass (5-pass run / 5)", vw_rows, sec / per, rss, "")
    print("  cache file: %.2f GB" % (cache.stat().st_size / 1e9), flush=True)

    # -- dask-ml
    print("\n== dask-ml Incremental(SGDClassifier(log_loss)) on data.parquet", flush=True)
    ver = subprocess.run(
        [
            bench,
            "-c",
            "import dask, dask_ml, sklearn; print(dask.__version__, "
            "dask_ml.__version__, sklearn.__version__)",
        ],
        capture_output=True,
        text=True,
    )
    print("  dask, dask-ml, scikit-learn: %s" % ver.stdout.strip(), flush=True)
    cat_seconds(paths["parquet"])

    def dask_run(passes, max_rows, cluster, timeout=None):
        a = {"parquet": str(paths["parquet"]), "passes": passes, "max_rows": max_rows}
        a["cluster"] = cluster
        cmd = [bench, me, "_child", "dask", json.dumps(a)]
        sec, rss, rc, out, err = run_child(cmd, timeout=timeout)
        if rc is None:
            return None, rss, "timed out after %.0f s" % sec
        if rc != 0:
            return None, rss, "FAILED rc=%s: %s" % (rc, err.strip().splitlines()[-1:])
        return child_json(out), rss, ""

    res, rss, why = dask_run(1, None, False, timeout=args.dask_timeout)
    max_rows = None
    if res is None:
        print("  one pass over all %d rows: %s; using the first ~2M rows" % (n, why), flush=True)
        max_rows = DASK_SUBSET_ROWS
        res, rss, why = dask_run(1, max_rows, False)
    if res is None:
        print("  dask-ml FAILED: %s" % why, flush=True)
    else:
        dr = res["rows"]
        note = "%d partitions, log-loss(rg0) %.4f" % (res["npartitions"], res["logloss_rg0"])
        add("dask-ml fit, 1 pass (threads)", dr, res["seconds"], rss, note)
        res3, rss3, why3 = dask_run(3, max_rows, False)
        if res3 is None:
            print("  3 passes FAILED: %s" % why3, flush=True)
        else:
            note = "log-loss(rg0) %.4f" % res3["logloss_rg0"]
            add("dask-ml 3 x partial_fit (threads)", dr, res3["seconds"], rss3, note)
            add("dask-ml per pass of the 3 (threads)", dr, res3["seconds"] / 3, rss3, "")
        if not args.skip_cluster:
            resc, rssc, whyc = dask_run(1, max_rows, True, timeout=args.dask_timeout)
            if resc is None:
                print("  LocalCluster run: %s" % whyc, flush=True)
            else:
                note = "2 workers x 1 thread, log-loss(rg0) %.4f" % resc["logloss_rg0"]
                add("dask-ml fit, 1 pass (LocalCluster)", dr, resc["seconds"], rssc, note)

    # -- table
    print(
        "\nCPU: %s; page cache %s" % (cpu_name(), "dropped for cold" if cold_ok else "NOT dropped")
    )
    print("Floor = X.sum() of the warm float32 memmap over the same rows (%d columns).\n" % d)
    print("| measurement | rows | seconds | ns/row | x floor | peak RSS MiB | note |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, r, s, fr, rss_, note in rows_table:
        f = floor.get(fr, math.nan)
        print(
            "| %s | %s | %.3f | %.1f | %.2f | %s | %s |"
            % (
                name,
                format(r, ","),
                s,
                1e9 * s / r,
                s / f,
                "-" if rss_ is None else "%.0f" % rss_,
                note,
            )
        )


if __name__ == "__main__":
    main()
