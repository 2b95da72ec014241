"""A registry of model families: ``@register("name")`` on a class, ``build(name, params)``, and
``load(path)`` of an exported checkpoint (the package's one checkpoint loader). Shared by the
one-shot models (``divrec.models``), the unconditional ones (``divrec.quality``) and the critics,
which keep separate registries so a config can never train one kind under another's rules."""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Iterable

import torch

from divrec.errors import ConfigError, DivrecError
from divrec.typed import typed


class Registry:
    """Families by name. Modules of ``package`` are imported lazily on the first unknown name:
    the given ``modules``, or every module but ``skip``."""

    def __init__(self, kind: str, package: str, modules: Iterable[str] | None = None,
                 skip: Iterable[str] = (), key: str = "family", hint: str = "train it first"):
        self.kind, self.package = kind, package
        self.modules, self.skip = modules, set(skip)
        self.key, self.hint = key, hint  # the checkpoint's family field; what to do if missing
        self.classes: dict[str, type] = {}

    def register(self, family: str):
        def deco(cls):
            if family in self.classes and self.classes[family] is not cls:
                raise ValueError(f"{self.kind} family '{family}' registered twice")
            cls.family = family
            self.classes[family] = cls
            return cls

        return deco

    def _import_all(self) -> None:
        names = self.modules
        if names is None:
            pkg = importlib.import_module(self.package)
            names = [m.name for m in pkgutil.iter_modules(pkg.__path__) if m.name not in self.skip]
        for name in names:
            importlib.import_module(f"{self.package}.{name}")

    def get(self, family: str) -> type:
        if family not in self.classes:
            self._import_all()
        if family not in self.classes:
            raise ConfigError(f"unknown {self.kind} family '{family}'; "
                              f"registered: {sorted(self.classes)}")
        return self.classes[family]

    def build(self, family: str, params: dict | None, where: str = "params"):
        cls = self.get(family)
        return cls(typed(cls.Params, params, f"{where} of family '{family}'"))

    def load(self, path: str | os.PathLike, device: torch.device | str = "cpu"):
        """(model in eval mode, checkpoint dict) from a checkpoint written by ``Trainer.export``."""
        if not os.path.exists(path):
            raise DivrecError(f"{self.kind} checkpoint not found: {path} ({self.hint})")
        ck = torch.load(path, map_location=device, weights_only=False)
        model = self.build(ck[self.key], ck["params"]).to(device)
        model.load_state_dict(ck["state_dict"])
        return model.eval(), ck
