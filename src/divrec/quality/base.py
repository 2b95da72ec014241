"""What the quality pipeline expects from an unconditional model: training batches are float images
[B, C, H, W] in [-1, 1] (the tanh convention for all three models: the published DCGAN fed [0, 1]
data to a tanh generator, spec §10.1); ``sample(n)`` returns images in the same range; ``nfe`` is
the network evaluations per sample, which the timing tables report beside the seconds."""

from __future__ import annotations

from typing import ClassVar

import torch

from divrec.data.preprocess import resize
from divrec.training.trainable import Trainable


class UncondModel(Trainable):
    family: ClassVar[str] = ""
    batch_kind: ClassVar[str] = "images"
    binary: ClassVar[bool] = False

    def __init__(self, p):
        super().__init__()
        self.p, self.image_size, self.channels = p, p.image_size, p.channels

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Resize a data batch to the model's resolution (e.g. the published 64 px DCGAN)."""
        return resize(x, self.image_size)

    def nfe(self, **options) -> int:
        return 1

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None,
               **options) -> torch.Tensor:
        """n samples [n, C, image_size, image_size] in [-1, 1]."""
        raise NotImplementedError

    def _noise(self, shape, generator: torch.Generator | None) -> torch.Tensor:
        """Noise on the generator's device (so seeded runs repeat), then on the model's."""
        dev = next(self.parameters()).device
        src = generator.device if generator is not None else dev
        return torch.randn(*shape, generator=generator, device=src).to(dev)
