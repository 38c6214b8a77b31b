"""Log loss whose value does not depend on the CPU: the C library's ``log``, never NumPy's SIMD kernel.

scikit-learn's ``log_loss`` (1.9) takes ``np.log`` of the probabilities. On a CPU with AVX-512 NumPy
computes float64 ``log`` with its own SIMD code, which differs from the C library's in the last bit for
some inputs (``NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL"`` switches it back); the per-fold losses of
column selection then differed between machines, and so did the training record. Here each ``log`` is
``math.log``, one value at a time, as NumPy itself computes it without AVX-512: the same formula as
scikit-learn's (probabilities clipped to [eps, 1 - eps]), so the value equals scikit-learn's on that path.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.metrics import make_scorer

from attrition.canonical_json import per_distinct

_EPS = float(np.finfo(np.float64).eps)


def log_loss(y_true: Any, proba: Any) -> float:
    """Mean negative log-likelihood of binary labels (0/1) under positive-class probabilities."""
    y = np.asarray(y_true).ravel()
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim == 2:  # predict_proba's two columns: the positive class is the second
        p = p[:, 1]
    chosen = np.clip(np.where(y == 1, p, 1.0 - p), _EPS, 1.0 - _EPS)
    return float(-np.mean(per_distinct(math.log, chosen)))


# What GridSearchCV ranks grid points by: scikit-learn's "neg_log_loss" with the log above.
NEG_LOG_LOSS = make_scorer(log_loss, greater_is_better=False, response_method="predict_proba")
