"""Transformer encoder: pre-norm blocks, sinusoidal positions, fused attention.

Attention goes through torch's scaled_dot_product_attention (the fused kernel on CPU and GPU),
with a key-padding mask so padded positions are never attended to. `attention_maps` recomputes
the attention weights explicitly, for interpretation only.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.dropout = nn.Dropout(dropout)

    def _qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        batch, length, dim = x.shape
        qkv = self.qkv(self.norm1(x)).view(batch, length, 3, self.heads, dim // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (batch, heads, length, head_dim)
        return q, k, v

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """keep: (batch, 1, 1, length) bool, True where a key may be attended to."""
        q, k, v = self._qkv(x)
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
        x = x + self.dropout(self.proj(attended.transpose(1, 2).flatten(2)))
        return x + self.dropout(self.mlp(self.norm2(x)))

    def attention(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        q, k, _ = self._qkv(x)
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        return scores.masked_fill(~keep, float("-inf")).softmax(-1)


class Transformer(nn.Module):
    def __init__(
        self,
        in_channels: int,
        dim: int = 64,
        heads: int = 4,
        layers: int = 2,
        kernel_size: int = 1,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim={dim} must be divisible by heads={heads}")
        # kernel_size > 1 embeds each position with its neighbours (a k-mer-like conv stem).
        self.embed = nn.Conv1d(in_channels, dim, kernel_size, padding="same")
        self.blocks = nn.ModuleList(Block(dim, heads, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        self.out_channels = dim

    def _start(self, x: torch.Tensor, lengths: torch.Tensor):
        keep = torch.arange(x.shape[1], device=x.device) < lengths[:, None]
        h = self.embed(x.transpose(1, 2)).transpose(1, 2)
        h = h + sinusoid(x.shape[1], self.out_channels, h.device).to(h.dtype)
        return h * keep[..., None], keep[:, None, None, :]

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        h, keep = self._start(x, lengths)
        for block in self.blocks:
            h = block(h, keep)
        return self.norm(h)

    @torch.no_grad()
    def attention_maps(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(layers, batch, heads, length, length) attention weights."""
        h, keep = self._start(x, lengths)
        maps = []
        for block in self.blocks:
            maps.append(block.attention(h, keep))
            h = block(h, keep)
        return torch.stack(maps)


def sinusoid(length: int, dim: int, device: torch.device | None = None) -> torch.Tensor:
    """The fixed sine/cosine position code of Vaswani et al.; works for any length. Made on
    the device that uses it: a copy from the CPU would make every step wait for the GPU."""
    position = torch.arange(length, dtype=torch.float32, device=device)[:, None]
    steps = torch.arange(0, dim, 2, dtype=torch.float32, device=device)
    freq = torch.exp(steps * (-math.log(10000.0) / dim))
    code = torch.zeros(length, dim, device=device)
    code[:, 0::2] = torch.sin(position * freq)
    code[:, 1::2] = torch.cos(position * freq[: dim // 2])
    return code
