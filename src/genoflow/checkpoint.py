"""model.ckpt without Lightning: read a checkpoint and rebuild its `SequenceModel`.

Scoring new sequences (`genoflow predict`) and explaining a model (`genoflow interpret`) need
only the network, not its training loop: rebuilding it here, from plain torch, keeps those
commands from importing Lightning (~7 s of start-up per job on 2 cores). The task modules in
genoflow.tasks build their networks with the same `token_model`.
"""

from __future__ import annotations

from pathlib import Path

import torch

from genoflow.alphabets import get_alphabet
from genoflow.errors import InputError
from genoflow.models import NEURAL_TYPES, SequenceModel

MODEL_FORMAT = "genoflow-model/1"
# module_args key of each task's outputs: one per class, label or target
_OUTPUTS = {
    "classification": "classes",
    "token_classification": "classes",
    "multilabel": "labels",
    "regression": "targets",
}


def token_model(
    model_type: str, model_args: dict, alphabet: str, outputs: int, max_length: int | None,
    per_position: bool = False,
) -> SequenceModel:  # fmt: skip
    """A SequenceModel over tokens of `alphabet`, one-hot encoded on the device; with
    `per_position`, one output row per position (pool "none")."""
    if per_position:
        if model_args.get("pool", "none") != "none":
            raise ValueError(f"pool {model_args['pool']!r}: per-residue labels keep every position")
        model_args = {**model_args, "pool": "none"}
    onehot = torch.from_numpy(get_alphabet(alphabet).onehot_table())
    return SequenceModel(model_type, onehot, outputs, max_length=max_length, **model_args)


def read_checkpoint(path: str | Path) -> dict:
    """The payload of a model.ckpt (neural or baseline), read with weights_only=True: tensors
    and plain data only, never arbitrary pickles."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "checkpoint not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # not a torch file, or one holding more than plain data
        raise InputError(path, f"not a loadable genoflow checkpoint ({error})") from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise InputError(path, "not a genoflow model checkpoint")
    return payload


def sequence_model(payload: dict, path: str | Path) -> SequenceModel:
    """The trained network of a neural sequence model's checkpoint payload, in eval mode."""
    if payload["model_type"] not in NEURAL_TYPES or payload["task"] not in _OUTPUTS:
        raise InputError(path, "not a genoflow neural sequence model checkpoint")
    args = payload["module_args"]
    model = token_model(
        args["model_type"], args["model_args"], args["alphabet"],
        len(args[_OUTPUTS[payload["task"]]]), args.get("max_length"),
        per_position=payload["task"] == "token_classification",
    )  # fmt: skip
    prefix = "model."  # the task module holds the network as `self.model`
    state = payload["state_dict"]
    model.load_state_dict({k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)})
    return model.eval()
