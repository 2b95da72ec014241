"""Omniglot: fetch (official zips or the offline npz mirror), verify, and store one array file.

Both sources produce the same ``omniglot.npz``:
``images`` uint8 [32460, 105, 105] with 0 = background and 255 = ink (already inverted),
``char_id`` (global 1..1623), ``set`` (0 background, 1 evaluation), ``alphabet`` (index into
``alphabet_names``), ``character`` (the NN of the ``characterNN`` folder) and ``drawer`` (1..20).
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from pathlib import Path

import numpy as np

from divrec.data.checksums import download, mirror_files, resolve_mirror
from divrec.errors import DataError
from divrec.io import save_npz

SETS = ("background", "evaluation")
OFFICIAL_URL = "https://github.com/brendenlake/omniglot/raw/master/python"
OFFICIAL_MD5 = {
    "background": "68d2efa1b9178cc56df9314c21c6e718",
    "evaluation": "6b91aef0f799c5bb55b94e3f2daec811",
}
_PNG = re.compile(r"images_(background|evaluation)/([^/]+)/character(\d+)/(\d{4})_(\d{2})\.png$")


def from_mirror(mirror: Path) -> dict[str, np.ndarray]:
    """Read the npz mirror after checking every file against its SHA256SUMS."""
    mirror_files(mirror, [f"images_{s}.npz" for s in SETS] + ["characters.csv"])
    rows = list(csv.DictReader(open(mirror / "characters.csv")))
    meta = {int(r["id"]): (r["set"], r["alphabet"], int(r["character"].removeprefix("character")))
            for r in rows}
    records, first = [], 1  # ids run on from background (1..964) into evaluation (965..1623)
    for set_name in SETS:
        path = mirror / f"images_{set_name}.npz"
        try:
            with np.load(path) as z:
                imgs = z["images"]  # bool, True = white background
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
            raise DataError(f"cannot read {path}: {e.__class__.__name__} (corrupt or truncated)"
                            ) from None
        for i in range(imgs.shape[0]):
            cid = first + i
            if meta.get(cid, ("missing",))[0] != set_name:
                raise DataError(f"{mirror / 'characters.csv'} does not list id {cid} as {set_name}")
            for j in range(imgs.shape[1]):
                records.append((cid, j + 1, np.where(imgs[i, j], 0, 255).astype(np.uint8)))
        first += imgs.shape[0]
    return _assemble(records, meta)


def from_zips(zips: dict[str, Path]) -> dict[str, np.ndarray]:
    """Decode the official ``images_<set>.zip`` files (PNG, black ink on white)."""
    from PIL import Image

    records, meta = [], {}
    for set_name, path in zips.items():
        try:
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    m = _PNG.search(info.filename)
                    if not m:
                        continue
                    _, alphabet, char, cid, drawer = m.groups()
                    png = Image.open(io.BytesIO(zf.read(info))).convert("L")
                    img = np.where(np.asarray(png) > 127, 0, 255).astype(np.uint8)
                    meta[int(cid)] = (set_name, alphabet, int(char))
                    records.append((int(cid), int(drawer), img))
        except (zipfile.BadZipFile, OSError) as e:
            raise DataError(f"cannot read {path}: {e} (corrupt or truncated zip)") from None
    if not records:
        raise DataError(f"no Omniglot PNGs found in {list(zips.values())}")
    return _assemble(records, meta)


def _assemble(records: list, meta: dict) -> dict[str, np.ndarray]:
    records.sort(key=lambda r: (r[0], r[1]))
    alphabets = sorted({m[1] for m in meta.values()})
    a_index = {a: i for i, a in enumerate(alphabets)}
    cids = np.array([r[0] for r in records], dtype=np.int32)
    return {
        "images": np.stack([r[2] for r in records]),
        "char_id": cids,
        "drawer": np.array([r[1] for r in records], dtype=np.int16),
        "set": np.array([SETS.index(meta[c][0]) for c in cids], dtype=np.int8),
        "alphabet": np.array([a_index[meta[c][1]] for c in cids], dtype=np.int16),
        "character": np.array([meta[c][2] for c in cids], dtype=np.int16),
        "alphabet_names": np.array(alphabets),
    }


def fetch(out: str | os.PathLike, mirror: str | None = None, downloads: str = "data/downloads",
          base_url: str = OFFICIAL_URL) -> Path:
    """Produce ``out`` from the mirror when one is available, else from the official zips."""
    src = resolve_mirror("DIVREC_OMNIGLOT_MIRROR", mirror)
    if src is not None:
        arrays = from_mirror(src)
    else:
        try:
            zips = {
                s: download(f"{base_url}/images_{s}.zip", Path(downloads) / f"images_{s}.zip",
                            OFFICIAL_MD5[s], "md5")
                for s in SETS
            }
        except DataError as e:
            if mirror:  # the user meant to read a mirror: say that it is not there
                raise DataError(f"{e}; the configured mirror folder {Path(mirror).resolve()} "
                                "does not exist") from None
            raise
        arrays = from_zips(zips)
    save_npz(out, **arrays)
    return Path(out)


def fetch_rule(job) -> None:
    om = job.cfg["data"]["omniglot"]
    fetch(job.output[0], om.get("mirror"), om.get("downloads", "data/downloads"))
