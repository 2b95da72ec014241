"""Configuration: load + validate the YAML, typed views of its sections, and sweep expansion.

The Snakefile validates with ``snakemake.utils.validate`` against the same schema; the library and
CLI validate here so ``python -m divrec`` gives the same one-line error for a wrong key.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from divrec.errors import ConfigError

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


def _check(validator, cfg: dict, prefix: str = "") -> None:
    """Raise ConfigError naming the first invalid key of ``cfg`` (in path order)."""
    err = min(validator.iter_errors(cfg), key=lambda e: list(e.absolute_path), default=None)
    if err is not None:
        where = "/".join(str(p) for p in err.absolute_path) or "<top level>"
        raise ConfigError(f"{prefix}invalid config at '{where}': {err.message}")


def validate(cfg: dict, check_params: bool = True) -> dict:
    """Validate ``cfg`` and fill schema defaults in place; raise ConfigError naming the key.
    Model params are checked against their family's declared Params (divrec.params_check);
    jobs pass ``check_params=False``: the Snakefile checked them when it built the DAG, and the
    check imports every model family, so torch (~2 s) in every table and figure job."""
    import jsonschema

    from divrec.params_check import check_model_params

    if not SCHEMA.exists():  # the workflow's; skipping validation would let every typo through
        raise ConfigError(f"config schema not found at {SCHEMA}: install divrec editable from "
                          "its repository (pip install -e .)")
    schema = yaml.safe_load(SCHEMA.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    _check(validator, cfg)
    _fill_defaults(cfg, schema, schema)
    _validate_dataset_overrides(cfg, validator)
    if check_params:
        check_model_params(cfg)
        for ds in cfg.get("dataset_overrides") or {}:
            check_model_params(for_dataset(cfg, ds))
    return cfg


OVERRIDABLE = ("train", "params", "sample")  # of a model entry; its sweep and datasets are global


def _validate_dataset_overrides(cfg: dict, validator) -> None:
    """Each ``dataset_overrides.<ds>`` names a configured dataset and model entries, and the
    config it yields for that dataset is valid (so a typo inside it is named like any other)."""
    for ds, over in (cfg.get("dataset_overrides") or {}).items():
        if over is None:
            continue
        where = f"dataset_overrides/{ds}"
        if ds not in cfg["data"]:
            raise ConfigError(f"invalid config at '{where}': no dataset '{ds}' under data: "
                              f"(have {sorted(cfg['data'])})")
        for m, entry in (over.get("models") or {}).items():
            if m not in cfg["models"]:
                raise ConfigError(f"invalid config at '{where}': no model entry '{m}' "
                                  f"(have {sorted(cfg['models'])}); remove it there too")
            bad = sorted(set(entry) - set(OVERRIDABLE))
            if bad:
                raise ConfigError(f"invalid config at '{where}', model '{m}': '{bad[0]}' "
                                  f"cannot differ per dataset (only {', '.join(OVERRIDABLE)})")
        _check(validator, for_dataset(cfg, ds), f"{where}: ")


def for_dataset(cfg: dict, dataset: str) -> dict:
    """The config the jobs of ``dataset`` run with: its ``dataset_overrides`` entry (critics,
    models' train/params/sample) deep-merged over the top level. A 4 200-drawing QuickDraw
    build needs fewer critic steps than Omniglot's 26 500 drawings; the sweep stays global."""
    over = (cfg.get("dataset_overrides") or {}).get(dataset)
    return deep_merge(cfg, over) if over else cfg


def _fill_defaults(obj: Any, node: dict, root: dict) -> None:
    if "$ref" in node:
        node = root["definitions"][node["$ref"].split("/")[-1]]
    if not isinstance(obj, dict):
        return
    for key, sub in node.get("properties", {}).items():
        if key not in obj and "default" in sub:
            obj[key] = sub["default"]
        if key in obj:
            _fill_defaults(obj[key], sub, root)


def deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        both = isinstance(v, dict) and isinstance(out.get(k), dict)
        out[k] = deep_merge(out[k], v) if both else v
    return out


def load_config(*paths: str | os.PathLike) -> dict:
    """Load one or more YAML files (later ones override earlier ones) and validate."""
    cfg: dict = {}
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise ConfigError(f"config file not found: {p}")
        try:
            cfg = deep_merge(cfg, yaml.safe_load(p.read_text()) or {})
        except yaml.YAMLError as e:
            raise ConfigError(f"{p}: not valid YAML ({e.__class__.__name__})") from None
    return validate(cfg)


@dataclass
class TrainConfig:
    """Settings of the shared training loop; model entries override the ``training`` defaults."""

    steps: int = 1000
    batch_size: int = 64
    lr: float = 1e-3
    grad_clip: float | None = None
    weight_decay: float = 0.0
    checkpoint_every: int = 100
    log_every: int = 10
    val_every: int = 200
    val_batches: int = 4
    lr_decay: str = "none"  # none | linear | cosine | step | plateau (training/schedule.py)
    lr_warmup: int = 0
    lr_step: int | None = None
    lr_gamma: float = 0.5
    lr_patience: int = 10
    lr_floor: float = 0.0  # linear/cosine end at this fraction of the initial lr
    ema: float | None = None
    ema_warmup: bool = True  # decay min(ema, (1 + s) / (10 + s)) at update s
    export: str = "last"  # last (EMA if enabled, else final weights) | best (best validation)
    recalibrate_bn: int = 0  # batches to re-estimate BatchNorm statistics of the exported weights
    precision: str = "auto"  # auto | bf16 | fp32 (device.resolve_precision)
    keep_resume: bool = False  # keep the resume state once the outputs are written
    seed: int = 0


# ----------------------------------------------------------------------------- sweeps


def _values(spec) -> list:
    if isinstance(spec, list):
        return spec
    start, stop, step = spec["start"], spec["stop"], spec["step"]
    n = int(np.floor((stop - start) / step + 1e-9)) + 1
    vals = [round(start + i * step, 10) for i in range(n)]
    if all(float(v).is_integer() for v in (start, stop, step)):
        vals = [int(v) for v in vals]
    return vals


def fmt_value(v) -> str:
    """A parameter value as it appears in point names (``1.0`` -> ``1``)."""
    return f"{v:g}" if isinstance(v, float) else str(v)


@dataclass(frozen=True)
class SweepPoint:
    """One hyperparameter setting of a model entry; ``name`` is its Snakemake wildcard."""

    name: str
    params: dict = field(hash=False, compare=False)


def expand_sweep(entry: dict) -> list[SweepPoint]:
    """Points of a model entry. ``one_factor`` varies each swept key alone around ``params``
    (the base point included once); ``grid`` takes the full product of all swept keys."""
    base = dict(entry.get("params") or {})
    sweep = entry.get("sweep") or {}
    values = {k: _values(v) for k, v in (sweep.get("values") or {}).items()}
    if not values:
        return [SweepPoint("base", base)]
    keys = sorted(values)
    if sweep.get("mode", "one_factor") == "grid":
        combos = [dict(zip(keys, c)) for c in itertools.product(*(values[k] for k in keys))]
    else:
        missing = [k for k in keys if k not in base]
        if missing:
            raise ConfigError(f"one_factor sweep needs a base value in params for {missing}")
        combos = [{}] + [{k: v} for k in keys for v in values[k]]
    points: dict[str, SweepPoint] = {}
    for c in combos:
        params = {**base, **c}
        name = "_".join(f"{k}={fmt_value(params[k])}" for k in keys)
        points.setdefault(name, SweepPoint(name, params))
    return list(points.values())


VARIANT_SEP = "~"


def sample_variants(entry: dict) -> list[tuple[str, dict]]:
    """Sampling variants of a model entry: list values in ``sample:`` (e.g. a guidance-scale
    sweep) are sampled from ONE trained model each; scalars are fixed sampler options.
    Returns [(suffix, options)], the suffix being "" or "~guidance=2"."""
    opts = dict(entry.get("sample") or {})
    swept = sorted(k for k, v in opts.items() if isinstance(v, list))
    if not swept:
        return [("", opts)]
    out = []
    for combo in itertools.product(*(opts[k] for k in swept)):
        chosen = {**opts, **dict(zip(swept, combo))}
        out.append((VARIANT_SEP + "_".join(f"{k}={fmt_value(chosen[k])}" for k in swept), chosen))
    return out


def split_variant(point: str) -> tuple[str, str]:
    """"beta=1~guidance=2" -> ("beta=1", "~guidance=2")."""
    base, sep, rest = point.partition(VARIANT_SEP)
    return base, sep + rest


def dataset_config(cfg: dict, dataset: str) -> dict:
    if dataset not in cfg["data"]:
        raise ConfigError(f"dataset '{dataset}' is not configured under data: "
                          f"(have {sorted(cfg['data'])})")
    return cfg["data"][dataset]


def train_config(cfg: dict, section: dict | None) -> TrainConfig:
    """The loop's settings: the top-level ``seed`` and ``precision``, then ``training:``, then
    the entry's ``train:`` (later wins)."""
    top = {k: cfg[k] for k in ("seed", "precision") if k in cfg}
    return TrainConfig(**{**top, **(cfg.get("training") or {}), **(section or {})})
