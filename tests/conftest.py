import os

# scikit-learn's array-API estimator checks skip themselves unless SciPy's
# array-API mode is on; turn it on so that every check of
# parametrize_with_checks actually runs (must happen before SciPy is imported).
os.environ.setdefault("SCIPY_ARRAY_API", "1")
