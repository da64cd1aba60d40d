"""Ctrl-C (SIGINT) during a long fit stops it at the end of the current epoch
with KeyboardInterrupt, in every mode and without verbose output, and the
estimator keeps its previous state."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

SCRIPT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from fastsgd import SGDClassifier

    params = eval(sys.argv[1])
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20_000, 20))
    y = np.arange(20_000) % int(sys.argv[2])
    est = SGDClassifier(max_iter=5, tol=None, random_state=0, **params).fit(X, y)
    before = est.coef_.copy()
    est.set_params(max_iter=1_000_000)
    print("fitting", flush=True)
    try:
        est.fit(X, y)
    except KeyboardInterrupt:
        print("interrupted %.6f" % time.monotonic(), flush=True)
        assert np.array_equal(est.coef_, before), "the estimator changed"
        assert est.max_iter == 1_000_000
        print("state kept", flush=True)
    """
)

MODES = [
    ({}, 2),
    ({}, 3),
    ({"parallel": "shards", "n_shards": 4}, 2),
    ({"batch_size": 64, "optimizer": "adam"}, 2),
    ({"batch_size": "full"}, 3),
    ({"batch_size": 64, "multi_class": "multinomial", "loss": "log_loss"}, 3),
]


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("params, n_classes", MODES)
def test_sigint_stops_a_fit_within_a_second(tmp_path, params, n_classes):
    script = tmp_path / "long_fit.py"
    script.write_text(SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script), repr(params), str(n_classes)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "fitting"
        time.sleep(0.5)  # well inside the fit
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    lines = out.split()
    stopped = float(lines[lines.index("interrupted") + 1])
    assert stopped - sent < 1.0, "stopped %.3f s after SIGINT" % (stopped - sent)
    assert "state kept" in out
