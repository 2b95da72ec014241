"""Typed view of the ``diverse:`` config section. The dataclass defaults equal those of
workflow/schemas/config.schema.yaml, so the library behaves the same with or without validation."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from divrec.diverse.neighbors import SearchSettings
from divrec.errors import ConfigError
from divrec.typed import typed


@dataclass
class TsneSettings:
    perplexity: float = 30.0
    seed: int = 0
    max_points: int | None = 500  # per side (real, generated); None: all. t-SNE dominates the
    # time of a point: ~10 s per 2 x 1000 points on 2 CPU cores, 3-5x that on a loaded machine


@dataclass
class KnnSettings:
    k: int = 5
    percentile: float = 95.0  # of real-to-real leave-one-out k-NN distances


@dataclass
class MemorisationSettings:
    percentile: float = 1.0  # of train-to-train leave-one-out 1-NN distances
    pixel_tolerance: float = 0.05  # 1 - ink IoU at most this = "near-exact copy"
    candidates: int = 10  # feature-space neighbours whose pixels are compared
    max_train: int | None = None  # subsample of training images searched (None: all)


@dataclass
class StabilitySettings:
    reruns: int = 2
    subsample: float = 0.8  # fraction of each set kept per rerun


@dataclass
class DownstreamSettings:
    classes: int = 30
    shots: int = 1  # real drawings per class (the exemplar first)
    rule: str = "knn"  # which DS rule picks the "diverse" samples (hull: t-SNE subsample only)
    steps: int = 150
    batch_size: int = 64
    lr: float = 1.0e-3
    width: int = 32
    image_size: int = 28
    seeds: list = field(default_factory=lambda: [0])


@dataclass
class DiverseSettings:
    extractor: str = "simclr"
    squeezenet_weights: str | None = None
    reference: str = "test"  # test: drawings of the generated classes | train: training images
    tsne: TsneSettings = field(default_factory=TsneSettings)
    knn: KnnSettings = field(default_factory=KnnSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    memorisation: MemorisationSettings = field(default_factory=MemorisationSettings)
    stability: StabilitySettings = field(default_factory=StabilitySettings)
    downstream: DownstreamSettings = field(default_factory=DownstreamSettings)
    grid: int = 24  # diverse samples shown beside their nearest training image

    def __post_init__(self):
        for key, value, (a, b) in (("reference", self.reference, ("test", "train")),
                                   ("downstream.rule", self.downstream.rule, ("knn", "hull"))):
            if value not in (a, b):
                raise ConfigError(f"diverse.{key} must be '{a}' or '{b}', not '{value}'")


def settings_from_config(cfg: dict) -> DiverseSettings:
    """``cfg`` is the whole config; a missing section means all defaults."""
    section = dict(cfg.get("diverse") or {})
    for f in dataclasses.fields(DiverseSettings):
        if dataclasses.is_dataclass(f.default_factory) and f.name in section:
            section[f.name] = typed(f.default_factory, section[f.name], f"diverse.{f.name}")
    return typed(DiverseSettings, section, "diverse")
