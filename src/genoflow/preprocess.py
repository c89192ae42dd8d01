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

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from genoflow import kernels
from genoflow.alphabets import COMPLEMENT, get_alphabet
from genoflow.errors import InputError
from genoflow.io import UNLABELLED, read_json, write_json

SPLIT_NAMES = ("train", "val", "test")
SPLIT_METHODS = ("stratified", "random", "given", "blocks")
TILE_LABELS = ("record", "next_base")
TRIM_POLICIES = ("right", "left", "center", "error")
ARRAYS = ("tokens", "lengths", "labels", "residue_labels", "targets", "split")
NO_LABEL = 255  # residue_labels: padding, or a residue whose label is masked out
TABLES = ("records.tsv", "leakage.tsv")
NO_SPLIT = 255  # a record without a given split
CHUNK_BYTES = 1 << 24  # token rows written at a time: at most this many bytes
CHUNK_ROWS = 1 << 16  # ... and this many rows
SHOWN_IDS = 10  # ids listed per leakage group


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
    tile = _tile_options(tile_width, tile_stride, max_length, tile_label)
    if split == "blocks" and (tile is None or block_size < 1):
        raise InputError(None, "split method 'blocks' needs tiling and a block_size >= 1")
    table = ingest_dir / "sequences.tsv"
    summary = read_json(ingest_dir / "summary.json")
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
        raise InputError(table, "the records have no labels: give a label source, or tile"
                         " them with label next_base")  # fmt: skip
    if task in ("token_classification", "multilabel") and split == "stratified":
        split = "random"  # no one class per record to stratify by
    classes = [] if targets else list(classes) if classes else sorted(summary["classes"])
    if task in ("classification", "token_classification") and len(classes) < 2:
        raise InputError(table, f"classification needs >= 2 classes, found {classes}")
    n_records = summary["records"]
    width = tile[0] if tile else max_length or summary["length"]["max"]
    if next_base:
        tiles, windows = _next_base_counts(table, n_records, tile, alphabet)
    elif tile:
        tiles = _tile_counts(_record_lengths(table, n_records), *tile)
        windows = int(tiles.sum())
    else:
        tiles = None
    n_rows = n_records if tiles is None else int(tiles.sum())
    if n_rows == 0:
        raise InputError(table, "no rows: every record is too short for a next-base window")
    if task == "token_classification" and len(classes) >= NO_LABEL:
        raise InputError(table, f"{len(classes)} residue classes; at most {NO_LABEL - 1}")

    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = {name: out_dir / f".{name}.tmp.npy" for name in ARRAYS}
    tmp.update({name: out_dir / f".{name}.tmp" for name in (*TABLES, "ids")})
    try:
        with kernels.threads(threads):
            encoded = _encode(
                table, tmp, alphabet, n_records, n_rows, width, trim, tile, next_base, split,
                classes, targets, task == "token_classification",
            )  # fmt: skip
        labels, values = encoded.labels, encoded.values
        exact_order = kernels.argsort_hashes(encoded.exact)  # (for split groups and leakage)
        if split == "blocks":
            split_codes = _block_split(tiles, encoded.starts, block_size, val, test, seed, table)
        else:
            split_codes = _split(
                labels, encoded.record_hash, encoded.given, table, split, val, test, seed,
                classes, exact_order if encoded.record_hash is encoded.exact else None,
            )  # fmt: skip
        if tiles is not None:  # every window takes its record's split, label and targets
            split_codes = split_codes if split == "blocks" else np.repeat(split_codes, tiles)
            labels = encoded.row_labels if next_base else np.repeat(labels, tiles)
            values = np.repeat(values, tiles, axis=0)
        mean, std = _standardise(values, split_codes, task == "multilabel")
        np.save(tmp["lengths"], encoded.lengths)
        np.save(tmp["labels"], labels)
        np.save(tmp["targets"], (values - mean) / std)
        np.save(tmp["split"], split_codes)
        del values
        leakage = _leakage(
            encoded.exact, encoded.canonical, split_codes, alphabet.name, exact_order
        )
        record_classes = [] if task == "token_classification" else classes  # labels per residue
        _write_records(
            tmp["records.tsv"], tmp["ids"], labels, split_codes, encoded.lengths, record_classes
        )
        sizes = _split_sizes(labels, split_codes, classes, tmp, task)
        _write_leakage(tmp["leakage.tsv"], leakage["rows"], tmp["ids"])
        for name in ARRAYS:
            os.replace(tmp[name], out_dir / f"{name}.npy")
        for name in TABLES:
            os.replace(tmp[name], out_dir / name)
    finally:
        for path in tmp.values():
            path.unlink(missing_ok=True)

    meta = {
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


# (rows x width) arrays up to this size are read into memory: a batch is then one fancy index
# (~0.03 ms for 128 rows) rather than a pread per row (~0.4 ms; data.RowReader), which a GPU
# step of a few milliseconds would notice. Larger ones stay memory-mapped.
IN_MEMORY_BYTES = 64 * 2**20


def load_arrays(data_dir: str | Path) -> dict[str, np.ndarray]:
    """The preprocessed arrays; (rows x width) ones over IN_MEMORY_BYTES memory-mapped, so
    nothing large is read into RAM."""
    data_dir = Path(data_dir)
    wide = ("tokens", "residue_labels")
    arrays = {name: np.load(data_dir / f"{name}.npy") for name in ARRAYS if name not in wide}
    for name in wide:
        path = data_dir / f"{name}.npy"
        mapped = path.stat().st_size > IN_MEMORY_BYTES
        arrays[name] = np.load(path, mmap_mode="r" if mapped else None)
    return arrays


def _split_sizes(labels, split_codes, classes, tmp, task) -> dict:
    """Per split: records per class (residues per class, for labels per residue)."""
    if task != "token_classification":
        return {
            name: {
                c: int(np.sum((split_codes == s) & (labels == k)))
                for k, c in enumerate(classes or ["records"])
            }
            for s, name in enumerate(SPLIT_NAMES)
        }
    residues = np.load(tmp["residue_labels"], mmap_mode="r")
    sizes = {}
    for s, name in enumerate(SPLIT_NAMES):
        counts = np.zeros(NO_LABEL + 1, dtype=np.int64)
        rows = np.flatnonzero(split_codes == s)
        for start in range(0, len(rows), CHUNK_ROWS):
            chunk = np.asarray(residues[rows[start : start + CHUNK_ROWS]])
            counts += np.bincount(chunk.ravel(), minlength=NO_LABEL + 1)
        sizes[name] = {c: int(counts[k]) for k, c in enumerate(classes)}
    return sizes


def read_ids(data_dir: str | Path, indices=None) -> list[str]:
    """Row ids from records.tsv: all of them, or those of `indices` (in that order), reading
    the table once and keeping only the ids asked for."""
    with open(Path(data_dir) / "records.tsv") as handle:
        handle.readline()
        if indices is None:
            return [line.split("\t", 2)[1] for line in handle]
        indices = np.asarray(indices, dtype=np.int64).ravel()
        found = _lines_at(handle, indices, lambda line: line.split("\t", 2)[1])
    missing = [int(i) for i in np.unique(indices) if int(i) not in found]
    if missing:
        raise IndexError(f"row(s) {missing[:5]} not in {data_dir}/records.tsv")
    return [found[i] for i in indices.tolist()]


def _distinct(values) -> np.ndarray:
    """np.unique(values) of integers. (np.unique itself asks np.ma whether they are masked,
    and importing numpy.ma costs a preprocess process ~0.04 s.)"""
    ordered = np.sort(np.asarray(values, dtype=np.int64).ravel())
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def _lines_at(handle, rows: np.ndarray, parse) -> dict[int, str]:
    """{row: parse(line)} for the lines numbered `rows` (0-based) of an open text file, read
    once up to the last of them, keeping only those."""
    wanted = _distinct(rows)
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


def tile_starts(length: int, width: int, stride: int) -> np.ndarray:
    """0-based starts of the windows of a record of `length`: 0, S, 2S, ... while the window
    fits, then one window ending at the record's end if those stop short of it."""
    if length <= width:
        return np.zeros(1, dtype=np.int64)
    starts = np.arange(0, length - width + 1, stride, dtype=np.int64)
    if starts[-1] + width < length:
        starts = np.append(starts, length - width)
    return starts


def _tile_counts(lengths: np.ndarray, width: int, stride: int) -> np.ndarray:
    """Windows per record, as tile_starts makes them, for an array of lengths."""
    over = np.maximum(lengths - width, 0)
    return np.where(lengths > width, over // stride + 1 + (over % stride > 0), 1).astype(np.int64)


def _tile_options(width, stride, max_length, label) -> tuple[int, int] | None:
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
            None, f"max_length {max_length} and tile width {width}: with tiling, rows are"
            " the tile width wide; give one of them",
        )  # fmt: skip
    return width, stride


def _record_lengths(table: Path, n_records: int) -> np.ndarray:
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


def _next_base_counts(table: Path, n_records: int, tile, alphabet) -> tuple[np.ndarray, int]:
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


def _block_split(tiles, starts, block_size, val, test, seed, table) -> np.ndarray:
    """Split codes per row: the blocks of `block_size` letters of each record, drawn at random
    (a window belongs to the block its start lies in)."""
    record = np.repeat(np.arange(len(tiles), dtype=np.uint64), tiles)
    blocks = (record << np.uint64(32)) | (starts // block_size).astype(np.uint64)
    n_blocks = len(np.unique(blocks))
    if n_blocks < 3:
        raise InputError(
            table, f"{n_blocks} block(s) of {block_size} letters; a split needs at least 3:"
            " lower block_size",
        )  # fmt: skip
    return _draw_split(np.zeros(len(blocks), np.int64), blocks, val, test, seed, False, table, [])


class _Encoded:
    """What one pass over sequences.tsv leaves in memory: per record, the label, targets,
    given split and hash (for the split); per row, the length and hashes (for leakage)."""

    def __init__(self, n_records: int, n_rows: int, n_targets: int, tiled: bool) -> None:
        self.labels = np.zeros(n_records, dtype=np.int64)  # class index; 0 for regression
        self.values = np.zeros((n_records, n_targets), dtype=np.float32)
        self.given = np.full(n_records, NO_SPLIT, dtype=np.uint8)
        self.lengths = np.zeros(n_rows, dtype=np.int32)
        self.starts = np.zeros(n_rows if tiled else 0, dtype=np.int64)  # window starts
        self.row_labels = np.zeros(n_rows if tiled else 0, dtype=np.int64)  # next_base
        self.exact = np.zeros(n_rows, dtype=np.uint64)
        self.canonical = np.zeros(n_rows, dtype=np.uint64)
        # Drawn splits keep identical records together: a hash per record (the rows' own
        # hashes, unless records are tiled into several rows).
        self.record_hash = np.zeros(n_records, dtype=np.uint64) if tiled else self.exact
        self.trimmed = 0


class _Rows:
    """Rows on their way out: tokens to tokens.npy with plain writes (no memory map, so the
    rows written never count towards this process's memory), ids to a temporary file, and
    lengths and hashes gathered in lists, copied to the arrays a chunk at a time."""

    def __init__(
        self, path: Path, ids: Path, encoded: _Encoded, n_rows: int, width: int,
        residues: Path, per_residue: bool, complement: bytes | None,
    ) -> None:  # fmt: skip
        self.handle = _open_rows(path, n_rows, width)
        self.complement = complement  # (DNA, RNA) _complement_tokens, else None
        self.residue_width = width if per_residue else 0
        self.residue_handle = _open_rows(residues, n_rows, self.residue_width)
        self.ids = open(ids, "w")  # noqa: SIM115 - closed by close()
        self.encoded, self.n_rows, self.width = encoded, n_rows, width
        self.rows = max(1, min(CHUNK_BYTES // width, CHUNK_ROWS))  # rows per chunk
        self.tokens: list[bytes] = []
        self.residues: list[bytes] = []
        self.names: list[str] = []
        self.lengths: list[int] = []
        self.starts: list[int] = []
        self.labels: list[int] = []
        self.exact: list[int] = []
        self.written = 0

    def add(
        self, tokens: bytes, row_id: str, exact: int, start: int = 0, label: int = 0,
        residues: bytes = b"",
    ) -> None:  # fmt: skip
        """One row: its tokens (bytes, padded here), id, hash, with tiling the window's
        start in its record and (next_base) its label, and its residues' class indices."""
        self.tokens.append(tokens)
        self.residues.append(residues)
        self.names.append(row_id)
        self.lengths.append(len(tokens))
        self.starts.append(start)
        self.labels.append(label)
        self.exact.append(exact)
        if len(self.tokens) == self.rows:
            self.flush()

    def flush(self) -> None:
        start, stop = self.written, self.written + len(self.tokens)
        if stop > self.n_rows:
            raise ValueError(f"more than the {self.n_rows} rows planned")
        width = self.width
        tokens = b"".join(self.tokens)
        lengths = np.array(self.lengths, dtype=np.int64)
        rows = padded_rows(tokens, lengths, width)
        self.handle.write(rows.data)
        if self.residue_width:
            padding = bytes([NO_LABEL])
            self.residue_handle.write(b"".join(r.ljust(width, padding) for r in self.residues))
        self.ids.writelines(f"{name}\n" for name in self.names)
        encoded = self.encoded
        encoded.lengths[start:stop] = self.lengths
        if len(encoded.starts):
            encoded.starts[start:stop] = self.starts
            encoded.row_labels[start:stop] = self.labels
        encoded.exact[start:stop] = np.array(self.exact, dtype=np.uint64)
        if self.complement is not None and len(lengths):
            encoded.canonical[start:stop] = kernels.canonical_hashes(rows, lengths, self.complement)
        self.written = stop
        for pending in (
            self.tokens, self.residues, self.names, self.lengths, self.starts, self.labels
        ):  # fmt: skip
            pending.clear()
        self.exact.clear()

    def add_block(
        self, rows: np.ndarray, ids: list[str], lengths: np.ndarray, exact: np.ndarray
    ) -> None:
        """Many rows at once: their tokens padded (rows x width), ids, lengths and exact
        hashes."""
        self.flush()
        start, stop = self.written, self.written + len(ids)
        if stop > self.n_rows:
            raise ValueError(f"more than the {self.n_rows} rows planned")
        self.handle.write(np.ascontiguousarray(rows).data)
        self.ids.write("\n".join(ids) + "\n")
        self.encoded.lengths[start:stop] = lengths
        self.encoded.exact[start:stop] = exact
        if self.complement is not None:
            self.encoded.canonical[start:stop] = kernels.canonical_hashes(
                rows, lengths, self.complement
            )
        self.written = stop

    def close(self, complete: bool = True) -> None:
        try:
            if complete:
                self.flush()
        finally:
            self.handle.close()
            self.residue_handle.close()
            self.ids.close()


def _open_rows(path: Path, n_rows: int, width: int):
    """A uint8 (n_rows x width) .npy file, open for writing its rows in order."""
    # open_memmap writes the .npy header and sizes the (sparse) file; no page is touched.
    header = np.lib.format.open_memmap(path, "w+", np.uint8, (n_rows, width))
    del header
    handle = open(path, "r+b")  # noqa: SIM115 - closed by the caller
    handle.seek(path.stat().st_size - n_rows * width)
    return handle


def _encode(
    table, tmp, alphabet, n_records, n_rows, width, trim, tile, next_base, split, classes,
    targets, per_residue,
) -> _Encoded:  # fmt: skip
    """One streaming pass over sequences.tsv: token rows to tokens.npy, ids to a temporary
    file, and the small per-record and per-row arrays."""
    class_index = {name.encode(): i for i, name in enumerate(classes)}
    split_index = {name.encode(): code for code, name in enumerate(SPLIT_NAMES)}
    to_tokens = _token_table(alphabet)
    encoded = _Encoded(n_records, n_rows, len(targets), tile is not None)
    complement = _complement_tokens(alphabet) if alphabet.name in ("dna", "rna") else None
    rows = _Rows(
        tmp["tokens"], tmp["ids"], encoded, n_rows, width, tmp["residue_labels"], per_residue,
        complement,
    )  # fmt: skip
    residue_index = {**class_index, UNLABELLED.encode(): NO_LABEL}
    labels, given, values = [], [], []  # per record, copied to the arrays a chunk at a time

    def record_by_record() -> int:
        """Tiled or per-residue data: one row (or several windows) per table row."""
        i = done = 0
        with open(table, "rb") as handle:
            handle.readline()  # id, label column(s), split, source, sequence
            for i, line in enumerate(handle, start=1):
                fields = line.rstrip(b"\n").split(b"\t")
                record_id, label, seq = fields[0].decode(), fields[1:-3], fields[-1]
                where = dict(line=i + 1, record=record_id)
                if i > n_records:
                    raise InputError(table, f"more rows than the {n_records} in summary.json")
                if targets:
                    values.append([float(value) for value in label])
                elif next_base or per_residue:
                    labels.append(0)  # labels per window (the letter after it) or per residue
                elif label[0] in class_index:
                    labels.append(class_index[label[0]])
                else:
                    problem = f"label {label[0].decode()!r} is not among classes {classes}"
                    raise InputError(table, problem, **where)
                given.append(split_index.get(fields[-3], NO_SPLIT))
                if split == "given" and given[-1] == NO_SPLIT:
                    problem = "split method 'given' but this record has no split"
                    raise InputError(table, problem, **where)
                if next_base:
                    encoded.record_hash[i - 1] = _add_next_base_windows(
                        rows, record_id, seq, tile, alphabet, to_tokens
                    )
                elif tile is not None:
                    encoded.record_hash[i - 1] = _add_windows(rows, record_id, seq, tile, to_tokens)
                else:
                    residues = (
                        _residue_classes(label[0], seq, residue_index, classes, table, where)
                        if per_residue
                        else b""
                    )
                    if len(seq) > width:
                        if trim == "error":
                            problem = f"length {len(seq)} exceeds max_length {width} (trim=error)"
                            raise InputError(table, problem, **where)
                        seq, residues = trim_to(seq, width, trim), trim_to(residues, width, trim)
                        encoded.trimmed += 1
                    rows.add(seq.translate(to_tokens), record_id, _hash(seq), residues=residues)
                if len(given) == 1 << 16:
                    done = _copy_records(encoded, done, labels, given, values)
        _copy_records(encoded, done, labels, given, values)
        return i

    try:
        if tile is None and not per_residue:  # one row per record: whole blocks of rows at once
            i = _encode_blocks(
                table, rows, encoded, n_records, width, trim, split, classes, targets, to_tokens
            )
        else:
            i = record_by_record()
    except BaseException:
        rows.close(complete=False)
        raise
    rows.close()
    if i != n_records or rows.written != n_rows:
        raise InputError(table, f"{i} rows, but summary.json says {n_records}")
    return encoded


TABLE_BLOCK = 1 << 22  # bytes of sequences.tsv read at a time (whole rows: more, for longer)


def _encode_blocks(
    table, rows: _Rows, encoded: _Encoded, n_records, width, trim, split, classes, targets,
    to_tokens,
) -> int:  # fmt: skip
    """_encode without tiling or labels per residue, a block of table rows at a time: rows
    split into fields by the kernels, checked and trimmed with numpy, and encoded, padded and
    hashed by the kernels (no Python work per row). Returns the number of rows."""
    done = 0
    with open(table, "rb") as handle:
        # id, label column(s), split, source, sequence
        n_fields = handle.readline().count(b"\t") + 1
        carry = b""
        expected = 1024  # rows per block (the last block's count, for the kernel's room)
        while True:
            chunk = handle.read(max(TABLE_BLOCK, len(carry)))
            block = carry + chunk if carry else chunk
            cut = block.rfind(b"\n") + 1
            if chunk and cut == 0:  # a row longer than the block: read on
                carry = block
                continue
            if not chunk and block and cut < len(block):  # a last row without its newline
                block += b"\n"
                cut = len(block)
            if not cut:
                break
            carry = block[cut:]
            before = done
            done = _encode_block(
                block, cut, n_fields, expected, done, table, rows, encoded, n_records, width,
                trim, split, classes, targets, to_tokens,
            )  # fmt: skip
            expected = max(1024, done - before + (done - before) // 4)
            if not chunk and not carry:
                break
    return done


def _encode_block(
    block: bytes, size: int, n_fields: int, expected: int, done: int, table, rows: _Rows,
    encoded: _Encoded, n_records, width, trim, split, classes, targets, to_tokens,
) -> int:  # fmt: skip
    """The table rows in block[:size] (whole lines); `expected`: about how many."""
    data = np.frombuffer(block, dtype=np.uint8, count=size)
    fields, line_ends = kernels.tsv_fields(block, size, n_fields, expected)
    if fields is None:
        row = done + line_ends + 1
        fields = block.split(b"\n", line_ends + 1)[line_ends].count(b"\t") + 1
        problem = f"{fields} fields, but the table has {n_fields} columns"
        raise InputError(table, problem, line=row + 1)
    n = len(line_ends)
    ids = _fields_text(data, fields[0], fields[1] - 1).split("\n")[:-1]
    given = _field_codes(data, fields[-3], fields[-2] - 1, SPLIT_NAMES)
    given[given < 0] = NO_SPLIT
    given = given.astype(np.uint8)
    if targets:
        labels = None
        heads = _fields_text(data, fields[1], fields[-3] - 1).split("\n")[:-1]
        values = [[float(v) for v in head.split("\t")] for head in heads]
    else:
        labels = _field_codes(data, fields[1], fields[2] - 1, classes)
    starts, ends = fields[-1].copy(), line_ends.copy()
    sizes = ends - starts
    # the first row with a problem, in the order the row-by-row pass checks them
    problem = n_records - done if done + n > n_records else n
    if labels is not None and (labels < 0).any():
        problem = min(problem, int(np.argmax(labels < 0)))
    if split == "given" and (given == NO_SPLIT).any():
        problem = min(problem, int(np.argmax(given == NO_SPLIT)))
    too_long = np.flatnonzero(sizes > width)
    if trim == "error" and len(too_long):
        problem = min(problem, int(too_long[0]))
    if problem < n:
        head = block[fields[0][problem] : fields[-1][problem] - 1].decode().split("\t")
        _raise_row_problem(table, done + problem + 1, head, int(sizes[problem]),
                           n_records, width, classes, labels, split)  # fmt: skip
    if len(too_long):  # trim: keep `width` letters of each long row
        over = sizes[too_long] - width
        shift = {"right": 0, "left": over, "center": over // 2}[trim]
        starts[too_long] += shift
        ends[too_long] = starts[too_long] + width
        sizes[too_long] = width
        encoded.trimmed += len(too_long)
    del data
    for low in range(0, n, rows.rows):  # rows.rows x width tokens at most, however wide
        span = slice(low, min(n, low + rows.rows))
        rows.add_block(
            kernels.encode_rows(block, starts[span], ends[span], to_tokens, width), ids[span],
            sizes[span], kernels.blake2b64(block, starts[span], ends[span]),
        )  # fmt: skip
    stop = done + n
    encoded.given[done:stop] = given
    if labels is not None:
        encoded.labels[done:stop] = labels
    else:
        encoded.values[done:stop] = values
    return stop


def _fields_text(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> str:
    """The table fields [starts[i], ends[i]) of each row, decoded, each followed by '\\n'."""
    sizes = ends - starts
    text = np.full(int(sizes.sum()) + len(sizes), ord("\n"), dtype=np.uint8)
    kernels.copy_ranges(data, starts, text, np.cumsum(sizes + 1) - (sizes + 1), sizes)
    return text.tobytes().decode()


def _field_codes(data: np.ndarray, starts: np.ndarray, ends: np.ndarray, names) -> np.ndarray:
    """Per row, the index in `names` of its field [starts[i], ends[i]), or -1: the fields as
    fixed-width byte strings, looked up with a sorted search (no Python work per row)."""
    sizes = ends - starts
    width = max(1, int(sizes.max()) if len(sizes) else 1)
    keys = np.zeros(len(sizes) * width, dtype=np.uint8)
    kernels.copy_ranges(data, starts, keys, np.arange(len(sizes)) * width, sizes)
    keys = keys.view(f"S{width}")
    encoded = [name.encode() for name in names]
    known = [k for k, name in enumerate(encoded) if 0 < len(name) <= width]
    codes = np.full(len(sizes), -1, dtype=np.int64)
    if not known:
        return codes
    table = np.array([encoded[k] for k in known], dtype=f"S{width}")
    order = np.argsort(table)
    at = np.minimum(np.searchsorted(table[order], keys), len(known) - 1)
    hit = (table[order][at] == keys) & (sizes > 0)
    codes[hit] = np.array(known)[order][at[hit]]
    return codes


def padded_rows(tokens: bytes, sizes: np.ndarray, width: int) -> np.ndarray:
    """Rows of tokens joined one after the other (row i: sizes[i] bytes) as a (rows x width)
    array, padded with 0."""
    n = len(sizes)
    flat = np.frombuffer(tokens, dtype=np.uint8)
    if n * width == len(flat):  # every row full: no padding
        return flat.reshape(n, width)
    rows = np.zeros((n, width), dtype=np.uint8)
    if n < 64:  # a few long rows: a copy each (a mask would take a byte per cell)
        start = 0
        for k, size in enumerate(sizes.tolist()):
            rows[k, :size] = flat[start : start + size]
            start += size
    else:
        rows[np.arange(width) < sizes[:, None]] = flat
    return rows


def _raise_row_problem(table, row, fields, size, n_records, width, classes, labels, split):
    """The error the row-by-row pass raises for table row `row` (1-based, after the header)."""
    where = dict(line=row + 1, record=fields[0])
    if row > n_records:
        raise InputError(table, f"more rows than the {n_records} in summary.json")
    if labels is not None and fields[1] not in classes:
        problem = f"label {fields[1]!r} is not among classes {classes}"
        raise InputError(table, problem, **where)
    if split == "given" and fields[-2] not in SPLIT_NAMES:
        raise InputError(table, "split method 'given' but this record has no split", **where)
    problem = f"length {size} exceeds max_length {width} (trim=error)"
    raise InputError(table, problem, **where)


def _residue_classes(field: bytes, seq: bytes, index: dict, classes, table, where) -> bytes:
    """A record's per-residue labels (space-separated) as class indices, one byte each."""
    tokens = field.split()
    if len(tokens) != len(seq):
        problem = f"{len(tokens)} residue labels for {len(seq)} residues"
        raise InputError(table, problem, **where)
    try:
        return bytes([index[token] for token in tokens])
    except KeyError as error:
        problem = f"residue label {error.args[0].decode()!r} is not among classes {classes}"
        raise InputError(table, problem, **where) from None


def _copy_records(encoded: _Encoded, done: int, labels, given, values) -> int:
    """Copy the per-record lists into the arrays (from record `done` on); empty the lists."""
    stop = done + len(given)
    encoded.given[done:stop] = given
    if labels:
        encoded.labels[done:stop] = labels
    if values:
        encoded.values[done:stop] = values
    for pending in (labels, given, values):
        pending.clear()
    return stop


def _token_table(alphabet) -> bytes:
    """bytes.translate table: letter -> token (bytes outside the alphabet, checked at ingest,
    map to 255); byte 0 maps to 0, so padding with b"\\0" is padding with the pad token."""
    table = alphabet.encode_table()
    table[0] = 0
    return table.tobytes()


def _add_windows(rows: _Rows, record_id, seq, tile, to_tokens) -> int:
    """The rows of one record with tiling: its windows (or itself, if no wider than a
    window). Returns the hash of the whole record."""
    width, stride = tile
    length = len(seq)
    if length <= width:
        exact = _hash(seq)
        rows.add(seq.translate(to_tokens), record_id, exact)
        return exact
    for start in tile_starts(length, width, stride).tolist():
        window = seq[start : start + width]  # one window at a time: memory is the record's
        rows.add(window.translate(to_tokens), f"{record_id}:{start + 1}-{start + width}",
                 _hash(window), start)  # fmt: skip
    return _hash(seq)


def _add_next_base_windows(rows: _Rows, record_id, seq, tile, alphabet, to_tokens):
    """The next-base rows of one record: each window, labelled with the letter after it
    (class index = token - 1). Returns the hash of the whole record."""
    tokens = alphabet.encode_table()
    starts, ends = next_base_windows(seq, *tile, tokens, len(alphabet.letters))
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        window = seq[start:end]
        rows.add(window.translate(to_tokens), f"{record_id}:{start + 1}-{end}",
                 _hash(window), start, int(tokens[seq[end]]) - 1)  # fmt: skip
    return _hash(seq)


def _standardise(
    values: np.ndarray, split_codes: np.ndarray, binary: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Per-target mean and std over the training split only (std 0 becomes 1); 0/1 labels
    (`binary`, multilabel) stay as they are."""
    train = values[split_codes == 0]
    if binary or not values.shape[1] or not len(train):
        return np.zeros(values.shape[1]), np.ones(values.shape[1])
    std = train.std(axis=0)
    return train.mean(axis=0), np.where(std > 0, std, 1.0)


def _hash(sequence: bytes | memoryview) -> int:
    """A sequence's 64-bit BLAKE2b digest: drawn splits order identical-sequence groups by it,
    so it stays as it is (another hash would draw other splits from the same seed)."""
    return int.from_bytes(hashlib.blake2b(sequence, digest_size=8).digest(), "little")


def _complement_tokens(alphabet) -> bytes:
    """A DNA or RNA alphabet's token -> the token of its letter's complement (a bytes.translate
    table; 0, padding, stays 0): what the leakage check's canonical hashes
    (kernels.canonical_hashes: the smaller hash of a row and of its reverse complement) use."""
    to_tokens = alphabet.encode_table()
    tokens = bytearray(256)
    for letter in alphabet.tokens.encode():
        partner = bytes([letter]).translate(COMPLEMENT[alphabet.name])[0]
        tokens[to_tokens[letter]] = to_tokens[partner]
    return bytes(tokens)


def trim_to(sequence: bytes, width: int, policy: str) -> bytes:
    if policy == "right":
        return sequence[:width]
    if policy == "left":
        return sequence[-width:]
    start = (len(sequence) - width) // 2
    return sequence[start : start + width]


def _split(labels, exact, given, table, method, val, test, seed, classes, order) -> np.ndarray:
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
    for k in _distinct(group_class):
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
    present = set(_distinct(codes).tolist())
    for needed in (0, 2):
        if needed not in present:
            raise InputError(table, f"the given split has no {SPLIT_NAMES[needed]!r} records")
    if 1 not in present:  # no validation set given: draw one from train, per class
        train = np.flatnonzero(codes == 0)
        drawn = _draw_split(labels[train], exact[train], val, 0, seed, True, table, classes)
        codes[train[drawn == 1]] = 1
    return codes


_SPLITS_IN_MASK = np.array([bin(mask).count("1") for mask in range(8)])


def _leakage(exact, canonical, split_codes, alphabet: str, exact_order) -> dict:
    """Groups of identical (or reverse-complement) rows that span more than one split, found
    with sorts over the hashes (no Python object per row or per group): each leaking group
    as (kind, split names, size, its first rows), in the order of their first rows.
    `exact_order`: a stable argsort of `exact`."""
    rows, counts = [], {}
    kinds = [("exact", exact, exact_order)]
    if alphabet in ("dna", "rna"):
        kinds.append(("reverse_complement", canonical, None))
    bits = (np.uint8(1) << split_codes.astype(np.uint8)).astype(np.uint8)
    for kind, keys, order in kinds:
        order = kernels.argsort_hashes(keys) if order is None else order
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        del sorted_keys
        sizes = np.diff(np.r_[starts, len(keys)])
        if kind == "exact":
            counts["duplicate_records"] = int(len(keys) - len(starts))
        masks = np.bitwise_or.reduceat(bits[order], starts) if len(keys) else starts
        leaking = (sizes > 1) & (_SPLITS_IN_MASK[masks] > 1)
        if kind == "reverse_complement" and leaking.any():
            # a group of one sequence (no reverse complement in it) is reported as exact
            ordered = exact[order]
            single = np.minimum.reduceat(ordered, starts) == np.maximum.reduceat(ordered, starts)
            leaking &= ~single
            del ordered
        found = np.flatnonzero(leaking)
        found = found[np.argsort(order[starts[found]], kind="stable")]  # by their first row
        for group in found.tolist():
            start, size = int(starts[group]), int(sizes[group])
            splits = ",".join(name for s, name in enumerate(SPLIT_NAMES) if masks[group] >> s & 1)
            rows.append((kind, splits, size, order[start : start + min(size, SHOWN_IDS)]))
        counts[f"{kind}_groups_across_splits"] = len(found)
    counts["duplicate_records"] = counts.pop("duplicate_records")  # last, as before
    return {"rows": rows, "counts": counts}


def _write_records(path, ids_path, labels, split_codes, lengths, classes) -> None:
    """records.tsv, streamed: the ids come from the temporary ids file, in row order; each
    block of rows is put together field by field by the kernels (no Python code per row)."""
    names = [*classes] if classes else [""]
    with open(ids_path, "rb") as ids, open(path, "wb") as out:
        out.write(b"index\tid\tlabel\tsplit\tlength\n")
        start, carry = 0, b""
        while block := ids.read(1 << 20):
            block = carry + block
            cut = block.rfind(b"\n") + 1  # whole lines (an id is far shorter than a block)
            block, carry = block[:cut], block[cut:]
            text = np.frombuffer(block, dtype=np.uint8)
            breaks = np.flatnonzero(text == ord("\n"))
            stop = start + len(breaks)
            id_sizes = np.diff(breaks, prepend=-1) - 1
            codes = labels[start:stop] if classes else np.zeros(stop - start, dtype=np.int64)
            fields = [
                _packed(*kernels.decimal(np.arange(start, stop))),
                (text, breaks - id_sizes, id_sizes),
                _named(codes, names),
                _named(split_codes[start:stop], SPLIT_NAMES),
                _packed(*kernels.decimal(lengths[start:stop])),
            ]
            out.write(kernels.tsv_rows(fields)[0])
            start = stop


def _packed(data: np.ndarray, sizes: np.ndarray) -> tuple:
    """A field whose rows' bytes lie one after the other: (data, starts, sizes)."""
    return data, np.cumsum(sizes) - sizes, sizes


def _named(codes: np.ndarray, names) -> tuple:
    """Names by index, as UTF-8 text: (all names' bytes, each row's start and size there)."""
    encoded = [name.encode() for name in names]
    sizes = np.array([len(name) for name in encoded], dtype=np.int64)
    data = np.frombuffer(b"".join(encoded) or b"\0", dtype=np.uint8)
    return data, (np.cumsum(sizes) - sizes)[codes], sizes[codes]


def _write_leakage(path, rows, ids_path) -> None:
    wanted = np.concatenate([members for *_, members in rows]) if rows else np.zeros(0, int)
    with open(ids_path) as handle:
        ids = _lines_at(handle, wanted, lambda line: line.rstrip("\n"))
    with open(path, "w") as out:
        out.write("kind\tsplits\trecords\tids\n")
        for kind, splits, size, members in rows:
            shown = [ids[int(m)] for m in members]
            out.write(f"{kind}\t{splits}\t{size}\t{json.dumps(shown)}\n")
