"""Dataclass views of config sections: ``typed(cls, values, where)`` builds the dataclass and
names the section of an unknown key. Its own module because the config loader, the family
registries and the feature settings all need it, and none of them may import the others."""

from __future__ import annotations

import dataclasses

from divrec.errors import ConfigError


def typed(cls, values: dict | None, where: str):
    """Build dataclass ``cls`` from ``values``; an unknown key is a ConfigError naming it."""
    values = dict(values or {})
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(f"unknown key(s) {unknown} in {where}; allowed: {sorted(names)}")
    return cls(**values)
