"""Checks on a user's samples file before ``python -m divrec evaluate`` scores it.

Why: scoring is forgiving by construction (min-max, binarisation, any class count), so a broken
file used to come out as a plausible number: all-NaN samples scored diversity 0 and chance
recognizability, 100 classes were scored on their own 100-class tasks and plotted next to the
150-class humans, 50x40 images were silently resized. Each of these is now refused with one
line naming the file and what to do, unless the user asks for it explicitly.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from divrec.errors import DataError


def read_raw(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of a samples .npz, refusing what is not one, non-finite samples and shapes
    other than samples [C, N, H, W] with exemplars [C, H, W]."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"samples file not found: {path}")
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path} is not an .npz archive: write it with numpy.savez(path, "
                        "samples=[C, N, H, W], exemplars=[C, H, W])")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise DataError(f"cannot read samples {path}: {e}") from None
    for key in ("samples", "exemplars"):
        if key not in arrays:
            raise DataError(f"{path}: missing '{key}' array (have {sorted(arrays)})")
        a = arrays[key]
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            bad = np.argwhere(~np.isfinite(a))[0].tolist()
            raise DataError(f"{path}: '{key}' has {int((~np.isfinite(a)).sum())} NaN/inf values "
                            f"(first at index {bad}); fix the generator's output")
    s, ex = arrays["samples"], arrays["exemplars"]
    if s.ndim != 4 or ex.ndim != 3 or ex.shape[0] != s.shape[0]:
        raise DataError(f"{path}: expected samples [C, N, H, W] and exemplars [C, H, W], got "
                        f"{s.shape} and {ex.shape}")
    return arrays


def check_against_split(arrays: dict, path, test_names: list[str], image_size: int,
                        subset: bool = False, resize: bool = False) -> None:
    """Sample count, image size and class set against the split the humans come from."""
    s = arrays["samples"]
    if s.shape[1] < 2:
        raise DataError(f"{path}: {s.shape[1]} sample per class; diversity needs at least 2 "
                        "(the humans have 20)")
    if s.shape[-2:] != (image_size, image_size) and not resize:
        raise DataError(f"{path}: images are {s.shape[2]}x{s.shape[3]}, the split's are "
                        f"{image_size}x{image_size}; resize them or pass --resize")
    names = [str(n) for n in arrays["class_names"]] if "class_names" in arrays else None
    if subset:
        if names is None:
            raise DataError(f"{path}: --classes subset needs a 'class_names' array naming each "
                            "class as in the split's test_names")
        unknown = sorted(set(names) - set(test_names))
        if unknown:
            raise DataError(f"{path}: classes not in the split's test classes: {unknown[:5]}")
        return
    if s.shape[0] != len(test_names):
        raise DataError(f"{path}: {s.shape[0]} classes, the split has {len(test_names)} test "
                        "classes; score a subset explicitly with --classes subset (and "
                        "class_names)")
    if names is not None and names != list(test_names):
        raise DataError(f"{path}: class_names differ from the split's test_names (first "
                        "mismatch at index "
                        f"{next(i for i, (a, b) in enumerate(zip(names, test_names)) if a != b)})")


def settings_differ(ours: dict, humans: dict) -> list[str]:
    """Evaluation settings that differ between the user's scoring and the humans' table."""
    keys = ("n_samples", "k_way", "tasks_per_class", "task_seed", "query_mode", "image_size",
            "distance")
    return [f"{k}: {ours.get(k)} here vs {humans.get(k)} for the humans" for k in keys
            if k in humans and ours.get(k) != humans.get(k)]
