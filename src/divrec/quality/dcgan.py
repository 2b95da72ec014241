"""DCGAN (Radford et al. 2016) as in the PyTorch tutorial used by R5 (spec §10.1).

Published: 64 px, nz 100, ngf = ndf = 64, batch 128, Adam(β1 0.5) with g_lr 1.6e-4 and d_lr
1.25e-4, BCE, weights N(0, 0.02), BN weights N(1, 0.02), label smoothing (real 0.9, fake 0.1) and
instance noise (D sees 0.9·x + 0.1·N(0, 1)). The generator's number of upsampling layers follows
``image_size`` (4 -> image_size), so the same class is the published 64 px net and a 32 px one.
Fix vs R5: data in [-1, 1] to match the tanh output (R5 fed [0, 1]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from divrec.config import TrainConfig
from divrec.quality.base import UncondModel
from divrec.quality.registry import register
from divrec.training.optim import adam


@dataclass
class Params:
    image_size: int = 32
    channels: int = 1
    nz: int = 100
    ngf: int = 64
    ndf: int = 64
    g_lr: float = 1.6e-4
    d_lr: float = 1.25e-4
    beta1: float = 0.5
    real_label: float = 0.9
    fake_label: float = 0.1
    instance_noise: float = 0.1   # D input = (1 - s)·x + s·N(0, 1); 0 disables


def _levels(image_size: int) -> int:
    n = int(math.log2(image_size)) - 2
    if n < 1 or 4 * 2**n != image_size:
        raise ValueError(f"DCGAN image_size must be a power of two >= 8, got {image_size}")
    return n


def _init(m: nn.Module) -> None:
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def generator(p: Params) -> nn.Sequential:
    n = _levels(p.image_size)
    ch = p.ngf * 2 ** (n - 1)
    layers: list[nn.Module] = [nn.ConvTranspose2d(p.nz, ch, 4, 1, 0, bias=False),
                               nn.BatchNorm2d(ch), nn.ReLU(True)]
    for _ in range(n - 1):
        layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2),
                   nn.ReLU(True)]
        ch //= 2
    layers += [nn.ConvTranspose2d(ch, p.channels, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


def discriminator(p: Params) -> nn.Sequential:
    """Outputs logits (the tutorial's final sigmoid is folded into the BCE-with-logits loss)."""
    n = _levels(p.image_size)
    ch = p.ndf
    layers: list[nn.Module] = [nn.Conv2d(p.channels, ch, 4, 2, 1, bias=False),
                               nn.LeakyReLU(0.2, True)]
    for _ in range(n - 1):
        layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch * 2),
                   nn.LeakyReLU(0.2, True)]
        ch *= 2
    layers += [nn.Conv2d(ch, 1, 4, 1, 0, bias=False), nn.Flatten()]
    return nn.Sequential(*layers)


@register("dcgan")
class DCGAN(UncondModel):
    Params = Params

    def __init__(self, p: Params):
        super().__init__(p)
        self.G, self.D = generator(p), discriminator(p)
        self.apply(_init)

    def configure_optimizers(self, tc: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        betas = (self.p.beta1, 0.999)
        return {"g": adam(self.G.parameters(), lr=self.p.g_lr, betas=betas),
                "d": adam(self.D.parameters(), lr=self.p.d_lr, betas=betas)}

    def _d_in(self, x: torch.Tensor) -> torch.Tensor:
        s = self.p.instance_noise
        return (1 - s) * x + s * torch.randn_like(x) if s > 0 else x

    def _bce(self, logits: torch.Tensor, target: float) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))

    def train_step(self, batch, opts: dict, step: int, tc: TrainConfig) -> dict[str, torch.Tensor]:
        real = self.prepare(batch)
        z = torch.randn(real.shape[0], self.p.nz, 1, 1, device=real.device)
        fake = self.G(z)
        opts["d"].zero_grad(set_to_none=True)
        d_real = self._bce(self.D(self._d_in(real)), self.p.real_label)
        d_fake = self._bce(self.D(self._d_in(fake.detach())), self.p.fake_label)
        d_loss = d_real + d_fake
        d_loss.backward()
        opts["d"].step()
        opts["g"].zero_grad(set_to_none=True)
        g_loss = self._bce(self.D(self._d_in(fake)), 1.0)
        g_loss.backward()
        opts["g"].step()
        return {"loss": g_loss.detach(), "d_loss": d_loss.detach(), "g_loss": g_loss.detach()}

    @torch.no_grad()
    def val_step(self, batch) -> dict[str, torch.Tensor]:
        real = self.prepare(batch)
        return {"loss": self._bce(self.D(real), self.p.real_label)}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, **options) -> torch.Tensor:
        return self.G(self._noise((n, self.p.nz, 1, 1), generator))
