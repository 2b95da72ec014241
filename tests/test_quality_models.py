"""The three unconditional models, their samplers, the image sets and the quality pipeline."""

import json
from types import SimpleNamespace as NS

import numpy as np
import pandas as pd
import pytest
import torch

from divrec.config import TrainConfig, validate
from divrec.diffusion.schedule import NoiseSchedule
from divrec.errors import ConfigError, DataError
from divrec.quality import images as I
from divrec.quality.ddpm import schedule_params
from divrec.quality.registry import build

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.one_thread


TINY = {
    "dcgan": {"nz": 8, "ngf": 8, "ndf": 8},
    "ddpm": {"ch": 8, "ch_mult": [1, 2], "diffusion_steps": 50, "sample_steps": 5},
    "ddgan": {"ch": 8, "ch_mult": [1, 2], "nz": 8, "ndf": 8, "lazy_reg": 2},
}


@pytest.mark.parametrize("family", sorted(TINY))
def test_model_trains_and_samples_in_range(family):
    torch.manual_seed(0)
    m = build(family, {**TINY[family], "image_size": 8, "channels": 3})
    opts = m.configure_optimizers(TrainConfig(lr=1e-3))
    before = [p.detach().clone() for p in m.parameters()]
    x = torch.rand(6, 3, 8, 8) * 2 - 1
    for step in range(3):
        out = m.train_step(x, opts, step, TrainConfig(lr=1e-3))
        assert all(torch.isfinite(v).all() for v in out.values())
    changed = sum(not torch.equal(a, b) for a, b in zip(before, m.parameters()))
    assert changed > len(before) // 2
    m.eval()
    g = torch.Generator().manual_seed(1)
    s = m.sample(5, generator=g)
    assert s.shape == (5, 3, 8, 8) and s.min() >= -1 and s.max() <= 1
    assert s.std() > 0
    s2 = m.sample(5, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(s, s2)  # seeded sampling repeats


def test_dcgan_published_64px_sizes():
    m = build("dcgan", {"image_size": 64, "channels": 3})
    n_g = sum(p.numel() for p in m.G.parameters())
    n_d = sum(p.numel() for p in m.D.parameters())
    assert (n_g, n_d) == (3_576_704, 2_765_568)  # spec §10.1 (PyTorch DCGAN tutorial)


def test_dcgan_rejects_non_power_of_two():
    with pytest.raises(ValueError, match="power of two"):
        build("dcgan", {"image_size": 24})


def test_ddpm_sampler_with_exact_eps_recovers_x0():
    """The quality DDPM samples through the one diffusion core: with an oracle eps its DDIM chain
    from pure noise ends exactly at x0 (x0 inside the clip range)."""
    m = build("ddpm", {**TINY["ddpm"], "image_size": 4, "channels": 1, "schedule": "linear",
                       "diffusion_steps": 100, "sample_steps": 10})
    x0 = torch.rand(4, 1, 4, 4) * 1.6 - 0.8
    m.net.forward = lambda x, t: m.schedule.predict_eps(x, t, x0)
    torch.testing.assert_close(m.sample(4, generator=torch.Generator().manual_seed(0)), x0,
                               atol=1e-4, rtol=0)


def test_cosine_and_linear_schedules_decrease_to_noise():
    for kind in ("cosine", "linear"):
        ab = NoiseSchedule(schedule_params(kind, 1000)).alphas_cumprod
        assert (ab[1:] < ab[:-1]).all() and ab[0] > 0.99 and ab[-1] < 1e-3
    # improved-diffusion's scaling: 250 steps keep the 1000-step schedule's noise level at the
    # same fraction of the chain (0.524 vs 0.531 a quarter in, 0.079 vs 0.077 half way)
    short = NoiseSchedule(schedule_params("linear", 250)).alphas_cumprod
    torch.testing.assert_close(short[[61, 124]], ab[[249, 499]], atol=0.01, rtol=0)


def test_ddgan_posterior_is_exact_at_t0_and_chain_with_true_x0_returns_it():
    m = build("ddgan", {**TINY["ddgan"], "image_size": 8, "channels": 1})
    x0 = torch.rand(3, 1, 8, 8) * 2 - 1
    t0 = torch.zeros(3, dtype=torch.long)
    x_t, x_tp1 = m.sched.q_pair(x0, t0)
    torch.testing.assert_close(m.sched.posterior_sample(x0, x_tp1, t0, torch.randn_like(x0)), x0)
    x = torch.randn_like(x0)  # reverse chain with an oracle x0-predictor ends at x0
    for i in reversed(range(m.p.num_timesteps)):
        t = torch.full((3,), i, dtype=torch.long)
        x = m.sched.posterior_sample(x0, x, t, torch.randn_like(x0))
    torch.testing.assert_close(x, x0, atol=1e-5, rtol=0)


def test_ddpm_nfe_follows_sample_option():
    m = build("ddpm", {**TINY["ddpm"], "image_size": 8, "channels": 1})
    assert m.nfe() == 5 and m.nfe(sample_steps=3) == 3
    assert build("ddgan", {**TINY["ddgan"], "image_size": 8}).nfe() == 4


# ----------------------------------------------------------------------------- image sets


def _split(tmp_path, size=12):
    rng = np.random.default_rng(0)
    path = tmp_path / "split.npz"
    np.savez(path, train_images=rng.integers(0, 256, (5, 4, size, size), dtype=np.uint8),
             val_images=np.zeros((1, 4, size, size), np.uint8))
    return path


def test_image_set_from_split_resizes_and_labels_by_class(tmp_path):
    out = I.build("omniglot", _split(tmp_path), tmp_path / "images.npz", image_size=8)
    s = I.load(out)
    assert s.images.shape == (20, 8, 8, 1) and s.images.dtype == np.uint8
    assert list(s.labels[:5]) == [0, 0, 0, 0, 1] and s.labels.max() == 4 and s.name == "omniglot"


def test_image_set_from_cifar_arrays_keeps_channels(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "cifar10.npz"
    np.savez(path, train_images=rng.integers(0, 256, (7, 32, 32, 3), dtype=np.uint8),
             train_labels=np.arange(7) % 3)
    s = I.load(I.build("cifar10", path, tmp_path / "i.npz", image_size=32, max_images=5))
    assert s.images.shape == (5, 32, 32, 3) and s.channels == 3 and s.labels.max() <= 2


def test_missing_split_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="run the dataset's data rules"):
        I.build("omniglot", tmp_path / "nope.npz", tmp_path / "i.npz")


def test_uint8_round_trip():
    x = torch.tensor([[[[-1.0, 0.0, 1.0, 2.0]]]])
    assert I.to_uint8_hwc(x)[0, 0, :, 0].tolist() == [0, 128, 255, 255]


# ----------------------------------------------------------------------------- pipeline


def _cfg(tmp_path, **over):
    cfg = {
        "seed": 0, "device": "cpu",
        "data": {}, "critics": {}, "evaluation": {}, "models": {},
        "training": {"checkpoint_every": 2, "log_every": 1},
        "quality": {
            "datasets": ["omniglot"], "image_size": 8, "n_samples": 12, "n_reference": 16,
            "sample_batch": 5, "warmup_batches": 1, "kid_subsets": 3, "kid_subset_size": 10,
            "prdc_k": 2, "feature_extractor": "classifier",
            "classifier": {"width": 4, "feature_dim": 8, "steps": 4, "batch_size": 8},
            "models": {f: {"family": f, "label": f.upper(), "params": TINY[f],
                           "train": {"steps": 3, "batch_size": 4, "ema": 0.9}}
                       for f in TINY},
        },
    }
    cfg["quality"].update(over)
    return validate(cfg)


def test_pipeline_end_to_end_on_tiny_split(tmp_path, monkeypatch):
    monkeypatch.setenv("DIVREC_NO_PROGRESS", "1")
    from divrec.job import Job
    from divrec.plots import quality as plots
    from divrec.quality import evaluate, sample, train

    cfg = _cfg(tmp_path)
    imgs = I.build("omniglot", _split(tmp_path), tmp_path / "images.npz", image_size=8)
    ex = "classifier_omniglot"
    state = NS(state_dir=tmp_path / "resume")
    evaluate.extractor_job(Job(cfg, NS(extractor=ex), [imgs], [tmp_path / "ex.pt"], state))

    def features(source, images, out):
        evaluate.features_job(Job(cfg, input=NS(images=images, extractor=tmp_path / "ex.pt"),
                                  output=[out], params=NS(source=source)))

    features("data", imgs, tmp_path / "f_data.npz")
    feats, timings = {}, {}
    for m in TINY:
        w = NS(qdataset="omniglot", qmodel=m)
        train.train(Job(cfg, w, [imgs], NS(model=tmp_path / f"{m}.pt",
                                           history=tmp_path / f"{m}.parquet"), state))
        timings[m] = tmp_path / f"{m}.json"
        sample.sample_model(Job(cfg, w, [tmp_path / f"{m}.pt"],
                                NS(samples=tmp_path / f"s_{m}.npz", timing=timings[m])))
        assert sample.load_samples(tmp_path / f"s_{m}.npz").shape == (12, 8, 8, 1)
        rec = json.loads(timings[m].read_text())
        assert rec["batch_size"] == 5 and rec["n_batches"] == 3 and rec["device"] == "cpu"
        assert rec["seconds"] > 0 and rec["nfe"] == {"dcgan": 1, "ddpm": 5, "ddgan": 4}[m]
        feats[m] = tmp_path / f"f_{m}.npz"
        features(m, tmp_path / f"s_{m}.npz", feats[m])
    ins = NS(data=tmp_path / "f_data.npz", features=list(feats.values()),
             timings=list(timings.values()))
    table = evaluate.metrics_table(Job(cfg, NS(qdataset="omniglot"), ins,
                                       [tmp_path / "metrics.parquet"], NS(models=list(TINY))))
    assert list(table["model"]) == list(TINY)
    assert set(table["fd_name"]) == {"FD_classifier_omniglot"}
    assert (table["fd"] > 0).all() and table["n_real"].eq(16).all()
    assert pd.read_parquet(tmp_path / "metrics.parquet").shape == table.shape
    plots.tradeoff(str(tmp_path / "metrics.parquet"), [str(tmp_path / "t.png")])
    plots.loss_curves({m: str(tmp_path / f"{m}.parquet") for m in TINY}, {},
                      [str(tmp_path / "l.png")])
    assert (tmp_path / "t.png").stat().st_size > 0 and (tmp_path / "l.png").stat().st_size > 0


def test_channels_mismatch_is_a_config_error(tmp_path):
    from divrec.quality.train import model_params

    s = I.ImageSet(np.zeros((2, 8, 8, 1), np.uint8), np.zeros(2, np.int64), "x")
    assert model_params({"family": "dcgan"}, s)["channels"] == 1
    with pytest.raises(ConfigError, match="channels"):
        model_params({"family": "dcgan", "params": {"channels": 3}}, s)


def test_unknown_family_is_rejected_by_the_schema(tmp_path):
    with pytest.raises(ConfigError, match="quality/models/x/family"):
        _cfg(tmp_path, models={"x": {"family": "vae"}})


def test_bench_quality_cost_extrapolates_measured_steps(tmp_path, capsys):
    from bench.bench_quality_cost import main
    from tests.conftest import ROOT

    out = tmp_path / "cost.json"
    main(["--config", str(ROOT / "config/config.yaml"), str(ROOT / "config/test.yaml"),
          "--channels", "1", "--device", "cpu", "--threads", "1", "--warmup", "1",
          "--steps", "2", "--sample-batch", "4", "--json", str(out)])
    rows = json.loads(out.read_text())
    assert [r["model"] for r in rows] == ["dcgan", "ddpm", "ddgan"]
    for r in rows:
        assert r["s_per_step"] > 0 and r["images_per_s"] > 0 and r["sample_batch"] == 4
        assert r["train_hours"] == pytest.approx(r["s_per_step"] * r["train_steps"] / 3600)
        assert r["total_hours"] == pytest.approx(r["train_hours"] + r["sample_hours"])
        assert r["train_tflop"] > 0 and r["sample_tflop"] > 0 and r["kernels_per_step"] > 0
        assert 0 < r["gpu_hours_est"][0] <= r["gpu_hours_est"][1]
    assert "all models" in capsys.readouterr().out


def test_flop_count_of_a_hand_computed_matmul_and_its_backward():
    from divrec.cost import Cost, measure

    a, b = torch.rand(4, 5, requires_grad=True), torch.rand(5, 3)
    assert measure(torch.mm, a, b) == Cost(2 * 4 * 5 * 3, 1)
    # forward a @ b, backward grad_a = grad @ b.T (b needs no gradient): twice the forward
    assert measure(lambda: (a @ b).sum().backward()).flops == 2 * (2 * 4 * 5 * 3)
    lo, hi = Cost(10**15, 100).gpu_seconds()   # compute-bound: FLOPs / (150 and 50 TFLOP/s)
    assert (lo, hi) == (pytest.approx(1e15 / 150e12), pytest.approx(20.0))
    assert Cost(0, 1000).gpu_seconds() == (pytest.approx(5e-3), pytest.approx(1e-2))
