"""A memory-mapped X larger than the process may allocate still fits (issue 19,
item 1): fit never copies X.  A child process limits its private writable
memory (RLIMIT_DATA) to what it has after the imports plus less than the file
size, fits a read-only np.memmap of the file, and must end with the same
coef_, bit for bit, as a fit of the same array held in memory."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

resource = pytest.importorskip("resource")  # POSIX only

N_ROWS, N_COLS = 600_000, 100  # float32: 229 MiB of X


CHILD = textwrap.dedent(
    """
    import json, resource, sys
    import numpy as np
    from fastsgd import SGDClassifier, SGDRegressor

    path, n_rows, n_cols, headroom, params = sys.argv[1:6]
    n_rows, n_cols, headroom = int(n_rows), int(n_cols), int(headroom)
    params = json.loads(params)
    y = np.load(path + ".y.npy")
    X = np.memmap(path, dtype=np.float32, mode="r", shape=(n_rows, n_cols))
    # warm the code paths on a small slice before the limit
    kind = params.pop("kind")
    cls = SGDClassifier if kind == "clf" else SGDRegressor
    cls(**params).fit(X[:2000], y[:2000])
    with open("/proc/self/status") as f:
        vm_data = [int(l.split()[1]) * 1024 for l in f if l.startswith("VmData:")][0]
    limit = vm_data + headroom
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    try:
        big = np.ones(X.nbytes // 8 + 1)  # a copy of X would not fit
        big[0] = 0
        print("LIMIT-NOT-ENFORCED")
        sys.exit(3)
    except MemoryError:
        pass
    est = cls(**params).fit(X, y)
    np.save(path + ".coef.npy", est.coef_)
    print("OK", vm_data, limit, X.nbytes)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_DATA and /proc")
@pytest.mark.skipif(
    "libasan" in os.environ.get("LD_PRELOAD", ""),
    reason="AddressSanitizer's allocator (redzones, quarantine) does not fit a data limit",
)
@pytest.mark.parametrize(
    "params",
    [
        dict(kind="clf", loss="log_loss", max_iter=2, tol=None, random_state=0),
        dict(kind="clf", optimizer="adam", batch_size=256, max_iter=2, tol=None, random_state=0),
        dict(kind="reg", max_iter=2, tol=None, random_state=0, shuffle=False),
    ],
    ids=["per-sample", "adam", "regressor-storage-order"],
)
def test_memmap_fit_under_a_data_limit_below_the_file_size(tmp_path, params):
    import json

    from fastsgd import SGDClassifier, SGDRegressor

    rng = np.random.default_rng(0)
    path = str(tmp_path / "X.f32")
    X = np.memmap(path, dtype=np.float32, mode="w+", shape=(N_ROWS, N_COLS))
    for start in range(0, N_ROWS, 100_000):
        X[start : start + 100_000] = rng.standard_normal((min(100_000, N_ROWS - start), N_COLS))
    X.flush()
    w = rng.standard_normal(N_COLS)
    score = np.asarray(X[:, :10] @ w[:10])
    y = (score > 0).astype(np.int32) if params["kind"] == "clf" else score
    np.save(path + ".y.npy", y)
    del X
    headroom = 96 << 20  # less than half the file
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            path,
            str(N_ROWS),
            str(N_COLS),
            str(headroom),
            json.dumps(params),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("OK"), proc.stdout
    in_memory = np.fromfile(path, dtype=np.float32).reshape(N_ROWS, N_COLS)
    kind = params.pop("kind")
    cls = SGDClassifier if kind == "clf" else SGDRegressor
    expected = cls(**params).fit(in_memory, y).coef_
    np.testing.assert_array_equal(np.load(path + ".coef.npy"), expected)
