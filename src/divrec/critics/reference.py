"""Reference critics: trained once with the published recipe, shipped with divrec, checksummed.

Why: every score is measured in the feature spaces of two trained networks, so two users who
train their own critics get scores that are not comparable. Scores from the shipped critics are,
the way FID is comparable because everyone uses the same Inception weights.

Layout (package data, ``src/divrec/critics/reference/<name>/``): ``simclr.pt`` and
``protonet.pt`` (weights, params, provenance, precision), ``calibration.csv`` (what
``critics.calibration`` measured on the split they were trained on), ``SHA256SUMS`` over the
weight files. ``python -m divrec reference-critics`` trains them (resumable: the training state
lives in ``--state``, outside the package) and writes this folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from divrec.data.checksums import file_digest, read_sums, verify
from divrec.errors import DataError

ROOT = Path(__file__).resolve().parent / "reference"
#: the split every reference critic was trained on; using them elsewhere is refused
DEFAULT = "omniglot_weak"
KINDS = ("simclr", "protonet")


def reference_critic(kind: str, name: str = DEFAULT) -> Path:
    """Path of a shipped critic after checking its SHA256 against the manifest."""
    folder, file = ROOT / name, f"{kind}.pt"
    if not (folder / "SHA256SUMS").exists():
        raise DataError(f"no reference critics at {folder} (missing SHA256SUMS); train them with "
                        "`python -m divrec reference-critics` or set critics.source: train")
    sums, path = read_sums(folder / "SHA256SUMS"), folder / file
    if file not in sums or not path.exists():
        raise DataError(f"reference critic {path} is not shipped (manifest {folder}/SHA256SUMS)")
    verify(path, sums[file], fix="the shipped critic was changed: restore it with git checkout")
    return path


def check_dataset(dataset: str, data_cfg: dict, name: str = DEFAULT) -> None:
    """Reference critics are for the data they were trained on (Omniglot, weak split, 50 px)."""
    if name == DEFAULT and (dataset != "omniglot" or data_cfg.get("split", "weak") != "weak"):
        raise DataError(f"reference critics '{name}' were trained on Omniglot's weak split; "
                        f"dataset '{dataset}' needs critics.source: train")


def write_reference(checkpoints: dict[str, str | os.PathLike], calibration, out: Path) -> None:
    """Copy the exported critics without training-only state, plus calibration and SHA256SUMS."""
    from divrec.io import save_torch

    out.mkdir(parents=True, exist_ok=True)
    lines = []
    for kind, src in checkpoints.items():
        ck = torch.load(src, map_location="cpu", weights_only=False)
        keep = {k: ck[k] for k in ("kind", "params", "dataset", "precision", "step",
                                   "provenance") if k in ck}
        keep["state_dict"] = {k: v.float() if v.is_floating_point() else v
                              for k, v in ck["state_dict"].items()}
        save_torch(keep, out / f"{kind}.pt")
        lines.append(f"{file_digest(out / f'{kind}.pt')}  {kind}.pt")
    calibration.to_csv(out / "calibration.csv", index=False)
    (out / "SHA256SUMS").write_text("\n".join(sorted(lines)) + "\n")


def install_reference(job) -> None:
    """Body of the ``reference_critic`` rule: verified copy + calibration on this split."""
    from divrec.critics.calibration import calibration_table
    from divrec.critics.checkpoint import CRITICS
    from divrec.data.splits import load_part
    from divrec.io import atomic_path, save_parquet

    cfg, kind, dataset, out = job.cfg, job.wildcards.kind, job.wildcards.dataset, job.output.model
    check_dataset(dataset, cfg["data"][dataset])
    src = reference_critic(kind)
    with atomic_path(out) as tmp:
        Path(tmp).write_bytes(src.read_bytes())
    model, ck = CRITICS.load(out)
    size = cfg["evaluation"]["image_size"]
    if size != model.p.image_size:
        raise DataError(f"reference critic {src.name} takes {model.p.image_size} px inputs but "
                        f"evaluation.image_size is {size}; set it to {model.p.image_size}")
    parts = {p: load_part(job.input[0], p, size=size) for p in ("val", "test")}
    info = {"dataset": dataset, "steps": ck.get("step"), "train_seconds": None,
            "resumed_from": None, "precision": ck.get("precision"), "device": "reference",
            "threads": None}
    table = calibration_table(kind, model, parts, cfg["evaluation"], info)
    save_parquet(table, job.output.calibration, {"reference": str(src), "sha256": file_digest(src)})
