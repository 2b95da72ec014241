"""Collect per-point summaries into one table and place every model relative to humans.

Distance to humans (the NeurIPS paper does not give its formula): both axes are min-max
normalised over all rows of the table (humans included), then the Euclidean distance to the
human point is taken. Scale-free, so neither axis dominates because of its units.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def distance_to_humans(summary: pd.DataFrame) -> pd.Series:
    human = summary[summary["family"] == "human"]
    if human.empty:
        return pd.Series(np.nan, index=summary.index)
    cols = ["diversity", "recognizability"]
    lo, hi = summary[cols].min(), summary[cols].max()
    norm = (summary[cols] - lo) / (hi - lo).replace(0, 1)
    h = norm.loc[human.index[0]]
    return np.sqrt(((norm - h) ** 2).sum(axis=1))


def aggregate(paths: list[str]) -> pd.DataFrame:
    summary = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    summary["distance_to_human"] = distance_to_humans(summary)
    return summary
