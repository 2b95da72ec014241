"""What a GAN-vs-diffusion config costs on this machine: seconds per training step and sampling
throughput of each quality model, measured at the config's sizes, extrapolated to its lengths.

    python bench/bench_quality_cost.py                                  # CIFAR-10 config, CPU/GPU
    python bench/bench_quality_cost.py --config config/config.yaml config/paper.yaml --device cuda
    python bench/bench_quality_cost.py --config config/config.yaml --channels 1   # default run

No data is needed: the cost of a step does not depend on pixel values, so batches are random
images of the configured size and channel count. Training goes through the workflow's own loop
(``Trainer``: AMP on GPU, EMA, optimisers as configured); a step is timed from one batch request
to the next, after ``--warmup`` steps, and the median is reported. Sampling uses the workflow's
timing code (warm-up batch, device synchronised). The totals are extrapolations: steps x median
step time, and ``n_samples`` / measured throughput; the classifier feature extractor and the
metrics add minutes, not hours. The FLOP and kernel counts (``divrec.cost`` over one step and one
sampling batch) do not depend on the device; the "GPU h est." column turns them into a range for
an H100-class card (the model of docs/scaling.md) where no GPU is at hand to run this script
with ``--device cuda``, which measures instead. The range ignores memory-bound elementwise work
(normalisation, activations), so its low end is optimistic.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from divrec.config import load_config, train_config
from divrec.cost import Cost, measure
from divrec.device import pick_device, tune_malloc
from divrec.quality.registry import build
from divrec.quality.sample import timed_sample
from divrec.training.loop import Trainer

DEFAULT_CONFIG = ["config/config.yaml", "config/cifar.yaml"]


def step_seconds(model, tc, shape: tuple[int, ...], device, warmup: int, steps: int) -> float:
    """Median wall time of one training step of ``model`` under ``tc`` (random batches)."""
    stamps: list[float] = []
    g = torch.Generator(device=device).manual_seed(0)

    def batch_fn(step: int) -> torch.Tensor:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        stamps.append(time.perf_counter())
        return torch.rand(shape, generator=g, device=device) * 2 - 1

    tc = replace(tc, steps=warmup + steps + 1, checkpoint_every=10**9, log_every=1,
                 val_every=10**9)
    with tempfile.TemporaryDirectory() as state:
        Trainer(model, tc, state, device, desc="bench").fit(batch_fn)
    diffs = [b - a for a, b in zip(stamps[warmup:], stamps[warmup + 1:], strict=False)]
    return statistics.median(diffs)


def step_cost(model, tc, shape: tuple[int, ...], device) -> Cost:
    """FLOPs and kernels of one training step (every network the step runs, both passes)."""
    x = torch.rand(shape, device=device) * 2 - 1
    tc = replace(tc, steps=1, checkpoint_every=10**9, log_every=1, val_every=10**9)
    with tempfile.TemporaryDirectory() as state:
        trainer = Trainer(model, tc, state, device, desc="flops")
        return measure(trainer.fit, lambda step: x)


def cost_rows(cfg: dict, device, channels: int, warmup: int, steps: int,
              sample_batch: int | None) -> list[dict]:
    q = cfg["quality"]
    size = q["image_size"]
    rows = []
    for name, entry in q["models"].items():
        tc = train_config(cfg, entry.get("train"))
        params = {"image_size": size, "channels": channels, **(entry.get("params") or {})}
        model = build(entry["family"], params).to(device)
        shape = (tc.batch_size, channels, size, size)
        step = step_cost(model, tc, shape, device)
        sec = step_seconds(model, tc, shape, device, warmup, steps)
        batch = sample_batch or q["sample_batch"]
        _, t = timed_sample(model, batch, batch, device, 0, 1, name, entry.get("sample"),
                            keep=False)
        per_batch = measure(model.sample, batch, **(entry.get("sample") or {}))
        gpu_train = [sec_ * tc.steps / 3600 for sec_ in step.gpu_seconds()]
        gpu_sample = [s_ * q["n_samples"] / batch / 3600 for s_ in per_batch.gpu_seconds()]
        train_h = sec * tc.steps / 3600
        sample_h = q["n_samples"] / t.images_per_s / 3600
        rows.append({"model": name, "family": entry["family"], "device": str(device),
                     "params": sum(p.numel() for p in model.parameters()),
                     "batch": tc.batch_size, "s_per_step": sec, "train_steps": tc.steps,
                     "train_hours": train_h, "nfe": t.nfe, "sample_batch": batch,
                     "images_per_s": t.images_per_s, "n_samples": q["n_samples"],
                     "sample_hours": sample_h, "total_hours": train_h + sample_h,
                     "train_tflop": step.flops * tc.steps / 1e12,
                     "sample_tflop": per_batch.flops / batch * q["n_samples"] / 1e12,
                     "kernels_per_step": step.kernels,
                     "gpu_hours_est": [t + s_ for t, s_ in zip(gpu_train, gpu_sample,
                                                                strict=True)]})
    return rows


def print_rows(rows: list[dict], header: str) -> None:
    print(header)
    print(f"{'model':7} {'params':>11} {'batch':>5} {'s/step':>8} {'steps':>7} {'train h':>8} "
          f"{'NFE':>4} {'img/s':>8} {'sample h':>9} {'total h':>8} {'TFLOP':>9} {'GPU h est.':>11}")
    for r in rows:
        print(f"{r['model']:7} {r['params']:11,d} {r['batch']:5d} {r['s_per_step']:8.3f} "
              f"{r['train_steps']:7d} {r['train_hours']:8.2f} {r['nfe']:4d} "
              f"{r['images_per_s']:8.1f} {r['sample_hours']:9.3f} {r['total_hours']:8.2f} "
              f"{r['train_tflop'] + r['sample_tflop']:9,.1f} "
              f"{r['gpu_hours_est'][0]:5.2f}-{r['gpu_hours_est'][1]:<5.2f}")
    tflop = sum(r["train_tflop"] + r["sample_tflop"] for r in rows)
    lo, hi = (sum(r["gpu_hours_est"][i] for r in rows) for i in (0, 1))
    print(f"all models: {sum(r['total_hours'] for r in rows):.1f} h here; {tflop:,.0f} TFLOP; "
          f"GPU estimate {lo:.1f}-{hi:.1f} h (divrec.cost: max(FLOPs / F, kernels x tau))")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--config", nargs="+", default=DEFAULT_CONFIG)
    ap.add_argument("--channels", type=int, default=3, help="3 for CIFAR-10, 1 for drawings")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--warmup", type=int, default=2, help="untimed training steps")
    ap.add_argument("--steps", type=int, default=3, help="timed training steps")
    ap.add_argument("--sample-batch", type=int, default=None,
                    help="timed sampling batch (default: quality.sample_batch)")
    ap.add_argument("--json", default=None, help="also write the rows here")
    a = ap.parse_args(argv)
    tune_malloc()  # as every workflow job does (divrec.snake.rule_context)
    if a.threads:
        torch.set_num_threads(a.threads)
    cfg = load_config(*a.config)
    device = pick_device(a.device)
    rows = cost_rows(cfg, device, a.channels, a.warmup, a.steps, a.sample_batch)
    print_rows(rows, f"{' + '.join(a.config)} on {device} ({torch.get_num_threads()} CPU "
                     f"threads), {a.channels} channels, {cfg['quality']['image_size']} px")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
