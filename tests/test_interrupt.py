"""Ctrl-C (SIGINT) during a long fit stops it within a fraction of a second
with KeyboardInterrupt, in every mode and without verbose output, between
epochs and inside an epoch that lasts longer than a second, and the estimator
keeps its previous state."""

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


def interrupt_child(script, args, delay):
    """Runs script with args in a child process, waits for its first line
    (the fit starts), sleeps `delay` s and sends SIGINT.  Returns the first
    line's words, the child's output, the monotonic time of the signal and
    the time the child printed after "interrupted"; asserts a clean exit."""
    proc = subprocess.Popen(
        [sys.executable, str(script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline().split()
        assert first, proc.stderr.read()
        time.sleep(delay)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    words = out.split()
    return first, out, sent, float(words[words.index("interrupted") + 1])


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
    first, out, sent, stopped = interrupt_child(script, [repr(params), str(n_classes)], 0.5)
    assert first == ["fitting"]
    assert stopped - sent < 1.0, "stopped %.3f s after SIGINT" % (stopped - sent)
    assert "state kept" in out


LONG_EPOCH_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from fastsgd import SGDClassifier, SGDRegressor

    params = eval(sys.argv[1])
    if sys.argv[2] == "rows":
        # many short rows: the per-sample engine's epoch over 50M rows
        X = np.random.default_rng(0).standard_normal((50_000_000, 1), dtype=np.float32)
        y = X[:, 0].astype(np.float64)
        est = SGDRegressor(max_iter=1, tol=None, random_state=0, **params)
    else:
        # many outputs: the batch engine's epoch costs rows x features x classes
        rng = np.random.default_rng(0)
        X = rng.standard_normal((300_000, 200), dtype=np.float32)
        y = np.arange(300_000) % 200
        est = SGDClassifier(max_iter=1, tol=None, random_state=0, **params)
    start = time.monotonic()
    est.fit(X, y)
    epoch = time.monotonic() - start
    before = (est.coef_.copy(), np.copy(est.intercept_), est.t_)
    est.set_params(max_iter=100)
    print("fitting %.6f" % epoch, flush=True)
    try:
        est.fit(X, y)
    except KeyboardInterrupt:
        print("interrupted %.6f" % time.monotonic(), flush=True)
        assert np.array_equal(est.coef_, before[0]), "the estimator changed"
        assert np.array_equal(est.intercept_, before[1]) and est.t_ == before[2]
        print("state kept", flush=True)
    """
)

LONG_MODES = [
    ({"penalty": "elasticnet"}, "rows"),
    ({}, "rows"),
    ({"parallel": "shards", "n_shards": 4}, "rows"),
    ({"batch_size": 256}, "outputs"),
    (
        {"batch_size": 256, "optimizer": "adam", "multi_class": "multinomial", "loss": "log_loss"},
        "outputs",
    ),
    ({"batch_size": "full"}, "outputs"),
]


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("params, shape", LONG_MODES)
def test_sigint_stops_a_long_epoch(tmp_path, params, shape):
    """SIGINT 0.3 s into an epoch that lasts about a second or more stops the
    fit within the epoch: well before the epoch would have ended, and within
    a second."""
    script = tmp_path / "long_epoch.py"
    script.write_text(LONG_EPOCH_SCRIPT)
    first, out, sent, stopped = interrupt_child(script, [repr(params), shape], 0.3)
    assert first[0] == "fitting"
    epoch = float(first[1])
    # an epoch-end check alone would stop after epoch - 0.3 s
    assert stopped - sent < min(1.0, 0.5 * epoch), "stopped %.3f s after SIGINT, epoch %.3f s" % (
        stopped - sent,
        epoch,
    )
    assert "state kept" in out
