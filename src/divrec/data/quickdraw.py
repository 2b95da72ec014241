"""QuickDraw-FS: a few-shot dataset carved out of Google's Quick, Draw! bitmaps.

The published file (``all_qd_fs_shuffled.npz``, ICML'23) is not public and its construction is not
in any released code, so it is rebuilt here the way the paper describes it: every category is cut
into visually coherent sub-classes by clustering, and each sub-class becomes one few-shot class.

Source (``fetch``): the official ``numpy_bitmap/<category>.npy`` files (28x28 uint8, ink = 255),
first ``max_per_category`` drawings each, from an offline mirror whose SHA256SUMS are checked, or
downloaded (Google publishes no digests: ``checksums.download`` records one on first use). The
result is ``raw.npz``: ``images`` [N, 28, 28], ``category`` [N] (index into ``category_names``).

Classes (``build``), per category:

1. Embed every drawing as the leading ``pca_dim`` principal components of its Gaussian-blurred
   pixels (``blur_sigma`` px at 28 px). Blurring makes nearby strokes similar, so k-means groups
   drawings by global shape and pose rather than by exact pixel overlap. Raw-pixel features are
   used on purpose: the critics (SimCLR, ProtoNet) are trained on this dataset afterwards, so an
   embedding that depended on them would be circular.
2. k-means (``clusters_per_category``, seeded) in that space; clusters with fewer than
   ``min_cluster_size`` members are dropped.
3. A kept cluster contributes exactly ``per_class`` members, the ones nearest to its centre; the
   nearest one is the class's prototype. Members are then stored in a seeded random order (the
   ``exemplar`` index points at the prototype), so code that takes "the first n drawings" of a
   class gets a random subset, not the n most typical ones.

Classes are then split train/val/test BY CLASS (seeded; categories are interleaved so every part
sees every category, as the weak Omniglot split sees every alphabet).

Images are upsampled 28 -> ``image_size`` (bilinear), min-max scaled and binarised at the
published QuickDraw threshold ``binarize`` (0.3), and stored as 0/255. The split file has exactly
the Omniglot layout (``divrec.data.splits``), so ``load_part``'s 0.5 threshold reproduces the 0.3
binarisation unchanged and every critic, model and metric runs on it as is.
"""

from __future__ import annotations

import logging
import os
import urllib.parse
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from divrec.data.checksums import download, mirror_files, resolve_mirror
from divrec.data.preprocess import binarize, minmax, resize, to_float, to_uint8
from divrec.errors import ConfigError, DataError
from divrec.io import save_npz

BASE_URL = "https://storage.googleapis.com/quickdraw_dataset/full/numpy_bitmap"
SIDE = 28  # the numpy_bitmap files are 28x28
ENV_MIRROR = "DIVREC_QUICKDRAW_MIRROR"
log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- fetch


def load_bitmaps(path: Path, max_n: int | None = None) -> np.ndarray:
    """First ``max_n`` drawings of a numpy_bitmap file, in the official [N, 784] layout or the
    mirror's [N, 1, 784] -> uint8 [n, 28, 28]."""
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"cannot read {path}: {e.__class__.__name__} (corrupt or truncated)"
                        ) from None
    if arr.dtype != np.uint8 or arr.ndim < 2 or int(np.prod(arr.shape[1:])) != SIDE * SIDE:
        raise DataError(f"{path}: expected uint8 [N, 784] bitmaps, got {arr.dtype} {arr.shape}")
    n = len(arr) if max_n is None else min(max_n, len(arr))
    return np.array(arr[:n]).reshape(n, SIDE, SIDE)


def fetch(out: str | os.PathLike, categories: list[str], max_per_category: int | None = None,
          mirror: str | None = None, downloads: str = "data/downloads/quickdraw",
          base_url: str = BASE_URL) -> Path:
    """Write ``raw.npz`` with the first ``max_per_category`` drawings of every category."""
    if not categories:
        raise ConfigError("data.quickdraw.categories is empty")
    mirror_dir = resolve_mirror(ENV_MIRROR, mirror)
    if mirror_dir is None:  # a verified local file per category, downloaded or from the mirror
        files = [download(f"{base_url}/{urllib.parse.quote(c)}.npy", Path(downloads) / f"{c}.npy",
                          check=lambda tmp: load_bitmaps(tmp, 1)) for c in categories]
    else:
        files = mirror_files(mirror_dir, [f"{c}.npy" for c in categories])
    imgs = [load_bitmaps(f, max_per_category) for f in files]
    save_npz(out, images=np.concatenate(imgs),
             category=np.repeat(np.arange(len(imgs), dtype=np.int16), [len(x) for x in imgs]),
             category_names=np.array(list(categories)))
    return Path(out)


# ----------------------------------------------------------------------------- classes


def embed(images: np.ndarray, blur_sigma: float = 1.5, pca_dim: int = 32) -> np.ndarray:
    """uint8 [n, H, W] -> [n, d]: principal components of the blurred, [0, 1]-scaled pixels."""
    x = gaussian_filter(images.astype(np.float32) / 255.0, (0, blur_sigma, blur_sigma))
    x = x.reshape(len(x), -1)
    x = x - x.mean(0)
    d = min(pca_dim, *x.shape)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    return x @ vt[:d].T


def cluster_classes(features: np.ndarray, n_clusters: int, min_cluster_size: int,
                    per_class: int, seed: int = 0) -> list[np.ndarray]:
    """k-means sub-classes of one category -> per kept cluster, ``per_class`` member indices
    ordered by distance to the cluster centre (the first one is the prototype). Kept clusters are
    ordered by size, largest first, so class names are stable for a given seed."""
    from sklearn.cluster import KMeans

    if per_class > min_cluster_size:
        raise ConfigError(f"per_class ({per_class}) must not exceed min_cluster_size "
                          f"({min_cluster_size})")
    k = min(n_clusters, len(features))
    km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(features)
    dist = np.linalg.norm(features - km.cluster_centers_[km.labels_], axis=1)
    sizes = np.bincount(km.labels_, minlength=k)
    out = []
    for j in sorted(range(k), key=lambda j: (-sizes[j], j)):
        if sizes[j] < min_cluster_size:
            continue
        members = np.flatnonzero(km.labels_ == j)
        order = np.lexsort((members, dist[members]))  # nearest first; ties by drawing index
        out.append(members[order[:per_class]])
    return out


def assign_parts(class_category: np.ndarray, val_fraction: float, test_fraction: float,
                 seed: int = 0) -> dict[str, np.ndarray]:
    """Class indices of train/val/test: per-category shuffles (seeded), interleaved, so the first
    ``test_fraction`` (test) and the next ``val_fraction`` (val) span every category."""
    if val_fraction + test_fraction >= 1:
        raise ConfigError("data.quickdraw: val_fraction + test_fraction must be below 1")
    rng = np.random.default_rng(seed)
    queues = [rng.permutation(np.flatnonzero(class_category == c))
              for c in np.unique(class_category)]
    order = [q[i] for i in range(max((len(q) for q in queues), default=0)) for q in queues
             if i < len(q)]
    n = len(order)
    n_test, n_val = int(round(test_fraction * n)), int(round(val_fraction * n))
    order = np.asarray(order, dtype=np.int64)
    return {"train": np.sort(order[n_test + n_val:]), "val": np.sort(order[n_test:n_test + n_val]),
            "test": np.sort(order[:n_test])}


def to_split_images(images: np.ndarray, size: int = 48, threshold: float = 0.3) -> np.ndarray:
    """uint8 [n, 28, 28] -> uint8 [n, size, size] in {0, 255}, binarised at ``threshold``."""
    x = binarize(minmax(resize(to_float(images), size)), threshold)
    return to_uint8(x).reshape(len(images), size, size)


def build(raw_path: str | os.PathLike, out: str | os.PathLike, clusters_per_category: int = 12,
          min_cluster_size: int = 100, per_class: int = 100, image_size: int = 48,
          binarize_at: float = 0.3, val_fraction: float = 0.1, test_fraction: float = 0.3,
          seed: int = 0, pca_dim: int = 32, blur_sigma: float = 1.5) -> Path:
    """Cluster every category into sub-classes and write the split file (``splits`` layout)."""
    with np.load(raw_path) as z:
        images, category, cat_names = z["images"], z["category"], z["category_names"]
    members, exemplar, class_cat, names = [], [], [], []
    rng = np.random.default_rng(seed)
    for ci, cname in enumerate(cat_names):
        rows = np.flatnonzero(category == ci)
        feats = embed(images[rows], blur_sigma, pca_dim)
        for j, idx in enumerate(cluster_classes(feats, clusters_per_category, min_cluster_size,
                                                per_class, seed)):
            order = rng.permutation(len(idx))
            members.append(rows[idx[order]])
            exemplar.append(int(np.flatnonzero(order == 0)[0]))  # idx[0] is nearest the centre
            class_cat.append(ci)
            names.append(f"{cname}/cluster{j:02d}")
    parts = assign_parts(np.asarray(class_cat), val_fraction, test_fraction, seed)
    if len(parts["test"]) < 2:
        raise DataError(f"QuickDraw-FS has {len(members)} classes, {len(parts['test'])} for test: "
                        "lower min_cluster_size or add categories/clusters")
    arrays = {}
    for part, cids in parts.items():
        idx = np.stack([members[c] for c in cids]) if len(cids) else np.zeros((0, per_class), int)
        imgs = to_split_images(images[idx.ravel()], image_size, binarize_at)
        arrays[f"{part}_images"] = imgs.reshape(len(cids), per_class, image_size, image_size)
        arrays[f"{part}_exemplar"] = np.array([exemplar[c] for c in cids], dtype=np.int64)
        arrays[f"{part}_names"] = np.array([names[c] for c in cids], dtype=str)
        arrays[f"{part}_char_id"] = cids.astype(np.int64)
    save_npz(out, **arrays)
    log.info("QuickDraw-FS: %d classes from %d categories (%s), %d drawings each",
             len(members), len(cat_names), ", ".join(f"{p} {len(c)}" for p, c in parts.items()),
             per_class)
    return Path(out)


def fetch_rule(job) -> None:
    q = job.cfg["data"]["quickdraw"]
    fetch(job.output[0], q["categories"], q.get("max_per_category"), q.get("mirror"),
          q["downloads"], q.get("base_url", BASE_URL))


def build_rule(job) -> None:
    q = job.cfg["data"]["quickdraw"]
    build(job.input[0], job.output[0], q["clusters_per_category"], q["min_cluster_size"],
          q["per_class"], q["image_size"], q["binarize"], q["val_fraction"], q["test_fraction"],
          job.cfg["seed"], q["pca_dim"], q["blur_sigma"])
