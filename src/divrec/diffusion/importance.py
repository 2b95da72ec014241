"""Feature-importance maps of a conditional diffusion model, and their comparison with human maps.

The ICML'23 formula is not in any published code (REFERENCE 4.6, 9.3). We use the gradient of the
guidance term with respect to the exemplar pixels,

    phi(c) = E_{t, eps} | d || eps(x_t, t, c) - eps(x_t, t, null) ||^2 / d c |,

averaged over ``n_t`` evenly spaced steps and ``n_noise`` noise draws per step: a pixel matters
when changing it changes how much the condition steers the denoiser. x_t is drawn from
q(x_t | x_0), x_0 being the exemplar itself unless other drawings of the class are given.

Comparison with a human map (e.g. ClickMe) uses what the paper reports: the Spearman rank
correlation of the two maps, and the number and mean size of "important regions", the connected
components (8-connectivity) of the pixels at or above ``threshold`` times the map's maximum.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from scipy import ndimage, stats

from divrec.errors import DivrecError


def importance_map(model, exemplars: torch.Tensor, x0: torch.Tensor | None = None, n_t: int = 10,
                   n_noise: int = 4, generator: torch.Generator | None = None) -> torch.Tensor:
    """exemplars [B, 1, H, W] in the model's data range -> phi [B, 1, H, W] (>= 0); ``model``
    (a ``DiffusionModel``) has ``schedule``, ``condition``, ``null_condition`` and ``denoise``."""
    if n_t < 1 or n_noise < 1:
        raise DivrecError(f"importance needs n_t >= 1 and n_noise >= 1, got {n_t}, {n_noise}")
    sched = model.schedule
    x0 = exemplars if x0 is None else x0
    if x0.shape != exemplars.shape:
        raise DivrecError(f"x0 {tuple(x0.shape)} must match exemplars {tuple(exemplars.shape)}")
    steps = np.unique(np.round(np.linspace(0, sched.T - 1, n_t)).astype(int))
    with torch.no_grad():
        null = model.null_condition(exemplars)
    total = torch.zeros_like(exemplars)
    for t in steps:
        tt = torch.full((exemplars.shape[0],), int(t), device=exemplars.device, dtype=torch.long)
        for _ in range(n_noise):
            noise = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
            x_t = sched.q_sample(x0, tt, noise)
            ex = exemplars.detach().clone().requires_grad_(True)
            with torch.enable_grad():
                diff = model.denoise(x_t, tt, model.condition(ex)) - model.denoise(x_t, tt, null)
                if not diff.requires_grad:  # the prediction does not depend on the exemplar
                    continue
                (grad,) = torch.autograd.grad(diff.pow(2).sum(), ex, allow_unused=True)
            if grad is not None:
                total += grad.abs()
    return total / (len(steps) * n_noise)


def _as_maps(m) -> np.ndarray:
    a = np.asarray(m.detach().cpu() if isinstance(m, torch.Tensor) else m, dtype=np.float64)
    if a.ndim < 2:
        raise DivrecError(f"an importance map needs at least 2 dims (H, W), got shape {a.shape}")
    return a.reshape(-1, *a.shape[-2:])


def region_stats(m: np.ndarray, threshold: float = 0.5) -> tuple[int, float]:
    """(number of regions, mean region size in pixels) of one [H, W] map; a flat map has none."""
    lo, hi = float(m.min()), float(m.max())
    if hi <= lo:
        return 0, 0.0
    mask = (m - lo) / (hi - lo) >= threshold
    labels, n = ndimage.label(mask, structure=np.ones((3, 3), dtype=int))
    return int(n), float(mask.sum() / n) if n else 0.0


def compare_maps(model_maps, human_maps, threshold: float = 0.5,
                 blur_sigma: float = 0.0) -> pd.DataFrame:
    """One row per image: Spearman rho between the maps, and each map's region count and mean
    region size. ``blur_sigma`` (pixels) smooths both maps alike (human click maps are blurred)."""
    a, b = _as_maps(model_maps), _as_maps(human_maps)
    if a.shape != b.shape:
        raise DivrecError(f"model maps {a.shape} and human maps {b.shape} differ in shape; "
                          "resize one to the other first")
    if not 0 < threshold <= 1:
        raise DivrecError(f"threshold is a fraction of the map's maximum, got {threshold}")
    rows = []
    for ma, mb in zip(a, b, strict=True):
        if blur_sigma > 0:
            ma = ndimage.gaussian_filter(ma, blur_sigma)
            mb = ndimage.gaussian_filter(mb, blur_sigma)
        rho = stats.spearmanr(ma.ravel(), mb.ravel()).statistic if ma.std() and mb.std() else np.nan
        (na, sa), (nb, sb) = region_stats(ma, threshold), region_stats(mb, threshold)
        rows.append({"spearman": float(rho), "model_regions": na, "model_mean_size": sa,
                     "human_regions": nb, "human_mean_size": sb})
    return pd.DataFrame(rows)
