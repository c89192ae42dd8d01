"""Genomic regions: BED intervals cut from an indexed reference FASTA, never loading the genome.

The reference is read by random access through its samtools-style `.fai` index (`samtools
faidx`), or through an index built in memory by one streaming pass when there is no `.fai`
file. BED is tab-separated and 0-based, half-open: chrom, start, end, then optionally name,
score, strand and further columns, one of which (`label_column`, 1-based) may hold a label.
Regions on the minus strand are reverse-complemented; `resize` cuts every region to a fixed
width around its centre. Every problem (a region beyond its chromosome's end, an unknown
chromosome, start >= end, a malformed line) is an error naming the BED file and line.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from genoflow.alphabets import reverse_complement
from genoflow.errors import InputError
from genoflow.formats.files import BOM, text_lines
from genoflow.io.fasta import FastaRecord

STRANDS = ("+", "-", ".")


@dataclass(frozen=True, slots=True)
class FaiEntry:
    length: int  # bases
    offset: int  # byte offset of the first base
    line_bases: int
    line_bytes: int  # with the line break


class Reference:
    """Random access to the sequences of an uncompressed FASTA file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(self.path, "reference FASTA not found")
        with open(self.path, "rb") as handle:
            if handle.read(2) == b"\x1f\x8b":
                raise InputError(
                    self.path,
                    "a gzip-compressed reference cannot be read by position; decompress it",
                )
        fai = Path(f"{self.path}.fai")
        self.index = read_fai(fai) if fai.is_file() else build_fai(self.path)
        self.handle = open(self.path, "rb")  # noqa: SIM115 - closed by close()

    def fetch(self, chrom: str, start: int, end: int) -> bytes:
        """Bases [start, end) of `chrom` (0-based), upper case."""
        entry = self.index[chrom]
        first = entry.offset + start // entry.line_bases * entry.line_bytes
        last = entry.offset + (end - 1) // entry.line_bases * entry.line_bytes
        skip = start % entry.line_bases
        raw = os.pread(self.handle.fileno(), last - first + entry.line_bytes, first)
        bases = raw.replace(b"\r", b"").replace(b"\n", b"")
        return bases[skip : skip + end - start].upper()

    def close(self) -> None:
        self.handle.close()


def read_fai(path: Path) -> dict[str, FaiEntry]:
    """A samtools .fai index: name, length, offset, line bases, line bytes per line."""
    index = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split("\t")
        try:
            name, numbers = fields[0], [int(v) for v in fields[1:5]]
            if len(numbers) != 4 or numbers[2] < 1 or numbers[3] < numbers[2]:
                raise ValueError
        except (ValueError, IndexError):
            raise InputError(
                path,
                "not a .fai index line (name, length, offset, line bases, line bytes)",
                line=number,
            ) from None
        index[name] = FaiEntry(*numbers)
    return index


def build_fai(path: Path) -> dict[str, FaiEntry]:
    """The .fai index of a FASTA file, built by one streaming pass (kept in memory)."""
    index: dict[str, FaiEntry] = {}
    name, offset, length, line_bases, line_bytes, short = None, 0, 0, 0, 0, False
    position = 0
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if number == 1 and line.startswith(BOM):  # offsets count it; the header does not
                position, line = len(BOM), line[len(BOM) :]
            if line.startswith(b">"):
                if name is not None:
                    index[name] = FaiEntry(length, offset, max(line_bases, 1), max(line_bytes, 1))
                name = line[1:].split()[0].decode() if line[1:].split() else None
                if not name:
                    raise InputError(path, "header has no sequence name", line=number)
                if name in index:
                    raise InputError(path, f"sequence name {name!r} appears twice", line=number)
                offset, length, line_bases, line_bytes, short = position + len(line), 0, 0, 0, False
            elif name is not None and line.strip():
                bases = len(line.rstrip(b"\r\n"))
                if short or (line_bases and bases > line_bases):
                    problem = f"lines of {name!r} differ in length: random access needs equal"
                    raise InputError(path, problem + " lines (except the last)", line=number)
                if not line_bases:
                    line_bases, line_bytes = bases, len(line)
                short = bases < line_bases
                length += bases
            position += len(line)
    if name is None:
        raise InputError(path, "no FASTA records found")
    index[name] = FaiEntry(length, offset, max(line_bases, 1), max(line_bytes, 1))
    return index


@dataclass(frozen=True, slots=True)
class Region:
    chrom: str
    start: int
    end: int
    name: str
    strand: str
    label: str | None
    line: int


def read_bed(
    path: str | Path, reference: Reference, label_column: int | None = None
) -> Iterator[Region]:
    """The regions of a BED file, checked against the reference's chromosomes."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "BED file not found")
    for number, line in text_lines(path):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        fields = line.rstrip("\r\n").split("\t")
        yield _region(path, number, fields, reference, label_column)


def _region(path, number, fields, reference, label_column) -> Region:
    where = dict(line=number)
    if len(fields) < 3:
        raise InputError(
            path, f"{len(fields)} tab-separated field(s); BED needs chrom, start, end", **where
        )
    chrom = fields[0]
    try:
        start, end = int(fields[1]), int(fields[2])
    except ValueError:
        raise InputError(
            path, f"start {fields[1]!r} and end {fields[2]!r} must be integers", **where
        ) from None
    if start < 0 or start >= end:
        raise InputError(path, f"start {start} must be >= 0 and below end {end}", **where)
    if chrom not in reference.index:
        known = ", ".join(list(reference.index)[:5])
        raise InputError(path, f"unknown chromosome {chrom!r}; the reference has {known}", **where)
    size = reference.index[chrom].length
    if end > size:
        raise InputError(path, f"end {end} is beyond the end of {chrom} ({size} bp)", **where)
    strand = fields[5] if len(fields) > 5 and fields[5] else "."
    if strand not in STRANDS:
        raise InputError(path, f"strand {strand!r} is not one of {list(STRANDS)}", **where)
    name = fields[3] if len(fields) > 3 and fields[3] not in ("", ".") else ""
    label = None
    if label_column is not None:
        if len(fields) < label_column or not fields[label_column - 1]:
            raise InputError(path, f"no label in column {label_column}", **where)
        label = fields[label_column - 1]
    return Region(chrom, start, end, name, strand, label, number)


def region_records(
    bed: str | Path,
    reference: Reference,
    *,
    resize: int | None = None,
    label_column: int | None = None,
) -> Iterator[tuple[FastaRecord, Region]]:
    """(record, region) per BED line: the region's bases (reverse-complemented on the minus
    strand, resized around the centre if asked), with the name or `chrom:start-end(strand)`
    (1-based, inclusive) as id."""
    for region in read_bed(bed, reference, label_column):
        start, end = region.start, region.end
        if resize is not None:
            start = (start + end) // 2 - resize // 2
            end = start + resize
            size = reference.index[region.chrom].length
            if start < 0 or end > size:
                raise InputError(
                    bed,
                    f"resized to {resize} bp around its centre, the region"
                    f" {region.chrom}:{start + 1}-{end} leaves the chromosome"
                    f" ({size} bp)",
                    line=region.line,
                )
        sequence = reference.fetch(region.chrom, start, end)
        if region.strand == "-":
            sequence = reverse_complement(sequence, "dna")
        record_id = region.name or f"{region.chrom}:{start + 1}-{end}({region.strand})"
        yield FastaRecord(record_id, record_id, sequence, region.line), region
