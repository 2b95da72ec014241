"""QuickDraw-FS builder on a tiny synthetic mirror: class counts, members per class, prototypes,
split format, and checksum failures."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from divrec.data import quickdraw
from divrec.data.splits import load_part
from divrec.errors import DataError

SIDE = quickdraw.SIDE


def _shape(kind: int, rng: np.random.Generator) -> np.ndarray:
    """A 28x28 bitmap of one of four well-separated shapes, jittered by a pixel or two."""
    img = np.zeros((SIDE, SIDE), np.uint8)
    dy, dx = rng.integers(-1, 2, size=2)
    r = slice(4 + dy, 24 + dy)
    c = slice(4 + dx, 24 + dx)
    if kind == 0:
        img[r, 8 + dx:11 + dx] = 255  # vertical bar
    elif kind == 1:
        img[8 + dy:11 + dy, c] = 255  # horizontal bar
    elif kind == 2:
        img[r, c] = 255  # filled square
    else:
        np.fill_diagonal(img[r, c], 255)  # diagonal line
        img[r, c] = np.maximum(img[r, c], np.roll(img[r, c], 1, axis=1))
    return img


def _category(sizes: list[int], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    imgs = [_shape(k, rng) for k, n in enumerate(sizes) for _ in range(n)]
    return np.stack(imgs).reshape(-1, 1, SIDE * SIDE)[rng.permutation(sum(sizes))]


@pytest.fixture
def mirror(tmp_path):
    """Two categories in the mirror's [N, 1, 784] layout; 'b' has one cluster (of far-away
    squares) too small to keep."""
    d = tmp_path / "mirror"
    d.mkdir()
    files = {"a": _category([30, 30, 30, 30], 1), "b": _category([30, 30, 5, 30], 2)}
    lines = []
    for name, arr in files.items():
        np.save(d / f"{name}.npy", arr)
        lines.append(f"{hashlib.sha256((d / f'{name}.npy').read_bytes()).hexdigest()}  {name}.npy")
    (d / "SHA256SUMS").write_text("\n".join(lines) + "\n")
    return d


def _build(mirror, tmp_path, **kw):
    raw = quickdraw.fetch(tmp_path / "raw.npz", ["a", "b"], None, str(mirror))
    args = dict(clusters_per_category=4, min_cluster_size=20, per_class=12, image_size=16,
                val_fraction=0.15, test_fraction=0.3, seed=0, pca_dim=8, blur_sigma=1.0)
    args.update(kw)
    return raw, quickdraw.build(raw, tmp_path / "split.npz", **args)


def test_builder_counts_members_and_format(mirror, tmp_path):
    _, split = _build(mirror, tmp_path)
    with np.load(split) as z:
        counts = {p: len(z[f"{p}_names"]) for p in ("train", "val", "test")}
        names = np.concatenate([z[f"{p}_names"] for p in ("train", "val", "test")])
        ids = np.concatenate([z[f"{p}_char_id"] for p in ("train", "val", "test")])
        test = z["test_images"]
    # 4 kept clusters in 'a', 3 in 'b' (the 5-member cluster is dropped)
    assert sum(counts.values()) == 7
    assert sorted(ids.tolist()) == list(range(7))
    assert sum(n.startswith("a/") for n in names) == 4
    assert counts["test"] == round(0.3 * 7) and counts["val"] == round(0.15 * 7)
    assert test.shape == (counts["test"], 12, 16, 16) and test.dtype == np.uint8
    assert set(np.unique(test)) <= {0, 255}
    part = load_part(split, "test")  # the pipeline's own loader reads it unchanged
    assert part.images.shape == (counts["test"], 12, 1, 16, 16)
    assert (part.images.squeeze(2).numpy() * 255 == test).all()


def test_exactly_per_class_members_nearest_centre_first():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    sizes = [40, 25, 8]
    blobs = [c + rng.normal(0, 1, (n, 2)) for c, n in zip(centres, sizes, strict=True)]
    feats = np.concatenate(blobs)
    classes = quickdraw.cluster_classes(feats, 3, min_cluster_size=20, per_class=15, seed=0)
    assert [len(c) for c in classes] == [15, 15]  # the 8-member cluster is dropped
    starts = np.cumsum([0] + sizes)
    for i, members in enumerate(classes):  # kept clusters come largest first: blob 0, then 1
        label_rows = np.arange(starts[i], starts[i + 1])
        centre = feats[label_rows].mean(0)  # k-means centre of a well-separated blob
        d_all = np.linalg.norm(feats[label_rows] - centre, axis=1)
        d_kept = np.linalg.norm(feats[members] - centre, axis=1)
        assert set(members) <= set(label_rows)
        assert np.all(np.diff(d_kept) >= -1e-9)  # nearest first
        assert members[0] == label_rows[d_all.argmin()]  # prototype = nearest the centre
        assert d_kept.max() <= np.sort(d_all)[14] + 1e-9  # exactly the 15 nearest


def test_parts_are_class_disjoint_and_seeded():
    cat = np.repeat(np.arange(3), 10)
    a = quickdraw.assign_parts(cat, 0.1, 0.3, seed=1)
    b = quickdraw.assign_parts(cat, 0.1, 0.3, seed=1)
    allc = np.concatenate([a["train"], a["val"], a["test"]])
    assert sorted(allc.tolist()) == list(range(30))
    assert all((a[p] == b[p]).all() for p in a)
    assert set(cat[a["test"]]) == {0, 1, 2}  # interleaving spreads test over categories


def test_checksum_mismatch_is_one_line_data_error(mirror, tmp_path):
    arr = np.load(mirror / "a.npy")
    arr[0, 0, 0] ^= 1
    np.save(mirror / "a.npy", arr)
    with pytest.raises(DataError) as e:
        quickdraw.fetch(tmp_path / "raw.npz", ["a", "b"], None, str(mirror))
    assert "sha256 mismatch" in str(e.value) and "\n" not in str(e.value)


def test_unknown_category_is_data_error(mirror, tmp_path):
    with pytest.raises(DataError, match="not in the mirror"):
        quickdraw.fetch(tmp_path / "raw.npz", ["zebra"], None, str(mirror))


def test_prototype_is_split_exemplar(mirror, tmp_path):
    raw, split = _build(mirror, tmp_path)
    with np.load(raw) as z:
        imgs, cat = z["images"], z["category"]
    rows = np.flatnonzero(cat == 0)
    feats = quickdraw.embed(imgs[rows], 1.0, 8)
    first = quickdraw.cluster_classes(feats, 4, 20, 12, seed=0)[0]
    with np.load(split) as z:
        parts = {p: (z[f"{p}_char_id"], z[f"{p}_images"], z[f"{p}_exemplar"]) for p in
                 ("train", "val", "test")}
    ids, images, ex = (np.concatenate(a) for a in zip(*parts.values(), strict=True))
    i = int(np.flatnonzero(ids == 0)[0])  # class 0 = the largest cluster of category 'a'
    expect = quickdraw.to_split_images(imgs[rows[first]], 16, 0.3)
    assert (images[i, ex[i]] == expect[0]).all()  # the exemplar is the prototype
    assert sorted(im.tobytes() for im in images[i]) == sorted(im.tobytes() for im in expect)
    assert (ex != 0).any()  # members are stored shuffled, not nearest-first


def test_download_records_and_checks_digest(mirror, tmp_path):
    """Downloads (here from a file:// URL) are checked against the digest recorded on first use."""
    (mirror / "a b.npy").write_bytes((mirror / "a.npy").read_bytes())  # a name to URL-escape
    downloads = tmp_path / "dl"
    raw = quickdraw.fetch(tmp_path / "raw.npz", ["a b"], 7, None, str(downloads),
                          mirror.as_uri())
    with np.load(raw) as z:
        assert z["images"].shape == (7, SIDE, SIDE) and list(z["category_names"]) == ["a b"]
    assert (downloads / "a b.npy.sha256").exists()
    data = bytearray((downloads / "a b.npy").read_bytes())
    data[-1] ^= 1
    (downloads / "a b.npy").write_bytes(bytes(data))
    with pytest.raises(DataError, match="sha256 mismatch"):
        quickdraw.fetch(tmp_path / "raw.npz", ["a b"], 7, None, str(downloads), mirror.as_uri())
