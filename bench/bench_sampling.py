"""Sampling throughput of ancestral (all T steps) vs fast DDIM sampling, side by side, on the
same model and the same batch; optionally the recognizability/diversity cost of the fast sampler
on a trained model, scored by the workflow's own critics.

    python bench/bench_sampling.py                       # untrained small U-Net, CPU or GPU
    python bench/bench_sampling.py --steps 10 25 50 --batch 256 --device cuda
    python bench/bench_sampling.py --checkpoint results/omniglot/models/cfgdm/base/model.pt \
        --quality --classes 150 --n-samples 5 --tasks-per-class 20

Only sampling is timed (after a warm-up, synchronised on GPU); no file I/O, no scoring.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from divrec.device import pick_device, tune_malloc
from divrec.models.registry import build_model

SMALL = {"n_feat": 8, "dim_mults": [1, 2], "blocks": 1, "attention": False, "dw_kernel": 3,
         "model_size": 28, "timesteps": 500}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_sampling(model, exemplars: torch.Tensor, repeats: int, **options) -> float:
    """Best wall time (s) of ``repeats`` calls of model.sample on ``exemplars``."""
    best = float("inf")
    for r in range(repeats):
        g = torch.Generator(device=exemplars.device).manual_seed(r)
        _sync(exemplars.device)
        t0 = time.perf_counter()
        model.sample(exemplars, g, **options)
        _sync(exemplars.device)
        best = min(best, time.perf_counter() - t0)
    return best


def throughput_table(model, device, batch: int, steps: list[int], guidance: float,
                     repeats: int, ancestral: bool) -> list[dict]:
    size = model.p.image_size
    ex = (torch.rand(batch, 1, size, size, generator=torch.Generator().manual_seed(0)) > 0.8)
    ex = ex.float().to(device)
    model.sample(ex[: min(batch, 8)], sampler="ddim", steps=2, guidance=guidance)  # warm-up
    rows = []
    runs = [("ddim", s) for s in steps] + ([("ancestral", model.schedule.T)] if ancestral else [])
    for name, s in runs:
        opts = {"sampler": name, "guidance": guidance, **({"steps": s} if name == "ddim" else {})}
        sec = time_sampling(model, ex, repeats, **opts)
        evals = s * batch * (2 if guidance else 1)
        rows.append({"sampler": name, "steps": s, "batch": batch, "seconds": sec,
                     "samples_per_s": batch / sec, "net_evals_per_s": evals / sec})
    base = next((r["seconds"] for r in rows if r["sampler"] == "ancestral"), None)
    for r in rows:
        r["speedup_vs_ancestral"] = base / r["seconds"] if base else float("nan")
    return rows


def print_table(rows: list[dict], header: str) -> None:
    print(header)
    cols = list(rows[0])
    print(" | ".join(f"{c:>20}" for c in cols))
    for r in rows:
        print(" | ".join(f"{v:>20.4g}" if isinstance(v, float) else f"{v!s:>20}"
                         for v in r.values()))


def quality(args, model, device) -> list[dict]:
    """Recognizability/diversity of the same trained model under each sampler, on the first
    ``--classes`` test classes (same exemplars, same seed), scored by the workflow's critics."""
    from divrec.data.splits import load_part
    from divrec.evaluate import Critics, EvalSettings, score
    from divrec.generate import model_samples
    from divrec.samples import SampleSet, quantize

    critics_dir = Path(args.critics)
    simclr, protonet = critics_dir / "simclr.pt", critics_dir / "protonet.pt"
    if not (simclr.exists() and protonet.exists()):
        print(f"no critics at {critics_dir} (simclr.pt, protonet.pt): skipping --quality")
        return []
    critics = Critics(simclr, protonet, device)
    test = load_part(args.split, "test", binary=model.binary).to(device)
    k = min(args.classes, test.n_classes)
    ex = test.exemplars()[:k]
    st = EvalSettings(n_samples=args.n_samples, k_way=min(20, k),
                      tasks_per_class=args.tasks_per_class, bootstrap=10)
    rows = []
    runs = [("ddim", s) for s in args.steps] + [("ancestral", None)]
    for name, s in runs:
        opts = {"sampler": name, "guidance": args.guidance, **({"steps": s} if s else {})}
        t0 = time.perf_counter()
        x = model_samples(model, ex, args.n_samples, 0, args.batch, desc=name, **opts)
        sec = time.perf_counter() - t0
        samples = quantize(x.flatten(0, 1)).reshape(k, args.n_samples, *x.shape[-2:])
        ss = SampleSet(samples, quantize(ex.cpu()), test.names[:k],
                       np.zeros((k, args.n_samples), dtype=bool))
        per_class, _ = score(ss, critics, st)
        rows.append({"sampler": name, "steps": s or model.schedule.T, "sample_seconds": sec,
                     "recognizability": float(per_class.recognizability.mean()),
                     "diversity": float(per_class.diversity.mean())})
    ref = rows[-1]
    for r in rows:
        r["d_recognizability"] = r["recognizability"] - ref["recognizability"]
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--family", default="cfgdm", choices=["ddpm", "cfgdm", "fsdm"])
    ap.add_argument("--params", default=json.dumps(SMALL), help="model params (JSON)")
    ap.add_argument("--checkpoint", help="a trained model.pt (else an untrained --params model)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, nargs="+", default=[25, 50])
    ap.add_argument("--guidance", type=float, default=0.0)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--no-ancestral", action="store_true", help="skip the slow T-step baseline")
    ap.add_argument("--quality", action="store_true",
                    help="also score both samplers with the critics (needs --checkpoint)")
    ap.add_argument("--critics", default="results/omniglot/critics")
    ap.add_argument("--split", default="results/omniglot/data/split.npz")
    ap.add_argument("--classes", type=int, default=150, help="test classes scored (--quality)")
    ap.add_argument("--n-samples", type=int, default=5)
    ap.add_argument("--tasks-per-class", type=int, default=20)
    args = ap.parse_args(argv)
    tune_malloc()  # as every workflow job does (divrec.snake.rule_context)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    if args.checkpoint:
        from divrec.models.registry import load_model

        model, _ = load_model(args.checkpoint, device)
    else:
        model = build_model(args.family, json.loads(args.params)).to(device).eval()
    n_params = sum(p.numel() for p in model.parameters())
    head = (f"{model.family} ({n_params} params, T={model.schedule.T}, model size "
            f"{model.size}) on {device} ({torch.get_num_threads()} CPU threads), "
            f"guidance {args.guidance}")
    print_table(throughput_table(model, device, args.batch, args.steps, args.guidance,
                                 args.repeats, not args.no_ancestral), head)
    if args.quality:
        if not args.checkpoint:
            print("--quality needs --checkpoint (a trained model)", file=sys.stderr)
            return 2
        rows = quality(args, model, device)
        if rows:
            print_table(rows, "\nquality (same model, same seed, test classes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
