"""airspeed velocity (asv) benchmark suite of fastsgd.

Run from ``benchmarks/`` (see ``benchmarks/TRACKING.md``).  The modules import
only numpy, scipy, scikit-learn (and its dependency threadpoolctl) and
fastsgd, never asv, so that ``tests/test_asv_suite.py`` can run every
benchmark once without asv installed.

The data size is chosen by the environment variable ``FASTSGD_ASV_PROFILE``:
``default`` (unset; scikit-learn's SGD benchmark shapes), ``large`` or ``ci``
(see ``common.PROFILES``).
"""
