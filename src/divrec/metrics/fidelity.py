"""Sample-quality metrics on feature arrays: Fréchet distance, KID, precision/recall/density/
coverage and the Vendi score.

All functions take plain ``[N, D]`` arrays so the same code scores any extractor's features. The
name of the extractor travels with the numbers (see ``fd_name``): a Fréchet distance computed in
a small classifier's feature space is *not* FID and must never be labelled as such.

Conventions follow the reference implementations the tests compare against:
- FD: Heusel et al. 2017 (pytorch-fid), covariances with ``ddof=1``.
- KID: Bińkowski et al. 2018, unbiased MMD² with the cubic kernel ``(x·y/d + 1)³`` averaged over
  random subsets drawn like torch-fidelity (``RandomState(seed).choice`` without replacement).
- PRDC: Naeem et al. 2020 (``prdc``), k-NN radii excluding the point itself.
- Vendi: Friedman & Dieng 2023, cosine-similarity kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STANDARD_EXTRACTOR = "inception"


def fd_name(extractor: str) -> str:
    """"FID" only for the standard Inception-v3 FID weights, "FD_<extractor>" otherwise."""
    return "FID" if extractor == STANDARD_EXTRACTOR else f"FD_{extractor}"


def _as_2d(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"features must be [N, D], got shape {x.shape}")
    return x


def _gaussian(feats) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (``ddof=1``) of a feature set."""
    f = _as_2d(feats)
    if len(f) < 2:
        raise ValueError("need at least 2 feature vectors for a covariance")
    return f.mean(0), np.cov(f, rowvar=False, ddof=1).reshape(f.shape[1], f.shape[1])


def frechet_distance(real, fake) -> float:
    """||mu1 - mu2||² + Tr(S1 + S2 - 2 (S1 S2)^½).

    Tr (S1 S2)^½ = Σ √λ(S1^½ S2 S1^½): the inner matrix is symmetric PSD, so an eigen-decomposition
    replaces the general (and occasionally complex-valued) ``sqrtm`` without changing the value."""
    (mu1, s1), (mu2, s2) = _gaussian(real), _gaussian(fake)
    if mu1.shape != mu2.shape:
        raise ValueError(f"feature dimensions differ: {mu1.shape} vs {mu2.shape}")
    w, v = np.linalg.eigh((s1 + s1.T) / 2)
    r = (v * np.sqrt(np.clip(w, 0, None))) @ v.T  # S1^½
    inner = r @ s2 @ r
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    fd = diff @ diff + np.trace(s1) + np.trace(s2) - 2 * tr_covmean
    return float(max(fd, 0.0))


def mmd2_unbiased(x: np.ndarray, y: np.ndarray, degree: int = 3, coef0: float = 1.0) -> float:
    """Unbiased MMD² for equal-size sets: within-set terms drop the diagonal, the cross term
    keeps it (the estimator of Bińkowski et al. and torch-fidelity)."""
    m = len(x)
    kxx, kyy, kxy = ((a @ b.T / a.shape[1] + coef0) ** degree
                     for a, b in ((x, x), (y, y), (x, y)))
    within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(within - 2 * kxy.sum() / (m * m))


def kid(real, fake, subsets: int = 100, subset_size: int = 1000, seed: int = 0,
        degree: int = 3, coef0: float = 1.0) -> tuple[float, float]:
    """Kernel Inception Distance: (mean, std) of the unbiased MMD² over random subsets.
    ``subset_size`` is capped at the smaller set, so tiny test runs still give a number (the
    capped size is an estimator choice: report it with the value)."""
    r, f = _as_2d(real), _as_2d(fake)
    size = min(subset_size, len(r), len(f))
    if size < 2:
        raise ValueError("KID needs at least 2 samples per set")
    rng = np.random.RandomState(seed)
    vals = np.array([mmd2_unbiased(r[rng.choice(len(r), size, replace=False)],
                                   f[rng.choice(len(f), size, replace=False)], degree, coef0)
                     for _ in range(subsets)])
    return float(vals.mean()), float(vals.std())


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.clip(sq, 0, None))


def _knn_radius(x: np.ndarray, k: int) -> np.ndarray:
    """Distance to the k-th nearest *other* point (column 0 of the sorted row is the point)."""
    d = _pairwise(x, x)
    np.fill_diagonal(d, 0.0)
    return np.partition(d, k, axis=1)[:, k]


def prdc(real, fake, k: int = 5) -> dict[str, float]:
    """Precision, recall, density, coverage (Naeem et al. 2020) with k-NN balls: precision =
    fraction of fakes inside some real ball; recall = of reals inside some fake ball; density =
    mean number of real balls containing a fake, / k; coverage = fraction of real balls containing
    at least one fake."""
    r, f = _as_2d(real), _as_2d(fake)
    if min(len(r), len(f)) <= k:
        raise ValueError(f"PRDC with k={k} needs more than {k} samples per set")
    r_rad, f_rad = _knn_radius(r, k), _knn_radius(f, k)
    d = _pairwise(r, f)  # [Nr, Nf]
    inside_real = d < r_rad[:, None]
    return {
        "precision": float(inside_real.any(0).mean()),
        "recall": float((d < f_rad[None, :]).any(1).mean()),
        "density": float(inside_real.sum(0).mean() / k),
        "coverage": float((d.min(1) < r_rad).mean()),
    }


def vendi_score(feats) -> float:
    """exp(Shannon entropy of the eigenvalues of K/n), K the cosine-similarity kernel.

    1 for n identical samples, n for n mutually orthogonal ones: "the effective number of
    distinct samples". The non-zero spectrum of X Xᵀ/n equals that of Xᵀ X/n, so the cost is
    O(n d²) instead of O(n³)."""
    x = _as_2d(feats)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if (norms == 0).any():
        raise ValueError("Vendi score needs non-zero feature vectors (cosine kernel)")
    x = x / norms
    n, d = x.shape
    gram = x.T @ x / n if d < n else x @ x.T / n
    w = np.clip(np.linalg.eigvalsh(gram), 0, None)
    w = w[w > 1e-12]
    return float(np.exp(-(w * np.log(w)).sum()))


@dataclass
class FidelitySettings:
    """Estimator settings written next to the numbers they produced."""

    kid_subsets: int = 100
    kid_subset_size: int = 1000
    prdc_k: int = 5
    seed: int = 0


def all_metrics(real, fake, extractor: str, st: FidelitySettings | None = None) -> dict:
    """One table row: every metric plus the extractor that defines their feature space."""
    st = st or FidelitySettings()
    kid_mean, kid_std = kid(real, fake, st.kid_subsets, st.kid_subset_size, st.seed)
    return {
        "extractor": extractor,
        "fd_name": fd_name(extractor),
        "fd": frechet_distance(real, fake),
        "kid": kid_mean,
        "kid_std": kid_std,
        "kid_subset_size": min(st.kid_subset_size, len(real), len(fake)),
        **prdc(real, fake, st.prdc_k),
        "vendi": vendi_score(fake),
        "vendi_real": vendi_score(real),
        "n_real": len(real),
        "n_fake": len(fake),
    }
