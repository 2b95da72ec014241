"""Distance to humans: every model point ranked by its distance to the human point in the
diversity-recognizability plane (``divrec.aggregate.distance_to_humans``), closest at the top."""

from __future__ import annotations

import numpy as np
import pandas as pd

from divrec.io import save_figure
from divrec.plots import family_color, plt, point_label


def ranked(summary: pd.DataFrame) -> pd.DataFrame:
    """Model rows with a finite distance, closest to humans first."""
    rows = summary[(summary["family"] != "human") & np.isfinite(summary["distance_to_human"])]
    return rows.sort_values("distance_to_human", kind="stable").reset_index(drop=True)


def distance_figure(summary: pd.DataFrame, title: str = ""):
    rows = ranked(summary)
    fig, ax = plt.subplots(figsize=(4.8, 0.9 + 0.22 * max(len(rows), 1)))
    if rows.empty:
        ax.text(0.5, 0.5, "no model point with a distance to humans\n(humans not evaluated?)",
                ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    y = np.arange(len(rows))[::-1]  # closest at the top
    labels = [point_label(r.get("label", r["model"]), r["point"]) for _, r in rows.iterrows()]
    ax.barh(y, rows["distance_to_human"], color=[family_color(f) for f in rows["family"]],
            height=0.7)
    ax.set_yticks(y, labels, fontsize=6)
    ax.set_xlabel("distance to humans (min-max normalised diversity-recognizability plane)")
    ax.grid(axis="y", visible=False)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def distance_rule(job) -> None:
    fig = distance_figure(pd.read_parquet(job.input[0]), job.wildcards.dataset)
    save_figure(fig, [job.output.png, job.output.pdf])
