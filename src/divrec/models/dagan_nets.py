"""DA-GAN networks (Antoniou et al. 2017, as used by Boutin et al. 2022): densely connected
encoder/decoder blocks, a noise-injecting generator (UResNet with encoder-to-decoder skips, or
ResNet without them) and a pair critic.

Layout as in REFERENCE.md §2.3. Every conv is 3x3 with TensorFlow "same" padding (the published
port pads stride-2 convs asymmetrically on even inputs, so 50 -> 25 -> 13 -> 7 -> 4), followed by
LeakyReLU(0.2) then a norm (BatchNorm eps 1e-3 / momentum 0.01 in the generator, per-sample
LayerNorm with a per-channel affine in the critic, since WGAN-GP's gradient penalty is per sample
and BatchNorm would couple the samples of a batch). ``width`` scales the published channel
counts [64, 64, 128, 128] (width 64) so a CPU default can be small.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LEVELS = 4  # number of halvings; the published networks use 4 (50 -> 4)
NOISE_CHANNELS = (8, 4, 2)  # z is projected to these many channels at the 3 deepest decoder sizes


def level_sizes(size: int, levels: int = LEVELS) -> list[int]:
    """Spatial size at each level: [size, ceil(size/2), ceil(size/4), ...] (levels + 1 entries)."""
    return [-(-size // 2**i) for i in range(levels + 1)]


class SamePad(nn.Module):
    """TensorFlow 'SAME' padding for a 3x3 conv (the published port's rule)."""

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 2 and x.shape[-1] % 2 == 0:
            return F.pad(x, (0, 1, 0, 1))
        return F.pad(x, (1, 1, 1, 1))


class ChannelLayerNorm(nn.Module):
    """Normalise each sample over (C, H, W), then a per-channel affine."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.layer_norm(x, x.shape[1:], eps=1e-5)
        return x * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


def _block(layers: list[nn.Module], cout: int, norm: str | None, dropout: float):
    """``layers``, then with ``norm`` LeakyReLU and the norm, then dropout if any."""
    if norm == "batch":
        layers += [nn.LeakyReLU(0.2), nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)]
    elif norm:
        layers += [nn.LeakyReLU(0.2), ChannelLayerNorm(cout)]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def conv(cin: int, cout: int, stride: int = 1, norm: str | None = "batch",
         dropout: float = 0.0) -> nn.Sequential:
    """Same-padded 3x3 conv; with ``norm`` it is followed by LeakyReLU and the norm."""
    return _block([nn.Conv2d(cin, cout, 3, 1, 1)] if stride == 1
                  else [SamePad(stride), nn.Conv2d(cin, cout, 3, stride)], cout, norm, dropout)


def up(cin: int, cout: int, size: int, norm: str | None = "batch", dropout: float = 0.0):
    """Nearest upsample to ``size`` then a size-preserving transposed 3x3 conv."""
    return _block([nn.Upsample(size=(size, size)),
                   nn.ConvTranspose2d(cin, cout, 3, stride=1, padding=1)], cout, norm, dropout)


class EncoderBlock(nn.Module):
    """Dense block that halves the size: the previous level's input (``pre``) is downsampled and
    joins the first conv; every later conv sees all earlier outputs; the last conv has stride 2."""

    def __init__(self, pre_ch: int, in_ch: int, out_ch: int, n_layers: int, norm: str,
                 dropout: float):
        super().__init__()
        self.pre = conv(pre_ch, pre_ch, stride=2, norm=None)
        self.convs = nn.ModuleList([conv(in_ch + (i * out_ch if i else pre_ch), out_ch, norm=norm)
                                    for i in range(n_layers)])
        self.down = conv(in_ch + n_layers * out_ch, out_ch, 2, norm, dropout)

    def forward(self, pre: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outs = [x, self.convs[0](torch.cat([x, self.pre(pre)], 1))]
        for layer in self.convs[1:]:
            outs.append(layer(torch.cat(outs, 1)))
        return outs[-1], self.down(torch.cat(outs, 1))


class Encoder(nn.Module):
    """conv stride 2, then LEVELS - 1 dense blocks. Returns [x, e0, e1, ...] (each level's
    downsampled output), the skips a UResNet generator concatenates back."""

    def __init__(self, in_ch: int, ch: list[int], n_layers: int, norm: str, dropout: float):
        super().__init__()
        self.first = conv(in_ch, ch[0], stride=2, norm=norm)
        self.blocks = nn.ModuleList([
            EncoderBlock(in_ch if i == 1 else ch[i - 1], ch[i - 1], ch[i], n_layers, norm, dropout)
            for i in range(1, len(ch))
        ])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = [x, self.first(x)]
        pre, cur = x, outs[-1]
        for block in self.blocks:
            pre, cur = block(pre, cur)
            outs.append(cur)
        return outs


class DecoderBlock(nn.Module):
    """Dense block at one size: each conv also sees the previous block's last pre-upsampling
    output (``pre``), upsampled by its own transposed conv; then an optional upsampling conv."""

    def __init__(self, pre_ch: int, in_ch: int, out_ch: int, n_layers: int, size: int,
                 up_size: int | None, dropout: float):
        super().__init__()
        self.pre = nn.ModuleList([up(pre_ch, pre_ch, size, norm=None)
                                  for _ in range(n_layers)] if pre_ch else [])
        self.convs = nn.ModuleList([conv(pre_ch + in_ch + i * out_ch, out_ch)
                                    for i in range(n_layers)])
        self.up = (up(in_ch + n_layers * out_ch, out_ch, up_size, dropout=dropout)
                   if up_size else None)

    def forward(self, pre: torch.Tensor | None, x: torch.Tensor):
        outs = [x]
        for i, layer in enumerate(self.convs):
            cur = [outs[-1], self.pre[i](pre)] if len(self.pre) else [outs[-1]]
            outs.append(layer(torch.cat(cur + outs[:-1], 1)))
        if self.up is None:
            return outs[-2], outs[-1]
        return outs[-1], self.up(torch.cat(outs, 1))


class Generator(nn.Module):
    """G(x, z): encode the conditioning drawing, inject z at the three deepest decoder sizes,
    decode (with encoder skips when ``unet``), three final convs, sigmoid. ``levels`` halvings
    (published 4, a 4x4 bottleneck); fewer keep more of the drawing's layout in the bottleneck,
    the only path from input to output without skips."""

    def __init__(self, size: int, z_dim: int, width: int, n_layers: int, unet: bool,
                 dropout: float, levels: int = LEVELS):
        super().__init__()
        ch = [width, width, 2 * width, 2 * width][:levels]
        self.sizes, self.unet = level_sizes(size, levels), unet
        self.encoder = Encoder(1, ch, n_layers, "batch", dropout)
        self.noise = nn.ModuleList([nn.Linear(z_dim, n * self.sizes[-1 - i] ** 2)
                                    for i, n in enumerate(NOISE_CHANNELS)])
        self.decoder = nn.ModuleList()
        pre_ch, prev = 0, ch[-1]  # channels of the previous block's pre/main outputs
        for i in range(levels + 1):
            skip = (1 if i == levels else ch[-i - 1]) if unet and i > 0 else 0
            noise = NOISE_CHANNELS[i] if i < len(NOISE_CHANNELS) else 0
            out = ch[0] if i == levels else ch[-i - 1]
            self.decoder.append(DecoderBlock(
                pre_ch, prev + skip + noise, out, n_layers, self.sizes[-i - 1],
                None if i == levels else self.sizes[-i - 2], dropout))
            pre_ch = prev = out
        self.final = nn.Sequential(conv(ch[0], ch[0]), conv(ch[0], ch[0]),
                                   conv(ch[0], 1, norm=None))

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        skips = self.encoder(x)
        pre, cur = None, skips[-1]
        for i, block in enumerate(self.decoder):
            if self.unet and i > 0:
                cur = torch.cat([cur, skips[-i - 1]], 1)
            if i < len(NOISE_CHANNELS):
                s = self.sizes[-i - 1]
                cur = torch.cat([self.noise[i](z).view(-1, NOISE_CHANNELS[i], s, s), cur], 1)
            pre, cur = block(pre, cur)
        return torch.sigmoid(self.final(cur))


class Critic(nn.Module):
    """D(x1, x2) -> a scalar per pair: a LayerNorm dense encoder on the 2-channel concatenation,
    then [Linear(global mean) -> LeakyReLU, flattened map] -> Linear."""

    def __init__(self, size: int, width: int, n_layers: int, dropout: float):
        super().__init__()
        ch = [width, width, 2 * width, 2 * width]
        last = level_sizes(size)[-1]
        self.encoder = Encoder(2, ch, n_layers, "layer", dropout)
        self.pooled = nn.Sequential(nn.Linear(ch[-1], 16 * width), nn.LeakyReLU(0.2))
        self.head = nn.Linear(16 * width + ch[-1] * last * last, 1)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        h = self.encoder(torch.cat([x1, x2], 1))[-1]
        return self.head(torch.cat([h.flatten(1), self.pooled(h.mean((2, 3)))], 1)).squeeze(1)
