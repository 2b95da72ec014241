"""``python -m divrec <verb>``: every workflow step as a command, plus ``evaluate`` for a user's
own samples. Errors the user can fix print one line and exit with status 2."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from divrec.errors import DivrecError
from divrec.paths import HUMAN, Layout


def _cfg(args):
    """The config files, as the command's dataset (if it has one) sees them."""
    from divrec.config import for_dataset, load_config

    cfg = load_config(*args.config)
    dataset = getattr(args, "dataset", None)
    return for_dataset(cfg, dataset) if dataset else cfg


def _device(args, cfg: dict):
    """``--device``, else the config's: picked once per command (the rules take the job's)."""
    from divrec.device import pick_device

    return pick_device(args.device or cfg["device"])


def cmd_data(args):
    from divrec.data import omniglot, splits
    from divrec.job import Job

    cfg = _cfg(args)
    raw = Path(args.results) / "omniglot" / "data" / "raw.npz"
    omniglot.fetch_rule(Job(cfg, output=[raw]))
    print(splits.build_rule(Job(cfg, input=[raw], output=[raw.with_name("split.npz")])))


def cmd_device_slots(args):
    from divrec.device import device_slots

    print(device_slots())


def cmd_points(args):
    from divrec.points import model_points

    for pt in model_points(_cfg(args)):
        print(f"{pt.dataset}\t{pt.model}\t{pt.name}\t{pt.params}")


def cmd_train(args):
    from divrec.training.run import train_model

    lay, ds, cfg = Layout(args.results), args.dataset, _cfg(args)
    train_model(cfg, ds, args.model, args.point, lay.split(ds),
                lay.model(ds, args.model, args.point),
                lay.model(ds, args.model, args.point, "history.parquet"), lay.resume(),
                _device(args, cfg))
    print(lay.model(ds, args.model, args.point))


def cmd_train_critic(args):
    from divrec.critics.train import train_critic

    lay, ds, cfg = Layout(args.results), args.dataset, _cfg(args)
    train_critic(cfg, args.kind, ds, lay.split(ds), lay.critic(ds, args.kind),
                 lay.critic(ds, args.kind, "_history.parquet"),
                 lay.critic_state(ds, args.kind), device=_device(args, cfg))


def cmd_reference_critics(args):
    """Train the critics with the given (published) recipe and write the shipped folder."""
    import pandas as pd

    from divrec.critics import reference as R
    from divrec.critics.train import train_critic

    cfg = _cfg(args)
    cfg.setdefault("training", {})["keep_resume"] = True  # a finished kind must not retrain
    split = Layout(args.results).split(args.dataset)
    R.check_dataset(args.dataset, cfg["data"][args.dataset])
    state, device = Path(args.state), _device(args, cfg)
    export = state / "export"
    for kind in args.kinds:
        train_critic(cfg, kind, args.dataset, split, str(export / f"{kind}.pt"),
                     str(export / f"{kind}_history.parquet"), str(state / kind),
                     str(export / f"{kind}_calibration.parquet"), device)
    if set(args.kinds) == set(R.KINDS):
        table = pd.concat([pd.read_parquet(export / f"{k}_calibration.parquet")
                           for k in R.KINDS], ignore_index=True)
        R.write_reference({k: export / f"{k}.pt" for k in R.KINDS}, table, Path(args.out))
        print(Path(args.out))


def cmd_sample(args):
    from divrec.generate import sample_checkpoint
    from divrec.points import resolve_point

    lay, ds, cfg = Layout(args.results), args.dataset, _cfg(args)
    pt, ev = resolve_point(cfg, ds, args.model, args.point), cfg["evaluation"]
    out = lay.samples(ds, args.model, args.point)
    sample_checkpoint(lay.model(ds, pt.model, pt.train_name), lay.split(ds), ev["n_samples"],
                      cfg["seed"], _device(args, cfg), ev["sample_batch"],
                      precision=cfg["precision"], **pt.sample).save(out)
    print(out)


def cmd_evaluate(args):
    """Score a user's samples.npz and place it on the diversity-recognizability plane."""
    import pandas as pd

    from divrec.aggregate import distance_to_humans
    from divrec.critics.reference import reference_critic
    from divrec.evaluate import EvalSettings, evaluate_file, settings_from_config
    from divrec.io import save_parquet
    from divrec.plots.plane import write_plane

    lay, ds = Layout(args.results), args.dataset
    cfg = _cfg(args) if args.config else {"device": "auto"}
    st = settings_from_config(cfg) if args.config else EvalSettings()
    _check_user_file(args, lay, st)
    simclr, protonet = (reference_critic(k) if args.critics == "reference"
                        else getattr(args, k) or lay.critic(ds, k) for k in ("simclr", "protonet"))
    per_class, _, summary = evaluate_file(
        args.samples, simclr, protonet, st, _device(args, cfg),
        dataset=args.dataset, model=args.name, point="user", family="user", label=args.name)
    out = Path(args.out or lay.user(ds, args.name))
    save_parquet(per_class, out / "per_class.parquet")
    base = Path(lay.summary(ds))
    table = (pd.concat([pd.read_parquet(base), summary], ignore_index=True) if base.exists()
             else summary)
    table["distance_to_human"] = distance_to_humans(table)
    save_parquet(table, out / "summary.parquet")
    human = Path(lay.metrics(ds, *HUMAN, "per_class"))
    write_plane(str(out / "summary.parquet"), str(human) if human.exists() else None,
                [str(out / "plane.png"), str(out / "plane.pdf")])
    row = table[table["model"] == args.name].iloc[0]
    print(f"{args.name}: diversity {row.diversity:.4f} [{row.diversity_lo:.4f}, "
          f"{row.diversity_hi:.4f}], recognizability {row.recognizability:.4f} "
          f"[{row.recognizability_lo:.4f}, {row.recognizability_hi:.4f}]; figure {out}/plane.png")


def cmd_claims(args):
    """The papers' findings of several runs (seeds, machines) side by side."""
    import pandas as pd

    from divrec.claims import across_runs

    tables = {}
    for folder in args.results:
        path = Path(Layout(folder).claims(args.dataset))
        if not path.exists():
            raise DivrecError(f"no claims table at {path} (run the workflow's claims rule for "
                              f"{folder} first)")
        tables[folder] = pd.read_parquet(path)
    table = across_runs(tables).drop(columns=["dataset", "claim"])
    for row in [list(table.columns), ["---"] * table.shape[1], *table.astype(str).values.tolist()]:
        print("| " + " | ".join(row) + " |")


def _check_user_file(args, lay: Layout, st) -> None:
    """Refuse what would silently score wrong (divrec.user_samples); warn when the humans on the
    plane were scored with other settings."""
    import numpy as np

    from divrec import user_samples as U
    from divrec.io import read_parquet_metadata

    arrays = U.read_raw(args.samples)
    split = Path(lay.split(args.dataset))
    if split.exists():
        with np.load(split) as z:
            names, size = [str(n) for n in z["test_names"]], int(z["test_images"].shape[-1])
        U.check_against_split(arrays, args.samples, names, size, args.classes == "subset",
                              args.resize)
    human = Path(lay.metrics(args.dataset, *HUMAN, "per_class"))
    if human.exists():
        theirs = (read_parquet_metadata(human).get("config") or {}).get("evaluation") or {}
        ours = {**vars(st), "n_samples": int(arrays["samples"].shape[1])}
        for line in U.settings_differ(ours, theirs):
            print(f"divrec: warning: evaluation settings differ from the humans' ({line}); "
                  "their point on the plane is not comparable", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="divrec", description=__doc__)
    sub = p.add_subparsers(dest="verb", required=True)

    def verb(name: str, fn, text: str, config: str | list | None = "required",
             dataset: bool = False, point: bool = False):
        """A subcommand; ``config``: whether --config is "required", "optional" (or its default
        files) or absent; ``point``: a model point (and its dataset)."""
        sp = sub.add_parser(name, help=text)
        sp.set_defaults(fn=fn)
        if config:
            sp.add_argument("--config", nargs="+", required=config == "required",
                            default=config if isinstance(config, list) else [],
                            help="YAML config file(s); later ones override earlier ones")
            sp.add_argument("--results", default="results")
            sp.add_argument("--device", help="auto | cpu | cuda (default: the config's, else "
                            "auto)")
        if dataset or point:
            sp.add_argument("--dataset", default="omniglot",
                            help="whose split, critics and humans to use")
        if point:
            sp.add_argument("--model", required=True, help="model entry name in the config")
            sp.add_argument("--point", default="base", help="sweep point (see `divrec points`)")
        return sp

    verb("data", cmd_data, "fetch + verify Omniglot and build the configured split")
    verb("device-slots", cmd_device_slots, "how many training/sampling jobs may run at once "
         "(`make run` passes it as --resources gpu=N): GPUs, else CPU cores", config=None)
    verb("points", cmd_points, "list every (model, sweep point) of a config")
    verb("train", cmd_train, "train one model point (what the train_model rule runs)", point=True)
    sp = verb("train-critic", cmd_train_critic, "train the simclr or protonet critic",
              dataset=True)
    sp.add_argument("--kind", choices=["simclr", "protonet"], required=True)

    sp = verb("reference-critics", cmd_reference_critics, "train the reference critics "
              "(published recipe, resumable) and write the shipped folder with its SHA256 "
              "manifest", config=["config/config.yaml", "config/paper.yaml"], dataset=True)
    sp.add_argument("--kinds", nargs="+", choices=["protonet", "simclr"],
                    default=["protonet", "simclr"])
    sp.add_argument("--state", default=str(Path.home() / ".cache" / "divrec" / "reference"),
                    help="resume state (outside the work tree; rerun to continue)")
    sp.add_argument("--out", default=str(Path(__file__).resolve().parent / "critics" /
                                         "reference" / "omniglot_weak"))

    verb("sample", cmd_sample, "one-shot samples of a trained model point", point=True)
    sp = verb("claims", cmd_claims, "the papers' findings of several results folders (e.g. "
              "seed replicates) side by side, with how often each held", config=None, dataset=True)
    sp.add_argument("results", nargs="+", help="results folders, e.g. results results1")

    sp = verb("evaluate", cmd_evaluate, "score your own samples.npz with the trained critics",
              config="optional", dataset=True)
    sp.add_argument("samples", help="npz with samples [C, N, H, W] and exemplars [C, H, W]")
    sp.add_argument("--name", default="my_model")
    sp.add_argument("--critics", choices=["run", "reference"], default="run",
                    help="run: the critics of --results (or --simclr/--protonet); reference: "
                         "the shipped reference critics (comparable across users)")
    sp.add_argument("--classes", choices=["all", "subset"], default="all",
                    help="all: exactly the split's test classes (default); subset: a named "
                         "subset (class_names required), scored on its own tasks")
    sp.add_argument("--resize", action="store_true",
                    help="accept images of another size (resized to the critics' input)")
    sp.add_argument("--simclr")
    sp.add_argument("--protonet")
    sp.add_argument("--out")
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    from divrec.device import tune_malloc

    tune_malloc()
    try:
        args.fn(args)
    except DivrecError as e:
        print(f"divrec: error: {e}", file=sys.stderr)
        return 2
    return 0
