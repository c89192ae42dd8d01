"""Tiling: long records cut into windows of a fixed width with a stride (the last window ends at
the record's end, so the tail is always covered), or next-base windows labelled with the letter
that follows them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genoflow.errors import InputError

TILE_LABELS = ("record", "next_base")


def tile_starts(length: int, width: int, stride: int) -> np.ndarray:
    """0-based starts of the windows of a record of `length`: 0, S, 2S, ... while the window
    fits, then one window ending at the record's end if those stop short of it."""
    if length <= width:
        return np.zeros(1, dtype=np.int64)
    starts = np.arange(0, length - width + 1, stride, dtype=np.int64)
    if starts[-1] + width < length:
        starts = np.append(starts, length - width)
    return starts


def tile_counts(lengths: np.ndarray, width: int, stride: int) -> np.ndarray:
    """Windows per record, as tile_starts makes them, for an array of lengths."""
    over = np.maximum(lengths - width, 0)
    return np.where(lengths > width, over // stride + 1 + (over % stride > 0), 1).astype(np.int64)


def tile_options(width, stride, max_length, label) -> tuple[int, int] | None:
    if label not in TILE_LABELS:
        raise InputError(None, f"tile label {label!r} is not one of {list(TILE_LABELS)}")
    if width is None:
        if stride is not None or label != "record":
            raise InputError(None, "a tile stride or label needs a tile width")
        return None
    stride = width if stride is None else stride
    if width < 1 or stride < 1:
        raise InputError(None, f"tile width {width} and stride {stride} must be >= 1")
    if max_length is not None and max_length != width:
        raise InputError(
            None,
            f"max_length {max_length} and tile width {width}: with tiling, rows are"
            " the tile width wide; give one of them",
        )
    return width, stride


def record_lengths(table: Path, n_records: int) -> np.ndarray:
    """Sequence length of every row of sequences.tsv (one streaming pass)."""
    lengths = np.zeros(n_records, dtype=np.int64)
    with open(table, "rb") as handle:
        handle.readline()
        for i, line in enumerate(handle):
            if i >= n_records:
                raise InputError(table, f"more rows than the {n_records} in summary.json")
            line = line.rstrip(b"\n")
            lengths[i] = len(line) - line.rindex(b"\t") - 1
    return lengths


def next_base_windows(
    sequence: bytes, width: int, stride: int, tokens: np.ndarray, n_letters: int
) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the next-base windows of a record, 0-based, end exclusive: the
    windows of all but its last letter, each followed by a letter (`sequence[end]`; token
    1..n_letters in `tokens`, the alphabet's encode table)."""
    if len(sequence) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = tile_starts(len(sequence) - 1, width, stride)
    ends = np.minimum(starts + width, len(sequence) - 1)
    following = tokens[np.frombuffer(sequence, dtype=np.uint8)[ends]]
    keep = (following >= 1) & (following <= n_letters)
    return starts[keep], ends[keep]


def next_base_counts(table: Path, n_records: int, tile, alphabet) -> tuple[np.ndarray, int]:
    """Next-base windows kept per record, and all windows before leaving any out."""
    tokens, n_letters = alphabet.encode_table(), len(alphabet.letters)
    counts = np.zeros(n_records, dtype=np.int64)
    windows = 0
    with open(table, "rb") as handle:
        handle.readline()
        for i, line in enumerate(handle):
            if i >= n_records:
                raise InputError(table, f"more rows than the {n_records} in summary.json")
            sequence = line.rstrip(b"\n").rsplit(b"\t", 1)[1]
            if len(sequence) >= 2:
                windows += len(tile_starts(len(sequence) - 1, *tile))
            counts[i] = len(next_base_windows(sequence, *tile, tokens, n_letters)[0])
    return counts, windows
