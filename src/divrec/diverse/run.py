"""Bodies of the ``diverse_*`` workflow rules, each taking its ``divrec.job.Job``: read inputs,
call the library, write atomically with provenance."""

from __future__ import annotations

import json
import logging
import time

import numpy as np
import pandas as pd

from divrec.diverse.settings import settings_from_config
from divrec.io import save_parquet
from divrec.provenance import provenance

log = logging.getLogger(__name__)


def _ids(job) -> dict:
    w = job.wildcards
    entry = job.cfg["models"].get(w.model, {"family": w.model, "label": w.model})
    return {"dataset": w.dataset, "model": w.model, "point": w.point, "family": entry["family"],
            "label": entry.get("label", w.model)}


def _save(df: pd.DataFrame, path, cfg: dict, ids: dict, device, **extra) -> None:
    """``df`` with the point's ids as its first columns, and the provenance of the run."""
    df = df.assign(**ids)[list(ids) + [c for c in df.columns if c not in ids]]
    save_parquet(df, path, provenance({"diverse": cfg.get("diverse"),
                                       "evaluation": cfg["evaluation"], **ids, **extra},
                                      cfg["seed"], str(device)))


def _extractor(job, st):
    from divrec.diverse.features import make_extractor

    return make_extractor(st.extractor, job.device, job.cfg["evaluation"]["image_size"],
                          getattr(job.input, "simclr", None), st.squeezenet_weights)


def reference_rule(job) -> None:
    """``job.input``: split (+ simclr)."""
    from divrec.diverse.reference import build_reference

    cfg, st = job.cfg, settings_from_config(job.cfg)
    t0 = time.perf_counter()
    ref = build_reference(job.input.split, _extractor(job, st), st, cfg["seed"])
    ref.save(job.output[0])
    log.info("reference: %d train + %d test images embedded (%s) in %.1f s",
             len(ref.train_feats), len(ref.test_feats), ref.extractor, time.perf_counter() - t0)


def point_rule(job) -> None:
    """``job.input``: samples, reference, split (+ simclr); ``job.output``: table, summary,
    tsne, grid."""
    from divrec.diverse.analyse import analyse
    from divrec.diverse.reference import load_reference, split_images
    from divrec.plots.diverse import write_figures
    from divrec.samples import load_samples

    cfg, inputs, outputs, device = job.cfg, job.input, job.output, job.device
    st = settings_from_config(cfg)
    t0 = time.perf_counter()
    ss = load_samples(inputs.samples)
    ref = load_reference(inputs.reference)
    train, _ = split_images(inputs.split, "train")
    train = train.reshape(-1, *train.shape[2:])
    c, n = ss.samples.shape[:2]
    flat = ss.samples.reshape(c * n, *ss.samples.shape[2:])
    feats = _extractor(job, st)(flat).numpy()
    t_embed = time.perf_counter() - t0
    res = analyse(feats, ss.class_names, n, flat, ref, train, st, cfg["evaluation"]["image_size"])
    ids = _ids(job)
    res.summary.update({"seconds_embed": t_embed, "seconds_total": time.perf_counter() - t0})
    _save(res.table, outputs.table, cfg, ids, device)
    _save(pd.DataFrame([res.summary]), outputs.summary, cfg, ids, device)
    write_figures(res, ss.samples, train, st.grid, "knn", outputs.tsne, outputs.grid,
                  f"{ids['model']} {ids['point']}")
    log.info("%s", json.dumps(res.summary, default=float))


def downstream_rule(job) -> None:
    """``job.input``: samples, table (the point's DS table), split."""
    import torch

    from divrec.config import train_config
    from divrec.device import resolve_precision
    from divrec.diverse.downstream import CONDITIONS, downstream
    from divrec.samples import load_samples

    cfg, inputs = job.cfg, job.input
    st = settings_from_config(cfg)
    ss = load_samples(inputs.samples)
    table = pd.read_parquet(inputs.table)
    gen = table[table["source"] == "generated"]
    flags = gen[f"{st.downstream.rule}_diverse"].fillna(False).to_numpy(bool)
    diverse = np.zeros(ss.samples.shape[:2], bool)
    diverse[gen["class_index"].to_numpy(), gen["sample_index"].to_numpy()] = flags
    with np.load(inputs.split) as z:
        test, ex, names = z["test_images"], z["test_exemplar"], [str(s) for s in z["test_names"]]
    t0 = time.perf_counter()
    precision = resolve_precision(train_config(cfg, None).precision, torch.device("cpu"))
    df = downstream(ss.samples, ss.class_names, diverse, test, ex, names, st.downstream,
                    precision)
    df["rule"] = st.downstream.rule
    _save(df, job.output[0], cfg, _ids(job), "cpu", precision=precision)
    log.info("downstream: %d trainings (%s) in %.1f s",
             len(st.downstream.seeds) * len(CONDITIONS), precision, time.perf_counter() - t0)


def summary_rule(job) -> None:
    """One table of every point's DS summary row."""
    save_parquet(pd.concat([pd.read_parquet(p) for p in job.input], ignore_index=True),
                 job.output[0])


def downstream_table_rule(job) -> None:
    """Per point and condition: accuracy and change vs ``original`` with bootstrap CIs."""
    from divrec.diverse.downstream import summarize_downstream

    ev = job.cfg["evaluation"]
    front = ["dataset", "model", "point", "family", "label", "rule"]
    tables = (pd.read_parquet(p) for p in job.input)
    table = pd.concat([summarize_downstream(df, ev["bootstrap"], ev["ci"])
                       .assign(**{key: df[key].iloc[0] for key in front}) for df in tables],
                      ignore_index=True)
    save_parquet(table[front + [c for c in table.columns if c not in front]], job.output[0])
