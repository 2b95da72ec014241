"""A user's samples file: every way it could silently score wrong is refused with one line."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from divrec import user_samples as U
from divrec.errors import DataError
from tests.conftest import ROOT

NAMES = [f"a/character{i:02d}" for i in range(6)]


def _npz(tmp_path, samples, exemplars=None, **extra):
    path = tmp_path / "s.npz"
    ex = exemplars if exemplars is not None else np.zeros((samples.shape[0], *samples.shape[2:]))
    np.savez(path, samples=samples, exemplars=ex, **extra)
    return path


def _check(tmp_path, samples, subset=False, resize=False, **extra):
    path = _npz(tmp_path, samples, **extra)
    U.check_against_split(U.read_raw(path), path, NAMES, 50, subset, resize)


@pytest.mark.parametrize("where", ["one", "all"])
def test_nan_samples_are_refused(tmp_path, where):
    s = np.random.default_rng(0).random((6, 3, 50, 50))
    s[0, 1, 2, 3] = np.nan
    if where == "all":
        s[:] = np.nan
    with pytest.raises(DataError, match=r"'samples' has \d+ NaN/inf values \(first at index"):
        U.read_raw(_npz(tmp_path, s))


def test_a_text_file_named_npz_is_named_as_such(tmp_path):
    f = tmp_path / "s.npz"
    f.write_text("not numpy")
    with pytest.raises(DataError, match="is not an .npz archive"):
        U.read_raw(f)


def test_shape_count_size_and_class_set(tmp_path):
    ok = np.zeros((6, 3, 50, 50), np.uint8)
    _check(tmp_path, ok)
    _check(tmp_path, ok, class_names=np.array(NAMES))
    with pytest.raises(DataError, match="1 sample per class; diversity needs at least 2"):
        _check(tmp_path, ok[:, :1])
    with pytest.raises(DataError, match="images are 50x40, the split's are 50x50"):
        _check(tmp_path, np.zeros((6, 3, 50, 40)))
    _check(tmp_path, np.zeros((6, 3, 50, 40)), resize=True)
    with pytest.raises(DataError, match="4 classes, the split has 6 test classes"):
        _check(tmp_path, ok[:4])
    with pytest.raises(DataError, match="needs a 'class_names'"):
        _check(tmp_path, ok[:4], subset=True)
    _check(tmp_path, ok[:4], subset=True, class_names=np.array(NAMES[:4]))
    with pytest.raises(DataError, match="first mismatch at index 0"):
        _check(tmp_path, ok, class_names=np.array(NAMES[::-1]))


def test_settings_that_differ_from_the_humans_are_listed():
    ours = {"tasks_per_class": 20, "k_way": 20, "n_samples": 20}
    theirs = {"tasks_per_class": 500, "k_way": 20, "n_samples": 20}
    assert U.settings_differ(ours, theirs) == ["tasks_per_class: 20 here vs 500 for the humans"]


def test_cli_refuses_nan_with_one_line_and_no_output(tmp_path):
    s = np.full((2, 3, 50, 50), np.nan)
    f = _npz(tmp_path, s)
    res = subprocess.run([sys.executable, "-m", "divrec", "evaluate", str(f), "--results",
                          str(tmp_path / "res"), "--out", str(tmp_path / "out")], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("divrec: error:")
    assert "NaN/inf" in res.stderr and not (tmp_path / "out").exists()
