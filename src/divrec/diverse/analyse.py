"""DS analysis of one samples file: both rules side by side, memorisation and stability.

Input: the generated samples' features, the cached real-side ``Reference`` and the training
images. Output: one table row per generated sample (plus the real points the t-SNE embedded, so
the figure can be redrawn from the table) and one summary row.

Table columns: ``source`` (generated | real), ``class_index``/``sample_index`` (a generated
sample's id in the samples file; a real drawing's class in the reference part and its drawing
index), ``tsne_x/y`` (NaN when the t-SNE subsample left the point out), ``hull_diverse`` (NA
likewise), ``knn_distance``/``knn_diverse``, ``nn_train_index`` (flat index into the split's train
images [C*M]), ``nn_train_class``, ``nn_train_distance``, ``pixel_difference``, ``memorised``.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from divrec.data.preprocess import IMAGE_SIZE
from divrec.diverse.hull import HullResult, hull_rule, tsne_2d
from divrec.diverse.reference import Reference, cap
from divrec.diverse.rules import knn_rule, memorisation
from divrec.errors import DataError


def jaccard(a: set, b: set) -> float:
    """|A & B| / |A | B| (1 when both are empty)."""
    union = a | b
    return len(a & b) / len(union) if union else 1.0


def pairwise_jaccard(runs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, float]:
    """``runs``: [(generated ids kept, diverse flag per kept id)] -> (mean, min) over pairs."""
    scores = []
    for (ia, fa), (ib, fb) in itertools.combinations(runs, 2):
        common = set(np.intersect1d(ia, ib).tolist())
        da, db = (common & set(i[np.asarray(f, bool)].tolist()) for i, f in ((ia, fa), (ib, fb)))
        scores.append(jaccard(da, db))
    if not scores:
        return float("nan"), float("nan")
    return float(np.mean(scores)), float(np.min(scores))


def _subset(ids: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    n = max(2, int(round(fraction * len(ids))))
    return np.sort(rng.choice(ids, size=min(n, len(ids)), replace=False))


def stability(real: np.ndarray, gen: np.ndarray, real_tsne: np.ndarray, gen_tsne: np.ndarray,
              st) -> dict:
    """How stable is a DS set? Rerun r keeps a seeded random ``stability.subsample`` fraction of
    the real and of the generated points; the hull rule also reruns t-SNE with seed
    ``tsne.seed + r + 1``. Two reruns are compared on the generated samples both kept (Jaccard of
    their diverse sets); the mean and minimum over all pairs, and the spread of the diverse
    fraction, go to the summary. The published rule has no such check; the reference notes it is
    "not stable across subsets", and this is the number that says how unstable. ``real``/``gen``:
    all features; ``real_tsne``/``gen_tsne``: the indices the main t-SNE used (the hull reruns
    subsample those, as cheap as the main one); ``st``: DiverseSettings."""
    hull_runs, knn_runs, fraction, seed = [], [], st.stability.subsample, st.tsne.seed
    for r in range(st.stability.reruns):
        rng = np.random.default_rng(seed + r + 1)
        rt, gt = _subset(real_tsne, fraction, rng), _subset(gen_tsne, fraction, rng)
        r2, g2 = tsne_2d(real[rt], gen[gt], st.tsne.perplexity, seed + r + 1)
        hull_runs.append((gt, hull_rule(r2, g2).outside))
        rk = _subset(np.arange(len(real)), fraction, rng)
        gk = _subset(np.arange(len(gen)), fraction, rng)
        knn_runs.append((gk, knn_rule(real[rk], gen[gk], st.knn.k, st.knn.percentile,
                                      st.search).outside))
    out = {}
    for name, runs in (("hull", hull_runs), ("knn", knn_runs)):
        mean, low = pairwise_jaccard(runs)
        fractions = [flags.mean() for _, flags in runs]
        out.update({f"{name}_jaccard_mean": mean, f"{name}_jaccard_min": low,
                    f"{name}_fraction_std": float(np.std(fractions)) if runs else float("nan")})
    return out


@dataclass
class PointResult:
    table: pd.DataFrame
    summary: dict
    real_2d: np.ndarray
    gen_2d: np.ndarray
    hull: HullResult


def real_side(ref: Reference, class_names: list[str]):
    """-> (features, class index, drawing index, precomputed LOO distances or None)."""
    if ref.reference == "train":
        flat = ref.train_index
        return (ref.train_feats, flat // ref.train_per_class, flat % ref.train_per_class,
                ref.ref_kth)
    where = {n: i for i, n in enumerate(ref.test_names)}
    missing = [n for n in class_names if n not in where]
    if missing:
        raise DataError(f"{len(missing)} sample classes are not test classes of the split "
                        f"(e.g. '{missing[0]}')")
    classes = np.array([where[n] for n in class_names])
    m = ref.test_per_class
    rows = (classes[:, None] * m + np.arange(m)).ravel()
    loo = ref.ref_kth[rows] if len(set(classes.tolist())) == len(ref.test_names) else None
    return ref.test_feats[rows], np.repeat(classes, m), np.tile(np.arange(m), len(classes)), loo


def analyse(gen_feats: np.ndarray, class_names: list[str], n_per_class: int, gen_images,
            ref: Reference, train_images: np.ndarray, st,
            image_size: int = IMAGE_SIZE) -> PointResult:
    """``gen_images`` uint8 [C*N, H, W] in samples-file order; ``train_images`` uint8 [C*M, H, W]
    (all training images, flat); ``st``: DiverseSettings."""
    t0 = time.perf_counter()
    gen = np.asarray(gen_feats, np.float32)
    real, real_class, real_draw, real_loo = real_side(ref, class_names)
    if ref.k != st.knn.k:
        real_loo = None
    knn = knn_rule(real, gen, st.knn.k, st.knn.percentile, st.search, real_loo)
    t_knn = time.perf_counter()

    rng = np.random.default_rng(st.tsne.seed)
    rt, gt = cap(len(real), st.tsne.max_points, rng), cap(len(gen), st.tsne.max_points, rng)
    real_2d, gen_2d = tsne_2d(real[rt], gen[gt], st.tsne.perplexity, st.tsne.seed)
    hull = hull_rule(real_2d, gen_2d)
    t_tsne = time.perf_counter()

    ms = st.memorisation
    mem = memorisation(gen, ref.train_feats, gen_images, train_images[ref.train_index],
                       ref.train_nn, ms.percentile, ms.pixel_tolerance, ms.candidates,
                       image_size, st.search)
    nn_train = ref.train_index[mem.train_index]
    t_mem = time.perf_counter()

    stab = stability(real, gen, rt, gt, st)
    t_stab = time.perf_counter()

    ng = len(gen)
    hull_flag = pd.array([pd.NA] * ng, dtype="boolean")
    hull_flag[gt] = hull.outside
    xy = np.full((ng, 2), np.nan)
    xy[gt] = gen_2d
    generated = pd.DataFrame({
        "source": "generated",
        "class_index": np.repeat(np.arange(len(class_names)), n_per_class),
        "sample_index": np.tile(np.arange(n_per_class), len(class_names)),
        "class_name": np.repeat(class_names, n_per_class),
        "tsne_x": xy[:, 0], "tsne_y": xy[:, 1],
        "hull_diverse": hull_flag,
        "knn_distance": knn.distance, "knn_diverse": pd.array(knn.outside, dtype="boolean"),
        "nn_train_index": pd.array(nn_train, dtype="Int64"),
        "nn_train_class": [ref.train_names[i] for i in nn_train // ref.train_per_class],
        "nn_train_distance": mem.feature_distance, "pixel_difference": mem.pixel_difference,
        "memorised": pd.array(mem.memorised, dtype="boolean"),
    })  # nullable dtypes: the real rows below leave these columns empty
    names = ref.test_names if ref.reference == "test" else ref.train_names
    real_rows = pd.DataFrame({
        "source": "real", "class_index": real_class[rt], "sample_index": real_draw[rt],
        "class_name": [names[c] for c in real_class[rt]],
        "tsne_x": real_2d[:, 0], "tsne_y": real_2d[:, 1],
        "hull_diverse": pd.array([pd.NA] * len(rt), dtype="boolean"),
    })
    table = pd.concat([generated, real_rows], ignore_index=True)

    hull_ids = set(gt[hull.outside].tolist())
    knn_ids = set(gt[knn.outside[gt]].tolist())  # the k-NN verdicts on the same points
    summary = {
        "extractor": ref.extractor, "reference": ref.reference,
        "n_generated": ng, "n_real": len(real), "n_tsne_generated": len(gt), "n_tsne_real": len(rt),
        "hull_count": hull.count, "hull_fraction": hull.fraction, "overlap": hull.overlap,
        "knn_count": knn.count, "knn_fraction": knn.fraction, "knn_threshold": knn.threshold,
        "knn_count_tsne_subset": len(knn_ids),
        "rules_jaccard": jaccard(hull_ids, knn_ids),
        **stab,
        "memorised_count": int(mem.memorised.sum()),
        "memorised_fraction": float(mem.memorised.mean()),
        "pixel_copies": int(mem.pixel_copy.sum()), "memorisation_threshold": mem.threshold,
        "seconds_knn": t_knn - t0, "seconds_tsne": t_tsne - t_knn,
        "seconds_memorisation": t_mem - t_tsne, "seconds_stability": t_stab - t_mem,
    }
    return PointResult(table, summary, real_2d, gen_2d, hull)
