"""The records ingest keeps, as it writes them to sequences.tsv: a few bytes each (an id hash, the
header line, the length, the row's offset, flags), the summary's counts, and rejected.tsv."""

from __future__ import annotations

import bisect
import csv
from array import array
from collections import Counter

import numpy as np

from genoflow import kernels
from genoflow.errors import InputError
from genoflow.formats.files import INGEST_FORMAT
from genoflow.io.fasta import FastaBatch
from genoflow.io.sources import FastaInput, RegionInput, SeqioInput
from genoflow.registry import UNLABELLED

LOWERCASE, AMBIGUOUS, INVALID = 1, 2, 4  # per-record flags (INVALID: not in the alphabet)


def _id_hashes(text: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """64-bit hashes of the ids text[starts[i]:][:sizes[i]] (UTF-8), to find repeated ids:
    equal ids hash alike; equal hashes are only candidates, confirmed by comparing the ids."""
    return kernels.blake2b64(text, starts, starts + sizes)


class Records:
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
            "format": INGEST_FORMAT,
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
                | (_reading_of(source) if isinstance(source, SeqioInput) else {})
                for k, source in enumerate(inputs)
            ],
        }


def _reading_of(source: SeqioInput) -> dict:
    """How a file in another format was read: its format, the features and the code."""
    reading = {"format": source.format}
    if source.feature_type is not None:
        qualifier = source.label_qualifier
        reading["features"] = {"type": source.feature_type, "label_qualifier": qualifier}
    if source.translate_table is not None:
        reading["translate"] = {"table": source.translate_table}
    return reading


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


def _reference_of(source: RegionInput, checksum) -> dict:
    return {"reference": str(source.reference), "reference_sha256": checksum(source.reference)}
