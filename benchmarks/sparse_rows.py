"""Per-sample SGD on CSR rows: fastsgd and scikit-learn side by side.

For each row size (non-zeros per row), a CSR matrix of 12,000,000 non-zeros
over 20,000 features (random columns, sorted, values in [0, 1)) with labels
from a random linear model; both fit log_loss, L2, 5 epochs, tol=None, in one
run, the two interleaved, best of --repeat.  Prints the epoch time per row
and the speed-up.  Not part of the package; a quick check of the sparse loop:

    python benchmarks/sparse_rows.py                # nnz 10, 40, 200
    python benchmarks/sparse_rows.py --nnz 40 --repeat 5
"""

import argparse
import time

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import SGDClassifier as SkSGD

from fastsgd import SGDClassifier


def data(nnz, n_features=20000, total=12_000_000, seed=0):
    rng = np.random.default_rng(seed)
    n = total // nnz
    ind = np.sort(rng.integers(0, n_features, size=(n, nnz)), axis=1)
    X = sp.csr_matrix(
        (rng.random(n * nnz), ind.ravel(), np.arange(0, n * nnz + 1, nnz)), shape=(n, n_features)
    )
    X.sum_duplicates()
    w = rng.standard_normal(n_features)
    y = (X @ w + 0.5 * rng.standard_normal(n) > 0).astype(np.int64)
    return X, y


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nnz", type=int, nargs="+", default=[10, 40, 200])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=5)
    args = ap.parse_args()
    params = dict(loss="log_loss", alpha=1e-4, max_iter=args.epochs, tol=None, random_state=0)
    print(
        f"{'nnz/row':>8} {'rows':>9} {'sklearn ns/row':>15} {'fastsgd ns/row':>15} {'speed-up':>9}"
    )
    for nnz in args.nnz:
        X, y = data(nnz)
        best = {"sklearn": np.inf, "fastsgd": np.inf}
        for _ in range(args.repeat):
            for name, est in (("sklearn", SkSGD(**params)), ("fastsgd", SGDClassifier(**params))):
                t = time.perf_counter()
                est.fit(X, y)
                best[name] = min(best[name], time.perf_counter() - t)
        per_row = {k: v / args.epochs / X.shape[0] * 1e9 for k, v in best.items()}
        print(
            f"{nnz:>8} {X.shape[0]:>9} {per_row['sklearn']:>15.1f} {per_row['fastsgd']:>15.1f}"
            f" {best['sklearn'] / best['fastsgd']:>8.1f}x"
        )


if __name__ == "__main__":
    main()
