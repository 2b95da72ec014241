"""Guidance-scale sweep (ICML'23, Fig. 3): generalization curves of the guidance variants of a
classifier-free-guided diffusion entry (points ``<train point>~guidance=<γ>``) against humans.

One panel per (entry, trained point) that has guidance variants; the curves of a panel share their
originality bins (humans included), coloured from low γ (dark) to high γ (light). When no entry
has guidance variants the figure says so instead of failing, so a config without CFGDM still
produces every declared output.
"""

from __future__ import annotations

import re

import pandas as pd

from divrec.config import split_variant
from divrec.io import save_figure
from divrec.metrics.generalization import generalization_curves
from divrec.plots import panel_grid, plt
from divrec.plots.generalization import draw_curves, read_per_sample

_GUIDANCE = re.compile(r"(?:^|[~_])guidance=([^_~]+)")


def guidance_value(point: str) -> float | None:
    """γ of a sampling-variant point name ("base~guidance=2" -> 2.0), else None."""
    m = _GUIDANCE.search(split_variant(point)[1])
    if not m:
        return None
    try:
        return float(m.group(1))
    except ValueError:
        return None


def is_guidance_point(point: str) -> bool:
    return guidance_value(point) is not None


def guidance_panels(per_sample: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    """[(model, trained point, rows of its guidance variants)] in table order."""
    rows = per_sample[per_sample["point"].map(is_guidance_point).astype(bool)]
    if rows.empty:
        return []
    base = rows["point"].map(lambda p: split_variant(p)[0])
    return [(m, b, grp) for (m, b), grp in rows.groupby([rows["model"], base], sort=False)]


def _colors(points: list[str]) -> dict[str, tuple]:
    order = sorted(points, key=guidance_value)
    cmap = plt.get_cmap("viridis")
    return {p: cmap(0.85 * i / max(len(order) - 1, 1)) for i, p in enumerate(order)}


def guidance_figure(per_sample: pd.DataFrame, n_bins: int = 10, min_count: int = 10,
                    n_boot: int = 1000, ci: float = 0.95, seed: int = 0, title: str = ""):
    panels = guidance_panels(per_sample)
    humans = per_sample[per_sample["family"] == "human"]
    fig, axes = panel_grid(len(panels), 4.4, 3.4)
    if not panels:
        axes[0, 0].text(0.5, 0.5, "no guidance sweep in this run:\nadd a list of scales under an "
                        "entry's\nsample: {guidance: [...]} (e.g. CFGDM)", ha="center",
                        va="center", transform=axes[0, 0].transAxes)
    for ax, (model, base, rows) in zip(axes.flat, panels, strict=False):
        curves = generalization_curves(pd.concat([rows, humans]), n_bins, n_boot, ci, seed,
                                       min_count)
        colors = {k: "black" for k in zip(humans["model"], humans["point"], strict=True)}
        labels = {}
        for p, c in _colors(list(rows["point"].unique())).items():
            colors[(model, p)] = c
            labels[(model, p)] = f"γ = {guidance_value(p):g}"
        draw_curves(ax, curves, colors, labels)
        label = rows["label"].iloc[0] if "label" in rows else model
        ax.set_title(f"{label} ({base})", fontsize=8)
        ax.legend(fontsize=6, loc="lower left")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def guidance_rule(job) -> None:
    fig, ev = job.cfg["figures"], job.cfg["evaluation"]
    figure = guidance_figure(read_per_sample(list(job.input)), fig["generalization_bins"],
                             fig["min_bin_count"], ev["bootstrap"], ev["ci"], job.cfg["seed"],
                             job.wildcards.dataset)
    save_figure(figure, [job.output.png, job.output.pdf])
