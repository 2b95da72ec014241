"""Batched SimCLR augmentations as one random projective warp per image (no PIL).

Each image gets one of three transforms chosen uniformly, as published: a resized crop
(scale 0.75-1.33, aspect 0.8-1.2), a random affine (rotation +-15 deg, scale 0.75-1.33,
translation 10 %, shear +-10 deg) or a random perspective (distortion 0.5, applied with p=0.5).
All three are homographies, so the whole batch is warped by a single ``grid_sample``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from divrec.data.preprocess import binarize

STRENGTH = {"light": 0.5, "normal": 1.0, "strong": 1.5}


def _uniform(n, lo, hi, g, device):
    return torch.rand(n, generator=g).to(device) * (hi - lo) + lo


def _affine(n, g, device, s: float) -> torch.Tensor:
    ang = torch.deg2rad(_uniform(n, -15 * s, 15 * s, g, device))
    scale = _uniform(n, 1 - 0.25 * s, 1 + 0.33 * s, g, device)
    shear = torch.deg2rad(_uniform(n, -10 * s, 10 * s, g, device))
    tx, ty = (_uniform(n, -0.2 * s, 0.2 * s, g, device) for _ in range(2))
    cos, sin = torch.cos(ang), torch.sin(ang)
    m = torch.zeros(n, 3, 3, device=device)
    m[:, 0, 0], m[:, 0, 1] = cos / scale, (-sin + torch.tan(shear) * cos) / scale
    m[:, 1, 0], m[:, 1, 1] = sin / scale, cos / scale
    m[:, 0, 2], m[:, 1, 2], m[:, 2, 2] = tx, ty, 1
    return m


def _crop(n, g, device, s: float) -> torch.Tensor:
    area = _uniform(n, 1 - 0.25 * s, 1 + 0.33 * s, g, device)
    logr = _uniform(n, math.log(1 - 0.2 * s), math.log(1 + 0.2 * s), g, device)
    w, h = torch.sqrt(area * logr.exp()), torch.sqrt(area / logr.exp())
    cx = (torch.rand(n, generator=g).to(device) * 2 - 1) * (1 - w).abs()
    cy = (torch.rand(n, generator=g).to(device) * 2 - 1) * (1 - h).abs()
    m = torch.zeros(n, 3, 3, device=device)
    m[:, 0, 0], m[:, 1, 1], m[:, 0, 2], m[:, 1, 2], m[:, 2, 2] = w, h, cx, cy, 1
    return m


def _perspective(n, g, device, s: float) -> torch.Tensor:
    """Homography moving the 4 corners inward by up to ``distortion/2`` of the half-size."""
    src = torch.tensor([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=torch.float32, device=device)
    shift = torch.rand(n, 4, 2, generator=g).to(device) * 0.5 * s
    dst = src - src.sign() * shift
    apply = (torch.rand(n, generator=g) < 0.5).to(device)
    dst = torch.where(apply[:, None, None], dst, src.expand(n, 4, 2))
    rows = []
    for i in range(4):
        x, y = src[i]
        u, v = dst[:, i, 0], dst[:, i, 1]
        z, o = torch.zeros_like(u), torch.ones_like(u)
        rows.append(torch.stack([x * o, y * o, o, z, z, z, -u * x, -u * y], -1))
        rows.append(torch.stack([z, z, z, x * o, y * o, o, -v * x, -v * y], -1))
    a = torch.stack(rows, 1)
    b = dst.reshape(n, 8)
    h8 = torch.linalg.solve(a, b)  # maps output coords -> input coords
    return torch.cat([h8, torch.ones(n, 1, device=device)], 1).view(n, 3, 3)


def warp(x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """Sample x at H @ (u, v, 1) for every output pixel (normalised coordinates), zero fill."""
    n, _, hh, ww = x.shape
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, hh, device=x.device),
                            torch.linspace(-1, 1, ww, device=x.device), indexing="ij")
    pts = torch.stack([xs, ys, torch.ones_like(xs)], -1).view(1, -1, 3)
    mapped = pts @ h.transpose(1, 2)
    grid = (mapped[..., :2] / mapped[..., 2:].clamp_min(1e-6)).view(n, hh, ww, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def simclr_view(x: torch.Tensor, g: torch.Generator, strength: str = "normal") -> torch.Tensor:
    """One augmented view per image, in fp32 even under autocast: the warp's coordinates are a
    matmul, which bf16 autocast would round to ~0.1 px and so flip binarised pixels."""
    n, dev, s = x.shape[0], x.device, STRENGTH[strength]
    with torch.autocast(dev.type, enabled=False):
        choice = torch.randint(3, (n,), generator=g).to(dev)
        mats = torch.stack([_crop(n, g, dev, s), _affine(n, g, dev, s),
                            _perspective(n, g, dev, s)])
        return binarize(warp(x.float(), mats[choice, torch.arange(n, device=dev)]), 0.5)
