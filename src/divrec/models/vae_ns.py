"""VAE-NS: the Neural Statistician (Edwards & Storkey 2017), conditional variant, as trained and
sampled one-shot by Boutin et al. 2022 (REFERENCE.md §2.2).

Training sees same-class sets [B, S, 1, H, W]. A shared conv encoder embeds each drawing; the
statistic network averages the set's embeddings into q(c | X); each drawing gets q(z | x, c); a
learned prior p(z | c) and a Bernoulli decoder p(x | z, c) complete the model. The loss is the
per-drawing negative ELBO with the published warm-up weight w = 1 + alpha (``weight``); the
published code halved alpha every epoch, the shared loop counts steps (~295 steps of 100 sets make
one published epoch). One-shot sampling: the context set is the single exemplar, c = the
posterior *mean* of q(c | x), z ~ p(z | c), and the decoder's Bernoulli means are returned.

Departures from the published code, on purpose:
- dynamic binarisation: every batch draws fresh Bernoulli pixels from the grey-level drawings
  (the published set dataset drew one fixed sample at construction, §8);
- set augmentation is a random flip + rot90 shared by a set, applied to (S - 1) / S of the sets
  (published: flips + a free rotation on the same share of sets), see data.batches.sets;
- the decoder trims with valid k2 convs (``Decoder``), so any image size works;
- log p(x) uses logits (exact) instead of clamped probabilities;
- no ``linear_z`` (z_dim -> hidden) in q(z | x, c) and p(z | c): only a second stochastic layer
  would call it (the parameter counts against the published code are in the README);
- no ReduceLROnPlateau on the test loss (model selection only ever sees validation classes).
Each gradient element is clamped to [-grad_clamp, grad_clamp] (published: 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from divrec.config import TrainConfig
from divrec.data.preprocess import IMAGE_SIZE, binarize
from divrec.models.base import GenerativeModel
from divrec.models.dagan_nets import level_sizes
from divrec.models.registry import register

LEVELS = 4  # encoder halvings: 50 -> 25 -> 13 -> 7 -> 4, as published


@dataclass
class Params:
    sample_size: int = 5          # set size during training (the paper's "context" axis)
    z_dim: int = 16               # README value (script default 32)
    c_dim: int = 512
    hidden_dim: int = 256
    width: int = 32               # channels of the first encoder level, doubled per level
    convs_per_level: int = 3      # encoder convs per level, the last one strided
    res_layers: int = 3           # Linear+BN layers in the residual blocks of q(z|x,c), p(z|c)
    beta: float = 1.0
    alpha: float = 1.0            # initial warm-up; w = 1 + alpha, halved every epoch
    alpha_decay: float = 0.5
    steps_per_epoch: int = 295    # published: 29,460 sets / 100 per batch
    grad_clamp: float | None = 1.0
    augment: bool = True
    image_size: int = IMAGE_SIZE


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.BatchNorm2d(cout), nn.ELU())


def _fc(a: int, b: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(a, b), nn.BatchNorm1d(b), nn.ELU())


class GlobalBN(nn.Module):
    """One BatchNorm over every output of a parameter head (the published 'global' batch norm
    on Gaussian parameters: all values share one mean and scale)."""

    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm1d(1, eps=1e-3, momentum=1e-2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(x.unsqueeze(1)).squeeze(1)


class ResBlock(nn.Module):
    """x -> ELU(x + [Linear-BN, ELU, ..., Linear-BN](x))."""

    def __init__(self, dim: int, n: int):
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(n):
            layers += [nn.Linear(dim, dim), nn.BatchNorm1d(dim)] + ([nn.ELU()] if i < n - 1 else [])
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.elu(x + self.body(x))


class GaussianHead(nn.Module):
    """(mean, logvar) of q(z | x, c) or p(z | c), a diagonal Gaussian, from summed projections."""

    def __init__(self, in_dims: list[int], hidden: int, out_dim: int, res_layers: int):
        super().__init__()
        self.inputs = nn.ModuleList([nn.Linear(d, hidden) for d in in_dims])
        self.body = ResBlock(hidden, res_layers)
        self.params = nn.Linear(hidden, 2 * out_dim)
        self.bn = GlobalBN()

    def forward(self, *xs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        e = F.elu(sum(lin(x) for lin, x in zip(self.inputs, xs, strict=True)))
        return self.bn(self.params(self.body(e))).chunk(2, dim=1)


class PostPool(nn.Module):
    """q(c | X) from the set-mean embedding: two Linear-BN-ELU layers, then (mean, logvar)."""

    def __init__(self, hidden: int, c_dim: int):
        super().__init__()
        self.net = nn.Sequential(_fc(hidden, hidden), _fc(hidden, hidden),
                                 nn.Linear(hidden, 2 * c_dim), GlobalBN())

    def forward(self, pooled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net(pooled).chunk(2, dim=1)


class Encoder(nn.Module):
    """Shared conv encoder: LEVELS levels of ``n`` 3x3 convs (last strided), BN + ELU, then a
    Linear + BN + ELU projection to ``hidden``."""

    def __init__(self, p: Params):
        super().__init__()
        layers: list[nn.Module] = []
        cin = 1
        for level in range(LEVELS):
            cout = p.width * 2**level
            for i in range(p.convs_per_level):
                layers.append(_conv(cin, cout, 2 if i == p.convs_per_level - 1 else 1))
                cin = cout
        self.convs = nn.Sequential(*layers)
        self.proj = _fc(cin * level_sizes(p.image_size, LEVELS)[-1] ** 2, p.hidden_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.convs(x).flatten(1))


class Decoder(nn.Module):
    """p(x | z, c): project to the encoder's deepest map, then per level conv, conv, transposed
    conv k2 s2 (x2), BN + ELU each, and a conv to one logit channel. Where doubling overshoots
    the encoder's size at the next level (4 -> 8 vs 7), that level's second conv is a valid 2x2
    conv that trims one pixel (published: 4 -> 8 -> 16 -(k4)-> 13 -> 26 -(k2)-> 25 -> 50; here
    4 -> 8 -(k2)-> 7 -> 14 -(k2)-> 13 -> 26 -(k2)-> 25 -> 50, which works for any size)."""

    def __init__(self, p: Params):
        super().__init__()
        sizes = level_sizes(p.image_size, LEVELS)[::-1]  # [4, 7, 13, 25, 50]
        self.start = (p.width * 2 ** (LEVELS - 1), sizes[0])
        self.z, self.c = nn.Linear(p.z_dim, p.hidden_dim), nn.Linear(p.c_dim, p.hidden_dim)
        self.initial = nn.Linear(p.hidden_dim, self.start[0] * sizes[0] ** 2)
        layers: list[nn.Module] = []
        cin, n = self.start
        for level in range(LEVELS):
            cout = p.width * 2 ** (LEVELS - 1 - level)
            trim = n - sizes[level]  # 0 or 1 pixel too many after the previous doubling
            second = (_conv(cout, cout) if trim == 0 else nn.Sequential(
                nn.Conv2d(cout, cout, trim + 1), nn.BatchNorm2d(cout), nn.ELU()))
            layers += [_conv(cin, cout), second, nn.ConvTranspose2d(cout, cout, 2, 2),
                       nn.BatchNorm2d(cout), nn.ELU()]
            cin, n = cout, 2 * sizes[level]
        layers.append(nn.Conv2d(cin, 1, n - p.image_size + 1))
        self.convs = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        ch, s = self.start
        e = self.initial(F.elu(self.z(z) + self.c(c))).view(-1, ch, s, s)
        return self.convs(e)


def _reparam(mu: torch.Tensor, logvar: torch.Tensor, generator=None) -> torch.Tensor:
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + eps * (0.5 * logvar).exp()


def _kl(mu_q, lv_q, mu_p=None, lv_p=None) -> torch.Tensor:
    """KL(N(mu_q, e^lv_q) || N(mu_p, e^lv_p)) summed over all elements (p = N(0, I) if None)."""
    if mu_p is None:
        mu_p, lv_p = torch.zeros_like(mu_q), torch.zeros_like(lv_q)
    return 0.5 * (lv_p - lv_q + (lv_q.exp() + (mu_q - mu_p) ** 2) / lv_p.exp() - 1).sum()


@register("vae_ns")
class VaeNs(GenerativeModel):
    Params = Params
    batch_kind = "sets"
    binary = False  # grey levels in, Bernoulli-binarised per batch (dynamic binarisation)

    def __init__(self, p: Params):
        super().__init__()
        if p.sample_size < 1 or p.steps_per_epoch < 1:
            raise ValueError("sample_size and steps_per_epoch must be >= 1")
        self.p = p
        self.set_size = p.sample_size
        self.augment_sets = (p.sample_size - 1) / p.sample_size if p.augment else 0.0
        h = p.hidden_dim
        self.encoder = Encoder(p)
        self.statistic = PostPool(h, p.c_dim)
        self.posterior_z = GaussianHead([h, p.c_dim], h, p.z_dim, p.res_layers)
        self.prior_z = GaussianHead([p.c_dim], h, p.z_dim, p.res_layers)
        self.decoder = Decoder(p)

    def weight(self, step: int) -> float:
        """w = 1 + alpha * decay^epoch: up-weights log p(x) early so the KL cannot collapse c."""
        return 1.0 + self.p.alpha * self.p.alpha_decay ** (step // self.p.steps_per_epoch)

    def terms(self, sets: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-drawing log p(x), KL_c, KL_z of a batch of binary sets [B, S, 1, H, W]."""
        b, s = sets.shape[:2]
        x = sets.flatten(0, 1)
        h = self.encoder(x)
        c_mu, c_lv = self.statistic(h.view(b, s, -1).mean(1))
        c = _reparam(c_mu, c_lv)
        zp_mu, zp_lv = (t.repeat_interleave(s, 0) for t in self.prior_z(c))
        c = c.repeat_interleave(s, 0)
        zq_mu, zq_lv = self.posterior_z(h, c)
        logits = self.decoder(_reparam(zq_mu, zq_lv), c)
        n = b * s
        logpx = -F.binary_cross_entropy_with_logits(logits.float(), x.float(), reduction="sum")
        return {"logpx": logpx / n, "kl_c": _kl(c_mu, c_lv) / n,
                "kl_z": _kl(zq_mu, zq_lv, zp_mu, zp_lv) / n}

    def loss(self, batch, weight: float = 1.0) -> dict[str, torch.Tensor]:
        t = self.terms(torch.bernoulli(batch))
        kl = t["kl_c"] + t["kl_z"]
        loss = -(weight * t["logpx"] - self.p.beta * kl / weight)
        return {"loss": loss, "vlb": t["logpx"] - kl, **t}

    def train_step(self, batch, opts: dict, step: int, tc: TrainConfig) -> dict:
        opt = opts["main"]
        opt.zero_grad(set_to_none=True)
        out = self.loss(batch, self.weight(step))
        out["loss"].backward()
        if self.p.grad_clamp:
            nn.utils.clip_grad_value_(self.parameters(), self.p.grad_clamp)
        if tc.grad_clip:
            out["grad_norm"] = nn.utils.clip_grad_norm_(self.parameters(), tc.grad_clip)
        opt.step()
        out["w"] = torch.tensor(self.weight(step))
        return out

    @torch.no_grad()
    def sample(self, exemplars, generator=None, **options):
        c, _ = self.statistic(self.encoder(binarize(exemplars)))
        z = _reparam(*self.prior_z(c), generator=generator)
        return torch.sigmoid(self.decoder(z, c))
