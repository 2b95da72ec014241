"""Are diverse samples useful? The published OI / VGS / DS comparison, on Omniglot test classes.

Protocol (seeded, CPU-cheap, the same for every model point):
* classes: a fixed random subset (seed 0) of ``classes`` of the samples file's (test) classes,
  the same for every point and seed, so only the training set differs between rows;
* real training shots: the class exemplar (the very image the generator was conditioned on),
  then the next ``shots - 1`` drawings by drawer order; every other drawing of the class is
  held out for testing, so no condition ever sees a test drawing;
* conditions, all trained for the same number of steps (equal compute, so a larger training set
  buys nothing but variety): ``original`` (OI: the shots), ``original+generated`` (VGS: plus all
  generated samples of the class), ``original+diverse`` (DS: plus only the samples the
  ``downstream.rule`` calls diverse), ``original+matched`` (plus as many random generated samples
  per class as DS has: separates "diverse" from "fewer");
* classifier: the critics' 4-block conv encoder with a linear head over the classes, width
  ``width``, images through ``evaluation_view`` at ``image_size``; Adam, batches drawn with
  replacement, no augmentation; under the run's training precision (bf16 autocast where the
  CPU has it: 1.5x faster per training, measured on one core);
* reported: per-class accuracy on the held-out drawings, and its change against ``original``
  for the same seed and class (the published table's "change" column).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from divrec.critics.encoder import Encoder
from divrec.data.preprocess import evaluation_view
from divrec.device import autocast
from divrec.errors import DataError
from divrec.metrics.bootstrap import bootstrap_ci
from divrec.training.optim import adam

CONDITIONS = ("original", "original+generated", "original+diverse", "original+matched")


def train_classifier(x: torch.Tensor, y: torch.Tensor, n_classes: int, st,
                     seed: int, precision: str = "fp32") -> torch.nn.Module:
    """``x`` [M, 1, S, S] binary, ``y`` [M]; ``st``: DownstreamSettings; ``precision``: resolved
    (``device.resolve_precision``)."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = Encoder(n_classes, st.image_size, st.width)
    opt = adam(model.parameters(), lr=st.lr)
    model.train()
    for _ in range(st.steps):
        i = torch.randint(len(x), (st.batch_size,), generator=g)
        with autocast(x.device, precision):
            loss = F.cross_entropy(model(x[i]), y[i])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model.eval()


@torch.no_grad()
def per_class_accuracy(model, x: torch.Tensor, y: torch.Tensor, n_classes: int) -> np.ndarray:
    pred = torch.cat([model(x[i:i + 1024]).argmax(1) for i in range(0, len(x), 1024)])
    hit = (pred == y).float()
    return (torch.zeros(n_classes).index_add_(0, y, hit)
            / torch.bincount(y, minlength=n_classes).clamp_min(1)).numpy()


def shots_and_held_out(m: int, exemplar: int, shots: int) -> tuple[np.ndarray, np.ndarray]:
    order = [exemplar] + [i for i in range(m) if i != exemplar]
    return np.array(order[:shots]), np.array(sorted(order[shots:]))


def downstream(samples: np.ndarray, class_names: list[str], diverse: np.ndarray,
               test_images: np.ndarray, test_exemplar: np.ndarray, test_names: list[str],
               st, precision: str = "fp32") -> pd.DataFrame:
    """``samples`` uint8 [C, N, H, W]; ``diverse`` bool [C, N]; ``test_*`` the split's test part.
    -> long table: seed, condition, class (index in the samples file and name), n_train,
    accuracy, delta (vs ``original``)."""
    where = {n: i for i, n in enumerate(test_names)}
    if any(n not in where for n in class_names):
        raise DataError("downstream: the samples' classes are not test classes of the split")
    c = len(class_names)
    chosen = np.sort(np.random.default_rng(0).permutation(c)[:min(st.classes, c)])
    if len(chosen) < 2:
        raise DataError("downstream needs at least 2 classes")
    if test_images.shape[1] <= st.shots:
        raise DataError(f"downstream: {st.shots} shots leave no held-out drawing")

    def view(a: np.ndarray) -> torch.Tensor:
        return evaluation_view(a.reshape(-1, *a.shape[-2:]), st.image_size)

    real_x, real_y, test_x, test_y = [], [], [], []
    for label, ci in enumerate(chosen):
        t = where[class_names[ci]]
        shot, held = shots_and_held_out(test_images.shape[1], int(test_exemplar[t]), st.shots)
        real_x.append(test_images[t, shot])
        real_y += [label] * len(shot)
        test_x.append(test_images[t, held])
        test_y += [label] * len(held)
    real_x, test_x = view(np.concatenate(real_x)), view(np.concatenate(test_x))
    real_y, test_y = torch.tensor(real_y), torch.tensor(test_y)

    rows, n = [], samples.shape[1]
    for seed in st.seeds:
        rng = np.random.default_rng(seed)
        for cond in CONDITIONS:
            gen_x, gen_y = [], []
            for label, ci in enumerate(chosen):
                if cond == "original+generated":
                    keep = np.arange(n)
                elif cond == "original+diverse":
                    keep = np.flatnonzero(diverse[ci])
                elif cond == "original+matched":
                    keep = np.sort(rng.choice(n, int(diverse[ci].sum()), replace=False))
                else:
                    continue
                gen_x.append(samples[ci, keep])
                gen_y += [label] * len(keep)
            x = torch.cat([real_x] + ([view(np.concatenate(gen_x))] if gen_y else []))
            y = torch.cat([real_y, torch.tensor(gen_y, dtype=torch.long)])
            model = train_classifier(x, y, len(chosen), st, seed, precision)
            acc = per_class_accuracy(model, test_x, test_y, len(chosen))
            n_train = torch.bincount(y, minlength=len(chosen)).numpy()
            rows += [{"seed": seed, "condition": cond, "class_index": int(ci),
                      "class_name": class_names[ci], "n_train": int(n_train[j]),
                      "accuracy": float(acc[j])} for j, ci in enumerate(chosen)]
    df = pd.DataFrame(rows)
    base = df[df["condition"] == "original"].set_index(["seed", "class_index"])["accuracy"]
    keys = pd.MultiIndex.from_arrays([df["seed"], df["class_index"]])
    df["delta"] = df["accuracy"].to_numpy() - base.loc[keys].to_numpy()
    return df


def summarize_downstream(df: pd.DataFrame, n_boot: int = 1000, ci: float = 0.95) -> pd.DataFrame:
    """Per condition: mean accuracy and mean change vs ``original`` over classes (seeds
    averaged first), with bootstrap CIs over classes."""
    per_class = df.groupby(["condition", "class_index"], sort=False)[
        ["accuracy", "delta", "n_train"]].mean().reset_index()
    rows = []
    for cond, g in per_class.groupby("condition", sort=False):
        row = {"condition": cond}
        for col in ("accuracy", "delta"):
            row[col], row[f"{col}_lo"], row[f"{col}_hi"] = bootstrap_ci(g[col], n_boot, ci)
        rows.append({**row, "n_train_per_class": float(g["n_train"].mean()), "n_classes": len(g)})
    return pd.DataFrame(rows)
