"""CIFAR-10: fetch the official python tarball, verify it, and store one array file.

Source: a local copy named in the config (``quality.cifar10.local``, or $DIVREC_CIFAR10_TARBALL),
else a download to ``quality.cifar10.downloads``. The tarball's MD5 and every batch's MD5 are
checked (the values torchvision checks, see shared/data/cifar10/README.md); the expected digests
are parameters so tests can check the same code path on a tiny archive of the same format.

Output ``cifar10.npz``: ``train_images`` uint8 [50000, 32, 32, 3], ``train_labels`` int64,
``test_images`` [10000, 32, 32, 3], ``test_labels``, ``label_names``.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from divrec.data.checksums import download, verify
from divrec.errors import DataError
from divrec.io import save_npz

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
TAR_NAME = "cifar-10-python.tar.gz"
TAR_MD5 = "c58f30108f718f92721af3b95e74349a"
FOLDER = "cifar-10-batches-py"
BATCH_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))


@dataclass(frozen=True)
class Checksums:
    """Expected MD5s; the defaults are the official ones."""

    tarball: str = TAR_MD5
    batches: dict[str, str] = field(default_factory=lambda: dict(BATCH_MD5))


def _missing_message(dest: Path, reason: str) -> str:
    return (f"CIFAR-10 tarball unavailable ({reason}): download {URL} yourself and put it at "
            f"{dest}, or name a local copy in quality.cifar10.local (or $DIVREC_CIFAR10_TARBALL)")


def locate(local: str | None, downloads: str | os.PathLike, checksums: Checksums = Checksums(),
           url: str = URL) -> Path:
    """A verified tarball: the named local copy, else ``downloads/<name>`` (fetched if absent)."""
    named = os.environ.get("DIVREC_CIFAR10_TARBALL") or local
    if named:
        path = Path(named)
        if not path.is_file():
            raise DataError(_missing_message(path, "the named local copy does not exist"))
        verify(path, checksums.tarball, "md5")
        return path
    dest = Path(downloads) / TAR_NAME
    try:
        return download(url, dest, checksums.tarball, "md5")
    except DataError as e:
        if not str(e).startswith("could not download"):
            raise
        raise DataError(_missing_message(dest, str(e).split(";")[0])) from None


def read_members(tar: Path, checksums: Checksums = Checksums()) -> dict[str, dict]:
    """{batch name: unpickled dict}, each batch's bytes checked against its MD5."""
    wanted = set(checksums.batches)
    found: dict[str, dict] = {}
    try:
        with tarfile.open(tar, "r:gz") as tf:
            for m in tf:
                name = m.name.removeprefix(f"{FOLDER}/")
                if name not in wanted or not m.isfile():
                    continue
                blob = tf.extractfile(m).read()
                got = hashlib.md5(blob).hexdigest()
                if got != checksums.batches[name]:
                    raise DataError(f"md5 mismatch for {FOLDER}/{name} in {tar}: expected "
                                    f"{checksums.batches[name][:12]}…, got {got[:12]}… (corrupt "
                                    "archive; delete it and fetch it again)")
                try:
                    found[name] = pickle.loads(blob, encoding="bytes")
                except (pickle.UnpicklingError, EOFError, ValueError) as e:
                    raise DataError(f"{tar}: {name} is not a CIFAR pickle "
                                    f"({e.__class__.__name__})") from None
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise DataError(f"{tar} is truncated or not a gzip tarball ({e.__class__.__name__}); "
                        f"delete it and fetch it again from {URL}") from None
    missing = sorted(wanted - set(found))
    if missing:
        raise DataError(f"{tar} lacks {FOLDER}/{', '.join(missing)} (truncated or wrong archive)")
    return found


def _images(batch: dict, name: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except KeyError as e:
        raise DataError(f"CIFAR batch {name} has no {e} entry") from None
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise DataError(f"CIFAR batch {name}: data {data.shape}, labels {labels.shape}; "
                        "expected [N, 3072] and [N]")
    # rows are 1024 R, then G, then B values in row-major order -> [N, 32, 32, 3]
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), labels


def unpack(tar: Path, checksums: Checksums = Checksums()) -> dict[str, np.ndarray]:
    members = read_members(tar, checksums)
    images, labels = zip(*(_images(members[b], b) for b in TRAIN_BATCHES if b in members))
    out = {"train_images": np.concatenate(images), "train_labels": np.concatenate(labels)}
    out["test_images"], out["test_labels"] = _images(members["test_batch"], "test_batch")
    names = members["batches.meta"].get(b"label_names", [])
    out["label_names"] = np.array([n.decode() if isinstance(n, bytes) else str(n) for n in names])
    return out


def fetch(out: str | os.PathLike, local: str | None = None,
          downloads: str | os.PathLike = "data/downloads", checksums: Checksums = Checksums(),
          url: str = URL) -> Path:
    """Locate + verify + unpack into ``out`` (written atomically)."""
    arrays = unpack(locate(local, downloads, checksums, url), checksums)
    save_npz(out, **arrays)
    return Path(out)


def fetch_rule(job) -> None:
    c = job.cfg["quality"].get("cifar10") or {}
    fetch(job.output[0], c.get("local"), c.get("downloads", "data/downloads"))
