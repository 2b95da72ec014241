"""Diverse samples: neighbour search, the published hull rule, the k-NN rule, memorisation,
stability, the SqueezeNet extractor's loading path and the downstream protocol.

The end-to-end fixture is a tiny split of synthetic stroke drawings with a hand-written (but
real, not mocked) feature function; generated samples are jittered test drawings plus planted
exact copies of training images and planted far-away images, whose verdicts are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from divrec.device import limit_threads
from divrec.diverse.analyse import analyse, pairwise_jaccard
from divrec.diverse.downstream import (
    CONDITIONS,
    downstream,
    per_class_accuracy,
    shots_and_held_out,
    train_classifier,
)
from divrec.diverse.features import Extractor, load_squeezenet, make_extractor
from divrec.diverse.hull import convex_hull, hull_iou, hull_rule
from divrec.diverse.neighbors import (
    SearchSettings,
    exact_knn,
    faiss_available,
    ivf_knn,
    knn,
    recall_at_k,
    resolve_method,
)
from divrec.diverse.reference import build_reference
from divrec.diverse.rules import ink, ink_difference, knn_rule, loo_kth_distance
from divrec.diverse.settings import DiverseSettings, DownstreamSettings, settings_from_config
from divrec.errors import ConfigError, DivrecError

# ----------------------------------------------------------------------------- neighbour search


def clustered(n: int, d: int = 32, centres: int = 40, seed: int = 0) -> torch.Tensor:
    """Points around random centres, like critic features of several classes."""
    g = torch.Generator().manual_seed(seed)
    c = torch.randn(centres, d, generator=g) * 3
    return c[torch.randint(centres, (n,), generator=g)] + torch.randn(n, d, generator=g)


def test_exact_knn_matches_brute_force_and_leave_one_out():
    base, query = clustered(300), clustered(70, seed=1)
    d, i = exact_knn(query, base, 4, block=16)  # several blocks
    full = torch.cdist(query, base)
    ref_d, ref_i = torch.topk(full, 4, largest=False)
    assert torch.equal(i, ref_i)
    assert torch.allclose(d, ref_d, atol=1e-3)
    # leave-one-out keeps an exact duplicate (distance 0) but never the point itself
    base[5] = base[9]
    d, i = exact_knn(base, base, 3, exclude_self=True, block=64)
    assert not (i == torch.arange(300)[:, None]).any()
    assert i[5, 0] == 9 and i[9, 0] == 5 and d[5, 0] == 0


@pytest.mark.parametrize("method", ["ivf", "faiss"])
def test_approximate_search_recall_at_used_settings(method):
    if method == "faiss" and not faiss_available():
        pytest.skip("faiss not installed (the ivf case covers the fallback)")
    base, query = clustered(3000), clustered(300, seed=1)
    st = SearchSettings(method=method)  # the defaults the pipeline uses (nlist 76, nprobe 19)
    exact = exact_knn(query, base, 5)
    approx = knn(query, base, 5, st)
    assert recall_at_k(approx[1], exact[1]) >= 0.99
    hit = approx[1][:, 0] == exact[1][:, 0]
    assert torch.allclose(approx[0][hit, 0], exact[0][hit, 0], atol=1e-3)
    loo_exact = exact_knn(base, base, 5, exclude_self=True)
    loo = knn(base, base, 5, st, exclude_self=True)
    assert recall_at_k(loo[1], loo_exact[1]) >= 0.99
    assert not (loo[1] == torch.arange(len(base))[:, None]).any()


def test_ivf_with_every_list_probed_is_exact():
    base, query = clustered(500), clustered(50, seed=2)
    d, i = ivf_knn(query, base, 3, nlist=8, nprobe=8)
    ed, ei = exact_knn(query, base, 3)
    assert torch.equal(i, ei)


def test_auto_search_switches_on_pair_count():
    assert resolve_method(SearchSettings(exact_max_pairs=100), 10, 10) == "exact"
    assert resolve_method(SearchSettings(exact_max_pairs=99), 10, 10) in ("faiss", "ivf")
    with pytest.raises(ConfigError):
        SearchSettings(method="annoy")


# ----------------------------------------------------------------------------- hull rule


def test_hull_rule_inside_outside_boundary():
    real = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0.5], [0.2, 0.7]], float)
    gen = np.array([[0.5, 0.5], [0.9, 0.1], [2, 2], [1, 0.5], [1, 1], [-0.1, 0.5]])
    res = hull_rule(real, gen)
    # inside, inside, outside, on an edge (outside, as published), on a vertex, outside
    assert res.outside.tolist() == [False, False, True, True, True, True]
    assert res.count == 4


def test_hull_iou_of_known_squares():
    a = convex_hull(np.array([[0, 0], [2, 0], [2, 2], [0, 2], [1, 1]], float))
    b = convex_hull(np.array([[1, 1], [3, 1], [3, 3], [1, 3]], float))
    assert hull_iou(a, b) == pytest.approx(100 / 7)
    assert hull_iou(a, a) == pytest.approx(100.0)
    far = convex_hull(np.array([[5, 5], [6, 5], [6, 6]], float))
    assert hull_iou(a, far) == 0.0


def test_degenerate_real_hull_contains_nothing():
    real = np.array([[0, 0], [1, 1], [2, 2]], float)  # collinear: scipy would raise
    res = hull_rule(real, np.array([[1, 1], [0.5, 0.5], [3, 0]], float))
    assert res.outside.all()
    assert res.overlap == 0.0


# ----------------------------------------------------------------------------- k-NN rule, pixels


def test_knn_rule_threshold_is_percentile_of_leave_one_out_distances():
    real = clustered(400)
    loo = loo_kth_distance(real, 3)
    far = real[:10] + 100.0
    typical = real[np.flatnonzero(loo < np.median(loo))[:20]] + 0.01  # near non-outliers
    res = knn_rule(real, torch.cat([typical, far]), k=3, percentile=90)
    assert res.threshold == pytest.approx(np.percentile(loo, 90), rel=1e-5)
    assert res.outside[20:].all()
    assert not res.outside[:20].any()


def test_pixel_difference_is_relative_to_ink():
    a = np.zeros((3, 20, 20), np.uint8)
    b = np.zeros_like(a)
    a[0, 5:10, 5] = b[0, 5:10, 5] = 255  # identical strokes
    a[1, 5:10, 5] = 255
    b[1, 5:10, 12] = 255  # disjoint strokes
    assert ink_difference(ink(a, 20), ink(b, 20)).tolist() == [0.0, 1.0, 0.0]  # blank: 0


def test_pairwise_jaccard():
    ids = np.arange(4)
    runs = [(ids, np.array([1, 1, 0, 0], bool)), (ids, np.array([1, 0, 1, 0], bool))]
    assert pairwise_jaccard(runs) == (pytest.approx(1 / 3), pytest.approx(1 / 3))
    # only the samples both reruns kept are compared
    runs = [(np.array([0, 1]), np.array([1, 0], bool)), (np.array([0, 2]), np.array([1, 1], bool))]
    assert pairwise_jaccard(runs)[0] == 1.0
    assert pairwise_jaccard(runs[:1])[0] != pairwise_jaccard(runs[:1])[0]  # NaN: no pair


# ----------------------------------------------------------------------------- end to end


def strokes(rng, n_classes: int, per_class: int, jitter: int, size: int = 50) -> np.ndarray:
    """uint8 [C, M, S, S] (ink 255): each class 3 random bars, each drawing jittered."""
    out = np.zeros((n_classes, per_class, size, size), np.uint8)
    for c in range(n_classes):
        base = rng.integers(10, size - 10, size=(3, 2))
        vertical = rng.random(3) < 0.5
        for m in range(per_class):
            moved = np.clip(base + rng.integers(-jitter, jitter + 1, size=(3, 2)), 8, size - 8)
            for (y, x), v in zip(moved, vertical, strict=True):
                if v:
                    out[c, m, y - 7:y + 7, x - 1:x + 1] = 255
                else:
                    out[c, m, y - 1:y + 1, x - 7:x + 7] = 255
    return out


def pool_features(x: torch.Tensor) -> torch.Tensor:
    """A real (if simple) feature map: 5x5 average-pooled ink, [B, 1, 50, 50] -> [B, 100]."""
    return F.avg_pool2d(x, 5).flatten(1)


@pytest.fixture(scope="module")
def ds_case(tmp_path_factory):
    rng = np.random.default_rng(0)
    # test classes overlap (jitter 6): with tight, separated class clusters t-SNE puts a far
    # cluster in a gap INSIDE the real hull, and the published rule misses it (measured: 0 of 5
    # planted samples flagged on 4 seeds, against 5 of 5 here), while the k-NN rule flags it
    train, test = strokes(rng, 30, 10, 2), strokes(rng, 8, 10, 6)
    split = tmp_path_factory.mktemp("ds") / "split.npz"
    np.savez(split, train_images=train, train_names=np.array([f"tr{i}" for i in range(30)]),
             test_images=test, test_names=np.array([f"te{i}" for i in range(8)]),
             test_exemplar=np.zeros(8, np.int64))
    # generator: test drawings shifted by one pixel; planted copies and far-away images
    samples = np.roll(test, 1, axis=-1)
    train_flat = train.reshape(-1, 50, 50)
    copies = [(0, 0, 17), (1, 3, 123), (4, 9, 250), (6, 2, 299), (7, 7, 0)]
    for c, n, t in copies:
        samples[c, n] = train_flat[t]
    far = [(2, 1), (3, 4), (5, 6), (6, 8), (7, 0)]
    for c, n in far:
        samples[c, n] = (rng.random((50, 50)) < 0.6).astype(np.uint8) * 255
    st = DiverseSettings()
    st.tsne.max_points, st.tsne.perplexity = None, 10
    extractor = Extractor("pool", pool_features, torch.device("cpu"), 50, 256)
    with limit_threads(1):  # as the workflow runs it (threads: 1); t-SNE is 10x slower on a
        # loaded machine with more threads than free cores
        ref = build_reference(split, extractor, st)
        feats = extractor(samples.reshape(-1, 50, 50)).numpy()
        names = [f"te{i}" for i in range(8)]
        res = analyse(feats, names, 10, samples.reshape(-1, 50, 50), ref, train_flat, st)
    return res, copies, far, samples, split


def _row(table: pd.DataFrame, c: int, n: int) -> pd.Series:
    gen = table[table["source"] == "generated"]
    return gen[(gen["class_index"] == c) & (gen["sample_index"] == n)].iloc[0]


def test_planted_copies_are_memorised_with_their_training_image(ds_case):
    res, copies, far, _, _ = ds_case
    for c, n, t in copies:
        r = _row(res.table, c, n)
        assert r["memorised"] and r["nn_train_index"] == t and r["pixel_difference"] == 0.0
    flagged = res.table[res.table["memorised"].fillna(False).astype(bool)]
    assert len(flagged) >= len(copies)
    assert res.summary["pixel_copies"] == len(copies)


def test_planted_far_samples_are_diverse_under_both_rules(ds_case):
    res, copies, far, _, _ = ds_case
    for c, n in far:
        r = _row(res.table, c, n)
        assert r["knn_diverse"] and r["hull_diverse"]
    gen = res.table[res.table["source"] == "generated"]
    assert res.summary["n_generated"] == len(gen) == 80
    assert res.summary["knn_count"] == int(gen["knn_diverse"].sum())
    # ordinary samples (shifted test drawings) are mostly inside the real data
    assert res.summary["knn_fraction"] < 0.35
    assert 0 < res.summary["overlap"] <= 100
    assert 0 <= res.summary["hull_jaccard_mean"] <= 1
    assert 0 <= res.summary["knn_jaccard_mean"] <= 1


def test_downstream_protocol(ds_case):
    res, _, far, samples, split = ds_case
    with np.load(split) as z:
        test, ex, names = z["test_images"], z["test_exemplar"], [str(s) for s in z["test_names"]]
    gen = res.table[res.table["source"] == "generated"]
    diverse = np.zeros(samples.shape[:2], bool)
    diverse[gen["class_index"], gen["sample_index"]] = gen["knn_diverse"].to_numpy(bool)
    st = DownstreamSettings(classes=6, steps=15, batch_size=16, width=8, seeds=[0, 1])
    with limit_threads(1):
        df = downstream(samples, names, diverse, test, ex, names, st)
    assert set(df["condition"]) == set(CONDITIONS)
    assert len(df) == 2 * len(CONDITIONS) * 6
    assert df["accuracy"].between(0, 1).all()
    assert (df.loc[df["condition"] == "original", "delta"] == 0).all()
    n = df.pivot_table(index="class_index", columns="condition", values="n_train")
    assert (n["original"] == 1).all() and (n["original+generated"] == 11).all()
    assert (n["original+matched"] == n["original+diverse"]).all()
    shots, held = shots_and_held_out(10, 3, 2)
    assert shots.tolist() == [3, 0] and not set(shots) & set(held) and len(held) == 8


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_downstream_classifier_learns_in_both_precisions(precision):
    """Bars vs crosses with random offsets: both precisions must separate them (bf16 autocast
    is what the run uses on CPUs with native bf16)."""
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(64, 1, 28, 28)
    y = torch.arange(64) % 2
    for i, off in enumerate(torch.randint(4, 20, (64,), generator=g).tolist()):
        x[i, 0, :, off:off + 3] = 1
        if y[i]:
            x[i, 0, off:off + 3, :] = 1
    st = DownstreamSettings(steps=40, batch_size=16, width=8)
    with limit_threads(1):
        model = train_classifier(x[:48], y[:48], 2, st, 0, precision)
    assert per_class_accuracy(model, x[48:], y[48:], 2).min() == 1.0


# ----------------------------------------------------------------------------- extractors, config


def test_squeezenet_weights_never_downloaded(tmp_path):
    with pytest.raises(DivrecError, match="weights not found"):
        load_squeezenet(str(tmp_path / "missing.pth"), "cpu")
    from torchvision.models import squeezenet1_1

    path = tmp_path / "sq.pth"
    torch.save(squeezenet1_1(weights=None).state_dict(), path)
    ext = make_extractor("squeezenet", "cpu", 50, squeezenet_weights=str(path))
    x = np.zeros((2, 50, 50), np.uint8)
    x[:, 20:30, 24:26] = 255
    out = ext(x)
    assert out.shape == (2, 1000) and torch.isfinite(out).all()
    (tmp_path / "bad.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(DivrecError):
        load_squeezenet(str(tmp_path / "bad.pth"), "cpu")


def test_fused_encoder_equals_the_critic_encoder():
    from divrec.critics.encoder import Encoder
    from divrec.critics.fast_encoder import FusedEncoder

    torch.manual_seed(0)
    for size in (50, 28):  # even and odd activation sides (25 -> 12 floors)
        enc = Encoder(32, size, width=16)
        with torch.no_grad():  # non-trivial BN statistics and a negative scale
            for b in enc.convs:
                b[1].running_mean.uniform_(-1, 1)
                b[1].running_var.uniform_(0.5, 2)
                b[1].weight.uniform_(-2, 2)
        enc.eval()
        x = (torch.rand(6, 1, size, size) > 0.8).float()
        with torch.no_grad():
            assert torch.allclose(FusedEncoder(enc)(x), enc(x), atol=1e-4, rtol=1e-4)


def test_schema_defaults_equal_dataclass_defaults():
    from divrec.config import validate

    cfg = validate({"data": {}, "critics": {}, "evaluation": {}, "models": {}})
    assert settings_from_config(cfg) == DiverseSettings()
    with pytest.raises(ConfigError):
        validate({"data": {}, "critics": {}, "evaluation": {}, "models": {},
                  "diverse": {"tsne": {"perplexty": 5}}})
    with pytest.raises(ConfigError):
        settings_from_config({"diverse": {"knn": {"kk": 3}}})
