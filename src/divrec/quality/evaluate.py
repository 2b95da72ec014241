"""Features and the metrics table of the quality comparison.

The reference set is a seeded random subset of the training images (``quality.n_reference``,
standard practice for FID on unconditional models: statistics of the training set). Every row of
``metrics.parquet`` joins the fidelity metrics of one model with its sampling-time record, and
names the feature space (``extractor``, ``fd_name``) the numbers were measured in.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd

from divrec.errors import DataError
from divrec.io import save_parquet, save_torch
from divrec.metrics.fidelity import FidelitySettings, all_metrics
from divrec.provenance import provenance
from divrec.quality.features import (
    INCEPTION,
    ClassifierParams,
    inception_extractor,
    load_extractor,
    read_features,
    train_classifier,
    write_features,
)
from divrec.quality.images import load
from divrec.quality.sample import load_samples


def reference_images(images_path: str | os.PathLike, n: int, seed: int) -> np.ndarray:
    images = load(images_path).images
    if n >= len(images):
        return images
    return images[np.sort(np.random.default_rng(seed).choice(len(images), n, replace=False))]


def extractor_job(job) -> None:
    cfg, name, q = job.cfg, job.wildcards.extractor, job.cfg["quality"]
    if name == INCEPTION:
        return inception_extractor(job.output[0], q.get("inception_weights"))
    data = load(job.input[0])
    save_torch(train_classifier(name, data.images, data.labels, ClassifierParams(**q["classifier"]),
                                os.path.join(job.params.state_dir, "quality", "extractors", name),
                                job.device, cfg["seed"]), job.output[0])


def features_job(job) -> None:
    """Body of the ``quality_features`` rule: features of the reference set (``params.source
    == "data"``) or of one model's samples."""
    q, source, images_path = job.cfg["quality"], job.params.source, job.input.images
    if source == "data":
        images = reference_images(images_path, q["n_reference"], job.cfg["seed"])
    else:
        images = load_samples(images_path)
    ex = load_extractor(job.input.extractor, job.device)
    write_features(ex, images, job.output[0], source, q["sample_batch"])


def metrics_table(job) -> pd.DataFrame:
    """Body of the ``quality_metrics`` rule (``params.models`` orders the features/timings)."""
    cfg, dataset, models = job.cfg, job.wildcards.qdataset, job.params.models
    q = cfg["quality"]
    st = FidelitySettings(q["kid_subsets"], q["kid_subset_size"], q["prdc_k"], cfg["seed"])
    real, extractor = read_features(job.input.data)
    rows = []
    for model, path, timing_path in zip(models, job.input.features, job.input.timings):
        fake, ex_fake = read_features(path)
        if ex_fake != extractor:
            raise DataError(f"{path} was extracted with '{ex_fake}', the reference with "
                            f"'{extractor}': rerun the features rules")
        timing = json.loads(open(timing_path).read())
        rows.append({"dataset": dataset, "model": model, "label": timing["label"],
                     "family": timing["family"], **all_metrics(real, fake, extractor, st),
                     **{k: timing[k] for k in ("device", "batch_size", "n_batches", "nfe",
                                               "seconds", "images_per_s", "s_per_image",
                                               "threads", "train_step")}})
    table = pd.DataFrame(rows)
    save_parquet(table, job.output[0], metadata={"extractor": extractor, "settings": st.__dict__,
                                       "provenance": provenance(q, cfg["seed"])})
    return table


def figures_rule(job) -> None:
    """Body of the ``quality_figures`` rule: sample grids, the trade-off plot, loss curves."""
    from divrec.plots import quality as plots

    models, labels, inp, out = job.params.models, job.params.labels, job.input, job.output
    panels = {"data": reference_images(inp.images, 64, job.cfg["seed"] + 1)}
    panels.update({m: load_samples(p) for m, p in zip(models, inp.samples)})
    plots.sample_grids(panels, {"data": f"data ({job.wildcards.qdataset})", **labels},
                       [out.grids])
    plots.tradeoff(inp.metrics, [out.tradeoff, out.tradeoff_pdf])
    plots.loss_curves(dict(zip(models, inp.histories)), labels, [out.losses])
