"""Recurrent encoders: the tanh Elman RNN, the LSTM and the GRU.

rnn:  h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h)          (torch.nn.RNN, nonlinearity="tanh")
lstm: gated cell state c_t, forget/input/output gates     (torch.nn.LSTM)
gru:  update/reset gates, no separate cell state          (torch.nn.GRU)

Uni- or bidirectional, stacked. When a batch mixes lengths the sequences are packed, so padding
never enters the recurrence (in either direction) and cannot change a prediction.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class Recurrent(nn.Module):
    def __init__(
        self,
        cell: str,
        in_channels: int,
        hidden: int = 128,
        layers: int = 1,
        bidirectional: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        extra = {"nonlinearity": "tanh"} if cell == "rnn" else {}
        self.rnn = CELLS[cell](
            in_channels,
            hidden,
            num_layers=layers,
            bidirectional=bidirectional,
            dropout=dropout if layers > 1 else 0.0,  # between stacked layers only
            batch_first=True,
            **extra,
        )
        self.out_channels = hidden * (2 if bidirectional else 1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """(batch, length, channels) -> (batch, length, out_channels); zeros after each length.
        `lengths` None: every row is full length."""
        if lengths is None:
            return self.rnn(x)[0]
        lengths = lengths.cpu()  # packing reads them on the host; a no-op when they are there
        if bool((lengths == x.shape[1]).all()):
            return self.rnn(x)[0]
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=x.shape[1])
        return out
