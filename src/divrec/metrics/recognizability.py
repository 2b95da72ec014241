"""Recognizability: 20-way one-shot classification of samples by the Prototypical Net.

Tasks follow the published construction: ``tasks_per_class`` copies of the class list are laid end
to end, cut into chunks of floor(C / k) * k consecutive labels (a chunk never repeats a class),
each chunk shuffled (seeded) and split into k-way tasks. With C = 150, k = 20 and 500 copies this
gives 3750 tasks in which every class appears exactly 500 times.

In every task the supports are the k exemplars; a query of class c is one of its samples.
``query_mode="fresh"`` is the published estimator (the published script generates one sample per
task): the j-th task of a class queries its j-th sample, so no two tasks share a sample (needs
``n_samples >= tasks_per_class``; a class with fewer, e.g. the humans' 19 drawings, draws as
``"random"`` does). ``"random"`` draws one sample per (task, class) from the set (seeded), reusing
samples when N < tasks. ``"all"`` scores every sample in every task of its class: the same
expectation as both with less variance, and a per-sample recognizability for the generalization
curves. Samples flagged ``excluded`` (the exemplar itself among human drawings) are never queries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

log = logging.getLogger(__name__)


def make_tasks(n_classes: int, k_way: int = 20, per_class: int = 500,
               seed: int = 44) -> torch.Tensor:
    """[T, k] class indices; every class appears in exactly ``per_class`` tasks."""
    if n_classes < k_way:
        raise ValueError(f"{k_way}-way tasks need at least {k_way} classes, got {n_classes}")
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n_classes).repeat(per_class)
    chunk = (n_classes // k_way) * k_way
    tasks = []
    for part in labels.split(chunk):
        part = part[torch.randperm(len(part), generator=g)]
        tasks.append(part[:len(part) // k_way * k_way].view(-1, k_way))
    return torch.cat(tasks)


@dataclass
class Recognizability:
    per_class: torch.Tensor  # [C] accuracy
    per_sample: torch.Tensor  # [C, N] accuracy over the class's tasks (NaN where excluded)
    p_true: torch.Tensor  # [C, N] mean softmax probability of the true class


def recognizability(query_emb: torch.Tensor, exemplar_emb: torch.Tensor, tasks: torch.Tensor,
                    excluded: torch.Tensor | None = None, query_mode: str = "all",
                    seed: int = 0, block: int = 256) -> Recognizability:
    """query_emb [C, N, D] (metric space), exemplar_emb [C, D], tasks [T, k] -> accuracies."""
    c, n, _ = query_emb.shape
    valid = torch.ones(c, n, dtype=torch.bool) if excluded is None else ~excluded.cpu()
    if (valid.sum(1) == 0).any():
        raise ValueError("every class needs at least one query sample")
    if query_mode not in ("all", "random", "fresh"):
        raise ValueError(f"unknown query_mode '{query_mode}'")
    q = query_emb.double().reshape(c * n, -1).cpu()
    e = exemplar_emb.double().cpu()
    d = (q.pow(2).sum(1, keepdim=True) + e.pow(2).sum(1)[None] - 2 * q @ e.t()).clamp_min(0)
    d = d.view(c, n, -1).permute(0, 2, 1)  # [C query class, C support class, N]
    k = tasks.shape[1]
    hits, probs = torch.zeros(2, c, n, dtype=torch.float64)
    counts, chosen_hits = torch.zeros(2, c, dtype=torch.float64)
    g = torch.Generator().manual_seed(seed)
    if query_mode == "fresh":  # classes with a distinct valid sample for each of their tasks
        usable = valid.sum(1) >= torch.bincount(tasks.reshape(-1), minlength=c)
        order = torch.argsort((~valid).to(torch.int8), dim=1, stable=True)  # valid ones first
        if not usable.all():
            log.warning("query_mode fresh: %d of %d classes have fewer samples than tasks; they "
                        "are queried as in 'random' (samples reused)", int((~usable).sum()), c)
    seen = torch.zeros(c, dtype=torch.long)
    for start in range(0, len(tasks), block):
        t = tasks[start:start + block]  # [B, k]
        dt = d[t[:, :, None], t[:, None, :]]  # [B, k query, k support, N]
        correct = dt.argmin(2) == torch.arange(k)[None, :, None]  # [B, k, N]
        p = torch.softmax(-dt, dim=2).diagonal(dim1=1, dim2=2).permute(0, 2, 1)  # [B, k, N]
        flat = t.reshape(-1)
        hits.index_add_(0, flat, correct.reshape(-1, n).double())
        probs.index_add_(0, flat, p.reshape(-1, n).double())
        counts.index_add_(0, flat, torch.ones_like(flat, dtype=torch.float64))
        if query_mode != "all":
            pick = torch.multinomial(valid[flat].double(), 1, generator=g).squeeze(1)
            if query_mode == "fresh":
                occurrence = seen[flat] + _rank_within(flat, c)
                seen += torch.bincount(flat, minlength=c)
                use = usable[flat]
                pick[use] = order[flat[use], occurrence[use]]
            got = correct.reshape(-1, n)[torch.arange(len(flat)), pick].double()
            chosen_hits.index_add_(0, flat, got)
    nan = torch.tensor(float("nan"), dtype=hits.dtype)
    per_sample = (hits / counts[:, None]).where(valid, nan)
    p_true = (probs / counts[:, None]).where(valid, nan)
    per_class = per_sample.nansum(1) / valid.sum(1) if query_mode == "all" else chosen_hits / counts
    return Recognizability(per_class.float(), per_sample.float(), p_true.float())


def _rank_within(flat: torch.Tensor, n_classes: int) -> torch.Tensor:
    """For each entry, how many earlier entries of ``flat`` hold the same class."""
    onehot = torch.nn.functional.one_hot(flat, n_classes)
    return (onehot.cumsum(0) - onehot).gather(1, flat[:, None]).squeeze(1)
