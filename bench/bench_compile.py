"""Eager vs ``torch.compile``: one training step of chosen families, side by side.

    python bench/bench_compile.py [--config config/config.yaml] [--paper config/paper.yaml]
        [--only vae_ns dagan_un ddpm] [--sizes published] [--precision bf16] [--rounds 3]
        [--threads 2]

Each top-level submodule of a copy of the model (VAE-NS's encoders and decoder, a DA-GAN's
generator and critic, a U-Net) is compiled in place (``nn.Module.compile``, inductor), so the
model's own ``train_step`` runs unchanged on compiled parts. Not VAE-STN: its per-step maps run
through ``SharedLinear`` on its modules' weights, never through the modules' ``forward``, so
compiling them would change nothing. Compiling costs time once per
shape: the first compiled step's seconds are printed apart. Then eager and compiled copies (same
weights) alternate ``--rounds`` times in this one process and the median images/s of each and
their ratio are printed, as in bench_precision.py. On a CPU this needs a C++ compiler (inductor
writes C++). A model whose step the compiled modules cannot run (the DA-GANs' gradient penalty
differentiates twice, which compiled autograd does not support) is reported as such.
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
from bench_precision import add_size_args, alternate, oneshot, size_configs, time_steps


def compiled_copy(model: torch.nn.Module) -> torch.nn.Module:
    twin = copy.deepcopy(model)
    for child in twin.children():
        child.compile(dynamic=False)  # in place: the module keeps its type and indexing
    return twin


def compare(cfg: dict, name: str, precision: str, rounds: int) -> dict:
    torch.manual_seed(0)
    model, tc, batch, per_step = oneshot(cfg, name)
    model.train()
    twin = compiled_copy(model)
    t0 = time.perf_counter()
    try:
        time_steps(twin, tc, batch, precision, 0)
    except RuntimeError as e:  # e.g. WGAN-GP's double backward through compiled modules
        return {"name": name, "error": str(e).splitlines()[0]}
    first = time.perf_counter() - t0
    time_steps(model, tc, batch, precision, 0)
    timers = {kind: (lambda s, net=net: time_steps(net, tc, batch, precision, s))
              for kind, net in (("eager", model), ("compiled", twin))}
    ips = {k: per_step / s for k, s in alternate(timers, rounds).items()}
    return {"name": name, "first_compiled_step_s": first, **ips,
            "ratio": ips["compiled"] / ips["eager"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_size_args(ap, sizes=["published"])
    ap.add_argument("--only", nargs="+", default=["vae_ns", "dagan_un", "ddpm"])
    ap.add_argument("--precision", default="bf16", choices=["fp32", "bf16"])
    args = ap.parse_args()
    malloc, configs = size_configs(args)
    print("malloc tuning:", malloc)
    for size, cfg in configs.items():
        for name in args.only:
            r = compare(cfg, name, args.precision, args.rounds)
            if "error" in r:
                print(f"{size:9s} {name:9s} does not compile: {r['error']}", flush=True)
                continue
            print(f"{size:9s} {name:9s} {args.precision} eager {r['eager']:7.1f} img/s  compiled "
                  f"{r['compiled']:7.1f} img/s  ratio {r['ratio']:.2f}  (first compiled step "
                  f"{r['first_compiled_step_s']:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
