"""Model params checked against each family's declared ``Params`` dataclass at config load.

Why: the schema cannot know a family's parameters, so ``params: {beta: "abc"}`` used to pass
validation and die with a TypeError traceback at the first training step. Here every entry's
``params`` and swept values are checked for unknown names and for values whose type the field's
annotation excludes, before any job runs, with one line naming the key.
"""

from __future__ import annotations

import dataclasses
import re

from divrec.errors import ConfigError

_TYPES = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,),
          "None": (type(None),), "list": (list,), "tuple": (list, tuple), "dict": (dict,)}


def check_value(value, annotation: str, where: str) -> None:
    """``annotation`` is a string under ``from __future__ import annotations``; one that is not
    understood (a class, a Literal) is not checked."""
    bases = [re.sub(r"\[.*\]", "", part.strip()) for part in annotation.split("|")]
    if not all(base in _TYPES for base in bases):
        return
    types = tuple(t for base in bases for t in _TYPES[base])
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise ConfigError(f"{where} = {value!r}: expected {annotation}, got "
                          f"{type(value).__name__}")


def check_entry(entry: dict, params_cls, where: str) -> None:
    fields = {f.name: f for f in dataclasses.fields(params_cls)}
    swept = (entry.get("sweep") or {}).get("values") or {}
    for key in [*(entry.get("params") or {}), *swept]:
        if key not in fields:
            raise ConfigError(f"unknown parameter '{key}' in {where}; the family declares "
                              f"{sorted(fields)}")
    for key, value in (entry.get("params") or {}).items():
        check_value(value, str(fields[key].type), f"{where}.params.{key}")
    for key, spec in swept.items():
        values = spec if isinstance(spec, list) else [spec["start"], spec["stop"]]
        for v in values:
            check_value(v, str(fields[key].type), f"{where}.sweep.values.{key}")


def check_model_params(cfg: dict) -> None:
    """Every one-shot and quality model entry of ``cfg`` against its family's Params."""
    from divrec.models.registry import get_family
    from divrec.quality.registry import get_family as get_quality

    for name, entry in (cfg.get("models") or {}).items():
        check_entry(entry, get_family(entry["family"]).Params, f"models.{name}")
    for name, entry in ((cfg.get("quality") or {}).get("models") or {}).items():
        family = entry.get("family", name)
        check_entry(entry, get_quality(family).Params, f"quality.models.{name}")
