"""Shared fixtures: tiny synthetic data in the real formats, and paths to the real mirror."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_OMNIGLOT = ROOT.parent / "shared" / "data" / "omniglot"
SHARED_QUICKDRAW = ROOT.parent / "shared" / "data" / "quickdraw"

os.environ.setdefault("DIVREC_NO_PROGRESS", "1")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_fake_mirror(folder: Path, n_alphabets: int = 4, chars: int = 6, drawers: int = 20,
                      seed: int = 0) -> Path:
    """An Omniglot-format mirror (npz + characters.csv + SHA256SUMS) with random strokes.

    Half the alphabets are "background", half "evaluation", like the real sets."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows, cid = [], 0
    for set_name, alphas in (("background", range(n_alphabets // 2)),
                             ("evaluation", range(n_alphabets // 2, n_alphabets))):
        imgs = np.ones((len(alphas) * chars, drawers, 105, 105), dtype=bool)
        for i in range(len(imgs)):
            base = rng.integers(20, 85, size=(3, 2))
            for j in range(drawers):
                for (y, x) in base + rng.integers(-3, 4, size=(3, 2)):
                    imgs[i, j, y - 6:y + 6, x - 2:x + 2] = False  # ink = False, as in the mirror
        np.savez_compressed(folder / f"images_{set_name}.npz", images=imgs,
                            labels=np.repeat(np.arange(len(imgs))[:, None], drawers, 1))
        for a in alphas:
            for c in range(chars):
                cid += 1
                rows.append(f"{cid},{set_name},Alpha{a},character{c + 1:02d}")
    (folder / "characters.csv").write_text("id,set,alphabet,character\n" + "\n".join(rows) + "\n")
    names = ["images_background.npz", "images_evaluation.npz", "characters.csv"]
    (folder / "SHA256SUMS").write_text("".join(f"{_sha(folder / n)}  {n}\n" for n in names))
    return folder


@pytest.fixture
def fake_mirror(tmp_path) -> Path:
    return write_fake_mirror(tmp_path / "mirror")


@pytest.fixture
def one_thread():
    """Tiny tensors gain nothing from intra-op threads, and on a shared 2-core machine the
    OpenMP barriers made test_diffusion.py 10x slower (146 s vs 12 s measured). Restores the
    thread count afterwards."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def real_mirror() -> Path:
    if not (SHARED_OMNIGLOT / "SHA256SUMS").exists():
        pytest.skip(f"offline Omniglot mirror not present at {SHARED_OMNIGLOT}")
    return SHARED_OMNIGLOT


def tiny_chain_setup(tmp: Path) -> tuple[Path, dict]:
    """(weak split of a synthetic mirror, default config on CPU with per-step checkpoints and
    logs): the start of every test that trains a real model for a step or two."""
    from divrec.config import load_config
    from divrec.data import omniglot, splits

    raw = omniglot.fetch(tmp / "raw.npz", str(write_fake_mirror(tmp / "mirror")))
    split = splits.build(raw, tmp / "split.npz", "weak", 50, 0.1, "medoid", seed=0)
    cfg = load_config(ROOT / "config" / "config.yaml")
    cfg["device"] = "cpu"
    cfg["training"].update(checkpoint_every=1, log_every=1, val_every=1, val_batches=1)
    cfg["dataset_overrides"] = {}  # the callers replace the model entries it names
    return split, cfg
