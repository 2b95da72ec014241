"""The one job boundary between the workflow and the library (``divrec.job``, ``divrec.snake``):
every script is ``run(snakemake, <library function>)``, the device is picked once per job, and
no library function reads the config's device itself."""

from __future__ import annotations

import ast
import importlib
import logging
from types import SimpleNamespace as NS

import pytest

from divrec.errors import DataError
from divrec.job import Job
from tests.conftest import ROOT

SCRIPTS = sorted((ROOT / "workflow" / "scripts").glob("*.py"))


def _body(script) -> tuple[str, str]:
    """(module, function) a script hands to ``run``; fails unless that is all it does."""
    tree = ast.parse(script.read_text())
    *imports, call = tree.body
    assert all(isinstance(i, ast.ImportFrom) for i in imports), script.name
    names = {a.asname or a.name: i.module for i in imports for a in i.names}
    assert isinstance(call, ast.Expr) and isinstance(call.value, ast.Call), script.name
    fn, args = call.value.func, call.value.args
    assert isinstance(fn, ast.Name) and fn.id == "run" and names["run"] == "divrec.snake"
    assert [type(a) for a in args] == [ast.Name, ast.Name] and args[0].id == "snakemake"
    return names[args[1].id], args[1].id


def test_every_script_is_one_call_through_the_job_boundary():
    assert len(SCRIPTS) > 30
    for script in SCRIPTS:
        module, name = _body(script)
        assert callable(getattr(importlib.import_module(module), name)), script.name


def test_no_library_module_reads_the_configs_device():
    offenders = [str(p) for p in (ROOT / "src" / "divrec").rglob("*.py")
                 if 'cfg.get("device"' in p.read_text()]
    assert offenders == []


def test_the_device_is_picked_once(monkeypatch):
    import divrec.job as J

    picks = []
    monkeypatch.setattr(J, "pick_device", lambda pref: picks.append(pref) or pref)
    job = Job({"device": "cpu"})
    assert job.device == job.device == "cpu" and picks == ["cpu"]


def test_point_resolves_the_wildcards():
    from divrec.config import load_config

    cfg = load_config(ROOT / "config" / "config.yaml")
    w = NS(dataset="omniglot", model="vae_stn", point="beta=8")
    pt = Job(cfg, w).point()
    assert (pt.dataset, pt.model, pt.train_name) == ("omniglot", "vae_stn", "beta=8")


def _smk(tmp_path, rule="r"):
    return NS(log=[str(tmp_path / "r.log")], threads=1, rule=rule, config={"seed": 3},
              wildcards={}, input=["in"], output=["out"], params=NS())


def test_run_hands_the_body_a_job(tmp_path, monkeypatch):
    import divrec.snake as S

    monkeypatch.setattr(S, "validate", lambda cfg, check_params: cfg)
    seen = []
    S.run(_smk(tmp_path), seen.append)
    assert [(j.cfg["seed"], list(j.input), list(j.output), j.threads) for j in seen] == \
        [(3, ["in"], ["out"], 1)]
    logging.basicConfig(force=True)


@pytest.mark.parametrize("exc, console", [(DataError("bad file"), "divrec error in rule r: bad"),
                                          (ValueError("boom"), "divrec: rule r failed")])
def test_run_failures_are_one_console_line(tmp_path, monkeypatch, capfd, exc, console):
    import divrec.snake as S

    monkeypatch.setattr(S, "validate", lambda cfg, check_params: cfg)

    def body(job):
        raise exc

    with pytest.raises(SystemExit):
        S.run(_smk(tmp_path), body)
    logging.basicConfig(force=True)
    err = capfd.readouterr().err
    assert console in err and "Traceback" not in err
    assert ("Traceback" in (tmp_path / "r.log").read_text()) == isinstance(exc, ValueError)
