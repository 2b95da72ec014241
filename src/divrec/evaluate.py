"""Score a samples file: diversity, recognizability and originality, per class and aggregated.
Every source goes through exactly this code, humans included: the same post-processing
(``evaluation_view``), the same critics, the same fixed tasks."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from divrec.critics.checkpoint import load_critic
from divrec.critics.fast_encoder import FusedEncoder
from divrec.data.preprocess import IMAGE_SIZE, evaluation_view
from divrec.device import autocast, resolve_precision
from divrec.metrics.bootstrap import bootstrap_ci
from divrec.metrics.diversity import diversity
from divrec.metrics.originality import originality
from divrec.metrics.recognizability import make_tasks, recognizability
from divrec.samples import SampleSet


@dataclass
class EvalSettings:
    n_samples: int = 20
    k_way: int = 20
    tasks_per_class: int = 500
    task_seed: int = 44
    query_mode: str = "all"
    bootstrap: int = 1000
    ci: float = 0.95
    distance: str = "l2"
    image_size: int = IMAGE_SIZE
    precision: str = "fp32"


@torch.no_grad()
def embed(fn, x: np.ndarray, device, image_size: int, batch: int = 256,
          precision: str = "fp32") -> torch.Tensor:
    """Post-process uint8 images [M, H, W] and embed them in batches -> [M, D] on CPU."""
    out = []
    for i in range(0, len(x), batch):
        v = evaluation_view(x[i:i + batch], image_size).to(device)
        with autocast(device, precision):
            out.append(fn(v).float().cpu())
    return torch.cat(out)


class Critics:
    """The two trained critics, loaded once, as feature functions. On CPU the encoders run in
    their fused inference form (``critics.fast_encoder``: same outputs, 3-4x faster), in
    64-image batches whose first-block activations stay in cache."""

    def __init__(self, simclr, protonet, device: torch.device | str = "cpu",
                 precision: str = "fp32"):
        """``simclr``/``protonet``: checkpoint paths, or critic modules already in memory.
        ``precision``: fp32 by default so that scores do not depend on whether a machine has
        bf16 (``evaluation.precision`` may ask for bf16/auto, as a GPU user would)."""
        self.device = torch.device(device)
        self.precision = resolve_precision(precision, self.device)
        self.simclr, self.protonet = (
            load_critic(c, self.device) if isinstance(c, str | os.PathLike) else c.eval()
            for c in (simclr, protonet))
        cpu = self.device.type == "cpu"
        self._simclr = FusedEncoder(self.simclr.encoder) if cpu else self.simclr.features
        proto = FusedEncoder(self.protonet.encoder) if cpu else self.protonet.encoder
        self._protonet = lambda x: self.protonet.metric(proto(x))
        self._batch = 64 if cpu else 256

    def features(self, x, image_size=IMAGE_SIZE):
        return embed(self._simclr, x, self.device, image_size, self._batch, self.precision)

    def metric(self, x, image_size=IMAGE_SIZE):
        return embed(self._protonet, x, self.device, image_size, self._batch, self.precision)


def score(ss: SampleSet, critics: Critics, st: EvalSettings):
    """-> (per_class DataFrame, per_sample DataFrame)."""
    c, n = ss.samples.shape[:2]
    flat = ss.samples.reshape(c * n, *ss.samples.shape[2:])
    feats = critics.features(flat, st.image_size).view(c, n, -1)
    ex_feats = critics.features(ss.exemplars, st.image_size)
    metric = critics.metric(flat, st.image_size).view(c, n, -1)
    ex_metric = critics.metric(ss.exemplars, st.image_size)
    excluded = torch.from_numpy(ss.excluded)

    div = diversity(feats, st.distance)
    orig = originality(feats, ex_feats)
    k = min(st.k_way, c)
    tasks = make_tasks(c, k, st.tasks_per_class, st.task_seed)
    rec = recognizability(metric, ex_metric, tasks, excluded, st.query_mode, st.task_seed)

    orig_valid = orig.masked_fill(excluded, float("nan"))
    per_class = pd.DataFrame({
        "class_index": np.arange(c),
        "class_name": ss.class_names,
        "diversity": div.numpy(),
        "recognizability": rec.per_class.numpy(),
        "originality": np.nanmean(orig_valid.numpy(), axis=1),
        "n_samples": (~ss.excluded).sum(1),
        "k_way": k,
    })
    per_sample = pd.DataFrame({
        "class_index": np.repeat(np.arange(c), n),
        "sample_index": np.tile(np.arange(n), c),
        "originality": orig.numpy().ravel(),
        "recognizability": rec.per_sample.numpy().ravel(),
        "p_true": rec.p_true.numpy().ravel(),
        "excluded": ss.excluded.ravel(),
    })
    return per_class, per_sample


def summarize(per_class: pd.DataFrame, st: EvalSettings, **ids) -> pd.DataFrame:
    """One row: means with bootstrap CIs over classes."""
    row = dict(ids)
    for col in ("diversity", "recognizability", "originality"):
        m, lo, hi = bootstrap_ci(per_class[col], st.bootstrap, st.ci, seed=st.task_seed)
        row.update({col: m, f"{col}_lo": lo, f"{col}_hi": hi})
    row["n_classes"] = len(per_class)
    return pd.DataFrame([row])


def evaluate_file(samples_path: str | os.PathLike, simclr: str, protonet: str, st: EvalSettings,
                  device: torch.device | str = "cpu", **ids):
    """Score one samples file -> (per_class, per_sample, summary) with ``ids`` columns added."""
    from divrec.samples import load_samples

    ss = load_samples(samples_path)
    per_class, per_sample = score(ss, Critics(simclr, protonet, device, st.precision), st)
    for df in (per_class, per_sample):
        for key, val in reversed(ids.items()):
            df.insert(0, key, val if not isinstance(val, dict) else json.dumps(val))
    return per_class, per_sample, summarize(per_class, st, **ids)


def settings_from_config(cfg: dict) -> EvalSettings:
    ev = {k: v for k, v in cfg["evaluation"].items() if k in EvalSettings.__dataclass_fields__}
    return EvalSettings(**ev)


def metrics_rule(job) -> None:
    """Body of the ``metrics`` rule: score, then write the three tables with provenance."""
    from divrec.io import save_parquet
    from divrec.provenance import provenance

    cfg, inputs, outputs, device, w = job.cfg, job.input, job.output, job.device, job.wildcards
    st = settings_from_config(cfg)
    entry = cfg["models"].get(w.model, {"family": "human", "label": "humans"})
    ids = {"dataset": w.dataset, "model": w.model, "point": w.point, "family": entry["family"],
           "label": entry.get("label", w.model)}
    per_class, per_sample, summary = evaluate_file(inputs.samples, inputs.simclr,
                                                   inputs.protonet, st, device, **ids)
    meta = provenance({"evaluation": cfg["evaluation"], **ids}, cfg["seed"], str(device))
    save_parquet(per_class, outputs.per_class, meta)
    save_parquet(per_sample, outputs.per_sample, meta)
    save_parquet(summary, outputs.summary, meta)
