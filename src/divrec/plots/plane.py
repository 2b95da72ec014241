"""The diversity-vs-recognizability plane (NeurIPS'22, Fig. 3): one point per model setting with
bootstrap CIs, humans as a black star with their per-class cloud. Colour = model family, legend =
the entry's ``label``; several entries of one family get different markers."""

from __future__ import annotations

import pandas as pd
from matplotlib.transforms import Bbox

from divrec.io import save_figure
from divrec.plots import MARKERS, family_color, plt


def entry_styles(summary: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """model entry -> (colour, marker): colour by family, markers tell entries of a family apart."""
    styles, used = {}, {}
    for model, family in dict.fromkeys(zip(summary["model"], summary["family"], strict=True)):
        n = used.get(family, 0)
        used[family] = n + 1
        marker = "*" if family == "human" else MARKERS[n % len(MARKERS)]
        styles[model] = (family_color(family), marker)
    return styles


def plane_figure(summary: pd.DataFrame, human_classes: pd.DataFrame | None = None,
                 annotate: bool = True):
    fig, ax = plt.subplots(figsize=(6.0, 3.8))
    if human_classes is not None and len(human_classes):
        ax.scatter(human_classes["diversity"], human_classes["recognizability"], s=6,
                   color="0.75", zorder=1, label="humans (per class)")
    styles = entry_styles(summary)
    for model, grp in summary.groupby("model", sort=False):
        color, marker = styles[model]
        human = grp["family"].iloc[0] == "human"
        label = "humans" if human else (grp["label"].iloc[0] if "label" in grp else model)
        ax.errorbar(
            grp["diversity"], grp["recognizability"],
            xerr=[grp["diversity"] - grp["diversity_lo"], grp["diversity_hi"] - grp["diversity"]],
            yerr=[grp["recognizability"] - grp["recognizability_lo"],
                  grp["recognizability_hi"] - grp["recognizability"]],
            fmt=marker, ms=14 if human else 5, color=color, ecolor=color, elinewidth=0.8,
            capsize=2, label=label, zorder=3,
        )
        if annotate and not human and len(grp) > 1:
            for _, r in grp.iterrows():
                xy = (r["diversity"], r["recognizability"])
                ax.annotate(r["point"].removeprefix("base~"), xy, fontsize=5, xytext=(3, 3),
                            textcoords="offset points", color=color)
    ax.set_xlabel("diversity (SimCLR feature std)")
    ax.set_ylabel("recognizability (ProtoNet 20-way accuracy)")
    # outside the axes: with a dozen points "best" still covered some of them
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    place_labels(ax)
    return fig


LABEL_OFFSETS = [(3, 3), (3, -8), (-3, 3), (-3, -8), (5, -2), (-5, -2), (3, 9), (3, -14)]


def place_labels(ax) -> None:
    """Move each point label to the first offset around its point (right-aligned left of it) where
    it stays inside the axes and covers no earlier label and no other point or error bar, else keep
    the first offset: sweep points close on the plane (a guided CFGDM next to a VAE-STN beta)
    otherwise print their names over each other."""
    renderer = ax.figure.canvas.get_renderer()
    placed, obstacles = [], _point_boxes(ax)
    for text in ax.texts:
        xy = ax.transData.transform(text.xy)
        others = [b for b in obstacles if not b.contains(*xy)]  # not its own point or bars
        for dx, dy in LABEL_OFFSETS + [LABEL_OFFSETS[0]]:
            text.set_position((dx, dy))
            text.set_horizontalalignment("left" if dx >= 0 else "right")
            box = text.get_window_extent(renderer)
            inside = ax.bbox.x0 <= box.x0 and box.x1 <= ax.bbox.x1
            if inside and not any(box.overlaps(b) for b in placed + others):
                break
        placed.append(text.get_window_extent(renderer))


def _point_boxes(ax) -> list:
    """Display-space boxes of every plotted model point and each of its error bars."""
    boxes = []
    for container in ax.containers:
        data_line, _, bars = container.lines
        for x, y in zip(*data_line.get_data(), strict=True):
            (px, py), = ax.transData.transform([(x, y)])
            boxes.append(Bbox([[px - 4, py - 4], [px + 4, py + 4]]))
        for coll in bars:
            for seg in coll.get_segments():
                (x0, y0), (x1, y1) = ax.transData.transform(seg)
                boxes.append(Bbox([[min(x0, x1) - 1, min(y0, y1) - 1],
                                   [max(x0, x1) + 1, max(y0, y1) + 1]]))
    return boxes


def write_plane(summary_path: str, human_classes_path: str | None, outs: list[str]) -> None:
    summary = pd.read_parquet(summary_path)
    human = pd.read_parquet(human_classes_path) if human_classes_path else None
    fig = plane_figure(summary, human)
    save_figure(fig, outs)


def plane_rule(job) -> None:
    write_plane(job.input.summary, job.input.humans, [job.output.png, job.output.pdf])
