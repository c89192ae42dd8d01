"""The preprocessed folder of a sequence dataset, as the stages after preprocess read it: the
arrays (tokens.npy and the per-row arrays, memory-mapped when large) and the record ids of
records.tsv."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genoflow.formats.files import (
    load_array,
)
from genoflow.registry import NO_LABEL

ARRAYS = ("tokens", "lengths", "labels", "residue_labels", "targets", "split")


TABLES = ("records.tsv", "leakage.tsv")


# (rows x width) arrays up to this size are read into memory: a batch is then one fancy index
# (~0.03 ms for 128 rows) rather than a pread per row (~0.4 ms; data.RowReader), which a GPU
# step of a few milliseconds would notice. Larger ones stay memory-mapped.
IN_MEMORY_BYTES = 64 * 2**20


def load_arrays(data_dir: str | Path) -> dict[str, np.ndarray]:
    """The preprocessed arrays; (rows x width) ones over IN_MEMORY_BYTES memory-mapped, so
    nothing large is read into RAM."""
    data_dir = Path(data_dir)
    wide = ("tokens", "residue_labels")
    arrays = {name: load_array(data_dir / f"{name}.npy") for name in ARRAYS if name not in wide}
    for name in wide:
        path = data_dir / f"{name}.npy"
        mapped = path.stat().st_size > IN_MEMORY_BYTES
        arrays[name] = load_array(path, mmap_mode="r" if mapped else None)
    return arrays


def class_counts(arrays: dict[str, np.ndarray], rows: np.ndarray, n_classes: int) -> np.ndarray:
    """How many of `rows` fall in each class: records, or their labelled residues (per-residue
    labels), read a block of rows at a time (they may be memory-mapped)."""
    if not arrays["residue_labels"].shape[1]:
        return np.bincount(arrays["labels"][rows], minlength=n_classes)[:n_classes]
    counts = np.zeros(n_classes, dtype=np.int64)
    for start in range(0, len(rows), 4096):
        labels = np.asarray(arrays["residue_labels"][rows[start : start + 4096]])
        counts += np.bincount(labels[labels != NO_LABEL], minlength=n_classes)[:n_classes]
    return counts


def read_ids(data_dir: str | Path, indices=None) -> list[str]:
    """Row ids from records.tsv: all of them, or those of `indices` (in that order), reading
    the table once and keeping only the ids asked for."""
    with open(Path(data_dir) / "records.tsv") as handle:
        handle.readline()
        if indices is None:
            return [line.split("\t", 2)[1] for line in handle]
        indices = np.asarray(indices, dtype=np.int64).ravel()
        found = lines_at(handle, indices, lambda line: line.split("\t", 2)[1])
    missing = [int(i) for i in np.unique(indices) if int(i) not in found]
    if missing:
        raise IndexError(f"row(s) {missing[:5]} not in {data_dir}/records.tsv")
    return [found[i] for i in indices.tolist()]


def lines_at(handle, rows: np.ndarray, parse) -> dict[int, str]:
    """{row: parse(line)} for the lines numbered `rows` (0-based) of an open text file, read
    once up to the last of them, keeping only those."""
    wanted = distinct(rows)
    found: dict[int, str] = {}
    if not len(wanted):
        return found
    k, last = 0, int(wanted[-1])
    for row, line in enumerate(handle):
        if row == wanted[k]:
            found[row] = parse(line)
            k += 1
            if row == last:
                break
    return found


def distinct(values) -> np.ndarray:
    """np.unique(values) of integers. (np.unique itself asks np.ma whether they are masked,
    and importing numpy.ma costs a preprocess process ~0.04 s.)"""
    ordered = np.sort(np.asarray(values, dtype=np.int64).ravel())
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered
