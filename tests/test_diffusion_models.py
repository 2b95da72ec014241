"""The ddpm / cfgdm / fsdm families on the shared diffusion core (tests/test_diffusion.py):
condition dropout, guidance, x0 prediction, FSDM's set contexts, and each family trained,
killed, resumed and sampled through the shared Trainer."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from divrec.config import TrainConfig
from divrec.data.splits import FewShotPart
from divrec.diffusion.samplers import DDIMSampler, guided, sample_loop
from divrec.errors import ConfigError
from divrec.models.registry import build_model
from divrec.training.loop import Trainer
from divrec.training.run import batch_function
from tests.test_diffusion import FAMILIES, SIZE, TINY

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.one_thread


def test_dropped_condition_is_the_null_one_at_the_set_rate():
    model = build_model("cfgdm", {**TINY, "drop_prob": 0.5})
    ex = torch.rand(4000, 1, 2, 2) + 1.0  # never zero
    torch.manual_seed(0)
    got = model.drop_condition(model.condition(ex), ex)["exemplar"]
    dropped = (got == 0).flatten(1).all(1)
    kept = (got == ex).flatten(1).all(1)
    assert (dropped ^ kept).all()
    assert abs(dropped.float().mean().item() - 0.5) < 0.03
    assert torch.equal(model.null_condition(ex)["exemplar"], torch.zeros_like(ex))


def test_model_guidance_zero_equals_plain_conditional_sampling():
    model = build_model("cfgdm", TINY).eval()
    ex = (torch.rand(3, 1, SIZE, SIZE, generator=torch.Generator().manual_seed(0)) > 0.7).float()
    a = model.sample(ex, torch.Generator().manual_seed(5), guidance=0.0)
    ref_eps = guided(model.denoise, model.condition(ex * 2 - 1), None, 0.0)
    sampler = DDIMSampler(model.schedule, steps=TINY["sample_steps"], clip_x0=True)
    b = sample_loop(sampler, ref_eps, ex.shape, "cpu", torch.Generator().manual_seed(5))
    assert torch.allclose(a, (b.clamp(-1, 1) + 1) / 2, atol=1e-6)


def test_x0_prediction_gives_samplers_the_consistent_eps_and_trains_on_x0():
    """``prediction: x0``: the sampler's x0 estimate from ``denoise`` is exactly the network's
    output, and the loss is the MSE to the clean image (not to the noise)."""
    model = build_model("ddpm", {**TINY, "prediction": "x0"})
    g = torch.Generator().manual_seed(0)
    x_t, ex = torch.randn(4, 1, SIZE, SIZE, generator=g), torch.rand(4, 1, SIZE, SIZE, generator=g)
    t = torch.tensor([0, 5, 12, 19])
    cond = model.condition(ex * 2 - 1)
    out = model.unet(x_t, t, **cond)
    x0 = model.schedule.predict_x0(x_t, t, model.denoise(x_t, t, cond))
    assert torch.allclose(x0, out, atol=1e-4)
    x0_data = torch.full((4, 1, SIZE, SIZE), 0.3)
    torch.manual_seed(1)
    loss = model.diffusion_loss(x0_data, cond)
    torch.manual_seed(1)
    tt = model.schedule.sample_t(4, "cpu")
    xt = model.schedule.q_sample(x0_data, tt, torch.randn_like(x0_data))
    assert torch.allclose(loss, ((model.unet(xt, tt, **cond) - x0_data) ** 2).mean())
    with pytest.raises(ConfigError, match="prediction must be one of"):
        build_model("ddpm", {**TINY, "prediction": "v"})


def test_sampling_options_are_checked():
    ddpm, cfgdm = build_model("ddpm", TINY), build_model("cfgdm", TINY)
    ex = torch.zeros(1, 1, SIZE, SIZE)
    with pytest.raises(ConfigError, match="guidance must be 0"):
        ddpm.sample(ex, guidance=1.0)
    with pytest.raises(ConfigError, match="unknown sample option"):
        cfgdm.sample(ex, guidence=1.0)
    with pytest.raises(ConfigError, match="drop_prob > 0"):
        build_model("cfgdm", {**TINY, "drop_prob": 0.0})
    with pytest.raises(ConfigError, match="never drops"):
        build_model("ddpm", {**TINY, "drop_prob": 0.1})


def _part(n_classes: int = 5, n_draw: int = 4) -> FewShotPart:
    g = torch.Generator().manual_seed(0)
    imgs = (torch.rand(n_classes, n_draw, 1, SIZE, SIZE, generator=g) > 0.8).float()
    return FewShotPart(imgs, torch.zeros(n_classes, dtype=torch.long),
                       [f"c{i}" for i in range(n_classes)])


class _Killed(Exception):
    pass


def _train(family: str, state_dir: Path, kill_at: int | None = None) -> Trainer:
    torch.manual_seed(0)
    model = build_model(family, {**TINY, **FAMILIES[family]})
    tc = TrainConfig(steps=3, batch_size=4, lr=1e-3, checkpoint_every=1, log_every=1,
                     val_every=3, val_batches=1, ema=0.9)
    tr = Trainer(model, tc, state_dir, torch.device("cpu"), run_config={"family": family})
    part = _part()
    fn = batch_function(tr.model, part, tc)

    def batches(step: int):
        if step == kill_at:
            raise _Killed
        return fn(step)

    tr.fit(batches, batch_function(tr.model, part, tc, 10_000))
    return tr


@pytest.mark.parametrize("family", list(FAMILIES))
def test_family_trains_resumes_and_samples(family, tmp_path):
    ref = _train(family, tmp_path / "ref")
    with pytest.raises(_Killed):
        _train(family, tmp_path / "killed", kill_at=2)
    resumed = _train(family, tmp_path / "killed")
    assert resumed.step == 3 and len(resumed.history) == len(ref.history)
    for a, b in zip(ref.model.state_dict().values(), resumed.model.state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)
    model = resumed.sampling_model()  # the EMA weights
    ex = _part().exemplars()
    for opts in ({}, {"sampler": "ancestral"}):
        x = model.sample(ex, torch.Generator().manual_seed(0), **opts)
        assert x.shape == ex.shape and torch.isfinite(x).all()
        assert x.min() >= 0 and x.max() <= 1
    if family == "cfgdm":
        x = model.sample(ex, torch.Generator().manual_seed(0), guidance=2.0, steps=2)
        assert x.shape == ex.shape and torch.isfinite(x).all()


def test_fsdm_context_comes_from_the_other_set_members():
    model = build_model("fsdm", {**TINY, **FAMILIES["fsdm"]})
    assert model.batch_kind == "sets" and model.set_size == 3 and model.augment_sets is False
    ex = _part().exemplars()
    c = model.condition(ex)["context"]
    assert c.shape == (len(ex), 8)
    with pytest.raises(ConfigError, match="set_size >= 2"):
        build_model("fsdm", {**TINY, "set_size": 1})


def test_fsdm_map_context_is_a_per_pixel_mean_of_the_other_members():
    model = build_model("fsdm", {**TINY, **FAMILIES["fsdm"], "context_kind": "map",
                                 "map_channels": 2})
    sets = (torch.rand(2, 3, 1, SIZE, SIZE, generator=torch.Generator().manual_seed(0)) > 0.7)
    f = model.encoder.features(sets.float().flatten(0, 1) * 2 - 1).view(2, 3, 2, SIZE, SIZE)
    pooled = model._pool(f)
    assert torch.allclose(pooled[:, 0], (f[:, 1] + f[:, 2]) / 2, atol=1e-6)
    assert torch.isfinite(model.loss(sets.float())["loss"])
    ex = _part().exemplars()
    assert model.condition(ex)["exemplar"].shape == (len(ex), 2, SIZE, SIZE)
    x = model.sample(ex, torch.Generator().manual_seed(0))
    assert x.shape == ex.shape and torch.isfinite(x).all()
    with pytest.raises(ConfigError, match="context_kind"):
        build_model("fsdm", {**TINY, "context_kind": "grid"})
