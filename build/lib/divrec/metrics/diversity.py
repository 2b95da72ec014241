"""Diversity (published "creativity"): the spread of one class's samples in SimCLR space."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def diversity(features: torch.Tensor, mask: torch.Tensor | None = None,
              distance: str = "l2") -> torch.Tensor:
    """features [C, N, D] -> per-class diversity [C].

    ``l2`` (published default): mean over the D dimensions of the unbiased (ddof=1) standard
    deviation over the N samples. ``cosine``: sum_i (1 - cos(f_i, mean f)) / (N - 1).
    ``mask`` [C, N] (True = use) drops samples, e.g. none by default.
    """
    f = features.double()
    if mask is None:
        mask = torch.ones(f.shape[:2], dtype=torch.bool, device=f.device)
    w = mask.double().unsqueeze(-1)
    n = w.sum(1)  # [C, 1]
    if (n < 2).any():
        raise ValueError("diversity needs at least two samples per class")
    mean = (f * w).sum(1) / n
    if distance == "l2":
        var = (((f - mean[:, None]) ** 2) * w).sum(1) / (n - 1)
        return var.sqrt().mean(-1).float()
    if distance == "cosine":
        cos = F.cosine_similarity(f, mean[:, None].expand_as(f), dim=-1)
        return (((1 - cos) * w.squeeze(-1)).sum(1) / (n.squeeze(-1) - 1)).float()
    raise ValueError(f"unknown diversity distance '{distance}'")
