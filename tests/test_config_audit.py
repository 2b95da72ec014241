"""Audit of every training entry of every shipped config: the EMA, warm-up, lr schedule,
validation and export settings fit the entry's step count, so a config trains what it claims
(a 0.9999 EMA without warm-up over 5000 steps samples weights that are 61 % initialisation; an
lr step every 2000 episodes in a 400-episode run never decays)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from divrec.config import TrainConfig, load_config, train_config
from divrec.training.loop import Trainer

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {
    "default": ["config/config.yaml"],
    "paper": ["config/config.yaml", "config/paper.yaml"],
    "cifar": ["config/config.yaml", "config/cifar.yaml"],
    "test": ["config/config.yaml", "config/test.yaml"],
}


def _entries(cfg: dict):
    for kind, section in cfg["critics"].items():
        if isinstance(section, dict):
            yield f"critics.{kind}", train_config(cfg, section.get("train")), {}
    for name, entry in cfg["models"].items():
        yield f"models.{name}", train_config(cfg, entry.get("train")), entry.get("params") or {}
    for name, entry in cfg["quality"]["models"].items():
        yield f"quality.{name}", train_config(cfg, entry.get("train")), entry.get("params") or {}


def _problems(tc: TrainConfig, params: dict) -> list[str]:
    out = []
    if tc.ema:
        tr = Trainer.__new__(Trainer)
        tr.tc = tc
        init = math.exp(sum(math.log(tr.ema_decay(s)) for s in range(min(tc.steps, 100_000))))
        horizon = 1 / (1 - tr.ema_decay(tc.steps - 1))
        if init > 1e-3:
            out.append(f"EMA keeps {init:.0%} of the initialisation after {tc.steps} steps")
        if horizon > tc.steps / 2:
            out.append(f"EMA averages over {horizon:.0f} steps of a {tc.steps}-step run")
    if tc.lr_warmup > tc.steps / 2:
        out.append(f"lr warm-up {tc.lr_warmup} is over half of {tc.steps} steps")
    if tc.lr_decay == "step" and tc.lr_step >= tc.steps:
        out.append(f"lr_step {tc.lr_step} >= steps {tc.steps}: the lr never decays")
    if tc.lr_decay == "plateau" and tc.val_every * (tc.lr_patience + 2) > tc.steps:
        out.append(f"plateau: {tc.lr_patience} patience x val_every {tc.val_every} never fits")
    if (tc.lr_decay == "plateau" or tc.export == "best") and tc.val_every > tc.steps:
        out.append(f"validation every {tc.val_every} > steps {tc.steps}: nothing to select on")
    if params.get("steps_per_epoch", 0) * 2 > tc.steps:
        out.append(f"steps_per_epoch {params['steps_per_epoch']} leaves < 2 epochs of warm-up")
    return out


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_entry_fits_its_step_count(name):
    cfg = load_config(*(ROOT / c for c in CONFIGS[name]))
    bad = {where: p for where, tc, params in _entries(cfg) if (p := _problems(tc, params))}
    assert not bad, f"{name}: {bad}"


def test_the_audit_catches_what_it_should():
    assert _problems(TrainConfig(steps=5000, ema=0.9999, ema_warmup=False), {})
    assert not _problems(TrainConfig(steps=5000, ema=0.9999), {})
    assert _problems(TrainConfig(steps=400, lr_decay="step", lr_step=2000), {})
    assert _problems(TrainConfig(steps=100, lr_decay="plateau", val_every=50), {})
    assert _problems(TrainConfig(steps=100, export="best", val_every=200), {})
    assert _problems(TrainConfig(steps=50), {"steps_per_epoch": 40})


PAPER_STEPS = {  # epochs x steps per epoch over the 26520 drawings of the 1326 train classes
    "vae_stn": math.ceil(500 * 26520 / 128),
    "vae_ns": 300 * math.ceil(1326 * 4 * 5 / 100),
    "dagan_rn": math.ceil(30 * 26520 / 32),
    "ddpm": 300 * (26520 // 128),
    "fsdm": 300 * (26520 // 128),
    "ddpm_qd": 300 * (42 * 100 // 128),  # the QuickDraw-FS the offline mirror builds
}


def test_paper_step_counts_follow_the_train_part():
    cfg = load_config(ROOT / "config/config.yaml", ROOT / "config/paper.yaml")
    for name, steps in PAPER_STEPS.items():
        assert cfg["models"][name]["train"]["steps"] == steps, name
    assert cfg["models"]["vae_ns"]["params"]["steps_per_epoch"] == 266
    assert cfg["critics"]["simclr"]["train"]["steps"] == math.ceil(100 * 26520 / 448)


def test_paper_diffusion_entries_keep_the_published_parameterisation():
    """config/paper.yaml merges over config/config.yaml, whose CPU entries predict x0 and give
    FSDM a map context: the merged published entries must not inherit either."""
    cfg = load_config(ROOT / "config/config.yaml", ROOT / "config/paper.yaml")
    for name, entry in cfg["models"].items():
        if entry["family"] in ("ddpm", "cfgdm", "fsdm"):
            assert entry["params"].get("prediction", "eps") == "eps", name
            assert entry["params"].get("context_kind", "vector") == "vector", name


def test_a_shortened_run_keeps_its_schedule_shape():
    """The same entry at 1/10 of its steps: linear/cosine factors at the same fraction of the
    run are equal, so a short run is a scaled copy of the full one."""
    from divrec.training.schedule import LRSchedule

    for decay in ("linear", "cosine"):
        full = LRSchedule(TrainConfig(steps=1000, lr_decay=decay, lr_floor=0.1))
        short = LRSchedule(TrainConfig(steps=100, lr_decay=decay, lr_floor=0.1))
        for frac in (0.0, 0.25, 0.5, 0.99):
            assert short.factor(int(frac * 100)) == pytest.approx(full.factor(int(frac * 1000)))
