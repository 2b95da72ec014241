"""Config validation: a wrong key or type fails with one line naming the key."""

from __future__ import annotations

import re

import pytest
import yaml

from divrec.config import load_config
from divrec.errors import ConfigError
from divrec.typed import typed
from tests.conftest import ROOT


def _write(tmp_path, cfg):
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(cfg))
    return p


def test_default_config_is_valid_and_gets_defaults():
    cfg = load_config(ROOT / "config" / "config.yaml")
    assert cfg["evaluation"]["k_way"] == 20
    assert cfg["data"]["omniglot"]["split"] == "weak"


def test_unknown_key_is_named(tmp_path):
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["evaluation"]["n_sampels"] = 3
    with pytest.raises(ConfigError) as e:
        load_config(_write(tmp_path, cfg))
    assert "n_sampels" in str(e.value) and "evaluation" in str(e.value)


def test_wrong_type_is_named(tmp_path):
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["critics"]["protonet"]["k_way"] = "twenty"
    with pytest.raises(ConfigError, match="critics/protonet/k_way"):
        load_config(_write(tmp_path, cfg))


def test_unknown_model_param_is_named():
    from divrec.models.registry import build_model

    with pytest.raises(ConfigError, match="z_sise"):
        build_model("vae_stn", {"z_sise": 3})


def test_typed_rejects_unknown():
    from divrec.config import TrainConfig

    with pytest.raises(ConfigError, match="stepz"):
        typed(TrainConfig, {"stepz": 1}, "train")


def test_sampling_variants_expand_from_one_trained_point():
    from divrec.points import model_points, resolve_point

    cfg = {"models": {"cfg": {"family": "x", "params": {"a": 1},
                              "sample": {"guidance": [0, 2], "steps": 10}}}}
    points = model_points(cfg)
    assert [p.name for p in points] == ["base~guidance=0", "base~guidance=2"]
    assert {p.train_name for p in points} == {"base"} and points[0].dataset == "omniglot"
    pt = resolve_point(cfg, "omniglot", "cfg", "base~guidance=2")
    assert pt.sample == {"guidance": 2, "steps": 10} and pt.params == {"a": 1}
    assert resolve_point(cfg, "omniglot", "cfg", "base").params == {"a": 1}  # a trained point
    with pytest.raises(ConfigError, match="no point 'base~guidance=1'"):
        resolve_point(cfg, "omniglot", "cfg", "base~guidance=1")


def test_points_see_their_dataset_overrides(tmp_path):
    from divrec.points import model_points

    cfg = _with_overrides(tmp_path, {"quickdraw": {"models": {"ddpm": {"params": {"n_feat": 4},
                                                                         "sample": {"steps": 3}}}}})
    ddpm = {p.dataset: p for p in model_points(cfg) if p.model == "ddpm"}
    assert ddpm["quickdraw"].params["n_feat"] == 4 and ddpm["quickdraw"].sample["steps"] == 3
    assert ddpm["omniglot"].params["n_feat"] == cfg["models"]["ddpm"]["params"]["n_feat"] != 4


@pytest.mark.parametrize(("override", "message"), [
    ({"models": {"vae_stn": {"params": {"beta": "abc"}}}},
     "models.vae_stn.params.beta = 'abc': expected float, got str"),
    ({"models": {"vae_stn": {"params": {"betta": 1.0}}}}, "unknown parameter 'betta'"),
    ({"models": {"vae_stn": {"sweep": {"values": {"beta": [1.0, "x"]}}}}},
     "models.vae_stn.sweep.values.beta = 'x'"),
    ({"quality": {"models": {"dcgan": {"params": {"nz": 1.5}}}}},
     "quality.models.dcgan.params.nz = 1.5: expected int"),
])
def test_model_params_are_checked_against_the_family(tmp_path, override, message):
    from divrec.config import load_config
    from divrec.errors import ConfigError

    with pytest.raises(ConfigError) as e:
        load_config(ROOT / "config" / "config.yaml", _write(tmp_path, override))
    assert message in str(e.value) and "\n" not in str(e.value)


def test_missing_schema_is_an_error(monkeypatch, tmp_path):
    from divrec import config
    from divrec.errors import ConfigError

    monkeypatch.setattr(config, "SCHEMA", tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="schema not found"):
        config.validate({})


def _with_overrides(tmp_path, overrides):
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["dataset_overrides"] = overrides
    return load_config(_write(tmp_path, cfg))


def test_dataset_overrides_apply_to_that_dataset_only(tmp_path):
    from divrec.config import for_dataset

    cfg = _with_overrides(tmp_path, {"quickdraw": {
        "critics": {"protonet": {"train": {"steps": 7}}},
        "models": {"ddpm": {"train": {"steps": 9}, "params": {"n_feat": 4}}}}})
    qd, om = for_dataset(cfg, "quickdraw"), for_dataset(cfg, "omniglot")
    assert qd["critics"]["protonet"]["train"]["steps"] == 7
    assert qd["critics"]["protonet"]["train"]["lr"] == cfg["critics"]["protonet"]["train"]["lr"]
    ddpm = qd["models"]["ddpm"]
    assert ddpm["train"]["steps"] == 9 and ddpm["params"]["n_feat"] == 4
    assert ddpm["train"]["batch_size"] == cfg["models"]["ddpm"]["train"]["batch_size"]
    assert om["critics"] == cfg["critics"] and om["models"] == cfg["models"]
    assert cfg["critics"]["protonet"]["train"]["steps"] != 7  # the top level is untouched


@pytest.mark.parametrize("overrides, message", [
    ({"mnist": {"critics": {}}}, "dataset_overrides/mnist': no dataset 'mnist'"),
    ({"quickdraw": {"models": {"vae_xx": {"train": {}}}}}, "no model entry 'vae_xx'"),
    ({"quickdraw": {"models": {"ddpm": {"sweep": {}}}}}, "'sweep' cannot differ per dataset"),
    ({"quickdraw": {"critics": {"simclr": {"train": {"steps": "many"}}}}},
     "dataset_overrides/quickdraw: invalid config at 'critics/simclr/train/steps'"),
    ({"quickdraw": {"models": {"ddpm": {"params": {"n_feet": 4}}}}}, "n_feet"),
    ({"quickdraw": {"evaluation": {}}}, "evaluation"),
])
def test_bad_dataset_overrides_are_named(tmp_path, overrides, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        _with_overrides(tmp_path, overrides)


def test_a_later_config_clears_dataset_overrides_with_null():
    from divrec.config import for_dataset

    top = load_config(ROOT / "config" / "config.yaml")
    assert for_dataset(top, "quickdraw")["critics"] != top["critics"]  # the default shortens QD
    cfg = load_config(ROOT / "config" / "config.yaml", ROOT / "config" / "paper.yaml")
    assert for_dataset(cfg, "quickdraw")["critics"] == cfg["critics"]


def test_schema_defaults_are_the_dataclass_defaults():
    """One source of defaults: an empty config validated against the schema yields the settings
    dataclasses' own defaults, and the Omniglot and evaluation image sizes are IMAGE_SIZE."""
    from divrec.config import validate
    from divrec.critics.protonet import ProtoNetParams
    from divrec.critics.simclr import SimCLRParams
    from divrec.data.preprocess import IMAGE_SIZE
    from divrec.evaluate import EvalSettings, settings_from_config

    cfg = validate({"data": {"omniglot": {}}, "critics": {"simclr": {}, "protonet": {}},
                    "evaluation": {}, "models": {}})
    assert settings_from_config(cfg) == EvalSettings()
    for params, name in ((SimCLRParams, "simclr"), (ProtoNetParams, "protonet")):
        assert params(**cfg["critics"][name]) == params()
    assert cfg["evaluation"]["image_size"] == IMAGE_SIZE
    assert cfg["data"]["omniglot"]["image_size"] == IMAGE_SIZE
