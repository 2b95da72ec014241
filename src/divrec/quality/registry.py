"""Registry of unconditional image models (``sample(n)``, from noise): a new family is one file
with ``@register``. Kept apart from the one-shot ``divrec.models`` (see ``divrec.registry``)."""

from __future__ import annotations

from divrec.registry import Registry

_REGISTRY = Registry("quality model", "divrec.quality", modules=("dcgan", "ddpm", "ddgan"))
register = _REGISTRY.register
get_family = _REGISTRY.get
build = _REGISTRY.build
load_model = _REGISTRY.load
