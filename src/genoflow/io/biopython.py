"""The sequence formats and genetic codes Biopython knows: checked by the config (before any
job runs) and by the reader (genoflow.io.seqio). Kept apart from the reader so that the config
check imports nothing of genoflow's own reading code."""

from __future__ import annotations

from pathlib import Path

from genoflow.errors import InputError

# Binary formats (traces, 2bit, ...): read from bytes; with no lines, messages name record numbers.
BINARY = ("abi", "abi-trim", "gck", "nib", "sff", "sff-trim", "snapgene", "twobit", "xdna")


def formats() -> list[str]:
    """The names of the formats Biopython reads sequences from (SeqIO and AlignIO)."""
    from Bio import AlignIO, SeqIO

    # (Biopython keeps the list only in these module dicts; `SeqIO.parse` reads them too.)
    return sorted(set(SeqIO._FormatToIterator) | set(AlignIO._FormatToIterator))


def check_format(name: str, path: str | Path | None = None) -> None:
    """Refuse a format name Biopython cannot read, listing the ones it can."""
    if name == "fasta":
        return
    known = formats()
    if name not in known:
        raise InputError(path, f"format {name!r} is not one Biopython reads; use one of {known}")


def check_table(table: int, path: str | Path | None = None) -> None:
    """Refuse a genetic code that NCBI does not define."""
    from Bio.Data.CodonTable import unambiguous_dna_by_id

    if table not in unambiguous_dna_by_id:
        known = sorted(unambiguous_dna_by_id)
        raise InputError(path, f"translate table {table} is not an NCBI genetic code {known}")
