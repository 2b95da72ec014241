"""The real workflow through profiles/slurm on a real (local, single-node) SLURM cluster.

The cluster is ../shared/slurm/local-cluster.sh (munged + slurmctld + slurmd, no accounting DB),
started with one fake GPU so the `gpu=1` -> `sbatch --gpus=1` mapping is exercised. The target
is small on purpose (every SLURM job costs 10-20 s of status polling): both critics, the human
samples and their metrics (one "evaluation" group job). The outputs must equal a local run's
bit for bit: training on CPU is deterministic for fixed seeds and a fixed thread count (2 here,
`threads: 2` locally and `--cpus-per-task=2` under SLURM, no affinity on this cluster).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess

import numpy as np
import pandas as pd
import pytest
import torch

from divrec.config import deep_merge
from tests.conftest import ROOT
from tests.test_resume_workflow import TINY, make_workdir, omniglot_data, run_snakemake

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

SCRIPT = ROOT.parent / "shared" / "slurm" / "local-cluster.sh"
# 28 px critic inputs: the human metrics embed all 3000 test drawings twice, 3x cheaper than 50 px
OVERLAY = deep_merge(TINY, {"evaluation": {"image_size": 28}})
R = "results/omniglot"
TARGETS = [f"{R}/critics/simclr.pt", f"{R}/critics/protonet.pt",
           f"{R}/metrics/human/data/summary.parquet"]
COMPARED_TABLES = ["critics/simclr_history", "critics/protonet_history",
                   "metrics/human/data/per_class", "metrics/human/data/per_sample",
                   "metrics/human/data/summary"]


def _cluster(cmd: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), cmd], capture_output=True, text=True, **kw)


def _status() -> str:
    """The daemons' lines of `status`. Its trailing sinfo/squeue wait ~1 min each for a
    controller when none runs (slurm-wlm installed, cluster stopped): then the lines printed
    before the timeout are the answer."""
    try:
        return _cluster("status", timeout=30).stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout or b""
        return out.decode() if isinstance(out, bytes) else out


def _exports(text: str) -> dict[str, str]:
    """`export A=1 PATH=/x:$PATH` -> {"A": "1", "PATH": "/x:<current PATH>"}."""
    words = shlex.split(text.strip().removeprefix("export"))
    return {k: os.path.expandvars(v) for k, v in (w.split("=", 1) for w in words)}


@pytest.fixture(scope="session")
def slurm_cluster():
    """Start the local cluster (unless one runs already), put its client env into os.environ
    for the snakemake subprocesses, and stop it afterwards if this fixture started it."""
    if not SCRIPT.exists():
        pytest.skip(f"no local SLURM cluster script at {SCRIPT}")
    running = re.search(r"^slurmctld running", _status(), re.M)
    res = _cluster("start", timeout=600, env={**os.environ, "SLURM_LOCAL_FAKE_GPUS": "1"})
    if res.returncode != 0:
        tail = " | ".join(res.stderr.strip().splitlines()[-3:])
        pytest.skip(f"local SLURM cluster did not start (needs root + apt, or slurm-wlm and "
                    f"munge installed): {tail}")
    env = _exports(_cluster("env", timeout=60).stdout)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        node = subprocess.run(["scontrol", "show", "node", "localhost"], capture_output=True,
                              text=True, timeout=60).stdout
        yield {"gpus": bool(re.search(r"\bGres=gpu:[1-9]", node))}
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if not running:
            _cluster("stop", timeout=120)


@pytest.fixture(scope="module")
def runs(slurm_cluster, tmp_path_factory):
    """The same targets, once with --cores 2 and once through profiles/slurm."""
    tmp = tmp_path_factory.mktemp("slurm")
    data = omniglot_data(tmp)
    local = make_workdir(tmp / "local", data, OVERLAY)
    run_snakemake(local, *TARGETS, "--cores", "2", timeout=900)
    cluster = make_workdir(tmp / "cluster", data, OVERLAY)
    no_gpu = [] if slurm_cluster["gpus"] else ["--set-resources", "train_critic:gpu=0"]
    res = run_snakemake(cluster, *TARGETS, "--profile", "profiles/slurm", "--jobs", "2",
                        "--latency-wait", "5", "--slurm-init-seconds-before-status-checks", "5",
                        "--slurm-keep-successful-logs", *no_gpu, timeout=900)
    return local, cluster, res, slurm_cluster["gpus"]


def _job_ids(wd, log_dir: str) -> list[str]:
    """SLURM job ids from the plugin's logs: slurm_logs/<rule_x|group_y>/<wildcards>/<id>.log"""
    return [p.stem for p in (wd / ".snakemake/slurm_logs" / log_dir).rglob("*.log")]


def test_jobs_ran_under_slurm_with_gpus_requested(runs):
    _, cluster, res, gpus = runs
    critic_jobs = _job_ids(cluster, "rule_train_critic")
    assert len(critic_jobs) == 2, res.stderr[-4000:]
    assert _job_ids(cluster, "rule_sample_humans")
    assert _job_ids(cluster, "group_evaluation_metrics")  # profiles/slurm groups metrics
    for job in critic_jobs:
        info = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True,
                              timeout=60).stdout
        assert "JobState=COMPLETED" in info, info
        assert "NumCPUs=1" in info, info  # the rule's threads: 1 -> --cpus-per-task=1
        if gpus:
            assert re.search(r"TresPerJob=gres[:/]gpu[:=]1", info), info


def test_critics_are_bitwise_equal_to_a_local_run(runs):
    local, cluster, _, _ = runs
    for kind in ("simclr", "protonet"):
        a = torch.load(local / R / f"critics/{kind}.pt", map_location="cpu", weights_only=False)
        b = torch.load(cluster / R / f"critics/{kind}.pt", map_location="cpu", weights_only=False)
        assert a["step"] == b["step"] > 0
        assert a["state_dict"].keys() == b["state_dict"].keys()
        for k, v in a["state_dict"].items():
            assert torch.equal(v, b["state_dict"][k]), f"{kind}.{k} differs"


@pytest.mark.parametrize("table", COMPARED_TABLES)
def test_tables_are_equal_to_a_local_run(runs, table):
    local, cluster, _, _ = runs
    a = pd.read_parquet(local / R / f"{table}.parquet")
    b = pd.read_parquet(cluster / R / f"{table}.parquet")
    assert len(a) > 0
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_human_samples_are_equal_to_a_local_run(runs):
    local, cluster, _, _ = runs
    with np.load(local / R / "samples/human/data.npz") as a, \
            np.load(cluster / R / "samples/human/data.npz") as b:
        for k in ("samples", "exemplars", "excluded", "class_names"):
            np.testing.assert_array_equal(a[k], b[k])
