"""Recurrent encoders: the tanh Elman RNN, the LSTM and the GRU.

rnn:  h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h)          (torch.nn.RNN, nonlinearity="tanh")
lstm: gated cell state c_t, forget/input/output gates     (torch.nn.LSTM)
gru:  update/reset gates, no separate cell state          (torch.nn.GRU)

Uni- or bidirectional, stacked. When a batch mixes lengths the sequences are packed, so padding
never enters the recurrence (in either direction) and cannot change a prediction.

`gates: chrono` (LSTM, GRU) starts the gates that keep the memory open for a spread of time
scales up to the longest sequence the recurrence reads (Tallec & Ollivier 2018, "Can recurrent
neural networks warp time?"): the LSTM's forget-gate bias log(u), u ~ U(1, T - 1), and its
input-gate bias -log(u); the GRU's update-gate bias log(u). PyTorch's own initialisation
(`gates: pytorch`) starts every gate near 0.5, which forgets within a few steps, so a model that
must decide from its final state first has to discover memory at all; the chrono start begins
with it. Measured on the long-range benchmark (README): a final-state conv LSTM and GRU went
from 0.82 and 0.76 to 1.00 test accuracy at d = 100.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
GATES = ("pytorch", "chrono")
# which gate's bias holds the memory, as a slice of torch's stacked (gates * hidden) biases:
# LSTM gates i, f, g, o; GRU gates r, z, n
_MEMORY_GATE = {"lstm": 1, "gru": 1}


class Recurrent(nn.Module):
    def __init__(
        self,
        cell: str,
        in_channels: int,
        hidden: int = 128,
        layers: int = 1,
        bidirectional: bool = True,
        dropout: float = 0.0,
        gates: str = "pytorch",
        steps: int | None = None,
    ) -> None:
        """`steps`: the longest sequence the recurrence reads (after any stem's pooling), the
        longest time scale `gates: chrono` starts with."""
        super().__init__()
        if gates not in GATES:
            raise ValueError(f"gates {gates!r} is not one of {GATES}")
        if gates == "chrono" and cell not in _MEMORY_GATE:
            raise ValueError(
                f"gates 'chrono' opens an LSTM's or GRU's memory gate; {cell} has none"
            )
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
        if gates == "chrono":
            chrono_init(self.rnn, cell, hidden, max(steps or 0, 3))

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


@torch.no_grad()
def chrono_init(rnn: nn.Module, cell: str, hidden: int, longest: int) -> None:
    """Every bias 0, then the memory gate's recurrent bias log(u), u ~ U(1, longest - 1), per
    unit, layer and direction (and the LSTM's input gate -log(u)): unit k then starts out
    remembering for about u_k steps."""
    gate = slice(_MEMORY_GATE[cell] * hidden, (_MEMORY_GATE[cell] + 1) * hidden)
    for name, bias in rnn.named_parameters():
        if not name.startswith("bias"):
            continue
        bias.zero_()
        if name.startswith("bias_hh"):
            memory = torch.log(torch.empty(hidden).uniform_(1, longest - 1))
            bias[gate] = memory
            if cell == "lstm":
                bias[:hidden] = -memory  # the input gate: write less where it keeps more
