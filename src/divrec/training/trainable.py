"""The training-loop contract: what ``training.loop.Trainer`` expects of anything it trains
(one-shot models, critics, quality models). It lives beside the loop, not under ``models/``, so
critics and quality models depend on the training package only."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from divrec.config import TrainConfig
from divrec.training.optim import adam


class Trainable(nn.Module):
    """Default optimisation: one Adam optimizer, backward on ``loss``, optional grad clipping."""

    #: what batches the model trains on: "pairs" (target, exemplar), "sets" or "images"
    batch_kind: ClassVar[str] = "pairs"
    #: whether images are binarised (True) or kept grey-level (False) for training
    binary: ClassVar[bool] = True

    def configure_optimizers(self, tc: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        return {"main": adam(self.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)}

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
