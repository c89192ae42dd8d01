"""Ingest an expression matrix (time courses) -> validated samples x genes array + sample table.

Outputs (in `out_dir`):
  matrix.npy     float32 (samples x genes), rows sorted by series, then time
  samples.tsv    sample, series, time, condition (same row order as matrix.npy)
  genes.txt      one gene id per line, in column order
  summary.json   counts, series lengths, conditions, time and value ranges, missing values,
                 inputs with sha256

Sample metadata comes from a sample table (sample, series, time[, condition]) or, for stacked
trajectories without one (DREAM4), from a fixed series length: consecutive blocks of N samples
are one trajectory. Nothing is written unless every check passes.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genoflow.errors import InputError, check_choice
from genoflow.formats.files import INGEST_FORMAT, atomic_path, sha256sum, write_json
from genoflow.io.tables import read_tsv

ORIENTATIONS = ("samples_x_genes", "genes_x_samples")
MISSING_POLICIES = ("error", "zero", "gene_mean", "ffill")
# Cells that mean "no value" (R, pandas and spreadsheet exports), as opposed to non-numeric text.
MISSING_TOKENS = frozenset({"", "na", "nan", "n/a", "null", "none", "-nan"})
# First header cells that label an id column; any other name over a numeric column is a gene.
ID_LABELS = frozenset({"", "id", "ids", "sample", "samples", "sample_id", "name", "gene", "genes"})
SHOWN = 5  # how many offending names an error lists


@dataclass
class _Table:
    """A matrix as read, in file orientation (rows as in the file)."""

    columns: list[str]  # labels of the value columns
    row_ids: list[str] | None  # None: the file has no id column (stacked DREAM4 files)
    values: np.ndarray  # float64 (rows x columns); NaN / inf where cells were missing
    lines: list[int] | None  # 1-based file line of each row; None for Parquet
    header_line: int | None
    first_missing: tuple[int, int, str] | None  # (row, column, cell text) of the first gap


@dataclass
class _Samples:
    ids: list[str]
    series: list[str]
    time: np.ndarray  # float64
    condition: list[str]


def ingest_matrix(
    matrix: str | Path,
    out_dir: str | Path,
    *,
    orientation: str = "samples_x_genes",
    samples: str | Path | None = None,
    series_length: int | None = None,
    time_step: float = 1.0,
    missing: str = "error",
) -> dict:
    """Validate an expression matrix and its sample metadata; write the arrays and summary."""
    matrix, out_dir = Path(matrix), Path(out_dir)
    check_choice("orientation", orientation, ORIENTATIONS)
    check_choice("missing", missing, MISSING_POLICIES)
    if (samples is None) == (series_length is None):
        raise InputError(None, "give exactly one of a sample table or series_length")
    if series_length is not None and (
        isinstance(series_length, bool)
        or not isinstance(series_length, int | np.integer)
        or series_length < 1
    ):
        raise InputError(None, f"series_length must be a positive integer, got {series_length!r}")
    if not (math.isfinite(time_step) and time_step > 0):
        raise InputError(None, f"time_step must be a positive number, got {time_step!r}")

    stacked = series_length is not None
    table = _read_matrix(matrix, allow_no_ids=stacked and orientation == "samples_x_genes")
    if orientation == "samples_x_genes":
        sample_ids, genes, values = table.row_ids, table.columns, table.values
        first = 2 if sample_ids is not None else 1
        _check_unique(matrix, "gene", genes, header_line=table.header_line, first_column=first)
        if sample_ids is not None:
            _check_unique(matrix, "sample", sample_ids, lines=table.lines)
    else:
        if table.row_ids is None:  # unreachable: allow_no_ids is False for this orientation
            raise InputError(matrix, "genes_x_samples needs gene ids in the first column")
        genes, sample_ids, values = table.row_ids, table.columns, table.values.T
        _check_unique(matrix, "gene", genes, lines=table.lines)
        _check_unique(matrix, "sample", sample_ids, header_line=table.header_line, first_column=2)
    if missing == "error" and table.first_missing is not None:
        _raise_missing(matrix, table)

    if stacked:
        meta = _stacked_samples(matrix, len(values), series_length, time_step, sample_ids)
    else:
        meta = _table_samples(Path(samples), sample_ids, matrix)

    # Sorted by (series, time): the window code relies on each series being one block of rows
    # in time order, whatever order the matrix or the sample table had.
    order = sorted(range(len(meta.ids)), key=lambda i: (meta.series[i], meta.time[i]))
    values = values[order]
    meta = _Samples(
        [meta.ids[i] for i in order],
        [meta.series[i] for i in order],
        meta.time[order],
        [meta.condition[i] for i in order],
    )
    values, imputed = _impute(values, missing, meta, genes, matrix)
    out = values.astype(np.float32)
    if not np.isfinite(out).all():
        row, col = np.argwhere(~np.isfinite(out))[0]
        raise InputError(
            matrix,
            f"value {values[row, col]!r} of gene {genes[col]!r} does not fit in float32",
            record=meta.ids[row],
        )

    series_lengths: dict[str, int] = {}
    series_condition: dict[str, str] = {}
    for name, condition in zip(meta.series, meta.condition, strict=True):
        series_lengths[name] = series_lengths.get(name, 0) + 1
        series_condition[name] = condition
    conditions: dict[str, int] = {}
    for condition in series_condition.values():
        conditions[condition] = conditions.get(condition, 0) + 1
    inputs = [{"path": str(matrix), "sha256": sha256sum(matrix)}]
    if samples is not None:
        inputs.append({"path": str(samples), "sha256": sha256sum(samples)})
    summary = {
        "format": INGEST_FORMAT,
        "task": "forecasting",
        "samples": len(meta.ids),
        "genes": len(genes),
        "series": len(series_lengths),
        "series_lengths": series_lengths,
        "conditions": dict(sorted(conditions.items())),
        "time_range": [float(meta.time.min()), float(meta.time.max())],
        "orientation": orientation,
        "stacked": (
            {"series_length": series_length, "time_step": float(time_step)} if stacked else None
        ),
        "missing": {"policy": missing, "imputed": imputed},
        "value_range": [float(values.min()), float(values.max())],
        "inputs": inputs,
    }
    _write_outputs(out_dir, out, meta, genes, summary)
    return summary


# --- reading ---------------------------------------------------------------------------------


def _read_matrix(path: Path, *, allow_no_ids: bool) -> _Table:
    if not path.is_file():
        raise InputError(path, "file not found")
    name = path.name.lower()
    base = name[:-3] if name.endswith(".gz") else name
    if base.endswith(".parquet"):
        if name.endswith(".gz"):
            raise InputError(path, "Parquet is compressed inside the file; do not gzip it")
        header, rows = _parquet_rows(path)
        header_line = None
    elif base.endswith((".tsv", ".txt", ".csv")):
        delimiter = "," if base.endswith(".csv") else "\t"
        header_line, header, rows = _text_rows(path, delimiter)
    else:
        raise InputError(
            path, "unknown matrix format: use .tsv, .txt, .csv (optionally .gz) or .parquet"
        )
    try:
        return _parse_rows(path, header, header_line, rows, allow_no_ids)
    finally:
        rows.close()  # a generator: closes the file even when a row was bad


def _open_text(path: Path):
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    return opener(path, "rt", newline="", encoding="utf-8-sig")


def _text_rows(path: Path, delimiter: str) -> tuple[int, list[str], Iterator]:
    """The header (and its line) and an iterator of (line, cells) over the data rows."""
    handle = _open_text(path)
    reader = csv.reader(handle, delimiter=delimiter)
    try:
        for fields in reader:
            if any(f.strip() for f in fields):
                header = [f.strip() for f in fields]
                break
        else:
            handle.close()
            raise InputError(path, "empty file: a header row is required")
    except (UnicodeDecodeError, OSError, csv.Error) as error:
        handle.close()
        raise InputError(path, f"cannot read as text: {error}") from None
    return reader.line_num, header, _data_rows(path, handle, reader)


def _data_rows(path: Path, handle, reader) -> Iterator[tuple[int, list[str]]]:
    with handle:
        try:
            for fields in reader:
                if any(f.strip() for f in fields):  # blank lines separate blocks in some files
                    yield reader.line_num, fields
        except (UnicodeDecodeError, OSError, csv.Error) as error:
            raise InputError(path, f"cannot read as text: {error}", line=reader.line_num) from None


def _parquet_rows(path: Path) -> tuple[list[str], Iterator[tuple[None, list]]]:
    import pandas as pd

    try:
        frame = pd.read_parquet(path)
    except ImportError as error:
        raise InputError(path, f"reading Parquet needs pyarrow: {error}") from None
    except Exception as error:  # pyarrow raises several unrelated types for a bad file
        raise InputError(path, f"cannot read as Parquet: {error}") from None
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
        frame = frame.reset_index()  # ids saved as the pandas index: make them the first column
    header = [str(c) for c in frame.columns]
    rows = ((None, list(row)) for row in frame.itertuples(index=False, name=None))
    return header, rows


def _parse_rows(path, header, header_line, rows, allow_no_ids) -> _Table:
    """Numbers from the data rows; decides whether the first column holds row ids."""
    firsts: list = []
    lines: list[int | None] = []
    parsed: list[np.ndarray] = []
    width = None
    first_missing = None  # (row, cell index in the full row, cell text)
    for line, fields in rows:
        if width is None:
            # R's write.table leaves out the header cell above the row names.
            width = len(header) + 1 if len(fields) == len(header) + 1 else len(header)
            if width == len(header) + 1:
                header = ["", *header]
        if len(fields) != width:
            raise InputError(
                path,
                f"{len(fields)} fields but the header has {width}",
                line=line,
                record=_text(fields[0]) if fields else None,
            )
        row = _floats(path, fields[1:], header[1:], line, _text(fields[0]))
        if first_missing is None and not np.isfinite(row).all():
            column = int(np.flatnonzero(~np.isfinite(row))[0]) + 1
            first_missing = (len(parsed), column, _text(fields[column]))
        firsts.append(fields[0])
        lines.append(line)
        parsed.append(row)
    if not parsed:
        raise InputError(path, "no data rows after the header", line=header_line)
    values = np.vstack(parsed)
    row_ids: list[str] | None = [_text(f) for f in firsts]
    columns = header[1:]
    first_values = [_number(f) for f in firsts] if allow_no_ids else None
    if (
        first_values is not None
        and header[0].lower() not in ID_LABELS
        and all(v is not None for v in first_values)
    ):
        if header[0].lower() in ("time", "t"):
            raise InputError(
                path,
                f"the first column {header[0]!r} looks like a time column; stacked trajectories"
                " (series_length) take no time column: drop it, or give a sample table",
                line=header_line,
            )
        # Every header cell names a gene and the first column is numeric (DREAM4 layout).
        values = np.column_stack([np.array(first_values, dtype=np.float64), values])
        row_ids, columns = None, header
        first_missing = _first_gap(values, firsts, first_missing)
    for i, label in enumerate(header):
        if row_ids is not None and i == 0:
            continue
        if not label:
            raise InputError(path, f"empty column name in header column {i + 1}", line=header_line)
    return _Table(
        columns, row_ids, values, None if lines[0] is None else lines, header_line, first_missing
    )


def _floats(path, cells, columns, line, row_id) -> np.ndarray:
    try:  # fast path: every cell a plain number (or nan/inf)
        return np.array(cells, dtype=np.float64)
    except (ValueError, TypeError):
        pass
    row = np.empty(len(cells), dtype=np.float64)
    for j, cell in enumerate(cells):
        value = _number(cell)
        if value is None:
            raise InputError(
                path,
                f"non-numeric value {_text(cell)!r} in column {columns[j]!r}",
                line=line,
                record=row_id,
            )
        row[j] = value
    return row


def _number(cell) -> float | None:
    """The cell as a float (NaN for a missing-value token), or None if it is not a number."""
    if cell is None:
        return math.nan
    if isinstance(cell, str):
        text = cell.strip()
        if text.lower() in MISSING_TOKENS:
            return math.nan
        cell = text
    try:
        return float(cell)
    except (TypeError, ValueError):
        return None


def _text(cell) -> str:
    return "" if cell is None else str(cell).strip()


def _first_gap(values, firsts, found) -> tuple[int, int, str] | None:
    """First missing cell in file order once the first column counts as values."""
    rows = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if not rows.size:
        return None
    row = int(rows[0])
    if found is not None and found[0] == row and math.isfinite(values[row, 0]):
        return found  # same row; the column index already counts the first column
    column = int(np.flatnonzero(~np.isfinite(values[row]))[0])
    return row, column, _text(firsts[row]) if column == 0 else repr(float(values[row, column]))


# --- checks ----------------------------------------------------------------------------------


def _check_unique(path, what, names, *, lines=None, header_line=None, first_column=None) -> None:
    """Ids must be non-empty and distinct. Row ids sit on `lines`; header ids in columns that
    start at `first_column` (1-based) of `header_line`."""

    def place(i: int) -> tuple[str, int | None]:
        if first_column is not None:
            return f"header column {i + first_column}", header_line
        if lines:
            return f"line {lines[i]}", lines[i]
        return f"row {i + 1}", None

    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        where, line = place(i)
        if not name:
            raise InputError(path, f"empty {what} id ({where})", line=line)
        if "\t" in name or "\n" in name:
            raise InputError(path, f"{what} id {name!r} contains a tab or newline", line=line)
        if name in seen:
            raise InputError(
                path,
                f"duplicate {what} id {name!r} ({place(seen[name])[0]} and {where})",
                line=line,
                record=name,
            )
        seen[name] = i


def _raise_missing(matrix: Path, table: _Table) -> None:
    row, column, text = table.first_missing
    n = int((~np.isfinite(table.values)).sum())
    has_ids = table.row_ids is not None
    label = table.columns[column - 1] if has_ids else table.columns[column]
    where = "" if has_ids or table.lines else f" (data row {row + 1})"
    raise InputError(
        matrix,
        f"missing or non-finite value {text!r} in column {label!r}{where}; {n} such cell(s) in"
        " total. Fix the matrix, or impute with missing=zero, gene_mean or ffill",
        line=table.lines[row] if table.lines else None,
        record=table.row_ids[row] if has_ids else None,
    )


def _stacked_samples(matrix, n, length, time_step, ids) -> _Samples:
    if n % length:
        raise InputError(
            matrix,
            f"{n} samples is not a multiple of series_length {length}: stacked trajectories"
            f" need whole blocks of {length} rows ({n // length} full, {n % length} left over)",
        )
    n_series = n // length
    series_width, time_width = len(str(n_series)), len(str(length - 1))
    # Zero-padded, so sorting by name keeps the file order of the trajectories.
    series = [f"s{i // length + 1:0{series_width}d}" for i in range(n)]
    index = [i % length for i in range(n)]
    if ids is None:
        ids = [f"{s}_t{t:0{time_width}d}" for s, t in zip(series, index, strict=True)]
    time = np.array(index, dtype=np.float64) * time_step
    return _Samples(list(ids), series, time, list(series))


def _table_samples(path: Path, matrix_ids: list[str] | None, matrix: Path) -> _Samples:
    rows = read_tsv(path, required=("sample", "series", "time"), optional=("condition",))
    if not rows:
        raise InputError(path, "sample table lists no samples")
    entries: dict[str, tuple[str, float, str, int]] = {}
    at_time: dict[tuple[str, float], tuple[str, int]] = {}
    series_condition: dict[str, tuple[str, int]] = {}
    for line, row in rows:
        sample, series, condition = row["sample"], row["series"], row["condition"]
        if not sample:
            raise InputError(path, "empty sample id", line=line)
        if sample in entries:
            raise InputError(
                path,
                f"duplicate sample id (first at line {entries[sample][3]})",
                line=line,
                record=sample,
            )
        if not series:
            raise InputError(path, "empty series", line=line, record=sample)
        time = _number(row["time"]) if row["time"] else None
        if time is None or not math.isfinite(time):
            raise InputError(
                path, f"time {row['time']!r} is not a number", line=line, record=sample
            )
        if (series, time) in at_time:
            other, other_line = at_time[series, time]
            raise InputError(
                path,
                f"duplicate time {row['time']} in series {series!r}: sample {other!r} at line"
                f" {other_line} has the same time",
                line=line,
                record=sample,
            )
        if series in series_condition and series_condition[series][0] != condition:
            first, first_line = series_condition[series]
            raise InputError(
                path,
                f"series {series!r} has condition {condition!r} here but {first!r} at line"
                f" {first_line}; one series is one condition",
                line=line,
                record=sample,
            )
        series_condition.setdefault(series, (condition, line))
        at_time[series, time] = (sample, line)
        entries[sample] = (series, time, condition, line)

    if matrix_ids is None:  # unreachable: only stacked mode reads matrices without ids
        raise InputError(matrix, "the matrix has no sample ids to match the sample table")
    unlisted = [s for s in matrix_ids if s not in entries]
    if unlisted:
        hint = ""
        if all(_number(s) is not None for s in unlisted):
            hint = (
                " (the ids are numbers: does the matrix lack an id column? then use series_length)"
            )
        raise InputError(
            path,
            f"{len(unlisted)} sample(s) of {matrix} are missing from the sample table:"
            f" {_shown(unlisted)}{hint}",
        )
    in_matrix = set(matrix_ids)
    absent = [s for s in entries if s not in in_matrix]
    if absent:
        raise InputError(
            path, f"{len(absent)} sample(s) of the table are not in {matrix}: {_shown(absent)}"
        )
    info = [entries[s] for s in matrix_ids]
    return _Samples(
        list(matrix_ids),
        [e[0] for e in info],
        np.array([e[1] for e in info], dtype=np.float64),
        [e[2] for e in info],
    )


def _impute(values, policy, meta: _Samples, genes, matrix) -> tuple[np.ndarray, int]:
    """Fill NaN/inf cells by `policy`; rows are already sorted by (series, time)."""
    gaps = ~np.isfinite(values)
    n = int(gaps.sum())
    if n == 0 or policy == "error":
        return values, 0
    values = values.copy()
    if policy == "zero":
        values[gaps] = 0.0
    elif policy == "gene_mean":
        observed = np.where(gaps, 0.0, values)
        counts = (~gaps).sum(axis=0)
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            raise InputError(
                matrix, f"gene {genes[empty[0]]!r} has no finite value to take a mean of"
            )
        means = observed.sum(axis=0) / counts
        values[gaps] = np.broadcast_to(means, values.shape)[gaps]
    else:  # ffill: previous time point of the same series; a leading gap takes the next one
        series = np.array(meta.series, dtype=object)
        starts = np.flatnonzero(np.r_[True, series[1:] != series[:-1]])
        for start, stop in zip(starts, np.r_[starts[1:], len(values)], strict=True):
            block = values[start:stop]  # a view: filled in place
            for g in np.flatnonzero(~np.isfinite(block).all(axis=0)):
                column = block[:, g]
                finite = np.isfinite(column)
                if not finite.any():
                    raise InputError(
                        matrix,
                        f"gene {genes[g]!r} has no finite value in series {meta.series[start]!r}"
                        " to fill from (missing=ffill)",
                    )
                last = np.maximum.accumulate(np.where(finite, np.arange(len(column)), -1))
                last[last < 0] = np.flatnonzero(finite)[0]
                block[:, g] = column[last]
    return values, n


# --- writing ---------------------------------------------------------------------------------


def _write_outputs(out_dir: Path, matrix, meta: _Samples, genes, summary) -> None:
    """All four files go to temporary names and are renamed only when every one is written."""
    names = ("matrix.npy", "samples.tsv", "genes.txt", "summary.json")
    with contextlib.ExitStack() as stack:
        tmp = {name: stack.enter_context(atomic_path(out_dir / name)) for name in names}
        with open(tmp["matrix.npy"], "wb") as handle:
            np.save(handle, matrix)
        with open(tmp["samples.tsv"], "w") as handle:
            handle.write("sample\tseries\ttime\tcondition\n")
            for row in zip(meta.ids, meta.series, meta.time, meta.condition, strict=True):
                handle.write(f"{row[0]}\t{row[1]}\t{format_time(row[2])}\t{row[3]}\n")
        with open(tmp["genes.txt"], "w") as handle:
            handle.writelines(f"{gene}\n" for gene in genes)
        write_json(tmp["summary.json"], summary)


def format_time(value: float) -> str:
    """Times as written in samples.tsv: integers without '.0', others exactly (repr)."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def _shown(names: list[str]) -> str:
    return ", ".join(names[:SHOWN]) + (" ..." if len(names) > SHOWN else "")
