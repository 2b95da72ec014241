"""Digests of every table the tiny run writes, pinned per machine kind (issue 16).

A refactoring step must leave every result unchanged, or name each change. The tiny run's
tables are bit-reproducible on one kind of machine but not across kinds (bf16 and BLAS kernels
round differently on AMX, AVX512-BF16 and fp32-only AVX2 CPUs), so the pins are keyed by the machine
kind and the data the run read. Timing and host columns are left out; floats are written with
9 significant digits (every float32 exactly).

``make pin`` (DIVREC_PIN=1) records this machine's digests instead of comparing them.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
from pathlib import Path

import pandas as pd
import torch

from divrec.device import cpu_bf16_flags

PINS = Path(__file__).parent / "pinned_tiny_run.json"
HOST_COLUMNS = re.compile(r"seconds|_per_s$|per_image$|^threads$|^device$|^train_step$")


def machine_kind(data: str) -> str:
    """Without native bf16 everything runs in fp32, where the BLAS kernels of the vector ISA
    (AVX2, AVX512) decide the rounding, so that ISA names those kinds."""
    flags = "+".join(cpu_bf16_flags()) or f"no-bf16-{torch.backends.cpu.get_cpu_capability()}"
    return f"{platform.machine()} {flags} torch-{torch.__version__.split('+')[0]} {data}"


def table_digest(path: Path) -> str:
    df = pd.read_parquet(path)
    df = df[[c for c in df.columns if not HOST_COLUMNS.search(c)]]
    text = df.to_csv(index=False, float_format="%.9g", lineterminator="\n")
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_digests(results: Path) -> dict[str, str]:
    """Every parquet table of a results folder (logs and benchmarks hold none)."""
    return {p.relative_to(results).as_posix(): table_digest(p)
            for p in sorted(results.rglob("*.parquet"))}


def load_pins() -> dict[str, dict[str, str]]:
    return json.loads(PINS.read_text()) if PINS.exists() else {}


def save_pins(kind: str, digests: dict[str, str]) -> None:
    pins = {**load_pins(), kind: digests}
    PINS.write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n")


def differences(pinned: dict[str, str], got: dict[str, str]) -> list[str]:
    return [f"{k}: {'missing' if k not in got else 'new' if k not in pinned else 'changed'}"
            for k in sorted(pinned.keys() | got.keys()) if pinned.get(k) != got.get(k)]
