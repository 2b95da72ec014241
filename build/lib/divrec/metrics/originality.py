"""Originality (ICML'23): how far each sample lies from its exemplar in SimCLR space."""

from __future__ import annotations

import torch


def originality(features: torch.Tensor, exemplar_features: torch.Tensor) -> torch.Tensor:
    """features [C, N, D], exemplar_features [C, D] -> L2 distances [C, N]."""
    return (features.float() - exemplar_features.float()[:, None, :]).norm(dim=-1)
