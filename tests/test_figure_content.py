"""What the figures show, read back from the matplotlib objects: axis labels, one plotted point
per summary row at its coordinates, one legend entry per entry, bars in distance order, one
curve per (model, point), one image per grid cell. A figure file that exists but plots the
wrong thing fails here."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from divrec.aggregate import distance_to_humans
from divrec.metrics.generalization import generalization_curves
from divrec.plots.distance import distance_figure
from divrec.plots.generalization import generalization_figure
from divrec.plots.grids import sample_grid_figure
from divrec.plots.plane import plane_figure
from divrec.samples import SampleSet


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _summary() -> pd.DataFrame:
    rows = [("human", "data", "human", "humans", 0.9, 0.95),
            ("vae_stn", "beta=1", "vae_stn", "VAE-STN", 0.8, 0.40),
            ("vae_stn", "beta=4", "vae_stn", "VAE-STN", 0.6, 0.45),
            ("dagan_un", "base", "dagan", "DA-GAN-UN", 0.2, 0.55)]
    s = pd.DataFrame(rows, columns=["model", "point", "family", "label", "diversity",
                                    "recognizability"])
    for col in ("diversity", "recognizability"):
        s[f"{col}_lo"], s[f"{col}_hi"] = s[col] - 0.02, s[col] + 0.03
    s["distance_to_human"] = distance_to_humans(s)
    return s


def test_plane_plots_every_point_at_its_coordinates_with_one_legend_entry_per_entry():
    s = _summary()
    humans = pd.DataFrame({"diversity": [0.8, 1.0, 0.9], "recognizability": [0.9, 1.0, 0.95]})
    ax = plane_figure(s, humans).axes[0]
    assert "diversity" in ax.get_xlabel() and "recognizability" in ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["humans (per class)", "humans", "VAE-STN", "DA-GAN-UN"]
    plotted = {}
    for container in ax.containers:  # one errorbar container per model entry
        x, y = container.lines[0].get_data()
        plotted[container.get_label()] = sorted(zip(np.asarray(x, float).round(6).tolist(),
                                                       np.asarray(y, float).round(6).tolist()))
    for label, grp in s.groupby("label"):
        assert plotted[label] == sorted(zip(grp["diversity"], grp["recognizability"])), label
    np.testing.assert_allclose(ax.collections[0].get_offsets(), humans.to_numpy())
    # entries with several points name each point; single-point entries and humans do not
    assert sorted(t.get_text() for t in ax.texts) == ["beta=1", "beta=4"]


def test_plane_point_labels_do_not_overlap():
    s = _summary()
    close = s.iloc[[1, 2]].assign(model="cfgdm", family="cfgdm", label="CFGDM",
                                  point=["base~guidance=0", "base~guidance=2"])
    close["diversity"] = s["diversity"].iloc[[1, 2]].to_numpy() + [0.005, 0.005]
    ax = plane_figure(pd.concat([s, close], ignore_index=True)).axes[0]
    r = ax.figure.canvas.get_renderer()
    boxes = [t.get_window_extent(r) for t in ax.texts]
    assert [t.get_text() for t in ax.texts] == ["beta=1", "beta=4", "guidance=0", "guidance=2"]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_plane_point_labels_stay_inside_the_axes():
    """Four crowded points at the left edge: labels that find the right side taken must not be
    moved left out of the axes (they were, before the edge check)."""
    s = _summary()
    x, y = [0.05, 0.052, 0.054, 0.056], [0.55, 0.553, 0.556, 0.559]
    left = pd.concat([s.iloc[[3]]] * 4, ignore_index=True).assign(
        point=[f"z_size={i}" for i in range(4)], diversity=x, recognizability=y)
    for col in ("diversity", "recognizability"):
        left[f"{col}_lo"], left[f"{col}_hi"] = left[col] - 0.02, left[col] + 0.03
    ax = plane_figure(pd.concat([s.iloc[:3], left], ignore_index=True)).axes[0]
    r = ax.figure.canvas.get_renderer()
    for t in ax.texts:
        box = t.get_window_extent(r)
        assert ax.bbox.x0 <= box.x0 and box.x1 <= ax.bbox.x1, t.get_text()


def test_distance_bars_are_the_model_points_closest_on_top():
    s = _summary()
    ax = distance_figure(s).axes[0]
    bars = sorted(ax.patches, key=lambda b: -b.get_y())  # top bar first
    models = s[s.family != "human"].sort_values("distance_to_human")
    np.testing.assert_allclose([b.get_width() for b in bars], models["distance_to_human"])
    ticks = [t.get_text() for t in ax.get_yticklabels()][::-1]  # tick order bottom-up
    assert len(ticks) == 3 and ticks[0].startswith("DA-GAN-UN")
    assert "distance to humans" in ax.get_xlabel()


def test_generalization_figure_has_one_curve_per_point_humans_on_top():
    rng = np.random.default_rng(0)
    frames = []
    for model, point, family, label in (("human", "data", "human", "humans"),
                                        ("cfgdm", "g0", "cfgdm", "CFGDM"),
                                        ("cfgdm", "g2", "cfgdm", "CFGDM")):
        o = rng.uniform(0, 4, 80)
        frames.append(pd.DataFrame({"model": model, "point": point, "family": family,
                                    "label": label, "originality": o, "excluded": False,
                                    "recognizability": (rng.uniform(size=80) > o / 5) * 1.0}))
    curves = generalization_curves(pd.concat(frames), n_bins=4, n_boot=20, min_count=1)
    ax = generalization_figure(curves).axes[0]
    lines = ax.get_lines()
    assert len(lines) == 3 and lines[-1].get_label() == "humans" and lines[-1].get_lw() == 2.0
    human = curves[curves.model == "human"]
    np.testing.assert_allclose(lines[-1].get_ydata(), human["recognizability"])
    assert len(ax.get_legend().get_texts()) == 3
    assert "originality" in ax.get_xlabel() and "recognizability" in ax.get_ylabel()


def test_sample_grid_shows_the_exemplar_then_the_samples_of_each_shown_class():
    rng = np.random.default_rng(1)
    samples = rng.integers(0, 256, (5, 4, 8, 8), dtype=np.uint8)
    exemplars = rng.integers(0, 256, (5, 8, 8), dtype=np.uint8)
    ss = SampleSet(samples, exemplars, [f"c{i}" for i in range(5)], np.zeros((5, 4), bool))
    fig = sample_grid_figure(ss, "model", n_classes=3, n_samples=3)
    axes = np.array(fig.axes).reshape(3, 4)
    shown = [0, 2, 4]  # grid_classes spreads 3 rows over 5 classes, first and last included
    for i, c in enumerate(shown):
        assert axes[i, 0].get_ylabel() == f"c{c}"
        np.testing.assert_array_equal(axes[i, 0].images[0].get_array(), exemplars[c])
        for j in range(3):
            np.testing.assert_array_equal(axes[i, j + 1].images[0].get_array(), samples[c, j])
