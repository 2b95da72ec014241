"""k-nearest-neighbour search in feature space (Euclidean), exact or approximate.

Every DS rule that is not the t-SNE hull reduces to "how far is this point from the real set":
generated -> real (k-NN rule), real -> real leave-one-out (its threshold), generated -> train
(memorisation). Sizes range from a few hundred points (test config) to 50k x 20k (the benchmark),
so the search picks its backend by the number of query-base pairs:

* ``exact``: squared distances as one matmul per block of queries (the form ``torch.cdist`` uses),
  top-k per block, then the k chosen distances recomputed directly; memory is one block of at
  most 64M distances, time grows with nq * nb but at matmul speed (50k x 20k x 256-d: 4.6 s
  on 2 cores, faster than either IVF at that size, measured in bench/bench_diverse.py).
* ``faiss``: an IVF-Flat index (faiss-cpu, optional): k-means coarse quantiser with ``nlist``
  lists, ``nprobe`` of them searched per query.
* ``ivf``: the same IVF-Flat algorithm in torch (``divrec.diverse.ivf``), used when faiss is not
  installed, so the approximate path exists (and is tested) on every installation.

``auto`` is exact up to ``exact_max_pairs`` query-base pairs (so every search of the default
workflow is exact), then faiss if importable, else ivf.
Leave-one-out (``exclude_self``, query set == base set) drops each point's own index, never a
duplicate that merely sits at distance 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

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


def faiss_available() -> bool:
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_method(st: SearchSettings, nq: int, nb: int) -> str:
    if st.method != "auto":
        if st.method == "faiss" and not faiss_available():
            raise ConfigError("neighbour search 'faiss' requested but faiss is not installed "
                              "(pip install faiss-cpu, or use search: auto)")
        return st.method
    if nq * nb <= st.exact_max_pairs:
        return "exact"
    return "faiss" if faiss_available() else "ivf"


def _as_tensor(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).float()


@torch.no_grad()
def exact_knn(query, base, k: int, exclude_self: bool = False, block: int = 2048):
    """-> (distances [nq, k] ascending, indices [nq, k]) by blocked ``torch.cdist``."""
    q, b = _as_tensor(query), _as_tensor(base)
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


def _drop_self(d: torch.Tensor, i: torch.Tensor, k: int):
    """Rows of a (k+1)-NN answer of a set against itself -> k neighbours other than self."""
    own = torch.arange(i.shape[0]).unsqueeze(1)
    keep = i != own
    # a row that did not return itself (approximation, ties) keeps its first k neighbours
    keep &= keep.cumsum(1) <= k
    return d[keep].view(-1, k), i[keep].view(-1, k)


@torch.no_grad()
def faiss_knn(query, base, k: int, nlist: int, nprobe: int, seed: int = 0,
              exclude_self: bool = False):
    import faiss

    q = np.ascontiguousarray(_as_tensor(query).numpy())
    b = np.ascontiguousarray(_as_tensor(base).numpy())
    quantizer = faiss.IndexFlatL2(b.shape[1])
    index = faiss.IndexIVFFlat(quantizer, b.shape[1], nlist)
    cp = faiss.ClusteringParameters()
    cp.seed = seed
    index.cp = cp
    index.train(b)
    index.add(b)
    index.nprobe = nprobe
    kk = min(k + int(exclude_self), b.shape[0])
    d2, i = index.search(q, kk)
    d = torch.from_numpy(np.sqrt(np.maximum(d2, 0))).float()
    i = torch.from_numpy(i).long()
    # an unfilled slot (fewer than kk points in the probed lists) is -1 / inf
    d[i < 0] = float("inf")
    if exclude_self:
        return _drop_self(d, i, kk - 1)
    return d, i


def knn(query, base, k: int, st: SearchSettings | None = None, exclude_self: bool = False):
    """k nearest base points of each query point -> (distances, indices), both [nq, k].

    ``exclude_self``: ``query`` IS ``base`` (leave-one-out, e.g. real-to-real distances)."""
    from divrec.diverse.ivf import ivf_knn

    st = st or SearchSettings()
    nq, nb = len(query), len(base)
    if nb - int(exclude_self) < 1:
        raise ConfigError(f"neighbour search needs at least {1 + int(exclude_self)} base points")
    method = resolve_method(st, nq, nb)
    if method == "exact":
        return exact_knn(query, base, k, exclude_self, st.block)
    nlist, nprobe = st.lists(nb)
    if method == "faiss":
        _, i = faiss_knn(query, base, k, nlist, nprobe, st.seed, exclude_self)
    else:
        _, i = ivf_knn(query, base, k, nlist, nprobe, st.seed, exclude_self, st.block)
    q, b = _as_tensor(query), _as_tensor(base)
    out = [refine(q[s:s + st.block], b, i[s:s + st.block]) for s in range(0, nq, st.block)]
    return torch.cat([d for d, _ in out]), torch.cat([j for _, j in out])


def recall_at_k(approx_idx: torch.Tensor, exact_idx: torch.Tensor) -> float:
    """Fraction of the exact k neighbours that the approximate answer also returned."""
    a, e = approx_idx.numpy(), exact_idx.numpy()
    hits = sum(len(np.intersect1d(a[r], e[r])) for r in range(len(e)))
    return hits / e.size
