"""Image datasets for the unconditional comparison: uint8 [N, H, W, C] arrays plus labels.

One file format for every source, so models, feature extractors and metrics never know where the
pixels came from:
- ``cifar10``: the verified CIFAR-10 arrays (``divrec.data.cifar10``), training set, 3 channels.
- any few-shot dataset of the main workflow (``omniglot``, ``quickdraw``, ...): the ``train`` part
  of its ``split.npz`` (grey level, ink bright), 1 channel, the class as label.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from divrec.data.batches import step_generator
from divrec.data.preprocess import resize
from divrec.errors import DataError
from divrec.io import save_npz

CIFAR = "cifar10"


@dataclass
class ImageSet:
    images: np.ndarray        # uint8 [N, H, W, C]
    labels: np.ndarray        # int64 [N]
    name: str

    @property
    def channels(self) -> int:
        return int(self.images.shape[-1])

    @property
    def image_size(self) -> int:
        return int(self.images.shape[1])


def to_uint8_hwc(x: torch.Tensor) -> np.ndarray:
    """float [N, C, H, W] in [-1, 1] -> uint8 [N, H, W, C] (how samples are stored)."""
    x = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


def batch_function(images: np.ndarray, batch_size: int, seed: int, device: torch.device,
                   labels: np.ndarray | None = None):
    """Batches in [-1, 1] (with their labels when given) as a pure function of (seed, step), as
    the shared loop's resume requires."""
    pixels = torch.from_numpy(images).to(device)  # uint8 stays compact on the device
    targets = None if labels is None else torch.from_numpy(labels.astype(np.int64)).to(device)

    def fn(step: int):
        idx = torch.randint(len(pixels), (batch_size,), generator=step_generator(seed, step))
        idx = idx.to(device)
        x = pixels[idx].permute(0, 3, 1, 2).float() / 127.5 - 1
        return x if targets is None else (x, targets[idx])

    return fn


def _resize_hwc(images: np.ndarray, size: int | None) -> np.ndarray:
    if size is None or images.shape[1] == size:
        return images
    out = []
    for i in range(0, len(images), 2048):  # bounded memory on 50k CIFAR images
        x = torch.from_numpy(images[i:i + 2048]).permute(0, 3, 1, 2).float()
        out.append(resize(x, size).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1))
    return torch.cat(out).numpy()


def from_cifar(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path) as z:
        return z["train_images"], z["train_labels"].astype(np.int64)


def from_split(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    if not Path(path).exists():
        raise DataError(f"split file not found: {path} (run the dataset's data rules first)")
    with np.load(path) as z:
        if "train_images" not in z.files:
            raise DataError(f"{path} has no 'train' part")
        imgs = z["train_images"]  # [C, M, S, S]
    c, m = imgs.shape[:2]
    return imgs.reshape(c * m, *imgs.shape[2:], 1), np.repeat(np.arange(c, dtype=np.int64), m)


def build(dataset: str, source: str | os.PathLike, out: str | os.PathLike,
          image_size: int | None = 32, max_images: int | None = None, seed: int = 0) -> Path:
    """Write ``images.npz`` for ``dataset`` from its source file (CIFAR arrays or split.npz);
    ``max_images`` keeps a seeded random subset (quick runs), None everything."""
    images, labels = from_cifar(source) if dataset == CIFAR else from_split(source)
    if max_images is not None and max_images < len(images):
        keep = np.sort(np.random.default_rng(seed).choice(len(images), max_images, replace=False))
        images, labels = images[keep], labels[keep]
        _, labels = np.unique(labels, return_inverse=True)  # dense labels 0..k-1
    save_npz(out, images=_resize_hwc(images, image_size), labels=labels.astype(np.int64),
             dataset=np.array(dataset))
    return Path(out)


def load(path: str | os.PathLike) -> ImageSet:
    if not Path(path).exists():
        raise DataError(f"image set not found: {path} (run the quality data rule first)")
    with np.load(path) as z:
        return ImageSet(z["images"], z["labels"], str(z["dataset"]))


def build_rule(job) -> None:
    q = job.cfg["quality"]
    build(job.wildcards.qdataset, job.input[0], job.output[0], q["image_size"],
          q.get("max_images"), job.cfg["seed"])
