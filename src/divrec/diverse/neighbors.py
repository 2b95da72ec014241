"""k-nearest-neighbour search in feature space (Euclidean), exact or approximate.

Every DS rule but the t-SNE hull asks "how far is this point from the real set": generated ->
real (k-NN rule), real -> real leave-one-out (its threshold), generated -> train (memorisation),
for a few hundred points (test config) up to 50k x 20k (the benchmark). ``auto`` searches exactly
(``divrec.diverse.exact``: at matmul speed, faster than either IVF at the benchmark's size,
measured in bench/bench_diverse.py) up to ``exact_max_pairs`` query-base pairs, so every search of
the default workflow is exact; above that, an IVF-Flat index: faiss-cpu when installed, else the
same algorithm in torch (``divrec.diverse.ivf``), so the approximate path exists (and is tested)
on every installation. Leave-one-out (``exclude_self``, query set == base set) drops each point's
own index, never a duplicate that merely sits at distance 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from divrec.diverse.exact import as_tensor, exact_knn, refine
from divrec.diverse.ivf import ivf_knn
from divrec.errors import ConfigError

__all__ = ["SearchSettings", "exact_knn", "faiss_knn", "knn", "recall_at_k", "refine"]
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
