"""DA-GAN (Antoniou et al. 2017, REFERENCE.md §2.3) as a one-shot generator: G(x, z) maps a
conditioning drawing and noise to a new drawing of the same class, trained with WGAN-GP against a
pair critic; ``generator: uresnet`` (DAGAN-UN, encoder-to-decoder skips) or ``resnet`` (DAGAN-RN).

One batch = one critic step, D(x1, G(x1, z)) - D(x1, x2) + GP (on interpolates between x2 and
G(x1, z), w.r.t. the second input only); every ``c_iter``-th step also a generator step on the
same x1 and a fresh z, -D(x1, G(x1, z)). Fixes: G's output is detached in the critic step (the
published code backpropagated through G there and threw the gradients away, §8 bug 9), and the
critic is frozen during the generator step.

Pairing (x1, x2): ``prototype`` (published) = a random drawing and its class exemplar, so at test
time G receives the prototype, an input it never saw (REFERENCE.md §8, 9b); ``same_class``
(original DAGAN) = two distinct random drawings of one class; ``exemplar`` (the fix of 9b) = the
exemplar and a random drawing of its class, so G trains on the input it receives at test time.

Logged ``loss``: the critic's Wasserstein estimate E D(real) - E D(fake) before the update (what
WGAN-GP drives down, so lower is better and it doubles as the validation loss).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from divrec.config import TrainConfig
from divrec.data.preprocess import IMAGE_SIZE
from divrec.errors import ConfigError
from divrec.models.base import GenerativeModel
from divrec.models.dagan_nets import LEVELS, Critic, Generator
from divrec.models.registry import register
from divrec.training.optim import adam

GENERATORS = {"uresnet": 3, "resnet": 2}  # generator -> published inner layers per dense block
PAIRINGS = ("prototype", "same_class", "exemplar")


@dataclass
class Params:
    generator: str = "uresnet"     # uresnet (DAGAN-UN) | resnet (DAGAN-RN)
    z_size: int = 128              # README value; the published sweep is 10..1000
    width: int = 64                # generator channels [w, w, 2w, 2w]; published 64
    critic_width: int = 64         # critic channels; published 64
    gen_layers: int | None = None  # inner layers per generator block; None = published (3 / 2)
    critic_layers: int = 5         # inner layers per critic block; published 5
    gen_levels: int = 4            # generator halvings 2..4: published 4 (50 -> 4)
    dropout: float = 0.5
    c_iter: int = 5                # critic steps per generator step
    gp_weight: float = 10.0
    pairing: str = "prototype"     # prototype (published) | same_class | exemplar (fix)
    adam_beta1: float = 0.0
    adam_beta2: float = 0.9
    image_size: int = IMAGE_SIZE


@register("dagan")
class Dagan(GenerativeModel):
    Params = Params
    binary = False  # grey levels in [0, 1], as published

    def __init__(self, p: Params):
        super().__init__()
        if p.generator not in GENERATORS:
            raise ConfigError(f"dagan generator '{p.generator}' unknown; "
                              f"use one of {list(GENERATORS)}")
        if p.pairing not in PAIRINGS:
            raise ConfigError(f"dagan pairing '{p.pairing}' unknown; use one of {list(PAIRINGS)}")
        if not 2 <= p.gen_levels <= LEVELS:
            raise ConfigError(f"dagan gen_levels must be in 2..{LEVELS} (got {p.gen_levels})")
        if p.c_iter < 1:
            raise ConfigError(f"dagan c_iter must be >= 1 (got {p.c_iter})")
        self.p = p
        # same_class reads two distinct drawings of one class from a set batch of size 2
        self.batch_kind = "sets" if p.pairing == "same_class" else "pairs"
        self.set_size, self.augment_sets = 2, False
        layers = p.gen_layers or GENERATORS[p.generator]
        self.g = Generator(p.image_size, p.z_size, p.width, layers, p.generator == "uresnet",
                           p.dropout, p.gen_levels)
        self.d = Critic(p.image_size, p.critic_width, p.critic_layers, p.dropout)

    # ------------------------------------------------------------------ training
    def configure_optimizers(self, tc: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        betas = (self.p.adam_beta1, self.p.adam_beta2)
        return {name: adam(net.parameters(), lr=tc.lr, betas=betas,
                           weight_decay=tc.weight_decay)
                for name, net in (("g", self.g), ("d", self.d))}

    def _pair(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(x1, x2): the generator's input and its real partner."""
        if self.batch_kind == "sets":
            return batch[:, 0], batch[:, 1]
        target, exemplar, _ = batch
        return (exemplar, target) if self.p.pairing == "exemplar" else (target, exemplar)

    def _noise(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(x.shape[0], self.p.z_size, generator=generator, device=x.device,
                           dtype=x.dtype)

    def _gradient_penalty(self, x1, x2, fake) -> torch.Tensor:
        alpha = torch.rand(x1.shape[0], 1, 1, 1, device=x1.device, dtype=x1.dtype)
        mix = (alpha * x2 + (1 - alpha) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(self.d(x1, mix).sum(), mix, create_graph=True)
        norm = torch.sqrt(grad.flatten(1).pow(2).sum(1) + 1e-12)
        return self.p.gp_weight * (norm - 1).pow(2).mean()

    def _step(self, opt, net, loss, tc: TrainConfig) -> None:
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if tc.grad_clip:
            torch.nn.utils.clip_grad_norm_(net.parameters(), tc.grad_clip)
        opt.step()

    def train_step(self, batch, opts: dict, step: int, tc: TrainConfig) -> dict:
        x1, x2 = self._pair(batch)
        with torch.no_grad():
            fake = self.g(x1, self._noise(x1))
        d_real, d_fake = self.d(x1, x2).mean(), self.d(x1, fake).mean()
        gp = self._gradient_penalty(x1, x2, fake)
        d_loss = d_fake - d_real + gp
        self._step(opts["d"], self.d, d_loss, tc)
        out = {"loss": (d_real - d_fake).detach(), "d_loss": d_loss.detach(), "gp": gp.detach()}
        if (step + 1) % self.p.c_iter == 0:
            self.d.requires_grad_(False)
            g_loss = -self.d(x1, self.g(x1, self._noise(x1))).mean()
            self._step(opts["g"], self.g, g_loss, tc)
            self.d.requires_grad_(True)
            out["g_loss"] = g_loss.detach()
        return out

    def loss(self, batch) -> dict:
        """Validation: the critic's Wasserstein estimate on held-out pairs (no update)."""
        x1, x2 = self._pair(batch)
        fake = self.g(x1, self._noise(x1))
        d_real, d_fake = self.d(x1, x2).mean(), self.d(x1, fake).mean()
        return {"loss": d_real - d_fake, "d_real": d_real, "d_fake": d_fake}

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def sample(self, exemplars, generator=None, **options):
        """One G(exemplar, z) per exemplar, z ~ N(0, I); sigmoid output in [0, 1]."""
        return self.g(exemplars, self._noise(exemplars, generator))
