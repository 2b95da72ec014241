"""torch's per-tensor optimizer loop vs the foreach kernels divrec uses: one training step of
every family and both critics, side by side, and the weights compared bit for bit.

    python bench/bench_optimizer.py [--config config/config.yaml] [--sizes default published]
        [--rounds 5] [--steps 4] [--threads 1] [--only ddpm vae_ns ...]

For each entry (its first sweep point) and critic, two copies of the model with the same
initial weights train on the same batches with the same RNG state per step: one with the
optimizers as divrec builds them (``training/optim.py``: foreach Adam/RMSprop, foreach EMA
lerp where the entry has an EMA), one with ``foreach=False`` and the per-tensor EMA loop
(torch's CPU default). They alternate ``--steps`` steps at a time for ``--rounds`` rounds, the
order reversed every other round (these machines are noisy), and the script prints the median
milliseconds per step of each, their ratio, and whether every weight ended bit-identical. The
default threads is 1, as in the workflow's jobs on a 2-core machine.
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
from bench_precision import add_size_args, alternate, critic, oneshot, size_configs

from divrec.device import autocast, resolve_precision
from divrec.training.optim import ema_update


def per_tensor(opts: dict) -> dict:
    """The same optimizers with torch's CPU default, the single-tensor loop."""
    return {k: type(o)(o.param_groups[0]["params"], **{**o.defaults, "foreach": False})
            for k, o in opts.items()}


def lerp_loop(ema, model, decay: float) -> None:
    with torch.no_grad():
        for pe, p in zip(ema.parameters(), model.parameters()):
            pe.lerp_(p, 1.0 - decay)
        for be, b in zip(ema.buffers(), model.buffers()):
            be.copy_(b)


class Arm:
    def __init__(self, model, tc, foreach: bool):
        self.model, self.tc = model, tc
        opts = model.configure_optimizers(tc)
        self.opts = opts if foreach else per_tensor(opts)
        self.ema = copy.deepcopy(model).requires_grad_(False) if tc.ema else None
        self.update = ema_update if foreach else lerp_loop

    def run(self, batch, steps: range, precision: str) -> float:
        """Seconds per step over ``steps``."""
        batches = [batch(s) for s in steps]
        t0 = time.perf_counter()
        for s, b in zip(steps, batches):
            torch.manual_seed(s)
            with autocast(torch.device("cpu"), precision):
                self.model.train_step(b, self.opts, s, self.tc)
            if self.ema is not None:
                self.update(self.ema, self.model, self.tc.ema)
        return (time.perf_counter() - t0) / len(steps)


def compare(build, cfg, name: str, rounds: int, steps: int) -> dict:
    torch.manual_seed(0)
    model, tc, batch, _ = build(cfg, name)
    model.train()
    precision = resolve_precision(tc.precision or cfg.get("precision", "auto"),
                                  torch.device("cpu"))
    arms = {"loop": Arm(copy.deepcopy(model), tc, False), "foreach": Arm(model, tc, True)}
    timers = {k: (lambda r, arm=arm: arm.run(batch, range(r * steps, (r + 1) * steps), precision))
              for k, arm in arms.items()}
    for timer in timers.values():  # steps of round 0 warm both up (first steps allocate state)
        timer(0)
    ms = {k: 1e3 * s for k, s in alternate(timers, rounds).items()}
    same = all(torch.equal(a, b) for a, b in zip(arms["loop"].model.state_dict().values(),
                                                  arms["foreach"].model.state_dict().values()))
    return {"ms": ms, "ratio": ms["loop"] / ms["foreach"], "same": same, "precision": precision}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add_size_args(ap, sizes=("default",))
    ap.set_defaults(threads=1, rounds=5)
    ap.add_argument("--steps", type=int, default=4, help="steps per arm and round")
    ap.add_argument("--only", nargs="*", default=None)
    a = ap.parse_args(argv)
    _, configs = size_configs(a)
    print(f"{a.threads} thread(s), median of {a.rounds} rounds of {a.steps} steps per arm")
    print(f"{'size':9} {'what':9} {'prec':5} {'loop ms':>8} {'foreach ms':>10} {'speed-up':>8} "
          f"{'bit-identical':>13}")
    for size, cfg in configs.items():
        jobs = [(critic, k) for k in ("protonet", "simclr")] + [(oneshot, m) for m in cfg["models"]]
        for build, name in jobs:
            if a.only and name not in a.only:
                continue
            r = compare(build, cfg, name, a.rounds, a.steps)
            print(f"{size:9} {name:9} {r['precision']:5} {r['ms']['loop']:8.1f} "
                  f"{r['ms']['foreach']:10.1f} {r['ratio']:8.3f} {str(r['same']):>13}",
                  flush=True)


if __name__ == "__main__":
    main()
