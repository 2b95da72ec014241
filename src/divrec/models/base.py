"""What the sampler expects of a one-shot model on top of the training contract
(``training.trainable.Trainable``)."""

from __future__ import annotations

from typing import ClassVar

import torch

from divrec.training.trainable import Trainable


class GenerativeModel(Trainable):
    family: ClassVar[str] = ""

    @torch.no_grad()
    def sample(self, exemplars: torch.Tensor, generator: torch.Generator | None = None,
               **options) -> torch.Tensor:
        """exemplars [B, 1, H, W] -> one sample per exemplar [B, 1, H, W], in [0, 1] or any range
        the evaluation's min-max post-processing maps there."""
        raise NotImplementedError
