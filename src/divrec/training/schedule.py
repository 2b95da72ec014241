"""Learning-rate schedules: declared in a model's ``train:`` section, applied by the loop only.

Why one place: a model or critic that changed ``lr`` in its own ``train_step`` was silently
overwritten by the loop's scheduler one step later (the ProtoNet's "halve every N episodes" never
happened). Here the loop sets every param group's lr to ``initial_lr * factor(step)`` before each
step: a pure function of the schedule, the step and, for ``plateau``, the validation losses seen
so far (kept in the checkpoint, so a resumed run continues the same schedule).

``lr_decay``: none; linear or cosine (DDGAN's CosineAnnealingLR) from 1 to ``lr_floor`` over
``steps``; step: times ``lr_gamma`` every ``lr_step`` steps (StepLR); plateau: times ``lr_gamma``
once the validation loss has not improved (relative 1e-4, as torch's ReduceLROnPlateau) for more
than ``lr_patience`` validations. ``lr_warmup`` > 0 ramps linearly from 1/lr_warmup to 1 over the
first ``lr_warmup`` steps, on top of any kind.
"""

from __future__ import annotations

import math

import torch

KINDS = ("none", "linear", "cosine", "step", "plateau")


class LRSchedule:
    """lr factor per step; ``observe`` feeds validation losses to the plateau rule."""

    def __init__(self, tc):
        if tc.lr_decay not in KINDS:
            raise ValueError(f"unknown lr_decay '{tc.lr_decay}' (one of {KINDS})")
        if tc.lr_decay == "step" and not tc.lr_step:
            raise ValueError("lr_decay 'step' needs lr_step (steps between decays)")
        self.tc = tc
        self.drops, self.best, self.bad = 0, math.inf, 0

    def factor(self, step: int) -> float:
        tc = self.tc
        warm = min(1.0, (step + 1) / tc.lr_warmup) if tc.lr_warmup else 1.0
        if tc.lr_decay == "linear":
            decay = tc.lr_floor + (1 - tc.lr_floor) * max(0.0, 1.0 - step / tc.steps)
        elif tc.lr_decay == "cosine":
            cos = 0.5 * (1.0 + math.cos(math.pi * min(step, tc.steps) / tc.steps))
            decay = tc.lr_floor + (1 - tc.lr_floor) * cos
        elif tc.lr_decay == "step":
            decay = tc.lr_gamma ** (step // tc.lr_step)
        elif tc.lr_decay == "plateau":
            decay = tc.lr_gamma ** self.drops
        else:
            decay = 1.0
        return warm * decay

    def observe(self, val_loss: float) -> None:
        """Plateau bookkeeping after each validation (a no-op for the other kinds)."""
        if self.tc.lr_decay != "plateau":
            return
        if math.isinf(self.best) or val_loss < self.best - abs(self.best) * 1e-4:
            self.best, self.bad = val_loss, 0
            return
        self.bad += 1
        if self.bad > self.tc.lr_patience:
            self.drops, self.bad = self.drops + 1, 0

    def apply(self, opts: dict[str, torch.optim.Optimizer], step: int) -> float:
        """Set every param group's lr for ``step``; returns the factor."""
        f = self.factor(step)
        for opt in opts.values():
            for group in opt.param_groups:
                group.setdefault("initial_lr", group["lr"])
                group["lr"] = group["initial_lr"] * f
        return f

    def state_dict(self) -> dict:
        return {"drops": self.drops, "best": self.best, "bad": self.bad}

    def load_state_dict(self, st: dict) -> None:
        self.drops, self.best, self.bad = st["drops"], st["best"], st["bad"]
