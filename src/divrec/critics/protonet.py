"""Prototypical Network critic (recognizability).

Encoder -> 256-d features -> metric Linear(256, 128); prototypes are the embeddings of the class
exemplars (one shot), distances are squared Euclidean, p(y | q) = softmax(-d). Training episodes
use the exemplar as support as published, but queries are drawn from the class's *other* drawings
(the published sampler could pick the exemplar itself as a query).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from divrec.critics.encoder import Encoder
from divrec.data.preprocess import IMAGE_SIZE
from divrec.data.splits import FewShotPart
from divrec.training.trainable import Trainable


@dataclass
class ProtoNetParams:
    z_dim: int = 256
    metric_dim: int = 128
    k_way: int = 60
    n_query: int = 5
    image_size: int = IMAGE_SIZE


def episode(part: FewShotPart, k_way: int, n_query: int, g: torch.Generator):
    """(support [k,1,S,S] = exemplars, queries [k*q,1,S,S] class-major, labels [k*q])."""
    c, m = part.images.shape[:2]
    cls = torch.randperm(c, generator=g)[:k_way]
    ex = part.exemplar[cls].cpu()
    # rank of each drawing, with the exemplar pushed last so it is never picked as a query
    keys = torch.rand(k_way, m, generator=g)
    keys[torch.arange(k_way), ex] = 2.0
    qidx = keys.argsort(1)[:, :n_query]
    dev = part.images.device
    cls_d = cls.to(dev)
    support = part.images[cls_d, part.exemplar[cls_d]]
    queries = part.images[cls_d[:, None], qidx.to(dev)].flatten(0, 1)
    labels = torch.arange(k_way, device=dev).repeat_interleave(n_query)
    return support, queries, labels


class ProtoNet(Trainable):
    Params = ProtoNetParams
    batch_kind = "episodes"

    def __init__(self, p: ProtoNetParams):
        super().__init__()
        self.p = p
        self.encoder = Encoder(p.z_dim, p.image_size)
        self.metric = nn.Linear(p.z_dim, p.metric_dim)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.metric(self.encoder(x))

    def loss(self, batch) -> dict:
        support, queries, labels = batch
        z = self.embed(torch.cat([support, queries])).float()
        # squared Euclidean distances to the prototypes (no sqrt, as published)
        logits = -(z[len(support):, None, :] - z[None, :len(support), :]).pow(2).sum(-1)
        return {"loss": F.cross_entropy(logits, labels),
                "acc": (logits.argmax(1) == labels).float().mean()}
