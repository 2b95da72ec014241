"""Registry of unconditional image models: a new family is one file with ``@register``.

Separate from ``divrec.models`` on purpose: those models are one-shot (``sample(exemplars)``),
these sample from noise (``sample(n)``); mixing them would let a config train one kind under the
other's rules.
"""

from __future__ import annotations

import importlib

from divrec.config import typed
from divrec.errors import ConfigError

UNCOND: dict[str, type] = {}
_MODULES = ("dcgan", "ddpm", "ddgan")


def register(family: str):
    def deco(cls):
        if family in UNCOND and UNCOND[family] is not cls:
            raise ValueError(f"unconditional family '{family}' registered twice")
        cls.family = family
        UNCOND[family] = cls
        return cls

    return deco


def get_family(family: str) -> type:
    if family not in UNCOND:
        for m in _MODULES:
            importlib.import_module(f"divrec.quality.{m}")
    if family not in UNCOND:
        raise ConfigError(f"unknown quality model family '{family}'; registered: {sorted(UNCOND)}")
    return UNCOND[family]


def build(family: str, params: dict | None, where: str = "params"):
    cls = get_family(family)
    return cls(typed(cls.Params, params, f"{where} of family '{family}'"))
