"""Resuming an interrupted training run: the fingerprint of what its outputs depend on, and
the decision whether its last.ckpt may be resumed (same settings and data, unfinished, a
checkpoint genoflow wrote) or the run starts afresh."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from pathlib import Path

import torch

from genoflow.errors import InputError
from genoflow.formats.checkpoint import load_error
from genoflow.formats.files import sha256sum
from genoflow.progress import log


def fingerprint(
    data_dir: Path, model_type: str, model_args: dict, settings: dict, seed: int
) -> str:
    """What a run's outputs depend on: the model, its training settings (TrainConfig.settings),
    the seed and the data; a resumed run must match it."""
    spec = json.dumps([model_type, model_args, settings, seed], sort_keys=True)
    # The small files by content, the (possibly large) arrays by size.
    files = sorted(path for path in data_dir.iterdir() if path.is_file())
    data = "".join(sha256sum(p) if p.suffix != ".npy" else str(p.stat().st_size) for p in files)
    return hashlib.sha256((spec + data).encode()).hexdigest()


def resume_point(checkpoints: Path, fingerprint: str) -> str | None:
    """last.ckpt of an interrupted run with the same settings and data; otherwise start afresh.

    Under DDP, Lightning starts the other processes by rerunning this command after the first
    process has prepared the folder: they only read the decision, never clear the folder.
    """
    stamp = checkpoints / "fingerprint"
    last = checkpoints / "last.ckpt"
    same = stamp.is_file() and stamp.read_text() == fingerprint
    if not launching_process():
        return str(last) if same and last.is_file() else None
    if same and last.is_file() and not (checkpoints / "complete").exists():
        epoch = resumable_epoch(last)
        if epoch is not None:
            log().info("resuming from %s (epoch %s)", last, epoch)
            return str(last)
    shutil.rmtree(checkpoints, ignore_errors=True)
    checkpoints.mkdir(parents=True)
    stamp.write_text(fingerprint)
    return None


def resumable_epoch(last: Path) -> int | None:
    """The epoch of a resumable last.ckpt, read as tensors and plain data only (never
    unpickled): None for a file cut short (a crash while it was written), which the caller
    then replaces by starting afresh. A file holding anything else - code, objects - was not
    written by genoflow's training: refuse it, naming it, without running any of it."""
    try:
        state = torch.load(last, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise InputError(
            last,
            "not a checkpoint genoflow wrote; refusing to resume from it, nothing in it was"
            f" run ({load_error(error)}). Delete it (or its checkpoints folder) to train"
            " afresh",
        ) from None
    except Exception as error:  # truncated or garbled: the job died while writing it
        log().warning("%s is unreadable (%s); training afresh", last, str(error).splitlines()[0])
        return None
    if not isinstance(state, dict) or "epoch" not in state:
        log().warning("%s is not a Lightning checkpoint; training afresh", last)
        return None
    return int(state["epoch"])


def launching_process() -> bool:
    """False in the processes Lightning's DDP launcher starts (they get LOCAL_RANK > 0)."""
    return os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0"
