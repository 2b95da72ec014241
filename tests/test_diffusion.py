"""Diffusion core (schedule, samplers, guidance, U-Net, importance maps, augmentation): closed
forms checked by Monte Carlo and the fast sampler against ancestral sampling on a Gaussian whose
optimal denoiser is known exactly. The families on top of it: tests/test_diffusion_models.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from divrec.diffusion.augment import augment_class
from divrec.diffusion.importance import compare_maps, importance_map, region_stats
from divrec.diffusion.samplers import (
    AncestralSampler,
    DDIMSampler,
    guided,
    make_sampler,
    sample_loop,
)
from divrec.diffusion.schedule import NoiseSchedule, ScheduleParams
from divrec.diffusion.unet import UNet, UNetParams, timestep_embedding
from divrec.errors import ConfigError, DivrecError
from divrec.models.registry import build_model

SIZE = 16
TINY = {"n_feat": 6, "dim_mults": [1, 2], "blocks": 1, "heads": 2, "dim_head": 4,
        "dw_kernel": 3, "timesteps": 20, "sample_steps": 4, "image_size": SIZE}
FAMILIES = {"ddpm": {}, "cfgdm": {"prediction": "x0"},
            "fsdm": {"set_size": 3, "context_dim": 8, "enc_width": 4}}


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.one_thread


# ----------------------------------------------------------------------------- schedule
def test_linear_schedule_is_the_published_one():
    s = NoiseSchedule(ScheduleParams())
    assert s.T == 500 and len(s.betas) == 500
    assert s.betas[0].item() == pytest.approx(1e-4) and s.betas[-1].item() == pytest.approx(0.02)
    assert torch.allclose(s.alphas_cumprod, torch.cumprod(1 - s.betas, 0))


def test_cosine_schedule_is_monotone_and_capped():
    s = NoiseSchedule(ScheduleParams(timesteps=100, kind="cosine"))
    abar = s.alphas_cumprod
    assert (abar[1:] < abar[:-1]).all() and abar[-1] < 1e-3 and s.betas.max() <= 0.999
    with pytest.raises(ConfigError, match="unknown noise schedule"):
        NoiseSchedule(ScheduleParams(kind="quadratic"))


def test_forward_noising_matches_closed_form_mean_and_variance():
    """Run the Markov chain x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps step by step on a
    fixed x0 and compare its Monte Carlo moments with q(x_t | x_0), and q_sample's with both."""
    s = NoiseSchedule(ScheduleParams(timesteps=60, beta_end=0.05))
    g = torch.Generator().manual_seed(0)
    n = 40_000
    x0 = torch.tensor([-1.0, 0.3, 1.0]).repeat(n, 1).view(n, 1, 1, 3)
    x = x0.clone()
    for t in range(s.T):
        x = (1 - s.betas[t]).sqrt().float() * x + s.betas[t].sqrt().float() * torch.randn(
            x.shape, generator=g)
        if t in (0, 29, 59):
            tt = torch.full((n,), t)
            abar = s.alphas_cumprod[t].float()
            mean, var = abar.sqrt() * x0, (1 - abar).expand_as(x0)
            direct = s.q_sample(x0, tt, torch.randn(x0.shape, generator=g))
            se = (var[0].sqrt() / math.sqrt(n)).flatten()
            for mc in (x, direct):
                assert (mc.mean(0).flatten() - mean[0].flatten()).abs().max() < 4 * se.max()
                assert torch.allclose(mc.var(0).flatten(), var[0].flatten(), rtol=0.03)


def test_training_steps_cover_all_T():
    s = NoiseSchedule(ScheduleParams(timesteps=7))
    t = s.sample_t(5000, "cpu", torch.Generator().manual_seed(0))
    assert set(t.tolist()) == set(range(7))


def test_time_embedding_separates_neighbouring_integer_steps():
    e = timestep_embedding(torch.tensor([10, 11]), 32)
    assert (e[0] - e[1]).norm() > 0.5


# ----------------------------------------------------------------------------- samplers
MU, SD = 0.3, 0.5


def _gaussian_denoiser(s: NoiseSchedule):
    """The exact E[eps | x_t] when every pixel of x_0 is N(MU, SD^2)."""

    def eps(x, t, cond=None):
        abar = s.at("alphas_cumprod", t, x)
        return (1 - abar).sqrt() * (x - abar.sqrt() * MU) / (abar * SD**2 + 1 - abar)

    return eps


def _gaussian_setup():
    s = NoiseSchedule(ScheduleParams(timesteps=200, beta_end=0.05))
    den = _gaussian_denoiser(s)
    return s, (lambda x, t: den(x, t))


def test_ddim_with_all_steps_and_eta_1_is_ancestral_sampling():
    s, eps = _gaussian_setup()
    shape = (100, 1, 20, 20)
    anc = sample_loop(AncestralSampler(s, variance="posterior"), eps, shape, "cpu",
                      torch.Generator().manual_seed(1))
    ddim = sample_loop(DDIMSampler(s, steps=s.T, eta=1.0), eps, shape, "cpu",
                       torch.Generator().manual_seed(1))
    assert torch.allclose(anc, ddim, atol=1e-4)  # same noise draws -> same path
    other = sample_loop(DDIMSampler(s, steps=s.T, eta=1.0), eps, shape, "cpu",
                        torch.Generator().manual_seed(2))
    se = SD / math.sqrt(other.numel())
    for x in (anc, other):  # and both reproduce the data distribution
        assert abs(x.mean().item() - MU) < 4 * se and abs(x.std().item() - SD) < 0.02


def test_samplers_reproduce_data_statistics():
    """Fine step sequences reproduce the data; coarse deterministic DDIM under-disperses (its
    x0 estimate is a shrinkage estimator), and the spread recovers as the steps grow."""
    s, eps = _gaussian_setup()
    shape = (100, 1, 20, 20)
    for sampler in (AncestralSampler(s, variance="beta"), DDIMSampler(s, steps=100, eta=0.0),
                    DDIMSampler(s, steps=200, eta=0.5)):
        x = sample_loop(sampler, eps, shape, "cpu", torch.Generator().manual_seed(3))
        assert abs(x.mean().item() - MU) < 0.015, type(sampler).__name__
        assert abs(x.std().item() - SD) < 0.015, type(sampler).__name__
    stds = [sample_loop(DDIMSampler(s, steps=n), eps, shape, "cpu",
                        torch.Generator().manual_seed(3)).std().item() for n in (10, 25, 100)]
    assert stds[0] < stds[1] < stds[2] < SD + 0.01


def test_ddim_uses_the_requested_number_of_steps_and_refuses_bad_ones():
    s = NoiseSchedule(ScheduleParams(timesteps=100))
    ts = DDIMSampler(s, steps=10).timesteps()
    assert len(ts) == 10 and ts[0] == 99 and ts[-1] == 0
    with pytest.raises(ConfigError, match="steps"):
        DDIMSampler(s, steps=101)
    with pytest.raises(ConfigError, match="unknown sampler"):
        make_sampler("euler", s)


# ----------------------------------------------------------------------------- guidance
def _toy_denoiser(x, t, cond):
    return 0.5 * x + cond["exemplar"] * (1 + t.view(-1, 1, 1, 1) / 10)


def test_guidance_zero_is_the_conditional_prediction_and_minus_one_the_unconditional():
    g = torch.Generator().manual_seed(0)
    x, ex = torch.randn(4, 1, 5, 5, generator=g), torch.randn(4, 1, 5, 5, generator=g)
    t = torch.tensor([0, 3, 7, 9])
    cond, null = {"exemplar": ex}, {"exemplar": torch.zeros_like(ex)}
    assert torch.equal(guided(_toy_denoiser, cond, null, 0.0)(x, t), _toy_denoiser(x, t, cond))
    assert torch.equal(guided(_toy_denoiser, cond, null, -1.0)(x, t), _toy_denoiser(x, t, null))
    e_c, e_u = _toy_denoiser(x, t, cond), _toy_denoiser(x, t, null)
    assert torch.allclose(guided(_toy_denoiser, cond, null, 2.0)(x, t), 3 * e_c - 2 * e_u)
    with pytest.raises(ConfigError, match="null condition"):
        guided(_toy_denoiser, cond, None, 1.0)


# ----------------------------------------------------------------------------- U-Net
def test_unet_handles_odd_sizes_and_uses_context():
    net = UNet(UNetParams(n_feat=6, dim_mults=[1, 2, 4], blocks=1, heads=1, dim_head=4,
                          dw_kernel=3, context_dim=5))
    x = torch.randn(2, 1, 25, 25)
    out = net(x, torch.tensor([0, 9]), exemplar=x, context=torch.randn(2, 5))
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert len(net.up) == len(net.down)  # every skip, the highest-resolution one included
    with pytest.raises(ValueError, match="context"):
        net(x, torch.tensor([0, 9]), exemplar=x)


# ----------------------------------------------------------------------------- importance
class _MaskedDenoiser:
    """eps = x + (mask * exemplar)^2: the condition matters exactly inside ``mask``."""

    def __init__(self, mask):
        self.schedule = NoiseSchedule(ScheduleParams(timesteps=10))
        self.mask = mask

    def condition(self, ex):
        return {"exemplar": ex}

    def null_condition(self, ex):
        return {"exemplar": torch.zeros_like(ex)}

    def denoise(self, x, t, cond):
        return x + (self.mask * cond["exemplar"]) ** 2


def test_importance_is_zero_without_conditioning_and_located_where_it_is_used():
    ex = torch.rand(2, 1, 8, 8) + 0.5
    none = importance_map(_MaskedDenoiser(torch.zeros(1, 1, 8, 8)), ex, n_t=3, n_noise=2)
    assert torch.equal(none, torch.zeros_like(ex))
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 2:4, 5:7] = 1.0
    phi = importance_map(_MaskedDenoiser(mask), ex, n_t=3, n_noise=2)
    assert (phi[..., 2:4, 5:7] > 0).all() and (phi * (1 - mask) == 0).all()


def test_importance_map_of_a_real_model_is_finite_and_nonzero():
    for family in ("cfgdm", "fsdm"):
        model = build_model(family, {**TINY, **FAMILIES[family]}).eval()
        ex = (torch.rand(2, 1, SIZE, SIZE, generator=torch.Generator().manual_seed(0)) > 0.7)
        phi = model.importance(ex.float(), n_t=2, n_noise=1)
        assert phi.shape == ex.shape and torch.isfinite(phi).all() and phi.sum() > 0


def test_region_comparison_on_a_hand_made_case():
    human = np.zeros((10, 10))
    human[1:3, 1:3] = 1.0        # two compact regions of 4 pixels
    human[6:8, 6:8] = 0.8
    model = np.zeros((10, 10))
    model[0:3, 0:3] = 1.0        # one region of 9 pixels, one of 3, one of 1
    model[5, 5:8] = 0.9
    model[9, 0] = 0.7
    model[9, 9] = 0.2            # below half of the maximum: not a region
    assert region_stats(human) == (2, 4.0)
    assert region_stats(model) == (3, pytest.approx(13 / 3))
    df = compare_maps(np.stack([model, human]), np.stack([human, human]))
    assert list(df.model_regions) == [3, 2] and list(df.human_regions) == [2, 2]
    assert df.spearman[1] == pytest.approx(1.0) and 0 < df.spearman[0] < 1
    assert compare_maps(human, -human).spearman[0] == pytest.approx(-1.0)
    with pytest.raises(DivrecError, match="differ in shape"):
        compare_maps(human, np.zeros((12, 12)))


# ----------------------------------------------------------------------------- augment_class
def test_augment_class_applies_one_shared_transform_with_the_published_probabilities():
    n = 3000
    img = torch.zeros(n, 1, SIZE, SIZE)
    img[:, 0, 2, 3] = 1.0
    torch.manual_seed(0)
    t, e = augment_class(img, img.clone())
    assert torch.equal(t, e) and set(t.unique().tolist()) <= {0.0, 1.0}
    at = {"hflip": (2, SIZE - 4), "vflip": (SIZE - 3, 3), "identity": (2, 3)}
    for name, (y, x) in at.items():
        exact = (t[:, 0, y, x] == 1) & (t.flatten(1).sum(1) == 1)
        assert abs(exact.float().mean().item() - 0.2) < 0.04, name


def test_bench_sampling_prints_both_samplers(capsys):
    import json

    from bench.bench_sampling import main

    params = {k: v for k, v in TINY.items() if k != "sample_steps"}
    assert main(["--device", "cpu", "--family", "ddpm", "--params", json.dumps(params),
                 "--batch", "2", "--steps", "2", "5", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "ancestral" in out and out.count("ddim") == 2


def test_bench_oneshot_cost_counts_guidance_and_ancestral_evaluations():
    from bench.bench_oneshot_cost import entry_cost
    from divrec.config import load_config
    from tests.conftest import ROOT

    cfg = load_config(ROOT / "config/config.yaml", ROOT / "config/test.yaml")
    cfg["models"]["cfgdm"]["sample"] = {"sampler": "ddim", "steps": 3, "guidance": [0, 2]}
    r = entry_cost(cfg, "cfgdm", "omniglot", test_classes=10)
    assert r["points"] == 1 and r["variants"] == 2
    assert r["evals_per_sample"] == (3 + 2 * 3) / 2   # guidance doubles the network calls
    assert r["gflop_step"] > 0 and 0 < r["gpu_hours"][0] <= r["gpu_hours"][1]
    cfg["models"]["ddpm"]["sample"] = {"sampler": "ancestral"}
    assert entry_cost(cfg, "ddpm", "omniglot", 10)["evals_per_sample"] == 500
