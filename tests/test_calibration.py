"""Critic calibration (hand-computed cases), CPU precision selection and bf16 training, and the
shipped reference critics (manifest, checksum, refusal outside their split)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from divrec.config import TrainConfig
from divrec.critics import reference as R
from divrec.critics.calibration import calibration_table, protonet_accuracy, simclr_ntxent
from divrec.critics.checkpoint import load_critic
from divrec.critics.protonet import ProtoNet, ProtoNetParams, episode
from divrec.critics.simclr import SimCLR, SimCLRParams
from divrec.data.batches import step_generator
from divrec.data.splits import FewShotPart
from divrec.device import autocast, cpu_bf16_flags, cpu_precision_note, resolve_precision
from divrec.errors import DataError
from divrec.metrics.recognizability import make_tasks
from divrec.training.loop import Trainer
from tests.test_models_oneshot import _strokes

pytestmark = pytest.mark.usefixtures("one_thread")


class _Pixels:
    """A 'critic' whose metric space is the 2-pixel code below: the accuracy is hand-computable."""

    def metric(self, x, image_size=50):
        return torch.from_numpy(x[:, 0, :2].astype(np.float64))


def _coded(codes: np.ndarray) -> FewShotPart:
    """codes [C, M, 2] in 0..1 written into pixels (0, 0) and (0, 1) of 4x4 images."""
    c, m = codes.shape[:2]
    img = torch.zeros(c, m, 1, 4, 4)
    img[:, :, 0, 0, :2] = torch.from_numpy(codes).float()
    return FewShotPart(img, torch.zeros(c, dtype=torch.long), [str(i) for i in range(c)])


def test_protonet_accuracy_matches_a_brute_force_count():
    rng = np.random.default_rng(0)
    centres = rng.random((6, 1, 2))
    codes = np.clip(centres + rng.normal(0, 0.15, (6, 5, 2)), 0, 1)
    codes = np.round(codes * 255) / 255  # what the uint8 round trip keeps
    part = _coded(codes)
    got = protonet_accuracy(_Pixels(), part, k_way=3, tasks_per_class=8, seed=1)
    tasks = make_tasks(6, 3, 8, 1).numpy()
    hits, seen = np.zeros(6), np.zeros(6)
    for t in tasks:
        for c in t:
            for q in range(1, 5):  # drawing 0 is the exemplar: never a query
                d = ((codes[t, 0] - codes[c, q]) ** 2).sum(1)
                hits[c] += t[d.argmin()] == c
                seen[c] += 1
    assert got["acc"] == pytest.approx((hits / seen).mean())
    assert got["acc_lo"] <= got["acc"] <= got["acc_hi"]


def test_separated_classes_score_one():
    codes = np.repeat(np.linspace(0, 1, 4)[:, None, None], 5, 1).repeat(2, 2)
    assert protonet_accuracy(_Pixels(), _coded(codes), k_way=4, tasks_per_class=5)["acc"] == 1.0


def test_constant_projection_gives_chance_ntxent():
    model = SimCLR(SimCLRParams())
    with torch.no_grad():
        model.projection.weight.zero_()
        model.projection.bias.fill_(1.0)
    r = simclr_ntxent(model, _strokes(), batch=448, n_batches=1)
    assert r["batch"] == 30  # capped by the 6 x 5 drawings
    assert r["ntxent"] == pytest.approx(math.log(2 * 30 - 1), abs=1e-5) == r["chance"]


def test_calibration_table_rows_and_published_values():
    part = _strokes()
    proto = ProtoNet(ProtoNetParams(k_way=3, n_query=2)).eval()
    ev = {"k_way": 3, "tasks_per_class": 4, "task_seed": 0}
    t = calibration_table("protonet", proto, {"val": part, "test": part}, ev, {"steps": 0})
    assert list(t.part) == ["val", "test"] and t.value.between(0, 1).all()
    assert t.published.isna().tolist() == [True, False] and (t.steps == 0).all()
    s = calibration_table("simclr", SimCLR(SimCLRParams()), {"test": part}, ev, {})
    assert s.critic.tolist() == ["simclr"] and s.published.isna().all()  # batch 30, not 448


def test_precision_follows_the_cpu_flags(tmp_path, monkeypatch):
    info = tmp_path / "cpuinfo"
    info.write_text("processor: 0\nflags\t\t: fpu avx512f avx512_bf16\n")
    assert cpu_bf16_flags(info) == ["avx512_bf16"]
    info.write_text("processor: 0\nflags\t\t: fpu avx2\n")
    assert cpu_bf16_flags(info) == [] and cpu_bf16_flags(tmp_path / "absent") == []
    cpu = torch.device("cpu")
    monkeypatch.setattr("divrec.device.cpu_bf16_flags", lambda: [])
    assert resolve_precision("auto", cpu) == "fp32" and resolve_precision("bf16", cpu) == "bf16"
    monkeypatch.setattr("divrec.device.cpu_bf16_flags", lambda: ["amx_bf16"])
    assert resolve_precision("auto", cpu) == "bf16" and resolve_precision("fp32", cpu) == "fp32"
    with pytest.raises(ValueError, match="fp16"):
        resolve_precision("fp16", cpu)


def test_run_start_note_names_the_fp32_cost_only_without_native_bf16(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor: 0\nflags\t\t: fpu avx2\n")
    assert "train in fp32" in cpu_precision_note("auto", info)
    assert "emulated" in cpu_precision_note("bf16", info)
    assert cpu_precision_note("fp32", info) == ""
    info.write_text("processor: 0\nflags\t\t: fpu amx_bf16\n")
    assert cpu_precision_note("auto", info) == cpu_precision_note("bf16", info) == ""


def test_bf16_step_keeps_loss_and_optimizer_state_fp32(tmp_path):
    torch.manual_seed(0)
    model = ProtoNet(ProtoNetParams(k_way=3, n_query=2))
    tc = TrainConfig(steps=3, precision="bf16", checkpoint_every=10, log_every=1)
    tr = Trainer(model, tc, tmp_path, torch.device("cpu"))
    assert tr.precision == "bf16"
    part = _strokes()
    with autocast(tr.device, tr.precision):
        assert model.embed(part.images[0]).dtype == torch.bfloat16
        assert model.loss(episode(part, 3, 2, step_generator(0, 0)))["loss"].dtype == torch.float32
    tr.fit(lambda s: episode(part, 3, 2, step_generator(0, s)))
    state = tr.opts["main"].state_dict()["state"]
    assert all(v["exp_avg"].dtype == torch.float32 for v in state.values())
    assert all(p.dtype == torch.float32 for p in model.parameters())
    tr.export(tmp_path / "c.pt", {})
    assert torch.load(tmp_path / "c.pt", weights_only=False)["precision"] == "bf16"


def _critic_file(tmp_path, kind):
    model = ProtoNet(ProtoNetParams()) if kind == "protonet" else SimCLR(SimCLRParams())
    path = tmp_path / f"src_{kind}.pt"
    torch.save({"kind": kind, "params": vars(model.p), "state_dict": model.state_dict(),
                "best_state_dict": model.state_dict(), "step": 7, "precision": "bf16"}, path)
    return path


def test_reference_folder_round_trip_and_checksum(tmp_path, monkeypatch):
    out = tmp_path / "ref" / R.DEFAULT
    table = pd.DataFrame({"critic": ["protonet"], "value": [0.97]})
    R.write_reference({k: _critic_file(tmp_path, k) for k in R.KINDS}, table, out)
    monkeypatch.setattr(R, "ROOT", tmp_path / "ref")
    for kind in R.KINDS:
        model = load_critic(R.reference_critic(kind))
        assert model.p.image_size == 50
        assert "best_state_dict" not in torch.load(out / f"{kind}.pt", weights_only=False)
    with open(out / "protonet.pt", "ab") as f:
        f.write(b"x")
    with pytest.raises(DataError, match="sha256 mismatch"):
        R.reference_critic("protonet")
    (out / "SHA256SUMS").unlink()
    with pytest.raises(DataError, match="critics.source: train"):
        R.reference_critic("simclr")


def test_reference_critics_refuse_other_data():
    with pytest.raises(DataError, match="weak split"):
        R.check_dataset("quickdraw", {})
    with pytest.raises(DataError, match="weak split"):
        R.check_dataset("omniglot", {"split": "strong"})
    R.check_dataset("omniglot", {"split": "weak"})


@pytest.mark.skipif(not (R.ROOT / R.DEFAULT / "SHA256SUMS").exists(),
                    reason="no reference critics shipped yet")
def test_shipped_reference_critics_match_their_manifest():
    for kind in R.KINDS:
        model = load_critic(R.reference_critic(kind))
        assert model.p.z_dim == 256
    cal = pd.read_csv(R.ROOT / R.DEFAULT / "calibration.csv")
    test = cal[(cal.critic == "protonet") & (cal.part == "test")]
    assert test.value.iloc[0] >= 0.97


def test_calibration_at_another_critic_input_size():
    part = _strokes()
    small = FewShotPart(torch.nn.functional.interpolate(part.images.flatten(0, 1), size=28)
                        .view(6, 5, 1, 28, 28), part.exemplar, part.names)
    proto = ProtoNet(ProtoNetParams(k_way=3, n_query=2, image_size=28)).eval()
    t = calibration_table("protonet", proto, {"test": small},
                          {"k_way": 3, "tasks_per_class": 4, "task_seed": 0}, {})
    assert t.value.between(0, 1).all()
