"""Build a critic from its kind and params, and load a saved one: what the metrics, the diverse-
samples features and the reference check need, without the training code."""

from __future__ import annotations

import os

import torch

from divrec.critics.protonet import ProtoNet
from divrec.critics.simclr import SimCLR
from divrec.registry import Registry

CRITICS = Registry("critic", "divrec.critics", modules=(), key="kind",
                   hint="train the critics first")
CRITICS.register("simclr")(SimCLR)
CRITICS.register("protonet")(ProtoNet)


def build_critic(kind: str, params: dict):
    return CRITICS.build(kind, params, f"critics.{kind}")


def load_critic(path: str | os.PathLike, device: torch.device | str = "cpu"):
    return CRITICS.load(path, device)[0]
