"""Train one unconditional model entry (``quality.models.<name>``) on one image set with the
shared training loop (checkpoint/resume, NaN guard, EMA, history)."""

from __future__ import annotations

import os

from divrec.config import train_config
from divrec.device import seed_everything
from divrec.errors import ConfigError
from divrec.quality.images import ImageSet, batch_function, load
from divrec.quality.registry import build
from divrec.training.loop import fit_and_export


def model_entry(cfg: dict, model_name: str) -> dict:
    models = cfg["quality"]["models"]
    if model_name not in models:
        raise ConfigError(f"quality model '{model_name}' is not configured (have {sorted(models)})")
    return models[model_name]


def model_params(entry: dict, data: ImageSet) -> dict:
    """The entry's params, ``image_size`` and ``channels`` (every family has both, see
    ``UncondModel``) filled from the data when absent."""
    params = dict(entry.get("params") or {})
    params.setdefault("image_size", data.image_size)
    if params.setdefault("channels", data.channels) != data.channels:
        raise ConfigError(f"model has channels={params['channels']} but the data has "
                          f"{data.channels}; leave channels out to take the data's")
    return params


def train(job) -> None:
    cfg, dataset, model_name = job.cfg, job.wildcards.qdataset, job.wildcards.qmodel
    entry = model_entry(cfg, model_name)
    tc = train_config(cfg, entry.get("train"))
    seed_everything(tc.seed)
    data = load(job.input[0])
    params = model_params(entry, data)
    model = build(entry["family"], params, f"quality.models.{model_name}.params")
    run_cfg = {"model": model_name, "family": entry["family"], "params": params,
               "dataset": dataset, "n_images": len(data.images)}
    meta = {"model": model_name, "family": entry["family"], "label": entry.get("label", model_name),
            "dataset": dataset, "params": params,
            "n_params": sum(p.numel() for p in model.parameters())}
    state_dir = os.path.join(job.params.state_dir, "quality", dataset, model_name)
    trainer, _ = fit_and_export(model, tc, state_dir, job.device, run_cfg, meta, job.output.model,
                                job.output.history,
                                batch_function(data.images, tc.batch_size, tc.seed, job.device),
                                desc=f"quality {model_name}")
    trainer.finish()
