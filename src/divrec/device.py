"""Pick the compute device for a job.

Snakemake counts GPUs (``resources: gpu=1``) but never assigns them. Jobs running side by side on
one multi-GPU machine therefore claim a GPU *slot* with an exclusive file lock, held for the life
of the process. Under SLURM the allocation already narrows ``CUDA_VISIBLE_DEVICES`` to the job's
GPUs, so slot 0 is always free there.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
    import torch

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


def device_slots() -> int:
    """How many device-holding jobs (``resources: gpu=1``) may run at once: one per visible CUDA
    device, else one per usable core (those jobs hold one thread each: a single CPU slot would
    serialise trainings, sampling and critics and leave the other cores idle)."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.device_count()
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


#: CPU flags with native bf16 arithmetic: AVX512-BF16 (Intel Cooper Lake+, AMD Zen 4+) and AMX
#: (Intel Sapphire Rapids+). Without them oneDNN emulates bf16, which is slower than fp32.
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
PRECISIONS = ("auto", "bf16", "fp32")
_EMULATED_BF16 = (f"precision bf16 on a CPU without {'/'.join(BF16_CPU_FLAGS)}: emulated, likely "
                  "slower than fp32")


def cpu_bf16_flags(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> list[str]:
    """The native-bf16 flags this CPU reports (Linux; empty where /proc/cpuinfo is absent)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return []
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "flags:")
    flags = line.split(":", 1)[1].split()
    return [f for f in BF16_CPU_FLAGS if f in flags]


def cpu_precision_note(preference: str, cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> str:
    """One line for the start of a run on a CPU without native bf16 (empty otherwise): what
    ``preference`` means for its CPU jobs, so a run that takes ~2.7x longer than on a bf16 CPU
    (README, Runtime) is not mistaken for a hang."""
    if preference == "fp32" or cpu_bf16_flags(cpuinfo):
        return ""
    if preference == "bf16":
        return f"divrec: {_EMULATED_BF16}"
    return (f"divrec: this CPU has no native bf16 ({'/'.join(BF16_CPU_FLAGS)}): CPU jobs train "
            "in fp32, about 2.7x the job time of a CPU with it (README, Runtime)")


def resolve_precision(preference: str, device: torch.device) -> str:
    """``auto``: bf16 on a CUDA device that supports it and on a CPU with native bf16, else fp32;
    ``bf16`` is honoured everywhere (emulated and slow, with a warning, on a CPU without native
    bf16); ``fp32`` turns autocast off."""
    if preference not in PRECISIONS:
        raise ValueError(f"precision '{preference}' is not one of {PRECISIONS}")
    if preference == "bf16" and device.type == "cpu" and not cpu_bf16_flags():
        log.warning(_EMULATED_BF16)
    if preference != "auto":
        return preference
    if device.type == "cuda":
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if device.type == "cpu" and cpu_bf16_flags() else "fp32"


def autocast(device: torch.device, precision: str = "bf16"):
    """bf16 autocast on CPU and CUDA alike (one path: CPU CI exercises what GPU runs use). It
    keeps losses, softmax/log-softmax, norms and reductions in fp32 (torch's autocast op lists);
    optimizer state and master weights are never cast. ``precision``: the resolved value
    (``resolve_precision``), ``fp32`` disables it."""
    import torch

    enabled = precision == "bf16" and device.type in ("cpu", "cuda")
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


def seed_everything(seed: int) -> None:
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


#: Read by OpenMP/BLAS when they load: set inside ``limit_threads`` so that a library first
#: imported within the block (torch in a job that needs it late) starts with ``n`` threads.
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@contextlib.contextmanager
def limit_threads(n: int | None):
    """Within the block, torch and every threadpool (OpenMP, BLAS) use at most ``n`` threads;
    ``None`` leaves them alone. Snakemake schedules cores by a job's ``threads``; measured on a
    shared 2-core machine, with more threads than free cores the downstream classifier's small
    convolutions ran 15x slower and sklearn's t-SNE 5x slower than on one thread. torch is
    limited only when already imported: this module never imports it, so that the jobs that do
    not need it (tables, figures) skip its ~2 s import."""
    if not n:
        yield
        return
    from threadpoolctl import threadpool_limits

    n = max(1, int(n))
    env = {k: os.environ.get(k) for k in THREAD_ENV}
    os.environ.update({k: str(n) for k in THREAD_ENV})
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(n)
    try:
        with threadpool_limits(n):
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(before)
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


#: glibc mallopt parameters (malloc.h) and the largest value they take (a C int)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, _MALLOPT_MAX = -1, -3, 2**31 - 1


def tune_malloc() -> bool:
    """Keep freed memory in the process instead of returning it to the OS (glibc only). With
    glibc's defaults every tensor of more than a few MB is mmap-ed and unmapped again, and the top
    of the heap is trimmed after each free, so each training step page-faults its activations back
    in: measured on one core, a ProtoNet episode spent a third of its time in the kernel (7.9 s of
    23.6 s, 3.9 M page faults for 30 episodes) and ran 1.47x faster with both thresholds raised,
    VAE-STN steps 1.42x, DDPM 1.12x, DA-GAN 1.06x. The cost: a job's memory does not shrink before
    it exits. ``DIVREC_MALLOC_TUNING=0`` turns it off. Returns whether both settings took effect."""
    if os.environ.get("DIVREC_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to tune
        return False
    return all(mallopt(p, _MALLOPT_MAX) == 1 for p in (M_MMAP_THRESHOLD, M_TRIM_THRESHOLD))
