"""A critic recipe end to end: train it at each precision and seed, report its calibration.

    python bench/bench_critic_recipe.py [--config config/config.yaml] \
        [--split results/omniglot/data/split.npz] [--kinds protonet simclr] \
        [--precisions fp32 bf16] [--seeds 0 1] [--threads 2]

Each (kind, seed) is trained once per precision through the workflow's own ``train_critic`` (the
same batches, schedule and calibration as the ``train_critic`` rule), precisions alternating so
both see the same machine load. Prints training seconds and the calibration (ProtoNet 20-way
accuracy on validation and test classes, SimCLR NT-Xent at batch 448) per run: whether bf16
learns as well as fp32 (compare the gap with the spread over seeds) and what it costs.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
from pathlib import Path

import pandas as pd
import torch

from divrec.config import load_config
from divrec.critics.train import train_critic
from divrec.device import tune_malloc


def run(cfg: dict, kind: str, precision: str, seed: int, split: str, tmp: Path) -> pd.DataFrame:
    c = copy.deepcopy(cfg)
    c["precision"], c["seed"], c["device"] = precision, seed, "cpu"
    out = tmp / f"{kind}-{precision}-{seed}"
    train_critic(c, kind, "omniglot", split, str(out / "c.pt"), str(out / "h.parquet"),
                 str(out / "state"), str(out / "cal.parquet"))
    return pd.read_parquet(out / "cal.parquet").assign(seed=seed)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--config", nargs="+", default=["config/config.yaml"])
    ap.add_argument("--split", default="results/omniglot/data/split.npz")
    ap.add_argument("--kinds", nargs="+", default=["protonet", "simclr"])
    ap.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    tune_malloc()  # as every workflow job does (divrec.snake.rule_context)
    torch.set_num_threads(a.threads)
    cfg = load_config(*a.config)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in a.kinds:
            for i, seed in enumerate(a.seeds):
                order = a.precisions if i % 2 == 0 else a.precisions[::-1]
                for precision in order:
                    t = run(cfg, kind, precision, seed, a.split, Path(tmp))
                    rows.append(t)
                    for r in t.itertuples():
                        print(f"{kind:8} {r.precision:5} seed {seed}  {r.steps:5d} steps "
                              f"{r.train_seconds:7.1f} s  {r.part:4} {r.value:.4f}  "
                              f"({r.quantity})", flush=True)
    table = pd.concat(rows, ignore_index=True)
    print(table.groupby(["critic", "precision", "part"])[["value", "train_seconds"]]
          .agg(["mean", "std", "count"]).to_string())


if __name__ == "__main__":
    main()
