"""The 4-block convolutional encoder shared by both critics (as published).

Two exact rewrites make it cheaper (outputs equal up to float rounding): max-pooling runs before
the ReLU (ReLU is monotone, so max(relu(x)) = relu(max(x)), on a quarter of the elements), and
weights and activations are kept channels-last (NHWC), the layout oneDNN and cuDNN convolve
fastest. Measured on 1 CPU thread (batch 128, 50 px): a training step 0.89 s -> 0.58 s, embedding
3150 drawings 11.2 s -> 6.2 s. The four critics were a fifth of the default run's CPU time before.
"""

from __future__ import annotations

import torch
from torch import nn

from divrec.data.preprocess import IMAGE_SIZE


class Encoder(nn.Module):
    """4 x [conv3x3(64) BN ReLU maxpool2] -> flatten -> ReLU -> Linear(., z_dim); 50x50 inputs
    give 3x3x64 = 576 features before the linear layer."""

    def __init__(self, z_dim: int = 256, image_size: int = IMAGE_SIZE, width: int = 64):
        super().__init__()
        # conv3x3 -> BN -> maxpool2 -> ReLU: state-dict keys as in the published conv/BN/ReLU/pool
        # order (the pool and ReLU have no parameters)
        self.convs = nn.Sequential(*(
            nn.Sequential(nn.Conv2d(1 if i == 0 else width, width, 3, padding=1),
                          nn.BatchNorm2d(width), nn.MaxPool2d(2), nn.ReLU()) for i in range(4)))
        side = image_size // 16  # four floor-halving max-pools
        self.head = nn.Sequential(nn.Flatten(), nn.ReLU(), nn.Linear(width * side * side, z_dim))
        self.to(memory_format=torch.channels_last)

    def forward(self, x):
        # flatten of an NHWC tensor still yields the logical (C, H, W) order of the features
        return self.head(self.convs(x.contiguous(memory_format=torch.channels_last)))
