"""Model points: one (dataset, model entry, sweep point, sampling variant), resolved once from
the config into a typed object that the rules, the CLI, training, sampling and the claims use.

A point's ``name`` is its Snakemake wildcard: the training point (``beta=4``, ``base``) plus
``~<options>`` for a sampling variant of it (``base~guidance=2``). ``params`` are the trained
model's hyperparameters and ``sample`` the sampler options of the variant, both as the point's
dataset sees them (``dataset_overrides`` applied).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from divrec.config import expand_sweep, for_dataset, sample_variants, split_variant
from divrec.errors import ConfigError


@dataclass(frozen=True)
class Point:
    dataset: str
    model: str
    name: str
    params: dict = field(hash=False, compare=False)
    sample: dict = field(hash=False, compare=False)

    @property
    def train_name(self) -> str:
        """The trained point a sampling variant is drawn from ("base~guidance=2" -> "base")."""
        return split_variant(self.name)[0]


def _entry_points(cfg: dict, dataset: str, model: str) -> list[Point]:
    entry = for_dataset(cfg, dataset)["models"][model]
    return [Point(dataset, model, p.name + suffix, p.params, opts)
            for p in expand_sweep(entry) for suffix, opts in sample_variants(entry)]


def model_points(cfg: dict) -> list[Point]:
    """Every evaluated point, in config order (entries, then their datasets, sweep, variants)."""
    return [pt for m, entry in cfg["models"].items()
            for d in entry.get("datasets", ["omniglot"]) for pt in _entry_points(cfg, d, m)]


def resolve_point(cfg: dict, dataset: str, model: str, name: str) -> Point:
    """The point behind a (dataset, model, point) wildcard; a training point's name (no
    variant) resolves to its first sampling variant, whose ``params`` are the same."""
    if model not in cfg["models"]:
        raise ConfigError(f"model '{model}' is not in the config (have {sorted(cfg['models'])})")
    points = _entry_points(cfg, dataset, model)
    pt = next((p for p in points if p.name == name), None) or next(
        (p for p in points if p.train_name == name), None)
    if pt is not None:
        return pt
    raise ConfigError(f"model '{model}' has no point '{name}' "
                      f"(have {sorted({p.name for p in points})})")
