"""Train one model entry x sweep point from the config (the body of the ``train_model`` rule)."""

from __future__ import annotations

import os

import torch

from divrec.config import dataset_config, train_config
from divrec.data import batches as B
from divrec.data.splits import load_part
from divrec.device import seed_everything
from divrec.errors import DivrecError
from divrec.models.registry import build_model, get_family
from divrec.points import resolve_point
from divrec.training.loop import fit_and_export


def batch_function(model, part, tc, seed_offset: int = 0):
    """Map the model's ``batch_kind`` to a deterministic batch stream over ``part``."""
    kind = model.batch_kind

    def fn(step: int):
        g = B.step_generator(tc.seed, step + seed_offset)
        if kind == "pairs":
            return B.pairs(part, tc.batch_size, g)
        if kind == "sets":
            return B.sets(part, tc.batch_size, model.set_size, g, model.augment_sets)
        if kind == "images":
            return B.images(part, tc.batch_size, g)
        raise DivrecError(f"model family '{model.family}' has unknown batch_kind '{kind}'")

    return fn


def model_params(cfg: dict, dataset: str, model_name: str, point_name: str) -> dict:
    """The point's params, with ``image_size`` taken from the dataset when the model has one."""
    entry = cfg["models"][model_name]
    params = dict(resolve_point(cfg, dataset, model_name, point_name).params)
    fields = get_family(entry["family"]).Params.__dataclass_fields__
    if "image_size" in fields and "image_size" not in params:
        params["image_size"] = dataset_config(cfg, dataset)["image_size"]
    return params


def train_model(cfg: dict, dataset: str, model_name: str, point_name: str, split_path: str,
                out: str, history_out: str, state_root: str | os.PathLike,
                device: torch.device | str = "cpu") -> None:
    entry = cfg["models"][model_name]
    tc = train_config(cfg, entry.get("train"))
    seed_everything(tc.seed)
    device = torch.device(device)
    params = model_params(cfg, dataset, model_name, point_name)
    model = build_model(entry["family"], params, f"models.{model_name}.params")
    train, val = (load_part(split_path, part, binary=model.binary).to(device)
                  for part in ("train", "val"))
    run_cfg = {"model": model_name, "family": entry["family"], "params": params,
               "dataset": dataset, "data": cfg["data"][dataset]}
    meta = {"model": model_name, "point": point_name, "family": entry["family"],
            "dataset": dataset, "params": params}
    val_fn = batch_function(model, val, tc, 10_000_000) if val.n_classes else None
    state_dir = os.path.join(state_root, dataset, model_name, point_name)
    trainer, _ = fit_and_export(model, tc, state_dir, device, run_cfg, meta, out, history_out,
                                batch_function(model, train, tc), val_fn,
                                desc=f"{model_name} {point_name}")
    trainer.finish()


def train_rule(job) -> None:
    w, out = job.wildcards, job.output
    train_model(job.cfg, w.dataset, w.model, w.train_point, job.input[0], out.model, out.history,
                job.params.state_dir, job.device)
