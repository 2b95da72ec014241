"""Benchmark: sampling throughput of DCGAN, DDPM and DDGAN at equal batch size, side by side in
one run, with the DDGAN/DDPM speed ratio.

    python bench/bench_quality_sampling.py [--config config/config.yaml ...] [--batch 250]
        [--batches 4] [--results results --dataset omniglot] [--device auto] [--threads 1]

Uses the timing code of the workflow (divrec.quality.sample.timed_sample: warm-up batch, fixed
batch size, device synchronised around each batch, sampling only). Weights do not change the
cost of a forward pass, so trained checkpoints are used when they exist under
``results/quality/<dataset>/models/`` and freshly initialised models of the configured sizes
otherwise (the table says which). Sizes, image size and sampler options come from the config's
``quality`` section, so ``--config config/config.yaml config/paper.yaml`` times the published
sizes.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

import torch

from divrec.config import load_config
from divrec.device import pick_device, tune_malloc
from divrec.quality.registry import build, load_model
from divrec.quality.sample import timed_sample


def _model(entry: dict, ckpt: Path, image_size: int, channels: int, device):
    if ckpt.exists():
        return load_model(ckpt, device)[0], "trained"
    params = {"image_size": image_size, "channels": channels, **(entry.get("params") or {})}
    return build(entry["family"], params).to(device).eval(), "untrained"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--config", nargs="+", default=["config/config.yaml"])
    ap.add_argument("--results", default="results")
    ap.add_argument("--dataset", default="omniglot")
    ap.add_argument("--channels", type=int, default=None, help="default: 3 for cifar10, else 1")
    ap.add_argument("--batch", type=int, default=None, help="default: quality.sample_batch")
    ap.add_argument("--batches", type=int, default=4)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--json", default=None, help="also write the rows here")
    a = ap.parse_args(argv)
    tune_malloc()  # as every workflow job does (divrec.snake.rule_context)
    if a.threads:
        torch.set_num_threads(a.threads)
    q = load_config(*a.config)["quality"]
    device = pick_device(a.device)
    batch = a.batch or q["sample_batch"]
    channels = a.channels or (3 if a.dataset == "cifar10" else 1)
    rows = []
    for name, entry in q["models"].items():
        ckpt = Path(a.results) / "quality" / a.dataset / "models" / name / "model.pt"
        model, kind = _model(entry, ckpt, q["image_size"], channels, device)
        _, t = timed_sample(model, batch * a.batches, batch, device, 0, 1, name,
                            entry.get("sample"), keep=False)
        rows.append({**asdict(t), "weights": kind, "image_size": model.image_size,
                     "n_params": sum(p.numel() for p in model.parameters())})
    print(f"device {device}, batch {batch}, {a.batches} timed batches after 1 warm-up, "
          f"{torch.get_num_threads()} CPU threads")
    print(f"{'model':8} {'family':7} {'weights':9} {'px':>3} {'NFE':>5} {'img/s':>10} "
          f"{'ms/img':>9} {'params':>10}")
    for r in rows:
        print(f"{r['model']:8} {r['family']:7} {r['weights']:9} {r['image_size']:3d} "
              f"{r['nfe']:5d} {r['images_per_s']:10.1f} {1000 * r['s_per_image']:9.3f} "
              f"{r['n_params']:10,d}")
    by = {r["family"]: r for r in rows}
    if "ddgan" in by and "ddpm" in by:
        ratio = by["ddgan"]["images_per_s"] / by["ddpm"]["images_per_s"]
        print(f"DDGAN/DDPM throughput ratio: {ratio:.2f}x "
              f"(NFE {by['ddgan']['nfe']} vs {by['ddpm']['nfe']})")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
