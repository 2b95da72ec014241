"""The 4-block convolutional encoder shared by both critics (as published)."""

from __future__ import annotations

from torch import nn


def conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)
    )


class Encoder(nn.Module):
    """4 x [conv3x3(64) BN ReLU maxpool2] -> flatten -> ReLU -> Linear(., z_dim).

    50x50 inputs give 3x3x64 = 576 features before the linear layer."""

    def __init__(self, z_dim: int = 256, image_size: int = 50, width: int = 64):
        super().__init__()
        self.convs = nn.Sequential(*(conv_block(1 if i == 0 else width, width) for i in range(4)))
        side = image_size
        for _ in range(4):
            side //= 2
        self.head = nn.Sequential(nn.Flatten(), nn.ReLU(), nn.Linear(width * side * side, z_dim))

    def forward(self, x):
        return self.head(self.convs(x))
