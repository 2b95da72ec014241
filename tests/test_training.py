"""The shared training loop: resume equals an uninterrupted run; NaN stops cleanly."""

from __future__ import annotations

import copy

import pytest
import torch

from divrec.config import TrainConfig
from divrec.data.batches import pairs, step_generator
from divrec.data.splits import FewShotPart
from divrec.errors import TrainingDiverged
from divrec.models.registry import build_model
from divrec.training.loop import Trainer


def _part(c=5, m=4, s=50):
    g = torch.Generator().manual_seed(0)
    return FewShotPart((torch.rand(c, m, 1, s, s, generator=g) > 0.8).float(),
                       torch.zeros(c, dtype=torch.long), [str(i) for i in range(c)])


def _model():
    torch.manual_seed(0)
    return build_model("vae_stn", {"z_size": 4, "time_step": 3, "lstm_size": 110})


def _fit(tmp, steps, tc_kw=None):
    part = _part()
    tc = TrainConfig(steps=steps, batch_size=4, lr=1e-3, checkpoint_every=2, log_every=1,
                     **(tc_kw or {}))
    tr = Trainer(_model(), tc, tmp, torch.device("cpu"), run_config={"x": 1})
    tr.fit(lambda s: pairs(part, tc.batch_size, step_generator(0, s)))
    return tr


def test_resume_matches_uninterrupted(tmp_path):
    full = _fit(tmp_path / "a", 6)
    _fit(tmp_path / "b", 3)  # "killed" after step 3 (state saved at the end)
    resumed = _fit(tmp_path / "b", 6)
    assert resumed.history[0]["step"] == 1 and resumed.step == 6
    for (k, v), (_, w) in zip(full.model.state_dict().items(), resumed.model.state_dict().items()):
        assert torch.allclose(v, w, atol=1e-6), k


def test_changed_config_does_not_resume(tmp_path):
    _fit(tmp_path, 3)
    other = Trainer(_model(), TrainConfig(steps=3, batch_size=4, lr=5e-4), tmp_path,
                    torch.device("cpu"), run_config={"x": 1})
    assert other.step == 0


class _Exploding(torch.nn.Module):
    batch_kind = "pairs"

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))

    def configure_optimizers(self, tc):
        return {"main": torch.optim.SGD(self.parameters(), lr=tc.lr)}

    def train_step(self, batch, opts, step, tc):
        opts["main"].zero_grad()
        loss = self.w.sum() * (float("nan") if step >= 4 else 1.0)
        loss.backward()
        opts["main"].step()
        return {"loss": loss}


def _diverge(tmp, checkpoint_every: int):
    """(trainer, error) of a run whose loss turns NaN at step 4."""
    tc = TrainConfig(steps=10, lr=0.1, checkpoint_every=checkpoint_every, log_every=1)
    tr = Trainer(_Exploding(), tc, tmp, torch.device("cpu"))
    with pytest.raises(TrainingDiverged) as e:
        tr.fit(lambda s: None)
    return tr, e


def test_nan_loss_stops_with_clear_error_and_keeps_checkpoint(tmp_path):
    tr, e = _diverge(tmp_path, 2)
    assert "step 4" in str(e.value) and "(step 4)" in str(e.value)
    state = torch.load(tr.state_path, weights_only=False)
    assert state["step"] == 4 and torch.isfinite(state["model"]["w"]).all()


def test_ema_warmup_forgets_the_initialisation(tmp_path):
    tc = TrainConfig(steps=50, ema=0.9999)
    tr = Trainer(_model(), tc, tmp_path, torch.device("cpu"))
    assert [tr.ema_decay(s) for s in (0, 1, 90)] == [0.1, 2 / 11, 91 / 100]
    assert tr.ema_decay(10**6) == 0.9999
    init = 1.0
    for s in range(50):
        init *= tr.ema_decay(s)
    assert init < 1e-10  # without the warm-up: 0.9999 ** 50 = 0.995 of the average
    plain = Trainer(_model(), TrainConfig(steps=50, ema=0.9999, ema_warmup=False), tmp_path,
                    torch.device("cpu"))
    assert plain.ema_decay(0) == 0.9999


def test_export_best_writes_the_best_validation_weights(tmp_path):
    part = _part()
    tc = TrainConfig(steps=4, batch_size=4, lr=1e-3, log_every=1, val_every=1, val_batches=1,
                     export="best")
    tr = Trainer(_model(), tc, tmp_path, torch.device("cpu"))
    losses = iter([3.0, 1.0, 2.0, 4.0])
    snapshots = []

    def val(i):
        snapshots.append({k: v.clone() for k, v in tr.model.state_dict().items()})
        return pairs(part, 4, step_generator(1, i))

    tr._validate = lambda fn: (fn(0), next(losses))[1]
    tr.fit(lambda s: pairs(part, tc.batch_size, step_generator(0, s)), val)
    tr.export(tmp_path / "m.pt", {})
    ck = torch.load(tmp_path / "m.pt", weights_only=False)
    assert ck["exported"] == "best" and ck["best_val"] == 1.0
    for k, v in snapshots[1].items():  # the weights validated at step 2
        assert torch.equal(ck["state_dict"][k], v), k
    no_val = Trainer(_model(), TrainConfig(steps=1, export="best"), tmp_path / "b",
                     torch.device("cpu"))
    no_val.fit(lambda s: pairs(part, 4, step_generator(0, s)))
    from divrec.errors import ConfigError

    with pytest.raises(ConfigError, match="export 'best' needs validation"):
        no_val.export(tmp_path / "b.pt", {})


def test_divergence_before_the_first_checkpoint_says_so(tmp_path):
    tr, e = _diverge(tmp_path, 8)
    assert "no checkpoint was saved yet" in str(e.value) and "step 8" in str(e.value)
    assert not tr.state_path.exists()


def test_finish_removes_the_resume_state_unless_kept(tmp_path):
    done = _fit(tmp_path / "a", 2)
    assert done.state_path.exists()
    done.finish()
    assert not done.state_path.exists()
    kept = _fit(tmp_path / "b", 2, {"keep_resume": True})
    kept.finish()
    assert kept.state_path.exists()
    assert kept.run_hash == done.run_hash  # keep_resume does not change what is computed


class _Normed(torch.nn.Module):
    """A Linear then a BatchNorm with a slow running average (momentum 0.01, as DA-GAN's)."""

    batch_kind = "images"

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 2)
        self.bn = torch.nn.BatchNorm1d(2, momentum=0.01)

    def configure_optimizers(self, tc):
        return {"main": torch.optim.SGD(self.parameters(), lr=tc.lr)}

    def loss(self, batch):
        return {"loss": self.bn(self.lin(batch)).pow(2).mean() + self.lin.bias.pow(2).sum()}

    def calibration_forward(self, batch):
        self.loss(batch)

    def train_step(self, batch, opts, step, tc):
        opts["main"].zero_grad()
        out = self.loss(batch)
        out["loss"].backward()
        opts["main"].step()
        return out


def test_recalibrated_batchnorm_statistics_are_those_of_the_exported_weights(tmp_path):
    def batches(s):
        return torch.randn(16, 3, generator=torch.Generator().manual_seed(s)) * 3 + 5

    def export(n):
        torch.manual_seed(0)
        tc = TrainConfig(steps=20, batch_size=16, lr=0.5, log_every=5, recalibrate_bn=n)
        tr = Trainer(_Normed(), tc, tmp_path / str(n), torch.device("cpu"), run_config={})
        tr.fit(batches)
        tr.export(tmp_path / f"m{n}.pt", {})
        return tr, torch.load(tmp_path / f"m{n}.pt", weights_only=False)["state_dict"]

    tr, state = export(3)
    lin = tr.model.lin
    with torch.no_grad():
        acts = [lin(batches(20 + i)) for i in range(3)]  # the 3 batches after the last step
    want_mean = torch.stack([a.mean(0) for a in acts]).mean(0)
    want_var = torch.stack([a.var(0) for a in acts]).mean(0)  # unbiased, as BatchNorm keeps
    assert torch.allclose(state["bn.running_mean"], want_mean, atol=1e-5)
    assert torch.allclose(state["bn.running_var"], want_var, atol=1e-4)
    assert torch.equal(state["lin.weight"], lin.weight)  # weights untouched
    _, stale = export(0)  # off: the slow EMA, far from the weights' statistics
    assert not torch.allclose(stale["bn.running_mean"], want_mean, atol=1e-2)


@pytest.mark.parametrize("make", ["adam", "rmsprop"])
def test_foreach_optimizers_are_bit_identical_to_the_per_tensor_loop(make):
    """divrec builds its optimizers with foreach kernels for speed (training/optim.py) on the
    premise that they round exactly as torch's default single-tensor loop does on a CPU."""
    from divrec.training import optim

    kw = {"lr": 1e-3, "weight_decay": 1e-5} | ({"betas": (0.0, 0.9)} if make == "adam" else {})
    plain = getattr(torch.optim, {"adam": "Adam", "rmsprop": "RMSprop"}[make])

    def run(build):
        model = _model()
        opt = build(model.parameters(), **kw)
        g = torch.Generator().manual_seed(1)
        for _ in range(4):
            for p in model.parameters():
                p.grad = torch.randn(p.shape, generator=g)
            opt.step()
        return list(model.parameters())

    fast, slow = run(getattr(optim, make)), run(lambda ps, **k: plain(ps, foreach=False, **k))
    assert all(torch.equal(a, b) for a, b in zip(fast, slow))


def test_ema_update_is_the_per_tensor_lerp_and_copies_buffers():
    from divrec.training.optim import ema_update

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4))
    model(torch.randn(3, 1, 6, 6))  # BatchNorm buffers now differ from their initial values
    ema, expected = copy.deepcopy(model), copy.deepcopy(model)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3).add_(1)
        for pe, p in zip(expected.parameters(), model.parameters()):
            pe.lerp_(p, 1 - 0.9)
    ema_update(ema, model, 0.9)
    assert all(torch.equal(a, b) for a, b in zip(ema.parameters(), expected.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(ema.buffers(), model.buffers()))
    ema_update(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2), 0.5)  # no buffers: nothing to copy

