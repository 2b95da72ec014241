"""Omniglot fetching, verification and splits."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import torch

from divrec.data import omniglot, splits
from divrec.errors import DataError


def test_mirror_to_arrays_and_weak_split(fake_mirror, tmp_path):
    raw = omniglot.fetch(tmp_path / "raw.npz", str(fake_mirror))
    with np.load(raw) as z:
        assert z["images"].shape == (4 * 6 * 20, 105, 105) and z["images"].dtype == np.uint8
        assert set(np.unique(z["images"])) == {0, 255}
        assert z["drawer"].min() == 1 and z["drawer"].max() == 20
    out = splits.build(raw, tmp_path / "split.npz", "weak", 50, 0.25, "medoid", seed=0)
    with np.load(out) as z:
        # weak: character01-03 of every alphabet are test
        assert z["test_images"].shape == (4 * 3, 20, 50, 50)
        assert all(n.endswith(("character01", "character02", "character03"))
                   for n in z["test_names"])
        assert len(z["train_names"]) + len(z["val_names"]) == 4 * 3
        assert len(z["val_names"]) == 3  # 25 % of the 12 train classes
        assert not set(z["train_char_id"]) & set(z["val_char_id"])
        assert not set(z["test_char_id"]) & set(z["train_char_id"])


def test_test_class_subset_by_alphabet_and_count(fake_mirror, tmp_path):
    raw = omniglot.fetch(tmp_path / "raw.npz", str(fake_mirror))
    full = splits.build(raw, tmp_path / "full.npz", "weak", 28, 0.25, "first", seed=0)
    out = splits.build(raw, tmp_path / "sub.npz", "weak", 28, 0.25, "first", seed=0,
                       test_alphabets=["Alpha1", "Alpha3"], max_test_classes=5)
    with np.load(full) as f, np.load(out) as z:
        names = [str(n) for n in f["test_names"] if str(n).startswith(("Alpha1/", "Alpha3/"))]
        assert [str(n) for n in z["test_names"]] == names[:5]
        assert z["test_images"].shape[0] == 5
        assert np.array_equal(z["train_char_id"], f["train_char_id"])  # train untouched
    with pytest.raises(DataError, match="unknown alphabet.*Nope"):
        splits.build(raw, tmp_path / "bad.npz", "weak", 28, 0.25, "first", seed=0,
                     test_alphabets=["Nope"])
    assert not (tmp_path / "bad.npz").exists()


def test_strong_split_uses_official_sets(fake_mirror, tmp_path):
    raw = omniglot.fetch(tmp_path / "raw.npz", str(fake_mirror))
    out = splits.build(raw, tmp_path / "split.npz", "strong", 28, 0.0, "first", seed=0)
    with np.load(out) as z:
        assert z["test_images"].shape == (12, 20, 28, 28)
        assert all(n.startswith(("Alpha2", "Alpha3")) for n in z["test_names"])
        assert (z["test_exemplar"] == 0).all()


def test_checksum_mismatch_is_one_clear_line(fake_mirror, tmp_path):
    with open(fake_mirror / "images_background.npz", "ab") as f:
        f.write(b"tampered")
    with pytest.raises(DataError) as e:
        omniglot.fetch(tmp_path / "raw.npz", str(fake_mirror))
    msg = str(e.value)
    assert "sha256 mismatch" in msg and "images_background.npz" in msg and "\n" not in msg
    assert "offline mirror is damaged" in msg and "delete it" not in msg
    assert not (tmp_path / "raw.npz").exists()  # no partial output


def test_absent_mirror_and_no_network_names_both(tmp_path, monkeypatch):
    monkeypatch.delenv("DIVREC_OMNIGLOT_MIRROR", raising=False)
    with pytest.raises(DataError) as e:
        omniglot.fetch(tmp_path / "raw.npz", str(tmp_path / "no-mirror"), str(tmp_path / "dl"),
                       base_url="http://127.0.0.1:9")  # nothing listens on the discard port
    msg = str(e.value)
    assert "could not download" in msg and "configured mirror folder" in msg
    assert "no-mirror" in msg and "does not exist" in msg and "\n" not in msg


def test_truncated_npz_is_reported(fake_mirror, tmp_path):
    path = fake_mirror / "images_evaluation.npz"
    path.write_bytes(path.read_bytes()[:500])
    sums = (fake_mirror / "SHA256SUMS").read_text().splitlines()
    import hashlib

    new = hashlib.sha256(path.read_bytes()).hexdigest()
    sums = [f"{new}  images_evaluation.npz" if s.endswith("images_evaluation.npz") else s
            for s in sums]
    (fake_mirror / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    with pytest.raises(DataError, match="corrupt or truncated"):
        omniglot.fetch(tmp_path / "raw.npz", str(fake_mirror))


def _official_zip(path, set_name="background"):
    from PIL import Image

    with zipfile.ZipFile(path, "w") as zf:
        for cid, (alpha, char) in enumerate([("Latin", 1), ("Latin", 2), ("Greek", 1)], start=1):
            for drawer in (1, 2):
                img = np.full((105, 105), 255, np.uint8)
                img[20 + cid * 5:40 + cid * 5, 30:35] = 0
                buf = io.BytesIO()
                Image.fromarray(img).convert("1").save(buf, format="PNG")
                zf.writestr(f"images_{set_name}/{alpha}/character{char:02d}/{cid:04d}_{drawer:02d}.png",
                            buf.getvalue())


def test_official_zip_layout_is_decoded(tmp_path):
    _official_zip(tmp_path / "bg.zip")
    arrays = omniglot.from_zips({"background": tmp_path / "bg.zip"})
    assert arrays["images"].shape == (6, 105, 105)
    assert list(arrays["char_id"]) == [1, 1, 2, 2, 3, 3]
    assert list(arrays["alphabet_names"]) == ["Greek", "Latin"]
    assert arrays["images"][0].max() == 255 and arrays["images"][0].mean() < 20  # ink bright


def test_corrupt_zip_is_one_clear_line(tmp_path):
    bad = tmp_path / "images_background.zip"
    bad.write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(DataError, match="corrupt or truncated zip"):
        omniglot.from_zips({"background": bad})


def test_download_verifies_md5(tmp_path):
    from divrec.data.checksums import download

    src = tmp_path / "src.bin"
    src.write_bytes(b"omniglot")
    with pytest.raises(DataError, match="md5 mismatch"):
        download(src.as_uri(), tmp_path / "dl" / "x.bin", "0" * 32, "md5")
    assert not (tmp_path / "dl" / "x.bin").exists()


def test_medoid_exemplar_is_the_most_central_drawing():
    imgs = torch.zeros(1, 3, 1, 20, 20)
    imgs[0, 0, 0, 5:8, 5:8] = 1  # left
    imgs[0, 1, 0, 5:8, 8:11] = 1  # middle: closest to both others
    imgs[0, 2, 0, 5:8, 11:14] = 1  # right
    assert splits.choose_exemplars(imgs, "medoid").tolist() == [1]
    assert splits.choose_exemplars(imgs, "first").tolist() == [0]


@pytest.mark.slow
def test_real_omniglot_weak_split_counts(real_mirror, tmp_path):
    raw = omniglot.fetch(tmp_path / "raw.npz", str(real_mirror))
    with np.load(raw) as z:
        assert z["images"].shape == (32460, 105, 105)
        parts = splits.class_parts({k: z[k] for k in ("char_id", "character", "set")},
                                   "weak", 0.1, 0)
    assert len(parts["test"]) == 150
    assert len(parts["train"]) + len(parts["val"]) == 1473


def test_classes_follow_the_published_name_order():
    """The reference numbers classes by sorted "alphabet.characterNN" names, not Omniglot's ids:
    here id 1 is Latin/character02, id 2 Greek/character01, id 3 Latin/character01."""
    raw = {"char_id": np.array([1, 1, 2, 3, 3]), "alphabet": np.array([1, 1, 0, 1, 1]),
           "alphabet_names": np.array(["Greek", "Latin"]), "character": np.array([2, 2, 1, 1, 1])}
    name_of = splits.class_names(raw)
    assert name_of == {1: "Latin/character02", 2: "Greek/character01", 3: "Latin/character01"}
    assert splits.reference_order(np.array([1, 2, 3]), name_of).tolist() == [2, 3, 1]


def test_blur_is_a_zero_padded_2d_gaussian_convolution():
    """The banded-GEMM blur against conv2d with the outer-product kernel (independent path)."""
    sigma, r = 2.0, 6
    k = torch.exp(-(torch.arange(-r, r + 1, dtype=torch.float64) ** 2) / (2 * sigma**2))
    k = k / k.sum()
    x = torch.rand(3, 1, 20, 17, dtype=torch.float64)
    want = torch.nn.functional.conv2d(x, (k[:, None] * k[None, :])[None, None], padding=r)
    torch.testing.assert_close(splits._blur(x, sigma), want, rtol=1e-6, atol=1e-7)  # fp32 kernel
