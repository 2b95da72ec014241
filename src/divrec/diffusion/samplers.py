"""Samplers as separate objects over one denoiser, so the sampler, its step count and the
guidance scale are sampling-time options of ONE trained model (the guidance sweep needs that).

A *denoiser* is ``eps(x_t, t, cond)``, with ``cond`` a dict of tensors (e.g. ``{"exemplar": ..}``
or ``{"context": ..}``) batched like x_t. ``guided`` is the only place classifier-free guidance
happens; the samplers see a plain ``eps(x_t, t)``.

* ``AncestralSampler``: DDPM over all T steps (published), variance beta_t or posterior beta~_t.
* ``DDIMSampler``: any sub-sequence of steps; eta = 0 is deterministic DDIM, eta = 1 with all T
  steps is ancestral sampling with variance beta~_t.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import torch

from divrec.diffusion.schedule import NoiseSchedule
from divrec.errors import ConfigError

Cond = Mapping[str, torch.Tensor]
Denoiser = Callable[[torch.Tensor, torch.Tensor, Cond], torch.Tensor]
EpsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def guided(denoiser: Denoiser, cond: Cond, null: Cond | None, guidance: float) -> EpsFn:
    """eps = (1 + g) eps(x, c) - g eps(x, null) (Ho & Salimans; g = 0 is purely conditional,
    and returns exactly ``denoiser(x, t, cond)``). Both branches run as one doubled batch."""
    if guidance == 0:
        return lambda x, t: denoiser(x, t, cond)
    if null is None:
        raise ConfigError("guidance needs a null condition (a model trained with drop_prob > 0)")
    both = {k: torch.cat([cond[k], null[k]]) for k in cond}

    def eps(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        e_c, e_u = denoiser(torch.cat([x, x]), torch.cat([t, t]), both).chunk(2)
        return (1 + guidance) * e_c - guidance * e_u

    return eps


def _noise(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)


class _Sampler:
    """Subclasses give ``timesteps()`` (descending) and ``step(eps, t, t_prev, x, generator)``."""

    def __init__(self, schedule: NoiseSchedule, clip_x0: bool = False):
        self.schedule, self.clip_x0 = schedule, clip_x0
        self.abar = schedule.alphas_cumprod.detach().cpu().double().numpy()

    def _abar(self, t: int) -> float:
        return 1.0 if t < 0 else float(self.abar[t])

    def _x0(self, x, eps, t: int):
        """Predicted x_0 (clipped to the data range when asked) and the eps consistent with it."""
        a = self._abar(t)
        x0 = (x - (1 - a) ** 0.5 * eps) / a**0.5
        if self.clip_x0:
            x0 = x0.clamp(-1, 1)
            eps = (x - a**0.5 * x0) / (1 - a) ** 0.5
        return x0, eps

    def pairs(self) -> list[tuple[int, int]]:
        """(t, t_prev) from T-1 down to 0; t_prev = -1 means 'clean data'."""
        ts = self.timesteps()
        return list(zip(ts, ts[1:] + [-1], strict=True))


class AncestralSampler(_Sampler):
    """x_{t-1} = mu~(x_t, x0_hat) + sigma_t z over every step; no noise at the last step."""

    def __init__(self, schedule: NoiseSchedule, variance: str = "beta", clip_x0: bool = False):
        super().__init__(schedule, clip_x0)
        if variance not in ("beta", "posterior"):
            raise ConfigError(f"ancestral variance must be 'beta' or 'posterior', got {variance}")
        src = schedule.betas if variance == "beta" else schedule.posterior_variance
        self.var = src.detach().cpu().double().numpy()
        self.betas = schedule.betas.detach().cpu().double().numpy()

    def timesteps(self) -> list[int]:
        return list(range(self.schedule.T - 1, -1, -1))

    def step(self, eps, t: int, t_prev: int, x, generator=None):
        x0, _ = self._x0(x, eps, t)
        a, a_prev, beta = self._abar(t), self._abar(t - 1), float(self.betas[t])
        # posterior mean of q(x_{t-1} | x_t, x_0); equals the published
        # (x_t - beta_t / sqrt(1 - abar_t) eps) / sqrt(alpha_t) when x0 is not clipped
        c0, ct = a_prev**0.5 * beta / (1 - a), (1 - beta) ** 0.5 * (1 - a_prev) / (1 - a)
        mean = c0 * x0 + ct * x
        if t == 0:
            return mean
        return mean + float(self.var[t]) ** 0.5 * _noise(x, generator)


class DDIMSampler(_Sampler):
    """Song et al. (2021) over ``steps`` evenly spaced steps; ``eta`` scales the injected noise."""

    def __init__(self, schedule: NoiseSchedule, steps: int = 50, eta: float = 0.0,
                 clip_x0: bool = False):
        super().__init__(schedule, clip_x0)
        if not 1 <= steps <= schedule.T:
            raise ConfigError(f"sampler steps must be in 1..{schedule.T}, got {steps}")
        if eta < 0:
            raise ConfigError(f"eta must be >= 0, got {eta}")
        self.steps, self.eta = steps, eta

    def timesteps(self) -> list[int]:
        ts = np.unique(np.round(np.linspace(0, self.schedule.T - 1, self.steps)).astype(int))
        return [int(t) for t in ts[::-1]]

    def step(self, eps, t: int, t_prev: int, x, generator=None):
        x0, eps = self._x0(x, eps, t)
        a, a_prev = self._abar(t), self._abar(t_prev)
        sigma = self.eta * ((1 - a_prev) / (1 - a) * (1 - a / a_prev)) ** 0.5
        out = a_prev**0.5 * x0 + max(1 - a_prev - sigma**2, 0.0) ** 0.5 * eps
        return out + sigma * _noise(x, generator) if sigma > 0 else out


def make_sampler(name: str, schedule: NoiseSchedule, steps: int | None = None, eta: float = 0.0,
                 clip_x0: bool = False, variance: str = "beta") -> _Sampler:
    """The sampler named by the config/CLI option ``sampler``."""
    if name == "ancestral":
        return AncestralSampler(schedule, variance, clip_x0)
    if name == "ddim":
        return DDIMSampler(schedule, steps or schedule.T, eta, clip_x0)
    raise ConfigError(f"unknown sampler '{name}'; choose one of ['ddim', 'ancestral']")


@torch.no_grad()
def sample_loop(sampler: _Sampler, eps_fn: EpsFn, shape, device, generator=None,
                dtype=torch.float32) -> torch.Tensor:
    """x_T ~ N(0, I), then one sampler step per (t, t_prev); returns the unclipped x_0."""
    x = torch.randn(shape, generator=generator, device=device, dtype=dtype)
    for t, t_prev in sampler.pairs():
        tt = torch.full((shape[0],), t, device=device, dtype=torch.long)
        x = sampler.step(eps_fn(x, tt), t, t_prev, x, generator)
    return x
