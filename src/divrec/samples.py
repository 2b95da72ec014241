"""The samples file every source (a model, humans, a user's own generator) is scored from.

``samples`` uint8 [C, N, S, S]: N samples per test class (min-max mapped to 0..255; evaluation
re-applies min-max and binarises, so this storage loses nothing that matters);
``exemplars`` uint8 [C, S, S]; ``class_names`` [C]; ``excluded`` bool [C, N] marks samples that
must never serve as recognizability queries (the exemplar itself among human drawings);
``provenance`` a JSON string.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from divrec.io import save_npz
from divrec.user_samples import read_raw

if TYPE_CHECKING:
    import torch


@dataclass
class SampleSet:
    samples: np.ndarray  # uint8 [C, N, S, S]
    exemplars: np.ndarray  # uint8 [C, S, S]
    class_names: list[str]
    excluded: np.ndarray  # bool [C, N]
    provenance: dict = field(default_factory=dict)

    def save(self, path: str | os.PathLike) -> None:
        save_npz(path, samples=self.samples, exemplars=self.exemplars,
                 class_names=np.array(self.class_names), excluded=self.excluded,
                 provenance=np.array(json.dumps(self.provenance, default=str)))


def quantize(x: torch.Tensor) -> np.ndarray:
    """[B, 1, H, W] any range -> uint8 [B, H, W] after per-image min-max. (torch is imported
    here, not at module level: figure jobs read samples files without paying its import.)"""
    from divrec.data.preprocess import minmax, to_uint8

    return to_uint8(minmax(x.float()))


def _as_uint8(a: np.ndarray) -> np.ndarray:
    """[..., H, W] of any dtype (a user's samples file) -> uint8 of the same shape, per image."""
    if a.dtype == np.uint8:
        return a
    import torch

    flat = torch.from_numpy(a.astype(np.float32)).reshape(-1, 1, *a.shape[-2:])
    return quantize(flat).reshape(a.shape)


def load_samples(path: str | os.PathLike) -> SampleSet:
    z = read_raw(path)
    samples, ex = z["samples"], z["exemplars"]
    c, n = samples.shape[:2]
    names = ([str(s) for s in z["class_names"]] if "class_names" in z
             else [str(i) for i in range(c)])
    return SampleSet(_as_uint8(samples), _as_uint8(ex), names,
                     z.get("excluded", np.zeros((c, n), bool)).astype(bool),
                     json.loads(str(z["provenance"])) if "provenance" in z else {})
