"""Model registry.

A model file defines a ``Params`` dataclass and a ``GenerativeModel`` subclass decorated with
``@register("family")``. The config entry ``models: {my_name: {family: ..., params: {...}}}`` then
trains, samples and evaluates it through the same rules as every other model.
"""

from __future__ import annotations

from divrec.registry import Registry

_REGISTRY = Registry("model", "divrec.models", skip={"registry", "base"})
MODELS = _REGISTRY.classes
register = _REGISTRY.register
get_family = _REGISTRY.get
build_model = _REGISTRY.build
load_model = _REGISTRY.load
