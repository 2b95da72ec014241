"""Sample N images from a trained model and time the sampling alone.

Timing rules (spec §10.4, where R5's numbers timed training or the whole test script): a fixed
batch size, one untimed warm-up batch, the device synchronised before and after, and only the
model's own sampling inside the clock (no decoding to uint8, no file writes, no metrics). The
record says what was timed: device, batch size, batches, network evaluations per sample.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

from divrec.data.preprocess import resize
from divrec.io import save_json, save_npz
from divrec.provenance import provenance
from divrec.quality.images import to_uint8_hwc
from divrec.quality.registry import load_model
from divrec.quality.train import model_entry


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class Timing:
    model: str
    family: str
    device: str
    batch_size: int
    n_batches: int
    n_samples: int
    nfe: int                 # network evaluations per sample (DDIM steps, DDGAN steps, 1)
    seconds: float           # sampling only, summed over the timed batches
    images_per_s: float
    s_per_image: float
    warmup_batches: int
    threads: int


def timed_sample(model, n: int, batch_size: int, device: torch.device, seed: int = 0,
                 warmup: int = 1, name: str = "", options: dict | None = None,
                 keep: bool = True) -> tuple[torch.Tensor | None, Timing]:
    """Draw ``n`` samples in batches of ``batch_size`` (the last batch is full too, extra
    samples dropped, so every timed batch costs the same). Returns (samples on CPU, timing)."""
    options = dict(options or {})
    g = torch.Generator(device=device).manual_seed(seed)
    model = model.to(device).eval()
    for _ in range(warmup):
        model.sample(batch_size, generator=g, **options)
    n_batches = -(-n // batch_size)
    out, total = [], 0.0
    for _ in range(n_batches):
        _sync(device)
        t0 = time.perf_counter()
        x = model.sample(batch_size, generator=g, **options)
        _sync(device)
        total += time.perf_counter() - t0
        if keep:
            out.append(x.float().cpu())
    timed = n_batches * batch_size
    timing = Timing(name, model.family, str(device), batch_size, n_batches, timed,
                    model.nfe(**options), total, timed / total, total / timed, warmup,
                    torch.get_num_threads())
    return (torch.cat(out)[:n] if keep else None), timing


def sample_model(job) -> None:
    cfg, device, w = job.cfg, job.device, job.wildcards
    dataset, model_name, q = w.qdataset, w.qmodel, cfg["quality"]
    entry = model_entry(cfg, model_name)
    model, ck = load_model(job.input[0], device)
    x, timing = timed_sample(model, q["n_samples"], q["sample_batch"], device, cfg["seed"],
                             q["warmup_batches"], model_name, entry.get("sample"))
    if q.get("image_size"):  # metrics compare at the dataset's resolution
        x = resize(x, q["image_size"])
    save_npz(job.output.samples, images=to_uint8_hwc(x), model=np.array(model_name))
    save_json({**asdict(timing), "dataset": dataset, "label": entry.get("label", model_name),
               "options": entry.get("sample") or {}, "train_step": ck.get("step"),
               "provenance": provenance(entry, cfg["seed"], str(device))}, job.output.timing)


def load_samples(path: str | os.PathLike) -> np.ndarray:
    with np.load(path) as z:
        return z["images"]
