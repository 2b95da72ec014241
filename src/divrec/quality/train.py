"""Train one unconditional model entry (``quality.models.<name>``) on one image set with the
shared training loop (checkpoint/resume, NaN guard, EMA, history)."""

from __future__ import annotations

import os

import torch

from divrec.config import train_config
from divrec.data.batches import step_generator
from divrec.device import seed_everything
from divrec.errors import ConfigError
from divrec.quality.images import ImageSet, load
from divrec.quality.registry import build, get_family
from divrec.training.loop import fit_and_export


def model_entry(cfg: dict, model_name: str) -> dict:
    models = cfg["quality"]["models"]
    if model_name not in models:
        raise ConfigError(f"quality model '{model_name}' is not configured (have {sorted(models)})")
    return models[model_name]


def model_params(entry: dict, data: ImageSet) -> dict:
    """The entry's params, ``image_size`` and ``channels`` filled from the data when absent."""
    params = dict(entry.get("params") or {})
    fields = get_family(entry["family"]).Params.__dataclass_fields__
    if "image_size" in fields:
        params.setdefault("image_size", data.image_size)
    if "channels" in fields:
        if params.setdefault("channels", data.channels) != data.channels:
            raise ConfigError(f"model has channels={params['channels']} but the data has "
                              f"{data.channels}; leave channels out to take the data's")
    return params


def batch_function(data: ImageSet, batch_size: int, seed: int, device: torch.device):
    """Batches as a pure function of (seed, step), as the shared loop's resume requires."""
    pixels = torch.from_numpy(data.images).to(device)  # uint8 stays compact on the device

    def fn(step: int) -> torch.Tensor:
        idx = torch.randint(len(pixels), (batch_size,), generator=step_generator(seed, step))
        return pixels[idx.to(device)].permute(0, 3, 1, 2).float() / 127.5 - 1

    return fn


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
                                batch_function(data, tc.batch_size, tc.seed, job.device),
                                desc=f"quality {model_name}")
    trainer.finish()
