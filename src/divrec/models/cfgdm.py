"""CFGDM (ICML'23): the DDPM network trained with condition dropout and sampled with
classifier-free guidance, eps = (1 + g) eps(x, c) - g eps(x, null) (REFERENCE 2.4).

At training the exemplar is replaced by the null (all-zero) condition with probability
``drop_prob`` (published 0.1); the published sign flip of kept conditions is dropped. The
guidance scale is a *sampling* option (``sample(..., guidance=g)``), so a guidance sweep samples
one trained model several times: ``sample: {guidance: [0, 0.5, 1, 2]}`` in the config.
"""

from __future__ import annotations

from dataclasses import dataclass

from divrec.errors import ConfigError
from divrec.models.diffusion import DiffusionModel, DiffusionParams
from divrec.models.registry import register


@dataclass
class Params(DiffusionParams):
    drop_prob: float = 0.1
    guidance: float = 1.0  # published default guide_w


@register("cfgdm")
class Cfgdm(DiffusionModel):
    Params = Params

    def __init__(self, p: Params):
        if p.drop_prob <= 0:
            raise ConfigError("family 'cfgdm' needs drop_prob > 0 to learn the unconditional "
                              "branch that guidance uses (drop_prob 0 is family 'ddpm')")
        super().__init__(p)
