"""The optimizers every divrec model builds, with torch's multi-tensor ("foreach") kernels.

On a CPU torch's default is the single-tensor path: a Python loop of ~10 small ops per parameter
tensor per step, which for the default run's small models (130-140 tensors, 0.08-1.7 M weights)
costs more than the update's arithmetic. The foreach kernels do the same operations in the same
order, so every weight is bit-identical after any number of steps (``tests/test_training.py``, and
``bench/bench_optimizer.py`` per family). Measured on one AVX2 core, default sizes: the optimizer
step alone 1.3-2.5x faster (DDPM 6.0 -> 2.6 ms, DA-GAN-UN 6.6 -> 3.3, VAE-STN 7.5 -> 5.8), a
whole training step 1.06-1.08x for the DA-GANs, ~1.02x for the VAEs, within noise for the
critics and U-Nets, whose steps are dominated by convolutions. Not ``fused=True``: 4-7x faster
still, but it rounds differently (1 ulp), which would move every result of every run.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


def adam(params: Iterable[torch.nn.Parameter], **kwargs) -> torch.optim.Adam:
    return torch.optim.Adam(params, foreach=True, **kwargs)


def rmsprop(params: Iterable[torch.nn.Parameter], **kwargs) -> torch.optim.RMSprop:
    return torch.optim.RMSprop(params, foreach=True, **kwargs)


@torch.no_grad()
def ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model for parameters (one foreach lerp, bit-identical
    to a per-tensor ``lerp_``); buffers (BatchNorm statistics) are copied."""
    weights = list(ema.parameters()), list(model.parameters())
    if weights[0]:  # the foreach kernels refuse empty lists
        torch._foreach_lerp_(*weights, 1.0 - decay)
    buffers = list(ema.buffers()), list(model.buffers())
    if buffers[0]:
        torch._foreach_copy_(*buffers)
