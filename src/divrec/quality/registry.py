"""Registry of unconditional image models: a new family is one file with ``@register``.

Separate from ``divrec.models`` on purpose: those models are one-shot (``sample(exemplars)``),
these sample from noise (``sample(n)``); mixing them would let a config train one kind under the
other's rules.
"""

from __future__ import annotations

from divrec.registry import Registry

_REGISTRY = Registry("quality model", "divrec.quality", modules=("dcgan", "ddpm", "ddgan"))
register = _REGISTRY.register
get_family = _REGISTRY.get
build = _REGISTRY.build
load_model = _REGISTRY.load
