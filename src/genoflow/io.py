"""Small file helpers shared by the stages: atomic writes and checksums, and the one
convention of the ingested table that two stages share."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# In sequences.tsv, the label of a residue that has none (masked out): it counts in no loss
# and no metric.
UNLABELLED = "."


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling path that replaces `path` only if the block succeeds.

    A failed or interrupted stage therefore never leaves a half-written file that looks like a
    result.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: str | Path, data: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n")


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def sha256sum(path: str | Path, chunk: int = 1 << 20, stop: threading.Event | None = None) -> str:
    """The file's SHA-256 (hex). `stop`, when set, ends the reading early (and then the
    result means nothing): for a checksum taken on another thread."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while (block := handle.read(chunk)) and not (stop and stop.is_set()):
            digest.update(block)
    return digest.hexdigest()


HISTORY_COLUMNS = [
    "epoch",
    "seconds",
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "lr",
]


def write_history(path: str | Path, rows: list[dict]) -> None:
    """history.csv: one row per epoch (or per baseline candidate; `lr` then holds its penalty)."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as out:
        writer = csv.DictWriter(out, HISTORY_COLUMNS, lineterminator="\n", restval="")
        writer.writeheader()
        writer.writerows(rows)
