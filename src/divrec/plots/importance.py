"""Feature-importance maps (ICML'23, Fig. 5 style): per category, a few exemplars each beside its
map, and the category's mean map.

Each map is scaled to its own maximum before display and before averaging, so the figure shows
where a map puts its weight, not how strongly the model depends on the exemplar overall (that is
in the table). Ink is drawn as a thin outline over the map so the reader can tell strokes from
background at a glance; the paper's claim is about exactly that split.
"""

from __future__ import annotations

import numpy as np

from divrec.importance import ImportanceMaps
from divrec.io import save_figure
from divrec.plots import plt, show_image
from divrec.plots.grids import grid_classes


def normalised(m: np.ndarray) -> np.ndarray:
    hi = float(m.max())
    return m / hi if hi > 0 else np.zeros_like(m)


def category_rows(im: ImportanceMaps, n_categories: int, per_category: int
                  ) -> list[tuple[str, list[int]]]:
    """(category, class indices) for up to ``n_categories`` categories spread over the sorted
    list, each with its first ``per_category`` classes."""
    cats = sorted(set(im.categories))
    chosen = [cats[i] for i in grid_classes(len(cats), n_categories)]
    return [(c, [i for i, k in enumerate(im.categories) if k == c][:per_category])
            for c in chosen]


def importance_figure(im: ImportanceMaps, title: str = "", n_categories: int = 8,
                      per_category: int = 3):
    rows = category_rows(im, n_categories, per_category)
    n_cols = 2 * per_category + 1
    fig, axes = plt.subplots(len(rows), n_cols, squeeze=False,
                             figsize=(0.75 * n_cols + 1.4, 0.75 * len(rows) + 0.5))
    for r, (cat, idx) in enumerate(rows):
        members = [i for i, k in enumerate(im.categories) if k == cat]
        for j in range(per_category):
            ax_ex, ax_map = axes[r, 2 * j], axes[r, 2 * j + 1]
            if j >= len(idx):
                ax_ex.axis("off")
                ax_map.axis("off")
                continue
            i = idx[j]
            show_image(ax_ex, im.exemplars[i], vmin=0, vmax=255)
            show_image(ax_map, normalised(im.maps[i]), "magma", vmin=0, vmax=1)
            ax_map.contour(im.exemplars[i] > 127, levels=[0.5], colors="cyan", linewidths=0.3)
        mean = np.mean([normalised(im.maps[i]) for i in members], axis=0)
        show_image(axes[r, -1], mean, "magma", vmin=0, vmax=max(float(mean.max()), 1e-12))
        axes[r, 0].set_ylabel(cat, rotation=0, ha="right", va="center", fontsize=6)
    axes[0, 0].set_title("exemplar", fontsize=6)
    axes[0, 1].set_title("map", fontsize=6)
    axes[0, -1].set_title("category mean", fontsize=6)
    fig.suptitle(title, fontsize=8)
    fig.subplots_adjust(wspace=0.04, hspace=0.06, top=1 - 0.45 / fig.get_figheight())
    return fig


def importance_rule(job) -> None:
    w = job.wildcards
    label = job.cfg["models"].get(w.model, {}).get("label", w.model)
    fig = importance_figure(ImportanceMaps.load(job.input[0]),
                            f"{w.dataset}: {label} {w.train_point}, importance maps",
                            job.cfg["importance"]["categories"])
    save_figure(fig, [job.output.png, job.output.pdf])
