"""Benchmark: embed N generated + M training images and search generated -> training, the DS
k-NN rule's and the memorisation check's hot path (target: 50k x 20k in < 2 min on 2 CPU cores).

    python bench/bench_diverse.py [--gen 50000] [--train 20000] [--threads 2] [--out bench.json]

Images: the split's training images and jittered copies of them as "generated" samples when
results/omniglot/data/split.npz exists, else synthetic stroke drawings. Critic: the trained
SimCLR critic when results/omniglot/critics/simclr.pt exists, else an untrained one (weights do
not change the timing). Each search backend is timed on the same features; recall@k is measured
against the exact answer. The leave-one-out train -> train search (the memorisation threshold)
and the memorisation check (10 feature candidates, then ink IoU) are timed too; ``total_s`` is
what the pipeline runs: embedding, exact search, leave-one-out, memorisation.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from divrec.critics.fast_encoder import FusedEncoder
from divrec.critics.simclr import SimCLR, SimCLRParams
from divrec.device import limit_threads, tune_malloc
from divrec.diverse.neighbors import (
    SearchSettings,
    exact_knn,
    faiss_available,
    faiss_knn,
    ivf_knn,
    recall_at_k,
    refine,
)
from divrec.diverse.rules import memorisation
from divrec.evaluate import embed

ROOT = Path(__file__).resolve().parents[1]


def synthetic(n: int, rng: np.random.Generator, size: int = 50) -> np.ndarray:
    """uint8 [n, S, S]: three random bars per image (ink 255)."""
    out = np.zeros((n, size, size), np.uint8)
    ys, xs = rng.integers(8, size - 8, (2, n, 3))
    vertical = rng.random((n, 3)) < 0.5
    for i in range(n):
        for y, x, v in zip(ys[i], xs[i], vertical[i], strict=True):
            if v:
                out[i, y - 7:y + 7, x - 1:x + 1] = 255
            else:
                out[i, y - 1:y + 1, x - 7:x + 7] = 255
    return out


def images(n_gen: int, n_train: int, rng: np.random.Generator):
    split = ROOT / "results" / "omniglot" / "data" / "split.npz"
    if split.exists():
        with np.load(split) as z:
            train = z["train_images"].reshape(-1, *z["train_images"].shape[2:])
        train = train[rng.choice(len(train), min(n_train, len(train)), replace=False)]
        source = "omniglot split"
    else:
        train, source = synthetic(n_train, rng), "synthetic strokes"
    gen = np.roll(train[rng.integers(len(train), size=n_gen)], rng.integers(-2, 3), axis=-1)
    return gen, train, source


def timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gen", type=int, default=50_000)
    ap.add_argument("--train", type=int, default=20_000)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", help="write the numbers as JSON here")
    a = ap.parse_args()
    tune_malloc()  # as every workflow job does (divrec.snake.rule_context)
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    gen, train, source = images(a.gen, a.train, rng)
    critic_path = ROOT / "results" / "omniglot" / "critics" / "simclr.pt"
    if critic_path.exists():
        from divrec.critics.checkpoint import load_critic

        critic, critic_name = load_critic(critic_path), "trained SimCLR"
    else:
        critic, critic_name = SimCLR(SimCLRParams()).eval(), "untrained SimCLR"
    cpu = torch.device("cpu")
    r: dict = {"gen": len(gen), "train": len(train), "k": a.k, "threads": a.threads,
               "images": source, "critic": critic_name, "torch": torch.__version__,
               "cpu": platform.processor() or platform.machine()}
    with limit_threads(a.threads):
        fast = FusedEncoder(critic.encoder)  # what the DS extractor runs on CPU
        tf, r["embed_train_s"] = timed(embed, fast, train, cpu, 50, 64)
        gf, r["embed_gen_s"] = timed(embed, fast, gen, cpu, 50, 64)
        m = min(len(gen), 5000)
        plain, t_plain = timed(embed, critic.features, gen[:m], cpu, 50, 256)
        r["embed_plain_encoder_img_per_s"] = m / t_plain
        r["embed_fused_encoder_img_per_s"] = len(gen) / r["embed_gen_s"]
        r["fused_max_abs_diff"] = float((plain - gf[:m]).abs().max())
        st = SearchSettings()
        nlist, nprobe = st.lists(len(tf))
        r.update(nlist=nlist, nprobe=nprobe)
        exact, r["search_exact_s"] = timed(exact_knn, gf, tf, a.k)
        runs = [("ivf", ivf_knn)] + ([("faiss", faiss_knn)] if faiss_available() else [])
        for name, fn in runs:
            (_, idx), t = timed(fn, gf, tf, a.k, nlist, nprobe)
            _, t_refine = timed(refine, gf[:st.block], tf, idx[:st.block])
            r[f"search_{name}_s"] = t + t_refine * len(gf) / st.block
            r[f"recall_{name}"] = recall_at_k(idx, exact[1])
        loo, r["loo_train_exact_s"] = timed(exact_knn, tf, tf, 1, exclude_self=True)
        mem, r["memorisation_s"] = timed(memorisation, gf, tf, gen, train, loo[0][:, 0].numpy(),
                                         search=st)
        r["memorised_fraction"] = float(mem.memorised.mean())
    r["total_s"] = (r["embed_train_s"] + r["embed_gen_s"] + r["search_exact_s"]
                    + r["loo_train_exact_s"] + r["memorisation_s"])
    for key, val in r.items():
        print(f"{key:<30}{val:.3f}" if isinstance(val, float) else f"{key:<30}{val}")
    if a.out:
        Path(a.out).write_text(json.dumps(r, indent=2) + "\n")


if __name__ == "__main__":
    main()
