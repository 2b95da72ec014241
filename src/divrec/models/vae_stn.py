"""VAE-STN: a DRAW-like sequential VAE whose read and write heads are spatial transformers,
conditioned one-shot on an exemplar (Boutin et al. 2022, after Rezende et al. 2016).

Per step t: read three 15x15 glimpses at the current attention theta (error image, target,
exemplar), infer q(z_t | h, glimpses), write a patch decoded from the *previous* LSTM state through
the inverse transform, then update the LSTM on [z_t, exemplar glimpse] and the attention from
h[:, :100]. Loss: Bernoulli BCE (summed over pixels) + beta * KL (summed over dims and steps).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from divrec.data.preprocess import IMAGE_SIZE
from divrec.models.base import GenerativeModel
from divrec.models.registry import register
from divrec.models.shared_linear import SharedLinear, compute_dtype, open_mlp

LOC = 100  # the first 100 LSTM units drive the attention, the rest the write head


@dataclass
class Params:
    z_size: int = 60
    time_step: int = 40
    lstm_size: int = 400
    read_size: int = 15
    beta: float = 1.0
    image_size: int = IMAGE_SIZE


def _kl(mus: list, logvars: list, like: torch.Tensor) -> torch.Tensor:
    """KL(q(z_t) || N(0, I)) summed over dims and steps, per sample, computed once for all steps."""
    if not mus:
        return like.new_zeros(like.shape[0])
    mu, logvar = torch.stack(mus).to(like.dtype), torch.stack(logvars).to(like.dtype)
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum((0, 2))


def _mlp(*sizes: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])  # no ReLU after the last layer


def invert_theta(theta: torch.Tensor) -> torch.Tensor:
    """[B, 2, 3] affine (A, b) -> (A^-1, -A^-1 b): maps a glimpse back onto the canvas."""
    a_inv = torch.linalg.inv(theta[:, :, :2].float()).to(theta.dtype)
    return torch.cat([a_inv, -a_inv @ theta[:, :, 2:]], dim=2)


@functools.cache
def _grid_map(size: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """[6, size * size * 2]: maps a flattened affine theta [B, 6] to F.affine_grid's sampling grid
    [B, size, size, 2] (align_corners=False): entry (3k + j, 2p + k) is coordinate j of pixel p's
    centre (x, y, 1) in [-1, 1]."""
    pos = (torch.arange(size, device=device, dtype=dtype) * 2 + 1) / size - 1
    ys, xs = torch.meshgrid(pos, pos, indexing="ij")
    base = torch.stack([xs.flatten(), ys.flatten(), torch.ones_like(xs).flatten()])  # [3, HW]
    grid_map = base.new_zeros(2, 3, size * size, 2)
    for k in range(2):
        grid_map[k, :, :, k] = base
    return grid_map.view(6, -1)


def affine_grid(theta: torch.Tensor, size: int) -> torch.Tensor:
    """``F.affine_grid(theta, [B, 1, size, size], align_corners=False)`` as one [B, 6] x [6, 2HW]
    GEMM in theta's dtype, also under autocast (a bf16 grid put read samples up to 0.33 px,
    mean 0.04 px, off on the 50 px image), written in the sampler's layout: torch's
    batched [HW, 3] x [3, 2] products (and, under autocast, their bf16 casts) cost more than the
    glimpse itself, and a permuted grid would be copied by every grid_sample call."""
    with torch.autocast(theta.device.type, enabled=False):
        grid = theta.reshape(-1, 6) @ _grid_map(size, theta.device, theta.dtype)
    return grid.view(-1, size, size, 2)


@register("vae_stn")
class VaeStn(GenerativeModel):
    Params = Params
    batch_kind = "pairs"

    def __init__(self, p: Params):
        super().__init__()
        if p.lstm_size <= LOC:
            raise ValueError(f"lstm_size must exceed {LOC} (attention uses h[:, :{LOC}])")
        self.p = p
        g = p.read_size**2
        self.fc_loc = _mlp(LOC, 64, 32, 6)
        nn.init.zeros_(self.fc_loc[-1].weight)
        with torch.no_grad():
            self.fc_loc[-1].bias.copy_(torch.tensor([1.0, 0, 0, 0, 1, 0]))
        self.q_mu = _mlp(p.lstm_size + 3 * g, 512, 128, p.z_size)
        self.q_logvar = _mlp(p.lstm_size + 3 * g, 512, 128, p.z_size)
        self.write_mlp = _mlp(p.lstm_size - LOC, 200, g)
        self.lstm = nn.LSTMCell(p.z_size + g, p.lstm_size)

    def _read(self, theta: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        """Glimpses of every channel of image [B, C, H, W] at theta -> [B, C * r * r]."""
        grid = affine_grid(theta, self.p.read_size)
        return F.grid_sample(image, grid, align_corners=False).flatten(1)

    def _read_error(self, theta, canvas, pair) -> torch.Tensor:
        """[error, target, exemplar] glimpses, the error one as target glimpse - canvas glimpse
        (the sampler is linear, so this is the glimpse of the error image): the canvas, the only
        image that needs an input gradient, is read apart from the pair, so the sampler's
        backward fills one channel, and no full-size error image is formed at every step."""
        grid = affine_grid(theta, self.p.read_size)
        drawn = F.grid_sample(torch.sigmoid(canvas), grid, align_corners=False).flatten(1)
        seen = F.grid_sample(pair, grid, align_corners=False).flatten(1)
        return torch.cat([seen[:, :drawn.shape[1]] - drawn, seen], 1)

    def _write(self, patch: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        r = self.p.read_size
        grid = affine_grid(invert_theta(theta), self.p.image_size)
        return F.grid_sample(patch.to(grid.dtype).view(-1, 1, r, r), grid, align_corners=False)

    def _init_state(self, x: torch.Tensor):
        """Zero LSTM state and canvas, identity attention; in the parameters' dtype (fp32 under
        autocast: only the linear maps run in bf16)."""
        b, bias = x.shape[0], self.fc_loc[-1].bias.detach()
        h = bias.new_zeros(b, self.p.lstm_size)
        theta = self.fc_loc[-1].bias.view(1, 2, 3).expand(b, 2, 3)
        canvas = bias.new_zeros(b, 1, self.p.image_size, self.p.image_size)
        return h, h.clone(), theta, canvas

    def _layers(self, dtype: torch.dtype) -> dict:
        """Every per-step linear map opened once for this sequence (see shared_linear): the two
        posterior heads' first layers as one GEMM, the LSTM's input and hidden maps as one."""
        mu, lv, lstm = self.q_mu, self.q_logvar, self.lstm
        q_first = SharedLinear(torch.cat([mu[0].weight, lv[0].weight]),
                               torch.cat([mu[0].bias, lv[0].bias]), dtype)
        return {"q_first": q_first, "q_mu": open_mlp(mu[1:], dtype),
                "q_logvar": open_mlp(lv[1:], dtype), "write": open_mlp(self.write_mlp, dtype),
                "loc": open_mlp(self.fc_loc, dtype),
                "gates": SharedLinear(torch.cat([lstm.weight_ih, lstm.weight_hh], 1),
                                      lstm.bias_ih + lstm.bias_hh, dtype)}

    def _posterior(self, layers: dict, h, glimpses):
        hidden = F.relu(layers["q_first"](torch.cat([h, glimpses], 1)))
        width = self.q_mu[0].out_features
        return layers["q_mu"](hidden[:, :width]), layers["q_logvar"](hidden[:, width:])

    @staticmethod
    def _lstm(layers: dict, x, h, c):
        i, f, g, o = layers["gates"](torch.cat([x, h], 1)).to(c.dtype).chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return (torch.sigmoid(o) * torch.tanh(c)).to(x.dtype), c

    def _run(self, exemplar: torch.Tensor, target: torch.Tensor | None,
             generator: torch.Generator | None = None):
        """Logits of the canvas and the KL summed over steps (zero when sampling). Glimpses, z
        and h are kept in the linear maps' compute dtype, so that no step casts them twice."""
        dtype = compute_dtype(self.lstm.weight_ih)
        layers = self._layers(dtype)
        h, c, theta, canvas = self._init_state(exemplar)
        h = h.to(dtype)
        mus, logvars = [], []
        pair = None if target is None else torch.cat([target, exemplar], 1)
        for _ in range(self.p.time_step):
            if pair is not None:
                glimpses = self._read_error(theta, canvas, pair).to(dtype)
                r_ex = glimpses[:, 2 * self.p.read_size**2:]
                mu, logvar = self._posterior(layers, h, glimpses)
                z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
                mus.append(mu)
                logvars.append(logvar)
            else:
                r_ex = self._read(theta, exemplar).to(dtype)
                z = torch.randn(exemplar.shape[0], self.p.z_size, generator=generator,
                                device=exemplar.device, dtype=exemplar.dtype).to(dtype)
            canvas = canvas + self._write(layers["write"](h[:, LOC:]), theta)
            h, c = self._lstm(layers, torch.cat([z, r_ex], 1), h, c)
            theta = layers["loc"](h[:, :LOC]).to(canvas.dtype).view(-1, 2, 3)
        return canvas, _kl(mus, logvars, canvas)

    def loss(self, batch) -> dict:
        target, exemplar, _ = batch
        logits, kl = self._run(exemplar, target)
        bce = F.binary_cross_entropy_with_logits(logits.float(), target.float(),
                                                 reduction="none").flatten(1).sum(1)
        return {"loss": (bce + self.p.beta * kl.float()).mean(), "bce": bce.mean(),
                "kl": kl.mean()}

    @torch.no_grad()
    def sample(self, exemplars, generator=None, **options):
        logits, _ = self._run(exemplars, None, generator)
        return torch.sigmoid(logits)
