"""Collect per-point summaries into one table and place every model relative to humans.

Distance to humans (the NeurIPS paper does not give its formula): both axes are min-max
normalised over all rows (humans included), then the Euclidean distance to the human point is
taken: scale-free, so neither axis dominates because of its units."""

from __future__ import annotations

import numpy as np
import pandas as pd


def human_distance(div: np.ndarray, rec: np.ndarray, human: int) -> np.ndarray:
    """div, rec [P, ...] (trailing axes, e.g. bootstrap replicates, kept) -> each point's distance
    to point ``human``, axes min-max normalised over the P points (a constant one unscaled)."""
    def norm(v):
        span = v.max(0) - v.min(0)
        return (v - v.min(0)) / np.where(span > 0, span, 1)

    dn, rn = norm(np.asarray(div, float)), norm(np.asarray(rec, float))
    return np.sqrt((dn - dn[human]) ** 2 + (rn - rn[human]) ** 2)


def distance_to_humans(summary: pd.DataFrame) -> pd.Series:
    is_human = (summary["family"] == "human").to_numpy()
    if not is_human.any():
        return pd.Series(np.nan, index=summary.index)
    d = human_distance(summary["diversity"].to_numpy(), summary["recognizability"].to_numpy(),
                       int(np.flatnonzero(is_human)[0]))
    return pd.Series(d, index=summary.index)


def aggregate_rule(job) -> None:
    from divrec.io import save_parquet
    from divrec.provenance import provenance

    summary = pd.concat([pd.read_parquet(p) for p in job.input], ignore_index=True)
    summary["distance_to_human"] = distance_to_humans(summary)
    meta = provenance({"inputs": list(job.input)}, job.cfg["seed"], "cpu")
    save_parquet(summary, job.output[0], meta)
