"""The tables that go with sequence files: sample sheets (a label and split per FASTA file), label
tables (id -> label) and values tables (id -> numbers). Every problem of a table is reported at
once, by line."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genoflow.errors import InputError, table_problems
from genoflow.formats.files import text_lines
from genoflow.registry import SPLIT_NAMES


def read_label_table(path: str | Path) -> dict[str, tuple[str, str | None]]:
    """Read a TSV of record id -> label (columns `id`, `label`, optional `split`). Every
    problem in it is reported at once (table_problems)."""
    path = Path(path)
    labels: dict[str, tuple[str, str | None]] = {}
    problems: list[tuple[int, str]] = []
    seen: set[str] = set()
    for line, row in read_tsv(path, required=("id", "label"), optional=("split",)):
        found = _row_problems(row, seen)
        if not row["label"]:
            found.append(f"empty label for id {row['id']!r}")
        problems += [(line, problem) for problem in found]
        if not found:
            labels[row["id"]] = (row["label"], row.get("split") or None)
    if problems:
        raise table_problems(path, problems)
    return labels


def read_values_table(
    path: str | Path, binary: bool = False
) -> tuple[list[str], dict[str, tuple[str, str | None]]]:
    """Read a TSV of record id -> real-valued targets: column `id`, optional `split`, and
    one numeric column per target (`binary`: 0 or 1, one column per label of a multilabel
    task). Returns (target names, id -> (tab-joined values, split)). Every problem in it is
    reported at once (table_problems)."""
    path = Path(path)
    rows = read_tsv(path, required=("id",), optional=("split",), rest=True)
    targets = [c for c in rows[0][1] if c not in ("id", "split")] if rows else []
    if not targets:
        raise InputError(path, "no target columns besides id (and split)")
    values: dict[str, tuple[str, str | None]] = {}
    problems: list[tuple[int, str]] = []
    seen: set[str] = set()
    for line, row in rows:
        found = _row_problems(row, seen)
        for target in targets:
            try:
                number = float(row[target])
            except ValueError:
                number = float("nan")
            if not np.isfinite(number) or (binary and number not in (0.0, 1.0)):
                found.append(
                    f"column {target!r} of id {row['id']!r} is {row[target]!r}, not"
                    + (" 0 or 1 (multilabel)" if binary else " a finite number")
                )
        problems += [(line, problem) for problem in found]
        if not found:
            text = "\t".join(row[t] for t in targets)
            values[row["id"]] = (text, row.get("split") or None)
    if problems:
        raise table_problems(path, problems)
    return targets, values


def _row_problems(row: dict[str, str], seen: set[str]) -> list[str]:
    """A label or values table row's problems with its id and split (`seen`: the ids of the
    rows before it, which this adds to)."""
    found = []
    if not row["id"]:
        found.append("empty id")
    elif row["id"] in seen:
        found.append(f"id {row['id']!r} appears twice")
    seen.add(row["id"])
    if row.get("split") and row["split"] not in SPLIT_NAMES:
        found.append(f"split {row['split']!r} is not one of {list(SPLIT_NAMES)}")
    return found


def read_tsv(path: Path, required: tuple[str, ...], optional: tuple[str, ...], rest: bool = False):
    """Rows of a tab-separated table as (line number, {column: value}); '#' lines are comments."""
    if not path.is_file():
        raise InputError(path, "file not found")
    numbered = [
        (number, line.rstrip("\r\n"))
        for number, line in text_lines(path)
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
