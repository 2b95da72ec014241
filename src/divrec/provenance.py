"""What produced a result (config hash, package versions, git commit, device, seed), recorded
inside every checkpoint, sample file and table so a number can always be traced back."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("divrec", "torch", "torchvision", "numpy", "pandas", "snakemake")


def config_hash(cfg: Any) -> str:
    """Stable short hash of a JSON-able config fragment (key order does not matter)."""
    blob = json.dumps(cfg, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


@lru_cache(maxsize=1)
def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


@lru_cache(maxsize=1)
def git_commit() -> str:
    root = Path(__file__).resolve().parents[2]
    try:
        res = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        return res.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance(cfg: Any = None, seed: int | None = None, device: str | None = None) -> dict:
    return {
        "config_hash": config_hash(cfg) if cfg is not None else None,
        "config": cfg,
        "seed": seed,
        "device": device,
        "versions": _versions(),
        "git_commit": git_commit(),
        "host": platform.node(),
    }
