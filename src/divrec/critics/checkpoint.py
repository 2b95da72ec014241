"""Build a critic from its kind and params, and load a saved one: what the metrics, the diverse-
samples features and the reference check need, without the training code."""

from __future__ import annotations

import os

import torch

from divrec.critics.protonet import ProtoNet, ProtoNetParams
from divrec.critics.simclr import SimCLR, SimCLRParams
from divrec.errors import DivrecError
from divrec.typed import typed

CRITICS = {"simclr": (SimCLR, SimCLRParams), "protonet": (ProtoNet, ProtoNetParams)}


def build_critic(kind: str, params: dict):
    cls, pcls = CRITICS[kind]
    return cls(typed(pcls, params, f"critics.{kind}"))


def load_critic(path: str | os.PathLike, device: torch.device | str = "cpu"):
    if not os.path.exists(path):
        raise DivrecError(f"critic checkpoint not found: {path} (train the critics first)")
    ck = torch.load(path, map_location=device, weights_only=False)
    model = build_critic(ck["kind"], ck["params"]).to(device)
    model.load_state_dict(ck["state_dict"])
    return model.eval()
