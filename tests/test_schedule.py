"""Learning-rate schedules: the lr every optimizer of every family and critic actually runs at
equals the declared schedule, also across a kill and resume (training/schedule.py)."""

from __future__ import annotations

import math

import pytest
import torch

from divrec.config import TrainConfig
from divrec.critics.protonet import ProtoNet, ProtoNetParams, episode
from divrec.critics.simclr import SimCLR, SimCLRParams
from divrec.data.batches import images, step_generator
from divrec.models.registry import build_model
from divrec.quality.registry import build as build_quality
from divrec.training.loop import Trainer
from divrec.training.run import batch_function
from divrec.training.schedule import LRSchedule
from tests.test_diffusion import FAMILIES as DIFFUSION
from tests.test_diffusion import TINY as DIFF_TINY
from tests.test_models_oneshot import TINY as ONESHOT
from tests.test_models_oneshot import _strokes
from tests.test_quality_models import TINY as QUALITY

pytestmark = pytest.mark.usefixtures("one_thread")
STEPS = 6


def _tc(**kw) -> TrainConfig:
    base = {"steps": STEPS, "batch_size": 4, "lr": 1e-3, "checkpoint_every": 2, "log_every": 1,
            "val_every": 2, "val_batches": 1, "precision": "fp32"}
    return TrainConfig(**{**base, **kw})


def test_factors_of_every_kind():
    f = {k: [LRSchedule(_tc(lr_decay=k, lr_step=2, lr_gamma=0.5)).factor(s) for s in range(6)]
         for k in ("none", "linear", "cosine", "step")}
    assert f["none"] == [1.0] * 6
    assert f["linear"] == pytest.approx([1 - s / 6 for s in range(6)])
    assert f["cosine"] == pytest.approx([0.5 * (1 + math.cos(math.pi * s / 6)) for s in range(6)])
    assert f["step"] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    warm = LRSchedule(_tc(lr_decay="step", lr_step=2, lr_warmup=4))
    assert [warm.factor(s) for s in range(4)] == [0.25, 0.5, 0.375, 0.5]


def test_plateau_decays_after_patience_and_resumes():
    sch = LRSchedule(_tc(lr_decay="plateau", lr_patience=1, lr_gamma=0.1))
    for loss in (1.0, 0.9, 0.95, 0.95):  # two validations without improvement > patience 1
        sch.observe(loss)
    assert sch.factor(10) == pytest.approx(0.1)
    again = LRSchedule(_tc(lr_decay="plateau", lr_patience=1, lr_gamma=0.1))
    again.load_state_dict(sch.state_dict())
    assert again.factor(11) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="lr_step"):
        LRSchedule(_tc(lr_decay="step"))


def _oneshot(name):
    family, params = ONESHOT[name]
    model = build_model(family, params)
    return model, batch_function(model, _strokes(), _tc())


def _diffusion(family):
    model = build_model(family, {**DIFF_TINY, **DIFFUSION[family]})
    part = _strokes()
    part.images = torch.nn.functional.interpolate(part.images.flatten(0, 1), size=16).view(
        *part.images.shape[:2], 1, 16, 16)
    return model, batch_function(model, part, _tc())


def _quality(family):
    model = build_quality(family, {**QUALITY[family], "image_size": 8, "channels": 1})
    x = torch.rand(8, 1, 8, 8) * 2 - 1
    return model, lambda step: x[torch.randperm(8, generator=step_generator(0, step))[:4]]


def _protonet(_):
    model = ProtoNet(ProtoNetParams(k_way=3, n_query=2))
    part = _strokes()
    return model, lambda step: episode(part, 3, 2, step_generator(0, step))


def _simclr(_):
    model = SimCLR(SimCLRParams())
    part = _strokes()
    return model, lambda step: (images(part, 4, step_generator(0, step)),
                                step_generator(1, step))


CASES = ([(_oneshot, n) for n in ("vae_stn", "vae_ns", "dagan_rn", "dagan_un")]
         + [(_diffusion, f) for f in DIFFUSION] + [(_quality, f) for f in QUALITY]
         + [(_protonet, "protonet"), (_simclr, "simclr")])


class _Killed(Exception):
    pass


def _run(make, name, state_dir, tc, kill_at=None) -> list[dict]:
    """lr of every optimizer at every step actually run, read inside ``train_step``."""
    torch.manual_seed(0)
    model, batches = make(name)
    seen: list[dict] = []
    step_fn = model.train_step

    def recording(batch, opts, step, tc_):
        seen.append({"step": step, **{k: o.param_groups[0]["lr"] for k, o in opts.items()}})
        return step_fn(batch, opts, step, tc_)

    model.train_step = recording

    def fn(step):
        if step == kill_at:
            raise _Killed
        return batches(step)

    tr = Trainer(model, tc, state_dir, torch.device("cpu"), run_config={"m": name})
    try:
        tr.fit(fn)
    except _Killed:
        pass
    return seen


@pytest.mark.parametrize(("make", "name"), CASES, ids=[n for _, n in CASES])
def test_every_family_runs_at_the_declared_lr_also_after_resume(make, name, tmp_path):
    tc = _tc(lr_decay="step", lr_step=2, lr_gamma=0.5, lr_warmup=2)
    want = [LRSchedule(tc).factor(s) for s in range(STEPS)]
    seen = _run(make, name, tmp_path / "full", tc)
    assert [r["step"] for r in seen] == list(range(STEPS))
    base = {k: v for k, v in seen[0].items() if k != "step"}
    base = {k: v / want[0] for k, v in base.items()}  # each optimizer's own initial lr
    for r, f in zip(seen, want):
        for k, lr0 in base.items():
            assert r[k] == pytest.approx(lr0 * f), (name, k, r["step"])
    first = _run(make, name, tmp_path / "killed", tc, kill_at=3)  # checkpoint at step 2
    resumed = _run(make, name, tmp_path / "killed", tc)
    assert [r["step"] for r in first] == [0, 1, 2]
    assert [r["step"] for r in resumed] == [2, 3, 4, 5]
    assert first == seen[:3] and resumed == seen[2:]
