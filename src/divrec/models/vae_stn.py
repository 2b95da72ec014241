"""VAE-STN: a DRAW-like sequential VAE whose read and write heads are spatial transformers,
conditioned one-shot on an exemplar (Boutin et al. 2022, after Rezende et al. 2016).

Per step t: read three 15x15 glimpses at the current attention theta (error image, target,
exemplar), infer q(z_t | h, glimpses), write a patch decoded from the *previous* LSTM state through
the inverse transform, then update the LSTM on [z_t, exemplar glimpse] and the attention from
h[:, :100]. Loss: Bernoulli BCE (summed over pixels) + beta * KL (summed over dims and steps).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from divrec.data.preprocess import IMAGE_SIZE
from divrec.models.base import GenerativeModel
from divrec.models.registry import register

LOC = 100  # the first 100 LSTM units drive the attention, the rest the write head


@dataclass
class Params:
    z_size: int = 60
    time_step: int = 40
    lstm_size: int = 400
    read_size: int = 15
    beta: float = 1.0
    image_size: int = IMAGE_SIZE


def _mlp(*sizes: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def invert_theta(theta: torch.Tensor) -> torch.Tensor:
    """[B, 2, 3] affine (A, b) -> (A^-1, -A^-1 b): maps a glimpse back onto the canvas."""
    a_inv = torch.linalg.inv(theta[:, :, :2].float()).to(theta.dtype)
    return torch.cat([a_inv, -a_inv @ theta[:, :, 2:]], dim=2)


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

    def _read(self, img: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """Glimpses of every channel of ``img`` [B, C, H, W] at theta -> [B, C * r * r]: the
        error, target and exemplar images share one theta, so they are read as one 3-channel
        image (one sampling grid, one kernel) instead of three."""
        r = self.p.read_size
        grid = F.affine_grid(theta, [img.shape[0], 1, r, r], align_corners=False)
        return F.grid_sample(img, grid, align_corners=False).flatten(1)

    def _write(self, h: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        r, s = self.p.read_size, self.p.image_size
        patch = self.write_mlp(h[:, LOC:]).view(-1, 1, r, r)
        grid = F.affine_grid(invert_theta(theta), [h.shape[0], 1, s, s], align_corners=False)
        return F.grid_sample(patch, grid, align_corners=False)

    def _init_state(self, x: torch.Tensor):
        b = x.shape[0]
        h = x.new_zeros(b, self.p.lstm_size)
        theta = self.fc_loc[-1].bias.view(1, 2, 3).expand(b, 2, 3).to(x.dtype)
        canvas = x.new_zeros(b, 1, self.p.image_size, self.p.image_size)
        return h, h.clone(), theta, canvas

    def _run(self, exemplar: torch.Tensor, target: torch.Tensor | None,
             generator: torch.Generator | None = None):
        h, c, theta, canvas = self._init_state(exemplar)
        kl = exemplar.new_zeros(exemplar.shape[0])
        pair = None if target is None else torch.cat([target, exemplar], 1)
        for _ in range(self.p.time_step):
            if pair is not None:
                err = pair[:, :1] - torch.sigmoid(canvas)
                glimpses = self._read(torch.cat([err, pair], 1), theta)
                r_ex = glimpses[:, 2 * self.p.read_size**2:]
                q_in = torch.cat([h, glimpses], 1)
                mu, logvar = self.q_mu(q_in), self.q_logvar(q_in)
                z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
                kl = kl + 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
            else:
                r_ex = self._read(exemplar, theta)
                z = torch.randn(exemplar.shape[0], self.p.z_size, generator=generator,
                                device=exemplar.device, dtype=exemplar.dtype)
            canvas = canvas + self._write(h, theta)
            h, c = self.lstm(torch.cat([z, r_ex], 1), (h, c))
            theta = self.fc_loc(h[:, :LOC]).view(-1, 2, 3)
        return canvas, kl

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
