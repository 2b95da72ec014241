"""k-nearest-neighbour search in feature space (Euclidean), exact or approximate.

Every DS rule but the t-SNE hull asks "how far is this point from the real set": generated -> real
(k-NN rule), real -> real leave-one-out (its threshold), generated -> train (memorisation), for a
few hundred points (test config) up to 50k x 20k (the benchmark). ``auto`` searches exactly
(``exact_knn``, faster than either IVF at the benchmark's size: bench/bench_diverse.py) up to
``exact_max_pairs`` query-base pairs, so every search of the default workflow is exact; above that,
an IVF-Flat index: faiss-cpu when installed, else the same algorithm in torch (``ivf_knn``), so the
approximate path exists (and is tested) on every installation. Leave-one-out (``exclude_self``)
drops each point's own index, never a duplicate that merely sits at distance 0.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass

import numpy as np
import torch

from divrec.device import limit_threads
from divrec.errors import ConfigError

METHODS = ("auto", "exact", "faiss", "ivf")


@dataclass
class SearchSettings:
    """``nlist``/``nprobe`` None: 4*sqrt(nb) lists (at most nb/39) and nlist/4 probes.
    Measured recall@5 against exact search, Omniglot images: 0.999 (nlist/8) and 0.9999
    (nlist/4) with a trained SimCLR critic, 0.959 and 0.994 with an untrained one, whose
    features are less clustered; tests/test_diverse.py checks >= 0.99 on a fixture."""

    method: str = "auto"
    exact_max_pairs: float = 2.0e9  # 50k x 20k x 256-d exact: 4.6 s on 2 cores (matmul)
    nlist: int | None = None
    nprobe: int | None = None
    block: int = 2048
    seed: int = 0

    def __post_init__(self):
        if self.method not in METHODS:
            raise ConfigError(f"unknown neighbour search '{self.method}' (choose from {METHODS})")

    def lists(self, nb: int) -> tuple[int, int]:
        nlist = self.nlist or max(1, int(round(4 * math.sqrt(nb))))
        nlist = min(nlist, max(1, nb // 39))  # faiss' minimum of 39 training points per list
        nprobe = min(nlist, self.nprobe or max(1, math.ceil(nlist / 4)))
        return nlist, nprobe


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
    """IVF-Flat approximate k-NN in plain torch, the fallback when faiss is not installed ->
    (distances [nq, k], indices [nq, k]); slots no probed cell could fill are inf / -1.

    Same algorithm as faiss' ``IndexIVFFlat``: a k-means coarse quantiser splits the base set
    into ``nlist`` cells; each query is compared exactly with the points of its ``nprobe``
    nearest cells only (about nq * nb * nprobe / nlist distances instead of nq * nb). The
    (query, probed cell) pairs are sorted by cell, so each cell costs one matmul against all
    queries that probe it; each pair leaves its top-k in a [nq * nprobe, k] buffer that one
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


def faiss_available() -> bool:
    return importlib.util.find_spec("faiss") is not None


def resolve_method(st: SearchSettings, nq: int, nb: int) -> str:
    if st.method != "auto":
        if st.method == "faiss" and not faiss_available():
            raise ConfigError("neighbour search 'faiss' requested but faiss is not installed "
                              "(pip install faiss-cpu, or use search: auto)")
        return st.method
    if nq * nb <= st.exact_max_pairs:
        return "exact"
    return "faiss" if faiss_available() else "ivf"


@torch.no_grad()
def faiss_knn(query, base, k: int, nlist: int, nprobe: int, seed: int = 0):
    import faiss

    q, b = (np.ascontiguousarray(as_tensor(x).numpy()) for x in (query, base))
    quantizer = faiss.IndexFlatL2(b.shape[1])
    index = faiss.IndexIVFFlat(quantizer, b.shape[1], nlist)
    cp = faiss.ClusteringParameters()
    cp.seed = seed
    index.cp = cp
    index.train(b)
    index.add(b)
    index.nprobe = nprobe
    d2, i = index.search(q, min(k, b.shape[0]))
    d = torch.from_numpy(np.sqrt(np.maximum(d2, 0))).float()
    i = torch.from_numpy(i).long()
    # an unfilled slot (fewer than k points in the probed lists) is -1 / inf
    d[i < 0] = float("inf")
    return d, i


def knn(query, base, k: int, st: SearchSettings | None = None, exclude_self: bool = False):
    """k nearest base points of each query point -> (distances, indices), both [nq, k].

    ``exclude_self``: ``query`` IS ``base`` (leave-one-out, e.g. real-to-real distances)."""
    st = st or SearchSettings()
    nq, nb = len(query), len(base)
    if nb - int(exclude_self) < 1:
        raise ConfigError(f"neighbour search needs at least {1 + int(exclude_self)} base points")
    method = resolve_method(st, nq, nb)
    if method == "exact":
        return exact_knn(query, base, k, exclude_self, st.block)
    nlist, nprobe = st.lists(nb)
    if method == "faiss":
        _, i = faiss_knn(query, base, k + int(exclude_self), nlist, nprobe, st.seed)
    else:
        _, i = ivf_knn(query, base, k + int(exclude_self), nlist, nprobe, st.seed, st.block)
    if exclude_self:  # drop the own index; a row without it (approximation, ties) keeps k first
        keep = i != torch.arange(nq).unsqueeze(1)
        i = i[keep & (keep.cumsum(1) < i.shape[1])].view(-1, i.shape[1] - 1)
    q, b = as_tensor(query), as_tensor(base)
    out = [refine(q[s:s + st.block], b, i[s:s + st.block]) for s in range(0, nq, st.block)]
    return torch.cat([d for d, _ in out]), torch.cat([j for _, j in out])


def recall_at_k(approx_idx: torch.Tensor, exact_idx: torch.Tensor) -> float:
    """Fraction of the exact k neighbours that the approximate answer also returned."""
    a, e = approx_idx.numpy(), exact_idx.numpy()
    hits = sum(len(np.intersect1d(a[r], e[r])) for r in range(len(e)))
    return hits / e.size
