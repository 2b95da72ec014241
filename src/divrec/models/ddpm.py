"""DDPM (ICML'23 "DDPM"): the exemplar-conditioned diffusion model WITHOUT guidance.

Not an unconditional DDPM: the exemplar is always stacked on x_t (REFERENCE 2.4), the condition
is never dropped (``drop_prob = 0``), and sampling uses the plain conditional prediction, so
``guidance`` other than 0 is refused. Everything else lives in ``divrec.diffusion``.
"""

from __future__ import annotations

from divrec.errors import ConfigError
from divrec.models.diffusion import DiffusionModel, DiffusionParams
from divrec.models.registry import register


@register("ddpm")
class Ddpm(DiffusionModel):
    def __init__(self, p: DiffusionParams):
        if p.drop_prob != 0:
            raise ConfigError("family 'ddpm' never drops its condition; use family 'cfgdm' "
                              "for condition dropout and guidance")
        super().__init__(p)
