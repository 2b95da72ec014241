"""Importance maps over a split (divrec.importance), their table and figure: a real checkpoint
trained for two steps on a synthetic mirror, and hand-made maps whose statistics are known."""

from __future__ import annotations

from types import SimpleNamespace as NS

import numpy as np
import pytest

from divrec.config import validate
from divrec.errors import ConfigError, DataError
from divrec.importance import ImportanceMaps, checkpoint_maps, importance_table, ink_share
from divrec.io import save_npz
from divrec.job import Job
from divrec.plots.importance import category_rows, importance_rule
from tests.conftest import tiny_chain_setup

TINY = {"model_size": 16, "n_feat": 4, "dim_mults": [1, 2], "blocks": 1, "attention": False,
        "dw_kernel": 3, "timesteps": 20}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """(split, {family: model.pt}) for an untrained-ish CFGDM and DDPM (two training steps)."""
    from divrec.training.run import train_model

    tmp = tmp_path_factory.mktemp("importance")
    split, cfg = tiny_chain_setup(tmp)
    cfg["models"] = {f: {"family": f, "train": {"steps": 2, "batch_size": 4},
                         "params": {**TINY, **({"drop_prob": 0.1} if f == "cfgdm" else {})}}
                     for f in ("cfgdm", "ddpm")}
    cfg = validate(cfg)
    out = {}
    for f in ("cfgdm", "ddpm"):
        out[f] = tmp / f / "model.pt"
        train_model(cfg, "omniglot", f, "base", split, out[f], tmp / f / "history.parquet",
                    tmp / "resume")
    return split, out


def test_checkpoint_maps_cover_every_test_exemplar(checkpoints, tmp_path, one_thread):
    split, ck = checkpoints
    im, meta = checkpoint_maps(str(ck["cfgdm"]), str(split), n_t=2, n_noise=1, seed=0,
                               device="cpu")
    n = len(im.names)
    assert n > 0 and im.maps.shape == (n, 50, 50) and im.exemplars.shape == (n, 50, 50)
    assert np.isfinite(im.maps).all() and (im.maps >= 0).all() and im.maps.sum() > 0
    assert meta["n_t"] == 2 and meta["model"] == "cfgdm"
    im.save(tmp_path / "maps.npz", meta)
    again = ImportanceMaps.load(tmp_path / "maps.npz")
    assert np.array_equal(again.maps, im.maps) and again.names == im.names
    same, _ = checkpoint_maps(str(ck["cfgdm"]), str(split), 2, 1, 0, "cpu")
    assert np.array_equal(same.maps, im.maps)  # seeded
    table = importance_table(im)
    assert len(table) == n and set(table.category) == set(im.categories)
    importance_rule(Job({"models": {}, "importance": {"categories": 3}},
                        NS(dataset="omniglot", model="cfgdm", train_point="base"),
                        [str(tmp_path / "maps.npz")],
                        NS(png=str(tmp_path / "fig.png"), pdf=str(tmp_path / "fig.pdf"))))
    assert (tmp_path / "fig.png").stat().st_size > 0


def test_a_model_without_condition_dropout_has_no_map(checkpoints):
    split, ck = checkpoints
    with pytest.raises(ConfigError, match="condition dropout"):
        checkpoint_maps(str(ck["ddpm"]), str(split), 1, 1, 0, "cpu")


def _hand_made() -> ImportanceMaps:
    ex = np.zeros((2, 4, 4), dtype=np.uint8)
    ex[0, 0, :] = 255                      # ink: the top row (4 of 16 pixels)
    ex[1, :, 0] = 255                      # ink: the left column
    maps = np.zeros((2, 4, 4), dtype=np.float32)
    maps[0, 0, :] = 1.0                    # all mass on ink
    maps[1] = 1.0                          # uniform: ink gets its pixel share
    return ImportanceMaps(maps, ex, ["A/c1", "B/c1"])


def test_ink_share_and_lift_on_a_hand_made_case():
    im = _hand_made()
    assert ink_share(im.maps[0], im.exemplars[0]) == (1.0, 0.25)
    t = importance_table(im)
    assert list(t.ink_lift) == [4.0, 1.0] and list(t.category) == ["A", "B"]
    assert list(t.regions) == [1, 0]       # a flat map has no region


def test_human_maps_are_aligned_by_name(tmp_path):
    im = _hand_made()
    save_npz(tmp_path / "h.npz", maps=im.maps[::-1].copy(), names=np.array(im.names[::-1]))
    t = importance_table(im, human_maps=str(tmp_path / "h.npz"))
    assert t.spearman[0] == pytest.approx(1.0) and t.human_regions.tolist() == [1, 0]
    save_npz(tmp_path / "bad.npz", maps=im.maps[:1], names=np.array(im.names[:1]))
    with pytest.raises(DataError, match="no human map for 1 test classes"):
        importance_table(im, human_maps=str(tmp_path / "bad.npz"))


def test_figure_rows_pick_categories_and_their_first_classes():
    im = ImportanceMaps(np.ones((5, 4, 4)), np.zeros((5, 4, 4), np.uint8),
                        ["a/1", "a/2", "a/3", "b/1", "c/1"])
    rows = category_rows(im, n_categories=2, per_category=2)
    assert len(rows) == 2 and rows[0] == ("a", [0, 1])
