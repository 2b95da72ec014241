"""SimCLR critic: the 256-d pre-projection embedding is the feature space of diversity and
originality. NT-Xent loss (temperature 0.5) on L2-normalised 128-d projections, RMSprop."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from divrec.config import TrainConfig
from divrec.critics.augment import simclr_view
from divrec.critics.encoder import Encoder
from divrec.data.preprocess import IMAGE_SIZE
from divrec.training.optim import rmsprop
from divrec.training.trainable import Trainable


@dataclass
class SimCLRParams:
    z_dim: int = 256
    proj_dim: int = 128
    temperature: float = 0.5
    strength: str = "normal"
    image_size: int = IMAGE_SIZE


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """Normalised-temperature cross entropy over 2N views; positives are the paired views."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = z1.shape[0]
    sim = (z @ z.t()) / temperature
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(sim.float(), target)


class SimCLR(Trainable):
    """Trained by the shared loop's default step (backward on ``loss``) with RMSprop."""

    Params = SimCLRParams
    batch_kind = "images"

    def __init__(self, p: SimCLRParams):
        super().__init__()
        self.p = p
        self.encoder = Encoder(p.z_dim, p.image_size)
        self.projection = nn.Linear(p.z_dim, p.proj_dim)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def loss(self, batch) -> dict:
        x, g = batch
        v1, v2 = simclr_view(x, g, self.p.strength), simclr_view(x, g, self.p.strength)
        z = self.projection(self.encoder(torch.cat([v1, v2])))
        return {"loss": nt_xent(*z.chunk(2), self.p.temperature)}

    def configure_optimizers(self, tc: TrainConfig):
        return {"main": rmsprop(self.parameters(), lr=tc.lr,
                               weight_decay=tc.weight_decay)}
