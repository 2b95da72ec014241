"""Discrete-time Gaussian diffusion: the noise schedule and a DDIM sampler over an eps-predictor.

Kept small and local to the quality comparison (the conditional diffusion core elsewhere in the
package has its own needs); the sampler is a separate object over the denoiser, so its step count
and eta are sampling options, not training ones.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from divrec.diffusion.schedule import ScheduleParams, make_betas


def betas(kind: str, steps: int) -> torch.Tensor:
    """``linear`` (Ho et al., scaled to ``steps`` as in improved-diffusion) or ``cosine``
    (Nichol & Dhariwal, s = 0.008, betas clipped at 0.999): the diffusion core's formulas."""
    if kind not in ("linear", "cosine"):
        raise ValueError(f"unknown beta schedule '{kind}' (linear | cosine)")
    scale = 1000 / steps  # improved-diffusion keeps the 1000-step endpoints' total noise
    return make_betas(ScheduleParams(timesteps=steps, kind=kind, beta_start=scale * 1e-4,
                                     beta_end=scale * 0.02))


class GaussianDiffusion:
    """alpha-bar table plus forward noising; float64 tables, cast at use."""

    def __init__(self, kind: str = "cosine", steps: int = 1000):
        self.steps = steps
        self.alpha_bar = torch.cumprod(1 - betas(kind, steps), 0)

    def _ab(self, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return self.alpha_bar.to(like.device)[t].to(like.dtype).view(-1, *([1] * (like.dim() - 1)))

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        ab = self._ab(t, x0)
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise

    @torch.no_grad()
    def ddim(self, eps_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
             x: torch.Tensor, n_steps: int, eta: float = 0.0,
             generator: torch.Generator | None = None, clip: bool = True) -> torch.Tensor:
        """DDIM (Song et al. 2021) on ``n_steps`` evenly spaced timesteps; eta=1 is DDPM-like.

        The predicted x0 is clipped to [-1, 1] (the data range) before each update."""
        n_steps = max(1, min(n_steps, self.steps))
        ts = torch.linspace(self.steps - 1, 0, n_steps).round().long().tolist()
        ab = self.alpha_bar.to(x.device)
        for i, t in enumerate(ts):
            a_t = ab[t].to(x.dtype)
            a_prev = ab[ts[i + 1]].to(x.dtype) if i + 1 < len(ts) else torch.ones((), dtype=x.dtype,
                                                                                   device=x.device)
            eps = eps_fn(x, torch.full((x.shape[0],), t, device=x.device, dtype=torch.long))
            x0 = (x - (1 - a_t).sqrt() * eps) / a_t.sqrt()
            if clip:
                x0 = x0.clamp(-1, 1)
                eps = (x - a_t.sqrt() * x0) / (1 - a_t).sqrt()
            sigma = eta * ((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)).clamp_min(0).sqrt()
            x = a_prev.sqrt() * x0 + (1 - a_prev - sigma**2).clamp_min(0).sqrt() * eps
            if eta > 0 and i + 1 < len(ts):
                src = generator.device if generator is not None else x.device
                x = x + sigma * torch.randn(x.shape, generator=generator, device=src).to(x.device)
        return x
