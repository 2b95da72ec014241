"""Device-independent cost of a piece of PyTorch work: FLOPs and eager kernel launches.

Used to estimate GPU time where no GPU is at hand (``docs/scaling.md``,
``bench/bench_quality_cost.py``): one step takes about ``max(FLOPs / F, kernels x tau)`` on a
GPU that sustains F FLOP/s, with tau the launch-and-dispatch overhead of one eager op. Small
models on a big GPU are usually launch-bound, which the FLOP count alone would hide.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

#: aten ops that only reinterpret memory: no kernel is launched for them
VIEWS = frozenset({"t", "transpose", "expand", "permute", "unsqueeze", "squeeze", "select",
                   "slice", "detach", "alias", "_unsafe_view", "as_strided", "view",
                   "_reshape_alias", "reshape"})

#: the estimate's range: sustained bf16 FLOP/s of an H100-class card on small convnets
#: (5-15 % of peak), and the eager launch overhead per op
GPU_FLOPS = (150e12, 50e12)
LAUNCH_S = (5e-6, 10e-6)


class StepCost(TorchDispatchMode):
    """Sums torch's per-op FLOP formulas and counts non-view ops. No module hooks (unlike
    ``FlopCounterMode``), so double backward (WGAN-GP, R1 penalties) works under it."""

    flops = kernels = 0  # per instance once counted (``+=`` on an int sets the instance's own)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.flops += formula(*args, **kwargs, out_val=out)
        if func.__name__.split(".")[0] not in VIEWS:
            self.kernels += 1
        return out


@dataclass(frozen=True)
class Cost:
    flops: int
    kernels: int

    def gpu_seconds(self) -> tuple[float, float]:
        """(optimistic, pessimistic) GPU seconds: max(FLOPs / F, kernels x tau)."""
        return tuple(max(self.flops / f, self.kernels * tau)
                     for f, tau in zip(GPU_FLOPS, LAUNCH_S, strict=True))


def measure(fn, *args, **kwargs) -> Cost:
    """Cost of running ``fn(*args, **kwargs)`` once."""
    with StepCost() as counter:
        fn(*args, **kwargs)
    return Cost(counter.flops, counter.kernels)
