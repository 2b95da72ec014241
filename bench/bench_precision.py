"""fp32 vs bf16 autocast: one training step of every family and both critics, side by side.

    python bench/bench_precision.py [--config config/config.yaml] [--paper config/paper.yaml]
        [--rounds 3] [--threads 2] [--only protonet simclr vae_stn dcgan ...]
        [--sizes default published] [--precisions fp32 bf16]

For each one-shot model entry (its first sweep point), each quality model (DCGAN/DDPM/DDGAN, at
the config's quality image size; CIFAR-10's 3 channels at the published size) and each critic,
at the default config's size and at the published size (``--paper`` merged over the default),
the script builds the model, draws batches of the model's own kind from random drawings (cost
does not depend on pixel values), warms both precisions up, then alternates fp32 and bf16 steps
``--rounds`` times in this one process (these machines are noisy; alternating puts both under
the same load) and prints the median images/s of each and their ratio. On a CPU without native
bf16 it times fp32 only unless ``--precisions`` asks for both. "Images" are what one step
consumes: a batch of pairs or images, sets x set size, a ProtoNet episode's supports +
queries, SimCLR's batch (before its two views). The step is the Trainer's:
``model.train_step`` under ``divrec.device.autocast``.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from math import nan

import torch
from bench_oneshot_cost import random_part

from divrec.config import load_config, train_config
from divrec.critics.checkpoint import build_critic
from divrec.critics.protonet import episode
from divrec.data.batches import images, step_generator
from divrec.data.preprocess import IMAGE_SIZE
from divrec.device import autocast, cpu_bf16_flags, tune_malloc
from divrec.models.registry import build_model
from divrec.points import model_points
from divrec.quality.registry import build as build_quality
from divrec.training.run import batch_function, model_params


def oneshot(cfg: dict, name: str):
    entry = cfg["models"][name]
    dataset = entry.get("datasets", ["omniglot"])[0]
    point = next(p for p in model_points(cfg) if p.model == name and p.dataset == dataset)
    params = model_params(cfg, dataset, name, point.train_name)
    model = build_model(entry["family"], params)
    tc = train_config(cfg, entry.get("train"))
    per_step = tc.batch_size * (model.set_size if model.batch_kind == "sets" else 1)
    part = random_part(params.get("image_size", IMAGE_SIZE))
    return model, tc, batch_function(model, part, tc), per_step


def quality(cfg: dict, name: str):
    q = cfg["quality"]
    entry = q["models"][name]
    channels = 3 if "cifar10" in q["datasets"] else 1
    params = {"image_size": q["image_size"], "channels": channels, **(entry.get("params") or {})}
    model = build_quality(entry["family"], params)
    tc = train_config(cfg, entry.get("train"))
    x = torch.rand(tc.batch_size, channels, q["image_size"], q["image_size"],
                   generator=torch.Generator().manual_seed(0)) * 2 - 1
    return model, tc, lambda s: x, tc.batch_size


def critic(cfg: dict, kind: str):
    section = copy.deepcopy(cfg["critics"][kind])
    tc = train_config(cfg, section.pop("train", None))
    section["image_size"] = cfg["evaluation"]["image_size"]
    model = build_critic(kind, section)
    part = random_part(section["image_size"], classes=max(200, model.p.__dict__.get("k_way", 0)))
    if kind == "protonet":
        k, q = model.p.k_way, model.p.n_query
        return model, tc, lambda s: episode(part, k, q, step_generator(0, s)), k * (1 + q)
    return (model, tc, lambda s: (images(part, tc.batch_size, step_generator(0, s)),
                                  step_generator(1, s)), tc.batch_size)


def time_steps(model, tc, batch, precision: str, step: int) -> float:
    """Seconds per step, averaged over one cycle of the model's step types (a GAN's ``c_iter``
    critic steps include one generator step; one step for everything else)."""
    opts = model.configure_optimizers(tc)
    cycle = getattr(getattr(model, "p", None), "c_iter", 1) or 1
    steps = range(step * cycle, (step + 1) * cycle)
    batches = [batch(s) for s in steps]
    t0 = time.perf_counter()
    with autocast(torch.device("cpu"), precision):
        for s, b in zip(steps, batches):
            model.train_step(b, opts, s, tc)
    return (time.perf_counter() - t0) / cycle


def alternate(timers: dict, rounds: int) -> dict[str, float]:
    """Median seconds of each ``timers[name](step)``, called in turn for ``rounds`` rounds
    (steps 1..rounds), the order reversed every other round so both share the machine's load."""
    seconds: dict[str, list[float]] = {k: [] for k in timers}
    for r in range(rounds):
        for k in (list(timers) if r % 2 == 0 else list(timers)[::-1]):
            seconds[k].append(timers[k](r + 1))
    return {k: statistics.median(s) for k, s in seconds.items()}


def compare(build, cfg, name, rounds: int, precisions=("fp32", "bf16")) -> dict:
    torch.manual_seed(0)
    model, tc, batch, per_step = build(cfg, name)
    model.train()
    timers = {p: (lambda s, p=p: time_steps(model, tc, batch, p, s)) for p in precisions}
    for timer in timers.values():  # warm-up: first oneDNN calls of each precision build kernels
        timer(0)
    ips = {p: per_step / s for p, s in alternate(timers, rounds).items()}
    ratio = ips["bf16"] / ips["fp32"] if {"fp32", "bf16"} <= ips.keys() else nan
    return {"name": name, "images_per_step": per_step, **ips, "ratio": ratio}


def add_size_args(ap: argparse.ArgumentParser, sizes=("default", "published")) -> None:
    """The options of every side-by-side bench here: configs, sizes, rounds, threads."""
    ap.add_argument("--config", default="config/config.yaml")
    ap.add_argument("--paper", default="config/paper.yaml")
    ap.add_argument("--sizes", nargs="+", default=list(sizes), choices=["default", "published"])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)


def size_configs(a: argparse.Namespace) -> tuple[bool, dict[str, dict]]:
    """Tune malloc as every workflow job does (divrec.snake.rule_context) and set the threads;
    -> (malloc tuned?, {size: config}): the default config, or ``--paper`` merged over it."""
    malloc = tune_malloc()
    torch.set_num_threads(a.threads)
    return malloc, {size: load_config(a.config, a.paper) if size == "published"
                    else load_config(a.config) for size in a.sizes}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add_size_args(ap)
    ap.add_argument("--only", nargs="*", default=None, help="entry or critic names")
    ap.add_argument("--precisions", nargs="+", choices=["fp32", "bf16"], default=None,
                    help="default: both where the CPU has native bf16, else fp32 only (emulated "
                         "bf16 is several times slower than fp32 and would only stretch the run)")
    a = ap.parse_args(argv)
    flags = cpu_bf16_flags()
    precisions = a.precisions or (["fp32", "bf16"] if flags else ["fp32"])
    malloc, configs = size_configs(a)
    base = load_config(a.config)
    print(f"{a.threads} threads, CPU bf16 flags: {flags or 'none'}, "
          f"median of {a.rounds} alternating steps, malloc tuning {'on' if malloc else 'off'}")
    print(f"{'size':9} {'what':9} {'img/step':>8} {'fp32 img/s':>10} {'bf16 img/s':>10} "
          f"{'bf16/fp32':>9}")
    for size, cfg in configs.items():
        jobs = [(critic, k) for k in ("protonet", "simclr")]
        jobs += [(oneshot, m) for m in cfg["models"] if m in base["models"]]
        jobs += [(quality, m) for m in cfg["quality"]["models"]]  # printed as q.<name>
        for build, name in jobs:
            label = f"q.{name}" if build is quality else name
            if a.only and name not in a.only and label not in a.only:
                continue
            r = compare(build, cfg, name, a.rounds, precisions)
            print(f"{size:9} {label:9} {r['images_per_step']:8d} {r.get('fp32', nan):10.1f} "
                  f"{r.get('bf16', nan):10.1f} {r['ratio']:9.2f}", flush=True)


if __name__ == "__main__":
    main()
