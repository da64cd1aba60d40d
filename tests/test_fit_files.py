"""fastsgd.fit_files (issue 19, item 2): Parquet and CSV files read a record
batch at a time, either into a binary cache that the fit memory-maps or again
every epoch (the stream, tests/test_streams.py).  The fit equals the
in-memory fit bit for bit, and it runs in a child process whose private
memory is capped below the data's size."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
import pyarrow.csv as pacsv  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

import fastsgd  # noqa: E402
from fastsgd import SGDClassifier  # noqa: E402
from fastsgd._files import BATCH_ROWS  # noqa: E402


def write(path, X, y, fmt, parts=1):
    cols = {"f%d" % j: X[:, j] for j in range(X.shape[1])}
    cols["y"] = y
    table = pa.table(cols)
    step = -(-len(y) // parts)
    paths = []
    for k in range(parts):
        p = "%s-%d.%s" % (path, k, fmt)
        piece = table.slice(k * step, step)
        if fmt == "parquet":
            # row groups of BATCH_ROWS rows: pyarrow decodes a row group whole
            pq.write_table(piece, p, row_group_size=BATCH_ROWS)
        else:
            pacsv.write_csv(piece, p)
        paths.append(p)
    return paths


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_streamed_fit_equals_the_in_memory_fit(tmp_path, fmt):
    rng = np.random.default_rng(0)
    n = 3 * BATCH_ROWS + 123  # several batches per file, a partial last one
    X = rng.standard_normal((n, 6))
    y = (X @ np.linspace(-1, 1, 6) > 0).astype(np.int64)
    write(str(tmp_path / "data"), X, y, fmt, parts=2)
    params = dict(loss="log_loss", max_iter=3, tol=None, random_state=0)
    cache = tmp_path / "cache"
    est = fastsgd.fit_files(SGDClassifier(**params), str(tmp_path / ("data-*." + fmt)), "y",
                            cache_dir=str(cache))  # fmt: skip
    # (CSV: pyarrow writes float64 in a form that reads back exactly; the cache check
    # below fails otherwise)
    ref = SGDClassifier(**params).fit(X, y)
    np.testing.assert_array_equal(est.coef_, ref.coef_)
    assert list(est.feature_names_in_) == ["f%d" % j for j in range(6)]
    # the cache holds X in float64, C order
    cached = np.fromfile(cache / "X.bin").reshape(n, 6)
    np.testing.assert_array_equal(cached, X)
    import pandas as pd

    frame = pd.DataFrame(X, columns=["f%d" % j for j in range(6)])
    np.testing.assert_array_equal(est.predict(frame), ref.predict(X))


CHILD = textwrap.dedent(
    """
    import json, resource, sys
    import numpy as np
    import pyarrow  # noqa: F401
    import fastsgd
    from fastsgd import SGDClassifier

    path, cache, headroom, nbytes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    stream = sys.argv[5] == "stream"  # read the files every epoch, no cache
    fastsgd.fit_files(SGDClassifier(max_iter=1), path.replace("big", "small"), "y",
                      cache_dir=cache + "-warm")
    with open("/proc/self/status") as f:
        vm_data = [int(l.split()[1]) * 1024 for l in f if l.startswith("VmData:")][0]
    limit = vm_data + headroom
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    try:
        big = np.ones(nbytes // 8 + 1)
        big[0] = 0
        print("LIMIT-NOT-ENFORCED")
        sys.exit(3)
    except MemoryError:
        pass
    est = fastsgd.fit_files(SGDClassifier(loss="log_loss", max_iter=2, tol=None,
                                          random_state=0, shuffle=not stream), path, "y",
                            cache_dir=None if stream else cache,
                            window_bytes=4 << 20)
    np.save(cache + "-coef.npy", est.coef_)
    with open("/proc/self/status") as f:
        hwm = [l for l in f if l.startswith("VmHWM:")][0]
    print("OK", vm_data, limit, hwm.strip())
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_DATA and /proc")
@pytest.mark.skipif(
    "libasan" in os.environ.get("LD_PRELOAD", ""),
    reason="AddressSanitizer's allocator (redzones, quarantine) does not fit a data limit",
)
@pytest.mark.parametrize("mode", ["cache", "stream"])
def test_streamed_fit_under_a_data_limit_below_the_data_size(tmp_path, mode):
    rng = np.random.default_rng(1)
    n, d = 400_000, 100  # 305 MiB of float64
    X = rng.standard_normal((n, d))
    y = (X[:, :5].sum(axis=1) > 0).astype(np.int64)
    write(str(tmp_path / "big"), X, y, "parquet", parts=2)
    write(str(tmp_path / "small"), X[:2000], y[:2000], "parquet")
    # the stream's working set: windows, the pool, two row groups being read
    headroom = 160 << 20
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "big-*.parquet"), str(tmp_path / "cache"),
         str(headroom), str(X.nbytes), mode],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("OK"), proc.stdout
    ref = SGDClassifier(
        loss="log_loss", max_iter=2, tol=None, random_state=0, shuffle=mode == "cache"
    ).fit(X, y)
    coef = np.load(str(tmp_path / "cache") + "-coef.npy")
    if mode == "cache":
        np.testing.assert_array_equal(coef, ref.coef_)
    else:
        # the same updates; the look-ahead kernel restarts at each window,
        # which rounds differently in the last bits
        np.testing.assert_allclose(coef, ref.coef_, rtol=1e-12, atol=1e-14)


def test_streamed_errors_name_the_file_and_row(tmp_path):
    rng = np.random.default_rng(2)
    n = 2 * BATCH_ROWS
    X = rng.standard_normal((n, 3))
    X[BATCH_ROWS + 5, 1] = np.nan  # in the second record batch
    y = (X[:, 0] > 0).astype(np.int64)
    write(str(tmp_path / "d"), X, y, "parquet")
    with pytest.raises(ValueError, match=r"d-0.parquet: column 'f1' holds nan at row %d"
                       % (BATCH_ROWS + 5)):  # fmt: skip
        fastsgd.fit_files(SGDClassifier(), str(tmp_path / "d-0.parquet"), "y")
    # a string in a later CSV block than the one the types were inferred from
    lines = ["a,y"] + ["%d,%d" % (i, i % 2) for i in range(1_000_000)] + ["oops,1"]
    (tmp_path / "late.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="late.csv: .*oops"):
        fastsgd.fit_files(SGDClassifier(), str(tmp_path / "late.csv"), "y")
