"""Writes that hit a full disk or ``ulimit -f`` end in one line and leave no partial file."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

SNIPPET = """
import resource, sys
import numpy as np, torch
from divrec.errors import DivrecError
from divrec.io import save_npz, save_torch
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
out = sys.argv[1]
for write in (lambda: save_torch({"w": torch.zeros(1_000_000)}, out + "/x.pt"),
              lambda: save_npz(out + "/x.npz", a=np.random.rand(1_000_000))):
    try:
        write()
    except DivrecError as e:
        print(e)
"""


def test_file_size_limit_is_one_line_and_leaves_nothing(tmp_path):
    res = subprocess.run([sys.executable, "-c", SNIPPET, str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    lines = res.stdout.strip().splitlines()
    assert res.returncode == 0 and len(lines) == 2, res.stderr[-2000:]
    for line, name in zip(lines, ("x.pt", "x.npz")):
        assert line.startswith(f"cannot write {tmp_path}/{name}: no space left or file size")
        assert "resumes from its last checkpoint" in line
    assert list(tmp_path.iterdir()) == []
