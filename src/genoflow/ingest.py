"""Ingest: FASTA files + labels -> one validated, normalised table and an ingest summary.

Outputs (in `out_dir`):
  sequences.tsv   id, label, split, source, sequence (upper case, one record per line)
  rejected.tsv    records left out under a lenient policy, with the reason
  summary.json    counts, classes, lengths, letters, duplicates, inputs with sha256
"""

from __future__ import annotations

import csv
import hashlib
import re
from array import array
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genoflow.alphabets import get_alphabet
from genoflow.errors import InputError
from genoflow.fasta import read_fasta
from genoflow.io import atomic_path, sha256sum, write_json

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


def read_values_table(path: str | Path) -> tuple[list[str], dict[str, tuple[str, str | None]]]:
    """Read a TSV of record id -> real-valued targets: column `id`, optional `split`, and
    one numeric column per target. Returns (target names, id -> (tab-joined values, split))."""
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
            if not np.isfinite(number):
                raise InputError(
                    path,
                    f"column {target!r} of id {row['id']!r} is {row[target]!r}, not a"
                    " finite number",
                    line=line,
                )
        text = "\t".join(row[t] for t in targets)
        values[row["id"]] = (text, _check_split(path, line, row.get("split")))
    return targets, values


def ingest(
    inputs: list[FastaInput],
    out_dir: str | Path,
    *,
    alphabet: str,
    label_pattern: str | None = None,
    label_table: str | Path | None = None,
    values_table: str | Path | None = None,
    ambiguous: str = "encode",
    invalid: str = "error",
    duplicate_ids: str = "error",
) -> dict:
    """Validate and normalise all records; write the table and summary; return the summary.

    Labels come from the inputs' sample-sheet label, a header pattern or a label table
    (classification), or from a values table of real-valued targets (regression). The table
    written has one label column per target (or `label`) between `id` and `split`.
    """
    _check_choice("ambiguous", ambiguous, AMBIGUOUS_POLICIES)
    _check_choice("invalid", invalid, INVALID_POLICIES)
    _check_choice("duplicate_ids", duplicate_ids, DUPLICATE_POLICIES)
    alpha = get_alphabet(alphabet)
    lookup = alpha.encode_table()
    n_letters = len(alpha.letters)
    pattern = re.compile(label_pattern) if label_pattern else None
    if pattern is not None and pattern.groups < 1:
        raise InputError(None, f"label pattern {label_pattern!r} needs one capture group")
    table = read_label_table(label_table) if label_table else None
    targets = None
    if values_table:
        targets, table = read_values_table(values_table)
        label_table = values_table
    label_columns = targets or ["label"]
    out_dir = Path(out_dir)

    seen: dict[str, tuple[bytes, str, int]] = {}  # id -> (content digest, file, line)
    lengths = array("q")
    classes: Counter[str] = Counter()
    letters = np.zeros(256, dtype=np.int64)
    rejected: list[tuple[str, int, str, str]] = []
    n_ambiguous = n_lowercase = 0
    input_info = []

    with atomic_path(out_dir / "sequences.tsv") as tmp, open(tmp, "w", newline="") as out:
        out.write("\t".join(["id", *label_columns, "split", "source", "sequence"]) + "\n")
        for source in inputs:
            n_file = 0
            for record in read_fasta(source.path):
                sequence = record.sequence
                if alphabet == "protein" and sequence.endswith(b"*"):
                    sequence = sequence[:-1]  # a stop codon mark, not a residue
                where = dict(line=record.line, record=record.id)
                label, split = _label_of(record, source, pattern, table)
                tokens = lookup[np.frombuffer(sequence, dtype=np.uint8)]
                problem = _alphabet_problem(tokens, sequence, alpha.name, n_letters, ambiguous)
                if problem:
                    policy = invalid if problem[0] == "invalid" else ambiguous
                    if policy == "error":
                        raise InputError(source.path, problem[1], **where)
                    rejected.append((str(source.path), record.line, record.id, problem[1]))
                    continue
                digest = hashlib.blake2b(label.encode() + b"\t" + sequence.upper(), digest_size=16)
                if record.id in seen:
                    first_digest, first_file, first_line = seen[record.id]
                    first = f"{first_file}:{first_line}"
                    if duplicate_ids == "drop_identical" and first_digest == digest.digest():
                        reason = f"duplicate id, identical to the record at {first}"
                        rejected.append((str(source.path), record.line, record.id, reason))
                        continue
                    detail = "" if first_digest == digest.digest() else " (different content)"
                    raise InputError(
                        source.path, f"duplicate id{detail}, first seen at {first}", **where
                    )
                seen[record.id] = (digest.digest(), str(source.path), record.line)
                n_ambiguous += bool((tokens > n_letters).any())
                n_lowercase += sequence != sequence.upper()
                sequence = sequence.upper()
                letters += np.bincount(np.frombuffer(sequence, np.uint8), minlength=256)
                lengths.append(len(sequence))
                if targets is None:
                    classes[label] += 1
                n_file += 1
                out.write(
                    f"{record.id}\t{label}\t{split or ''}\t{source.path.name}\t"
                    f"{sequence.decode('ascii')}\n"
                )
            input_info.append(
                {"path": str(source.path), "sha256": sha256sum(source.path), "records": n_file}
            )
        if table is not None:
            unmatched = sorted(set(table) - set(seen) - {r[2] for r in rejected})
            if unmatched:
                shown = ", ".join(unmatched[:5]) + (" ..." if len(unmatched) > 5 else "")
                raise InputError(
                    label_table, f"{len(unmatched)} label id(s) match no FASTA record: {shown}"
                )
        if not lengths:
            raise InputError(inputs[0].path, "no usable records (all were rejected)")

    _write_rejected(out_dir / "rejected.tsv", rejected)
    length_array = np.frombuffer(lengths, dtype=np.int64)
    summary = {
        "alphabet": alphabet,
        "records": len(length_array),
        "rejected": len(rejected),
        "rejected_reasons": dict(Counter(_reason_kind(r[3]) for r in rejected)),
        "task": "classification" if targets is None else "regression",
        "classes": dict(sorted(classes.items())),
        "targets": targets or [],
        "length": {
            "min": int(length_array.min()),
            "max": int(length_array.max()),
            "mean": round(float(length_array.mean()), 2),
            "median": float(np.median(length_array)),
        },
        "letters": {chr(b): int(letters[b]) for b in np.flatnonzero(letters)},
        "records_with_ambiguity_codes": n_ambiguous,
        "records_with_lowercase": n_lowercase,
        "duplicate_ids_dropped": sum(r[3].startswith("duplicate id") for r in rejected),
        "inputs": input_info,
        "label_source": _label_source(inputs, label_pattern, label_table),
    }
    write_json(out_dir / "summary.json", summary)
    return summary


def _label_of(record, source: FastaInput, pattern, table) -> tuple[str, str | None]:
    where = dict(line=record.line, record=record.id)
    if table is not None:
        if record.id not in table:
            raise InputError(source.path, "no label for this record in the label table", **where)
        return table[record.id]
    if pattern is not None:
        match = pattern.search(record.description)
        if not match or not match.group(1):
            raise InputError(
                source.path,
                f"header {record.description!r} does not match label pattern {pattern.pattern!r}",
                **where,
            )
        return match.group(1), source.split
    if source.label is None:
        raise InputError(source.path, "no label source: give a sample sheet, pattern or table")
    return source.label, source.split


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


def _write_rejected(path: Path, rejected: list[tuple[str, int, str, str]]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(["file", "line", "id", "reason"])
        writer.writerows(rejected)


def _label_source(inputs, label_pattern, label_table) -> dict:
    if label_table:
        return {"table": str(label_table), "sha256": sha256sum(label_table)}
    if label_pattern:
        return {"header_pattern": label_pattern}
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
