"""The run checks itself against the papers: each published qualitative finding (spec section 6)
as a statistic with a bootstrap CI over test classes and a verdict.

All points of a dataset are scored on the same test classes, so one class resample is shared by
every point of a replicate (a paired bootstrap): differences between points keep their pairing.
Verdicts: ``holds`` (the CI is on the claimed side of zero), ``does not hold`` (on the other
side), ``inconclusive`` (the CI contains zero), ``not enough points`` (the run lacks what the
claim compares). Nothing here is tuned: the statistics read the metrics tables as they are.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from divrec.aggregate import human_distance
from divrec.metrics.generalization import bin_index, common_edges, valid_pairs

GAN, VAE, DIFFUSION = {"dagan"}, {"vae_stn", "vae_ns"}, {"ddpm", "cfgdm", "fsdm"}
COLUMNS = ["claim", "statement", "statistic", "value", "lo", "hi", "verdict", "evidence"]


class Boot:
    """Per-point class means for the point estimate (row 0) and ``n`` paired class resamples."""

    def __init__(self, per_class: pd.DataFrame, n: int = 1000, seed: int = 0, ci: float = 0.95):
        self.points = list(dict.fromkeys(zip(per_class["model"], per_class["point"])))
        self.family = dict(zip(zip(per_class["model"], per_class["point"]), per_class["family"]))
        n_classes = int(per_class["class_index"].max()) + 1
        rng = np.random.default_rng(seed)
        self.idx = np.vstack([np.arange(n_classes), rng.integers(0, n_classes, (n, n_classes))])
        self.alpha = (1 - ci) / 2
        self.means = {}
        for col in ("diversity", "recognizability"):
            table = per_class.pivot_table(index=["model", "point"], columns="class_index",
                                          values=col).reindex(self.points)
            v = table.to_numpy()
            self.means[col] = {p: np.nanmean(v[i][self.idx], axis=1)
                               for i, p in enumerate(self.points)}

    def of(self, fams: set[str]) -> list[tuple[str, str]]:
        return [p for p in self.points if self.family[p] in fams]


def verdict(lo: float, hi: float, claimed_positive: bool = True) -> str:
    if not claimed_positive:
        lo, hi = -hi, -lo
    return "holds" if lo > 0 else "does not hold" if hi < 0 else "inconclusive"


def _row(claim, statement, statistic, stat=None, b: Boot | None = None, evidence="",
         positive=True):
    """``stat``: the statistic on the observed classes (row 0), then on each resample."""
    value, lo, hi, said = np.nan, np.nan, np.nan, "not enough points"
    if stat is not None:
        value = float(stat[0])
        lo, hi = (float(q) for q in np.nanquantile(stat[1:], [b.alpha, 1 - b.alpha]))
        said = verdict(lo, hi, positive)
    return dict(zip(COLUMNS, [claim, statement, statistic, value, lo, hi, said, evidence]))


def _family_mean(b: Boot, col: str, points) -> np.ndarray:
    return np.mean([b.means[col][p] for p in points], axis=0)


def gan_vs_vae(b: Boot) -> list[dict]:
    gans, vaes = b.of(GAN), b.of(VAE)
    ev = f"{len(gans)} GAN-like, {len(vaes)} VAE-like points (family means over points)"
    specs = [("diversity", "less diverse", "div(VAE) - div(GAN)", vaes, gans),
             ("recognizability", "more recognizable", "rec(GAN) - rec(VAE)", gans, vaes)]
    return [_row(f"gan_vs_vae_{col}", f"GAN-like models are {claim} than VAE-like", statistic,
                 _family_mean(b, col, hi) - _family_mean(b, col, lo) if gans and vaes else None,
                 b, ev)
            for col, claim, statistic, hi, lo in specs]


def beta_curves(b: Boot, settings: dict) -> list[dict]:
    """Per VAE-like entry swept over beta (>= 3 values): the quadratic fit of recognizability on
    diversity along the sweep is concave (an inverted U, "a parabola")."""
    rows = []
    for model in dict.fromkeys(m for m, _ in b.of(VAE)):
        pts = [p for p in b.of(VAE) if p[0] == model and "beta" in settings.get(p, {})]
        betas = {settings[p]["beta"] for p in pts}
        what = (f"beta_curve:{model}", f"beta moves {model} along an inverted U",
                "quadratic coefficient of rec. on div.")
        if len(betas) < 3:
            rows.append(_row(*what, evidence=f"{len(betas)} beta values (3 needed)"))
            continue
        pts.sort(key=lambda p: settings[p]["beta"])
        x = np.stack([b.means["diversity"][p] for p in pts], 1)
        y = np.stack([b.means["recognizability"][p] for p in pts], 1)
        curv = np.array([np.polyfit(xi, yi, 2)[0] for xi, yi in zip(x, y)])
        ev = "beta " + ", ".join(f"{settings[p]['beta']:g}: ({x[0, i]:.3f}, {y[0, i]:.3f})"
                                 for i, p in enumerate(pts)) + " as (diversity, rec.)"
        rows.append(_row(*what, curv, b, ev, positive=False))
    return rows


def _distances(b: Boot) -> dict:
    """Distance of every point to the human point per replicate (divrec.aggregate's formula,
    applied to every replicate's class means)."""
    pts = b.points
    h = [i for i, p in enumerate(pts) if b.family[p] == "human"][0]
    d = human_distance(np.stack([b.means["diversity"][p] for p in pts]),
                       np.stack([b.means["recognizability"][p] for p in pts]), h)
    return {p: d[i] for i, p in enumerate(pts) if i != h}


def closest_to_humans(b: Boot) -> list[dict]:
    dist = _distances(b) if any(f == "human" for f in b.family.values()) else {}

    def gap(far, near):  # per replicate: min distance of ``far`` - min distance of ``near``
        return np.min([dist[p] for p in far], 0) - np.min([dist[p] for p in near], 0)

    ns, others = b.of({"vae_ns"}), [p for p in dist if b.family[p] != "vae_ns"]
    if ns and others:
        best = min(dist, key=lambda p: dist[p][0])
        stat, ev = gap(others, ns), f"closest point: {best[0]} {best[1]} ({dist[best][0]:.3f})"
    else:
        stat, ev = None, "needs humans, a VAE-NS point and another model"
    rows = [_row("vae_ns_closest", "VAE-NS is the model closest to humans",
                 "min dist(others) - min dist(VAE-NS)", stat, b, ev)]
    diff, early = b.of(DIFFUSION), b.of(GAN | VAE)
    if diff and early and dist:
        stat, ev = gap(early, diff), f"{len(diff)} diffusion vs {len(early)} earlier points"
    else:
        stat, ev = None, f"{len(diff)} diffusion, {len(early)} earlier points"
    return rows + [_row("diffusion_closer", "diffusion models are closer to humans than the "
                        "earlier models", "min dist(earlier) - min dist(diffusion)", stat, b, ev)]


def _by_point(per_sample: pd.DataFrame) -> dict:
    """Per point: originality and recognizability of its valid samples sorted by class, and
    where each class starts (so a class resample is a concatenation of slices)."""
    out = {}
    for key, g in valid_pairs(per_sample).groupby(["model", "point"], sort=False):
        g = g.sort_values("class_index", kind="stable")
        c = g["class_index"].to_numpy()
        starts = np.searchsorted(c, np.arange(c.max() + 2))
        out[key] = (g["originality"].to_numpy(), g["recognizability"].to_numpy(), starts)
    return out


def _replicate(arrays, rows: np.ndarray):
    """The samples of the classes in ``rows`` (with repeats), as the bootstrap draws them."""
    o, r, starts = arrays
    rows = rows[rows < len(starts) - 1]
    take = np.concatenate([np.arange(starts[k], starts[k + 1]) for k in rows])
    return o[take], r[take]


def guidance(b: Boot, samples: dict, settings: dict, n_boot: int) -> list[dict]:
    rows = []
    for model in dict.fromkeys(m for m, _ in b.of({"cfgdm"})):
        g = {p: settings[p]["guidance"] for p in b.of({"cfgdm"})
             if p[0] == model and "guidance" in settings.get(p, {})}
        lo_g, hi_g = (min(g, key=g.get), max(g, key=g.get)) if g else (None, None)
        claim = f"guidance:{model}"
        rec = (f"{claim}:recognizability", "higher guidance raises recognizability",
               "rec(g max) - rec(g min)")
        if lo_g is None or g[lo_g] == g[hi_g]:
            rows.append(_row(*rec, evidence="needs two guidance scales"))
            continue
        ev = f"guidance {g[lo_g]:g} -> {g[hi_g]:g}"
        d = b.means["recognizability"][hi_g] - b.means["recognizability"][lo_g]
        rows.append(_row(*rec, d, b, ev))
        reps = b.idx[: n_boot + 1]
        width = np.array([[np.subtract(*np.quantile(_replicate(samples[p], k)[0], [0.95, 0.05]))
                           for p in (lo_g, hi_g)] for k in reps])
        stat = width[:, 0] - width[:, 1]
        rows.append(_row(f"{claim}:originality_range", "higher guidance narrows the originality "
                         "range", "5-95 % range(g min) - range(g max)", stat, b,
                         ev + f"; ranges {width[0, 0]:.2f} -> {width[0, 1]:.2f}"))
    return rows


def human_curve(b: Boot, samples: dict, n_bins: int, min_count: int, n_boot: int) -> list[dict]:
    """The human generalisation curve lies above every model's: per point the mean over shared
    bins of (human - model) recognizability; the statistic is its minimum over points."""
    claim = ("human_curve_above", "the human generalisation curve is above every model's")
    human = [p for p in samples if b.family.get(p) == "human"]
    models = [p for p in samples if b.family.get(p) != "human"]
    if not human or not models:
        return [_row(*claim, "min over points of mean gap",
                     evidence="needs humans and a model point")]
    edges = common_edges([samples[p][0] for p in samples], n_bins)
    stats, worst = [], None
    for k in b.idx[: n_boot + 1]:
        means = {}
        for p in [human[0], *models]:
            o, r = _replicate(samples[p], k)
            i = bin_index(o, edges)
            cnt = np.bincount(i[i >= 0], minlength=n_bins)
            tot = np.bincount(i[i >= 0], weights=r[i >= 0], minlength=n_bins)
            means[p] = np.where(cnt >= min_count, tot / np.maximum(cnt, 1), np.nan)
        gaps = {p: np.nanmean(means[human[0]] - means[p]) for p in models
                if np.isfinite(means[human[0]] - means[p]).any()}
        if worst is None:
            worst = min(gaps, key=gaps.get) if gaps else None
        stats.append(min(gaps.values()) if gaps else np.nan)
    if worst is None:
        return [_row(*claim, "min over points of mean gap",
                     evidence="no originality bin shared by humans and a model")]
    return [_row(*claim, "min over points of mean (human - model) gap", np.array(stats), b,
                 f"smallest gap: {worst[0]} {worst[1]}")]


def evaluate_claims(per_class: pd.DataFrame, per_sample: pd.DataFrame, settings: dict,
                    n_bins: int = 10, min_count: int = 10, n_boot: int = 1000,
                    n_boot_samples: int = 200, seed: int = 0, ci: float = 0.95) -> pd.DataFrame:
    """``settings``: (model, point) -> the point's params and sampling options."""
    b = Boot(per_class, n_boot, seed, ci)
    samples = _by_point(per_sample)
    rows = [*gan_vs_vae(b), *beta_curves(b, settings), *closest_to_humans(b),
            *guidance(b, samples, settings, n_boot_samples),
            *human_curve(b, samples, n_bins, min_count, n_boot_samples)]
    return pd.DataFrame(rows, columns=COLUMNS)


def claims_rule(job) -> None:
    """Body of the ``claims`` rule: the per-class tables sit beside the per-sample ones."""
    from pathlib import Path

    from divrec.io import save_parquet
    from divrec.points import model_points
    from divrec.provenance import provenance

    cfg, dataset, per_sample_paths = job.cfg, job.wildcards.dataset, list(job.input)
    per_sample = pd.concat([pd.read_parquet(p) for p in per_sample_paths], ignore_index=True)
    per_class = pd.concat([pd.read_parquet(Path(p).with_name("per_class.parquet"))
                           for p in per_sample_paths], ignore_index=True)
    fig, ev = cfg["figures"], cfg["evaluation"]
    settings = {(p.model, p.name): {**p.params, **p.sample}  # params and sampling options
                for p in model_points(cfg) if p.dataset == dataset}
    table = evaluate_claims(per_class, per_sample, settings,
                            fig["generalization_bins"], fig["min_bin_count"], ev["bootstrap"],
                            seed=cfg["seed"], ci=ev["ci"])
    table.insert(0, "dataset", dataset)
    save_parquet(table, job.output[0],
                 provenance({"evaluation": ev, "figures": fig}, cfg["seed"], "cpu"))


def across_runs(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per (dataset, claim) and one ``value [CI] verdict`` column per run (``tables``:
    run label -> its claims table), then ``holds``: in how many of the runs that could test
    the claim it held. The class bootstrap of one run does not see the training seed; this
    reads verdicts across seeds (or machines) side by side."""
    cells = []
    for run, t in tables.items():
        text = t.apply(lambda r: "—" if pd.isna(r["value"]) else
                       f"{r['value']:.3f} [{r['lo']:.3f}, {r['hi']:.3f}]", axis=1)
        cells.append(t.assign(run=run, cell=text + " " + t["verdict"]))
    long = pd.concat(cells, ignore_index=True)
    keys = ["dataset", "claim", "statement"]
    wide = long.pivot_table(index=keys, columns="run", values="cell", aggfunc="first",
                            sort=False)[list(tables)]
    tested = long[long["verdict"] != "not enough points"].groupby(keys, sort=False)["verdict"]
    count = tested.agg(lambda v: f"{(v == 'holds').sum()} of {len(v)}")
    return wide.join(count.rename("holds")).fillna({"holds": "0 of 0"}).reset_index()
