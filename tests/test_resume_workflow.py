"""Kill the real workflow mid-training, resume it, and rerun only what a deleted file needs.

Runs a private copy of the workflow (Snakefile, rules, scripts, config, profiles) in a temp
folder, so its locks, metadata and killed jobs never touch the repository's .snakemake. The copy's
config is config.yaml + test.yaml + a tiny overlay, pruned to one model (vae_stn on omniglot), so
other model families added to the repository do not change what these tests run. Real Omniglot:
the repository's results/omniglot/data is reused when present, else built from the mirror.
Helpers here are shared with tests/test_slurm.py.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from divrec.config import deep_merge
from tests.conftest import ROOT, SHARED_OMNIGLOT

COPIED = ("Snakefile", "workflow", "config", "profiles")
TINY = {  # on top of config/test.yaml: seconds per job on a loaded 2-core machine
    "training": {"checkpoint_every": 2, "log_every": 2, "val_every": 1000, "val_batches": 1},
    "critics": {"simclr": {"train": {"steps": 2, "batch_size": 16}},
                "protonet": {"train": {"steps": 2}, "k_way": 5, "n_query": 1}},
    "evaluation": {"tasks_per_class": 2, "bootstrap": 10, "n_samples": 3},
    "models": {"vae_stn": {"train": {"steps": 2, "batch_size": 4},
                           "params": {"z_size": 4, "time_step": 2, "lstm_size": 110}}},
}
PROTONET_STEPS = 400  # a tiny 5-way episode takes milliseconds: enough of them to be killed
# in the middle even on a fast machine (CI once finished 10 between two polls)


# ----------------------------------------------------------------------------- shared helpers


def run_snakemake(wd: Path, *args: str, timeout: int = 900, check: bool = True,
                  env: dict | None = None) -> subprocess.CompletedProcess:
    """snakemake in ``wd``; `timeout -k` because a hung snakemake ignores SIGTERM."""
    cmd = ["timeout", "-k", "30", str(timeout), sys.executable, "-m", "snakemake", *args]
    res = subprocess.run(cmd, cwd=wd, capture_output=True, text=True, env=env or job_env())
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({res.returncode}):\n"
                             f"{res.stdout[-4000:]}\n{res.stderr[-6000:]}")
    return res


def job_env() -> dict:
    """The environment of snakemake and its jobs: this venv first on PATH, no progress bars."""
    env = dict(os.environ, DIVREC_NO_PROGRESS="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def omniglot_data(tmp_root: Path) -> Path:
    """A folder with the real raw.npz and split.npz (reused from the repository, else built)."""
    have = ROOT / "results" / "omniglot" / "data"
    if (have / "raw.npz").exists() and (have / "split.npz").exists():
        return have
    if not (SHARED_OMNIGLOT / "SHA256SUMS").exists():
        pytest.skip(f"no Omniglot data in {have} and no mirror at {SHARED_OMNIGLOT}")
    wd = make_workdir(tmp_root / "data-build", data=None)
    env = dict(job_env(), DIVREC_OMNIGLOT_MIRROR=str(SHARED_OMNIGLOT))
    run_snakemake(wd, "results/omniglot/data/split.npz", "--cores", "2", env=env)
    return wd / "results" / "omniglot" / "data"


def make_workdir(dest: Path, data: Path | None, overlay: dict | None = None) -> Path:
    """A private workflow copy whose only config file is the merged, pruned tiny config."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / name)
    cfg: dict = {}
    for f in ("config.yaml", "test.yaml"):
        cfg = deep_merge(cfg, yaml.safe_load((ROOT / "config" / f).read_text()) or {})
    cfg = deep_merge(cfg, overlay if overlay is not None else TINY)
    vae = cfg["models"]["vae_stn"]
    cfg["models"] = {"vae_stn": {**{k: vae[k] for k in ("family", "label", "train", "params")
                                    if k in vae}, "datasets": ["omniglot"]}}
    (dest / "config" / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    if data is not None:
        out = dest / "results" / "omniglot" / "data"
        out.mkdir(parents=True, exist_ok=True)
        # fresh mtimes, raw before split: newer than the copied scripts, so no code trigger
        now = time.time()
        for i, name in enumerate(("raw.npz", "split.npz")):
            shutil.copyfile(data / name, out / name)
            os.utime(out / name, (now - 10 + i, now - 10 + i))
    return dest


def mtimes(folder: Path) -> dict[Path, int]:
    """Every result file's mtime (ns); logs, benchmarks and resume state excluded."""
    skip = {"logs", "benchmarks", ".resume"}
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*")
            if p.is_file() and not skip & set(p.relative_to(folder).parts)}


def job_counts(dry_run_stdout: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run as {rule: count}."""
    counts: dict[str, int] = {}
    lines = dry_run_stdout.split("Job stats:", 1)[-1].splitlines()
    for line in lines:
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] != "total":
            counts[parts[0]] = int(parts[1])
        elif counts and parts[:1] == ["total"]:
            break
    return counts


# ----------------------------------------------------------------------------- the tests

R = "results/omniglot"
HUMAN_METRICS = f"{R}/metrics/human/data/summary.parquet"
# the core DAG of one dataset; `all` also pulls stages (quality, diverse...) that add minutes
FINAL = [f"{R}/metrics/summary.parquet", f"{R}/figures/plane.png", f"{R}/figures/plane.pdf"]


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    """Run 1 finishes SimCLR and the human samples; run 2 is SIGKILLed while ProtoNet trains;
    run 3 (--rerun-incomplete) finishes the core DAG (FINAL)."""
    tmp = tmp_path_factory.mktemp("resume")
    overlay = deep_merge(TINY, {"critics": {"protonet": {"train": {"steps": PROTONET_STEPS}}}})
    wd = make_workdir(tmp / "wf", omniglot_data(tmp), overlay)
    run_snakemake(wd, f"{R}/critics/simclr.pt", f"{R}/samples/human/data.npz", "--cores", "2")

    state_dir = wd / "results/.resume/omniglot/critics/protonet"
    log = open(tmp / "killed.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "snakemake", HUMAN_METRICS, "--cores", "2"],
                            cwd=wd, env=job_env(), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # own process group: kill the job with it
    deadline = time.time() + 600
    while not list(state_dir.glob("state-*.pt")) and proc.poll() is None:
        assert time.time() < deadline, "ProtoNet never wrote a checkpoint"
        time.sleep(0.01)
    before_kill = mtimes(wd / "results")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    log.close()
    state = torch.load(next(state_dir.glob("state-*.pt")), weights_only=False)
    killed_log = (tmp / "killed.log").read_text()
    assert not (wd / R / "critics/protonet.pt").exists(), (
        f"ProtoNet finished before the kill: raise PROTONET_STEPS\n{killed_log}")

    run_snakemake(wd, "--unlock", "--cores", "1")  # SIGKILL leaves the lock behind
    run_snakemake(wd, *FINAL, "--rerun-incomplete", "--cores", "2")
    return wd, before_kill, state["step"]


@pytest.mark.slow
def test_kill_and_resume_keeps_finished_work(resumed):
    wd, before_kill, _ = resumed
    assert before_kill, "nothing had finished before the kill"
    assert wd / R / "critics/simclr.pt" in before_kill
    changed = [str(p) for p, t in before_kill.items() if p.stat().st_mtime_ns != t]
    assert not changed, f"recomputed after the kill: {changed}"


@pytest.mark.slow
def test_killed_training_resumed_from_its_checkpoint(resumed):
    wd, _, killed_at = resumed
    log = (wd / "results/logs/omniglot/critics/protonet.log").read_text()
    steps = [int(s) for s in re.findall(r"resumed critic protonet from \S+ at step (\d+)", log)]
    assert steps, log[-3000:]
    assert 0 < killed_at <= steps[-1] < PROTONET_STEPS
    ck = torch.load(wd / R / "critics/protonet.pt", weights_only=False)
    assert ck["step"] == PROTONET_STEPS
    history = pd.read_parquet(wd / R / "critics/protonet_history.parquet")
    assert history["step"].tolist() == list(range(2, PROTONET_STEPS + 1, 2))  # no gap, no repeat


@pytest.mark.slow
def test_resumed_run_finishes_every_output(resumed):
    wd, *_ = resumed
    for f in [*FINAL, HUMAN_METRICS, f"{R}/metrics/vae_stn/base/summary.parquet"]:
        assert (wd / f).stat().st_size > 0, f
    out = run_snakemake(wd, "-n", "--cores", "1", *FINAL)
    assert "Nothing to be done" in out.stdout + out.stderr


@pytest.mark.slow
def test_deleting_one_metrics_file_reruns_only_it_and_downstream(resumed):
    """Snakemake does not rebuild a missing intermediate file whose consumers are up to date, so
    the deleted file is named as a target (what a user does to regenerate it)."""
    wd, *_ = resumed
    victim = f"{R}/metrics/vae_stn/base/summary.parquet"
    (wd / victim).unlink()
    out = run_snakemake(wd, "-n", "--cores", "1", *FINAL, victim).stdout
    assert job_counts(out) == {"metrics": 1, "aggregate": 1, "plane_figure": 1}, out
    assert re.search(r"Missing output files: \S*metrics/vae_stn/base/summary\.parquet", out)
