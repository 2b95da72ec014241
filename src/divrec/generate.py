"""One-shot sampling: N samples per test class, each conditioned on the class exemplar. Humans
are a "generator" too: their samples are the class's real drawings, with the exemplar itself
flagged ``excluded`` so it never serves as a recognizability query."""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from divrec.data.splits import load_part
from divrec.device import autocast, resolve_precision
from divrec.models.registry import load_model
from divrec.provenance import provenance
from divrec.samples import SampleSet, quantize


def human_samples(split_path: str, part: str = "test", n: int | None = None) -> SampleSet:
    """Real drawings as samples. With ``n`` (the models' sample count) and more drawings per
    class than that (QuickDraw-FS has 100), keep the exemplar plus the first ``n`` others, so
    humans and models are compared on the same number of queries and the same spread statistic;
    Omniglot's 20 drawings are all kept."""
    p = load_part(split_path, part, binary=True)
    c, m = p.images.shape[:2]
    keep = torch.arange(m).expand(c, m)
    if n is not None and m > n + 1:
        others = keep[keep != p.exemplar[:, None]].view(c, m - 1)[:, :n]
        keep = torch.cat([p.exemplar[:, None], others], 1)
    imgs = p.images[torch.arange(c)[:, None], keep]
    samples = quantize(imgs.flatten(0, 1)).reshape(c, keep.shape[1], *p.images.shape[-2:])
    excluded = (keep == p.exemplar[:, None]).numpy()
    cfg = {"source": "human", "split": str(split_path), "part": part, "n": n}
    return SampleSet(samples, quantize(p.exemplars()), p.names, excluded,
                     {**provenance(cfg, seed=0, device="cpu"), **cfg})


@torch.no_grad()
def model_samples(model, exemplars: torch.Tensor, n: int, seed: int, batch: int = 100,
                  desc: str = "sample", precision: str = "fp32", **options) -> torch.Tensor:
    """exemplars [C, 1, S, S] -> samples [C, n, 1, S', S'] (model output, any range).

    ``precision`` (resolved): bf16 runs the network under autocast. Measured on one CPU core
    with native bf16, 3000 samples at batch 100 instead of 500 in fp32: CFGDM (guidance 2)
    3.2x faster, DA-GAN 2.3x, DDPM/FSDM 1.3-1.5x, recognizability and diversity on validation
    classes equal within 0.01 (evaluation binarises every sample)."""
    c = exemplars.shape[0]
    cond = exemplars.repeat_interleave(n, 0)  # class-major: [c0 x n, c1 x n, ...]
    g = torch.Generator(device=exemplars.device).manual_seed(seed)
    out = []
    for i in tqdm(range(0, len(cond), batch), desc=desc, mininterval=2.0):
        with autocast(cond.device, precision):
            x = model.sample(cond[i:i + batch], generator=g, **options)
        out.append(x.float().cpu())
    x = torch.cat(out)
    return x.view(c, n, *x.shape[1:])


def sample_checkpoint(ckpt: str, split_path: str, n: int, seed: int,
                      device: torch.device | str = "cpu", batch: int = 100, part: str = "test",
                      precision: str = "fp32", **options) -> SampleSet:
    """``precision``: auto | bf16 | fp32 (the config's top-level ``precision``)."""
    device = torch.device(device)
    precision = resolve_precision(precision, device)
    model, meta = load_model(ckpt, device)
    p = load_part(split_path, part, binary=model.binary).to(device)
    x = model_samples(model, p.exemplars(), n, seed, batch, desc=f"sample {meta['model']}",
                      precision=precision, **options)
    c = x.shape[0]
    samples = quantize(x.flatten(0, 1)).reshape(c, n, *x.shape[-2:])
    cfg = {"source": "model", "checkpoint": str(ckpt), "model": meta["model"],
           "point": meta["point"], "options": options, "n": n, "batch": batch,
           "precision": precision}
    prov = {**provenance(cfg, seed, str(device)), **cfg,
            "train_provenance": meta.get("provenance")}
    return SampleSet(samples, quantize(p.exemplars().cpu()), p.names,
                     torch.zeros(c, n, dtype=torch.bool).numpy(), prov)


def humans_rule(job) -> None:
    human_samples(job.input[0], n=job.cfg["evaluation"]["n_samples"]).save(job.output[0])


def sample_rule(job) -> None:
    cfg, ev, pt = job.cfg, job.cfg["evaluation"], job.point()
    sample_checkpoint(job.input.model, job.input.split, ev["n_samples"], cfg["seed"], job.device,
                      ev["sample_batch"], precision=cfg["precision"], **pt.sample
                      ).save(job.output[0])
