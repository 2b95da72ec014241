"""CIFAR-10 reader on a tiny archive in the official python-pickle format."""

import hashlib
import io
import pickle
import tarfile

import numpy as np
import pytest

from divrec.data import cifar10 as C
from divrec.errors import DataError


@pytest.fixture(autouse=True)
def no_env_override(monkeypatch):
    """$DIVREC_CIFAR10_TARBALL would replace the archives these tests build."""
    monkeypatch.delenv("DIVREC_CIFAR10_TARBALL", raising=False)


def _batch(seed: int, n: int) -> dict:
    rng = np.random.default_rng(seed)
    return {b"batch_label": b"tiny", b"labels": rng.integers(0, 10, n).tolist(),
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"filenames": [b"x.png"] * n}


def _tiny_archive(tmp_path, n=4):
    """Write a tiny cifar-10-python.tar.gz; return (path, Checksums for it, the batches)."""
    batches = {name: _batch(i, n) for i, name in enumerate(C.TRAIN_BATCHES + ("test_batch",))}
    batches["batches.meta"] = {b"label_names": [f"c{i}".encode() for i in range(10)],
                               b"num_vis": 3072}
    blobs = {k: pickle.dumps(v) for k, v in batches.items()}
    path = tmp_path / C.TAR_NAME
    with tarfile.open(path, "w:gz") as tf:
        for name, blob in blobs.items():
            info = tarfile.TarInfo(f"{C.FOLDER}/{name}")
            info.size = len(blob)
            tf.addfile(info, io.BytesIO(blob))
    sums = C.Checksums(hashlib.md5(path.read_bytes()).hexdigest(),
                       {k: hashlib.md5(b).hexdigest() for k, b in blobs.items()})
    return path, sums, batches


def test_reads_tiny_archive(tmp_path):
    tar, sums, batches = _tiny_archive(tmp_path)
    out = C.fetch(tmp_path / "out" / "cifar10.npz", local=str(tar), checksums=sums)
    with np.load(out) as z:
        assert z["train_images"].shape == (20, 32, 32, 3) and z["train_images"].dtype == np.uint8
        assert z["test_images"].shape == (4, 32, 32, 3)
        assert list(z["label_names"][:2]) == ["c0", "c1"]
        np.testing.assert_array_equal(z["train_labels"][:4], batches["data_batch_1"][b"labels"])
        # channel-planar row -> HWC: pixel (0, 1) of image 0 is data[0, 1], [1025], [2049]
        row = batches["data_batch_1"][b"data"][0]
        np.testing.assert_array_equal(z["train_images"][0, 0, 1], row[[1, 1025, 2049]])


def test_batch_checksum_failure_names_the_file(tmp_path):
    tar, sums, _ = _tiny_archive(tmp_path)
    bad = C.Checksums(sums.tarball, {**sums.batches, "data_batch_3": "0" * 32})
    with pytest.raises(DataError, match=r"md5 mismatch for cifar-10-batches-py/data_batch_3"):
        C.fetch(tmp_path / "o.npz", local=str(tar), checksums=bad)
    assert not (tmp_path / "o.npz").exists()


def test_official_checksums_reject_a_foreign_tarball(tmp_path):
    tar, _, _ = _tiny_archive(tmp_path)
    with pytest.raises(DataError, match="md5 mismatch"):
        C.fetch(tmp_path / "o.npz", local=str(tar))


def test_truncated_archive_message(tmp_path):
    tar, sums, _ = _tiny_archive(tmp_path)
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(tar.read_bytes()[: tar.stat().st_size // 2])
    sums = C.Checksums(hashlib.md5(cut.read_bytes()).hexdigest(), sums.batches)
    with pytest.raises(DataError, match="truncated"):
        C.fetch(tmp_path / "o.npz", local=str(cut), checksums=sums)


def test_missing_download_says_how_to_provide_the_file(tmp_path):
    with pytest.raises(DataError) as e:
        C.fetch(tmp_path / "o.npz", downloads=tmp_path / "dl", url="file:///nonexistent/c.tgz")
    msg = str(e.value)
    assert "\n" not in msg and C.URL in msg and str(tmp_path / "dl" / C.TAR_NAME) in msg
    assert "quality.cifar10.local" in msg


def test_missing_local_copy(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        C.fetch(tmp_path / "o.npz", local=str(tmp_path / "nope.tar.gz"))
