"""The inputs ingest reads records from: FASTA files (a label and split each, from a sample sheet),
files of another sequence format (through Biopython), BED regions of a reference genome, and
CSV files of sequences with a label per residue."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genoflow.errors import InputError, table_problems
from genoflow.formats.files import text_lines
from genoflow.io.fasta import FastaBatch, FastaRecord, read_fasta, read_fasta_batches
from genoflow.io.regions import Reference, region_records
from genoflow.io.seqio import read_seqio
from genoflow.io.tables import read_tsv
from genoflow.registry import SPLIT_NAMES, UNLABELLED


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
class SeqioInput:
    """One file in a format Biopython reads (see genoflow.io.seqio), with the label and split
    all its records share (if given): a record per entry, or per feature of `feature_type`
    (labelled by its `label_qualifier`, if given); translated with `translate_table`."""

    path: Path
    format: str
    label: str | None = None
    split: str | None = None
    feature_type: str | None = None
    label_qualifier: str | None = None
    translate_table: int | None = None

    def records(self) -> Iterator[tuple[FastaRecord, str | None, str | None]]:
        records = read_seqio(
            self.path,
            self.format,
            feature_type=self.feature_type,
            label_qualifier=self.label_qualifier,
            translate_table=self.translate_table,
        )
        for record, label in records:
            yield record, label if label is not None else self.label, self.split


def sequence_input(
    path: Path,
    fmt: str = "fasta",
    label: str | None = None,
    split: str | None = None,
    feature_type: str | None = None,
    label_qualifier: str | None = None,
    translate_table: int | None = None,
) -> FastaInput | SeqioInput:
    """The input of one sequence file: FASTA by the fast reader, unless it is to be translated
    (or is in another format), then through Biopython."""
    if fmt == "fasta" and feature_type is None and translate_table is None:
        return FastaInput(path, label, split)
    options = (feature_type, label_qualifier, translate_table)
    return SeqioInput(path, fmt, label, split, *options)


@dataclass(frozen=True)
class RegionInput:
    """Regions of a reference genome given by a BED file (see genoflow.io.regions): each region
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
        lines = (line for _, line in text_lines(self.path))
        rows = csv.reader(lines, skipinitialspace=True)
        try:
            yield from self._records(rows)
        except csv.Error as error:  # e.g. a NUL byte
            raise InputError(self.path, f"not CSV text ({error})", line=rows.line_num) from None

    def _records(self, rows) -> Iterator[tuple[FastaRecord, str | None, str | None]]:
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
                    self.path,
                    f"{len(row)} fields but {len(header)} columns",
                    line=line,
                    record=record_id,
                )
            residues, labels, *masks = (row[i].split() for i in where)
            for name, tokens in zip(wanted[1:], [labels, *masks], strict=True):
                if len(tokens) != len(residues):
                    raise InputError(
                        self.path,
                        f"{len(residues)} residues but {len(tokens)} tokens in column {name!r}",
                        line=line,
                        record=record_id,
                    )
            if UNLABELLED in labels:
                problem = f"label {UNLABELLED!r} is reserved for masked residues"
                raise InputError(self.path, problem, line=line, record=record_id)
            for name, mask in zip(self.mask_columns, masks, strict=True):
                labels = [
                    _masked(label, m, self.path, name, line, record_id)
                    for label, m in zip(labels, mask, strict=True)
                ]
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


BATCH_BYTES = 1 << 22  # sequence bytes of BED or CSV records checked at once


BATCH_RECORDS = 1 << 14


def batched(source) -> Iterator[tuple[FastaBatch, list, list]]:
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
        [r.id for r in records],
        [r.description for r in records],
        np.array([r.line for r in records], dtype=np.int64),
        b"".join(r.sequence for r in records),
        np.cumsum(lengths),
    )
    return batch, [label for _, label, _ in group], [split for _, _, split in group]


def read_sample_sheet(path: str | Path, **reading) -> list[FastaInput | SeqioInput]:
    """Read a sample sheet: TSV with columns `path`, `label` and optionally `split`.

    Relative paths are relative to the sample sheet's own folder, so a data folder can move.
    `reading` (format, feature_type, ...: see `sequence_input`) applies to every file.
    """
    path = Path(path)
    rows = read_tsv(path, required=("path", "label"), optional=("split",))
    inputs, problems = [], []
    for line, row in rows:
        fasta = Path(row["path"])
        if not fasta.is_absolute():
            fasta = path.parent / fasta
        if not row["path"]:
            problems.append((line, "empty path"))
        elif not fasta.is_file():
            problems.append((line, f"sequence file {row['path']!r} not found ({fasta})"))
        if not row["label"]:
            problems.append((line, "empty label"))
        if row.get("split") and row["split"] not in SPLIT_NAMES:
            problems.append((line, f"split {row['split']!r} is not one of {list(SPLIT_NAMES)}"))
        options = {"label": row["label"], "split": row.get("split") or None, **reading}
        inputs.append(sequence_input(fasta, **options))
    if problems:
        raise table_problems(path, problems)
    if not inputs:
        raise InputError(path, "sample sheet lists no FASTA files")
    return inputs
