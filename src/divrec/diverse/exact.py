"""Exact k-nearest-neighbour search, and ``refine``, with which the IVF and faiss paths of
``divrec.diverse.neighbors`` finish their candidates."""

from __future__ import annotations

import numpy as np
import torch


def as_tensor(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).float()


@torch.no_grad()
def exact_knn(query, base, k: int, exclude_self: bool = False, block: int = 2048):
    """-> (distances [nq, k] ascending, indices [nq, k]) by blocked ``torch.cdist``."""
    q, b = as_tensor(query), as_tensor(base)
    k = min(k, b.shape[0] - int(exclude_self))
    block = max(1, min(block, (1 << 26) // max(1, b.shape[0])))  # <= 64M distances in memory
    dist = torch.empty(q.shape[0], k)
    idx = torch.empty(q.shape[0], k, dtype=torch.long)
    b_sq = (b * b).sum(1)
    for s in range(0, q.shape[0], block):
        qb = q[s:s + block]
        # |q|^2 - 2 q.b + |b|^2: the matmul form torch.cdist uses for large inputs, fused
        d2 = torch.addmm(b_sq, qb, b.T, alpha=-2).add_((qb * qb).sum(1, keepdim=True))
        d2.clamp_min_(0)  # rounding
        if exclude_self:
            rows = torch.arange(qb.shape[0])
            d2[rows, rows + s] = float("inf")
        i = torch.topk(d2, k, dim=1, largest=False).indices
        dist[s:s + block], idx[s:s + block] = refine(qb, b, i)
    return dist, idx


def refine(q: torch.Tensor, b: torch.Tensor, idx: torch.Tensor):
    """Recompute the chosen neighbours' distances directly (the matmul form loses ~1e-2 to
    float32 cancellation near 0, where memorisation thresholds live) and re-sort them.
    Unfilled slots (index -1) stay inf."""
    valid = idx >= 0
    d = (q.unsqueeze(1) - b[idx.clamp_min(0)]).norm(dim=-1)
    d = d.masked_fill(~valid, float("inf"))
    order = torch.argsort(d, dim=1, stable=True)
    return d.gather(1, order), idx.gather(1, order)
