"""DS figures: the published t-SNE plot and a grid of diverse samples beside their nearest
training images (so a reader can see whether "diverse" means new or merely broken)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from divrec.io import save_figure
from divrec.plots import plt


def _polygons(geom):
    """The polygons of a shapely polygon or multi-polygon; degenerate hulls give none."""
    return [p for p in getattr(geom, "geoms", [geom])
            if p.geom_type == "Polygon" and not p.is_empty]


def tsne_figure(real_2d, gen_2d, hull, title: str = ""):
    """Scatter of the joint t-SNE, both hulls outlined, their intersection shaded, diverse
    (outside the real hull) generated points ringed."""
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    ax.scatter(real_2d[:, 0], real_2d[:, 1], s=4, color="0.35", label="real", zorder=2)
    ax.scatter(gen_2d[:, 0], gen_2d[:, 1], s=4, color="tab:orange", label="generated",
               zorder=2)
    out = hull.outside
    ax.scatter(gen_2d[out, 0], gen_2d[out, 1], s=18, facecolors="none", edgecolors="tab:red",
               linewidths=0.6, label=f"diverse ({int(out.sum())})", zorder=3)
    for part in _polygons(hull.real_hull.intersection(hull.gen_hull)):
        ax.fill(*part.exterior.xy, color="tab:purple", alpha=0.15,
                label=f"overlap {hull.overlap:.1f}% IoU")
    for geom, color in ((hull.real_hull, "0.2"), (hull.gen_hull, "tab:orange")):
        for part in _polygons(geom):
            ax.plot(*part.exterior.xy, color=color, lw=0.8)
    ax.set_xlabel("t-SNE 1")
    ax.set_ylabel("t-SNE 2")
    ax.grid(False)
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=6, loc="best", markerscale=1.5)
    fig.tight_layout()
    return fig


def pick_for_grid(table: pd.DataFrame, n: int, rule: str = "knn") -> pd.DataFrame:
    """The ``n`` generated samples farthest from the real set among those ``rule`` calls
    diverse; if fewer are diverse, the farthest of the rest fill the grid (marked)."""
    gen = table[table["source"] == "generated"].copy()
    gen["diverse"] = gen[f"{rule}_diverse"].fillna(False).astype(bool)
    return gen.sort_values(["diverse", "knn_distance"], ascending=False).head(n)


def grid_figure(picked: pd.DataFrame, samples: np.ndarray, train: np.ndarray, title: str = "",
                cols: int = 6):
    """Pairs (generated | nearest training image); ``samples`` uint8 [C, N, H, W], ``train``
    uint8 [C*M, H, W]. Non-diverse fillers get a grey title, memorised ones a red one."""
    n = max(1, len(picked))
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, 2 * cols, figsize=(2 * cols * 0.75, rows * 0.9 + 0.3),
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for j, (_, r) in enumerate(picked.iterrows()):
        a, b = axes[j // cols, 2 * (j % cols)], axes[j // cols, 2 * (j % cols) + 1]
        a.imshow(samples[int(r["class_index"]), int(r["sample_index"])], cmap="gray_r")
        b.imshow(train[int(r["nn_train_index"])], cmap="gray_r")
        color = "tab:red" if r["memorised"] else ("black" if r["diverse"] else "0.6")
        a.set_title(f"d={r['knn_distance']:.2g}", fontsize=5, color=color)
        b.set_title("nearest train", fontsize=5, color="0.4")
    fig.suptitle(title, fontsize=7)
    fig.tight_layout()
    return fig


def write_figures(result, samples: np.ndarray, train: np.ndarray, n_grid: int, rule: str,
                  tsne_out: str, grid_out: str, title: str = "") -> None:
    s = result.summary
    fig = tsne_figure(result.real_2d, result.gen_2d, result.hull,
                      f"{title}  hull DS {s['hull_count']}/{s['n_tsne_generated']}")
    save_figure(fig, [tsne_out])
    fig = grid_figure(pick_for_grid(result.table, n_grid, rule), samples, train,
                      f"{title}  {rule} DS {s[rule + '_count']}/{s['n_generated']} "
                      "(left: generated, right: nearest training image)")
    save_figure(fig, [grid_out])
