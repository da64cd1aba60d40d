"""Every build of the epoch loops this CPU can run gives scikit-learn's result.

The engine is compiled once per instruction set (baseline, x86-64-v3,
x86-64-v4) and picks one at run time; FASTSGD_KERNELS caps the choice, so each
is checked here in a subprocess (the choice is made per fit, but a fresh
process keeps the test independent of the parent's environment).
"""

import json
import os
import subprocess
import sys

import pytest

CODE = r"""
import json, warnings
import numpy as np, scipy.sparse as sp
import fastsgd, fastsgd._engine as eng
from sklearn import linear_model as sk
warnings.simplefilter("ignore")
rng = np.random.RandomState(0)
X = rng.randn(300, 37) * 0.3           # 37 features: every vector width has a tail
y = (X[:, 0] + 0.3 * rng.randn(300) > 0).astype(int)
y3 = np.digitize(X[:, 1], [-0.2, 0.2])
errs = []
for Xi in (X, X.astype(np.float32), sp.csr_matrix(X)):
    for loss, yy, pen, avg in [("log_loss", y, "l2", False), ("hinge", y3, "elasticnet", True),
                               ("modified_huber", y, "l1", 10)]:
        kw = dict(loss=loss, penalty=pen, average=avg, alpha=0.01, learning_rate="optimal",
                  shuffle=False, max_iter=5, tol=None)
        a = sk.SGDClassifier(**kw).fit(Xi, yy)
        b = fastsgd.SGDClassifier(**kw).fit(Xi, yy)
        # float32: both libraries round differently inside (fastsgd keeps the
        # scale factor and the products in double), so agreement is to 1e-3
        tol = 1e-3 if Xi.dtype == np.float32 else 1e-8
        errs.append(bool(np.allclose(a.coef_, b.coef_, rtol=tol, atol=tol * 1e-2)))
print(json.dumps({"kernels": eng.kernels_name(), "ok": errs}))
"""

VARIANTS = ["baseline", "x86-64-v3", "x86-64-v4"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_kernel_build_matches_sklearn(variant):
    env = dict(os.environ, FASTSGD_KERNELS=variant)
    out = subprocess.run(
        [sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # the cap is honoured, or a lower build is used where the CPU lacks it
    assert VARIANTS.index(result["kernels"]) <= VARIANTS.index(variant)
    assert all(result["ok"]), result
