"""Pooling over positions (masked: padding never counts) and the output heads.

Position-free pools (attention, mean, max, meanmax) suit motifs that may sit anywhere.
`flatten` keeps where each feature occurs — what aligned windows such as splice sites or
promoters need: on UCI splice a BiLSTM scores 0.93 with meanmax and 0.96 with flatten.
It needs the dataset's fixed `max_length`; `pool_size` > 1 first max-pools non-overlapping
windows of that many positions (the classic conv -> max-pool -> dense readout).
`last` reads the features at each sequence's last real position: with a unidirectional recurrent
model, its final state, the classic RNN classifier that must carry everything it has read to
the end (workflow/configs/long_range.yaml measures how far it can).
`none` keeps every position (per-residue labelling: the head then scores each position).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

POOLS = ("attention", "mean", "max", "meanmax", "flatten", "last", "none")


class Pool(nn.Module):
    """(batch, length, channels) + lengths -> (batch, out_channels); with kind "none",
    (batch, length, channels) unchanged."""

    def __init__(
        self, kind: str, channels: int, max_length: int | None = None, pool_size: int = 1
    ) -> None:
        super().__init__()
        if kind not in POOLS:
            raise ValueError(f"pool {kind!r} is not one of {POOLS}")
        if kind == "flatten" and not max_length:
            raise ValueError("pool 'flatten' needs the dataset's max_length")
        self.kind, self.pool_size = kind, pool_size
        self.windows = math.ceil(max_length / pool_size) if kind == "flatten" else 0
        self.score = nn.Linear(channels, 1) if kind == "attention" else None
        widths = {"meanmax": 2 * channels, "flatten": channels * self.windows}
        self.out_channels = widths.get(kind, channels)

    def forward(self, h: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """(batch, length, channels) -> (batch, out_channels), or per position for "none".
        `lengths` None: every row is full length, nothing to mask (the same numbers)."""
        if self.kind == "none":
            return h
        if lengths is None:
            return self._unmasked(h)
        if self.kind == "last":
            return h[torch.arange(len(h), device=h.device), lengths - 1]
        keep = (torch.arange(h.shape[1], device=h.device) < lengths[:, None])[..., None]
        if self.kind == "attention":
            weights = self.score(h).masked_fill(~keep, float("-inf")).softmax(dim=1)
            return (weights * h).sum(dim=1)
        if self.kind == "flatten":
            return self._flatten(h, keep)
        mean = (h * keep).sum(dim=1) / lengths[:, None].to(h.dtype)
        if self.kind == "mean":
            return mean
        peak = h.masked_fill(~keep, float("-inf")).amax(dim=1)
        return peak if self.kind == "max" else torch.cat([mean, peak], dim=1)

    def _unmasked(self, h: torch.Tensor) -> torch.Tensor:
        """forward() for rows without padding."""
        if self.kind == "last":
            return h[:, -1]
        if self.kind == "attention":
            return (self.score(h).softmax(dim=1) * h).sum(dim=1)
        if self.kind == "flatten":
            return self._flatten(h, None)
        mean = h.sum(dim=1) / h.shape[1]
        if self.kind == "mean":
            return mean
        peak = h.amax(dim=1)
        return peak if self.kind == "max" else torch.cat([mean, peak], dim=1)

    def _flatten(self, h: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
        if self.pool_size > 1:
            masked = h if keep is None else h.masked_fill(~keep, float("-inf"))
            pooled = F.max_pool1d(masked.transpose(1, 2), self.pool_size, ceil_mode=True)
            pooled = pooled.transpose(1, 2)
            h = pooled.masked_fill(pooled == float("-inf"), 0.0)  # windows of padding only
        elif keep is not None:
            h = h * keep
        if h.shape[1] > self.windows:
            raise ValueError(f"sequence longer than the model's max_length ({h.shape[1]})")
        h = F.pad(h, (0, 0, 0, self.windows - h.shape[1]))  # batches trimmed to their longest
        return h.flatten(1)
