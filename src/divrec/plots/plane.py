"""The diversity-vs-recognizability plane (NeurIPS'22, Fig. 3): one point per model setting with
bootstrap CIs, humans as a black star with their per-class cloud."""

from __future__ import annotations

import pandas as pd

from divrec.io import save_figure
from divrec.plots import family_color, plt


def plane_figure(summary: pd.DataFrame, human_classes: pd.DataFrame | None = None,
                 annotate: bool = True):
    fig, ax = plt.subplots(figsize=(4.8, 3.8))
    if human_classes is not None and len(human_classes):
        ax.scatter(human_classes["diversity"], human_classes["recognizability"], s=6,
                   color="0.75", zorder=1, label="humans (per class)")
    for family, grp in summary.groupby("family", sort=False):
        color = family_color(family)
        marker = "*" if family == "human" else "o"
        size = 14 if family == "human" else 6
        ax.errorbar(
            grp["diversity"], grp["recognizability"],
            xerr=[grp["diversity"] - grp["diversity_lo"], grp["diversity_hi"] - grp["diversity"]],
            yerr=[grp["recognizability"] - grp["recognizability_lo"],
                  grp["recognizability_hi"] - grp["recognizability"]],
            fmt=marker, ms=size, color=color, ecolor=color, elinewidth=0.8, capsize=2,
            label=grp["label"].iloc[0] if "label" in grp else family, zorder=3,
        )
        if annotate and family != "human":
            for _, r in grp.iterrows():
                ax.annotate(r["point"], (r["diversity"], r["recognizability"]), fontsize=5,
                            xytext=(3, 3), textcoords="offset points", color=color)
    ax.set_xlabel("diversity (SimCLR feature std)")
    ax.set_ylabel("recognizability (ProtoNet 20-way accuracy)")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def write_plane(summary_path: str, human_classes_path: str | None, outs: list[str]) -> None:
    summary = pd.read_parquet(summary_path)
    human = pd.read_parquet(human_classes_path) if human_classes_path else None
    fig = plane_figure(summary, human)
    save_figure(fig, outs)
    plt.close(fig)
