"""What the shared training loop and sampler expect from a model.

A model turns a batch into a loss (``loss``), may customise its optimisation (``train_step``, e.g.
GANs with several optimizers) and samples one-shot: ``sample(exemplars)`` returns one image per
exemplar, in [0, 1] or any range the evaluation's min-max post-processing maps there.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from divrec.config import TrainConfig


class Trainable(nn.Module):
    """Default optimisation: one Adam optimizer, backward on ``loss``, optional grad clipping."""

    #: what batches the model trains on: "pairs" (target, exemplar), "sets" or "images"
    batch_kind: ClassVar[str] = "pairs"
    #: whether images are binarised (True) or kept grey-level (False) for training
    binary: ClassVar[bool] = True

    def configure_optimizers(self, tc: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        return {"main": torch.optim.Adam(self.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)}

    def loss(self, batch) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def train_step(self, batch, opts: dict, step: int, tc: TrainConfig) -> dict[str, torch.Tensor]:
        opt = opts["main"]
        opt.zero_grad(set_to_none=True)
        out = self.loss(batch)
        out["loss"].backward()
        if tc.grad_clip:
            out["grad_norm"] = nn.utils.clip_grad_norm_(self.parameters(), tc.grad_clip)
        opt.step()
        return out

    @torch.no_grad()
    def val_step(self, batch) -> dict[str, torch.Tensor]:
        return self.loss(batch)

    @torch.no_grad()
    def calibration_forward(self, batch) -> None:
        """One forward pass through the layers that sampling uses (``recalibrate_bn``)."""
        self.loss(batch)


class GenerativeModel(Trainable):
    family: ClassVar[str] = ""

    @torch.no_grad()
    def sample(self, exemplars: torch.Tensor, generator: torch.Generator | None = None,
               **options) -> torch.Tensor:
        """exemplars [B, 1, H, W] -> one sample per exemplar [B, 1, H, W]."""
        raise NotImplementedError
