"""Model registry.

A model file defines a ``Params`` dataclass and a ``GenerativeModel`` subclass decorated with
``@register("family")``. The config entry ``models: {my_name: {family: ..., params: {...}}}`` then
trains, samples and evaluates it through the same rules as every other model.
"""

from __future__ import annotations

import importlib
import pkgutil

from divrec.config import typed
from divrec.errors import ConfigError

MODELS: dict[str, type] = {}


def register(family: str):
    def deco(cls):
        if family in MODELS and MODELS[family] is not cls:
            raise ValueError(f"model family '{family}' registered twice")
        cls.family = family
        MODELS[family] = cls
        return cls

    return deco


def _import_all() -> None:
    import divrec.models as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        if mod.name not in {"registry", "base"}:
            importlib.import_module(f"divrec.models.{mod.name}")


def get_family(family: str) -> type:
    if family not in MODELS:
        _import_all()
    if family not in MODELS:
        raise ConfigError(f"unknown model family '{family}'; registered: {sorted(MODELS)}")
    return MODELS[family]


def build_model(family: str, params: dict | None, where: str = "params"):
    cls = get_family(family)
    return cls(typed(cls.Params, params, f"{where} of family '{family}'"))
