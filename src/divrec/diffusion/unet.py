"""The exemplar-conditioned ConvNeXt U-Net of the published DDPM/CFGDM (after the HF
"annotated diffusion" U-Net), with the published quirks fixed:

* every down level's skip is used, including the highest-resolution one (the published variant
  dropped it, so full-resolution detail reached the output only through the bottleneck);
* the time embedding is sinusoidal in the integer step t, not t/T;
* upsampling resizes to the matching skip, so odd sizes (50 -> 25 -> 12) work (the published
  transposed convolutions assumed 48x48).

Conditioning: the exemplar image is stacked as a second input channel (``cond_channels=1``;
zeros = the null condition), and an optional context vector (FSDM) modulates every block by FiLM.
``n_feat``/``dim_mults``/``blocks``/``attention`` scale it from a CPU toy to the published net
(n_feat 48 on Omniglot, 60 on QuickDraw, dim_mults (1, 2, 4), 2 blocks, attention on).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from divrec.errors import ConfigError


@dataclass
class UNetParams:
    n_feat: int = 48
    dim_mults: list[int] = field(default_factory=lambda: [1, 2, 4])
    blocks: int = 2            # ConvNeXt blocks per level (published 2)
    attention: bool = True     # linear attention per level + full attention in the middle
    heads: int = 4
    dim_head: int = 32
    convnext_mult: int = 2
    dw_kernel: int = 7         # depthwise kernel (published 7; 3 is ~50x cheaper to train on CPU)
    cond_channels: int = 1     # exemplar channels stacked on x_t (0 for context-only models)
    context_dim: int = 0       # FiLM context vector size (0 = none)


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0,
                       cos_first: bool = False) -> torch.Tensor:
    """Sinusoidal embedding of (possibly fractional) steps [B] -> [B, dim] (Vaswani et al.
    frequencies), [sin, cos] as in annotated-diffusion or, ``cos_first``, [cos, sin] as in
    improved-diffusion (the quality U-Nets). The order only permutes the next Linear's inputs."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device) / max(half, 1))
    args = t.float()[:, None] * freqs[None]
    parts = [args.cos(), args.sin()] if cos_first else [args.sin(), args.cos()]
    return F.pad(torch.cat(parts, dim=1), (0, dim % 2))


class ConvNextBlock(nn.Module):
    """Depthwise kxk + time bias, then norm -> (FiLM) -> conv3x3 -> GELU -> norm -> conv3x3."""

    def __init__(self, dim: int, dim_out: int, emb_dim: int, ctx_dim: int = 0, mult: int = 2,
                 kernel: int = 7):
        super().__init__()
        self.ds_conv = nn.Conv2d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        self.time = nn.Sequential(nn.GELU(), nn.Linear(emb_dim, dim))
        self.film = nn.Sequential(nn.GELU(), nn.Linear(ctx_dim, 2 * dim)) if ctx_dim else None
        self.norm1 = nn.GroupNorm(1, dim)
        self.net = nn.Sequential(
            nn.Conv2d(dim, dim_out * mult, 3, padding=1), nn.GELU(),
            nn.GroupNorm(1, dim_out * mult), nn.Conv2d(dim_out * mult, dim_out, 3, padding=1))
        self.res = nn.Conv2d(dim, dim_out, 1) if dim != dim_out else nn.Identity()

    def forward(self, x, t_emb, ctx_emb=None):
        h = self.ds_conv(x) + self.time(t_emb)[:, :, None, None]
        h = self.norm1(h)
        if self.film is not None:
            scale, shift = self.film(ctx_emb)[:, :, None, None].chunk(2, dim=1)
            h = h * (1 + scale) + shift
        return self.net(h) + self.res(x)


class LinearAttention(nn.Module):
    """O(HW) attention (softmax over features and positions separately), for every level."""

    def __init__(self, dim: int, heads: int, dim_head: int):
        super().__init__()
        self.heads, self.scale = heads, dim_head**-0.5
        self.qkv = nn.Conv2d(dim, 3 * heads * dim_head, 1, bias=False)
        self.out = nn.Sequential(nn.Conv2d(heads * dim_head, dim, 1), nn.GroupNorm(1, dim))

    def forward(self, x):
        b, _, h, w = x.shape
        q, k, v = (z.reshape(b, self.heads, -1, h * w) for z in self.qkv(x).chunk(3, dim=1))
        q = q.softmax(dim=-2) * self.scale
        k = k.softmax(dim=-1)
        ctx = torch.einsum("bhdn,bhen->bhde", k, v)
        out = torch.einsum("bhde,bhdn->bhen", ctx, q)
        return self.out(out.reshape(b, -1, h, w))


class Attention(nn.Module):
    """Full softmax attention over positions (the bottleneck only, where HW is small)."""

    def __init__(self, dim: int, heads: int, dim_head: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Conv2d(dim, 3 * heads * dim_head, 1, bias=False)
        self.out = nn.Conv2d(heads * dim_head, dim, 1)

    def forward(self, x):
        b, _, h, w = x.shape
        q, k, v = (z.reshape(b, self.heads, -1, h * w).transpose(-1, -2)
                   for z in self.qkv(x).chunk(3, dim=1))
        out = F.scaled_dot_product_attention(q, k, v)
        return self.out(out.transpose(-1, -2).reshape(b, -1, h, w))


class PreNormResidual(nn.Module):
    def __init__(self, dim: int, fn: nn.Module):
        super().__init__()
        self.norm, self.fn = nn.GroupNorm(1, dim), fn

    def forward(self, x):
        return x + self.fn(self.norm(x))


class Level(nn.Module):
    """``blocks`` ConvNeXt blocks then (optional) linear attention, at one resolution."""

    def __init__(self, din: int, dout: int, p: UNetParams, emb: int, ctx: int):
        super().__init__()
        self.blocks = nn.ModuleList(
            [ConvNextBlock(din if i == 0 else dout, dout, emb, ctx, p.convnext_mult, p.dw_kernel)
             for i in range(max(p.blocks, 1))])
        self.attn = (PreNormResidual(dout, LinearAttention(dout, p.heads, p.dim_head))
                     if p.attention else nn.Identity())

    def forward(self, x, t_emb, ctx_emb):
        for b in self.blocks:
            x = b(x, t_emb, ctx_emb)
        return self.attn(x)


class UNet(nn.Module):
    """(x_t, t, exemplar, context) -> predicted noise (or x0), same shape as x_t."""

    def __init__(self, p: UNetParams, image_channels: int = 1):
        super().__init__()
        if p.dw_kernel < 1 or p.dw_kernel % 2 == 0:
            raise ConfigError(f"dw_kernel must be a positive odd number, got {p.dw_kernel}")
        self.p = p
        init_dim = max((p.n_feat // 3) * 2, 1)
        dims = [init_dim] + [p.n_feat * m for m in p.dim_mults]
        pairs = list(zip(dims[:-1], dims[1:], strict=True))
        emb = 4 * p.n_feat
        ctx = emb if p.context_dim else 0
        self.init_conv = nn.Conv2d(image_channels + p.cond_channels, init_dim, 7, padding=3)
        self.time_mlp = nn.Sequential(nn.Linear(p.n_feat, emb), nn.GELU(), nn.Linear(emb, emb))
        self.ctx_mlp = (nn.Sequential(nn.Linear(p.context_dim, emb), nn.GELU(),
                                      nn.Linear(emb, emb)) if p.context_dim else None)
        self.down = nn.ModuleList([Level(a, b, p, emb, ctx) for a, b in pairs])
        self.downsample = nn.ModuleList([nn.Conv2d(b, b, 4, 2, 1) for _, b in pairs[:-1]])
        mid = dims[-1]
        block = {"ctx_dim": ctx, "mult": p.convnext_mult, "kernel": p.dw_kernel}
        self.mid1 = ConvNextBlock(mid, mid, emb, **block)
        self.mid_attn = (PreNormResidual(mid, Attention(mid, p.heads, p.dim_head))
                         if p.attention else nn.Identity())
        self.mid2 = ConvNextBlock(mid, mid, emb, **block)
        self.up = nn.ModuleList([Level(2 * b, a, p, emb, ctx) for a, b in reversed(pairs)])
        self.upsample = nn.ModuleList([nn.Conv2d(a, a, 3, padding=1)
                                       for a, _ in reversed(pairs[1:])])
        self.final = ConvNextBlock(init_dim, init_dim, emb, **block)
        self.out = nn.Conv2d(init_dim, image_channels, 1)

    def forward(self, x, t, exemplar=None, context=None):
        if self.p.cond_channels:
            if exemplar is None:
                raise ValueError("this U-Net stacks an exemplar channel: pass exemplar "
                                 "(zeros for the null condition)")
            x = torch.cat([x, exemplar.to(x.dtype)], dim=1)
        t_emb = self.time_mlp(timestep_embedding(t, self.p.n_feat).to(x.dtype))
        c_emb = None
        if self.ctx_mlp is not None:
            if context is None:
                raise ValueError("this U-Net is FiLM-conditioned: pass a context vector")
            c_emb = self.ctx_mlp(context.to(x.dtype))
        h = self.init_conv(x)
        skips = []
        for i, level in enumerate(self.down):
            h = level(h, t_emb, c_emb)
            skips.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)
        h = self.mid2(self.mid_attn(self.mid1(h, t_emb, c_emb)), t_emb, c_emb)
        for i, level in enumerate(self.up):
            h = level(torch.cat([h, skips.pop()], dim=1), t_emb, c_emb)
            if skips:  # back up to the next skip's resolution (odd sizes included)
                h = self.upsample[i](F.interpolate(h, size=skips[-1].shape[-2:], mode="nearest"))
        return self.out(self.final(h, t_emb, c_emb))
