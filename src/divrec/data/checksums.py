"""Checksum helpers shared by every data source."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from divrec.errors import DataError


def file_digest(path: Path, algo: str = "sha256", chunk: int = 1 << 20) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


DOWNLOADED = "corrupt or truncated file; delete it and rerun to fetch it again"
MIRRORED = ("the offline mirror is damaged: restore this file from the mirror's source, or "
            "point the mirror setting elsewhere (null downloads the official files)")


def verify(path: Path, expected: str, algo: str = "sha256", fix: str = DOWNLOADED) -> None:
    """Raise a one-line DataError unless ``path`` has digest ``expected``; ``fix`` says what to
    do (a downloaded file can be fetched again, a mirror file cannot)."""
    if not path.exists():
        raise DataError(f"missing data file: {path}")
    got = file_digest(path, algo)
    if got != expected.lower():
        raise DataError(
            f"{algo} mismatch for {path}: expected {expected[:12]}…, got {got[:12]}… ({fix})"
        )


def resolve_mirror(env_var: str, configured: str | None) -> Path | None:
    """The offline mirror to use: ``$env_var``, else the config value if that folder exists."""
    env = os.environ.get(env_var)
    for cand in (env, configured):
        if cand and Path(cand).is_dir():
            return Path(cand)
    if env:
        raise DataError(f"{env_var}={env} is not a folder")
    return None


def read_sums(path: Path) -> dict[str, str]:
    """Parse a ``sha256sum``-style file into {file name: digest}."""
    if not path.exists():
        raise DataError(f"checksum list not found: {path}")
    sums = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*")] = digest
    return sums


def mirror_files(mirror: Path, names: list[str]) -> list[Path]:
    """The paths of ``names`` in an offline mirror, each checked against its SHA256SUMS."""
    sums = read_sums(mirror / "SHA256SUMS")
    for name in names:
        if name not in sums:
            raise DataError(f"{name} is not in the mirror {mirror} (have {sorted(sums)})")
        verify(mirror / name, sums[name], fix=MIRRORED)
    return [mirror / name for name in names]


def download(url: str, dest: Path, expected: str | None = None, algo: str = "md5",
             check=None) -> Path:
    """Download ``url`` to ``dest`` (atomically) unless a verified copy is already there.
    Without an ``expected`` digest (none is published), the first download's SHA-256 is recorded
    in ``<dest>.sha256`` and checked on every later use, so a copy truncated or corrupted
    afterwards is caught. ``check(tmp)`` rejects a bad body (e.g. an HTML error page) before the
    rename."""
    import shutil
    import urllib.request

    from divrec.io import atomic_path

    record = dest.with_name(dest.name + ".sha256")
    if expected is None and dest.exists() and record.exists():
        verify(dest, record.read_text().split()[0])
        return dest
    if expected is not None and dest.exists():
        try:
            verify(dest, expected, algo)
            return dest
        except DataError:
            dest.unlink()
    try:
        with atomic_path(dest) as tmp, urllib.request.urlopen(url, timeout=120) as r:
            with open(tmp, "wb") as f:
                shutil.copyfileobj(r, f, 1 << 20)
            if expected is not None:
                verify(tmp, expected, algo)
            if check is not None:
                check(tmp)
    except OSError as e:
        raise DataError(
            f"could not download {url} ({e}); put the file at {dest} or name an offline mirror"
        ) from None
    if expected is None:
        record.write_text(f"{file_digest(dest)}  {dest.name}\n")
    return dest
