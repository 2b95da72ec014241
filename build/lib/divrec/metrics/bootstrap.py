"""Bootstrap confidence intervals over classes (the unit the metrics are averaged over)."""

from __future__ import annotations

import numpy as np


def bootstrap_ci(values, n_boot: int = 1000, ci: float = 0.95, seed: int = 0):
    """(mean, lo, hi): percentile CI of the mean of ``values`` resampled with replacement."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(n_boot, v.size))].mean(1)
    alpha = (1 - ci) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    return float(v.mean()), float(lo), float(hi)
