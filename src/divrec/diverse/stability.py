"""How stable is a DS set? Rerun each rule on random subsets (and, for t-SNE, other seeds).

Rerun r keeps a seeded random ``subsample`` fraction of the real and of the generated points;
the hull rule also reruns t-SNE with seed ``tsne.seed + r + 1``. Two reruns are compared on the
generated samples both kept: Jaccard = |A & B| / |A | B| of their diverse sets (1 when both are
empty). The mean and minimum over all pairs, and the spread of the diverse fraction, go to the
summary. The published rule has no such check; the reference notes it is "not stable across
subsets", and this is the number that says how unstable.
"""

from __future__ import annotations

import itertools

import numpy as np

from divrec.diverse.hull import hull_rule, tsne_2d
from divrec.diverse.neighbors import SearchSettings
from divrec.diverse.rules import knn_rule


def jaccard(a: set, b: set) -> float:
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
              reruns: int, fraction: float, perplexity: float, seed: int, k: int,
              percentile: float, search: SearchSettings | None = None) -> dict:
    """``real``/``gen``: all features; ``real_tsne``/``gen_tsne``: the indices the main t-SNE
    used (the hull reruns subsample those, keeping each rerun as cheap as the main one)."""
    hull_runs, knn_runs = [], []
    for r in range(reruns):
        rng = np.random.default_rng(seed + r + 1)
        rt, gt = _subset(real_tsne, fraction, rng), _subset(gen_tsne, fraction, rng)
        r2, g2 = tsne_2d(real[rt], gen[gt], perplexity, seed + r + 1)
        hull_runs.append((gt, hull_rule(r2, g2).outside))
        rk = _subset(np.arange(len(real)), fraction, rng)
        gk = _subset(np.arange(len(gen)), fraction, rng)
        knn_runs.append((gk, knn_rule(real[rk], gen[gk], k, percentile, search).outside))
    out = {}
    for name, runs in (("hull", hull_runs), ("knn", knn_runs)):
        mean, low = pairwise_jaccard(runs)
        fractions = [flags.mean() for _, flags in runs]
        out.update({f"{name}_jaccard_mean": mean, f"{name}_jaccard_min": low,
                    f"{name}_fraction_std": float(np.std(fractions)) if runs else float("nan")})
    return out
