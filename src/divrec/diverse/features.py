"""Feature extractors for the DS rules: the pipeline's SimCLR critic or ImageNet SqueezeNet 1.1.

Both see every image through ``evaluation_view`` first (resize to the canonical size, min-max,
binarise), exactly as the diversity/recognizability critics do, so a DS count never depends on
how a generator scaled its output.

* ``simclr`` (default): the trained SimCLR critic's 256-d embedding, the feature space of the
  diversity metric (on CPU as ``FusedEncoder``: same outputs, 3-4x faster).
* ``squeezenet``: the published DS extractor (REFERENCE.md section 7): torchvision SqueezeNet
  1.1, ImageNet weights, eval mode, the FULL 1000-d output (class scores after the final conv,
  ReLU and average pool, not penultimate features: quirk 8.16 kept on purpose). Preprocessing as
  published: RGB, 224x224 bilinear, ImageNet mean/std. The binarised drawing is rendered as black
  ink on white paper, as the Omniglot PNG files the published script would have read. Weights
  are never downloaded: they come from ``squeezenet_weights`` or torch hub's checkpoint cache.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from divrec.data.preprocess import IMAGE_SIZE
from divrec.errors import ConfigError, DivrecError

EXTRACTORS = ("simclr", "squeezenet")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class Extractor:
    """A batched feature function of uint8 images [M, H, W] -> float [M, D] on CPU."""

    name: str
    fn: object
    device: torch.device
    image_size: int
    batch: int

    def __call__(self, images: np.ndarray) -> torch.Tensor:
        from divrec.evaluate import embed

        if len(images) == 0:
            raise DivrecError(f"{self.name}: no images to embed")
        return embed(self.fn, images, self.device, self.image_size, self.batch)


class SqueezeNetLogits(torch.nn.Module):
    """Binary drawing [B, 1, S, S] (ink = 1) -> the 1000 ImageNet scores of SqueezeNet 1.1."""

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net.eval()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        paper = 1.0 - x  # black ink on white, as the drawing's image file
        rgb = F.interpolate(paper, size=(224, 224), mode="bilinear", align_corners=False)
        return self.net((rgb.expand(-1, 3, -1, -1) - self.mean) / self.std)


def load_squeezenet(weights: str | None, device) -> SqueezeNetLogits:
    """From the ``weights`` file, else torchvision's file in torch hub's checkpoint cache."""
    from torchvision.models import SqueezeNet1_1_Weights, squeezenet1_1

    url = SqueezeNet1_1_Weights.IMAGENET1K_V1.url
    path = (Path(weights).expanduser() if weights else
            Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url))
    if not path.exists():
        raise DivrecError(
            f"SqueezeNet 1.1 ImageNet weights not found at {path}: set diverse.squeezenet_weights "
            "to a local copy of torchvision's squeezenet1_1 weights, or use extractor: simclr")
    net = squeezenet1_1(weights=None)
    try:
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except (RuntimeError, OSError, ValueError, KeyError, pickle.UnpicklingError) as e:
        raise DivrecError(f"{path}: not a SqueezeNet 1.1 state dict ({e.__class__.__name__})"
                          ) from None
    return SqueezeNetLogits(net).to(device).eval()


def make_extractor(name: str, device: torch.device | str = "cpu", image_size: int = IMAGE_SIZE,
                   critic_path: str | os.PathLike | None = None,
                   squeezenet_weights: str | None = None) -> Extractor:
    device = torch.device(device)
    if name == "simclr":
        if critic_path is None:
            raise ConfigError("extractor 'simclr' needs the SimCLR critic checkpoint")
        from divrec.critics.checkpoint import load_critic
        from divrec.critics.fast_encoder import FusedEncoder

        critic = load_critic(critic_path, device)
        fn = FusedEncoder(critic.encoder) if device.type == "cpu" else critic.features
        # 64-image batches keep the fused first block's output in cache: 1050 img/s on one
        # core against 750 at 64 -> 600 at 128 (measured)
        return Extractor(name, fn, device, image_size, 64 if device.type == "cpu" else 1024)
    if name == "squeezenet":
        return Extractor(name, load_squeezenet(squeezenet_weights, device), device, image_size,
                         128)
    raise ConfigError(f"unknown DS feature extractor '{name}' (choose from {EXTRACTORS})")
