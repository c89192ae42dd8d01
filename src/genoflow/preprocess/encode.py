"""Encoding: the ingested table read in blocks and turned into uint8 token rows (padded, trimmed or
tiled), labels, targets and the hashes that the split and the leakage check use; memory bounded
by a block and the longest record."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genoflow import kernels
from genoflow.alphabets import Alphabet
from genoflow.errors import InputError
from genoflow.preprocess.tiling import next_base_windows, tile_starts
from genoflow.progress import Progress
from genoflow.registry import NO_LABEL, NO_SPLIT, SPLIT_NAMES, UNLABELLED

TRIM_POLICIES = ("right", "left", "center", "error")


CHUNK_BYTES = 1 << 24  # token rows written at a time: at most this many bytes


CHUNK_ROWS = 1 << 16  # ... and this many rows


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


class Rows:
    """Rows on their way out: tokens to tokens.npy with plain writes (no memory map, so the
    rows written never count towards this process's memory), ids to a temporary file, and
    lengths and hashes gathered in lists, copied to the arrays a chunk at a time."""

    def __init__(
        self,
        path: Path,
        ids: Path,
        encoded: _Encoded,
        n_rows: int,
        width: int,
        residues: Path,
        per_residue: bool,
        complement: bytes | None,
    ) -> None:
        self.handle = _open_rows(path, n_rows, width)
        self.complement = complement  # (DNA, RNA) Alphabet.complement_tokens, else None
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
        self,
        tokens: bytes,
        row_id: str,
        exact: int,
        start: int = 0,
        label: int = 0,
        residues: bytes = b"",
    ) -> None:
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
            self.tokens,
            self.residues,
            self.names,
            self.lengths,
            self.starts,
            self.labels,
        ):
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


@dataclass(frozen=True)
class Layout:
    """What the encoding of one table needs to know: the rows it writes (`n_rows` of `width`,
    trimmed by `trim`, or windows of `tile`), and how labels, splits and targets are read."""

    table: Path  # sequences.tsv
    alphabet: Alphabet
    n_records: int  # rows of the table (summary.json)
    n_rows: int  # rows of tokens.npy: records, or windows with tiling
    width: int
    trim: str
    tile: tuple[int, int] | None  # (width, stride)
    next_base: bool  # windows labelled with the letter after them
    split: str  # the split method (a given split needs a split per record)
    classes: list[str]
    targets: list[str]  # regression or multilabel columns, else empty
    per_residue: bool  # a label per residue (token classification)


def encode_records(layout: Layout, tmp: dict[str, Path]) -> _Encoded:
    """One streaming pass over sequences.tsv: token rows to tokens.npy, ids to a temporary
    file, and the small per-record and per-row arrays."""
    table, alphabet, n_records, n_rows = (
        layout.table,
        layout.alphabet,
        layout.n_records,
        layout.n_rows,
    )
    width, trim, tile, next_base = layout.width, layout.trim, layout.tile, layout.next_base
    split, classes, targets, per_residue = (
        layout.split,
        layout.classes,
        layout.targets,
        layout.per_residue,
    )
    class_index = {name.encode(): i for i, name in enumerate(classes)}
    split_index = {name.encode(): code for code, name in enumerate(SPLIT_NAMES)}
    to_tokens = _token_table(alphabet)
    encoded = _Encoded(n_records, n_rows, len(targets), tile is not None)
    complement = alphabet.complement_tokens() if alphabet.name in ("dna", "rna") else None
    rows = Rows(
        tmp["tokens"],
        tmp["ids"],
        encoded,
        n_rows,
        width,
        tmp["residue_labels"],
        per_residue,
        complement,
    )
    residue_index = {**class_index, UNLABELLED.encode(): NO_LABEL}
    progress = Progress("encode", total_bytes=Path(table).stat().st_size)
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
                    encoded.record_hash[i - 1] = add_next_base_windows(
                        rows, record_id, seq, tile, alphabet, to_tokens
                    )
                elif tile is not None:
                    encoded.record_hash[i - 1] = add_windows(rows, record_id, seq, tile, to_tokens)
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
                    rows.add(
                        seq.translate(to_tokens), record_id, sequence_hash(seq), residues=residues
                    )
                if len(given) == 1 << 16:
                    done = _copy_records(encoded, done, labels, given, values)
                progress.add(1, len(line))
        _copy_records(encoded, done, labels, given, values)
        return i

    try:
        if tile is None and not per_residue:  # one row per record: whole blocks of rows at once
            i = _encode_blocks(layout, rows, encoded, to_tokens, progress)
        else:
            i = record_by_record()
    except BaseException:
        rows.close(complete=False)
        raise
    rows.close()
    progress.close()
    if i != n_records or rows.written != n_rows:
        raise InputError(table, f"{i} rows, but summary.json says {n_records}")
    return encoded


TABLE_BLOCK = 1 << 22  # bytes of sequences.tsv read at a time (whole rows: more, for longer)


def _encode_blocks(
    layout: Layout, rows: Rows, encoded: _Encoded, to_tokens: bytes, progress: Progress
) -> int:
    """encode_records without tiling or labels per residue, a block of table rows at a time: rows
    split into fields by the kernels, checked and trimmed with numpy, and encoded, padded and
    hashed by the kernels (no Python work per row). Returns the number of rows."""
    done = 0
    with open(layout.table, "rb") as handle:
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
                layout, block, cut, n_fields, expected, done, rows, encoded, to_tokens
            )
            expected = max(1024, done - before + (done - before) // 4)
            progress.add(done - before, cut)
            if not chunk and not carry:
                break
    return done


def _encode_block(
    layout: Layout,
    block: bytes,
    size: int,
    n_fields: int,
    expected: int,
    done: int,
    rows: Rows,
    encoded: _Encoded,
    to_tokens: bytes,
) -> int:
    """The table rows in block[:size] (whole lines); `expected`: about how many."""
    table, n_records, width, trim = layout.table, layout.n_records, layout.width, layout.trim
    split, classes, targets = layout.split, layout.classes, layout.targets
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
        _raise_row_problem(
            table,
            done + problem + 1,
            head,
            int(sizes[problem]),
            n_records,
            width,
            classes,
            labels,
            split,
        )
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
            kernels.encode_rows(block, starts[span], ends[span], to_tokens, width),
            ids[span],
            sizes[span],
            kernels.blake2b64(block, starts[span], ends[span]),
        )
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


def standardise(
    values: np.ndarray, split_codes: np.ndarray, binary: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Per-target mean and std over the training split only (std 0 becomes 1); 0/1 labels
    (`binary`, multilabel) stay as they are."""
    train = values[split_codes == 0]
    if binary or not values.shape[1] or not len(train):
        return np.zeros(values.shape[1]), np.ones(values.shape[1])
    std = train.std(axis=0)
    return train.mean(axis=0), np.where(std > 0, std, 1.0)


def sequence_hash(sequence: bytes | memoryview) -> int:
    """A sequence's 64-bit BLAKE2b digest: drawn splits order identical-sequence groups by it,
    so it stays as it is (another hash would draw other splits from the same seed)."""
    return int.from_bytes(hashlib.blake2b(sequence, digest_size=8).digest(), "little")


def trim_to(sequence: bytes, width: int, policy: str) -> bytes:
    if policy == "right":
        return sequence[:width]
    if policy == "left":
        return sequence[-width:]
    start = (len(sequence) - width) // 2
    return sequence[start : start + width]


def add_windows(rows: Rows, record_id, seq, tile, to_tokens) -> int:
    """The rows of one record with tiling: its windows (or itself, if no wider than a
    window). Returns the hash of the whole record."""
    width, stride = tile
    length = len(seq)
    if length <= width:
        exact = sequence_hash(seq)
        rows.add(seq.translate(to_tokens), record_id, exact)
        return exact
    for start in tile_starts(length, width, stride).tolist():
        window = seq[start : start + width]  # one window at a time: memory is the record's
        rows.add(
            window.translate(to_tokens),
            f"{record_id}:{start + 1}-{start + width}",
            sequence_hash(window),
            start,
        )
    return sequence_hash(seq)


def add_next_base_windows(rows: Rows, record_id, seq, tile, alphabet, to_tokens):
    """The next-base rows of one record: each window, labelled with the letter after it
    (class index = token - 1). Returns the hash of the whole record."""
    tokens = alphabet.encode_table()
    starts, ends = next_base_windows(seq, *tile, tokens, len(alphabet.letters))
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        window = seq[start:end]
        rows.add(
            window.translate(to_tokens),
            f"{record_id}:{start + 1}-{end}",
            sequence_hash(window),
            start,
            int(tokens[seq[end]]) - 1,
        )
    return sequence_hash(seq)
