"""Pick the compute device for a job.

Snakemake counts GPUs (``resources: gpu=1``) but never assigns them. Jobs running side by side on
one multi-GPU machine therefore claim a GPU *slot* with an exclusive file lock, held for the life
of the process. Under SLURM the allocation already narrows ``CUDA_VISIBLE_DEVICES`` to the job's
GPUs, so slot 0 is always free there.
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
from pathlib import Path

import torch

log = logging.getLogger(__name__)
_LOCKS: list = []  # keep lock files open for the life of the process
_WARNED = False


def _claim_gpu_slot(n_gpus: int) -> int:
    lock_dir = Path(os.environ.get("DIVREC_GPU_LOCK_DIR", tempfile.gettempdir()))
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "all").replace(",", "-")
    for slot in range(n_gpus):
        f = open(lock_dir / f"divrec-gpu-{visible}-{slot}.lock", "w")  # noqa: SIM115
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            continue
        _LOCKS.append(f)
        return slot
    log.warning("all %d GPU slots are busy; sharing GPU 0", n_gpus)
    return 0


def pick_device(preference: str = "auto") -> torch.device:
    """``auto``: a free CUDA device if there is one, else CPU (with one logged warning)."""
    global _WARNED
    if preference == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda", _claim_gpu_slot(torch.cuda.device_count()))
    if preference == "cuda":
        raise RuntimeError("device 'cuda' requested but no CUDA device is visible")
    if not _WARNED:
        log.warning("no CUDA device visible: running on CPU (slow but correct)")
        _WARNED = True
    return torch.device("cpu")


def autocast(device: torch.device):
    """bf16 autocast on CUDA (no loss scaler needed), a no-op elsewhere."""
    enabled = device.type == "cuda"
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


def seed_everything(seed: int) -> torch.Generator:
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
