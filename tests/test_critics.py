"""Critic building blocks: NT-Xent, augmentations, ProtoNet episodes."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from divrec.critics.augment import simclr_view, warp
from divrec.critics.protonet import episode
from divrec.critics.simclr import nt_xent
from divrec.data.splits import FewShotPart


def test_nt_xent_matches_explicit_formula():
    torch.manual_seed(0)
    z1, z2 = torch.randn(4, 8), torch.randn(4, 8)
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.t() / 0.5
    total = 0.0
    for i in range(8):
        j = (i + 4) % 8
        denom = sum(math.exp(sim[i, k]) for k in range(8) if k != i)
        total += -math.log(math.exp(sim[i, j]) / denom)
    assert float(nt_xent(z1, z2, 0.5)) == pytest.approx(total / 8, rel=1e-5)


def test_identity_warp_is_identity_and_views_are_binary():
    x = (torch.rand(3, 1, 50, 50) > 0.5).float()
    eye = torch.eye(3).expand(3, 3, 3)
    assert torch.allclose(warp(x, eye), x, atol=1e-5)
    v = simclr_view(x, torch.Generator().manual_seed(0))
    assert v.shape == x.shape and set(v.unique().tolist()) <= {0.0, 1.0}


def test_episode_queries_never_include_the_exemplar():
    c, m = 10, 4
    imgs = torch.arange(c * m, dtype=torch.float32).view(c, m, 1, 1, 1).expand(c, m, 1, 2, 2)
    part = FewShotPart(imgs.clone(), torch.randint(m, (c,)), [str(i) for i in range(c)])
    for seed in range(20):
        support, queries, labels = episode(part, 5, 3, torch.Generator().manual_seed(seed))
        s_ids = support[:, 0, 0, 0].long()
        q_ids = queries[:, 0, 0, 0].long().view(5, 3)
        assert (q_ids != s_ids[:, None]).all()  # the exemplar is never a query
        assert (q_ids // m == (s_ids // m)[:, None]).all()  # queries are of the support's class
        assert labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
