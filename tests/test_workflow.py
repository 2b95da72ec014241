"""The real workflow: dry run, a real tiny run on real Omniglot, partial reruns, bad config.

The tiny run uses config/test.yaml (few training steps, few tasks) on the offline Omniglot mirror
when it exists, else on a synthetic mirror in the same format.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests import pinned
from tests.conftest import ROOT, SHARED_OMNIGLOT, SHARED_QUICKDRAW, write_fake_mirror

CONFIGS = ["config/config.yaml", "config/test.yaml"]


def smk(*args, results: Path, env=None, check=True, timeout=1500, configs=None, targets=()):
    cmd = [sys.executable, "-m", "snakemake", *targets, "--cores", "2", "--configfile",
           *(configs or CONFIGS), "--config", f"results={results}", *args]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, **(env or {})})
    if check and res.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{res.stdout[-3000:]}\n{res.stderr[-5000:]}")
    return res


@pytest.fixture(scope="module")
def mirror_env(tmp_path_factory):
    if (SHARED_OMNIGLOT / "SHA256SUMS").exists():
        return {"DIVREC_OMNIGLOT_MIRROR": str(SHARED_OMNIGLOT)}
    fake = write_fake_mirror(tmp_path_factory.mktemp("mirror"), n_alphabets=8, chars=8)
    return {"DIVREC_OMNIGLOT_MIRROR": str(fake)}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, mirror_env):
    """One real tiny run; the configs are frozen copies so later checks see the same DAG."""
    import shutil

    results = tmp_path_factory.mktemp("results")
    frozen = [str(shutil.copy(ROOT / c, results.parent / f"frozen_{Path(c).name}"))
              for c in CONFIGS]
    if not (SHARED_QUICKDRAW / "SHA256SUMS").exists():  # no QuickDraw offline: Omniglot only
        only = results.parent / "frozen_omniglot_only.yaml"
        only.write_text("models:\n" + "".join(f"  {m}: {{datasets: [omniglot]}}\n"
                                                for m in ("ddpm", "cfgdm")))
        frozen.append(str(only))
    smk(results=results, env=mirror_env, configs=frozen)
    return results, {**mirror_env, "_configs": frozen}


def test_dry_run_lists_every_stage(tmp_path):
    res = smk("-n", results=tmp_path)
    jobs = _planned(res.stdout)
    assert "Exception" not in res.stdout + res.stderr  # e.g. a rule's inputs tried for humans
    for rule in ("omniglot", "split_omniglot", "train_critic", "critic_calibration",
                 "train_model", "sample_model", "sample_humans", "metrics", "aggregate",
                 "claims", "plane_figure", "diverse_point", "importance_maps", "quality_train"):
        assert rule in jobs, rule


def test_rules_write_the_files_the_layout_names(tmp_path):
    """The rules, the figure targets and the CLI share ``divrec.paths.Layout``: every shared file
    it names for the tiny config's points is a planned output, made by the rule that owns it."""
    from divrec.config import load_config
    from divrec.paths import HUMAN, Layout
    from divrec.points import model_points

    res = smk("-n", "--summary", results=tmp_path)
    planned = dict(line.split("\t")[::2][:2] for line in res.stdout.splitlines()[1:]
                   if line.count("\t") >= 2)
    lay = Layout(str(tmp_path))
    cfg = load_config(*[ROOT / c for c in CONFIGS])
    want = {}
    for ds in {p.dataset for p in model_points(cfg)}:
        want |= {lay.split(ds): f"split_{ds}", lay.calibration(ds): "critic_calibration",
                 lay.summary(ds): "aggregate", lay.claims(ds): "claims",
                 lay.figures(ds, "plane.png"): "plane_figure",
                 lay.samples(ds, *HUMAN): "sample_humans"}
        want |= {lay.critic(ds, k): "train_critic" for k in ("simclr", "protonet")}
    for p in model_points(cfg):
        want[lay.model(p.dataset, p.model, p.train_name)] = "train_model"
        want[lay.samples(p.dataset, p.model, p.name)] = "sample_model"
        want |= {lay.metrics(p.dataset, p.model, p.name, t): "metrics"
                 for t in ("per_class", "summary")}
    for path, rule in want.items():
        assert planned.get(path) == rule, (path, planned.get(path))


def test_bad_config_key_fails_naming_it(tmp_path):
    res = smk("-n", "--config", "evaluation={'n_sampels': 3}", results=tmp_path, check=False)
    assert res.returncode != 0
    assert "n_sampels" in res.stdout + res.stderr


@pytest.mark.slow
def test_tiny_real_run_produces_tables_and_figure(tiny_run):
    results, _ = tiny_run
    summary = pd.read_parquet(results / "omniglot/metrics/summary.parquet")
    assert {"human", "vae_stn"} <= set(summary["family"])
    for col in ("diversity", "recognizability", "originality"):
        assert summary[col].notna().all()
    assert summary["recognizability"].between(0, 1).all()
    # a 5-step model may draw one identical blob per class (diversity exactly 0, as VAE-NS did
    # once, and the x0-predicting diffusion models nearly do): the metric must be >= 0
    # everywhere and clearly positive for the humans' 20 different drawings
    assert (summary["diversity"] >= 0).all()
    assert (summary.loc[summary.family == "human", "diversity"] > 0.1).all()
    assert (summary["diversity_lo"] <= summary["diversity"]).all()
    per_class = pd.read_parquet(results / "omniglot/metrics/human/data/per_class.parquet")
    assert len(per_class) == summary.loc[summary.family == "human", "n_classes"].iloc[0]
    for f in ("plane.png", "plane.pdf"):
        assert (results / "omniglot/figures" / f).stat().st_size > 1000
    assert any((results / "logs").rglob("*.log"))
    maps = pd.read_parquet(results / "omniglot/importance/cfgdm/base.parquet")
    assert len(maps) == len(per_class) and (maps.ink_lift > 0).all()
    assert (results / "omniglot/figures/importance/cfgdm/base.png").stat().st_size > 1000
    cal = pd.read_parquet(results / "omniglot/critics/calibration.parquet")
    assert set(cal.critic) == {"protonet", "simclr"} and set(cal.part) == {"val", "test"}
    assert cal[cal.critic == "protonet"].value.between(0, 1).all()
    assert (cal[cal.critic == "simclr"].value > 0).all()
    claims = pd.read_parquet(results / "omniglot/claims.parquet")
    assert {"gan_vs_vae_diversity", "vae_ns_closest", "human_curve_above"} <= set(claims.claim)
    assert set(claims.verdict) <= {"holds", "does not hold", "inconclusive", "not enough points"}
    assert (cal.precision.isin(["bf16", "fp32"])).all() and (cal.train_seconds > 0).all()


@pytest.mark.slow
def test_tiny_run_reproduces_the_pinned_tables(tiny_run):
    """Every table of the tiny run against its digest pinned on this kind of machine (before the
    tests below rerun parts of it). After an intended change of results, ``make pin`` records
    the new digests and the commit names the change."""
    results, env = tiny_run
    data = "omniglot-mirror" if env["DIVREC_OMNIGLOT_MIRROR"] == str(SHARED_OMNIGLOT) else "fake"
    qd = "quickdraw" if (SHARED_QUICKDRAW / "SHA256SUMS").exists() else "no-quickdraw"
    kind, got = pinned.machine_kind(f"{data} {qd}"), pinned.run_digests(results)
    assert len(got) > 50, sorted(got)
    if os.environ.get("DIVREC_PIN"):
        pinned.save_pins(kind, got)
    pins = pinned.load_pins().get(kind)
    if pins is None:
        pytest.skip(f"no pinned digests for '{kind}' (`make pin` records them)")
    changed = pinned.differences(pins, got)
    assert not changed, f"{len(changed)} tables differ from the pins of '{kind}':\n" + \
        "\n".join(changed)


@pytest.mark.slow
def test_tiny_run_covers_quickdraw_when_its_mirror_exists(tiny_run):
    if not (SHARED_QUICKDRAW / "SHA256SUMS").exists():
        pytest.skip(f"offline QuickDraw mirror not present at {SHARED_QUICKDRAW}")
    results, _ = tiny_run
    summary = pd.read_parquet(results / "quickdraw/metrics/summary.parquet")
    assert {"human", "cfgdm"} <= set(summary["family"])
    assert summary["recognizability"].between(0, 1).all()
    for f in ("generalization.png", "guidance.png", "importance/cfgdm/base.png"):
        assert (results / "quickdraw/figures" / f).stat().st_size > 1000


@pytest.mark.slow
def test_deleting_a_metrics_file_reruns_only_downstream(tiny_run):
    results, env = tiny_run
    target = next((results / "omniglot/metrics/vae_stn").rglob("summary.parquet"))
    target.unlink()
    configs = env.pop("_configs")
    res = smk("-n", results=results, env=env, configs=configs)
    env["_configs"] = configs
    out = res.stdout + res.stderr
    jobs = {line.split()[0] for line in out.splitlines()
            if line and line.split()[0] in {"omniglot", "split_omniglot", "train_critic",
                                             "train_model", "sample_model", "sample_humans",
                                             "metrics", "aggregate", "plane_figure"}
            and len(line.split()) == 2 and line.split()[1].isdigit()}
    assert "metrics" in jobs and "aggregate" in jobs
    assert not jobs & {"omniglot", "split_omniglot", "train_critic", "train_model",
                       "sample_model", "sample_humans"}


@pytest.mark.slow
def test_cli_evaluates_user_samples(tiny_run, tmp_path):
    results, _ = tiny_run
    from divrec.samples import load_samples

    human = load_samples(results / "omniglot/samples/human/data.npz")
    user = tmp_path / "mine.npz"
    import numpy as np

    np.savez(user, samples=human.samples[:, ::-1], exemplars=human.exemplars)
    res = subprocess.run([sys.executable, "-m", "divrec", "evaluate", str(user), "--name", "mine",
                          "--results", str(results), "--out", str(tmp_path / "out")],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "mine: diversity" in res.stdout
    table = pd.read_parquet(tmp_path / "out/summary.parquet")
    assert "mine" in set(table["model"]) and (tmp_path / "out/plane.png").exists()


def test_cli_missing_checkpoint_is_one_line(tmp_path):
    import numpy as np

    f = tmp_path / "s.npz"
    np.savez(f, samples=np.zeros((2, 3, 50, 50), np.uint8),
             exemplars=np.zeros((2, 50, 50), np.uint8))
    res = subprocess.run([sys.executable, "-m", "divrec", "evaluate", str(f), "--results",
                          str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("divrec: error: critic checkpoint not found")
    assert "Traceback" not in res.stderr


def test_cifar_config_plans_the_three_model_comparison(tmp_path):
    out = smk("-n", results=tmp_path, targets=["quality"],
              configs=["config/config.yaml", "config/cifar.yaml"]).stdout
    assert "quality_cifar10" in out
    for model in ("dcgan", "ddpm", "ddgan"):
        assert f"results/quality/cifar10/models/{model}/model.pt" in out.replace(str(tmp_path),
                                                                                 "results")


def test_cifar_tarball_that_is_not_the_official_one_fails_clearly(tmp_path):
    from tests.test_cifar10 import _tiny_archive

    tar, _, _ = _tiny_archive(tmp_path)
    target = tmp_path / "res" / "quality/cifar10/data/cifar10.npz"
    res = smk(results=tmp_path / "res", check=False, targets=[str(target)],
              configs=["config/config.yaml", "config/cifar.yaml"],
              env={"DIVREC_CIFAR10_TARBALL": str(tar)})
    assert res.returncode != 0
    assert "md5 mismatch" in (res.stdout + res.stderr).lower()
    assert not target.exists()


def test_reference_critics_replace_critic_training_in_the_plan(tmp_path):
    jobs = _planned(smk("-n", results=tmp_path, configs=[*CONFIGS, "config/reference.yaml"]).stdout)
    assert {"reference_critic", "critic_calibration"} <= jobs and "train_critic" not in jobs


@pytest.mark.slow
def test_changing_one_sweep_value_retrains_exactly_one_point(tiny_run, tmp_path):
    results, env = tiny_run
    configs = env["_configs"]
    over = tmp_path / "beta8.yaml"
    over.write_text("models: {vae_stn: {sweep: {values: {beta: [1.0, 8.0]}}}}\n")
    env = {k: v for k, v in env.items() if k != "_configs"}
    out = smk("-n", results=results, env=env, configs=[*configs, str(over)]).stdout
    table = out[out.index("Job stats"):].splitlines()
    counts = {ln.split()[0]: int(ln.split()[1]) for ln in table[3:] if len(ln.split()) == 2
              and ln.split()[1].isdigit()}
    assert counts.get("train_model") == 1 and counts.get("sample_model") == 1, counts
    assert "beta=8/model.pt" in out and "beta=4/model.pt" not in out


def _planned(out: str) -> set[str]:
    """Rule names of the dry run's job table (between its header and the total line)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["job", "count"])
    jobs = set()
    for line in lines[start + 2:]:
        if line.startswith("total"):
            return jobs
        jobs.add(line.split()[0])
    return jobs


def test_named_targets_and_stage_switches_plan_only_their_stage(tmp_path):
    jobs = _planned(smk("-n", results=tmp_path, targets=["critics"]).stdout)
    assert jobs == {"omniglot", "split_omniglot", "quickdraw", "split_quickdraw",
                    "train_critic", "critic_calibration", "critics"}
    off = tmp_path / "off.yaml"
    off.write_text("stages: {diverse: false, quality: false, importance: false}\n")
    jobs = _planned(smk("-n", results=tmp_path, configs=[*CONFIGS, str(off)]).stdout)
    assert "train_model" in jobs and "claims" in jobs
    assert not {j for j in jobs if j.startswith(("diverse", "quality", "importance"))}
