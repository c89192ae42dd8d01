"""A convolutional stem: local motif detectors before a recurrence or an attention encoder.

    x -> [conv(kernel_size) -> ReLU -> dropout] x layers -> max-pool(pool) -> recurrence / encoder

The recurrent and attention models that win on biological sequences put one in front (DanQ;
AMP Scanner's conv + LSTM; Enhancer-LSTMAtt): the convolutions find short motifs wherever they
are, and the max-pool keeps the strongest of each `pool` neighbouring positions, so the
recurrence runs over `pool` times fewer, richer steps, where its memory has less to carry.
`stem: {channels, kernel_size, layers, pool}` on a model turns it on; without it the model
reads the one-hot letters itself (the plain Elman RNN of the seed stays exactly that).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from genoflow.models.cnn import CNN


def pooled_lengths(lengths: torch.Tensor, pool: int) -> torch.Tensor:
    """Lengths after a max-pool of `pool` (ceil: a partial window still counts)."""
    return torch.div(lengths + pool - 1, pool, rounding_mode="floor").clamp(min=1)


class Stem(nn.Module):
    """The cnn family's convolutions (genoflow.models.cnn), then a masked max-pool."""

    def __init__(
        self,
        in_channels: int,
        channels: int = 64,
        kernel_size: int = 9,
        layers: int = 1,
        pool: int = 1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if pool < 1:
            raise ValueError(f"stem pool={pool} must be at least 1")
        self.convs = CNN(in_channels, channels, kernel_size, layers, dropout)
        self.pool = pool
        self.out_channels = channels

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(batch, length, channels) -> (batch, ceil(length / pool), out_channels), zero past
        each sequence's pooled length; `lengths` on x's device."""
        h = self.convs(x * _inside(x, lengths), lengths).transpose(1, 2)  # zero past lengths
        if self.pool > 1:  # padding never wins a window: it is set below every real value
            keep = _inside(x, lengths).transpose(1, 2)
            h = F.max_pool1d(h.masked_fill(~keep, float("-inf")), self.pool, ceil_mode=True)
            h = h.masked_fill(h == float("-inf"), 0.0)
        return h.transpose(1, 2)


def _inside(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(batch, length, 1) bool: the positions before each sequence's length."""
    return (torch.arange(x.shape[1], device=x.device) < lengths[:, None])[..., None]
