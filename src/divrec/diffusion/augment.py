"""``augment_class`` (published for QuickDraw-FS, REFERENCE 1.3), batched on tensors.

Each (target, exemplar) pair draws one of four transforms with probabilities [0.2, 0.2, 0.2, 0.4]:
horizontal flip, vertical flip, identity, or a random affine (rotation U(-90, 90) degrees,
translation up to 0.3 of the size, scale U(0.5, 1.5), shear U(-30, 30) degrees in x and in y).
The SAME transform, with the same affine parameters, is applied to the target and its exemplar,
so every transformed pair acts as a new class. Nearest-neighbour resampling keeps binary images
binary; uncovered pixels become background (0).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

PROBS = (0.2, 0.2, 0.2, 0.4)  # hflip, vflip, identity, affine


def _uniform(n: int, lo: float, hi: float, g, device) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g, device=device)


def random_affine(n: int, g=None, device="cpu", degrees: float = 90.0, translate: float = 0.3,
                  scale: tuple[float, float] = (0.5, 1.5), shear: float = 30.0) -> torch.Tensor:
    """[n, 2, 3] forward maps (rotation . shear . scale + translation) in normalised coordinates."""
    rot = torch.deg2rad(_uniform(n, -degrees, degrees, g, device))
    sx = torch.tan(torch.deg2rad(_uniform(n, -shear, shear, g, device)))
    sy = torch.tan(torch.deg2rad(_uniform(n, -shear, shear, g, device)))
    s = _uniform(n, *scale, g, device)
    r = torch.stack([torch.stack([rot.cos(), -rot.sin()], -1),
                     torch.stack([rot.sin(), rot.cos()], -1)], -2)
    one, zero = torch.ones_like(sx), torch.zeros_like(sx)
    shx = torch.stack([torch.stack([one, sx], -1), torch.stack([zero, one], -1)], -2)
    shy = torch.stack([torch.stack([one, zero], -1), torch.stack([sy, one], -1)], -2)
    a = r @ shx @ shy * s[:, None, None]
    t = 2 * translate * (2 * torch.rand(n, 2, 1, generator=g, device=device) - 1)  # [-1,1] spans 2
    return torch.cat([a, t], dim=2)


def class_thetas(n: int, g=None, device="cpu", probs=PROBS) -> torch.Tensor:
    """[n, 2, 3] sampling grids' affine (output -> input coordinates) for each pair."""
    choice = torch.multinomial(torch.tensor(probs, device=device), n, replacement=True,
                               generator=g)
    fwd = random_affine(n, g, device)
    eye = torch.eye(2, 3, device=device).expand(n, 2, 3).clone()
    hflip, vflip = eye.clone(), eye.clone()
    hflip[:, 0, 0], vflip[:, 1, 1] = -1.0, -1.0
    a_inv = torch.linalg.inv(fwd[:, :, :2])
    inv = torch.cat([a_inv, -a_inv @ fwd[:, :, 2:]], dim=2)  # grid_sample wants the inverse
    options = torch.stack([hflip, vflip, eye, inv], dim=1)  # [n, 4, 2, 3]
    return options[torch.arange(n, device=device), choice]


def augment_class(target: torch.Tensor, exemplar: torch.Tensor,
                  g: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply one shared random transform per pair to [B, C, H, W] images in [0, 1]."""
    both = torch.cat([target, exemplar], dim=1)
    theta = class_thetas(both.shape[0], g, both.device).to(both.dtype)
    grid = F.affine_grid(theta, list(both.shape), align_corners=False)
    out = F.grid_sample(both, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    c = target.shape[1]
    return out[:, :c], out[:, c:]
