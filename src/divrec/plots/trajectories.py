"""Per-parameter trajectories (NeurIPS'22, Fig. 3b-d): how one model entry moves through the
diversity-recognizability plane as each swept parameter changes.

One panel per swept parameter (training sweep keys and list-valued sampler options alike); in a
panel, the points that agree on every other swept parameter form one line. Point values come from
the config (``expand_sweep``), never parsed back out of the point names, which contain underscores
of their own.
"""

from __future__ import annotations

import pandas as pd

from divrec.config import expand_sweep, fmt_value, sample_variants
from divrec.io import save_figure
from divrec.plots import family_color, panel_grid, shades


def _order(v) -> tuple:
    """Sort key that tolerates mixed value types: numbers by value, then anything else by text."""
    is_number = isinstance(v, (int, float)) and not isinstance(v, bool)
    return (not is_number, v if is_number else 0, str(v))


def swept_values(entry: dict) -> tuple[list[str], dict[str, dict]]:
    """(swept keys, {point name: {key: value}}) of a model entry, sampler variants included."""
    train_keys = sorted((entry.get("sweep") or {}).get("values") or {})
    variants = sample_variants(entry)
    sample_keys = sorted(k for k, v in (entry.get("sample") or {}).items() if isinstance(v, list))
    points = {}
    for p in expand_sweep(entry):
        for suffix, opts in variants:
            values = {k: p.params.get(k) for k in train_keys}
            values.update({k: opts[k] for k in sample_keys})
            points[p.name + suffix] = values
    return train_keys + sample_keys, points


def has_sweep(entry: dict) -> bool:
    return bool(swept_values(entry)[0])


def lines_for(key: str, keys: list[str], values: dict[str, dict]) -> list[tuple[str, list[str]]]:
    """Groups of points differing only in ``key``, each sorted by it -> [(legend, names)]."""
    others = [k for k in keys if k != key]
    groups: dict[tuple, list[str]] = {}
    for name, v in values.items():
        groups.setdefault(tuple(fmt_value(v[k]) for k in others), []).append(name)
    out = []
    for other_vals, names in groups.items():
        if len({fmt_value(values[n][key]) for n in names}) < 2:
            continue
        names.sort(key=lambda n: _order(values[n][key]))
        legend = ", ".join(f"{k}={v}" for k, v in zip(others, other_vals, strict=True))
        out.append((legend, names))
    return out


def _panel(ax, key: str, keys: list[str], values: dict, rows: pd.DataFrame, humans: pd.DataFrame,
           color: str) -> None:
    ax.scatter(rows["diversity"], rows["recognizability"], s=8, color="0.8", zorder=1)
    lines = lines_for(key, keys, values)
    for (legend, names), c in zip(lines, shades(color, len(lines)), strict=True):
        pts = rows.set_index("point").reindex(names).dropna(subset=["diversity"])
        ax.plot(pts["diversity"], pts["recognizability"], "-o", ms=3.5, lw=1.2, color=c,
                label=legend or None, zorder=3)
        for name, r in pts.iterrows():
            ax.annotate(fmt_value(values[name][key]), (r["diversity"], r["recognizability"]),
                        fontsize=6, xytext=(3, 3), textcoords="offset points", color=c)
    if len(humans):
        ax.plot(humans["diversity"], humans["recognizability"], "*", ms=12, color="black",
                label="humans", zorder=4)
    ax.set_title(f"varying {key}", fontsize=8)
    ax.set_xlabel("diversity")
    ax.set_ylabel("recognizability")
    ax.legend(fontsize=5, loc="best")


def trajectory_figure(summary: pd.DataFrame, model: str, entry: dict):
    keys, values = swept_values(entry)
    rows = summary[summary["model"] == model]
    humans = summary[summary["family"] == "human"]
    fig, axes = panel_grid(len(keys), 3.8, 3.3)
    color = family_color(entry.get("family", model))
    for ax, key in zip(axes.flat, keys, strict=False):
        _panel(ax, key, keys, values, rows, humans, color)
    if not keys:
        axes[0, 0].text(0.5, 0.5, f"{model} has no swept parameter", ha="center", va="center",
                        transform=axes[0, 0].transAxes)
    fig.suptitle(entry.get("label", model), fontsize=9)
    fig.tight_layout()
    return fig


def trajectories_rule(job) -> None:
    model = job.wildcards.model
    fig = trajectory_figure(pd.read_parquet(job.input[0]), model, job.cfg["models"][model])
    save_figure(fig, [job.output.png, job.output.pdf])
