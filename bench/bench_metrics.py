"""Benchmark: critic feature extraction + metric computation, batched tensors vs. the published
per-item PIL pipeline, measured side by side in one run.

    python bench/bench_metrics.py [--classes 150] [--samples 20] [--tasks-per-class 500]

Published style: every image goes through PIL Resize -> ToTensor -> min-max -> binarise on its own,
and recognizability runs the ProtoNet on each task's 40-image batch (20 supports + 20 queries),
re-embedding the exemplars in every task. divrec: one batched resize/binarise, each image embedded
once, then all 3750 tasks scored with a gather. Critic weights do not change the timing, so
untrained critics are used when no trained ones exist.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from PIL import Image

from divrec.critics.protonet import ProtoNet, ProtoNetParams
from divrec.critics.simclr import SimCLR, SimCLRParams
from divrec.device import tune_malloc
from divrec.evaluate import Critics
from divrec.metrics.diversity import diversity
from divrec.metrics.recognizability import make_tasks, recognizability


def pil_view(img: np.ndarray, size: int = 50) -> torch.Tensor:
    x = np.asarray(Image.fromarray(img).resize((size, size), Image.BILINEAR), np.float32) / 255
    x = (x - x.min()) / max(x.max() - x.min(), 1e-12)
    return torch.from_numpy((x > 0.5).astype(np.float32))[None]


def published(simclr, proto, samples, exemplars, tasks, n_tasks):
    c, n = samples.shape[:2]
    t0 = time.perf_counter()
    with torch.no_grad():
        feats = torch.stack([simclr.features(torch.stack([pil_view(s) for s in samples[i]]))
                             for i in range(c)])
        diversity(feats)
    t_div = time.perf_counter() - t0
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for t in tasks[:n_tasks].tolist():
            sup = torch.stack([pil_view(exemplars[k]) for k in t])
            qry = torch.stack([pil_view(samples[k, rng.integers(n)]) for k in t])
            z = proto.embed(torch.cat([sup, qry]))
            ((z[20:, None] - z[None, :20]) ** 2).sum(-1).argmin(1)
    t_rec = (time.perf_counter() - t0) * len(tasks) / n_tasks  # extrapolated to all tasks
    return t_div, t_rec


def batched(simclr, proto, samples, exemplars, tasks):
    """What ``divrec.evaluate.score`` runs: the critics' fused CPU encoders, batched."""
    c, n = samples.shape[:2]
    critics = Critics(simclr, proto, "cpu")
    flat = samples.reshape(c * n, *samples.shape[2:])
    t0 = time.perf_counter()
    diversity(critics.features(flat).view(c, n, -1))
    t_div = time.perf_counter() - t0
    t0 = time.perf_counter()
    recognizability(critics.metric(flat).view(c, n, -1), critics.metric(exemplars), tasks)
    return t_div, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--classes", type=int, default=150)
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--tasks-per-class", type=int, default=500)
    ap.add_argument("--published-tasks", type=int, default=100,
                    help="tasks actually timed for the per-task baseline (extrapolated)")
    a = ap.parse_args()
    tune_malloc()  # as every workflow job does (divrec.snake.rule_context)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    samples = ((rng.random((a.classes, a.samples, 50, 50)) > 0.8) * 255).astype(np.uint8)
    exemplars = samples[:, 0].copy()
    simclr, proto = SimCLR(SimCLRParams()).eval(), ProtoNet(ProtoNetParams()).eval()
    tasks = make_tasks(a.classes, 20, a.tasks_per_class, 44)
    images = a.classes * a.samples
    warm = make_tasks(min(a.classes, 20), min(a.classes, 20), 1, 0)  # first calls build kernels
    batched(simclr, proto, samples[:20], exemplars[:20], warm)
    published(simclr, proto, samples[:20], exemplars[:20], warm, 1)
    b = batched(simclr, proto, samples, exemplars, tasks)
    p = published(simclr, proto, samples, exemplars, tasks, a.published_tasks)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"{a.classes} classes x {a.samples} samples, {len(tasks)} tasks")
    print(f"{'stage':<28}{'published (s)':>15}{'divrec (s)':>12}{'speed-up':>10}")
    for name, pv, bv in (("diversity (features)", p[0], b[0]),
                         ("recognizability (tasks)", p[1], b[1]),
                         ("total", sum(p), sum(b))):
        print(f"{name:<28}{pv:>15.2f}{bv:>12.2f}{pv / bv:>9.1f}x")
    print(f"divrec throughput: {2 * images / sum(b):.0f} images/s through both critics + metrics")


if __name__ == "__main__":
    main()
