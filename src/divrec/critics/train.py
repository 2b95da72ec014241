"""Train a critic on the train split (validation classes select nothing here but are logged)."""

from __future__ import annotations

import os
import time

import torch

from divrec.config import train_config
from divrec.critics.checkpoint import build_critic
from divrec.critics.protonet import episode
from divrec.data.batches import images, step_generator
from divrec.data.splits import load_part
from divrec.device import seed_everything
from divrec.training.loop import fit_and_export


def train_critic(cfg: dict, kind: str, dataset: str, split_path: str, out: str,
                 history_out: str, state_dir: str | os.PathLike,
                 calibration_out: str | None = None, device: torch.device | str = "cpu") -> None:
    """Critics see what every metric feeds them: images at the evaluation size, binarised.
    ``calibration_out``: the critic's calibration table (critics/calibration.py), measured on
    the validation and test classes of the split."""
    section = dict(cfg["critics"][kind])
    tc = train_config(cfg, section.pop("train", None))
    size = section["image_size"] = cfg["evaluation"]["image_size"]
    seed_everything(tc.seed)
    device = torch.device(device)
    model = build_critic(kind, section)
    train, val = (load_part(split_path, part, size=size).to(device) for part in ("train", "val"))

    if kind == "simclr":
        def batch_fn(step, part=train):
            g = step_generator(tc.seed, step)
            return images(part, tc.batch_size, g), g
        val_fn = (lambda i: batch_fn(10_000_000 + i, val)) if val.n_classes else None
    else:
        k = min(model.p.k_way, train.n_classes)

        def batch_fn(step, part=train, k=k):
            return episode(part, k, model.p.n_query, step_generator(tc.seed, step))
        kv = min(20, val.n_classes)
        val_fn = (lambda i: batch_fn(10_000_000 + i, val, kv)) if kv >= 2 else None

    meta = {"kind": kind, "params": section, "dataset": dataset}
    start = time.perf_counter()
    trainer, meta = fit_and_export(model, tc, state_dir, device,
                                   {**meta, "data": cfg["data"][dataset]}, meta, out,
                                   history_out, batch_fn, val_fn, desc=f"critic {kind}")
    seconds = time.perf_counter() - start
    if calibration_out:
        from divrec.critics.calibration import calibration_table
        from divrec.io import save_parquet

        test = load_part(split_path, "test", size=size).to(device)
        info = {"dataset": dataset, "steps": tc.steps, "train_seconds": round(seconds, 1),
                "resumed_from": trainer.resumed_from, "precision": trainer.precision,
                "device": str(device), "threads": torch.get_num_threads()}
        table = calibration_table(kind, trainer.model.eval(), {"val": val, "test": test},
                                  cfg["evaluation"], info)
        save_parquet(table, calibration_out, trainer.annotate(meta))
    trainer.finish()


def train_critic_rule(job) -> None:
    w, out = job.wildcards, job.output
    train_critic(job.cfg, w.kind, w.dataset, job.input[0], out.model, out.history,
                 job.params.state_dir, out.calibration, job.device)
