"""Unconditional DDPM (Ho et al. 2020) with a small improved-diffusion U-Net and a DDIM sampler.

Published (R5, spec §10.2): 32 px, 128 channels, 2 res blocks, dropout 0.3, 4000 linear-schedule
steps, lr 1e-4, batch 128, learned sigma, 4000-step ancestral sampling. Here: eps prediction with
the simple MSE loss (learned sigma only matters for few-step ancestral sampling, which DDIM
replaces) and ``sample_steps`` DDIM steps, a sampling option so the speed/quality trade-off can
be swept without retraining. Schedule and sampler are the package's one diffusion core
(``divrec.diffusion``), shared with the one-shot models.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from divrec.diffusion.samplers import DDIMSampler, sample_loop
from divrec.diffusion.schedule import NoiseSchedule, ScheduleParams
from divrec.quality.base import UncondModel
from divrec.quality.nets import UNet
from divrec.quality.registry import register


def schedule_params(kind: str, steps: int) -> ScheduleParams:
    """``linear`` (Ho et al.; improved-diffusion scales the 1000-step endpoints by 1000/steps so
    the total noise stays the same) or ``cosine`` (Nichol & Dhariwal)."""
    scale = 1000 / steps
    return ScheduleParams(timesteps=steps, kind=kind, beta_start=scale * 1e-4,
                          beta_end=scale * 0.02)


@dataclass
class Params:
    image_size: int = 32
    channels: int = 1
    ch: int = 32
    ch_mult: list[int] = field(default_factory=lambda: [1, 2, 2])
    num_res_blocks: int = 1
    attn_resolutions: list[int] = field(default_factory=list)
    dropout: float = 0.0
    schedule: str = "cosine"        # cosine | linear
    diffusion_steps: int = 1000
    sample_steps: int = 50          # DDIM steps (default; a sample option overrides)
    eta: float = 0.0


@register("ddpm")
class DDPM(UncondModel):
    Params = Params

    def __init__(self, p: Params):
        super().__init__(p)
        self.net = UNet(p.channels, p.image_size, p.ch, p.ch_mult, p.num_res_blocks,
                        p.attn_resolutions, p.dropout)
        self.schedule = NoiseSchedule(schedule_params(p.schedule, p.diffusion_steps))

    def loss(self, batch) -> dict[str, torch.Tensor]:
        x0 = self.prepare(batch)
        t = self.schedule.sample_t(x0.shape[0], x0.device)
        noise = torch.randn_like(x0)
        eps = self.net(self.schedule.q_sample(x0, t, noise), t)
        return {"loss": F.mse_loss(eps, noise)}

    def nfe(self, sample_steps: int | None = None, **options) -> int:
        return min(sample_steps or self.p.sample_steps, self.p.diffusion_steps)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None,
               sample_steps: int | None = None, eta: float | None = None,
               **options) -> torch.Tensor:
        """DDIM with the predicted x0 clipped to the data range before each update."""
        sampler = DDIMSampler(self.schedule, self.nfe(sample_steps),
                              self.p.eta if eta is None else eta, clip_x0=True)
        shape = (n, self.channels, self.image_size, self.image_size)
        dev = next(self.parameters()).device
        return sample_loop(sampler, self.net, shape, dev, generator).clamp(-1, 1)
