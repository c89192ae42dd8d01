"""Preprocess: the ingested table -> memory-mappable uint8 tokens, labels and a split.

Outputs (in `out_dir`):
  tokens.npy    uint8 (rows x width), 0 = padding; open with np.load(mmap_mode="r")
  lengths.npy   int32 per row (after trimming)
  labels.npy    int64 class index per row
  residue_labels.npy  uint8 (rows x width): per-residue class index, 255 = no label (padding
                or masked); token classification only, else 0 columns
  targets.npy   (rows x targets) standardised on train (regression), 0/1 (multilabel); else
                0 columns
  split.npy     uint8 per row: 0 train, 1 val, 2 test
  records.tsv   index, id, label, split, length: the split as a table
  leakage.tsv   identical (or reverse-complement) sequences found in more than one split
  meta.json     alphabet, classes, lengths, split sizes per class, leakage counts, tiling

A row is a record, or with tiling (`tile_width`, `tile_stride`) a window of one: a record
longer than the tile width W becomes the windows [0, W), [S, S + W), [2S, 2S + W), ... of
stride S, plus one window that ends at the record's end if the last of those stops short of it
(so the tail is always covered). A window's id is `<record>:<start>-<end>`, 1-based and
inclusive (samtools region syntax); records no longer than W stay one row, padded, with their
own id. Every window has its record's label or targets, and all windows of a record share one
split: records are split, never windows, so overlapping neighbours cannot leak.

Next-base training (`tile_label="next_base"`, language-model style): each window is the context
and its label is the letter that follows it, so the classes are the alphabet's letters. Windows
are taken as above over all but a record's last letter (a record no longer than W + 1 is one
row: all of it but the last letter); windows followed by an ambiguity code are left out. With a
few long records (one chromosome), split `blocks` draws contiguous blocks of `block_size`
letters of each record into the splits instead of whole records: a window belongs to the block
its start lies in, so only windows within W of a block's edge share letters with another split
(none when the stride is at least W + 1).

Identical sequences are kept in one split when genoflow draws the split, so a model is never
tested on a sequence it was trained on; with a given split, such overlaps are reported.

Memory is bounded by one record (the longest) plus a chunk of token rows, and about 45 bytes
per row for the small arrays; the ids are kept in a temporary file, not in memory.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from genoflow import kernels
from genoflow.alphabets import get_alphabet
from genoflow.errors import InputError
from genoflow.formats.arrays import ARRAYS, TABLES
from genoflow.formats.files import (
    DATA_FORMAT,
    INGEST_FORMAT,
    read_stamped,
    temp_path,
    write_json,
)
from genoflow.preprocess.encode import TRIM_POLICIES, Layout, encode_records, standardise
from genoflow.preprocess.leakage import find_leakage, write_leakage, write_records
from genoflow.preprocess.split import SPLIT_METHODS, assign_split, block_split, split_sizes
from genoflow.preprocess.tiling import (
    next_base_counts,
    record_lengths,
    tile_counts,
    tile_options,
)
from genoflow.registry import NO_LABEL


def preprocess(
    ingest_dir: str | Path,
    out_dir: str | Path,
    *,
    max_length: int | None = None,
    trim: str = "error",
    split: str = "stratified",
    val: float = 0.1,
    test: float = 0.2,
    seed: int = 42,
    classes: list[str] | None = None,
    tile_width: int | None = None,
    tile_stride: int | None = None,
    tile_label: str = "record",
    block_size: int = 100_000,
    threads: int = 1,
) -> dict:
    """Encode, pad/trim (or tile) and split the ingested records; write arrays and metadata.

    `tile_width` W turns every record longer than W into windows of W with a stride of
    `tile_stride` (default W: windows side by side); `tile_label` "next_base" labels each
    window with the letter after it. `threads`: how many threads encode and hash the records
    (the outputs are the same for any number). See the module docstring.
    """
    ingest_dir, out_dir = Path(ingest_dir), Path(out_dir)
    if trim not in TRIM_POLICIES:
        raise InputError(None, f"trim={trim!r} is not one of {list(TRIM_POLICIES)}")
    if split not in SPLIT_METHODS:
        raise InputError(None, f"split method {split!r} is not one of {list(SPLIT_METHODS)}")
    if not (0 < val < 1 and 0 < test < 1 and val + test < 1):
        raise InputError(None, f"split fractions val={val}, test={test} must be in (0, 1), sum < 1")
    if threads < 1:
        raise InputError(None, f"threads={threads}: at least 1, please")
    tile = tile_options(tile_width, tile_stride, max_length, tile_label)
    if split == "blocks" and (tile is None or block_size < 1):
        raise InputError(None, "split method 'blocks' needs tiling and a block_size >= 1")
    table = ingest_dir / "sequences.tsv"
    summary = read_stamped(ingest_dir / "summary.json", INGEST_FORMAT, "ingest")
    alphabet = get_alphabet(summary["alphabet"])
    task, targets = summary.get("task", "classification"), summary.get("targets", [])
    next_base = tile_label == "next_base"
    if next_base:
        if targets:
            raise InputError(table, "tile label next_base makes its own labels: drop `values`")
        task, classes = "classification", list(alphabet.letters)
        if split == "stratified":  # records have no class: draw them at random
            split = "random"
    elif task == "token_classification" and tile:
        raise InputError(table, "per-residue labels cannot be tiled; use max_length and trim")
    elif task == "unlabelled":
        raise InputError(
            table,
            "the records have no labels: give a label source, or tile them with label next_base",
        )
    if task in ("token_classification", "multilabel") and split == "stratified":
        split = "random"  # no one class per record to stratify by
    classes = [] if targets else list(classes) if classes else sorted(summary["classes"])
    if task in ("classification", "token_classification") and len(classes) < 2:
        raise InputError(table, f"classification needs >= 2 classes, found {classes}")
    n_records = summary["records"]
    width = tile[0] if tile else max_length or summary["length"]["max"]
    if next_base:
        tiles, windows = next_base_counts(table, n_records, tile, alphabet)
    elif tile:
        tiles = tile_counts(record_lengths(table, n_records), *tile)
        windows = int(tiles.sum())
    else:
        tiles = None
    n_rows = n_records if tiles is None else int(tiles.sum())
    if n_rows == 0:
        raise InputError(table, "no rows: every record is too short for a next-base window")
    if task == "token_classification" and len(classes) >= NO_LABEL:
        raise InputError(table, f"{len(classes)} residue classes; at most {NO_LABEL - 1}")

    out_dir.mkdir(parents=True, exist_ok=True)
    # This process's own temporary names (io.temp_path): a second run into the same folder, or
    # the files a killed run left, never collide with them.
    tmp = {name: temp_path(out_dir / f"{name}.npy") for name in ARRAYS}
    tmp.update({name: temp_path(out_dir / name) for name in (*TABLES, "ids")})
    try:
        with kernels.threads(threads):
            layout = Layout(
                table,
                alphabet,
                n_records,
                n_rows,
                width,
                trim,
                tile,
                next_base,
                split,
                classes,
                targets,
                task == "token_classification",
            )
            encoded = encode_records(layout, tmp)
        labels, values = encoded.labels, encoded.values
        exact_order = kernels.argsort_hashes(encoded.exact)  # (for split groups and leakage)
        if split == "blocks":
            split_codes = block_split(tiles, encoded.starts, block_size, val, test, seed, table)
        else:
            split_codes = assign_split(
                labels,
                encoded.record_hash,
                encoded.given,
                table=table,
                method=split,
                val=val,
                test=test,
                seed=seed,
                classes=classes,
                order=exact_order if encoded.record_hash is encoded.exact else None,
            )
        if tiles is not None:  # every window takes its record's split, label and targets
            split_codes = split_codes if split == "blocks" else np.repeat(split_codes, tiles)
            labels = encoded.row_labels if next_base else np.repeat(labels, tiles)
            values = np.repeat(values, tiles, axis=0)
        mean, std = standardise(values, split_codes, task == "multilabel")
        _save(tmp["lengths"], encoded.lengths)
        _save(tmp["labels"], labels)
        _save(tmp["targets"], (values - mean) / std)
        _save(tmp["split"], split_codes)
        del values
        leakage = find_leakage(
            encoded.exact, encoded.canonical, split_codes, alphabet.name, exact_order
        )
        record_classes = [] if task == "token_classification" else classes  # labels per residue
        write_records(
            tmp["records.tsv"], tmp["ids"], labels, split_codes, encoded.lengths, record_classes
        )
        sizes = split_sizes(labels, split_codes, classes, tmp, task)
        write_leakage(tmp["leakage.tsv"], leakage["rows"], tmp["ids"])
        for name in ARRAYS:
            os.replace(tmp[name], out_dir / f"{name}.npy")
        for name in TABLES:
            os.replace(tmp[name], out_dir / name)
    except OSError as error:
        if error.filename is None and error.errno is not None:
            error.filename = str(out_dir)  # a failed write (a full disk) names no file
        raise
    finally:
        for path in tmp.values():
            path.unlink(missing_ok=True)

    meta = {
        "format": DATA_FORMAT,
        "task": task,
        "alphabet": alphabet.name,
        "vocab_size": alphabet.vocab_size,
        "channels": alphabet.channels,
        "records": n_rows,  # rows of the arrays: windows, with tiling
        "max_length": width,
        "trim": trim,
        "trimmed_records": encoded.trimmed,
        "tile": None
        if tiles is None
        else {
            "width": tile[0],
            "stride": tile[1],
            "label": tile_label,
            "source_records": n_records,
            "tiled_records": int(np.count_nonzero(tiles > 1)),
            "windows_left_out": windows - n_rows,  # next_base: followed by an ambiguity code
            "ids": "<record>:<start>-<end>, 1-based, inclusive",
            "last_window": "end-aligned",
        },
        "classes": classes,
        "targets": targets,
        "target_mean": mean.tolist(),  # targets.npy is standardised with these train statistics
        "target_std": std.tolist(),
        "split": {"method": split, "val": val, "test": test, "seed": seed}
        | ({"block_size": block_size} if split == "blocks" else {}),
        "split_sizes": sizes,  # records per class and split; residues, for labels per residue
        "leakage": leakage["counts"],
    }
    write_json(out_dir / "meta.json", meta)
    return meta


def _save(path: Path, array: np.ndarray) -> None:
    """np.save to exactly `path` (given a name, np.save would add `.npy` to a temporary one)."""
    with open(path, "wb") as handle:
        np.save(handle, array)
