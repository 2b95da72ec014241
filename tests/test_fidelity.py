"""Fidelity metrics agree with independent reference implementations on the same features."""

import numpy as np
import pytest
import torch

from divrec.metrics import fidelity as F

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.one_thread


def _feats(seed, n=300, d=16, shift=0.0, scale=1.0):
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(d, d)) / np.sqrt(d)
    return (rng.normal(size=(n, d)) @ mix * scale + shift).astype(np.float64)


def test_frechet_matches_pytorch_fid():
    from pytorch_fid.fid_score import calculate_frechet_distance

    a, b = _feats(0), _feats(1, shift=0.3, scale=1.2)
    ref = calculate_frechet_distance(a.mean(0), np.cov(a, rowvar=False),
                                     b.mean(0), np.cov(b, rowvar=False))
    assert F.frechet_distance(a, b) == pytest.approx(ref, rel=1e-4)


def test_frechet_of_a_set_with_itself_is_zero_and_grows_with_noise():
    a = _feats(2, n=500)
    assert F.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    rng = np.random.default_rng(3)
    noise = rng.normal(size=a.shape)
    fds = [F.frechet_distance(a, a + s * noise) for s in (0.05, 0.2, 0.5, 1.0, 2.0)]
    assert all(x < y for x, y in zip(fds, fds[1:])), fds
    assert fds[0] > 0


def test_kid_matches_torch_fidelity():
    from torch_fidelity.metric_kid import kid_features_to_metric

    a, b = _feats(4, n=200), _feats(5, n=220, shift=0.2)
    ref = kid_features_to_metric(torch.from_numpy(a), torch.from_numpy(b), kid_subsets=20,
                                 kid_subset_size=100, rng_seed=7, verbose=False)
    mean, std = F.kid(a, b, subsets=20, subset_size=100, seed=7)
    assert mean == pytest.approx(ref["kernel_inception_distance_mean"], rel=1e-4)
    assert std == pytest.approx(ref["kernel_inception_distance_std"], rel=1e-4)


def test_kid_is_near_zero_for_same_distribution_and_positive_for_shift():
    a, b = _feats(6, n=400), _feats(7, n=400)
    same, _ = F.kid(a, b, subsets=20, subset_size=200)
    shifted, _ = F.kid(a, b + 1.0, subsets=20, subset_size=200)
    assert abs(same) < 0.05 * shifted


def test_prdc_matches_reference():
    from prdc import compute_prdc

    a, b = _feats(8, n=250), _feats(9, n=200, shift=0.4, scale=0.8)
    ref = compute_prdc(a.astype(np.float32), b.astype(np.float32), nearest_k=5)
    got = F.prdc(a, b, k=5)
    for key in ("precision", "recall", "density", "coverage"):
        assert got[key] == pytest.approx(float(ref[key]), rel=1e-4), key


def test_vendi_hand_made_cases():
    assert F.vendi_score(np.tile([[1.0, 2.0, 3.0]], (7, 1))) == pytest.approx(1.0, rel=1e-9)
    assert F.vendi_score(np.eye(5) * 3.0) == pytest.approx(5.0, rel=1e-9)
    # two orthogonal clusters of equal size: effectively 2 distinct samples
    two = np.array([[1.0, 0.0]] * 4 + [[0.0, 2.0]] * 4)
    assert F.vendi_score(two) == pytest.approx(2.0, rel=1e-9)


def test_fd_name_never_calls_other_extractors_fid():
    assert F.fd_name("inception") == "FID"
    assert F.fd_name("classifier_omniglot") == "FD_classifier_omniglot"


def test_all_metrics_row_names_its_extractor():
    a, b = _feats(10, n=60), _feats(11, n=60)
    row = F.all_metrics(a, b, "classifier_x", F.FidelitySettings(kid_subsets=5, kid_subset_size=50))
    assert row["fd_name"] == "FD_classifier_x" and row["extractor"] == "classifier_x"
    assert row["kid_subset_size"] == 50 and 0 <= row["coverage"] <= 1


# ----------------------------------------------------------------------------- extractors


def test_extractor_resolution_never_pretends_to_be_inception(tmp_path, monkeypatch):
    from divrec.errors import ConfigError
    from divrec.quality import features as X

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    assert X.resolve_extractor("auto", "omniglot") == "classifier_omniglot"
    with pytest.raises(ConfigError, match="never downloaded"):
        X.resolve_extractor("inception", "omniglot")
    weights = tmp_path / "hub" / "checkpoints" / X.FID_WEIGHTS_NAME
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"x")
    assert X.resolve_extractor("auto", "cifar10") == "inception"
    assert X.resolve_extractor("classifier", "cifar10") == "classifier_cifar10"


def test_fid_inception_loads_a_local_weights_file(tmp_path):
    """The loader builds pytorch-fid's FID architecture and takes its weights from a file
    (here a same-architecture state dict with random values: the real file is never fetched)."""
    from pytorch_fid import inception as I

    from divrec.quality import features as X

    net = I._inception_v3(num_classes=1008, aux_logits=False, weights=None, init_weights=False)
    for name, cls, args in (("Mixed_5b", I.FIDInceptionA, (192, 32)),
                            ("Mixed_5c", I.FIDInceptionA, (256, 64)),
                            ("Mixed_5d", I.FIDInceptionA, (288, 64)),
                            ("Mixed_6b", I.FIDInceptionC, (768, 128)),
                            ("Mixed_6c", I.FIDInceptionC, (768, 160)),
                            ("Mixed_6d", I.FIDInceptionC, (768, 160)),
                            ("Mixed_6e", I.FIDInceptionC, (768, 192)),
                            ("Mixed_7b", I.FIDInceptionE_1, (1280,)),
                            ("Mixed_7c", I.FIDInceptionE_2, (2048,))):
        setattr(net, name, cls(*args))
    path = tmp_path / X.FID_WEIGHTS_NAME
    torch.save(net.state_dict(), path)
    X.inception_extractor(tmp_path / "ex.pt", weights=str(path))
    ex = X.load_extractor(tmp_path / "ex.pt", torch.device("cpu"))
    assert ex.name == "inception"
    feats = ex(np.random.default_rng(0).integers(0, 256, (2, 16, 16, 1), dtype=np.uint8))
    assert feats.shape == (2, 2048) and np.isfinite(feats).all()
