"""The real side of every DS comparison, embedded once per dataset and cached.

Every model point is compared with the same real images, so their features (and the leave-one-out
neighbour distances that set the thresholds) are computed once, in the ``diverse_reference`` rule,
not once per point:

* ``train_*``: the training images (the only images a generator learned from), for memorisation;
  a seeded subsample when ``memorisation.max_train`` is set;
* ``test_*``: all drawings of the test classes;
* ``ref_kth``: leave-one-out k-th-neighbour distances of the DS reference set, ``reference: test``
  (default: the human drawings of the very classes the generator is asked to draw, the one-shot
  analogue of the published "real folder") or ``reference: train``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from divrec.diverse.rules import loo_kth_distance
from divrec.errors import DataError
from divrec.io import save_npz


def split_images(split_path: str | os.PathLike, part: str):
    """uint8 images [C, M, H, W] and class names of one part of the split file."""
    if not Path(split_path).exists():
        raise DataError(f"split file not found: {split_path} (run the data rules first)")
    with np.load(split_path) as z:
        return z[f"{part}_images"], [str(n) for n in z[f"{part}_names"]]


def cap(n: int, max_points: int | None, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of a seeded random subset of at most ``max_points`` (None: all) of ``n``."""
    if max_points is None or n <= max_points:
        return np.arange(n)
    return np.sort(rng.choice(n, max_points, replace=False))


@dataclass
class Reference:
    extractor: str
    reference: str
    train_index: np.ndarray  # [nt] flat indices into the split's train images [C*M]
    train_feats: np.ndarray  # [nt, D]
    train_nn: np.ndarray  # [nt] leave-one-out 1-NN distance
    train_per_class: int  # M: drawings per training class
    train_names: list[str]
    test_feats: np.ndarray  # [Ct*Mt, D]
    test_per_class: int
    test_names: list[str]
    ref_kth: np.ndarray  # leave-one-out k-th NN distance of the reference set
    k: int

    def save(self, path) -> None:
        save_npz(path, **{k: np.asarray(v) for k, v in self.__dict__.items()})


def load_reference(path: str | os.PathLike) -> Reference:
    if not Path(path).exists():
        raise DataError(f"DS reference features not found: {path}")
    with np.load(path) as z:
        v = {k: z[k] for k in z.files}
    v.update({k: str(v[k]) for k in ("extractor", "reference")})
    v.update({k: int(v[k]) for k in ("train_per_class", "test_per_class", "k")})
    v.update({k: [str(s) for s in v[k]] for k in ("train_names", "test_names")})
    return Reference(**v)


def build_reference(split_path, extractor, st, seed: int = 0) -> Reference:
    """Embed the train and test images of a split with ``extractor``; ``st``: DiverseSettings."""
    train, train_names = split_images(split_path, "train")
    test, test_names = split_images(split_path, "test")
    idx = cap(train.shape[0] * train.shape[1], st.memorisation.max_train or None,
              np.random.default_rng(seed))
    train_flat = train.reshape(-1, *train.shape[2:])[idx]
    train_feats = extractor(train_flat).numpy()
    test_feats = extractor(test.reshape(-1, *test.shape[2:])).numpy()
    train_nn = loo_kth_distance(train_feats, 1, st.search)
    real = test_feats if st.reference == "test" else train_feats
    ref_kth = loo_kth_distance(real, st.knn.k, st.search)
    return Reference(extractor.name, st.reference, idx, train_feats, train_nn, train.shape[1],
                     train_names, test_feats, test.shape[1], test_names, ref_kth, st.knn.k)
