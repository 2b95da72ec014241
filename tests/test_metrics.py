"""Metrics against hand-computed cases and independent formulations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from divrec.critics.protonet import ProtoNet, ProtoNetParams
from divrec.metrics.bootstrap import bootstrap_ci
from divrec.metrics.diversity import diversity
from divrec.metrics.originality import originality
from divrec.metrics.recognizability import make_tasks, recognizability


def test_diversity_hand_computed():
    # class 0: samples (0,0),(2,0),(4,0): std dim0 = 2, dim1 = 0 -> mean 1
    # class 1: samples (1,1),(1,3),(1,5): std dim0 = 0, dim1 = 2 -> mean 1; scaled x3 -> 3
    f = torch.tensor([[[0.0, 0], [2, 0], [4, 0]], [[3.0, 3], [3, 9], [3, 15]]])
    assert diversity(f).tolist() == pytest.approx([1.0, 3.0])


def test_diversity_matches_numpy_formulation():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(7, 20, 256))
    expected = f.std(axis=1, ddof=1).mean(axis=1)
    assert diversity(torch.from_numpy(f)).numpy() == pytest.approx(expected, rel=1e-5)


def test_cosine_diversity_matches_loop():
    rng = np.random.default_rng(1)
    f = rng.normal(size=(3, 5, 8))
    got = diversity(torch.from_numpy(f), distance="cosine").numpy()
    for c in range(3):
        m = f[c].mean(0)
        cos = [(x @ m) / np.linalg.norm(x) / np.linalg.norm(m) for x in f[c]]
        assert got[c] == pytest.approx(sum(1 - v for v in cos) / 4, rel=1e-5)


def test_tasks_cover_every_class_equally_and_never_repeat_within_a_task():
    tasks = make_tasks(150, 20, 500, seed=44)
    assert tasks.shape == (3750, 20)
    assert torch.bincount(tasks.flatten(), minlength=150).eq(500).all()
    assert all(len(set(t.tolist())) == 20 for t in tasks)
    assert torch.equal(tasks, make_tasks(150, 20, 500, seed=44))


def test_recognizability_hand_computed():
    # 3 classes in 1-D; exemplars at 0, 10, 20. Class 0 samples: 1 (correct), 6 (closer to 10).
    ex = torch.tensor([[0.0], [10.0], [20.0]])
    q = torch.tensor([[[1.0], [6.0]], [[9.0], [11.0]], [[19.0], [30.0]]])
    tasks = torch.tensor([[0, 1, 2]])
    r = recognizability(q, ex, tasks)
    assert r.per_sample.tolist() == [[1.0, 0.0], [1.0, 1.0], [1.0, 1.0]]
    assert r.per_class.tolist() == pytest.approx([0.5, 1.0, 1.0])
    excluded = torch.tensor([[False, True], [False, False], [False, False]])
    assert recognizability(q, ex, tasks, excluded).per_class[0] == 1.0


def _naive(model, samples, exemplars, tasks, excluded):
    """Independent formulation: run the ProtoNet on each task's [supports; queries] batch."""
    c, n = samples.shape[:2]
    hits = np.zeros((c, n))
    counts = np.zeros(c)
    with torch.no_grad():
        for t in tasks.tolist():
            for j, cls in enumerate(t):
                counts[cls] += 1
                for s in range(n):
                    batch = torch.cat([exemplars[t], samples[cls, s][None]])
                    z = model.embed(batch)
                    d = ((z[-1] - z[:-1]) ** 2).sum(1)
                    hits[cls, s] += float(d.argmin() == j)
    acc = hits / counts[:, None]
    return np.array([acc[i][~excluded[i]].mean() for i in range(c)])


def test_recognizability_matches_per_task_protonet_forward():
    torch.manual_seed(0)
    model = ProtoNet(ProtoNetParams(image_size=20)).eval()
    c, n = 6, 3
    samples = (torch.rand(c, n, 1, 20, 20) > 0.7).float()
    exemplars = (torch.rand(c, 1, 20, 20) > 0.7).float()
    excluded = np.zeros((c, n), bool)
    excluded[0, 1] = True
    tasks = make_tasks(c, 4, 5, seed=3)
    with torch.no_grad():
        q = model.embed(samples.flatten(0, 1)).view(c, n, -1)
        e = model.embed(exemplars)
    fast = recognizability(q, e, tasks, torch.from_numpy(excluded)).per_class.numpy()
    slow = _naive(model, samples, exemplars, tasks, excluded)
    assert fast == pytest.approx(slow, abs=1e-6)


def test_random_query_mode_is_seeded_and_unbiased():
    torch.manual_seed(0)
    q, ex = torch.randn(30, 10, 4), torch.randn(30, 4)
    tasks = make_tasks(30, 5, 400, seed=1)
    a = recognizability(q, ex, tasks, query_mode="random", seed=7).per_class
    b = recognizability(q, ex, tasks, query_mode="random", seed=7).per_class
    full = recognizability(q, ex, tasks, query_mode="all").per_class
    assert torch.equal(a, b)
    assert float((a - full).mean().abs()) < 0.03


def test_fresh_query_mode_uses_each_sample_once():
    """Sample 0 of each class is its exemplar (always right), samples 1-3 its negation (always
    wrong): with 4 tasks per class and 4 samples, the published estimator sees each sample in
    exactly one task -> 1/4 exactly, whatever the block size; 'random' reuses samples."""
    ex = 10 * torch.eye(20)
    q = torch.stack([ex, -ex, -ex, -ex], dim=1)  # [C, N=4, D]
    tasks = make_tasks(20, 5, 4, seed=3)
    for block in (1, 7, 256):
        r = recognizability(q, ex, tasks, query_mode="fresh", block=block).per_class
        assert torch.equal(r, torch.full((20,), 0.25))
    rnd = recognizability(q, ex, tasks, query_mode="random", seed=5).per_class
    assert not torch.equal(rnd, torch.full((20,), 0.25))
    few = q[:, :3]  # fewer samples than tasks: drawn as 'random' with the same seed
    assert torch.equal(recognizability(few, ex, tasks, query_mode="fresh", seed=5).per_class,
                       recognizability(few, ex, tasks, query_mode="random", seed=5).per_class)


def test_originality_is_distance_to_exemplar():
    f = torch.tensor([[[3.0, 4.0], [0.0, 0.0]]])
    assert originality(f, torch.zeros(1, 2)).tolist() == [[5.0, 0.0]]


def test_bootstrap_ci_brackets_the_mean():
    v = np.random.default_rng(0).normal(1.0, 0.1, size=150)
    m, lo, hi = bootstrap_ci(v, 500, 0.95, seed=0)
    assert lo < m < hi and m == pytest.approx(v.mean())
    assert hi - lo == pytest.approx(2 * 1.96 * v.std() / np.sqrt(150), rel=0.25)
