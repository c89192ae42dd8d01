"""model.ckpt: one writer and one reader, for neural models and baselines alike.

The file holds plain data and tensors only (weights, the model's settings, the preprocess
metadata that new inputs must be prepared with), so it is read with
`torch.load(weights_only=True)` and can never run code.
"""

from __future__ import annotations

from pathlib import Path

import torch

from genoflow.errors import InputError
from genoflow.formats.files import atomic_path

MODEL_FORMAT = "genoflow-model/1"


def write_model(
    path: str | Path,
    *,
    task: str,
    model_type: str,
    model_args: dict,
    meta: dict,
    state_dict: dict,
    module_args: dict | None = None,
) -> None:
    """model.ckpt: the weights (`state_dict`) with everything needed to rebuild the model and
    prepare new inputs the same way (`meta`: alphabet, classes, lengths, gene transforms ...);
    neural models add their task module's arguments."""
    payload = {"format": MODEL_FORMAT, "task": task, "model_type": model_type}
    payload["model_args"] = model_args
    if module_args is not None:
        payload["module_args"] = module_args
    payload |= {"meta": meta, "state_dict": state_dict}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def read_checkpoint(path: str | Path) -> dict:
    """The payload of a model.ckpt (neural or baseline), read with weights_only=True: tensors
    and plain data only, never arbitrary pickles."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "checkpoint not found")
    if path.stat().st_size == 0:
        raise InputError(path, "empty file (a job that died while writing it?); rerun training")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # not a torch file, or one holding more than plain data
        raise InputError(
            path, f"not a loadable genoflow checkpoint ({load_error(error)})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise InputError(path, "not a genoflow model checkpoint")
    return payload


def load_error(error: Exception) -> str:
    """Why torch.load(weights_only=True) refused a file, in one line: the object it would not
    build, or the damage it found (never torch's advice to retry the load unsafely)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in lines:
        if "GLOBAL" in line or line.startswith("Unsupported"):
            return f"it would run code or build objects: {line}"
    if lines and lines[0].startswith("Weights only load failed"):
        return "it holds more than tensors and plain data"
    return lines[0] if lines else type(error).__name__
