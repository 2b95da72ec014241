"""FSDM (few-shot diffusion model; Giannone, Nielsen & Winther 2022), as used in ICML'23.

A set encoder (small conv net per image, mean pooling over the set, then an MLP to a context
vector; variational by default: a Gaussian posterior with a KL to N(0, I) added to the eps loss)
conditions the U-Net through FiLM; no exemplar channel is stacked. Training sees same-class sets
(``batch_kind = "sets"``) and denoises every element, each conditioned on the encoding of the
OTHER elements (``context: loo``, as in the public FSDM code; ``all`` includes the element itself,
which invites copying). At one-shot test time the set is the single exemplar and the context is the
posterior mean. Published ICML settings are unknown (REFERENCE 2.5, 9.4); R4's example uses a ViT
encoder, mean pooling and FiLM, which this follows with a conv encoder.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from divrec.diffusion.samplers import Cond
from divrec.errors import ConfigError
from divrec.models.diffusion import DiffusionModel, DiffusionParams, to_model_range
from divrec.models.registry import register


@dataclass
class Params(DiffusionParams):
    set_size: int = 5
    augment_sets: bool = False   # one random flip/rot90 per training set
    context_dim: int = 64
    enc_width: int = 32
    variational: bool = True
    kl_weight: float = 1.0       # on the KL averaged over context dims (as in R4)
    context: str = "loo"         # loo | all
    context_kind: str = "vector"  # vector (FiLM, R4) | map: a per-pixel set context, stacked
    map_channels: int = 4         # on x_t like DDPM's exemplar (channels of the map)


def _conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 2, 1), nn.GroupNorm(1, cout), nn.GELU())


class MapEncoder(nn.Module):
    """Per-pixel features of each drawing (no downsampling), averaged over a set: a context that
    keeps WHERE the strokes are, which a pooled vector has to learn to re-encode."""

    def __init__(self, width: int, channels: int):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.GELU(),
                                      nn.Conv2d(width, channels, 3, padding=1))


class SetEncoder(nn.Module):
    """Per-image features, then (after pooling over a set) the context posterior."""

    def __init__(self, width: int, context_dim: int, variational: bool):
        super().__init__()
        h = 2 * width
        self.features = nn.Sequential(_conv(1, width), _conv(width, h), _conv(h, h),
                                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(h, h))
        self.post = nn.Sequential(nn.GELU(), nn.Linear(h, h), nn.GELU(),
                                  nn.Linear(h, (2 if variational else 1) * context_dim))
        self.variational = variational

    def posterior(self, pooled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        out = self.post(pooled)
        return out.chunk(2, dim=-1) if self.variational else (out, None)


@register("fsdm")
class Fsdm(DiffusionModel):
    Params = Params
    batch_kind = "sets"

    def __init__(self, p: Params):
        if p.context not in ("loo", "all"):
            raise ConfigError(f"fsdm context must be 'loo' or 'all', got '{p.context}'")
        if p.context == "loo" and p.set_size < 2:
            raise ConfigError("fsdm context 'loo' needs set_size >= 2 (the others of the set)")
        if p.augment_class:
            raise ConfigError("fsdm trains on sets: use augment_sets, not augment_class")
        if p.context_kind not in ("vector", "map"):
            raise ConfigError(f"fsdm context_kind must be 'vector' or 'map', got "
                              f"'{p.context_kind}'")
        vector = p.context_kind == "vector"  # FiLM context, else a map stacked on x_t
        super().__init__(p, cond_channels=0 if vector else p.map_channels,
                         context_dim=p.context_dim if vector else 0)
        self.set_size, self.augment_sets = p.set_size, p.augment_sets
        self.encoder = (SetEncoder(p.enc_width, p.context_dim, p.variational) if vector
                        else MapEncoder(p.enc_width, p.map_channels))

    def condition(self, exemplars: torch.Tensor) -> Cond:
        """One-shot: the set is the exemplar alone; the context is the posterior mean (vector)
        or the exemplar's feature map (map)."""
        f = self.encoder.features(exemplars)
        if self.p.context_kind == "map":
            return {"exemplar": f}
        mu, _ = self.encoder.posterior(f)
        return {"context": mu}

    def null_condition(self, exemplars: torch.Tensor) -> Cond:
        if self.p.context_kind == "map":
            return {"exemplar": exemplars.new_zeros(exemplars.shape[0], self.p.map_channels,
                                                    *exemplars.shape[-2:])}
        return {"context": exemplars.new_zeros(exemplars.shape[0], self.p.context_dim)}

    def _pool(self, f: torch.Tensor) -> torch.Tensor:
        """[B, S, ...] per-member features -> each member's set context (loo or all)."""
        s = f.shape[1]
        if self.p.context == "loo":
            return (f.sum(1, keepdim=True) - f) / (s - 1)
        return f.mean(1, keepdim=True).expand_as(f)

    def loss(self, batch: torch.Tensor) -> dict:
        """batch [B, S, 1, H, W] of same-class sets in [0, 1]."""
        b, s = batch.shape[:2]
        x = to_model_range(batch.flatten(0, 1), self.size)
        f = self.encoder.features(x)
        if self.p.context_kind == "map":
            cond = {"exemplar": self._pool(f.view(b, s, *f.shape[1:])).flatten(0, 1)}
            mse = self.diffusion_loss(x, self.drop_condition(cond, x))
            return {"loss": mse, "mse": mse}
        mu, logvar = self.encoder.posterior(self._pool(f.view(b, s, -1)))
        kl = torch.zeros((), device=x.device)
        c = mu
        if logvar is not None:
            c = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
            kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).float().mean()
        cond = {"context": c.flatten(0, 1)}
        mse = self.diffusion_loss(x, self.drop_condition(cond, x))
        return {"loss": mse + self.p.kl_weight * kl, "mse": mse, "kl": kl}
