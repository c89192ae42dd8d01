"""Convolutional baseline: stacked 1-D convolutions ('same' padding) with ReLU.

Positions past each sequence's length are zeroed after every layer, so padding never feeds back
into real positions. Pair with max pooling for the classic motif-scanner CNN.
"""

from __future__ import annotations

import torch
from torch import nn


class CNN(nn.Module):
    def __init__(
        self,
        in_channels: int,
        channels: int = 128,
        kernel_size: int = 9,
        layers: int = 2,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv1d(in_channels if i == 0 else channels, channels, kernel_size, padding="same")
            for i in range(layers)
        )
        self.dropout = nn.Dropout(dropout)
        self.out_channels = channels

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = (torch.arange(x.shape[1], device=x.device) < lengths[:, None])[:, None, :]
        h = x.transpose(1, 2)  # (batch, channels, length) for Conv1d
        for conv in self.convs:
            h = self.dropout(torch.relu(conv(h))) * mask
        return h.transpose(1, 2)
