"""Repeated record ids, found after all records are written: only rows whose id hash repeats are
read back and compared, so a hash collision alone is never reported; identical repeats are
dropped (duplicate_ids: drop_identical), or every repeat is renamed (duplicate_ids: rename), in
one more streaming pass."""

from __future__ import annotations

import csv
import hashlib
import heapq
import os
from array import array
from pathlib import Path

import numpy as np

from genoflow import kernels
from genoflow.errors import InputError
from genoflow.io.records import Records


def _read_row(handle, offset: int, n_labels: int) -> tuple[str, bytes, bytes]:
    """(id, label field(s), sequence) of the table row at `offset`."""
    handle.seek(offset)
    fields = handle.readline().rstrip(b"\n").split(b"\t")
    return fields[0].decode(), b"\t".join(fields[1 : 1 + n_labels]), fields[-1]


def repeated_ids(kept: Records, inputs, table: Path, policy: str):
    """Rows to drop as identical repeats (or, for `rename`, every repeat), and the row each
    repeats; raises for the first repeat (in input order) that the policy does not allow.

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
                if policy == "rename" or (policy == "drop_identical" and identical):
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


def drop_repeats(kept: Records, inputs, table: Path, rejected: Path, rows, firsts) -> None:
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


def _merge_rejected(rejected: Path, kept: Records, dropped: Path, dropped_inputs) -> None:
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


RENAME_MARK = "~"  # a repeat of id `x` becomes `x~2`, `x~3`, ... (in input order)


def rename_repeats(kept: Records, inputs, table: Path, rows, firsts) -> list[dict]:
    """Give each repeated id a stable new name, its id plus `~k` for its k-th occurrence in
    input order (a name another record already has is skipped: `~k+1`, ...), in one streaming
    pass over the table; returns the renames (file, line, id, renamed), in input order."""
    hashes = np.sort(np.frombuffer(kept.id_hashes, dtype=np.int64))
    taken: set[str] = set()

    def free(name: str) -> bool:  # no record has it (a hash match counts as taken)
        digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
        value = np.frombuffer(digest, dtype="<i8")[0]
        at = np.searchsorted(hashes, value)
        return name not in taken and not (at < len(hashes) and hashes[at] == value)

    occurrence: dict[int, int] = {}  # first row -> occurrences so far
    renamed = []
    rewritten = table.with_name(table.name + ".renamed")
    try:
        with open(table, "rb") as source, open(rewritten, "wb") as out:
            out.write(source.readline())
            k, next_row = 0, int(rows[0])
            for row, line in enumerate(source):
                if row != next_row:
                    out.write(line)
                    continue
                record_id, rest = line.split(b"\t", 1)
                old = record_id.decode()
                first = int(firsts[k])
                n = occurrence.get(first, 1) + 1
                while not free(f"{old}{RENAME_MARK}{n}"):
                    n += 1
                occurrence[first] = n
                new = f"{old}{RENAME_MARK}{n}"
                taken.add(new)
                out.write(new.encode() + b"\t" + rest)
                renamed.append(
                    {
                        "file": str(inputs[kept.input_of(row)].path),
                        "line": kept.lines[row],
                        "id": old,
                        "renamed": new,
                    }
                )
                k += 1
                next_row = int(rows[k]) if k < len(rows) else -1
        os.replace(rewritten, table)
    finally:
        rewritten.unlink(missing_ok=True)
    return renamed
