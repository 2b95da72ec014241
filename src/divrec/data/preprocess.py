"""Image preprocessing as tensors (batched, no per-item PIL calls).

``evaluation_view`` is the single post-processing applied to every source before a critic sees it
(human drawings, VAE probabilities, GAN sigmoids, unclipped diffusion outputs alike): resize to the
canonical size, per-image min-max to [0, 1], binarise at 0.5."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

# The canonical image size: the published Omniglot resolution, every critic's input and the
# default of every image_size below the config (whose schema default is this same value).
IMAGE_SIZE = 50


def to_float(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 [.., H, W] (0..255) or float -> float32 [N, 1, H, W] in [0, 1]."""
    t = torch.as_tensor(np.asarray(x)) if not isinstance(x, torch.Tensor) else x
    t = t.float() / 255.0 if t.dtype == torch.uint8 else t.float()
    return t.reshape(-1, 1, *t.shape[-2:])


def resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear resize with antialiasing (what PIL's BILINEAR does when it shrinks)."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


def minmax(x: torch.Tensor) -> torch.Tensor:
    """Per-image min-max to [0, 1]; a constant image maps to 0 (the published code gave NaN)."""
    dims = tuple(range(1, x.dim()))
    lo, hi = x.amin(dims, keepdim=True), x.amax(dims, keepdim=True)
    span = (hi - lo).clamp_min(1e-12)
    return torch.where(hi > lo, (x - lo) / span, torch.zeros_like(x))


def binarize(x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    return (x > threshold).to(x.dtype)


@torch.no_grad()
def evaluation_view(x, size: int = IMAGE_SIZE, threshold: float = 0.5) -> torch.Tensor:
    """The canonical critic input: resize -> min-max -> binarise. Returns [N, 1, size, size]."""
    return binarize(minmax(resize(to_float(x), size)), threshold)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """[N, 1, H, W] float in [0, 1] -> uint8 [N, H, W] (0..255) for compact storage."""
    return (x.clamp(0, 1) * 255).round().to(torch.uint8).squeeze(1).cpu().numpy()
