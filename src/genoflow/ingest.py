"""Ingest: FASTA files + labels -> one validated, normalised table and an ingest summary.

Inputs: FASTA files, BED regions of a reference, or CSV files of residues with one label per
residue (token classification, e.g. secondary structure).

Outputs (in `out_dir`):
  sequences.tsv   id, label, split, source, sequence (upper case, one record per line); with
                  per-residue labels the label field holds one label per residue, separated by
                  spaces, `.` for a residue without a label (masked)
  rejected.tsv    records left out under a lenient policy, with the reason
  summary.json    counts, classes, lengths, letters, duplicates, inputs with sha256
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import hashlib
import heapq
import json
import operator
import os
import re
import threading
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genoflow import kernels
from genoflow.alphabets import get_alphabet
from genoflow.errors import InputError
from genoflow.fasta import FastaBatch, FastaRecord, read_fasta, read_fasta_batches
from genoflow.io import UNLABELLED, atomic_path, sha256sum
from genoflow.regions import Reference, region_records

AMBIGUOUS_POLICIES = ("encode", "skip_record", "error")
INVALID_POLICIES = ("error", "skip_record")
DUPLICATE_POLICIES = ("error", "drop_identical")
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class FastaInput:
    """One FASTA file, with the label and split that all its records share (if given)."""

    path: Path
    label: str | None = None
    split: str | None = None

    def records(self) -> Iterator[tuple[FastaRecord, str | None, str | None]]:
        """(record, label or None, split or None) per record: the file's own label and split."""
        for record in read_fasta(self.path):
            yield record, self.label, self.split

    def batches(self) -> Iterator[tuple[FastaBatch, list, list]]:
        """(batch of records, their labels, their splits): the file's own label and split."""
        for batch in read_fasta_batches(self.path):
            yield batch, [self.label] * len(batch), [self.split] * len(batch)


@dataclass(frozen=True)
class RegionInput:
    """Regions of a reference genome given by a BED file (see genoflow.regions): each region
    is a record; its label comes from a BED column (`label_column`, 1-based) or from another
    label source, and its split from its chromosome when `chromosome_split` is given
    (chromosome -> split; chromosomes not listed are train)."""

    path: Path  # the BED file
    reference: Path
    resize: int | None = None
    label_column: int | None = None
    chromosome_split: dict[str, str] | None = None

    def records(self) -> Iterator[tuple[FastaRecord, str | None, str | None]]:
        reference = Reference(self.reference)
        try:
            regions = region_records(
                self.path, reference, resize=self.resize, label_column=self.label_column
            )
            for record, region in regions:
                split = None
                if self.chromosome_split is not None:
                    split = self.chromosome_split.get(region.chrom, "train")
                yield record, region.label, split
        finally:
            reference.close()


@dataclass(frozen=True)
class ResidueCsvInput:
    """A CSV of sequences with one label per residue (the NetSurfP / TAPE secondary-structure
    format): a header row, then one sequence per row, its residues and labels as tokens
    separated by spaces. Each row is a record with the id `<file stem>|<row>` (0-based), as in
    the FASTA files that come with those CSVs. Residues where a `mask_columns` value is 0 keep
    their letter but lose their label (`.`). Every record has the file's split, if given."""

    path: Path
    split: str | None = None
    sequence_column: str = "input"
    label_column: str = "dssp3"
    mask_columns: tuple[str, ...] = ()

    def records(self) -> Iterator[tuple[FastaRecord, str | None, str | None]]:
        if not self.path.is_file():
            raise InputError(self.path, "file not found")
        with open(self.path, newline="", encoding="utf-8-sig") as handle:
            rows = csv.reader(handle, skipinitialspace=True)
            header = [name.strip() for name in next(rows, [])]
            wanted = [self.sequence_column, self.label_column, *self.mask_columns]
            missing = [name for name in wanted if name not in header]
            if missing:
                raise InputError(self.path, f"missing column(s) {missing}; found {header}", line=1)
            where = [header.index(name) for name in wanted]
            for number, row in enumerate(rows):
                line = rows.line_num
                if not any(cell.strip() for cell in row):
                    continue
                record_id = f"{self.path.stem}|{number}"
                if len(row) != len(header):
                    raise InputError(
                        self.path, f"{len(row)} fields but {len(header)} columns",
                        line=line, record=record_id,
                    )  # fmt: skip
                residues, labels, *masks = (row[i].split() for i in where)
                for name, tokens in zip(wanted[1:], [labels, *masks], strict=True):
                    if len(tokens) != len(residues):
                        raise InputError(
                            self.path,
                            f"{len(residues)} residues but {len(tokens)} tokens in column"
                            f" {name!r}",
                            line=line, record=record_id,
                        )  # fmt: skip
                if UNLABELLED in labels:
                    problem = f"label {UNLABELLED!r} is reserved for masked residues"
                    raise InputError(self.path, problem, line=line, record=record_id)
                for name, mask in zip(self.mask_columns, masks, strict=True):
                    labels = [_masked(label, m, self.path, name, line, record_id)
                              for label, m in zip(labels, mask, strict=True)]  # fmt: skip
                record = FastaRecord(record_id, record_id, "".join(residues).encode(), line)
                yield record, " ".join(labels), self.split


def _masked(label: str, mask: str, path: Path, column: str, line: int, record_id: str) -> str:
    try:
        keep = float(mask)
    except ValueError:
        keep = float("nan")
    if keep not in (0.0, 1.0):
        problem = f"mask column {column!r} holds {mask!r}; expected 0 or 1"
        raise InputError(path, problem, line=line, record=record_id)
    return label if keep else UNLABELLED


def read_sample_sheet(path: str | Path) -> list[FastaInput]:
    """Read a sample sheet: TSV with columns `path`, `label` and optionally `split`.

    Relative paths are relative to the sample sheet's own folder, so a data folder can move.
    """
    path = Path(path)
    rows = _read_tsv(path, required=("path", "label"), optional=("split",))
    inputs = []
    for line, row in rows:
        fasta = Path(row["path"])
        if not fasta.is_absolute():
            fasta = path.parent / fasta
        if not fasta.is_file():
            raise InputError(path, f"FASTA file {row['path']!r} not found ({fasta})", line=line)
        if not row["label"]:
            raise InputError(path, "empty label", line=line)
        split = _check_split(path, line, row.get("split"))
        inputs.append(FastaInput(fasta, row["label"], split))
    if not inputs:
        raise InputError(path, "sample sheet lists no FASTA files")
    return inputs


def read_label_table(path: str | Path) -> dict[str, tuple[str, str | None]]:
    """Read a TSV of record id -> label (columns `id`, `label`, optional `split`)."""
    path = Path(path)
    labels: dict[str, tuple[str, str | None]] = {}
    for line, row in _read_tsv(path, required=("id", "label"), optional=("split",)):
        if row["id"] in labels:
            raise InputError(path, f"id {row['id']!r} appears twice", line=line)
        if not row["label"]:
            raise InputError(path, f"empty label for id {row['id']!r}", line=line)
        labels[row["id"]] = (row["label"], _check_split(path, line, row.get("split")))
    return labels


def read_values_table(
    path: str | Path, binary: bool = False
) -> tuple[list[str], dict[str, tuple[str, str | None]]]:
    """Read a TSV of record id -> real-valued targets: column `id`, optional `split`, and
    one numeric column per target (`binary`: 0 or 1, one column per label of a multilabel
    task). Returns (target names, id -> (tab-joined values, split))."""
    path = Path(path)
    rows = _read_tsv(path, required=("id",), optional=("split",), rest=True)
    targets = [c for c in rows[0][1] if c not in ("id", "split")] if rows else []
    if not targets:
        raise InputError(path, "no target columns besides id (and split)")
    values: dict[str, tuple[str, str | None]] = {}
    for line, row in rows:
        if row["id"] in values:
            raise InputError(path, f"id {row['id']!r} appears twice", line=line)
        for target in targets:
            try:
                number = float(row[target])
            except ValueError:
                number = float("nan")
            if not np.isfinite(number) or (binary and number not in (0.0, 1.0)):
                raise InputError(
                    path,
                    f"column {target!r} of id {row['id']!r} is {row[target]!r}, not"
                    + (" 0 or 1 (multilabel)" if binary else " a finite number"),
                    line=line,
                )
        text = "\t".join(row[t] for t in targets)
        values[row["id"]] = (text, _check_split(path, line, row.get("split")))
    return targets, values


def ingest(
    inputs: list[FastaInput | RegionInput | ResidueCsvInput],
    out_dir: str | Path,
    *,
    alphabet: str,
    label_pattern: str | None = None,
    label_table: str | Path | None = None,
    values_table: str | Path | None = None,
    ambiguous: str = "encode",
    invalid: str = "error",
    duplicate_ids: str = "error",
    labelled: bool = True,
    multilabel: bool = False,
    threads: int = 1,
) -> dict:
    """Validate and normalise all records; write the table and summary; return the summary.

    Labels come from the inputs' sample-sheet label, a header pattern or a label table
    (classification), from a values table of real-valued targets (regression; with
    `multilabel`, 0/1 columns, one per label), or per residue from CSV inputs. The table
    written has one label column per target (or `label`) between `id` and `split`. With
    `labelled` False the records need no label (the label column stays empty): for tiling with
    next-base labels, which come from the sequence itself.

    Memory is bounded by a batch of records (or one record longer than a batch), plus 33 bytes
    per record kept: a 64-bit hash of its id, its header line, its length, where its row starts
    in the table and two flags. Repeated ids are found at the end from the hashes; only rows
    whose id hash repeats are read back to compare their ids and contents, so a hash collision
    alone is never reported. Rows dropped as identical repeats are then left out of the table
    in one more streaming pass. (A label or values table is held in memory, as read.)

    With `threads` > 1, the input files' checksums are taken on a thread of their own while
    the records are read, and letters are counted on `threads` threads.
    """
    if threads < 1:
        raise InputError(None, f"threads={threads}: at least 1, please")
    _check_choice("ambiguous", ambiguous, AMBIGUOUS_POLICIES)
    _check_choice("invalid", invalid, INVALID_POLICIES)
    _check_choice("duplicate_ids", duplicate_ids, DUPLICATE_POLICIES)
    alpha = get_alphabet(alphabet)
    pattern = re.compile(label_pattern) if label_pattern else None
    if pattern is not None and pattern.groups < 1:
        raise InputError(None, f"label pattern {label_pattern!r} needs one capture group")
    table = read_label_table(label_table) if label_table else None
    targets = None
    if values_table:
        targets, table = read_values_table(values_table, binary=multilabel)
        label_table = values_table
    elif multilabel:
        raise InputError(None, "multilabel needs a values table of 0/1 columns, one per label")
    residues = [isinstance(source, ResidueCsvInput) for source in inputs]
    if any(residues) and not all(residues):
        raise InputError(None, "CSV inputs with per-residue labels cannot mix with FASTA or BED")
    per_residue = bool(inputs) and all(residues)
    label_columns = targets or ["label"]
    out_dir = Path(out_dir)
    inputs = list(inputs)
    matched: set[str] = set()  # label table ids that a record used

    with contextlib.ExitStack() as stack:  # moved into place in reverse: summary.json last
        checksum = _checksums(inputs, threads > 1, stack)
        stack.enter_context(kernels.threads(threads))
        summary_tmp = stack.enter_context(atomic_path(out_dir / "summary.json"))
        rejected_tmp = stack.enter_context(atomic_path(out_dir / "rejected.tsv"))
        table_tmp = stack.enter_context(atomic_path(out_dir / "sequences.tsv"))
        with open(table_tmp, "wb") as out, open(rejected_tmp, "w", newline="") as rejected:
            out.write("\t".join(["id", *label_columns, "split", "source", "sequence"]).encode())
            out.write(b"\n")
            counting = "residues" if per_residue else "records"
            kept = _Records(
                alpha, ambiguous, invalid, out, rejected,
                counting if labelled and targets is None else None,
            )  # fmt: skip
            for number, source in enumerate(inputs):
                kept.start_file(number, source)
                batches = source.batches() if isinstance(source, FastaInput) else _batched(source)
                # A source yields the records before a bad one, then raises: a problem in an
                # earlier record (found by add_batch) comes first.
                for batch, own_labels, own_splits in batches:
                    if alphabet == "protein" and not per_residue:
                        batch = _without_stop_marks(batch)
                    error = None
                    if labelled:
                        labels, splits, error = _labels_of(
                            batch, source, own_labels, own_splits, pattern, table, matched
                        )
                        if error is not None:
                            batch = batch.head(len(labels))
                    else:
                        labels, splits = [""] * len(batch), own_splits
                    kept.add_batch(batch, labels, splits)
                    if error is not None:
                        raise error
        repeats = _repeated_ids(kept, inputs, table_tmp, duplicate_ids)
        if table is not None:
            unmatched = sorted(table.keys() - matched)
            if unmatched:
                shown = ", ".join(unmatched[:5]) + (" ..." if len(unmatched) > 5 else "")
                raise InputError(
                    label_table, f"{len(unmatched)} label id(s) match no FASTA record: {shown}"
                )
        if not kept.lengths:
            raise InputError(inputs[0].path, "no usable records (all were rejected)")
        if len(repeats[0]):
            _drop_repeats(kept, inputs, table_tmp, rejected_tmp, *repeats)
        summary = kept.summary(repeats[0], targets, inputs, checksum)
        if not labelled:
            summary["task"] = "unlabelled"
        elif per_residue:
            summary["task"] = "token_classification"
        elif multilabel:
            summary["task"] = "multilabel"
        summary["label_source"] = _label_source(inputs, label_pattern, label_table, labelled)
        summary_tmp.write_text(json.dumps(summary, indent=2) + "\n")
    return summary


BATCH_BYTES = 1 << 22  # sequence bytes of BED or CSV records checked at once
BATCH_RECORDS = 1 << 14
LOWERCASE, AMBIGUOUS, INVALID = 1, 2, 4  # per-record flags (INVALID: not in the alphabet)


def _id_hashes(text: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """64-bit hashes of the ids text[starts[i]:][:sizes[i]] (UTF-8), to find repeated ids:
    equal ids hash alike; equal hashes are only candidates, confirmed by comparing the ids."""
    return kernels.blake2b64(text, starts, starts + sizes)


def _batched(source) -> Iterator[tuple[FastaBatch, list, list]]:
    """The records of a BED or CSV input in batches (labels and splits alongside); a record
    that fails is raised after the batch of those before it."""
    group: list[tuple[FastaRecord, str | None, str | None]] = []
    size = 0
    try:
        for item in source.records():
            group.append(item)
            size += len(item[0].sequence)
            if len(group) >= BATCH_RECORDS or size >= BATCH_BYTES:
                yield _batch_of(group)
                group, size = [], 0
    except InputError:
        if group:
            yield _batch_of(group)
        raise
    if group:
        yield _batch_of(group)


def _batch_of(group: list[tuple[FastaRecord, str | None, str | None]]) -> tuple:
    records = [record for record, _, _ in group]
    lengths = np.fromiter((len(r.sequence) for r in records), dtype=np.int64, count=len(records))
    batch = FastaBatch(
        [r.id for r in records], [r.description for r in records],
        np.array([r.line for r in records], dtype=np.int64),
        b"".join(r.sequence for r in records), np.cumsum(lengths),
    )  # fmt: skip
    return batch, [label for _, label, _ in group], [split for _, _, split in group]


def _without_stop_marks(batch: FastaBatch) -> FastaBatch:
    """Protein records lose a final '*' (a stop codon mark, not a residue)."""
    ends = batch.ends
    data = np.frombuffer(batch.sequences, dtype=np.uint8)
    marked = ends > batch.starts
    marked[marked] = data[ends[marked] - 1] == ord("*")
    if not marked.any():
        return batch
    keep = np.ones(len(data), dtype=bool)
    keep[ends[marked] - 1] = False
    return FastaBatch(
        batch.ids, batch.descriptions, batch.lines, data[keep].tobytes(),
        ends - np.cumsum(marked),
    )  # fmt: skip


_GROUP_1 = operator.itemgetter(1)


def _labels_of(
    batch: FastaBatch, source, own_labels: list, own_splits: list, pattern, table, matched
) -> tuple[list, list, InputError | None]:
    """(labels, splits, error) of a batch's records, as _label_of gives them, up to the first
    record that has none (its error is returned, and the lists stop before it)."""
    ids = batch.ids
    if table is not None:
        entries = list(map(table.get, ids))
        good = entries if None not in entries else entries[: entries.index(None)]
        labels = [entry[0] for entry in good]
        splits = [own or entry[1] for own, entry in zip(own_splits, good, strict=False)]
        matched.update(ids[: len(good)])
    elif pattern is not None:
        matches = list(map(pattern.search, batch.descriptions))
        try:
            found = list(map(_GROUP_1, matches))  # (C loops: no Python code per record)
        except TypeError:  # a header that does not match
            found = [m[1] if m else None for m in matches]
        first_bad = len(found)
        if None in found or "" in found:
            first_bad = next(i for i, label in enumerate(found) if not label)
        labels, splits = found[:first_bad], own_splits[:first_bad]
    else:
        first_bad = own_labels.index(None) if None in own_labels else len(ids)
        labels, splits = own_labels[:first_bad], own_splits[:first_bad]
    if len(labels) == len(ids):
        return labels, splits, None
    k = len(labels)
    record = FastaRecord(ids[k], batch.descriptions[k], b"", int(batch.lines[k]))
    try:
        _label_of(record, source, own_labels[k], own_splits[k], pattern, table, matched)
    except InputError as error:
        return labels, splits, error
    raise AssertionError("a record without a label got one")  # pragma: no cover


class _Records:
    """The records kept so far (33 bytes each), the summary's counts, and rejected.tsv as it
    is written."""

    def __init__(
        self, alpha, ambiguous: str, invalid: str, out, rejected, classes: str | None
    ) -> None:
        self.alpha, self.ambiguous, self.invalid, self.out = alpha, ambiguous, invalid, out
        # Class counts: of "records", of labelled "residues" (a label per residue), or None
        # (regression and multilabel labels are values, not classes).
        self.count_classes = classes
        self.lookup, self.n_letters = alpha.encode_table(), len(alpha.letters)
        # byte -> LOWERCASE | AMBIGUOUS | INVALID, applied with bytes.translate (C speed)
        kinds = np.where(self.lookup == 255, INVALID, 0)
        kinds |= np.where((self.lookup > self.n_letters) & (self.lookup != 255), AMBIGUOUS, 0)
        kinds[ord("a") :] |= LOWERCASE
        self.kinds = kinds.astype(np.uint8).tobytes()
        self.flagged = kinds != 0  # the bytes with a kind
        self.rejecting = INVALID | (AMBIGUOUS if ambiguous != "encode" else 0)
        self.id_hashes = array("q")  # one entry per row of the table, in order
        self.lines = array("q")  # the header's line in its FASTA file
        self.lengths = array("q")
        self.offsets = array("q")  # where the row starts in the table
        self.flags = bytearray()  # LOWERCASE | AMBIGUOUS
        self.position = out.tell()
        self.classes: Counter[str] = Counter()
        self.letters = np.zeros(256, dtype=np.int64)
        self.file_starts: list[int] = []  # first row of each input
        self.rejected = csv.writer(rejected, delimiter="\t", lineterminator="\n")
        self.rejected.writerow(["file", "line", "id", "reason"])
        self.rejected_inputs = array("I")  # the input of each row of rejected.tsv
        self.reasons: Counter[str] = Counter()

    def start_file(self, number: int, source: FastaInput) -> None:
        self.number, self.source = number, source
        self.source_name = source.path.name
        self.file_starts.append(len(self.lengths))

    def add_batch(self, batch: FastaBatch, labels: list, splits: list) -> None:
        """Check a batch's letters at once, reject (or fail on) bad records, write the rest:
        no Python work per letter, and per record only what a table row needs."""
        n = len(batch)
        if not n:
            return
        ends, starts = batch.ends, batch.starts
        sizes = ends - starts
        letters = kernels.byte_counts(batch.sequences)
        if letters[self.flagged].any():
            kinds = np.frombuffer(batch.sequences.translate(self.kinds), dtype=np.uint8)
            flags = _or_per_record(kinds, starts, sizes)
            del kinds
        else:  # only upper-case unambiguous letters: nothing to flag
            flags = np.zeros(n, dtype=np.uint8)
        problems = np.flatnonzero(flags & self.rejecting).tolist()
        for i in problems:
            start, end = int(starts[i]), int(ends[i])
            self._problem(batch.ids[i], int(batch.lines[i]), batch.sequences[start:end])
        sequences = batch.sequences
        if np.any(flags & LOWERCASE):
            sequences = sequences.upper()
        ids, lines = batch.ids, batch.lines
        if problems:
            keep = np.ones(n, dtype=bool)
            keep[problems] = False
            data = np.frombuffer(sequences, dtype=np.uint8)
            sequences = data[_ranges(starts[keep], ends[keep])].tobytes()
            ids = [ids[i] for i in np.flatnonzero(keep).tolist()]
            labels = [labels[i] for i in np.flatnonzero(keep).tolist()]
            splits = [splits[i] for i in np.flatnonzero(keep).tolist()]
            lines, sizes, flags = lines[keep], sizes[keep], flags[keep]
        if not ids:
            return
        if problems or np.any(flags & LOWERCASE):  # the letters written: recount
            letters = kernels.byte_counts(sequences)
        self.letters += letters
        id_field = _text_field(ids)
        rows, row_sizes = _table_rows(id_field, labels, splits, self.source_name, sequences, sizes)
        self.out.write(rows)
        self.id_hashes.frombytes(_id_hashes(*id_field).tobytes())
        self.lines.frombytes(lines.astype(np.int64).tobytes())
        self.lengths.frombytes(sizes.astype(np.int64).tobytes())
        self.offsets.frombytes((self.position + np.cumsum(row_sizes) - row_sizes).tobytes())
        self.position += int(row_sizes.sum())
        self.flags += (flags & (LOWERCASE | AMBIGUOUS)).astype(np.uint8).tobytes()
        if self.count_classes == "records":
            if labels.count(labels[0]) == len(labels):  # (usual: one label per input file)
                self.classes[labels[0]] += len(labels)
            else:
                self.classes.update(labels)
        elif self.count_classes == "residues":
            for label in labels:
                self.count(label, 1)

    def _problem(self, record_id: str, line: int, sequence: bytes) -> None:
        tokens = self.lookup[np.frombuffer(sequence, dtype=np.uint8)]
        kind, message = _alphabet_problem(
            tokens, sequence, self.alpha.name, self.n_letters, self.ambiguous
        )
        policy = self.invalid if kind == "invalid" else self.ambiguous
        if policy == "error":
            raise InputError(self.source.path, message, line=line, record=record_id)
        self.rejected.writerow([str(self.source.path), line, record_id, message])
        self.rejected_inputs.append(self.number)
        self.reasons[_reason_kind(message)] += 1

    def count(self, label: str, sign: int) -> None:
        """Add (sign 1) or take back (sign -1) a record's label(s) in the class counts."""
        if self.count_classes == "records":
            self.classes[label] += sign
        elif self.count_classes == "residues":
            counts = Counter(label.split())
            counts.pop(UNLABELLED, None)
            self.classes.update({k: sign * n for k, n in counts.items()})

    def input_of(self, row: int) -> int:
        return bisect.bisect_right(self.file_starts, row) - 1

    def summary(self, dropped: np.ndarray, targets, inputs, checksum) -> dict:
        keep = np.ones(len(self.lengths), dtype=bool)
        keep[dropped] = False
        lengths = np.frombuffer(self.lengths, dtype=np.int64)[keep]
        flags = np.frombuffer(self.flags, dtype=np.uint8)[keep]
        kept_before = np.concatenate([[0], np.cumsum(keep)])
        bounds = [*self.file_starts, len(keep)]
        reasons = dict(self.reasons)
        if len(dropped):
            reasons["duplicate id"] = len(dropped)
        return {
            "alphabet": self.alpha.name,
            "records": len(lengths),
            "rejected": sum(reasons.values()),
            "rejected_reasons": reasons,
            "task": "classification" if targets is None else "regression",
            "classes": {} if targets else {k: v for k, v in sorted(self.classes.items()) if v},
            "targets": targets or [],
            "length": {
                "min": int(lengths.min()),
                "max": int(lengths.max()),
                "mean": round(float(lengths.mean()), 2),
                "median": float(np.median(lengths)),
            },
            "letters": {chr(b): int(self.letters[b]) for b in np.flatnonzero(self.letters)},
            "records_with_ambiguity_codes": int(np.count_nonzero(flags & AMBIGUOUS)),
            "records_with_lowercase": int(np.count_nonzero(flags & LOWERCASE)),
            "duplicate_ids_dropped": len(dropped),
            "inputs": [
                {
                    "path": str(source.path),
                    "sha256": checksum(source.path),
                    "records": int(kept_before[bounds[k + 1]] - kept_before[bounds[k]]),
                }
                | (_reference_of(source, checksum) if isinstance(source, RegionInput) else {})
                for k, source in enumerate(inputs)
            ],
        }


def _reference_of(source: RegionInput, checksum) -> dict:
    return {"reference": str(source.reference), "reference_sha256": checksum(source.reference)}


def _checksums(inputs, background: bool, stack: contextlib.ExitStack) -> Callable[[Path], str]:
    """sha256sum of the input files (and references), by path. With `background`, they are all
    taken on a thread of their own from now on, while the records are read (hashlib releases
    the GIL): ~0.7 s per GB off the critical path. If ingest fails, `stack` stops that thread
    at its next MiB."""
    if not background:
        return sha256sum
    from concurrent.futures import ThreadPoolExecutor  # (~15 ms of imports: only when used)

    paths = [source.path for source in inputs]
    paths += [source.reference for source in inputs if isinstance(source, RegionInput)]
    stop = threading.Event()
    pool = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="genoflow-sha256"))
    stack.callback(stop.set)  # (before the pool's exit waits for the thread)
    taken = {path: pool.submit(sha256sum, path, stop=stop) for path in dict.fromkeys(paths)}
    return lambda path: taken[path].result()


def _or_per_record(kinds: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Per record (given by starts and sizes in `kinds`): the OR of its bytes' kind bits."""
    flags = np.zeros(len(sizes), dtype=np.uint8)
    filled = sizes > 0
    if filled.any() and kinds.any():
        flags[filled] = np.bitwise_or.reduceat(kinds, starts[filled])
    return flags


def _ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The positions [starts[i], ends[i]) of all ranges, concatenated."""
    sizes = ends - starts
    shift = np.repeat(starts - (np.cumsum(sizes) - sizes), sizes)
    return shift + np.arange(int(sizes.sum()), dtype=np.int64)


def _table_rows(id_field, labels, splits, source: str, sequences: bytes, sizes: np.ndarray):
    """The rows `id, label(s), split, source, sequence` of a batch as one bytes object, and
    each row's size: each field from one join of its values (the ids: as _text_field gives
    them), copied into place by the kernels (no Python work per row)."""
    if splits.count(None) == len(splits):  # (usual: no split given)
        splits = [""] * len(splits)
    elif None in splits:
        splits = [split or "" for split in splits]
    letters = np.frombuffer(sequences, dtype=np.uint8)
    fields = [
        id_field,
        _text_field(labels),
        _text_field(splits),
        _text_field([source] * len(sizes)),
        (letters, np.cumsum(sizes) - sizes, sizes),
    ]
    return kernels.tsv_rows(fields)


def _text_field(values: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A table field of strings as (UTF-8 data, each row's start and size); one copy of a
    value that every row shares."""
    n = len(values)
    shared = n and values.count(values[0]) == n  # (usual for labels, splits and sources)
    text = values[0] + "\n" if shared else "\n".join(values) + "\n"
    data = np.frombuffer(text.encode(), dtype=np.uint8)
    breaks = np.flatnonzero(data == ord("\n"))
    if len(breaks) != (1 if shared else n):  # a line break in a value (a label: ids and
        raise InputError(None, "a label holds a line break")  # splits have none)
    if shared:
        return data, np.zeros(n, dtype=np.int64), np.full(n, len(data) - 1, dtype=np.int64)
    sizes = np.diff(breaks, prepend=-1) - 1
    return data, breaks - sizes, sizes


def _read_row(handle, offset: int, n_labels: int) -> tuple[str, bytes, bytes]:
    """(id, label field(s), sequence) of the table row at `offset`."""
    handle.seek(offset)
    fields = handle.readline().rstrip(b"\n").split(b"\t")
    return fields[0].decode(), b"\t".join(fields[1 : 1 + n_labels]), fields[-1]


def _repeated_ids(kept: _Records, inputs, table: Path, policy: str):
    """Rows to drop as identical repeats, and the row each repeats; raises for the first
    repeat (in input order) that the policy does not allow.

    Rows whose 64-bit id hashes are equal are read back, a group at a time, and compared by
    their real ids and a digest of label(s) and sequence.
    """
    hashes = np.frombuffer(kept.id_hashes, dtype=np.int64)
    none = np.zeros(0, dtype=np.int64)
    if len(hashes) < 2:
        return none, none
    order = kernels.argsort_hashes(hashes)
    ordered = hashes[order]
    equal = np.flatnonzero(ordered[1:] == ordered[:-1])
    if not len(equal):
        return none, none
    group_starts = equal[np.r_[True, equal[1:] != equal[:-1] + 1]]  # runs of equal hashes
    n_labels = len(_table_header(table)) - 4
    drop, first_of = array("q"), array("q")
    problem = None  # (row, first row, identical, id) of the earliest repeat not allowed
    with open(table, "rb") as handle:
        for start in group_starts.tolist():
            stop = start + 1
            while stop < len(ordered) and ordered[stop] == ordered[start]:
                stop += 1
            first: dict[str, tuple[int, bytes]] = {}
            for row in sorted(order[start:stop].tolist()):
                record_id, labels, sequence = _read_row(handle, kept.offsets[row], n_labels)
                digest = hashlib.blake2b(labels + b"\t" + sequence, digest_size=16).digest()
                if record_id not in first:
                    first[record_id] = (row, digest)
                    continue
                first_row, first_digest = first[record_id]
                identical = digest == first_digest
                if policy == "drop_identical" and identical:
                    drop.append(row)
                    first_of.append(first_row)
                elif problem is None or row < problem[0]:
                    problem = (row, first_row, identical, record_id)
    if problem is not None:
        row, first_row, identical, record_id = problem
        first = f"{inputs[kept.input_of(first_row)].path}:{kept.lines[first_row]}"
        detail = "" if identical else " (different content)"
        raise InputError(
            inputs[kept.input_of(row)].path,
            f"duplicate id{detail}, first seen at {first}",
            line=kept.lines[row],
            record=record_id,
        )
    rows, firsts = np.frombuffer(drop, dtype=np.int64), np.frombuffer(first_of, dtype=np.int64)
    order = np.argsort(rows)
    return rows[order], firsts[order]


def _table_header(table: Path) -> list[bytes]:
    with open(table, "rb") as handle:
        return handle.readline().rstrip(b"\n").split(b"\t")


def _drop_repeats(kept: _Records, inputs, table: Path, rejected: Path, rows, firsts) -> None:
    """Leave the dropped rows out of the table (one streaming pass), take them out of the
    counts, and list them in rejected.tsv in input order, among the other rejected records."""
    dropped_rows = table.with_name(table.name + ".dropped")
    filtered = table.with_name(table.name + ".filtered")
    try:
        with (
            open(table, "rb") as source,
            open(filtered, "wb") as out,
            open(dropped_rows, "w", newline="") as listing,
        ):
            writer = csv.writer(listing, delimiter="\t", lineterminator="\n")
            out.write(source.readline())
            next_drop, k = int(rows[0]), 0
            for row, line in enumerate(source):
                if row != next_drop:
                    out.write(line)
                    continue
                fields = line.rstrip(b"\n").split(b"\t")
                kept.count(fields[1].decode(), -1)
                kept.letters -= kernels.byte_counts(fields[-1])
                first = int(firsts[k])
                where = f"{inputs[kept.input_of(first)].path}:{kept.lines[first]}"
                writer.writerow(
                    [
                        str(inputs[kept.input_of(row)].path),
                        kept.lines[row],
                        fields[0].decode(),
                        f"duplicate id, identical to the record at {where}",
                    ]
                )
                k += 1
                next_drop = int(rows[k]) if k < len(rows) else -1
        os.replace(filtered, table)
        _merge_rejected(rejected, kept, dropped_rows, [kept.input_of(int(r)) for r in rows])
    finally:
        filtered.unlink(missing_ok=True)
        dropped_rows.unlink(missing_ok=True)


def _merge_rejected(rejected: Path, kept: _Records, dropped: Path, dropped_inputs) -> None:
    """rejected.tsv with the dropped repeats merged in, ordered by input and line."""
    merged = rejected.with_name(rejected.name + ".merged")
    try:
        with (
            open(rejected, newline="") as first,
            open(dropped, newline="") as second,
            open(merged, "w", newline="") as out,
        ):
            writer = csv.writer(out, delimiter="\t", lineterminator="\n")
            reader = csv.reader(first, delimiter="\t")
            writer.writerow(next(reader))
            earlier = zip(kept.rejected_inputs, reader, strict=True)
            later = zip(dropped_inputs, csv.reader(second, delimiter="\t"), strict=True)
            for _, row in heapq.merge(earlier, later, key=lambda item: (item[0], int(item[1][1]))):
                writer.writerow(row)
        os.replace(merged, rejected)
    finally:
        merged.unlink(missing_ok=True)


def _label_of(
    record, source, own_label, own_split, pattern, table, matched: set[str]
) -> tuple[str, str | None]:
    """(label, split) of a record: from the label table, the header pattern, or the input's
    own label (a sample sheet's, a BED column's); the input's own split (a sample sheet's, a
    chromosome's) comes before a table's."""
    where = dict(line=record.line, record=record.id)
    if table is not None:
        entry = table.get(record.id)
        if entry is None:
            raise InputError(source.path, "no label for this record in the label table", **where)
        matched.add(record.id)
        return entry[0], own_split or entry[1]
    if pattern is not None:
        match = pattern.search(record.description)
        if not match or not match.group(1):
            raise InputError(
                source.path,
                f"header {record.description!r} does not match label pattern {pattern.pattern!r}",
                **where,
            )
        return match.group(1), own_split
    if own_label is None:
        raise InputError(source.path, "no label source: give a sample sheet, pattern or table")
    return own_label, own_split


def _alphabet_problem(
    tokens: np.ndarray, sequence: bytes, alphabet: str, n_letters: int, ambiguous: str
) -> tuple[str, str] | None:
    """('invalid' | 'ambiguous', message) for the first offending letter, or None."""
    checks = [("invalid", tokens == 255, "character", f"is not in the {alphabet} alphabet")]
    if ambiguous != "encode":
        policy = f"is not allowed (ambiguous={ambiguous})"
        checks.append(("ambiguous", tokens > n_letters, "ambiguity code", policy))
    for kind, mask, what, problem in checks:
        found = np.flatnonzero(mask)
        if found.size:
            char, position = chr(sequence[found[0]]), int(found[0]) + 1
            return kind, (
                f"{what} {char!r} at position {position} {problem}"
                f" ({found.size} such character(s) in this record)"
            )
    return None


def _reason_kind(reason: str) -> str:
    for kind in ("duplicate id", "ambiguity code", "character"):
        if reason.startswith(kind):
            return {"character": "invalid character"}.get(kind, kind)
    return "other"


def _label_source(inputs, label_pattern, label_table, labelled: bool = True) -> dict:
    if not labelled:
        return {"none": "labels come from the sequences (next_base)"}
    if label_table:
        return {"table": str(label_table), "sha256": sha256sum(label_table)}
    if label_pattern:
        return {"header_pattern": label_pattern}
    if isinstance(inputs[0], ResidueCsvInput):
        return {"csv_column": inputs[0].label_column, "mask_columns": list(inputs[0].mask_columns)}
    return {"sample_sheet": "per-file labels"}


def _read_tsv(path: Path, required: tuple[str, ...], optional: tuple[str, ...], rest: bool = False):
    """Rows of a tab-separated table as (line number, {column: value}); '#' lines are comments."""
    if not path.is_file():
        raise InputError(path, "file not found")
    with open(path, encoding="utf-8-sig") as handle:
        numbered = [
            (number, line.rstrip("\r\n"))
            for number, line in enumerate(handle, start=1)
            if line.strip() and not line.startswith("#")
        ]
    if not numbered:
        raise InputError(path, "empty table")
    columns = [c.strip() for c in numbered[0][1].split("\t")]
    missing = [c for c in required if c not in columns]
    if missing:
        raise InputError(
            path, f"missing column(s) {missing}; found {columns} (tab-separated, header first)"
        )
    rows = []
    for number, line in numbered[1:]:
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) > len(columns):
            raise InputError(path, f"{len(fields)} fields but {len(columns)} columns", line=number)
        row = dict(zip(columns, fields + [""] * (len(columns) - len(fields)), strict=True))
        wanted = columns if rest else required + optional
        rows.append((number, {k: row.get(k, "") for k in wanted}))
    return rows


def _check_split(path: Path, line: int, split: str | None) -> str | None:
    if not split:
        return None
    if split not in SPLITS:
        raise InputError(path, f"split {split!r} is not one of {list(SPLITS)}", line=line)
    return split


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InputError(None, f"{name}={value!r} is not one of {list(choices)}")
