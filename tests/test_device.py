"""GPU slot claiming (jobs side by side on one multi-GPU machine) and the CPU fallback.

The slot lock must be held by the *process*: the tests use real separate processes, since a
lock that only worked within one interpreter would let two Snakemake jobs share a GPU.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys

import pytest
import torch

from divrec import device

CLAIM = """
import sys
from divrec.device import _claim_gpu_slot
print(_claim_gpu_slot(int(sys.argv[1])), flush=True)
sys.stdin.readline()  # hold the slot until the test lets go
"""


class Claimant:
    """A separate process that claims a slot and holds it until closed or killed."""

    def __init__(self, lock_dir, n_gpus: int, visible: str | None = None):
        env = {**os.environ, "DIVREC_GPU_LOCK_DIR": str(lock_dir)}
        env.pop("CUDA_VISIBLE_DEVICES", None)
        if visible is not None:
            env["CUDA_VISIBLE_DEVICES"] = visible
        self.proc = subprocess.Popen([sys.executable, "-c", CLAIM, str(n_gpus)], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self._slot: int | None = None

    @property
    def slot(self) -> int:
        """Blocks until the process has claimed (start several first: torch imports are slow)."""
        if self._slot is None:
            line = self.proc.stdout.readline()
            assert line.strip().isdigit(), self.proc.stderr.read()
            self._slot = int(line)
        return self._slot

    def close(self) -> str:
        out, err = self.proc.communicate(input="\n", timeout=60)
        return err

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=60)


def test_concurrent_processes_get_distinct_slots_then_share_gpu0(tmp_path):
    a, b = Claimant(tmp_path, 2), Claimant(tmp_path, 2)  # racing for the slots
    try:
        assert {a.slot, b.slot} == {0, 1}
        c = Claimant(tmp_path, 2)  # every slot taken: shares GPU 0 and says so
        assert c.slot == 0
        assert "all 2 GPU slots are busy" in c.close()
    finally:
        a.close()
        b.close()


def test_slot_is_freed_when_its_process_is_killed(tmp_path):
    """A SIGKILLed job must not leak its GPU: the kernel drops flock locks with the process."""
    a = Claimant(tmp_path, 2)
    assert a.slot == 0
    a.kill()
    b = Claimant(tmp_path, 2)
    try:
        assert b.slot == 0
    finally:
        b.close()


def test_slots_are_per_visible_device_set(tmp_path):
    """Jobs that see different physical GPUs (CUDA_VISIBLE_DEVICES) never contend."""
    a, b = Claimant(tmp_path, 2, visible="0,1"), Claimant(tmp_path, 2, visible="2,3")
    try:
        assert a.slot == b.slot == 0
    finally:
        a.close()
        b.close()


@pytest.mark.skipif(torch.cuda.is_available(), reason="tests the CPU-only fallback")
def test_cpu_fallback_warns_once(monkeypatch, caplog):
    monkeypatch.setattr(device, "_WARNED", False)
    with caplog.at_level(logging.WARNING, logger="divrec.device"):
        devs = [device.pick_device("auto") for _ in range(3)]
    assert devs == [torch.device("cpu")] * 3
    warnings = [r for r in caplog.records if "no CUDA device visible" in r.getMessage()]
    assert len(warnings) == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="tests the CPU-only fallback")
def test_explicit_cuda_without_gpu_fails_and_cpu_is_silent(monkeypatch, caplog):
    monkeypatch.setattr(device, "_WARNED", False)
    with pytest.raises(RuntimeError, match="no CUDA device"):
        device.pick_device("cuda")
    with caplog.at_level(logging.WARNING, logger="divrec.device"):
        assert device.pick_device("cpu") == torch.device("cpu")
    assert not caplog.records


def test_device_slots_are_the_gpus_or_the_usable_cores():
    """`make run` passes this as --resources gpu=N: one job per GPU, or on a CPU-only machine one
    1-thread training per usable core (a single slot would serialise them)."""
    want = (torch.cuda.device_count() if torch.cuda.is_available()
            else len(os.sched_getaffinity(0)))
    assert device.device_slots() == want
    out = subprocess.run([sys.executable, "-m", "divrec", "device-slots"], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == str(want)


def test_tune_malloc_keeps_freed_memory_on_glibc(monkeypatch):
    """Raising glibc's mmap/trim thresholds is what removes the page faults of every training
    step (device.tune_malloc); it must take effect on the Linux machines the workflow runs on,
    and the switch must turn it off."""
    import platform

    from divrec.device import tune_malloc

    monkeypatch.setenv("DIVREC_MALLOC_TUNING", "0")
    assert tune_malloc() is False
    monkeypatch.delenv("DIVREC_MALLOC_TUNING")
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt thresholds exist only in glibc")
    assert tune_malloc() is True
