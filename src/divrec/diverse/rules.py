"""The robust DS rule and the memorisation check, both in feature space (no t-SNE).

k-NN rule (REFERENCE.md section 7, "a more robust variant"; precision/recall-manifold style): a
generated sample is diverse when its k-th nearest real neighbour is farther than the
``percentile``-th percentile of the real points' own leave-one-out k-th-neighbour distances.
Unlike the hull it is metric, local (follows non-convex data) and deterministic; by construction
about (100 - percentile)% of real points would themselves count as "diverse", which calibrates
the number.

Memorisation: a generated sample is flagged when its nearest training image is closer, in feature
space, than the ``percentile``-th percentile of training images' leave-one-out 1-NN distances, or
when the ink of one of its ``candidates`` feature-nearest training images differs in at most
``pixel_tolerance`` of the inked pixels (1 - ink IoU after binarisation: a near-exact copy).
Only the feature-nearest candidates are compared pixel by pixel: an exact copy has (near) zero
feature distance, so it is among them, and a full pixel search would cost H*W / D times more.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from divrec.data.preprocess import IMAGE_SIZE, evaluation_view
from divrec.diverse.hull import OutsideCounts
from divrec.diverse.neighbors import SearchSettings, knn


def loo_kth_distance(real, k: int, search: SearchSettings | None = None) -> np.ndarray:
    """Each real point's distance to its k-th nearest OTHER real point."""
    return knn(real, real, k, search, exclude_self=True)[0][:, -1].numpy()


@dataclass
class KnnResult(OutsideCounts):
    distance: np.ndarray  # [ng] k-th NN distance of each generated sample to the real set
    threshold: float
    outside: np.ndarray  # bool [ng]


def knn_rule(real, gen, k: int = 5, percentile: float = 95.0,
             search: SearchSettings | None = None,
             real_loo: np.ndarray | None = None) -> KnnResult:
    """``real_loo``: precomputed ``loo_kth_distance(real, k)`` (the reference cache has it)."""
    if real_loo is None:
        real_loo = loo_kth_distance(real, k, search)
    threshold = float(np.percentile(real_loo, percentile))
    dist = knn(gen, real, k, search)[0][:, -1].numpy()
    return KnnResult(dist, threshold, dist > threshold)


@torch.no_grad()
def ink(images: np.ndarray, image_size: int) -> torch.Tensor:
    """uint8 [n, H, W] -> bool [n, S*S]: the inked pixels after ``evaluation_view``."""
    return torch.cat([evaluation_view(images[i:i + 4096], image_size).bool().flatten(1)
                      for i in range(0, len(images), 4096)])


def ink_difference(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """1 - IoU of bool ink masks (broadcast over leading dims): the fraction of inked pixels (of
    either image) that only one of them has; two blank images differ by 0. Relative to the ink,
    not to the image, because strokes cover ~5-10% of a drawing: a tolerance on all pixels would
    call two different short strokes a copy."""
    xor = (a ^ b).sum(-1).float()
    union = (a | b).sum(-1).float()
    return torch.where(union > 0, xor / union.clamp_min(1), torch.zeros_like(xor))


@dataclass
class Memorisation:
    train_index: np.ndarray  # [ng] matched training image (flat index into the train images)
    feature_distance: np.ndarray  # [ng] feature distance to the nearest training image
    pixel_difference: np.ndarray  # [ng] min pixel difference over the candidates
    threshold: float  # feature-distance threshold
    memorised: np.ndarray  # bool [ng]
    pixel_copy: np.ndarray  # bool [ng]: the near-exact pixel criterion fired


def memorisation(gen_feats, train_feats, gen_images: np.ndarray, train_images: np.ndarray,
                 train_nn: np.ndarray, percentile: float = 1.0, pixel_tolerance: float = 0.05,
                 candidates: int = 10, image_size: int = IMAGE_SIZE,
                 search: SearchSettings | None = None) -> Memorisation:
    """``train_nn``: the training images' leave-one-out 1-NN feature distances.
    ``gen_images`` [ng, H, W] and ``train_images`` [nt, H, W] are uint8."""
    d, idx = knn(gen_feats, train_feats, candidates, search)
    valid = idx >= 0  # approximate search may leave a slot unfilled
    ng, nc = idx.shape
    # each image is binarised once: the candidates' ink is gathered, not recomputed per pair
    used, pos = np.unique(idx.clamp_min(0).numpy(), return_inverse=True)
    gen_ink, train_ink = ink(gen_images, image_size), ink(train_images[used], image_size)
    pos = torch.from_numpy(pos.reshape(ng, nc))
    pix = torch.cat([ink_difference(gen_ink[s:s + 1024, None], train_ink[pos[s:s + 1024]])
                     for s in range(0, ng, 1024)]).numpy().astype(np.float64)
    pix[~valid.numpy()] = np.inf
    best = pix.argmin(1)
    pix_min = pix[np.arange(ng), best]
    threshold = float(np.percentile(train_nn, percentile))
    pixel_copy = pix_min <= pixel_tolerance
    feat_close = d[:, 0].numpy() < threshold
    matched = np.where(pixel_copy, idx.numpy()[np.arange(ng), best], idx[:, 0].numpy())
    return Memorisation(matched, d[:, 0].numpy(), pix_min, threshold, feat_close | pixel_copy,
                        pixel_copy)
