"""VAE-STN's fused step (SharedLinear, fused GEMMs, own affine grids) against its plain per-step
form (its modules called at every step, torch's affine_grid), side by side.

    python bench/bench_vae_stn.py [--config config/config.yaml] [--paper config/paper.yaml]
        [--sizes default published] [--rounds 3] [--threads 2]

The plain form is the one ``tests/test_shared_linear.py`` checks the model against (same outputs
and gradients in fp64), so the two differ only in how they compute. One step: forward over a
batch of random (target, exemplar) pairs, Bernoulli BCE + beta * KL, backward (no optimizer:
it is the same for both). fp32 and bf16 autocast, the four timers alternating ``--rounds``
times in this one process; median images/s and the fused/plain ratio per precision.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from bench_precision import add_size_args, alternate, oneshot, size_configs

from divrec.device import autocast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.test_shared_linear import plain_vae_stn_run  # noqa: E402


def step_timer(model, batch, run, precision: str):
    target, exemplar, _ = batch(0)

    def timer(_step: int) -> float:
        t0 = time.perf_counter()
        with autocast(torch.device("cpu"), precision):
            canvas, kl = run(target, exemplar)
        bce = F.binary_cross_entropy_with_logits(canvas.float(), target, reduction="none")
        loss = (bce.flatten(1).sum(1) + model.p.beta * kl.float()).mean()
        model.zero_grad(set_to_none=True)
        loss.backward()
        return time.perf_counter() - t0

    return timer


def compare(cfg: dict, rounds: int) -> dict[str, float]:
    torch.manual_seed(0)
    model, _, batch, per_step = oneshot(cfg, "vae_stn")
    runs = {"plain": lambda t, e: plain_vae_stn_run(model, t, e),
            "fused": lambda t, e: model._run(e, t)}
    timers = {f"{kind} {p}": step_timer(model, batch, run, p)
              for p in ("fp32", "bf16") for kind, run in runs.items()}
    for timer in timers.values():  # warm-up: first oneDNN calls of each precision build kernels
        timer(0)
    return {k: per_step / s for k, s in alternate(timers, rounds).items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_size_args(ap)
    args = ap.parse_args()
    malloc, configs = size_configs(args)
    print("malloc tuning:", malloc)
    for size, cfg in configs.items():
        ips = compare(cfg, args.rounds)
        for p in ("fp32", "bf16"):
            print(f"{size:9s} {p}  plain {ips[f'plain {p}']:7.1f} img/s  fused "
                  f"{ips[f'fused {p}']:7.1f} img/s  ratio "
                  f"{ips[f'fused {p}'] / ips[f'plain {p}']:.2f}", flush=True)


if __name__ == "__main__":
    main()
