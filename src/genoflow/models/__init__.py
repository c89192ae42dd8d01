"""Model registry: one backbone per family, shared by every task.

A `SequenceModel` is: uint8 tokens -> fixed one-hot rows (on the device) -> backbone
(batch, length, channels) -> masked pooling -> linear head. `build_model` takes the config
entry of a model (its `type` plus that family's keyword arguments).
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from genoflow.models.cnn import CNN
from genoflow.models.heads import Pool
from genoflow.models.recurrent import Recurrent
from genoflow.models.stem import Stem, pooled_lengths
from genoflow.models.transformer import Transformer
from genoflow.registry import NEURAL_TYPES

_FAMILIES = {
    "rnn": partial(Recurrent, "rnn"),
    "lstm": partial(Recurrent, "lstm"),
    "gru": partial(Recurrent, "gru"),
    "transformer": Transformer,
    "cnn": CNN,
}
RECURRENT = ("rnn", "lstm", "gru")
BACKBONES = {name: _FAMILIES[name] for name in NEURAL_TYPES}  # the registry's families
BOTH = ("forward", "both")  # strands (DNA, RNA) and directions (protein): one reading or both
DEFAULT_POOL = {
    "rnn": "meanmax",
    "lstm": "meanmax",
    "gru": "meanmax",
    "transformer": "attention",
    "cnn": "max",
}


class SequenceModel(nn.Module):
    """Tokens (via a fixed one-hot table) or real-valued features -> backbone -> pool -> head.

    Give `onehot` for sequences of tokens, or `in_channels` (and no table) for real-valued
    inputs such as windows of gene expression, which go straight to `forward_features`.
    """

    def __init__(
        self,
        model_type: str,
        onehot: torch.Tensor | None,
        outputs: int,
        pool: str | None = None,
        pool_size: int = 1,
        head_dropout: float = 0.0,
        max_length: int | None = None,
        in_channels: int | None = None,
        stem: dict | None = None,
        strands: str = "forward",
        directions: str = "forward",
        mirror: torch.Tensor | None = None,
        **backbone_args,
    ) -> None:
        super().__init__()
        for name, value in (("strands", strands), ("directions", directions)):
            if value not in BOTH:
                raise ValueError(f"{name} {value!r} is not one of {BOTH}")
        if "both" in (strands, directions) and mirror is None:
            raise ValueError(
                f"{strands=} {directions=}: only letters have a mirror (the other strand of DNA"
                " or RNA, a protein's other end); this model has no mirror table"
            )
        # both readings averaged: the two strands (DNA, RNA) or the two ends (protein)
        self.both = "both" in (strands, directions)
        # token -> its token in the sequence's mirror, read back to front: the complement's for
        # DNA and RNA (the other strand), itself for a protein (read from its C-terminus). For
        # strands or directions "both", and for the mirror augmentation in training; not saved
        # (the alphabet's)
        self.register_buffer("mirror", mirror, persistent=False)
        if model_type not in BACKBONES:
            raise ValueError(f"unknown model type {model_type!r}; choose one of {NEURAL_TYPES}")
        if stem and model_type == "cnn":
            raise ValueError("stem: the cnn is convolutions already (give it more layers)")
        if onehot is not None:
            self.onehot = nn.Embedding.from_pretrained(onehot, freeze=True, padding_idx=0)
            in_channels = onehot.shape[1]
        stem = dict(stem) if stem else None
        # skip: the readout also reads the stem's features beside the backbone's (concatenated
        # per position), so a hybrid keeps the convolutions' motif calls where the recurrence
        # or the encoder would blur them (README: CNNProm)
        self.skip = bool(stem.pop("skip", False)) if stem else False
        self.stem = Stem(in_channels, **stem) if stem is not None else None
        if self.stem is not None:  # the backbone reads the stem's pooled features
            in_channels = self.stem.out_channels
            max_length = -(-max_length // self.stem.pool) if max_length else max_length
        if model_type in RECURRENT:  # the longest sequence it reads (gates: chrono)
            backbone_args["steps"] = max_length
        self.backbone = BACKBONES[model_type](in_channels=in_channels, **backbone_args)
        features = self.backbone.out_channels + (self.stem.out_channels if self.skip else 0)
        self.pool = Pool(pool or DEFAULT_POOL[model_type], features, max_length, pool_size)
        # (Identity rather than a dropout of 0: a module call less per step; no parameters,
        # so the head's saved names stay head.1.*)
        self.head = nn.Sequential(
            nn.Dropout(head_dropout) if head_dropout else nn.Identity(),
            nn.Linear(self.pool.out_channels, outputs),
        )

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.onehot(tokens.long())

    def forward_features(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """From (batch, length, channels) features: one-hot rows or real values. Differentiable
        with respect to x (saliency, mutagenesis, gene-interaction ranking).

        `lengths` may stay on the CPU while x is on a GPU (training does so): a recurrent
        backbone packs by the CPU copy, where reading lengths back from the GPU would wait for
        the GPU to finish, every step."""
        on_device = lengths.to(x.device, non_blocking=True)
        if self.stem is not None:
            x = self.stem(x, on_device)
            lengths = pooled_lengths(lengths, self.stem.pool)  # (on the host, as given)
            on_device = pooled_lengths(on_device, self.stem.pool)
        # A batch of full-length rows (windows of expression, fixed-size DNA tiles) needs no
        # masks: the recurrence and the pooling then skip them (the same numbers, fewer ops
        # per step). Told from the lengths on the host only, never by waiting for a GPU.
        full = lengths.device.type == "cpu" and bool((lengths == x.shape[1]).all())
        if isinstance(self.backbone, Recurrent):
            features = self.backbone(x, None if full else lengths)
        else:
            features = self.backbone(x, on_device)
        if self.skip:  # (the pooling masks what lies past each length)
            features = torch.cat([features, x], dim=-1)
        return self.head(self.pool(features, None if full else on_device))

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Outputs from the tokens; with strands (or directions) "both", the mean of the outputs of
        the sequence and of its mirror: the same molecule read from its other strand (DNA, RNA)
        or from its other end (protein)."""
        out = self.forward_features(self.embed(tokens), lengths)
        if self.both:
            other = self.mirrored(tokens, lengths)
            out = (out + self.forward_features(self.embed(other), lengths)) / 2
        return out

    def mirrored(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Each row's first `length` tokens reversed and mapped through the mirror table (DNA,
        RNA: reverse complemented; protein: reversed); padding stays after."""
        lengths = lengths.to(tokens.device)
        source = lengths[:, None] - 1 - torch.arange(tokens.shape[1], device=tokens.device)
        inside = source >= 0
        flipped = tokens.gather(1, source.clamp(min=0).long())
        return torch.where(inside, self.mirror[flipped.long()], torch.zeros_like(tokens))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
