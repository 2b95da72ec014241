"""The one-shot model registry: ``@register("family")`` on a ``GenerativeModel`` subclass with a
``Params`` dataclass (see CONTRIBUTING.md, "Adding a model")."""

from __future__ import annotations

from divrec.registry import Registry

_REGISTRY = Registry("model", "divrec.models", skip={"registry", "base"})
register = _REGISTRY.register
get_family = _REGISTRY.get
build_model = _REGISTRY.build
load_model = _REGISTRY.load
