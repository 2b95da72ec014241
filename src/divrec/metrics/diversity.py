"""Diversity (published "creativity"): the spread of one class's samples in SimCLR space."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def diversity(features: torch.Tensor, distance: str = "l2") -> torch.Tensor:
    """features [C, N, D] -> per-class diversity [C].

    ``l2`` (published default): mean over the D dimensions of the unbiased (ddof=1) standard
    deviation over the N samples. ``cosine``: sum_i (1 - cos(f_i, mean f)) / (N - 1)."""
    f = features.double()
    n = f.shape[1]
    if n < 2:
        raise ValueError("diversity needs at least two samples per class")
    mean = f.sum(1) / n
    if distance == "l2":
        return (((f - mean[:, None]) ** 2).sum(1) / (n - 1)).sqrt().mean(-1).float()
    if distance == "cosine":
        cos = F.cosine_similarity(f, mean[:, None].expand_as(f), dim=-1)
        return ((1 - cos).sum(1) / (n - 1)).float()
    raise ValueError(f"unknown diversity distance '{distance}'")
