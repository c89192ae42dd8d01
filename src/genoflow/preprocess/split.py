"""The split: stratified or random, drawn from a seed over whole groups of identical sequences (so
a model is never tested on a sequence it was trained on); a given split checked; contiguous
blocks of a tiled genome."""

from __future__ import annotations

import numpy as np

from genoflow import kernels
from genoflow.errors import InputError
from genoflow.formats.arrays import distinct
from genoflow.formats.files import (
    load_array,
)
from genoflow.preprocess.encode import CHUNK_ROWS
from genoflow.registry import NO_LABEL, SPLIT_NAMES

SPLIT_METHODS = ("stratified", "random", "given", "blocks")


def split_sizes(labels, split_codes, classes, tmp, task) -> dict:
    """Per split: records per class (residues per class, for labels per residue)."""
    if task != "token_classification":
        return {
            name: {
                c: int(np.sum((split_codes == s) & (labels == k)))
                for k, c in enumerate(classes or ["records"])
            }
            for s, name in enumerate(SPLIT_NAMES)
        }
    residues = load_array(tmp["residue_labels"], mmap_mode="r")
    sizes = {}
    for s, name in enumerate(SPLIT_NAMES):
        counts = np.zeros(NO_LABEL + 1, dtype=np.int64)
        rows = np.flatnonzero(split_codes == s)
        for start in range(0, len(rows), CHUNK_ROWS):
            chunk = np.asarray(residues[rows[start : start + CHUNK_ROWS]])
            counts += np.bincount(chunk.ravel(), minlength=NO_LABEL + 1)
        sizes[name] = {c: int(counts[k]) for k, c in enumerate(classes)}
    return sizes


def block_split(tiles, starts, block_size, val, test, seed, table) -> np.ndarray:
    """Split codes per row: the blocks of `block_size` letters of each record, drawn at random
    (a window belongs to the block its start lies in)."""
    record = np.repeat(np.arange(len(tiles), dtype=np.uint64), tiles)
    blocks = (record << np.uint64(32)) | (starts // block_size).astype(np.uint64)
    n_blocks = len(np.unique(blocks))
    if n_blocks < 3:
        raise InputError(
            table,
            f"{n_blocks} block(s) of {block_size} letters; a split needs at least 3:"
            " lower block_size",
        )
    return _draw_split(np.zeros(len(blocks), np.int64), blocks, val, test, seed, False, table, [])


def assign_split(
    labels, exact, given, *, table, method, val, test, seed, classes, order
) -> np.ndarray:
    """Split codes per record. Drawn splits keep identical sequences together. `order`: a
    stable argsort of `exact`, if at hand."""
    if method == "given":
        return _given_split(labels, exact, given, table, val, seed, classes)
    stratify = method == "stratified"
    return _draw_split(labels, exact, val, test, seed, stratify, table, classes, order)


def _draw_split(labels, exact, val, test, seed, stratify, table, classes, order=None) -> np.ndarray:
    """Random (per-class if `stratify`) split of distinct sequences; 0/1/2 = train/val/test.

    One unit per distinct sequence, whose class is that of its first record, so identical
    sequences always share a split. test = 0 draws only a validation set.
    """
    rng = np.random.default_rng(seed)
    first, group_of = _groups(exact, order)
    group_class = labels[first] if stratify else np.zeros(len(first), np.int64)
    group_split = np.zeros(len(first), dtype=np.uint8)
    for k in distinct(group_class):
        members = rng.permutation(np.flatnonzero(group_class == k))
        if test == 0 and len(members) < 2:
            continue  # drawing validation only (from a given train split): too few to spare
        needed = 3 if test > 0 else 2
        if len(members) < needed:
            what = f"class {classes[k]!r}" if stratify else "the dataset"
            raise InputError(
                table,
                f"{what} has {len(members)} distinct sequence(s); splitting it needs at least"
                f" {needed}",
            )
        n_test = max(1, round(test * len(members))) if test > 0 else 0
        n_val = min(max(1, round(val * len(members))), len(members) - n_test - 1)
        group_split[members[:n_test]] = 2
        group_split[members[n_test : n_test + n_val]] = 1
    return group_split[group_of]


def _groups(keys: np.ndarray, order: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(keys, return_index=True, return_inverse=True) less the values: each distinct
    key's first index, in key order, and each key's group. (One stable sort, or `order` if
    given; np.unique's own takes ~2x as long.)"""
    order = kernels.argsort_hashes(keys) if order is None else order
    ordered = keys[order]
    new = np.empty(len(keys), dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    group_of = np.empty(len(keys), dtype=np.int64)
    group_of[order] = np.cumsum(new) - 1
    return order[new], group_of


def _given_split(labels, exact, given, table, val, seed, classes) -> np.ndarray:
    """The split column as codes (every record has one: checked while reading)."""
    codes = given.copy()
    present = set(distinct(codes).tolist())
    for needed in (0, 2):
        if needed not in present:
            raise InputError(table, f"the given split has no {SPLIT_NAMES[needed]!r} records")
    if 1 not in present:  # no validation set given: draw one from train, per class
        train = np.flatnonzero(codes == 0)
        drawn = _draw_split(labels[train], exact[train], val, 0, seed, True, table, classes)
        codes[train[drawn == 1]] = 1
    return codes
