"""IVF-Flat approximate k-NN in plain torch: the fallback when faiss is not installed.

Same algorithm as faiss' ``IndexIVFFlat``: a k-means coarse quantiser splits the base set into
``nlist`` cells; each query is compared exactly with the points of its ``nprobe`` nearest cells
only. Cost is about nq * nb * nprobe / nlist distance evaluations instead of nq * nb, plus the
k-means; recall: see ``SearchSettings``.
"""

from __future__ import annotations

import torch

from divrec.device import limit_threads
from divrec.diverse.exact import as_tensor, exact_knn


@torch.no_grad()
def kmeans(x: torch.Tensor, n: int, iters: int = 10, seed: int = 0,
           max_train: int = 256) -> torch.Tensor:
    """Lloyd's k-means on at most ``max_train`` points per centroid (faiss' default cap);
    an emptied cell is re-seeded with a random training point."""
    g = torch.Generator().manual_seed(seed)
    train = x[torch.randperm(len(x), generator=g)[:n * max_train]]
    cent = train[torch.randperm(len(train), generator=g)[:n]].clone()
    for _ in range(iters):
        assign = exact_knn(train, cent, 1)[1][:, 0]
        sums = torch.zeros_like(cent).index_add_(0, assign, train)
        counts = torch.bincount(assign, minlength=n).float()
        empty = counts == 0
        cent = sums / counts.clamp_min(1).unsqueeze(1)
        if empty.any():
            cent[empty] = train[torch.randint(len(train), (int(empty.sum()),), generator=g)]
    return cent


def _groups(keys: torch.Tensor, n: int) -> tuple[torch.Tensor, list[int]]:
    """Positions of ``keys`` sorted by value, and where each value 0..n-1 starts/ends."""
    order = torch.argsort(keys)
    return order, torch.searchsorted(keys[order], torch.arange(n + 1)).tolist()


@torch.no_grad()
def ivf_knn(query, base, k: int, nlist: int, nprobe: int, seed: int = 0, block: int = 2048):
    """-> (distances [nq, k], indices [nq, k]); slots no probed cell could fill are inf / -1.

    The (query, probed cell) pairs are sorted by cell, so each cell costs one matmul against
    all queries that probe it; each pair leaves its top-k in a [nq * nprobe, k] buffer that one
    final top-k reduces."""
    q, b = as_tensor(query), as_tensor(base)
    kk = min(k, len(b))
    cent = kmeans(b, nlist, seed=seed)
    base_order, base_bounds = _groups(exact_knn(b, cent, 1, block=block)[1][:, 0], nlist)
    probes = exact_knn(q, cent, nprobe, block=block)[1]  # [nq, nprobe]
    pair_order, pair_bounds = _groups(probes.flatten(), nlist)
    cand_d = torch.full((probes.numel(), kk), float("inf"))
    cand_i = torch.full((probes.numel(), kk), -1, dtype=torch.long)
    b_sq = (b * b).sum(1)
    with limit_threads(1):  # per-cell matmuls are small: more threads only add sync cost
        for c in range(nlist):
            members = base_order[base_bounds[c]:base_bounds[c + 1]]
            if len(members) == 0:
                continue
            bm, bm_sq, kc = b[members], b_sq[members], min(kk, len(members))
            for s in range(pair_bounds[c], pair_bounds[c + 1], block):
                pairs = pair_order[s:min(s + block, pair_bounds[c + 1])]
                qc = q[pairs // nprobe]
                d2 = (qc * qc).sum(1, keepdim=True) - 2 * qc @ bm.T + bm_sq
                v, j = torch.topk(d2, kc, dim=1, largest=False)
                cand_d[pairs, :kc], cand_i[pairs, :kc] = v.clamp_min(0).sqrt(), members[j]
    cand_d, cand_i = cand_d.view(len(q), -1), cand_i.view(len(q), -1)
    top = torch.topk(cand_d, kk, dim=1, largest=False).indices
    return cand_d.gather(1, top), cand_i.gather(1, top)
