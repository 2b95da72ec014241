"""The one object a workflow rule hands its body, a library function ``f(job)`` (``snake.run``):
what a rule may use is spelled out here once instead of being unpacked in every script. The
device is picked once per job, so no library function reads the config's device itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from types import SimpleNamespace
from typing import Any

from divrec.device import pick_device


@dataclass
class Job:
    """``cfg`` as the job's dataset sees it (``dataset_overrides`` applied); ``input``,
    ``output``, ``params`` and ``log`` as Snakemake names them (indexable, with attributes)."""

    cfg: dict
    wildcards: Any = field(default_factory=SimpleNamespace)
    input: Any = ()
    output: Any = ()
    params: Any = field(default_factory=SimpleNamespace)
    threads: int = 1
    log: Any = ()

    @cached_property
    def device(self):
        """The torch device of this job, claimed once (a GPU slot lock is taken on CUDA)."""
        return pick_device(self.cfg["device"])

    def point(self):
        """The model point behind the (dataset, model, point) wildcards."""
        from divrec.points import resolve_point

        w = self.wildcards
        return resolve_point(self.cfg, w.dataset, w.model, w.point)
