"""Denoising diffusion GAN (Xiao et al. 2022), following NVlabs' code as used by R5 (spec §10.3).

A few (published: 4) large denoising steps whose reverse conditionals are implicit: the generator
predicts x0 from (x_{t+1}, t, z) and x_t is drawn from the Gaussian posterior q(x_t | x_{t+1}, x0);
a time-conditioned discriminator judges the pair (x_t, x_{t+1}). Non-saturating softplus losses,
R1 on real x_t (lazy: every ``lazy_reg`` steps, γ ``r1_gamma``), EMA via the shared loop's
``train.ema``. VP schedule β_min 0.1, β_max 20 on t ∈ [1e-3, 1] as in the NVlabs code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from divrec.config import TrainConfig
from divrec.diffusion.unet import timestep_embedding
from divrec.quality.base import UncondModel
from divrec.quality.nets import UNet
from divrec.quality.registry import register
from divrec.training.optim import adam


@dataclass
class Params:
    image_size: int = 32
    channels: int = 1
    num_timesteps: int = 4
    beta_min: float = 0.1
    beta_max: float = 20.0
    nz: int = 100
    ch: int = 32
    ch_mult: list[int] = field(default_factory=lambda: [1, 2, 2])
    num_res_blocks: int = 1
    attn_resolutions: list[int] = field(default_factory=list)
    z_mlp_layers: int = 2           # published n_mlp 4
    ndf: int = 32
    g_lr: float = 1.6e-4
    d_lr: float = 1.25e-4
    beta1: float = 0.5
    beta2: float = 0.9
    r1_gamma: float = 0.02
    lazy_reg: int = 15


class Schedule(nn.Module):
    """Per-step forward coefficients and posterior coefficients of the discretised VP SDE."""

    def __init__(self, n: int, beta_min: float, beta_max: float, eps: float = 1e-3):
        super().__init__()
        t = torch.arange(n + 1, dtype=torch.float64) / n * (1 - eps) + eps
        log_mean = -0.25 * t**2 * (beta_max - beta_min) - 0.5 * t * beta_min
        alpha_bars = torch.exp(2 * log_mean)
        betas = torch.cat([torch.tensor([1e-8], dtype=torch.float64),
                           1 - alpha_bars[1:] / alpha_bars[:-1]])
        a_s = (1 - betas).sqrt()
        a_cum = torch.cumprod(a_s, 0)
        b = betas[1:]                                 # posterior tables (no leading 1e-8)
        ab = torch.cumprod(1 - b, 0)
        ab_prev = torch.cat([torch.ones(1, dtype=torch.float64), ab[:-1]])
        var = b * (1 - ab_prev) / (1 - ab)
        tables = {"a_s": a_s, "sigmas": betas.sqrt(), "a_cum": a_cum,
                  "sigmas_cum": (1 - a_cum**2).sqrt(),
                  "post_c1": b * ab_prev.sqrt() / (1 - ab),
                  "post_c2": (1 - ab_prev) * (1 - b).sqrt() / (1 - ab),
                  "post_logvar": var.clamp_min(1e-20).log()}
        for k, v in tables.items():
            self.register_buffer(k, v.float(), persistent=False)

    @staticmethod
    def _at(table: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return table[t].view(-1, 1, 1, 1)

    def q_pair(self, x0: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(x_t, x_{t+1}) for t in [0, n)."""
        x_t = self._at(self.a_cum, t) * x0 + self._at(self.sigmas_cum, t) * torch.randn_like(x0)
        noise = torch.randn_like(x0)
        x_tp1 = self._at(self.a_s, t + 1) * x_t + self._at(self.sigmas, t + 1) * noise
        return x_t, x_tp1

    def posterior_sample(self, x0: torch.Tensor, x_tp1: torch.Tensor, t: torch.Tensor,
                         noise: torch.Tensor) -> torch.Tensor:
        """x_t ~ q(x_t | x_{t+1}, x0); deterministic (the mean) at t = 0."""
        mean = self._at(self.post_c1, t) * x0 + self._at(self.post_c2, t) * x_tp1
        std = (0.5 * self._at(self.post_logvar, t)).exp() * (t > 0).float().view(-1, 1, 1, 1)
        return mean + std * noise


class TimeDiscriminator(nn.Module):
    """D(x_t, t, x_{t+1}) -> logit: conv blocks with an additive time embedding, downsampled to
    4x4, a minibatch-stddev channel (as DDGAN's small D), then a linear head."""

    def __init__(self, channels: int, ndf: int, image_size: int):
        super().__init__()
        self.ndf, t_dim = ndf, 4 * ndf
        self.t_emb = nn.Sequential(nn.Linear(ndf, t_dim), nn.LeakyReLU(0.2),
                                   nn.Linear(t_dim, t_dim))
        self.inp = nn.Conv2d(2 * channels, ndf, 3, padding=1)
        self.convs, self.t_proj, ch, res = nn.ModuleList(), nn.ModuleList(), ndf, image_size
        while res > 4:
            cout = min(ch * 2, 8 * ndf)
            self.convs.append(nn.Conv2d(ch, cout, 4, 2, 1))
            self.t_proj.append(nn.Linear(t_dim, cout))
            ch, res = cout, res // 2
        self.final = nn.Conv2d(ch + 1, ch, 3, padding=1)
        self.head = nn.Linear(ch * res * res, 1)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, x_tp1: torch.Tensor) -> torch.Tensor:
        emb = self.t_emb(timestep_embedding(t, self.ndf, cos_first=True))
        h = F.leaky_relu(self.inp(torch.cat([x_t, x_tp1], 1)), 0.2)
        for conv, proj in zip(self.convs, self.t_proj):
            h = F.leaky_relu(conv(h) + proj(emb)[:, :, None, None], 0.2)
        std = h.std(0, unbiased=False).mean().expand(h.shape[0], 1, *h.shape[2:])
        h = F.leaky_relu(self.final(torch.cat([h, std], 1)), 0.2)
        return self.head(h.flatten(1)).squeeze(1)


@register("ddgan")
class DDGAN(UncondModel):
    Params = Params

    def __init__(self, p: Params):
        super().__init__(p)
        self.G = UNet(p.channels, p.image_size, p.ch, p.ch_mult, p.num_res_blocks,
                      p.attn_resolutions, z_dim=p.nz, z_mlp_layers=p.z_mlp_layers)
        self.D = TimeDiscriminator(p.channels, p.ndf, p.image_size)
        self.sched = Schedule(p.num_timesteps, p.beta_min, p.beta_max)

    def configure_optimizers(self, tc: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        betas = (self.p.beta1, self.p.beta2)
        return {"g": adam(self.G.parameters(), lr=self.p.g_lr, betas=betas),
                "d": adam(self.D.parameters(), lr=self.p.d_lr, betas=betas)}

    def x0(self, x_tp1, t, z) -> torch.Tensor:
        return torch.tanh(self.G(x_tp1, t, z))

    def _fake_pair(self, x_tp1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        z = torch.randn(x_tp1.shape[0], self.p.nz, device=x_tp1.device)
        return self.sched.posterior_sample(self.x0(x_tp1, t, z), x_tp1, t, torch.randn_like(x_tp1))

    def train_step(self, batch, opts: dict, step: int, tc: TrainConfig) -> dict[str, torch.Tensor]:
        real = self.prepare(batch)
        b, n = real.shape[0], self.p.num_timesteps
        out: dict[str, torch.Tensor] = {}
        # discriminator
        self.D.requires_grad_(True)
        opts["d"].zero_grad(set_to_none=True)
        t = torch.randint(0, n, (b,), device=real.device)
        x_t, x_tp1 = self.sched.q_pair(real, t)
        x_t.requires_grad_(True)
        d_real = self.D(x_t, t, x_tp1)
        loss_real = F.softplus(-d_real).mean()
        if self.p.r1_gamma > 0 and step % self.p.lazy_reg == 0:
            (grad,) = torch.autograd.grad(d_real.sum(), x_t, create_graph=True)
            r1 = grad.flatten(1).pow(2).sum(1).mean()
            (loss_real + self.p.r1_gamma / 2 * r1).backward()
            out["r1"] = r1.detach()
        else:
            loss_real.backward()
        with torch.no_grad():
            fake = self._fake_pair(x_tp1, t)
        loss_fake = F.softplus(self.D(fake, t, x_tp1)).mean()
        loss_fake.backward()
        opts["d"].step()
        # generator
        self.D.requires_grad_(False)
        opts["g"].zero_grad(set_to_none=True)
        t = torch.randint(0, n, (b,), device=real.device)
        _, x_tp1 = self.sched.q_pair(real, t)
        g_loss = F.softplus(-self.D(self._fake_pair(x_tp1, t), t, x_tp1)).mean()
        g_loss.backward()
        opts["g"].step()
        self.D.requires_grad_(True)
        out.update(loss=g_loss.detach(), g_loss=g_loss.detach(),
                   d_loss=(loss_real + loss_fake).detach())
        return out

    @torch.no_grad()
    def val_step(self, batch) -> dict[str, torch.Tensor]:
        real = self.prepare(batch)
        t = torch.zeros(real.shape[0], dtype=torch.long, device=real.device)
        x_t, x_tp1 = self.sched.q_pair(real, t)
        return {"loss": F.softplus(-self.D(x_t, t, x_tp1)).mean()}

    def nfe(self, **options) -> int:
        return self.p.num_timesteps

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, **options) -> torch.Tensor:
        x = self._noise((n, self.channels, self.image_size, self.image_size), generator)
        for i in reversed(range(self.p.num_timesteps)):
            t = torch.full((n,), i, dtype=torch.long, device=x.device)
            z = self._noise((n, self.p.nz), generator)
            x = self.sched.posterior_sample(self.x0(x, t, z), x, t, self._noise(x.shape, generator))
        return x.clamp(-1, 1)
