"""Feature-importance maps of a trained guided diffusion model on every test exemplar (ICML'23
§4.6), and the per-class table the paper's comparison needs.

The map formula lives in ``diffusion.importance``; this module runs it over a split, brings the
maps back to the exemplar resolution, and describes each map by what can be checked without human
data: the number and mean size of its important regions, and how much of its mass lies on the
exemplar's ink (``ink_lift`` > 1: the map prefers strokes to background). When a human map array
is given (e.g. ClickMe maps, not available offline) the table adds the Spearman correlation and the
human region statistics of ``compare_maps``, row by row.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from divrec.data.splits import load_part
from divrec.diffusion.importance import compare_maps, region_stats
from divrec.errors import ConfigError, DataError
from divrec.io import save_npz, save_parquet
from divrec.models.registry import load_model
from divrec.provenance import provenance


@dataclass
class ImportanceMaps:
    """maps float32 [C, H, W] (>= 0, exemplar resolution), exemplars uint8 [C, H, W] (ink bright),
    names [C] ("category/class")."""

    maps: np.ndarray
    exemplars: np.ndarray
    names: list[str]

    @property
    def categories(self) -> list[str]:
        """Omniglot alphabet or QuickDraw category: the part of the class name before '/'."""
        return [n.split("/")[0] for n in self.names]

    def save(self, path: str | os.PathLike, meta: dict | None = None) -> None:
        save_npz(path, maps=self.maps, exemplars=self.exemplars, names=np.array(self.names),
                 meta=np.array(repr(meta or {})))

    @classmethod
    def load(cls, path: str | os.PathLike) -> ImportanceMaps:
        if not os.path.exists(path):
            raise DataError(f"importance maps not found: {path}")
        with np.load(path) as z:
            return cls(z["maps"], z["exemplars"], [str(n) for n in z["names"]])


def checkpoint_maps(ckpt: str, split_path: str, n_t: int, n_noise: int, seed: int,
                    device: torch.device | str = "cpu",
                    batch: int = 50) -> tuple[ImportanceMaps, dict]:
    """Maps of every test exemplar of ``split_path`` under the model in ``ckpt``."""
    device = torch.device(device)
    model, meta = load_model(ckpt, device)
    if not hasattr(model, "importance") or getattr(model.p, "drop_prob", 0) <= 0:
        raise ConfigError(f"{ckpt}: importance maps need a diffusion model trained with condition "
                          f"dropout (drop_prob > 0, e.g. CFGDM); '{meta['model']}' has none, so "
                          "its unconditional prediction is undefined")
    test = load_part(split_path, "test", binary=model.binary)
    ex = test.exemplars()
    g = torch.Generator(device=device).manual_seed(seed)
    out = []
    for i in tqdm(range(0, len(ex), batch), desc=f"importance {meta['model']}", mininterval=2.0):
        phi = model.importance(ex[i:i + batch].to(device), n_t=n_t, n_noise=n_noise, generator=g)
        out.append(F.interpolate(phi.float().cpu(), size=ex.shape[-2:], mode="bilinear",
                                 align_corners=False).clamp_min_(0))
    maps = torch.cat(out)[:, 0].numpy().astype(np.float32)
    exemplars = (ex[:, 0] * 255).round().to(torch.uint8).numpy()
    cfg = {"checkpoint": str(ckpt), "model": meta["model"], "point": meta["point"],
           "n_t": n_t, "n_noise": n_noise}
    return ImportanceMaps(maps, exemplars, test.names), {**provenance(cfg, seed, str(device)),
                                                          **cfg}


def ink_share(m: np.ndarray, exemplar: np.ndarray) -> tuple[float, float]:
    """(share of the map's mass on ink pixels, share of pixels that are ink) of one exemplar."""
    ink = exemplar > 127
    total = float(m.sum())
    return (float(m[ink].sum()) / total if total > 0 else float("nan"), float(ink.mean()))


def _aligned_human(human_path: str, names: list[str]) -> np.ndarray:
    """Human maps [C, H, W] in the order of ``names`` (by their own ``names`` array if present)."""
    if not os.path.exists(human_path):
        raise DataError(f"human importance maps not found: {human_path}")
    with np.load(human_path) as z:
        if "maps" not in z.files:
            raise DataError(f"{human_path}: needs an array 'maps' [C, H, W] (optional 'names')")
        maps, order = z["maps"], [str(n) for n in z["names"]] if "names" in z.files else None
    if order is None:
        if len(maps) != len(names):
            raise DataError(f"{human_path}: {len(maps)} maps for {len(names)} test classes and "
                            "no 'names' array to align them")
        return maps
    where = {n: i for i, n in enumerate(order)}
    missing = [n for n in names if n not in where]
    if missing:
        raise DataError(f"{human_path}: no human map for {len(missing)} test classes, e.g. "
                        f"{missing[0]}")
    return maps[[where[n] for n in names]]


def importance_table(im: ImportanceMaps, threshold: float = 0.5,
                     human_maps: str | None = None, blur_sigma: float = 0.0) -> pd.DataFrame:
    """One row per test class: regions, mean region size, ink share and lift of its map (and, with
    ``human_maps``, the comparison with the human map)."""
    rows = []
    for name, cat, m, ex in zip(im.names, im.categories, im.maps, im.exemplars, strict=True):
        n, size = region_stats(m, threshold)
        mass, frac = ink_share(m, ex)
        rows.append({"name": name, "category": cat, "regions": n, "mean_region_size": size,
                     "ink_mass": mass, "ink_fraction": frac,
                     "ink_lift": mass / frac if frac > 0 else float("nan")})
    table = pd.DataFrame(rows)
    if human_maps:
        human = _aligned_human(human_maps, im.names)
        if human.shape[-2:] != im.maps.shape[-2:]:
            human = F.interpolate(torch.as_tensor(human, dtype=torch.float32)[:, None],
                                  size=im.maps.shape[-2:], mode="bilinear")[:, 0].numpy()
        cmp = compare_maps(im.maps, human, threshold, blur_sigma)
        table = pd.concat([table, cmp[["spearman", "human_regions", "human_mean_size"]]], axis=1)
    return table


def importance_rule(job) -> None:
    """Body of the ``importance_maps`` rule: the maps and their per-class table."""
    imp, inp = job.cfg["importance"], job.input
    maps, meta = checkpoint_maps(inp.model, inp.split, imp["n_t"], imp["n_noise"],
                                 job.cfg["seed"], job.device)
    maps.save(job.output.maps, meta)
    save_parquet(importance_table(maps, imp["threshold"], inp.get("human"), imp["blur_sigma"]),
                 job.output.table, meta)
