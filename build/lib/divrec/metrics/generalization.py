"""Generalization curves (ICML'23): recognizability as a function of originality.

Every scored sample is one (originality, recognizability) pair: its SimCLR distance to the exemplar
and its accuracy over the 20-way tasks of its class. Pairs are pooled over classes, binned by
originality, and the mean recognizability per bin is plotted against the bin centre.

Binning choices (the paper does not state them): equal-width bins over the COMMON range, i.e. from
the smallest to the largest originality of all curves drawn together, so that every curve uses the
same edges and a curve's extent along x shows its originality range. A bin holding fewer than
``min_count`` samples of a curve is left empty (NaN) for that curve instead of showing a mean of a
handful of samples. The band is a percentile bootstrap CI of the bin mean, resampling the bin's
samples (pooled over classes, like the curve itself).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

CURVE_COLUMNS = ["bin", "left", "right", "centre", "n", "recognizability", "lo", "hi"]


def valid_pairs(per_sample: pd.DataFrame) -> pd.DataFrame:
    """Rows that are real queries with finite values (drops humans' excluded exemplars)."""
    keep = np.isfinite(per_sample["originality"]) & np.isfinite(per_sample["recognizability"])
    if "excluded" in per_sample:
        keep &= ~per_sample["excluded"].astype(bool)
    return per_sample[keep]


def common_edges(originalities: Iterable[np.ndarray], n_bins: int = 10) -> np.ndarray:
    """``n_bins + 1`` equal-width edges from the overall minimum to the overall maximum."""
    values = [np.asarray(o, dtype=np.float64) for o in originalities]
    values = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.array([])
    if values.size == 0:
        raise ValueError("no finite originality values to bin")
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:  # all equal: one bin of width 1 around the value keeps the curve drawable
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, n_bins + 1)


def bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of each value: [left, right) except the last bin, which also holds the right edge.
    Values outside the edges get -1."""
    idx = np.searchsorted(edges, values, side="right") - 1
    idx[values == edges[-1]] = len(edges) - 2
    idx[(values < edges[0]) | (values > edges[-1])] = -1
    return idx


def bin_curve(originality, recognizability, edges: np.ndarray, n_boot: int = 1000,
              ci: float = 0.95, seed: int = 0, min_count: int = 1) -> pd.DataFrame:
    """Mean recognizability per originality bin with a bootstrap CI -> ``CURVE_COLUMNS``."""
    o = np.asarray(originality, dtype=np.float64)
    r = np.asarray(recognizability, dtype=np.float64)
    idx = bin_index(o, edges)
    rng = np.random.default_rng(seed)
    alpha = (1 - ci) / 2
    rows = []
    for b in range(len(edges) - 1):
        v = r[idx == b]
        mean = lo = hi = np.nan
        if v.size >= max(min_count, 1):
            mean = float(v.mean())
            boots = v[rng.integers(0, v.size, size=(n_boot, v.size))].mean(1)
            lo, hi = (float(q) for q in np.quantile(boots, [alpha, 1 - alpha]))
        rows.append((b, edges[b], edges[b + 1], (edges[b] + edges[b + 1]) / 2, int(v.size),
                     mean, lo, hi))
    return pd.DataFrame(rows, columns=CURVE_COLUMNS)


def generalization_curves(per_sample: pd.DataFrame, n_bins: int = 10, n_boot: int = 1000,
                          ci: float = 0.95, seed: int = 0, min_count: int = 10,
                          by: tuple[str, ...] = ("model", "point")) -> pd.DataFrame:
    """One curve per group of ``by`` over shared edges; keeps the ids (family, label) columns."""
    data = valid_pairs(per_sample)
    if data.empty:
        return pd.DataFrame(columns=[*by, "family", "label", *CURVE_COLUMNS])
    edges = common_edges([data["originality"].to_numpy()], n_bins)
    out = []
    for key, grp in data.groupby(list(by), sort=False):
        curve = bin_curve(grp["originality"], grp["recognizability"], edges, n_boot, ci, seed,
                          min_count)
        ids = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True))
        for col in ("family", "label"):
            ids[col] = grp[col].iloc[0] if col in grp else ids.get("model", "")
        out.append(curve.assign(**ids))
    table = pd.concat(out, ignore_index=True)
    return table[[*by, "family", "label", *CURVE_COLUMNS]]
