"""The shared one-shot diffusion model behind the ``ddpm``, ``cfgdm`` and ``fsdm`` families.

Fixes of the published DDPM/CFGDM network (REFERENCE 2.4): data in [-1, 1] (the published net
modelled {0, 1} directly), t uniform over all T steps, integer time embedding, every U-Net skip
used, final samples clipped to [-1, 1], and EMA weights through the training loop's ``ema``.
Sampling options (``sample: {...}`` in the config, or keywords of ``sample``) default to the params.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import torch
import torch.nn.functional as F

from divrec.data.preprocess import IMAGE_SIZE, resize
from divrec.diffusion.augment import augment_class
from divrec.diffusion.importance import importance_map
from divrec.diffusion.samplers import Cond, guided, make_sampler, sample_loop
from divrec.diffusion.schedule import NoiseSchedule, ScheduleParams
from divrec.diffusion.unet import UNet, UNetParams
from divrec.errors import ConfigError
from divrec.models.base import GenerativeModel


@dataclass
class DiffusionParams:
    """Defaults are the published Omniglot settings (n_feat 48, T 500, linear betas)."""

    image_size: int = IMAGE_SIZE
    model_size: int | None = None  # resolution the diffusion runs at (None: image_size); the
    # CPU default uses 28 (FSDM's own Omniglot size): inputs are resized down, samples back up
    # U-Net (see diffusion.unet.UNetParams)
    n_feat: int = 48
    dim_mults: list[int] = field(default_factory=lambda: [1, 2, 4])
    blocks: int = 2
    attention: bool = True
    heads: int = 4
    dim_head: int = 32
    dw_kernel: int = 7
    # noise schedule
    timesteps: int = 500
    schedule: str = "linear"
    beta_start: float = 1e-4
    beta_end: float = 0.02
    # training
    prediction: str = "eps"      # eps (published) | x0: the U-Net predicts the clean image
    drop_prob: float = 0.0       # condition dropout (CFGDM 0.1)
    augment_class: bool = False  # QuickDraw-FS only in the paper (REFERENCE 1.3)
    # sampling defaults (overridable per call / per `sample:` config entry)
    sampler: str = "ddim"
    sample_steps: int = 50
    eta: float = 0.0
    clip_x0: bool = True
    guidance: float = 0.0
    variance: str = "beta"       # ancestral sampler: beta_t (published) | posterior


def to_model_range(x: torch.Tensor, size: int) -> torch.Tensor:
    """[0, 1] images -> [-1, 1], resized (bilinear, antialiased) to ``size``."""
    return resize(x, size) * 2 - 1


class DiffusionModel(GenerativeModel):
    """DDPM conditioned on a one-shot exemplar (channel stacking by default)."""

    Params = DiffusionParams

    def __init__(self, p: DiffusionParams, **unet):
        """``unet``: U-Net settings that are not params of the same name (FSDM's conditioning)."""
        super().__init__()
        if not 0 <= p.drop_prob < 1:
            raise ConfigError(f"drop_prob must be in [0, 1), got {p.drop_prob}")
        if p.prediction not in ("eps", "x0"):
            raise ConfigError(f"prediction must be one of ['eps', 'x0'], got '{p.prediction}'")
        self.p = p
        self.size = p.model_size or p.image_size
        levels = len(p.dim_mults)
        if self.size < 2 ** (levels - 1):
            raise ConfigError(f"model_size {self.size} is too small for {levels} U-Net levels")
        self.schedule = NoiseSchedule(ScheduleParams(p.timesteps, p.schedule, p.beta_start,
                                                     p.beta_end))
        shared = {f.name: getattr(p, f.name) for f in fields(UNetParams) if hasattr(p, f.name)}
        self.unet = UNet(UNetParams(**{**shared, **unet}))

    # ------------------------------------------------------------------ conditioning
    def condition(self, exemplars: torch.Tensor) -> Cond:
        return {"exemplar": exemplars}

    def null_condition(self, exemplars: torch.Tensor) -> Cond:
        """The dropped condition: an all-zero exemplar (mid-grey in [-1, 1], never a drawing)."""
        return {"exemplar": torch.zeros_like(exemplars)}

    def denoise(self, x_t: torch.Tensor, t: torch.Tensor, cond: Cond) -> torch.Tensor:
        """eps(x_t, t, c) whatever the network predicts, so samplers, guidance and importance
        maps see one interface; an x0 prediction is turned into the eps consistent with it."""
        out = self.unet(x_t, t, **cond)
        return out if self.p.prediction == "eps" else self.schedule.predict_eps(x_t, t, out)

    def drop_condition(self, cond: Cond, exemplars: torch.Tensor) -> Cond:
        """Replace each sample's condition by the null one with probability ``drop_prob``."""
        if self.p.drop_prob == 0:
            return cond
        null = self.null_condition(exemplars)
        keep = torch.rand(exemplars.shape[0], device=exemplars.device) >= self.p.drop_prob
        return {k: torch.where(keep.view(-1, *[1] * (v.dim() - 1)), v, null[k])
                for k, v in cond.items()}

    # ------------------------------------------------------------------ training
    def diffusion_loss(self, x0: torch.Tensor, cond: Cond) -> torch.Tensor:
        """E_{t, eps} ||eps - eps_theta(x_t, t, c)||^2 (or ||x0 - x0_theta||^2 for
        ``prediction: x0``), t uniform over all T steps.

        Why x0: a small network trained for a few CPU-minutes learns "a clean drawing like the
        exemplar" long before it learns the noise at every level; the eps it implies is the same
        quantity samplers use (``denoise``), so only the loss weighting over t differs."""
        t = self.schedule.sample_t(x0.shape[0], x0.device)
        noise = torch.randn_like(x0)
        out = self.unet(self.schedule.q_sample(x0, t, noise), t, **cond)
        target = noise if self.p.prediction == "eps" else x0
        return F.mse_loss(out.float(), target.float())

    def loss(self, batch) -> dict:
        target, exemplar, _ = batch
        if self.p.augment_class:
            target, exemplar = augment_class(target, exemplar)
        x0, ex = to_model_range(target, self.size), to_model_range(exemplar, self.size)
        cond = self.drop_condition(self.condition(ex), ex)
        return {"loss": self.diffusion_loss(x0, cond)}

    def importance(self, exemplars: torch.Tensor, x0: torch.Tensor | None = None,
                   **kw) -> torch.Tensor:
        """Importance map of exemplars [B, 1, H, W] in [0, 1] (optionally other drawings x0 of
        the class), at the model's resolution; see ``diffusion.importance.importance_map``."""
        dev = self.schedule.betas.device
        ex = to_model_range(exemplars.to(dev).float(), self.size)
        x0 = None if x0 is None else to_model_range(x0.to(dev).float(), self.size)
        return importance_map(self, ex, x0, **kw)

    # ------------------------------------------------------------------ sampling
    def _options(self, options: dict) -> dict:
        p = self.p
        out = {"guidance": p.guidance, "sampler": p.sampler, "steps": p.sample_steps,
               "eta": p.eta, "clip_x0": p.clip_x0, "variance": p.variance}
        unknown = sorted(set(options) - set(out))
        if unknown:
            raise ConfigError(f"unknown sample option(s) {unknown} for family "
                              f"'{self.family}'; allowed: {list(out)}")
        out.update(options)
        if out["guidance"] != 0 and p.drop_prob == 0:
            raise ConfigError(f"family '{self.family}' was trained without condition dropout "
                              "(drop_prob 0): it has no unconditional branch, so guidance must "
                              "be 0")
        return out

    @torch.no_grad()
    def sample(self, exemplars: torch.Tensor, generator: torch.Generator | None = None,
               **options) -> torch.Tensor:
        """exemplars [B, 1, H, W] in [0, 1] -> samples [B, 1, H, W] in [0, 1]."""
        o = self._options(options)
        ex = to_model_range(exemplars.to(self.schedule.betas.device).float(), self.size)
        cond = self.condition(ex)
        null = self.null_condition(ex) if o["guidance"] else None
        sampler = make_sampler(o["sampler"], self.schedule, int(o["steps"]), float(o["eta"]),
                               bool(o["clip_x0"]), o["variance"])
        eps_fn = guided(self.denoise, cond, null, float(o["guidance"]))
        x = (sample_loop(sampler, eps_fn, ex.shape, ex.device, generator).clamp(-1, 1) + 1) / 2
        return resize(x, exemplars.shape[-1]).clamp(0, 1)
