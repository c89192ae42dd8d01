"""A network from its settings or from a model.ckpt, with plain torch: scoring new sequences
(genoflow predict) and explaining a model (genoflow interpret) need only the network, not its
training loop, and rebuilding it here keeps them from importing Lightning (~7 s of start-up per
job on 2 cores). The task modules in genoflow.tasks build their networks with the same
token_model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from genoflow.alphabets import COMPLEMENT, get_alphabet
from genoflow.errors import InputError
from genoflow.models import SequenceModel
from genoflow.registry import MIRRORS, NEURAL_TYPES, mirror_alphabets

# module_args key of each task's outputs: one per class, label or target
_OUTPUTS = {
    "classification": "classes",
    "token_classification": "classes",
    "multilabel": "labels",
    "regression": "targets",
}


def token_model(
    model_type: str,
    model_args: dict,
    alphabet: str,
    outputs: int,
    max_length: int | None,
    per_position: bool = False,
) -> SequenceModel:
    """A SequenceModel over tokens of `alphabet`, one-hot encoded on the device; with
    `per_position`, one output row per position (pool "none")."""
    if per_position:
        if (model_args.get("stem") or {}).get("pool", 1) > 1:
            raise ValueError("a stem that pools cannot label every residue: give it pool 1")
        if model_args.get("pool", "none") != "none":
            raise ValueError(f"pool {model_args['pool']!r}: per-residue labels keep every position")
        model_args = {**model_args, "pool": "none"}
    letters = get_alphabet(alphabet)
    onehot = torch.from_numpy(letters.onehot_table())
    for option in ("strands", "directions"):
        if model_args.get(option, "forward") == "forward":
            continue
        if option not in MIRRORS[letters.name]:
            raise ValueError(f"{option}: {mirror_alphabets(option)}, not {letters.name}")
        if per_position:
            raise ValueError(f"{option} 'both' averages whole-sequence outputs: not per residue")
    return SequenceModel(
        model_type,
        onehot,
        outputs,
        max_length=max_length,
        mirror=mirror_table(alphabet),
        **model_args,
    )


def mirror_table(alphabet: str) -> torch.Tensor:
    """Token -> its token in the sequence read back to front: DNA and RNA the complement's (the
    other strand, 5' to 3'), a protein's residues themselves (read from the C-terminus)."""
    letters = get_alphabet(alphabet)
    if letters.name in COMPLEMENT:
        table = np.frombuffer(letters.complement_tokens(), dtype=np.uint8)[: letters.vocab_size]
        return torch.from_numpy(table.copy())
    return torch.arange(letters.vocab_size, dtype=torch.uint8)


def sequence_model(payload: dict, path: str | Path) -> SequenceModel:
    """The trained network of a neural sequence model's checkpoint payload, in eval mode."""
    if payload["model_type"] not in NEURAL_TYPES or payload["task"] not in _OUTPUTS:
        raise InputError(path, "not a genoflow neural sequence model checkpoint")
    args = payload["module_args"]
    model = token_model(
        args["model_type"],
        args["model_args"],
        args["alphabet"],
        len(args[_OUTPUTS[payload["task"]]]),
        args.get("max_length"),
        per_position=payload["task"] == "token_classification",
    )
    prefix = "model."  # the task module holds the network as `self.model`
    state = payload["state_dict"]
    model.load_state_dict({k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)})
    return model.eval()
