"""fastsgd: stochastic gradient descent for linear models, fast.

``from fastsgd import SGDClassifier, SGDRegressor`` gives drop-in
replacements for scikit-learn's estimators of the same names, whose epochs run
in C with OpenMP.
"""

from ._engine import openmp_enabled
from ._files import fit_files
from ._gradcheck import check_gradient
from ._objective import objective
from ._oneclass import SGDOneClassSVM
from ._persist import load, save
from ._sgd import SGDClassifier, SGDRegressor

__all__ = [
    "SGDClassifier",
    "SGDOneClassSVM",
    "SGDRegressor",
    "check_gradient",
    "fit_files",
    "load",
    "objective",
    "openmp_enabled",
    "save",
]
__version__ = "0.1.0"
