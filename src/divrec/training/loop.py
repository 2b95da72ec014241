"""The shared training loop: seeded, device-agnostic, checkpointed, resumable, NaN-safe.

Resume state lives in ``state_dir`` (``results/.resume/...``), *not* in the rule's declared output:
Snakemake deletes a job's outputs before rerunning it, so a killed job's progress must sit where
that does not destroy it. The state is keyed by a hash of the run's config, so a changed config
starts fresh instead of resuming a different run. Batches are a pure function of (seed, step),
so a resumed run sees exactly the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import sys
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from divrec.config import TrainConfig
from divrec.device import autocast, resolve_precision
from divrec.errors import ConfigError, TrainingDiverged
from divrec.io import save_parquet, save_torch
from divrec.provenance import config_hash, provenance
from divrec.training.optim import ema_update
from divrec.training.schedule import LRSchedule

log = logging.getLogger(__name__)


def _scalar(v) -> float:
    return float(v.detach().float().mean()) if isinstance(v, torch.Tensor) else float(v)


#: settings that never change what a run computes: a resumed run may differ in them
_BOOKKEEPING = ("checkpoint_every", "log_every", "keep_resume")


def _changed(tc: TrainConfig) -> dict:
    """The settings that differ from the defaults: a new setting added to ``TrainConfig`` with a
    neutral default leaves the hash of every existing run, so its resume state stays valid."""
    return {f.name: getattr(tc, f.name) for f in fields(tc)
            if f.name not in _BOOKKEEPING and getattr(tc, f.name) != f.default}


class Trainer:
    """Runs ``model.train_step`` for ``tc.steps`` steps with checkpoint/resume and logging."""

    def __init__(self, model, tc: TrainConfig, state_dir: str | os.PathLike, device: torch.device,
                 run_config: dict | None = None, desc: str = "train"):
        self.model, self.tc, self.device, self.desc = model.to(device), tc, device, desc
        self.run_hash = config_hash({"train": _changed(tc), "run": run_config})
        self.state_path = Path(state_dir) / f"state-{self.run_hash}.pt"
        self.precision = resolve_precision(tc.precision, device)
        self.opts = model.configure_optimizers(tc)
        self.schedule = LRSchedule(tc)
        self.schedule.apply(self.opts, 0)  # records each group's initial_lr
        self.ema = copy.deepcopy(model).eval().requires_grad_(False) if tc.ema else None
        self.step, self.history, self.best_val, self.best_state = 0, [], math.inf, None
        self.last_saved_step = 0
        self._calibration_batches = None  # set by fit: training batches after the last step
        self._maybe_resume()
        self.resumed_from = self.step  # > 0: this process continued a killed run

    # ------------------------------------------------------------------ checkpointing
    def save_state(self) -> None:
        save_torch({
            "step": self.step,
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict() if self.ema else None,
            "opts": {k: o.state_dict() for k, o in self.opts.items()},
            "schedule": self.schedule.state_dict(),
            "history": self.history,
            "best_val": self.best_val,
            "best_state": self.best_state,
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "run_hash": self.run_hash,
        }, self.state_path)
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
        self.schedule.load_state_dict(st["schedule"])
        self.step, self.history = st["step"], st["history"]
        self.best_val, self.best_state = st["best_val"], st["best_state"]
        torch.set_rng_state(st["rng"].cpu())
        if st.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in st["cuda_rng"]])
        self.last_saved_step = self.step
        log.info("resumed %s from %s at step %d", self.desc, self.state_path, self.step)

    # ------------------------------------------------------------------ the loop
    def ema_decay(self, updates: int) -> float:
        """The EMA decay at update ``updates`` (0-based). With the warm-up the initialisation's
        weight in the average after S updates is prod_s (1+s)/(10+s) = 9! S! / (S+9)! (below
        1e-10 after 50 updates) instead of ema**S (0.9999**5000 = 61 % for a 5000-step run), and
        the average spans ~ (10+s)/9 recent steps until that reaches 1 / (1 - ema)."""
        if not self.tc.ema_warmup:
            return self.tc.ema
        return min(self.tc.ema, (1 + updates) / (10 + updates))

    def _update_ema(self) -> None:
        ema_update(self.ema, self.model, self.ema_decay(self.step))

    def _check_finite(self, metrics: dict) -> None:
        bad = sorted(k for k, v in metrics.items() if not math.isfinite(v))
        if not bad:
            return
        if self.state_path.exists():
            where = (f"last good checkpoint {self.state_path} (step {self.last_saved_step}) "
                     "kept — lower the lr or add grad_clip, then rerun to resume from it")
        else:
            where = (f"no checkpoint was saved yet (the first is due at step "
                     f"{self.tc.checkpoint_every}) — lower the lr or add grad_clip, then "
                     "rerun from step 0")
        raise TrainingDiverged(f"{self.desc}: non-finite {bad} at step {self.step}; {where}")

    def _validate(self, val_fn: Callable[[int], object]) -> float:
        self.model.eval()
        with autocast(self.device, self.precision):
            losses = [_scalar(self.model.val_step(val_fn(i))["loss"])
                      for i in range(self.tc.val_batches)]
        self.model.train()
        return sum(losses) / len(losses)

    def fit(self, batch_fn: Callable[[int], object],
            val_fn: Callable[[int], object] | None = None) -> None:
        tc = self.tc
        self._calibration_batches = lambda i: batch_fn(tc.steps + i)  # unseen, deterministic
        self.model.train()
        bar = tqdm(total=tc.steps, initial=self.step, desc=self.desc,  # in log files: every 30 s
                   mininterval=2.0 if sys.stderr.isatty() else 30.0,
                   disable=os.environ.get("DIVREC_NO_PROGRESS") == "1")
        while self.step < tc.steps:
            batch = batch_fn(self.step)
            lr_factor = self.schedule.apply(self.opts, self.step)
            with autocast(self.device, self.precision):
                out = self.model.train_step(batch, self.opts, self.step, tc)
            metrics = {k: _scalar(v) for k, v in out.items()}
            self._check_finite(metrics)
            if self.ema is not None:
                self._update_ema()
            self.step += 1
            bar.update(1)
            if self.step % tc.log_every == 0 or self.step == tc.steps:
                row = {"step": self.step, "lr_factor": lr_factor, **metrics}
                if val_fn is not None and (self.step % tc.val_every == 0 or self.step == tc.steps):
                    row["val_loss"] = self._validate(val_fn)
                    self.schedule.observe(row["val_loss"])
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

    def recalibrated(self, state: dict) -> dict:
        """``state`` with every BatchNorm's running statistics re-estimated (a cumulative
        average over ``recalibrate_bn`` training batches, dropout off) for exactly these weights.

        Why: running statistics are an EMA over training steps (DA-GAN: momentum 0.01), so after
        a short run at a high lr they describe weights hundreds of steps old, and sampling in
        eval mode feeds every layer wrongly normalised activations (validation recognizability of
        the default DA-GAN-UN: 0.34 as trained, 0.47 recalibrated, same weights)."""
        if self._calibration_batches is None:
            raise ConfigError("recalibrate_bn needs the training batches: call fit() first")
        model = copy.deepcopy(self.model)
        model.load_state_dict(state)
        norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if not norms:
            return state
        model.eval()
        for m in norms:
            m.reset_running_stats()
            m.momentum = None
            m.train()
        # fp32, as sampling runs; a fixed seed for the noise a model draws (DA-GAN's z), so a
        # resumed run exports the same statistics as an uninterrupted one
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.tc.seed)
            for i in range(self.tc.recalibrate_bn):
                model.calibration_forward(self._calibration_batches(i))
        return model.state_dict()

    def annotate(self, meta: dict) -> dict:
        """``meta`` with the precision the run used, also inside its provenance record."""
        out = {**meta, "precision": self.precision}
        if isinstance(meta.get("provenance"), dict):
            out["provenance"] = {**meta["provenance"], "precision": self.precision}
        return out

    def export(self, path: str | os.PathLike, meta: dict) -> None:
        """``export: best``: the weights of the lowest validation loss (the published VAEs sample
        from them), else the sampling model's."""
        if self.tc.export == "best" and self.best_state is None:
            raise ConfigError("export 'best' needs validation: no validation loss was logged "
                              "(no validation classes, or val_every > steps)")
        state = self.best_state if self.tc.export == "best" else self.sampling_model().state_dict()
        if self.tc.recalibrate_bn:
            state = self.recalibrated(state)
        save_torch({
            **self.annotate(meta),
            "step": self.step,
            "state_dict": state,
            "exported": self.tc.export,
            "best_state_dict": self.best_state,
            "best_val": self.best_val,
        }, path)

    def finish(self) -> None:
        """The job's outputs are written: drop the resume state unless ``keep_resume`` (it was
        112 MB for a tiny run's 30 trainings)."""
        if not self.tc.keep_resume and self.state_path.exists():
            self.state_path.unlink()
            log.info("removed resume state %s (outputs written)", self.state_path)


def fit_and_export(model: nn.Module, tc: TrainConfig, state_dir: str | os.PathLike, device,
                   run_config: dict, meta: dict, out: str, history_out: str,
                   batch_fn: Callable[[int], object],
                   val_fn: Callable[[int], object] | None = None,
                   desc: str = "") -> tuple[Trainer, dict]:
    """What every training entry point does (one-shot models, critics, quality models): a
    resumable fit, then the history and the exported checkpoint, both carrying ``meta`` plus
    the run's provenance. Returns the trainer, whose model is the trained one (call
    ``finish()`` once done with it), and the full meta."""
    trainer = Trainer(model, tc, state_dir, device, run_config=run_config, desc=desc)
    trainer.fit(batch_fn, val_fn)
    meta = {**meta, "provenance": provenance(run_config, tc.seed, str(device))}
    save_parquet(pd.DataFrame(trainer.history), history_out, metadata=trainer.annotate(meta))
    trainer.export(out, meta)
    return trainer, meta
