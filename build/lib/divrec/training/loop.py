"""The shared training loop: seeded, device-agnostic, checkpointed, resumable, NaN-safe.

Resume state lives in ``state_dir`` (``results/.resume/...``), *not* in the rule's declared output:
Snakemake deletes a job's outputs before rerunning it, so a killed job's progress must sit where
that does not destroy it. The state is keyed by a hash of the run's config, so a changed config
starts fresh instead of resuming a different run.

Batches are a pure function of (seed, step), so a resumed run sees exactly the batches an
uninterrupted run would have seen.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import torch
from tqdm.auto import tqdm

from divrec.config import TrainConfig
from divrec.device import autocast
from divrec.errors import TrainingDiverged
from divrec.io import save_parquet, save_torch
from divrec.provenance import config_hash

log = logging.getLogger(__name__)


def _scalar(v) -> float:
    return float(v.detach().float().mean()) if isinstance(v, torch.Tensor) else float(v)


def _lr_lambda(tc: TrainConfig) -> Callable[[int], float]:
    if tc.lr_decay == "linear":
        return lambda s: max(0.0, 1.0 - s / tc.steps)
    if tc.lr_decay == "cosine":
        return lambda s: 0.5 * (1.0 + math.cos(math.pi * min(s, tc.steps) / tc.steps))
    return lambda s: 1.0


class Trainer:
    """Runs ``model.train_step`` for ``tc.steps`` steps with checkpoint/resume and logging."""

    def __init__(self, model, tc: TrainConfig, state_dir: str | os.PathLike, device: torch.device,
                 run_config: dict | None = None, desc: str = "train"):
        self.model, self.tc, self.device, self.desc = model.to(device), tc, device, desc
        self.run_hash = config_hash({"train": asdict(tc), "run": run_config})
        self.state_path = Path(state_dir) / f"state-{self.run_hash}.pt"
        self.opts = model.configure_optimizers(tc)
        self.scheds = {k: torch.optim.lr_scheduler.LambdaLR(o, _lr_lambda(tc))
                       for k, o in self.opts.items()}
        self.ema = copy.deepcopy(model).eval().requires_grad_(False) if tc.ema else None
        self.step, self.history, self.best_val, self.best_state = 0, [], math.inf, None
        self.last_saved_step = 0
        self._maybe_resume()

    # ------------------------------------------------------------------ checkpointing
    def _state(self) -> dict:
        return {
            "step": self.step,
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict() if self.ema else None,
            "opts": {k: o.state_dict() for k, o in self.opts.items()},
            "scheds": {k: s.state_dict() for k, s in self.scheds.items()},
            "history": self.history,
            "best_val": self.best_val,
            "best_state": self.best_state,
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "run_hash": self.run_hash,
        }

    def save_state(self) -> None:
        save_torch(self._state(), self.state_path)
        self.last_saved_step = self.step

    def _maybe_resume(self) -> None:
        if not self.state_path.exists():
            return
        st = torch.load(self.state_path, map_location=self.device, weights_only=False)
        self.model.load_state_dict(st["model"])
        if self.ema is not None and st["ema"] is not None:
            self.ema.load_state_dict(st["ema"])
        for k, o in self.opts.items():
            o.load_state_dict(st["opts"][k])
        for k, s in self.scheds.items():
            s.load_state_dict(st["scheds"][k])
        self.step, self.history = st["step"], st["history"]
        self.best_val, self.best_state = st["best_val"], st["best_state"]
        torch.set_rng_state(st["rng"].cpu())
        if st.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in st["cuda_rng"]])
        self.last_saved_step = self.step
        log.info("resumed %s from %s at step %d", self.desc, self.state_path, self.step)

    # ------------------------------------------------------------------ the loop
    def _update_ema(self) -> None:
        with torch.no_grad():
            for pe, p in zip(self.ema.parameters(), self.model.parameters()):
                pe.lerp_(p, 1.0 - self.tc.ema)
            for be, b in zip(self.ema.buffers(), self.model.buffers()):
                be.copy_(b)

    def _check_finite(self, metrics: dict) -> None:
        bad = {k: v for k, v in metrics.items() if not math.isfinite(v)}
        if bad:
            raise TrainingDiverged(
                f"{self.desc}: non-finite {sorted(bad)} at step {self.step}; last good checkpoint "
                f"{self.state_path} (step {self.last_saved_step}) kept — lower the lr or add "
                "grad_clip, then rerun to resume from it"
            )

    def _validate(self, val_fn: Callable[[int], object]) -> float:
        self.model.eval()
        losses = []
        with autocast(self.device):
            for i in range(self.tc.val_batches):
                losses.append(_scalar(self.model.val_step(val_fn(i))["loss"]))
        self.model.train()
        return sum(losses) / len(losses)

    def fit(self, batch_fn: Callable[[int], object],
            val_fn: Callable[[int], object] | None = None) -> None:
        tc = self.tc
        self.model.train()
        interactive = sys.stderr.isatty()  # in log files, a line every 30 s, not every \r
        bar = tqdm(total=tc.steps, initial=self.step, desc=self.desc,
                   mininterval=2.0 if interactive else 30.0,
                   disable=os.environ.get("DIVREC_NO_PROGRESS") == "1")
        while self.step < tc.steps:
            batch = batch_fn(self.step)
            with autocast(self.device):
                out = self.model.train_step(batch, self.opts, self.step, tc)
            metrics = {k: _scalar(v) for k, v in out.items()}
            self._check_finite(metrics)
            with warnings.catch_warnings():  # GANs skip some optimizers on some steps by design
                warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step")
                for s in self.scheds.values():
                    s.step()
            if self.ema is not None:
                self._update_ema()
            self.step += 1
            bar.update(1)
            if self.step % tc.log_every == 0 or self.step == tc.steps:
                row = {"step": self.step, **metrics}
                if val_fn is not None and (self.step % tc.val_every == 0 or self.step == tc.steps):
                    row["val_loss"] = self._validate(val_fn)
                    if row["val_loss"] < self.best_val:
                        self.best_val = row["val_loss"]
                        self.best_state = {k: v.detach().clone()
                                           for k, v in self.model.state_dict().items()}
                self.history.append(row)
                bar.set_postfix(loss=f"{metrics.get('loss', float('nan')):.4g}")
            if self.step % tc.checkpoint_every == 0 and self.step < tc.steps:
                self.save_state()
        bar.close()
        self.save_state()

    # ------------------------------------------------------------------ outputs
    def sampling_model(self):
        """The weights used for sampling: EMA when enabled, else the final weights."""
        return self.ema if self.ema is not None else self.model

    def export(self, path: str | os.PathLike, meta: dict) -> None:
        save_torch({
            **meta,
            "step": self.step,
            "state_dict": self.sampling_model().state_dict(),
            "best_state_dict": self.best_state,
            "best_val": self.best_val,
        }, path)

    def write_history(self, path: str | os.PathLike, meta: dict) -> None:
        save_parquet(pd.DataFrame(self.history), path, metadata=meta)
