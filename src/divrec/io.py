"""Atomic file writes: every artefact is written to a temp file in the same folder, then renamed,
so a killed job never leaves a half-written checkpoint, sample file or table behind that
Snakemake (or a resume) could mistake for a finished one."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temp path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=suffix or "".join(path.suffixes) + ".tmp"
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; results should be shareable
        os.replace(tmp_path, path)
    except (OSError, RuntimeError) as e:
        if not _out_of_space(e):
            raise
        from divrec.errors import DivrecError

        first = (str(e).strip().splitlines() or [e.__class__.__name__])[0][:160]
        raise DivrecError(f"cannot write {path}: no space left or file size limit reached "
                          f"({first}); free disk space (or raise ulimit -f) and rerun: "
                          "finished results are kept and training resumes from its last "
                          "checkpoint") from None
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _out_of_space(e: BaseException) -> bool:
    """Disk full or ``ulimit -f``: an OSError with ENOSPC/EFBIG/EDQUOT, or the message torch's
    zip writer turns it into ("unexpected pos ..."), anywhere in the exception chain."""
    while e is not None:
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            return True
        text = str(e)
        if "File too large" in text or "No space left" in text or "unexpected pos" in text:
            return True
        e = e.__cause__ or e.__context__
    return False


def save_torch(obj: Any, path: str | os.PathLike) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def save_npz(path: str | os.PathLike, **arrays: Any) -> None:
    # the temp name must end in .npz or numpy appends the suffix itself
    with atomic_path(path, suffix=".tmp.npz") as tmp:
        np.savez_compressed(tmp, **arrays)


def save_json(obj: Any, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def save_parquet(df, path: str | os.PathLike, metadata: dict | None = None) -> None:
    """Write a DataFrame as parquet, with ``metadata`` (e.g. provenance) in the file's schema."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    if metadata:
        merged = dict(table.schema.metadata or {})
        merged[b"divrec"] = json.dumps(metadata, default=str).encode()
        table = table.replace_schema_metadata(merged)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def read_parquet_metadata(path: str | os.PathLike) -> dict:
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    return json.loads(meta.get(b"divrec", b"{}"))


def save_figure(fig, paths: list[str | os.PathLike]) -> None:
    """Write ``fig`` to each path atomically, then close it: every figure is drawn once for its
    files, and an open figure holds its memory until pyplot lets go of it."""
    import matplotlib.pyplot as plt

    try:
        for p in paths:
            with atomic_path(p, suffix=".tmp" + Path(p).suffix) as tmp:
                fig.savefig(tmp, dpi=200, bbox_inches="tight", format=Path(p).suffix.lstrip("."))
    finally:
        plt.close(fig)
