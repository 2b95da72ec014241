"""Every result says what produced it: config hash, package versions, git commit, device, seed.

The unit tests pin the record itself; the chain test runs the real library steps of the workflow
(critic, model, samples, metrics) on a tiny synthetic Omniglot and reads each artefact back the
way a user would (torch.load, read_parquet_metadata, load_samples).
"""

from __future__ import annotations

import re
import subprocess
from importlib import metadata
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from divrec.config import expand_sweep, validate
from divrec.io import read_parquet_metadata, save_parquet
from divrec.provenance import config_hash, git_commit, provenance
from divrec.samples import SampleSet, load_samples
from tests.conftest import ROOT


def assert_complete(prov: dict, device: str = "cpu") -> None:
    """The five things a number must be traceable to."""
    assert re.fullmatch(r"[0-9a-f]{12}", prov["config_hash"]), prov.get("config_hash")
    assert prov["config_hash"] == config_hash(prov["config"])
    assert prov["versions"]["torch"] == metadata.version("torch")  # the installed distribution
    assert prov["versions"]["numpy"] == np.__version__
    assert prov["versions"]["divrec"] not in ("", "absent")
    assert prov["git_commit"] == git_commit()
    assert prov["device"] == device
    assert isinstance(prov["seed"], int)


def test_config_hash_ignores_key_order_and_sees_values():
    a = {"lr": 1e-3, "steps": 10, "nested": {"x": 1, "y": [1, 2]}}
    b = {"nested": {"y": [1, 2], "x": 1}, "steps": 10, "lr": 1e-3}
    assert config_hash(a) == config_hash(b)
    assert config_hash(a) != config_hash({**a, "steps": 11})
    assert config_hash(a) != config_hash({**a, "nested": {"x": 1, "y": [2, 1]}})


def test_provenance_record_is_complete():
    cfg = {"model": "vae_stn", "params": {"beta": 1.0}}
    prov = provenance(cfg, seed=3, device="cpu")
    assert_complete(prov)
    assert prov["seed"] == 3 and prov["config"] == cfg


def test_git_commit_is_the_checkout_head():
    res = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                         text=True)
    if res.returncode != 0:
        pytest.skip("not a git checkout")
    assert git_commit() == res.stdout.strip()


def test_parquet_and_samples_roundtrip_keep_provenance(tmp_path):
    prov = provenance({"evaluation": {"k_way": 20}}, seed=0, device="cpu")
    df = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})
    save_parquet(df, tmp_path / "t.parquet", metadata=prov)
    assert read_parquet_metadata(tmp_path / "t.parquet") == prov
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "t.parquet"), df)

    ss = SampleSet(np.zeros((2, 3, 8, 8), np.uint8), np.zeros((2, 8, 8), np.uint8), ["a", "b"],
                   np.zeros((2, 3), bool), prov)
    ss.save(tmp_path / "s.npz")
    assert load_samples(tmp_path / "s.npz").provenance == prov


# ----------------------------------------------------------------------------- the real chain


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """Critics, one VAE-STN point, its samples and metrics: real library calls, tiny sizes."""
    from divrec.critics.train import train_critic
    from divrec.evaluate import metrics_rule
    from divrec.generate import human_samples, sample_checkpoint
    from divrec.job import Job
    from divrec.training.run import train_model
    from tests.conftest import tiny_chain_setup

    tmp = tmp_path_factory.mktemp("chain")
    split, cfg = tiny_chain_setup(tmp)
    cfg["critics"]["simclr"]["train"] = {"steps": 1, "batch_size": 4}
    cfg["critics"]["protonet"].update(train={"steps": 1}, k_way=3, n_query=1)
    cfg["evaluation"].update(n_samples=3, k_way=3, tasks_per_class=2, bootstrap=10)
    cfg["models"] = {"vae_stn": {"family": "vae_stn", "train": {"steps": 1, "batch_size": 2},
                                 "params": {"z_size": 4, "time_step": 2, "lstm_size": 110}}}
    cfg = validate(cfg)
    for kind in ("simclr", "protonet"):
        train_critic(cfg, kind, "omniglot", split, tmp / f"{kind}.pt",
                     tmp / f"{kind}_history.parquet", tmp / "resume" / kind)
    point = expand_sweep(cfg["models"]["vae_stn"])[0].name
    train_model(cfg, "omniglot", "vae_stn", point, split, tmp / "model.pt",
                tmp / "history.parquet", tmp / "resume")
    sample_checkpoint(str(tmp / "model.pt"), str(split), 3, cfg["seed"], "cpu").save(
        tmp / "samples.npz")
    human_samples(str(split)).save(tmp / "human.npz")
    outs = SimpleNamespace(**{k: tmp / f"{k}.parquet" for k in ("per_class", "per_sample",
                                                                 "summary")})
    ins = SimpleNamespace(samples=tmp / "samples.npz", simclr=tmp / "simclr.pt",
                          protonet=tmp / "protonet.pt")
    job = Job(cfg, SimpleNamespace(dataset="omniglot", model="vae_stn", point=point), ins, outs)
    job.device = torch.device("cpu")
    metrics_rule(job)
    return tmp


@pytest.mark.parametrize("name", ["simclr.pt", "protonet.pt", "model.pt"])
def test_checkpoints_record_provenance(chain, name):
    ck = torch.load(chain / name, map_location="cpu", weights_only=False)
    assert_complete(ck["provenance"])


@pytest.mark.parametrize("name", ["simclr_history", "protonet_history", "history"])
def test_training_histories_record_provenance(chain, name):
    """Histories carry the checkpoint's metadata, provenance nested under its own key."""
    assert_complete(read_parquet_metadata(chain / f"{name}.parquet")["provenance"])


@pytest.mark.parametrize("name", ["per_class", "per_sample", "summary"])
def test_metrics_tables_record_provenance(chain, name):
    assert_complete(read_parquet_metadata(chain / f"{name}.parquet"))


def test_model_samples_record_the_training_provenance(chain):
    prov = load_samples(chain / "samples.npz").provenance
    assert isinstance(prov["seed"], int)
    assert_complete(prov["train_provenance"])


@pytest.mark.parametrize("name", ["samples.npz", "human.npz"])
def test_samples_record_their_own_provenance(chain, name):
    assert_complete(load_samples(chain / name).provenance)
