"""How good are the critics? The numbers every metric's quality rests on, beside the published.

* ProtoNet: 20-way one-shot accuracy with the class exemplars as supports and every other drawing
  as a query, over the evaluation's fixed tasks, on the test classes (= the human recognizability
  of the run) and on the held-out validation classes (what a recipe may be tuned on).
* SimCLR: NT-Xent of two augmented views at the published batch 448 (chance = log(2*448 - 1)).

Published (spec section 3, shipped logs): ProtoNet 97.80 % on the test classes at epoch 80;
SimCLR test NT-Xent about 5.05 at batch 448.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from divrec.critics.augment import simclr_view
from divrec.critics.simclr import nt_xent
from divrec.data.batches import step_generator
from divrec.data.splits import FewShotPart
from divrec.evaluate import Critics
from divrec.metrics.bootstrap import bootstrap_ci
from divrec.metrics.recognizability import make_tasks, recognizability

PUBLISHED = {"protonet_test_acc": 0.978, "simclr_test_ntxent_448": 5.05}
NTXENT_BATCH = 448


def protonet_accuracy(critics: Critics, part: FewShotPart, k_way: int = 20,
                      tasks_per_class: int = 500, seed: int = 44,
                      image_size: int | None = None) -> dict:
    """Mean per-class accuracy (with 95 % bootstrap CI over classes) of the evaluation's task
    construction on ``part``: supports = exemplars, queries = the other drawings."""
    c, m = part.images.shape[:2]
    k = min(k_way, c)
    imgs = (part.images.squeeze(2).cpu().numpy() * 255).round().astype(np.uint8)
    flat = imgs.reshape(c * m, *imgs.shape[2:])
    emb = critics.metric(flat, image_size or imgs.shape[-1]).view(c, m, -1)
    ex = part.exemplar.cpu()
    excluded = torch.zeros(c, m, dtype=torch.bool)
    excluded[torch.arange(c), ex] = True
    rec = recognizability(emb, emb[torch.arange(c), ex], make_tasks(c, k, tasks_per_class, seed),
                          excluded=excluded)
    mean, lo, hi = bootstrap_ci(rec.per_class.numpy(), 1000, 0.95, seed=seed)
    return {"acc": mean, "acc_lo": lo, "acc_hi": hi, "k_way": k, "n_classes": c}


@torch.no_grad()
def simclr_ntxent(model, part: FewShotPart, batch: int = NTXENT_BATCH, n_batches: int = 2,
                  seed: int = 0) -> dict:
    """Mean NT-Xent over ``n_batches`` seeded batches of two augmented views (batch capped by
    the part's size); chance is log(2 * batch - 1)."""
    model.eval()
    flat = part.images.flatten(0, 1)
    b = min(batch, len(flat))
    losses = []
    for i in range(n_batches):
        g = step_generator(seed, 20_000_000 + i)
        x = flat[torch.randperm(len(flat), generator=g)[:b].to(flat.device)]
        v = torch.cat([simclr_view(x, g, model.p.strength), simclr_view(x, g, model.p.strength)])
        z = model.projection(model.encoder(v)).float()
        losses.append(float(nt_xent(*z.chunk(2), model.p.temperature)))
    return {"ntxent": float(np.mean(losses)), "batch": b, "chance": math.log(2 * b - 1)}


def calibration_table(kind: str, model, parts: dict[str, FewShotPart], evaluation: dict,
                      train_info: dict) -> pd.DataFrame:
    """One row per measured quantity: kind, quantity, part, value, CI, published value (Omniglot
    test classes only: the published critics were measured there)."""
    rows = []
    omniglot = train_info.get("dataset", "omniglot") == "omniglot"
    if kind == "protonet":
        critics = Critics(model, model, next(model.parameters()).device)
        for name, part in parts.items():
            if part.n_classes < 2:
                continue
            r = protonet_accuracy(critics, part, evaluation["k_way"],
                                  evaluation["tasks_per_class"], evaluation["task_seed"],
                                  model.p.image_size)
            rows.append({"quantity": f"{r['k_way']}-way one-shot accuracy", "part": name,
                         "value": r["acc"], "lo": r["acc_lo"], "hi": r["acc_hi"],
                         "published": (PUBLISHED["protonet_test_acc"]
                                       if name == "test" and omniglot else None)})
    else:
        for name, part in parts.items():
            if part.n_classes < 1:
                continue
            r = simclr_ntxent(model, part)
            rows.append({"quantity": f"NT-Xent at batch {r['batch']} (chance {r['chance']:.2f})",
                         "part": name, "value": r["ntxent"], "lo": None, "hi": None,
                         "published": (PUBLISHED["simclr_test_ntxent_448"]
                                       if name == "test" and omniglot and r["batch"] == NTXENT_BATCH
                                       else None)})
    df = pd.DataFrame(rows).assign(**train_info)
    df.insert(0, "critic", kind)
    return df


def calibration_rule(job) -> None:
    """Body of the ``critic_calibration`` rule: the critics' tables, one below the other."""
    from divrec.io import save_parquet
    from divrec.provenance import provenance

    meta = provenance({"inputs": list(job.input)}, job.cfg["seed"], "cpu")
    table = pd.concat([pd.read_parquet(p) for p in job.input], ignore_index=True)
    save_parquet(table, job.output[0], meta)
