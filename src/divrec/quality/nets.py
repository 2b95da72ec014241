"""A small improved-diffusion-style U-Net shared by DDPM (eps prediction from (x_t, t)) and the
DDGAN generator (x0 prediction from (x_t, t, z)).

Conditioning enters every residual block as a per-channel scale and shift of the normalised
activations (improved-diffusion's ``use_scale_shift_norm``; for DDGAN the latent z is mapped by an
MLP and added to the time embedding, a light form of the AdaGN conditioning of NCSN++). Width,
depth and attention are knobs so a tiny version trains in a minute on a CPU and the published
sizes are one config away.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from divrec.diffusion.unet import timestep_embedding


def _norm(ch: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(32, ch // 4) if ch >= 8 else 1, ch)


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, emb_dim: int, dropout: float = 0.0):
        super().__init__()
        self.norm1, self.conv1 = _norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * cout)
        self.norm2, self.conv2 = _norm(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.drop = nn.Dropout(dropout)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()
        nn.init.zeros_(self.conv2.weight)  # each block starts as the identity
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(F.silu(emb))[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        return self.skip(x) + self.conv2(self.drop(F.silu(h)))


class Attention(nn.Module):
    def __init__(self, ch: int, heads: int = 1):
        super().__init__()
        self.heads, self.norm = heads, _norm(ch)
        self.qkv, self.out = nn.Conv2d(ch, 3 * ch, 1), nn.Conv2d(ch, ch, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w).unbind(1)
        o = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2),
                                           v.transpose(-1, -2))
        return x + self.out(o.transpose(-1, -2).reshape(b, c, h, w))


class UNet(nn.Module):
    """(x [B, C, S, S], t [B], z [B, z_dim] | None) -> [B, C, S, S]; with ``z_dim`` > 0 a latent
    z conditions every block (DDGAN)."""

    def __init__(self, channels: int, image_size: int, ch: int, ch_mult: list[int],
                 num_res_blocks: int, attn_resolutions: list[int], dropout: float = 0.0,
                 z_dim: int = 0, z_mlp_layers: int = 2):
        super().__init__()
        levels = len(ch_mult)
        if image_size % 2 ** (levels - 1):
            raise ValueError(f"image size {image_size} must be divisible by 2**{levels - 1} "
                             f"(ch_mult has {levels} levels)")
        emb_dim = 4 * ch
        self.ch = ch
        self.time = nn.Sequential(nn.Linear(ch, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.z_map = None
        if z_dim:
            layers: list[nn.Module] = [nn.Linear(z_dim, emb_dim)]
            for _ in range(z_mlp_layers - 1):
                layers += [nn.SiLU(), nn.Linear(emb_dim, emb_dim)]
            self.z_map = nn.Sequential(*layers)

        def block(cin: int, cout: int, res: int) -> nn.Module:
            b = ResBlock(cin, cout, emb_dim, dropout)
            return _WithAttn(b, Attention(cout)) if res in attn_resolutions else b

        self.inp = nn.Conv2d(channels, ch, 3, padding=1)
        self.down, skips, cur, res = nn.ModuleList(), [ch], ch, image_size
        for i, m in enumerate(ch_mult):
            for _ in range(num_res_blocks):
                self.down.append(block(cur, ch * m, res))
                cur = ch * m
                skips.append(cur)
            if i < levels - 1:
                self.down.append(nn.Conv2d(cur, cur, 3, stride=2, padding=1))
                skips.append(cur)
                res //= 2
        self.mid = nn.ModuleList([ResBlock(cur, cur, emb_dim, dropout), Attention(cur),
                                  ResBlock(cur, cur, emb_dim, dropout)])
        self.up = nn.ModuleList()
        for i, m in reversed(list(enumerate(ch_mult))):
            for _ in range(num_res_blocks + 1):
                self.up.append(block(cur + skips.pop(), ch * m, res))
                cur = ch * m
            if i > 0:
                self.up.append(nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                             nn.Conv2d(cur, cur, 3, padding=1)))
                res *= 2
        self.out = nn.Sequential(_norm(cur), nn.SiLU(), nn.Conv2d(cur, channels, 3, padding=1))

    def forward(self, x: torch.Tensor, t: torch.Tensor, z: torch.Tensor | None = None):
        emb = self.time(timestep_embedding(t, self.ch, cos_first=True))
        if self.z_map is not None:
            emb = emb + self.z_map(z)
        h = self.inp(x)
        hs = [h]
        for layer in self.down:
            h = layer(h, emb) if isinstance(layer, (ResBlock, _WithAttn)) else layer(h)
            hs.append(h)
        for layer in self.mid:
            h = layer(h, emb)
        for layer in self.up:
            takes_emb = isinstance(layer, (ResBlock, _WithAttn))
            h = layer(torch.cat([h, hs.pop()], 1), emb) if takes_emb else layer(h)
        return self.out(h)


class _WithAttn(nn.Module):
    def __init__(self, block: ResBlock, attn: Attention):
        super().__init__()
        self.block, self.attn = block, attn

    def forward(self, x, emb):
        return self.attn(self.block(x, emb))
