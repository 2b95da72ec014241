"""The published DS rule (R3:ds_sqnet.py), reproduced faithfully.

1. joint 2-D t-SNE of real + generated features (sklearn defaults, ``random_state`` and
   ``perplexity`` configurable);
2. convex hull of each set (scipy ``ConvexHull`` -> shapely ``Polygon``);
3. overlap = area(H_real & H_gen) / area(H_real | H_gen) * 100 (hull IoU, percent);
4. a generated point is *diverse* when the real hull does not ``contain`` it: shapely's contains
   puts the boundary outside, as published.

Caveats (REFERENCE.md section 7) are why ``divrec.diverse.knn_rule`` exists beside this one:
t-SNE geometry is not metric, a convex hull over-covers non-convex data, and the count moves with
the seed and the subset (``analyse.stability`` measures by how much).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import ConvexHull, QhullError
from shapely.geometry import MultiPoint, Polygon


def tsne_2d(real: np.ndarray, gen: np.ndarray, perplexity: float = 30.0, seed: int = 0):
    """Joint t-SNE of both sets -> (real [nr, 2], generated [ng, 2]). Perplexity must stay below
    the number of points (sklearn refuses otherwise); it is lowered for tiny sets only."""
    from sklearn.manifold import TSNE

    x = np.concatenate([np.asarray(real, np.float32), np.asarray(gen, np.float32)])
    perp = min(float(perplexity), max(1.0, (len(x) - 1) / 3.0))
    y = TSNE(n_components=2, perplexity=perp, random_state=seed).fit_transform(x)
    return y[:len(real)], y[len(real):]


def convex_hull(points: np.ndarray):
    """The hull polygon of 2-D points; a degenerate set (< 3 points, collinear) gives shapely's
    zero-area hull (a point or a line) that contains nothing, where scipy would raise."""
    points = np.asarray(points, np.float64)
    try:
        hull = ConvexHull(points)
    except (QhullError, ValueError):
        return MultiPoint(points).convex_hull
    return Polygon(points[hull.vertices])


def hull_iou(a, b) -> float:
    """Intersection over union of two polygons, in percent (0 when both are degenerate)."""
    union = a.union(b).area
    return float(a.intersection(b).area / union * 100) if union > 0 else 0.0


class OutsideCounts:
    """``count`` and ``fraction`` of the generated samples a DS rule puts outside the real set
    (needs an ``outside`` bool array); shared by the hull and the k-NN rule."""

    outside: np.ndarray

    @property
    def count(self) -> int:
        return int(self.outside.sum())

    @property
    def fraction(self) -> float:
        return float(self.outside.mean()) if len(self.outside) else float("nan")


@dataclass
class HullResult(OutsideCounts):
    outside: np.ndarray  # bool [ng]: generated point not contained in the real hull
    overlap: float  # hull IoU, percent
    real_hull: object
    gen_hull: object


def hull_rule(real_2d: np.ndarray, gen_2d: np.ndarray) -> HullResult:
    real_hull, gen_hull = convex_hull(real_2d), convex_hull(gen_2d)
    gen_2d = np.asarray(gen_2d, np.float64).reshape(-1, 2)
    if real_hull.area > 0:
        inside = shapely.contains_xy(real_hull, gen_2d[:, 0], gen_2d[:, 1])
    else:  # a point or a line is all boundary: nothing is inside it
        inside = np.zeros(len(gen_2d), bool)
    return HullResult(~np.asarray(inside, bool), hull_iou(real_hull, gen_hull), real_hull,
                      gen_hull)
