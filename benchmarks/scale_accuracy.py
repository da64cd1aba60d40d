#!/usr/bin/env python
"""scale="standard" against a StandardScaler pipeline on unscaled features.

20,000 x 20 rows whose features have scales from 1e-3 to 1e3 and offsets
(tests/test_streams.py's ``unscaled``), 15,000 to train and 5,000 held out,
10 epochs: held-out accuracy of fastsgd with ``scale="standard"``, of the
pipeline ``StandardScaler() -> SGDClassifier`` and of the unscaled fit, for
per-sample SGD and for mini-batch Adam.

    python benchmarks/scale_accuracy.py
"""

import pathlib
import sys

from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastsgd import SGDClassifier

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from test_streams import unscaled  # noqa: E402


def main():
    X, y = unscaled(n=20000, d=20, seed=3)
    Xt, yt, X, y = X[15000:], y[15000:], X[:15000], y[:15000]
    print("| model | scale='standard' | StandardScaler pipeline | unscaled |")
    print("| --- | ---: | ---: | ---: |")
    for name, params in (
        ("per-sample SGD", {}),
        ("Adam, batch 64", dict(batch_size=64, optimizer="adam")),
    ):
        kw = dict(max_iter=10, tol=None, random_state=0, **params)
        s = SGDClassifier(scale="standard", **kw).fit(X, y).score(Xt, yt)
        p = make_pipeline(StandardScaler(), SGDClassifier(**kw)).fit(X, y).score(Xt, yt)
        r = SGDClassifier(**kw).fit(X, y).score(Xt, yt)
        print("| %s | %.4f | %.4f | %.4f |" % (name, s, p, r))


if __name__ == "__main__":
    main()
