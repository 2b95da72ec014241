"""Generalization curves (ICML'23, Fig. 2): recognizability against binned originality, one curve
per model point and one for humans, with bootstrap bands (``divrec.metrics.generalization``)."""

from __future__ import annotations

import pandas as pd

from divrec.io import save_figure, save_parquet
from divrec.metrics.generalization import generalization_curves
from divrec.plots import family_color, plt, point_label, shades


def curve_colors(curves: pd.DataFrame) -> dict[tuple[str, str], tuple]:
    """(model, point) -> colour: the family colour, lighter for a family's later points."""
    keys = list(dict.fromkeys(zip(curves["model"], curves["point"], curves["family"],
                                  strict=True)))
    out = {}
    for family in dict.fromkeys(f for _, _, f in keys):
        mine = [(m, p) for m, p, f in keys if f == family]
        out.update(zip(mine, shades(family_color(family), len(mine)), strict=True))
    return out


def draw_curves(ax, curves: pd.DataFrame, colors: dict, labels: dict | None = None) -> None:
    """One line + CI band per (model, point); humans last, on top, thicker."""
    groups = list(curves.groupby(["model", "point"], sort=False))
    groups.sort(key=lambda kv: kv[1]["family"].iloc[0] == "human")
    for key, c in groups:
        human = c["family"].iloc[0] == "human"
        c = c.dropna(subset=["recognizability"])
        label = (labels or {}).get(key) or ("humans" if human else
                                             point_label(c["label"].iloc[0], key[1]))
        color = colors[key]
        ax.plot(c["centre"], c["recognizability"], "-o", ms=2.5, lw=2.0 if human else 1.1,
                color=color, label=label, zorder=4 if human else 3)
        ax.fill_between(c["centre"], c["lo"], c["hi"], color=color, alpha=0.15, lw=0)
    ax.set_xlabel("originality (SimCLR distance to the exemplar)")
    ax.set_ylabel("recognizability (20-way accuracy)")
    ax.set_ylim(-0.02, 1.02)


def generalization_figure(curves: pd.DataFrame, title: str = ""):
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    if curves.empty:
        ax.text(0.5, 0.5, "no scored samples", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    draw_curves(ax, curves, curve_colors(curves))
    n = curves.groupby(["model", "point"]).ngroups
    ax.legend(fontsize=6 if n < 12 else 4, loc="center left", bbox_to_anchor=(1.0, 0.5))
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def read_per_sample(paths: list[str]) -> pd.DataFrame:
    cols = ["model", "point", "family", "label", "originality", "recognizability", "excluded"]
    if not paths:
        return pd.DataFrame(columns=cols)
    return pd.concat([pd.read_parquet(p, columns=cols) for p in paths], ignore_index=True)


def generalization_rule(job) -> pd.DataFrame:
    """Curves of all points over shared bins -> figure files + the curve table."""
    cfg, out, fig, ev = job.cfg, job.output, job.cfg["figures"], job.cfg["evaluation"]
    curves = generalization_curves(read_per_sample(list(job.input)), fig["generalization_bins"],
                                   ev["bootstrap"], ev["ci"], cfg["seed"], fig["min_bin_count"])
    figure = generalization_figure(curves, job.wildcards.dataset)
    save_figure(figure, [out.png, out.pdf])
    save_parquet(curves, out.table)
    return curves
