"""Few-shot splits: which classes train, validate and test, and one exemplar per class.

The split file stores, per part, ``<part>_images`` uint8 [C, M, S, S] (grey level after resize and
min-max, ink bright; binarise at load time for binary models), ``<part>_exemplar`` [C] (index of
the exemplar drawing) and ``<part>_names`` [C] ("alphabet/characterNN"). Classes are in the
published loader's order (sorted "alphabet.characterNN" names) within each part.

Weak split (default, as published): test = ``character01``-``character03`` of all 50 alphabets
(150 classes); strong split: test = the official evaluation set. Validation classes are held out
from train (every class whose seeded random rank falls below ``val_fraction``) and are the only
classes model selection may look at.

Exemplar rule (the published prototype flags are not available): ``medoid`` picks the drawing with
the smallest summed L2 distance to the class's other drawings after a Gaussian blur (sigma 2 px),
so small stroke offsets do not dominate; ties go to the lowest drawer. ``first`` picks drawer 1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from divrec.data.preprocess import IMAGE_SIZE, binarize, minmax, resize, to_float, to_uint8
from divrec.errors import DataError
from divrec.io import save_npz


def _blur(x: torch.Tensor, sigma: float = 2.0) -> torch.Tensor:
    """Separable Gaussian blur with zero padding, [N, 1, H, W] -> same. Each pass is one GEMM
    with a banded [W, W] matrix: 1-channel conv2d with a 1x13 kernel ran 6x slower on CPU."""
    r = int(3 * sigma)
    k = torch.exp(-(torch.arange(-r, r + 1, dtype=torch.float32) ** 2) / (2 * sigma**2))
    k = k / k.sum()

    def band(n: int) -> torch.Tensor:  # band[i, j] = k[j - i + r]: output j sums inputs i
        offset = torch.arange(n)[None, :] - torch.arange(n)[:, None] + r
        return torch.where((offset >= 0) & (offset <= 2 * r), k[offset.clamp(0, 2 * r)],
                           0.0).to(x.dtype)

    return band(x.shape[-2]).t() @ (x @ band(x.shape[-1]))


def choose_exemplars(images: torch.Tensor, rule: str = "medoid") -> np.ndarray:
    """images: float [C, M, 1, H, W] in [0, 1] -> exemplar index per class [C]."""
    if rule == "first":
        return np.zeros(images.shape[0], dtype=np.int64)
    c, m = images.shape[:2]
    feats = _blur(binarize(images.flatten(0, 1))).reshape(c, m, -1)
    d = torch.cdist(feats, feats)  # [C, M, M]
    return d.sum(-1).argmin(-1).numpy().astype(np.int64)  # argmin returns the first minimum


def class_parts(raw: dict, split: str, val_fraction: float, seed: int) -> dict[str, np.ndarray]:
    """Global char ids of each part."""
    cids, first = np.unique(raw["char_id"], return_index=True)
    is_test = raw["character"][first] <= 3 if split == "weak" else raw["set"][first] == 1
    train = cids[~is_test]
    rank = np.random.default_rng(seed).permutation(len(train))
    is_val = rank < int(round(val_fraction * len(train)))
    return {"train": train[~is_val], "val": train[is_val], "test": cids[is_test]}


def class_names(raw: dict) -> dict[int, str]:
    """char id -> "alphabet/characterNN", read once from the class's first drawing."""
    cids, first = np.unique(raw["char_id"], return_index=True)
    alphabets = raw["alphabet_names"][raw["alphabet"][first]]
    return {c: f"{a}/character{n:02d}" for c, a, n in zip(cids, alphabets, raw["character"][first])}


def reference_order(cids: np.ndarray, name_of: dict[int, str]) -> np.ndarray:
    """``cids`` sorted as the published loader numbers classes: by the name
    ``"<alphabet>.<characterNN>"`` (REFERENCE.md §1.1). Seeded evaluation tasks index classes by
    position, so only this order makes per-class scores identical to the published code's."""
    key = [name_of[c].replace("/", ".") for c in cids]
    return np.asarray(cids)[np.argsort(key, kind="stable")]


def subset_test_classes(cids: np.ndarray, name_of: dict[int, str], known: list[str],
                        alphabets: list[str] | None, max_classes: int | None) -> np.ndarray:
    """Test classes of the ``alphabets`` named (all ``known``), then at most ``max_classes``."""
    if alphabets:
        unknown = sorted(set(alphabets) - set(known))
        if unknown:
            raise DataError(f"data.omniglot.test_alphabets: unknown alphabet(s) {unknown}; "
                            f"Omniglot has {known}")
        wanted = set(alphabets)
        cids = np.asarray([c for c in cids if name_of[c].split("/")[0] in wanted])
        if not len(cids):
            raise DataError(f"data.omniglot.test_alphabets {alphabets}: none of these alphabets "
                            "has test classes in this split")
    return cids[:max_classes] if max_classes else cids


def build(raw_path: str | os.PathLike, out: str | os.PathLike, split: str = "weak",
          image_size: int = IMAGE_SIZE, val_fraction: float = 0.1, exemplar: str = "medoid",
          seed: int = 0, max_train_classes: int | None = None,
          test_alphabets: list[str] | None = None, max_test_classes: int | None = None) -> Path:
    """Write the split file. ``test_alphabets`` / ``max_test_classes`` evaluate on a subset of
    the test classes (the first N in reference order); train and validation are unchanged."""
    with np.load(raw_path) as z:
        raw = {k: z[k] for k in z.files}
    parts = class_parts(raw, split, val_fraction, seed)
    if max_train_classes:
        parts["train"] = parts["train"][:max_train_classes]
    name_of = class_names(raw)
    parts = {part: reference_order(cids, name_of) for part, cids in parts.items()}
    parts["test"] = subset_test_classes(parts["test"], name_of,
                                        [str(a) for a in raw["alphabet_names"]],
                                        test_alphabets, max_test_classes)
    order = np.argsort(raw["char_id"], kind="stable")  # each class's drawings, in file order
    ids, starts = np.unique(raw["char_id"][order], return_index=True)
    by_class = dict(zip(ids.tolist(), np.split(order, starts[1:])))
    out_arrays = {}
    for part, cids in parts.items():
        rows = [by_class[c] for c in cids]
        m = min(len(r) for r in rows) if rows else 0
        if rows and any(len(r) != m for r in rows):
            raise DataError(f"{raw_path}: classes of part '{part}' have unequal drawing counts")
        idx = (np.stack([r[np.argsort(raw["drawer"][r])] for r in rows]) if rows
               else np.zeros((0, 0), int))
        imgs = minmax(resize(to_float(raw["images"][idx.ravel()]), image_size))
        imgs = imgs.reshape(len(cids), m, 1, image_size, image_size)
        out_arrays[f"{part}_images"] = to_uint8(imgs.flatten(0, 1)).reshape(
            len(cids), m, image_size, image_size)
        out_arrays[f"{part}_exemplar"] = choose_exemplars(imgs, exemplar)
        out_arrays[f"{part}_names"] = np.array([name_of[c] for c in cids])
        out_arrays[f"{part}_char_id"] = np.asarray(cids)
    save_npz(out, **out_arrays)
    return Path(out)


@dataclass
class FewShotPart:
    """One part of a split as in-memory tensors: images [C, M, 1, S, S] float in [0, 1]."""

    images: torch.Tensor
    exemplar: torch.Tensor  # [C] long
    names: list[str]

    @property
    def n_classes(self) -> int:
        return self.images.shape[0]

    def exemplars(self) -> torch.Tensor:
        """[C, 1, S, S]"""
        return self.images[torch.arange(self.n_classes), self.exemplar]

    def to(self, device) -> FewShotPart:
        return FewShotPart(self.images.to(device), self.exemplar.to(device), self.names)


def load_part(path: str | os.PathLike, part: str, binary: bool = True,
              threshold: float = 0.5, size: int | None = None) -> FewShotPart:
    """Load one part as float tensors; ``size`` resizes (bilinear) before binarising."""
    if not Path(path).exists():
        raise DataError(f"split file not found: {path} (run the data rules first)")
    with np.load(path) as z:
        imgs = torch.from_numpy(z[f"{part}_images"])
        exemplar = torch.from_numpy(z[f"{part}_exemplar"]).long()
        names = [str(n) for n in z[f"{part}_names"]]
    x = imgs.float().div_(255.0).unsqueeze(2)
    if size is not None and x.numel() and x.shape[-1] != size:
        c, m = x.shape[:2]
        x = resize(x.flatten(0, 1), size).view(c, m, 1, size, size)
    if binary:
        x = binarize(x, threshold)
    return FewShotPart(x, exemplar, names)


def build_rule(job) -> Path:
    """The configured Omniglot split (the ``split_omniglot`` rule and ``divrec data``)."""
    d, cfg = job.cfg["data"]["omniglot"], job.cfg
    return build(job.input[0], job.output[0], d["split"], d["image_size"], d["val_fraction"],
                 d["exemplar"], cfg["seed"], d.get("max_train_classes"), d.get("test_alphabets"),
                 d.get("max_test_classes"))
