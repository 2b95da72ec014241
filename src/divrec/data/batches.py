"""Training batches drawn straight from in-memory tensors, each a pure function of (seed, step):
resuming after a kill replays the same stream."""

from __future__ import annotations

import torch

from divrec.data.splits import FewShotPart


def step_generator(seed: int, step: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + step)


def pairs(part: FewShotPart, batch_size: int, g: torch.Generator):
    """(target, exemplar, label): a random drawing and its class exemplar, [B, 1, S, S] each."""
    c, m = part.images.shape[:2]
    cls = torch.randint(c, (batch_size,), generator=g).to(part.images.device)
    drw = torch.randint(m, (batch_size,), generator=g).to(part.images.device)
    return part.images[cls, drw], part.images[cls, part.exemplar[cls]], cls


def sets(part: FewShotPart, batch_size: int, set_size: int, g: torch.Generator,
         augment: bool | float = False) -> torch.Tensor:
    """[B, set_size, 1, S, S]: same-class sets of distinct drawings. ``augment`` applies one
    random flip/rot90 per set (shared by the set, so the set stays one 'class'); a float in
    (0, 1) is the share of sets augmented (VAE-NS augments (S - 1) / S of its sets)."""
    c, m = part.images.shape[:2]
    if set_size > m:
        raise ValueError(f"set_size {set_size} exceeds the {m} drawings per class")
    cls = torch.randint(c, (batch_size,), generator=g)
    drw = torch.rand(batch_size, m, generator=g).argsort(1)[:, :set_size]
    x = part.images[cls.to(part.images.device)[:, None], drw.to(part.images.device)]
    if augment:
        k = torch.randint(4, (batch_size,), generator=g)
        flip = torch.rand(batch_size, generator=g) < 0.5
        if float(augment) < 1.0:
            keep = torch.rand(batch_size, generator=g) < float(augment)
            k, flip = torch.where(keep, k, 0), flip & keep
        x = torch.stack([
            torch.rot90(xi.flip(-1) if f else xi, int(ki), dims=(-2, -1))
            for xi, ki, f in zip(x, k, flip)
        ])
    return x


def images(part: FewShotPart, batch_size: int, g: torch.Generator) -> torch.Tensor:
    return pairs(part, batch_size, g)[0]
