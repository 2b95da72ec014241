"""Sample grids: for a few test classes, the exemplar and the one-shot samples drawn from it.

The qualitative figure people look at first. The same classes (evenly spaced over the test
classes) are shown for every model point and for humans, so grids can be compared side by side.
Samples are shown as stored (grey levels, ink dark on white), not binarised, so a model's
uncertainty stays visible; the exemplar column is framed in red.
"""

from __future__ import annotations

import numpy as np

from divrec.io import save_figure
from divrec.plots import plt, point_label, show_image
from divrec.samples import SampleSet, load_samples


def grid_classes(n_total: int, n_show: int) -> np.ndarray:
    """Indices of ``n_show`` classes evenly spaced over ``n_total`` (all of them if fewer)."""
    if n_total <= n_show:
        return np.arange(n_total)
    return np.unique(np.linspace(0, n_total - 1, n_show).round().astype(int))


def grid_rows(ss: SampleSet, classes: np.ndarray, n_samples: int) -> list[list[np.ndarray]]:
    """Per class: [exemplar, up to ``n_samples`` samples not flagged ``excluded``]."""
    rows = []
    for c in classes:
        keep = np.flatnonzero(~ss.excluded[c])[:n_samples]
        rows.append([ss.exemplars[c], *ss.samples[c, keep]])
    return rows


def sample_grid_figure(ss: SampleSet, title: str = "", n_classes: int = 8,
                       n_samples: int = 10):
    classes = grid_classes(len(ss.class_names), n_classes)
    rows = grid_rows(ss, classes, n_samples)
    n_cols = max((len(r) for r in rows), default=1)
    fig, axes = plt.subplots(len(rows), n_cols, squeeze=False,
                             figsize=(0.55 * n_cols + 1.2, 0.55 * len(rows) + 0.4))
    for i, (c, row) in enumerate(zip(classes, rows, strict=True)):
        for j in range(n_cols):
            if j < len(row):
                show_image(axes[i, j], row[j], frame="tab:red" if j == 0 else None, vmin=0,
                           vmax=255)
            else:
                axes[i, j].axis("off")
        axes[i, 0].set_ylabel(ss.class_names[c], rotation=0, ha="right", va="center",
                              fontsize=5)
    axes[0, 0].set_title("exemplar", fontsize=6, color="tab:red")
    if n_cols > 1:
        axes[0, 1].set_title("samples", fontsize=6, loc="left")
    fig.suptitle(title, fontsize=8)
    fig.subplots_adjust(wspace=0.05, hspace=0.05)
    return fig


def grid_rule(job) -> None:
    w, fig = job.wildcards, job.cfg["figures"]
    label = job.cfg["models"].get(w.model, {}).get("label",
                                                   "humans" if w.model == "human" else w.model)
    figure = sample_grid_figure(load_samples(job.input[0]),
                                f"{w.dataset}: {point_label(label, w.point)}",
                                fig["grid_classes"], fig["grid_samples"])
    save_figure(figure, [job.output[0]])
