"""Noise schedules and the closed-form forward process q(x_t | x_0) of a DDPM.

Index convention (the published code's off-by-one fixed): t runs over 0..T-1, every one of the T
steps is trained and sampled, and step t has variance beta_t. The network sees the integer t (not
t/T, whose sinusoidal embedding barely separated neighbouring steps in the published code).

    alpha_bar_t = prod_{s<=t} (1 - beta_s)
    q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I)

Schedules are computed in float64 and kept as non-persistent buffers: they follow the model's
device but are rebuilt from the parameters, never loaded from a checkpoint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from divrec.errors import ConfigError


@dataclass
class ScheduleParams:
    """Published: linear, beta 1e-4 .. 0.02, T = 500 (Omniglot and QuickDraw)."""

    timesteps: int = 500
    kind: str = "linear"
    beta_start: float = 1e-4
    beta_end: float = 0.02
    cosine_s: float = 0.008


def make_betas(p: ScheduleParams) -> torch.Tensor:
    """float64 [T] betas of the schedule ``p``."""
    if p.timesteps < 1:
        raise ConfigError(f"diffusion timesteps must be >= 1, got {p.timesteps}")
    if p.kind == "linear":
        if not 0 < p.beta_start <= p.beta_end < 1:
            raise ConfigError(f"need 0 < beta_start <= beta_end < 1, got "
                              f"{p.beta_start}, {p.beta_end}")
        return torch.linspace(p.beta_start, p.beta_end, p.timesteps, dtype=torch.float64)
    if p.kind == "cosine":
        # Nichol & Dhariwal (2021): alpha_bar follows a squared cosine; betas capped at 0.999
        s = torch.arange(p.timesteps + 1, dtype=torch.float64) / p.timesteps
        f = torch.cos((s + p.cosine_s) / (1 + p.cosine_s) * math.pi / 2) ** 2
        return (1 - f[1:] / f[:-1]).clamp(max=0.999)
    raise ConfigError(f"unknown noise schedule '{p.kind}'; choose one of ['linear', 'cosine']")


class NoiseSchedule(nn.Module):
    """The T-step schedule with every derived quantity the losses and samplers need."""

    def __init__(self, p: ScheduleParams):
        super().__init__()
        self.p = p
        betas = make_betas(p)
        abar = torch.cumprod(1 - betas, 0)
        abar_prev = torch.cat([abar.new_ones(1), abar[:-1]])
        # posterior_variance of q(x_{t-1} | x_t, x_0): beta_t (1 - abar_{t-1}) / (1 - abar_t)
        for name, v in {"betas": betas, "alphas_cumprod": abar,
                        "posterior_variance": betas * (1 - abar_prev) / (1 - abar)}.items():
            self.register_buffer(name, v, persistent=False)

    @property
    def T(self) -> int:  # noqa: N802 - the standard symbol
        return self.p.timesteps

    def at(self, name: str, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """Buffer ``name`` at steps t, shaped [B, 1, 1, ...] to broadcast against ``like``."""
        out = getattr(self, name).to(like.device)[t.long()].to(like.dtype)
        return out.view(-1, *([1] * (like.dim() - 1)))

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps."""
        abar = self.at("alphas_cumprod", t, x0)
        return abar.sqrt() * x0 + (1 - abar).sqrt() * noise

    def predict_x0(self, x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        abar = self.at("alphas_cumprod", t, x_t)
        return (x_t - (1 - abar).sqrt() * eps) / abar.sqrt()

    def predict_eps(self, x_t: torch.Tensor, t: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        """The inverse of ``predict_x0``: the eps for which x_t = q_sample(x0, t, eps)."""
        abar = self.at("alphas_cumprod", t, x_t)
        return (x_t - abar.sqrt() * x0) / (1 - abar).sqrt()

    def sample_t(self, n: int, device, generator: torch.Generator | None = None) -> torch.Tensor:
        """Training steps, uniform over all T (the published code never trained t = T)."""
        return torch.randint(self.T, (n,), device=device, generator=generator)
