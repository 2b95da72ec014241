"""One-shot model families (VAE-STN, VAE-NS, DA-GAN RN/UN): train a few steps through the shared
Trainer on tiny synthetic strokes, resume bit-identically after a kill, sample the right shape;
plus sweep expansion and the shipped config entries."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from divrec.config import TrainConfig, expand_sweep, load_config
from divrec.data.splits import FewShotPart
from divrec.models.registry import build_model
from divrec.training.loop import Trainer
from divrec.training.run import batch_function

ROOT = Path(__file__).resolve().parents[1]
SIZE = 50

TINY = {
    "vae_stn": ("vae_stn", {"z_size": 4, "time_step": 3, "lstm_size": 104, "read_size": 5}),
    "vae_ns": ("vae_ns", {"sample_size": 3, "z_dim": 4, "c_dim": 8, "hidden_dim": 16, "width": 4,
                          "convs_per_level": 1, "res_layers": 1, "steps_per_epoch": 2}),
    "dagan_rn": ("dagan", {"generator": "resnet", "z_size": 4, "width": 4, "critic_width": 4,
                           "gen_layers": 1, "critic_layers": 1, "c_iter": 2, "gen_levels": 2}),
    "dagan_un": ("dagan", {"generator": "uresnet", "z_size": 4, "width": 4, "critic_width": 4,
                           "gen_layers": 1, "critic_layers": 1, "c_iter": 2}),
    "dagan_un_same_class": ("dagan", {"generator": "uresnet", "z_size": 4, "width": 4,
                                      "critic_width": 4, "gen_layers": 1, "critic_layers": 1,
                                      "c_iter": 2, "pairing": "same_class"}),
    "dagan_un_exemplar": ("dagan", {"generator": "uresnet", "z_size": 4, "width": 4,
                                    "critic_width": 4, "gen_layers": 1, "critic_layers": 1,
                                    "c_iter": 2, "pairing": "exemplar"}),
}


def _strokes(n_classes: int = 6, n_draw: int = 5, seed: int = 0) -> FewShotPart:
    """Per class a random 3-point polyline; each drawing jitters it; blurred to grey levels."""
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(0, 1, 60)[:, None]
    imgs = torch.zeros(n_classes, n_draw, 1, SIZE, SIZE)
    for c in range(n_classes):
        pts = torch.rand(3, 2, generator=g) * 36 + 7
        for d in range(n_draw):
            p = pts + torch.randn(3, 2, generator=g) * 1.5
            line = torch.cat([p[0] + t * (p[1] - p[0]), p[1] + t * (p[2] - p[1])]).round().long()
            imgs[c, d, 0, line[:, 0], line[:, 1]] = 1.0
    imgs = F.avg_pool2d(imgs.flatten(0, 1), 3, 1, 1).clamp(0, 1) * 2
    imgs = imgs.clamp(0, 1).view(n_classes, n_draw, 1, SIZE, SIZE)
    return FewShotPart(imgs, torch.zeros(n_classes, dtype=torch.long),
                       [f"c{i}" for i in range(n_classes)])


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.one_thread


class _Killed(Exception):
    pass


def _trainer(name: str, state_dir: Path, steps: int = 6, seed: int = 0) -> Trainer:
    torch.manual_seed(seed)
    family, params = TINY[name]
    model = build_model(family, params)
    tc = TrainConfig(steps=steps, batch_size=4, lr=1e-3, checkpoint_every=3, log_every=1,
                     val_every=3, val_batches=1)
    return Trainer(model, tc, state_dir, torch.device("cpu"), run_config={"m": name})


def _fit(tr: Trainer, part: FewShotPart, kill_at: int | None = None) -> Trainer:
    fn = batch_function(tr.model, part, tr.tc)
    val = batch_function(tr.model, part, tr.tc, 10_000)

    def batches(step: int):
        if step == kill_at:
            raise _Killed
        return fn(step)

    tr.fit(batches, val)
    return tr


@pytest.mark.parametrize("name", list(TINY))
def test_train_resume_and_sample(name, tmp_path):
    part = _strokes()
    part = part if TINY[name][0] != "vae_stn" else FewShotPart(
        (part.images > 0.5).float(), part.exemplar, part.names)
    full = _fit(_trainer(name, tmp_path / "full"), part)

    with pytest.raises(_Killed):
        _fit(_trainer(name, tmp_path / "killed"), part, kill_at=4)  # state saved at step 3
    resumed = _trainer(name, tmp_path / "killed", seed=123)  # a different init is overwritten
    assert resumed.step == 3
    _fit(resumed, part)

    assert resumed.step == full.step == 6
    for (k, v), w in zip(full.model.state_dict().items(), resumed.model.state_dict().values(),
                         strict=True):
        assert torch.equal(v, w), f"{name}: {k} differs after resume"
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in full.history]

    model = full.model.eval()
    ex = part.exemplars()[:4]
    a = model.sample(ex, generator=torch.Generator().manual_seed(1))
    b = model.sample(ex, generator=torch.Generator().manual_seed(1))
    assert a.shape == (4, 1, SIZE, SIZE)
    assert torch.isfinite(a).all() and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, b), "sampling is not a function of the generator"


def test_vae_ns_alpha_schedule_and_batch_shape():
    model = build_model(*TINY["vae_ns"])
    assert [model.weight(s) for s in (0, 1, 2, 4, 6)] == [2.0, 2.0, 1.5, 1.25, 1.125]
    batch = batch_function(model, _strokes(), TrainConfig(batch_size=5))(0)
    assert batch.shape == (5, 3, 1, SIZE, SIZE)
    assert model.augment_sets == pytest.approx(2 / 3)


def test_vae_ns_binarises_dynamically(monkeypatch):
    """Every loss call draws fresh Bernoulli pixels from the grey levels (the published code drew
    one fixed sample at construction)."""
    model = build_model(*TINY["vae_ns"])
    seen = []
    real_terms = model.terms
    monkeypatch.setattr(model, "terms", lambda x: seen.append(x) or real_terms(x))
    x = torch.full((2, 3, 1, SIZE, SIZE), 0.5)
    model.loss(x)
    model.loss(x)
    assert all(set(v.unique().tolist()) == {0.0, 1.0} for v in seen)
    assert not torch.equal(seen[0], seen[1])
    assert abs(seen[0].mean().item() - 0.5) < 0.02


def test_dagan_critic_step_leaves_generator_untouched():
    """Bug 9: the critic step must not backpropagate into G (its params get no gradient)."""
    torch.manual_seed(0)
    model = build_model(*TINY["dagan_un"]).train()
    tc = TrainConfig(batch_size=4, lr=1e-3)
    opts = model.configure_optimizers(tc)
    before = [p.detach().clone() for p in model.g.parameters()]
    batch = batch_function(model, _strokes(), tc)(0)
    out = model.train_step(batch, opts, 0, tc)  # step 0 with c_iter 2: critic only
    assert "g_loss" not in out and {"loss", "d_loss", "gp"} <= set(out)
    assert all(p.grad is None for p in model.g.parameters())
    assert all(torch.equal(a, p) for a, p in zip(before, model.g.parameters(), strict=True))
    out = model.train_step(batch, opts, 1, tc)  # generator step
    assert "g_loss" in out
    assert any(not torch.equal(a, p) for a, p in zip(before, model.g.parameters(), strict=True))


def test_dagan_pairings_feed_the_generator_what_they_name():
    """prototype: G(drawing) against the exemplar (published); exemplar: G(exemplar) against a
    drawing of its class, the input it receives at test time (REFERENCE.md §8, 9b)."""
    part = _strokes()
    tc = TrainConfig(batch_size=16)
    for name, want_input in (("dagan_un", "target"), ("dagan_un_exemplar", "exemplar")):
        model = build_model(*TINY[name])
        target, exemplar, cls = batch = batch_function(model, part, tc)(0)
        x1, x2 = model._pair(batch)
        assert torch.equal(x1, part.images[cls, part.exemplar[cls]]) == (want_input == "exemplar")
        assert torch.equal(x1, exemplar if want_input == "exemplar" else target)
        assert torch.equal(x2, target if want_input == "exemplar" else exemplar)


def test_dagan_rejects_unknown_generator():
    from divrec.errors import ConfigError

    with pytest.raises(ConfigError, match="generator"):
        build_model("dagan", {"generator": "vgg"})


@pytest.mark.parametrize("generator", ["resnet", "uresnet"])
@pytest.mark.parametrize("levels,bottleneck", [(2, 13), (3, 7), (4, 4)])
def test_dagan_gen_levels_set_the_generator_bottleneck(generator, levels, bottleneck):
    """The deepest encoder map is the ResNet generator's only path from input to output."""
    params = {**TINY["dagan_rn"][1], "generator": generator, "gen_levels": levels}
    model = build_model("dagan", params).eval()
    x, z = torch.rand(2, 1, SIZE, SIZE), torch.randn(2, 4)
    assert model.g.encoder(x)[-1].shape[-1] == bottleneck
    assert model.g(x, z).shape == (2, 1, SIZE, SIZE)


def test_dagan_rejects_gen_levels_out_of_range():
    from divrec.errors import ConfigError

    for levels in (1, 5):
        with pytest.raises(ConfigError, match="gen_levels"):
            build_model("dagan", {"generator": "resnet", "gen_levels": levels})


# ----------------------------------------------------------------------------- sweeps


def test_expand_sweep_one_factor_grid_and_range():
    entry = {"params": {"beta": 1.0, "z_dim": 16},
             "sweep": {"values": {"beta": [0.5, 1.0, 2.0], "z_dim": {"start": 10, "stop": 30,
                                                                    "step": 10}}}}
    names = [p.name for p in expand_sweep(entry)]
    assert names == ["beta=1_z_dim=16", "beta=0.5_z_dim=16", "beta=2_z_dim=16",
                     "beta=1_z_dim=10", "beta=1_z_dim=20", "beta=1_z_dim=30"]
    entry["sweep"]["mode"] = "grid"
    grid = expand_sweep(entry)
    assert len(grid) == 9 and grid[0].params == {"beta": 0.5, "z_dim": 10}
    frange = expand_sweep({"params": {"beta": 0.0},
                           "sweep": {"values": {"beta": {"start": 0, "stop": 1, "step": 0.25}}}})
    assert [p.params["beta"] for p in frange] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert expand_sweep({"params": {"a": 1}})[0].name == "base"


MY_ENTRIES = ("vae_ns", "dagan_rn", "dagan_un")


def test_default_entries_build_and_sweep():
    cfg = load_config(ROOT / "config" / "config.yaml")
    for name in MY_ENTRIES:
        entry = cfg["models"][name]
        points = expand_sweep(entry)
        assert 1 <= len(points) <= 3, name  # a small real sweep (or one point) per entry
        for p in points:
            build_model(entry["family"], p.params, f"models.{name}")
    test_cfg = load_config(ROOT / "config" / "config.yaml", ROOT / "config" / "test.yaml")
    assert all(test_cfg["models"][n]["train"]["steps"] <= 20 for n in MY_ENTRIES)


def test_paper_entries_have_the_published_grids():
    cfg = load_config(ROOT / "config" / "config.yaml", ROOT / "config" / "paper.yaml")
    ns = expand_sweep(cfg["models"]["vae_ns"])
    # one factor at a time around (sample_size 5, beta 1, z_dim 16): 19 + 21 + 10 values, of which
    # sample_size=5 and beta=1 coincide with the base point
    assert len(ns) == 1 + 19 + 21 + 10 - 2
    assert {p.params["beta"] for p in ns} >= {0.0, 2.5, 5.0}
    for name in ("dagan_rn", "dagan_un"):
        z = sorted({p.params["z_size"] for p in expand_sweep(cfg["models"][name])})
        assert z[0] == 10 and z[-1] == 1000 and len(z) == 101  # 10..1000 step 10, plus 128
        assert cfg["models"][name]["params"]["c_iter"] == 5
