"""Figures on small synthetic tables: the binning is right and every figure file is written."""

from __future__ import annotations

from types import SimpleNamespace as NS

import numpy as np
import pandas as pd
import pytest

from divrec.aggregate import distance_to_humans
from divrec.io import save_parquet
from divrec.job import Job
from divrec.metrics.generalization import (
    bin_curve,
    bin_index,
    common_edges,
    generalization_curves,
)
from divrec.plots.distance import distance_rule, ranked
from divrec.plots.generalization import generalization_rule
from divrec.plots.grids import grid_classes, grid_rows, grid_rule
from divrec.plots.guidance import guidance_panels, guidance_rule, guidance_value
from divrec.plots.plane import entry_styles, write_plane
from divrec.plots.targets import figure_paths, guidance_paths, per_sample_paths
from divrec.plots.trajectories import lines_for, swept_values, trajectories_rule
from divrec.points import model_points
from divrec.samples import SampleSet

ENTRY = {"family": "cfgdm", "label": "CFGDM", "params": {"beta": 1.0, "time_step": 10},
         "sweep": {"values": {"beta": [0.5, 2.0], "time_step": [20]}},
         "sample": {"guidance": [0.0, 2.0]}}


# ----------------------------------------------------------------------------- binning


def test_bin_curve_hand_made_case():
    o = [0.0, 0.5, 1.0, 1.5, 2.9, 3.0]
    r = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0]
    edges = common_edges([np.array(o)], 3)
    assert np.allclose(edges, [0, 1, 2, 3])
    c = bin_curve(o, r, edges, n_boot=200, seed=0)
    assert c["n"].tolist() == [2, 2, 2]  # 3.0 (the right edge) falls in the last bin
    assert np.allclose(c["recognizability"], [0.5, 1.0, 0.5])
    assert np.allclose(c["centre"], [0.5, 1.5, 2.5])
    assert c.loc[1, "lo"] == c.loc[1, "hi"] == 1.0  # no spread, no band
    assert (c["lo"] <= c["recognizability"]).all() and (c["recognizability"] <= c["hi"]).all()


def test_edges_span_the_common_range_and_sparse_bins_are_empty():
    edges = common_edges([np.array([0.0, 1.0]), np.array([2.0, 4.0, np.nan])], 4)
    assert np.allclose(edges, [0, 1, 2, 3, 4])
    assert bin_index(np.array([-1.0, 0.0, 0.99, 1.0, 4.0, 5.0]), edges).tolist() == \
        [-1, 0, 0, 1, 3, -1]
    c = bin_curve([0.1, 0.2, 0.3, 3.5], [1, 1, 0, 1], edges, n_boot=50, min_count=2)
    assert c["n"].tolist() == [3, 0, 0, 1]
    assert np.isclose(c.loc[0, "recognizability"], 2 / 3)
    assert c["recognizability"].iloc[1:].isna().all()  # n=1 < min_count: no mean shown


def test_curves_share_edges_and_drop_excluded_samples():
    df = pd.DataFrame({
        "model": ["a"] * 4 + ["human"] * 4, "point": ["base"] * 4 + ["data"] * 4,
        "family": ["x"] * 4 + ["human"] * 4, "label": ["A"] * 4 + ["humans"] * 4,
        "originality": [0.0, 1.0, 2.0, 3.0, 0.0, 9.0, 4.0, 4.0],
        "recognizability": [1.0, 1.0, 0.0, 0.0, np.nan, 1.0, 1.0, 0.0],
        "excluded": [False] * 4 + [True, False, False, False],
    })
    curves = generalization_curves(df, n_bins=3, n_boot=50, min_count=1)
    a, h = curves[curves.model == "a"], curves[curves.model == "human"]
    assert np.allclose(a["left"], h["left"])  # same bins for every curve
    assert np.allclose(a["left"].tolist() + [a["right"].iloc[-1]], [0, 3, 6, 9])
    assert a["n"].tolist() == [3, 1, 0] and h["n"].tolist() == [0, 2, 1]
    assert np.isclose(a["recognizability"].iloc[0], 2 / 3)
    assert np.isclose(h["recognizability"].iloc[1], 0.5)


# ----------------------------------------------------------------------------- fixtures


def _per_sample(model, point, family, label, shift, n=60, seed=0):
    rng = np.random.default_rng(seed)
    o = rng.uniform(0, 4, n) + shift
    return pd.DataFrame({
        "dataset": "omniglot", "model": model, "point": point, "family": family, "label": label,
        "class_index": np.arange(n) // 5, "sample_index": np.arange(n) % 5, "originality": o,
        "recognizability": np.clip(1 - o / 6 + rng.normal(0, 0.1, n), 0, 1),
        "p_true": 0.5, "excluded": np.arange(n) % 5 == 0 if family == "human" else False,
    })


def _summary() -> pd.DataFrame:
    keys, values = swept_values(ENTRY)
    rows = [{"model": "human", "point": "data", "family": "human", "label": "humans",
             "diversity": 1.0, "recognizability": 0.9}]
    for i, name in enumerate(values):
        rows.append({"model": "cfgdm", "point": name, "family": "cfgdm", "label": "CFGDM",
                     "diversity": 0.5 + 0.1 * i, "recognizability": 0.8 - 0.05 * i})
    rows.append({"model": "cfgdm2", "point": "base", "family": "cfgdm", "label": "CFGDM-2",
                 "diversity": 0.2, "recognizability": 0.3})
    s = pd.DataFrame(rows)
    for col in ("diversity", "recognizability"):
        s[f"{col}_lo"], s[f"{col}_hi"] = s[col] - 0.02, s[col] + 0.02
    s["distance_to_human"] = distance_to_humans(s)
    return s


def _exists(paths):
    return all(p.exists() and p.stat().st_size > 1000 for p in paths)


# ----------------------------------------------------------------------------- figures


def _job(inputs, png, pdf, table=None, cfg=None, **wildcards):
    """A figure rule's job: small bins and bootstrap, the default title."""
    cfg = cfg or {"figures": {"generalization_bins": 6, "min_bin_count": 3}, "seed": 0,
                  "evaluation": {"bootstrap": 50, "ci": 0.95}}
    return Job(cfg, NS(dataset="", **wildcards), list(inputs),
               NS(png=str(png), pdf=str(pdf), table=str(table)))


def test_generalization_and_guidance_figures_written(tmp_path):
    frames = {"human": _per_sample("human", "data", "human", "humans", 0.0),
              "g0": _per_sample("cfgdm", "base~guidance=0", "cfgdm", "CFGDM", 1.0, seed=1),
              "g2": _per_sample("cfgdm", "base~guidance=2", "cfgdm", "CFGDM", 0.5, seed=2),
              "vae": _per_sample("vae_stn", "base", "vae_stn", "VAE-STN", 2.0, seed=3)}
    paths = []
    for name, df in frames.items():
        paths.append(str(tmp_path / f"{name}.parquet"))
        save_parquet(df, paths[-1])
    outs = [tmp_path / "gen.png", tmp_path / "gen.pdf"]
    curves = generalization_rule(_job(paths, *outs, table=tmp_path / "gen.parquet"))
    assert _exists(outs) and (tmp_path / "gen.parquet").exists()
    assert curves.groupby(["model", "point"]).ngroups == 4
    assert curves.groupby(["model", "point"])["left"].apply(tuple).nunique() == 1
    g = [tmp_path / "guid.png"]
    guidance_rule(_job(paths[:3], g[0], tmp_path / "guid.pdf"))
    assert _exists(g)
    panels = guidance_panels(pd.concat(frames.values()))
    assert [(m, b, sorted(r["point"].unique())) for m, b, r in panels] == \
        [("cfgdm", "base", ["base~guidance=0", "base~guidance=2"])]


def test_guidance_figure_without_variants_explains(tmp_path):
    p = tmp_path / "h.parquet"
    save_parquet(_per_sample("human", "data", "human", "humans", 0.0), p)
    out = tmp_path / "guid.png"
    guidance_rule(_job([str(p)], out, tmp_path / "guid.pdf"))
    guidance_rule(_job([], tmp_path / "none.png", tmp_path / "none.pdf"))
    assert _exists([out, tmp_path / "none.png"])


@pytest.mark.parametrize("point, value", [("base~guidance=2", 2.0), ("beta=1", None),
                                          ("beta=1~guidance=0.5_steps=50", 0.5),
                                          ("base~steps=50_guidance=1", 1.0)])
def test_guidance_value(point, value):
    assert guidance_value(point) == value


def test_trajectory_lines_follow_one_parameter(tmp_path):
    keys, values = swept_values(ENTRY)
    assert keys == ["beta", "time_step", "guidance"]
    assert len(values) == 4 * 2  # base + 2 beta + 1 time_step points, x 2 guidance variants
    lines = lines_for("beta", keys, values)
    assert len(lines) == 2  # one per guidance value; time_step=20 points stay off the lines
    legend, names = lines[0]
    assert [values[n]["beta"] for n in names] == [0.5, 1.0, 2.0]
    assert {values[n]["time_step"] for n in names} == {10} and "guidance=0" in legend
    summary_path = tmp_path / "summary.parquet"
    save_parquet(_summary(), summary_path)
    outs = [tmp_path / "traj.png", tmp_path / "traj.pdf"]
    trajectories_rule(_job([str(summary_path)], *outs, cfg={"models": {"cfgdm": ENTRY}},
                           model="cfgdm"))
    assert _exists(outs)


def test_distance_and_plane_figures(tmp_path):
    s = _summary()
    r = ranked(s)
    assert "human" not in set(r["family"]) and r["distance_to_human"].is_monotonic_increasing
    path = tmp_path / "summary.parquet"
    save_parquet(s, path)
    outs = [tmp_path / "dist.png", tmp_path / "plane.png"]
    distance_rule(_job([str(path)], outs[0], tmp_path / "dist.pdf"))
    write_plane(str(path), None, [str(outs[1])])
    assert _exists(outs)
    styles = entry_styles(s)
    assert styles["cfgdm"][0] == styles["cfgdm2"][0] and styles["cfgdm"][1] != styles["cfgdm2"][1]


def test_sample_grid_skips_excluded_and_is_written(tmp_path):
    rng = np.random.default_rng(0)
    c, n = 12, 6
    samples = rng.integers(0, 256, (c, n, 16, 16), dtype=np.uint8)
    excluded = np.zeros((c, n), bool)
    excluded[:, 0] = True
    ss = SampleSet(samples, samples[:, 0], [f"class{i}" for i in range(c)], excluded)
    classes = grid_classes(c, 8)
    assert len(classes) == 8 and classes[0] == 0 and classes[-1] == c - 1
    rows = grid_rows(ss, classes, 3)
    assert len(rows[0]) == 4 and (rows[0][0] == samples[0, 0]).all()
    assert all((a == b).all() for a, b in zip(rows[0][1:], samples[0, 1:4], strict=True))
    ss.save(tmp_path / "s.npz")
    out = tmp_path / "grid.png"
    grid_rule(Job({"models": {}, "figures": {"grid_classes": 8, "grid_samples": 5}},
                  NS(dataset="omniglot", model="human", point="data"), [str(tmp_path / "s.npz")],
                  [str(out)]))
    assert _exists([out])


def test_figure_targets_follow_the_config():
    cfg = {"models": {"cfgdm": {**ENTRY, "datasets": ["quickdraw"]},
                      "plain": {"family": "vae_stn", "datasets": ["quickdraw", "omniglot"]}}}
    points = model_points(cfg)
    qd = figure_paths(cfg, points, "res", "quickdraw")
    om = figure_paths(cfg, points, "res", "omniglot")
    assert "res/quickdraw/figures/guidance.png" in qd
    assert "res/omniglot/figures/guidance.png" not in om
    assert "res/quickdraw/figures/trajectories/cfgdm.pdf" in qd
    assert not any("trajectories" in t for t in om)  # "plain" has no sweep
    assert sum("/samples/" in t for t in qd) == 1 + 8 + 1  # humans, 8 cfgdm points, plain
    assert "res/omniglot/figures/samples/human/data.png" in om

    class W:
        dataset = "quickdraw"

    assert len(per_sample_paths(points, "res", W)) == 10
    guid = guidance_paths(points, "res", W)
    assert len(guid) == 9 and guid[0] == "res/quickdraw/metrics/human/data/per_sample.parquet"
