#!/usr/bin/env python
"""How long a fit takes to stop after Ctrl-C (SIGINT), in every mode.

Runs the scripts of tests/test_interrupt.py in child processes and sends
SIGINT into their fits: the short-epoch modes (20,000 x 20, epochs of a few
milliseconds: the stop comes at the epoch's end or inside it) 0.5 s into the
fit, the long-epoch modes (epochs of one to a few seconds: 50,000,000 x 1 for
the per-sample engine, 300,000 x 200 with 200 classes for the batch engine)
0.3 s into an epoch.  Prints the epoch length of the long modes and the
latency from the signal to the KeyboardInterrupt caught in the child, min /
median / max over --runs runs.

    python benchmarks/interrupt_latency.py --runs 5
"""

import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import test_interrupt as cases  # noqa: E402

from fastsgd.benchmarking import cpu_name  # noqa: E402


def latency(script, args, delay):
    """(first line's numbers, seconds from SIGINT to the caught interrupt)."""
    first, out, sent, stopped = cases.interrupt_child(script, args, delay)
    if "state kept" not in out:
        raise RuntimeError("the child changed the estimator:\n" + out)
    return first[1:], stopped - sent


def summary(values):
    return "%.1f / %.1f / %.1f" % (min(values), statistics.median(values), max(values))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print("CPU: %s, %d CPUs" % (cpu_name(), os.cpu_count()))
    with tempfile.TemporaryDirectory() as tmp:
        short = os.path.join(tmp, "short.py")
        long_ = os.path.join(tmp, "long.py")
        with open(short, "w") as f:
            f.write(cases.SCRIPT)
        with open(long_, "w") as f:
            f.write(cases.LONG_EPOCH_SCRIPT)
        print("| mode | epoch (s) | latency (ms) min / median / max |")
        print("|---|---|---|")
        for params, shape in cases.LONG_MODES:
            runs = [latency(long_, [repr(params), shape], 0.3) for _ in range(args.runs)]
            epochs = [float(r[0][0]) for r in runs]
            print(
                "| %s, %s | %.2f-%.2f | %s |"
                % (shape, params, min(epochs), max(epochs), summary([1e3 * r[1] for r in runs])),
                flush=True,
            )
        for params, n_classes in cases.MODES:
            runs = [latency(short, [repr(params), str(n_classes)], 0.5) for _ in range(args.runs)]
            print(
                "| 20,000 x 20, %d classes, %s | short | %s |"
                % (n_classes, params, summary([1e3 * r[1] for r in runs])),
                flush=True,
            )


if __name__ == "__main__":
    main()
