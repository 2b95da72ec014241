"""What the one-shot model entries of a config cost: training and sampling FLOPs, kernels and an
H100-class GPU-hour range per entry (all its sweep points and sampling variants), plus one
training step measured on this machine.

    python bench/bench_oneshot_cost.py --config config/config.yaml config/paper.yaml \
        --models ddpm cfgdm fsdm [--dataset omniglot] [--test-classes 150]

Batches are random drawings of the model's input size (cost does not depend on pixel values).
A training step is counted and timed after one warm-up step. Sampling is counted for one
network evaluation of a small batch and scaled: by the configured number of network evaluations
per sample (all T steps for ancestral sampling, ``steps`` for DDIM, twice that under guidance)
and by ``evaluation.n_samples`` x test classes per point. On a GPU the sampling batch is
``evaluation.sample_batch``, so launches are shared by that many samples; the range comes from
``divrec.cost`` (the model of docs/scaling.md).
"""

from __future__ import annotations

import argparse
import time

import torch

from divrec.config import load_config, train_config
from divrec.cost import GPU_FLOPS, LAUNCH_S, measure
from divrec.data.preprocess import IMAGE_SIZE
from divrec.data.splits import FewShotPart
from divrec.device import tune_malloc
from divrec.models.registry import build_model
from divrec.points import model_points
from divrec.training.run import batch_function, model_params


def random_part(size: int, classes: int = 200, per_class: int = 20) -> FewShotPart:
    g = torch.Generator().manual_seed(0)
    images = (torch.rand(classes, per_class, 1, size, size, generator=g) > 0.85).float()
    return FewShotPart(images, torch.zeros(classes, dtype=torch.long),
                       [f"c/{i}" for i in range(classes)])


def network_evals(model, options: dict) -> int:
    """Denoiser calls per sample under ``options`` (1 for models that sample in one pass)."""
    if not hasattr(model, "schedule"):
        return 1
    o = model._options(options)
    steps = model.schedule.T if o["sampler"] == "ancestral" else o["steps"]
    return steps * (2 if o["guidance"] else 1)


def entry_cost(cfg: dict, name: str, dataset: str, test_classes: int) -> dict:
    entry = cfg["models"][name]
    points = [p for p in model_points(cfg) if p.dataset == dataset and p.model == name]
    params = model_params(cfg, dataset, name, points[0].train_name)
    model = build_model(entry["family"], params)
    tc = train_config(cfg, entry.get("train"))
    batch = batch_function(model, random_part(params.get("image_size", IMAGE_SIZE)), tc)
    opts = model.configure_optimizers(tc)
    model.train()
    model.train_step(batch(0), opts, 0, tc)                       # warm-up
    t0 = time.perf_counter()
    step = measure(model.train_step, batch(1), opts, 1, tc)
    cpu_s = time.perf_counter() - t0
    model.eval()
    size = params.get("image_size", IMAGE_SIZE)
    ex = (torch.rand(2, 1, size, size, generator=torch.Generator().manual_seed(1)) > 0.85)
    one = measure(model.sample, ex.float(), **_one_eval(model))
    n_train = {p.train_name for p in points}
    evals = sum(network_evals(model, p.sample) for p in points)
    per_sample_flops = one.flops / len(ex)
    n_samples = cfg["evaluation"]["n_samples"] * test_classes
    sb = cfg["evaluation"]["sample_batch"]
    gpu = []
    for f, tau in zip(GPU_FLOPS, LAUNCH_S, strict=True):
        train_s = max(step.flops / f, step.kernels * tau) * tc.steps * len(n_train)
        call_s = max(per_sample_flops * sb / f, one.kernels * tau)  # one eval, one batch
        gpu.append((train_s + call_s * evals * n_samples / sb) / 3600)
    return {"model": name, "points": len(n_train), "variants": len(points),
            "gflop_step": step.flops / 1e9, "kernels_step": step.kernels, "cpu_s_step": cpu_s,
            "steps": tc.steps, "evals_per_sample": evals / len(points),
            "train_pflop": step.flops * tc.steps * len(n_train) / 1e15,
            "sample_pflop": per_sample_flops * evals * n_samples / 1e15, "gpu_hours": gpu}


def _one_eval(model) -> dict:
    """Sampler options that run the denoiser exactly once."""
    return {"sampler": "ddim", "steps": 1, "guidance": 0} if hasattr(model, "schedule") else {}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--config", nargs="+", default=["config/config.yaml", "config/paper.yaml"])
    ap.add_argument("--models", nargs="+", default=["ddpm", "cfgdm", "fsdm"])
    ap.add_argument("--dataset", default="omniglot")
    ap.add_argument("--test-classes", type=int, default=150)
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args(argv)
    tune_malloc()  # as every workflow job does (divrec.snake.rule_context)
    if a.threads:
        torch.set_num_threads(a.threads)
    cfg = load_config(*a.config)
    print(f"{' + '.join(a.config)}, {a.dataset}, {a.test_classes} test classes, "
          f"{torch.get_num_threads()} CPU threads for the timed step")
    print(f"{'model':7} {'pts':>3} {'var':>3} {'GFLOP/step':>10} {'kern/step':>9} "
          f"{'CPU s/step':>10} {'steps':>7} {'NFE/sample':>10} {'train PFLOP':>11} "
          f"{'sample PFLOP':>12} {'GPU h est.':>13}")
    total = [0.0, 0.0]
    for name in a.models:
        r = entry_cost(cfg, name, a.dataset, a.test_classes)
        total = [t + g for t, g in zip(total, r["gpu_hours"], strict=True)]
        print(f"{r['model']:7} {r['points']:3d} {r['variants']:3d} {r['gflop_step']:10.1f} "
              f"{r['kernels_step']:9d} {r['cpu_s_step']:10.2f} {r['steps']:7d} "
              f"{r['evals_per_sample']:10.0f} {r['train_pflop']:11.2f} {r['sample_pflop']:12.2f} "
              f"{r['gpu_hours'][0]:6.1f}-{r['gpu_hours'][1]:<6.1f}")
    print(f"total GPU estimate: {total[0]:.1f}-{total[1]:.1f} h")


if __name__ == "__main__":
    main()
