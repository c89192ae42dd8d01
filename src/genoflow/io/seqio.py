"""Sequence files in any text format Biopython reads (`Bio.SeqIO`): GenBank, EMBL, FASTQ,
Stockholm, Clustal, SwissProt, ... as records for ingest and predict.

FASTA keeps its own streaming reader (`io.fasta`, the fast path); this module is the path for
every other format, and for FASTA when coding sequences are to be translated. Options:

- `feature_type` (GenBank, EMBL, ...): a record per annotated feature of that type (e.g. CDS),
  its sequence extracted strand-aware (joins of exons included); its id is the feature's
  /locus_tag, /protein_id or /gene, else `<record>:<start>-<end>(<strand>)`, and its label may
  come from a qualifier (`label_qualifier`, e.g. product).
- `translate_table`: coding sequences become proteins with that NCBI table (a feature's own
  /transl_table wins), honouring /codon_start; a first codon that is a start codon of the table
  reads as M (as Biopython's `translate(cds=True)` does, without its strictness about stops).
  A final stop '*' is left for ingest to drop; internal stops are letters outside the protein
  alphabet, handled by the `invalid` policy.

Line numbers (for messages and the duplicate-id report) are where the parser began the record:
exact for GenBank, EMBL and FASTQ; for alignments, the first line naming the record; binary
formats (ABI and SFF traces, 2bit, nib, ...) have no lines: there, a record's number.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path

from genoflow.errors import InputError
from genoflow.io.biopython import BINARY, check_format, check_table
from genoflow.io.fasta import FastaRecord, open_binary

# Formats whose parser reads the next record's first line before it hands over a record.
_LOOKAHEAD = ("fastq", "fastq-sanger", "fastq-solexa", "fastq-illumina")
ID_QUALIFIERS = ("locus_tag", "protein_id", "gene")  # a feature's id: the first it has
GAPS = b"-."  # alignment columns where a sequence has no residue
# What Biopython's parsers raise on a malformed file (besides ValueError, a few raise these).
PARSE_ERRORS = (ValueError, AssertionError, IndexError, KeyError, UnicodeDecodeError, EOFError)


def _is_alignment(name: str) -> bool:
    from Bio import AlignIO

    return name in AlignIO._FormatToIterator


class _CountingText(io.TextIOBase):
    """A text handle that counts the lines handed to the parser (which reads with readline,
    iteration or read)."""

    def __init__(self, handle) -> None:
        self.handle, self.lines = handle, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        text = self.handle.read(size)
        self.lines += text.count("\n")
        return text

    def readline(self, size: int | None = -1) -> str:
        text = self.handle.readline(size)
        self.lines += text.count("\n")
        return text

    def __next__(self) -> str:
        text = self.readline()
        if not text:
            raise StopIteration
        return text

    def __iter__(self):
        return self


def read_seqio(
    path: str | Path,
    fmt: str,
    *,
    feature_type: str | None = None,
    label_qualifier: str | None = None,
    translate_table: int | None = None,
) -> Iterator[tuple[FastaRecord, str | None]]:
    """(record, label from `label_qualifier` or None) per record (or per feature) of a file in
    Biopython format `fmt` (plain or gzip), raising InputError naming file, line and record."""
    from Bio import SeqIO

    path = Path(path)
    check_format(fmt, path)
    if translate_table is not None:
        check_table(translate_table)
    if not path.is_file():
        raise InputError(path, "file not found")
    binary = fmt in BINARY
    with contextlib.ExitStack() as stack:
        raw = stack.enter_context(open_binary(path))
        if binary:  # no lines: a record's "line" is its number in the file
            handle = _CountingText(None)
        else:
            handle = _CountingText(stack.enter_context(io.TextIOWrapper(raw, encoding="utf-8-sig")))
        starts = _alignment_lines(path) if _is_alignment(fmt) else None
        records, begun, number = None, 1, 0
        while True:
            try:
                if records is None:  # (some parsers read a header here already)
                    records = SeqIO.parse(raw if binary else handle, fmt)
                record = next(records)
            except StopIteration:
                break
            except PARSE_ERRORS as error:
                where = f"after record {number}" if number else "in the first record"
                problem = f"not valid {fmt} ({where}): {error}"
                line = number + 1 if binary else max(handle.lines, 1)
                raise InputError(path, problem, line=line) from None
            number += 1
            if binary:
                line = number
            elif starts is not None:
                line = starts.get(record.id, 1)
            else:
                line = begun
            begun = handle.lines + (0 if fmt in _LOOKAHEAD else 1)
            if feature_type is None:
                sequence = _sequence_of(record, path, line, fmt)
                if translate_table is not None:
                    where = (path, line, record.id)
                    sequence = _translated(sequence, translate_table, 1, True, *where)
                yield FastaRecord(record.id, record.description, sequence, line), None
                continue
            yield from _features(record, path, line, feature_type, label_qualifier, translate_table)
        if number == 0:
            raise InputError(path, f"no {fmt} records found (is the format right?)")


def _sequence_of(record, path: Path, line: int, fmt: str) -> bytes:
    from Bio.Seq import UndefinedSequenceError

    try:
        sequence = bytes(record.seq)
    except UndefinedSequenceError:
        problem = "the record has no sequence (only its length, e.g. a CONTIG or WGS record)"
        raise InputError(path, problem, line=line, record=record.id) from None
    return sequence.translate(None, GAPS) if _is_alignment(fmt) else sequence


def _features(record, path, line, feature_type, label_qualifier, translate_table):
    """A record per feature of `feature_type` of one annotated record."""
    genome = _sequence_of(record, path, line, "genbank")
    from Bio.Seq import Seq

    genome = Seq(genome)
    for feature in record.features:
        if feature.type != feature_type:
            continue
        qualifiers = feature.qualifiers
        location = feature.location
        strand = "-" if location.strand == -1 else "+"
        where = f"{record.id}:{int(location.start) + 1}-{int(location.end)}({strand})"
        named = [qualifiers[key][0] for key in ID_QUALIFIERS if key in qualifiers]
        feature_id = named[0] if named else where
        label = None
        if label_qualifier is not None:
            if label_qualifier not in qualifiers:
                problem = f"{feature_type} at {where} has no /{label_qualifier} qualifier"
                raise InputError(path, problem, line=line, record=feature_id)
            label = qualifiers[label_qualifier][0]
        try:
            sequence = bytes(feature.extract(genome))
        except ValueError as error:  # e.g. a location outside the record
            problem = f"{feature_type} at {where}: {error}"
            raise InputError(path, problem, line=line, record=feature_id) from None
        if translate_table is not None:
            try:
                table = int(qualifiers.get("transl_table", [translate_table])[0])
                offset = int(qualifiers.get("codon_start", ["1"])[0])
            except ValueError as error:
                problem = f"{feature_type} at {where}: a /transl_table or /codon_start {error}"
                raise InputError(path, problem, line=line, record=feature_id) from None
            whole = not _five_prime_partial(location)
            sequence = _translated(sequence, table, offset, whole, path, line, feature_id)
        notes = "; ".join(f"{key}={values[0]}" for key, values in qualifiers.items())
        description = f"{feature_id} {where} {feature_type} {notes}".rstrip()
        yield FastaRecord(feature_id, description, sequence, line), label


def _five_prime_partial(location) -> bool:
    """Whether a feature's 5' end lies outside the sequence (`<` on +, `>` on - strand)."""
    from Bio.SeqFeature import AfterPosition, BeforePosition

    if location.strand == -1:
        return isinstance(location.end, AfterPosition)
    return isinstance(location.start, BeforePosition)


def _translated(
    sequence: bytes, table: int, codon_start: int, complete_start: bool, path, line, record_id
) -> bytes:
    """The protein of a coding sequence (whole codons from `codon_start`, 1-based)."""
    from Bio.Data.CodonTable import TranslationError, unambiguous_dna_by_id
    from Bio.Seq import Seq

    check_table(table, path)
    coding = sequence[codon_start - 1 :]
    coding = coding[: len(coding) - len(coding) % 3]
    try:
        protein = str(Seq(coding).translate(table=table)).encode()
    except TranslationError as error:
        raise InputError(path, f"cannot translate: {error}", line=line, record=record_id) from None
    first = coding[:3].upper().replace(b"U", b"T").decode("ascii", "replace")
    if complete_start and codon_start == 1 and first in unambiguous_dna_by_id[table].start_codons:
        protein = b"M" + protein[1:]
    return protein


def _alignment_lines(path: Path) -> dict[str, int]:
    """The first line naming each sequence of an alignment file (by its first word)."""
    lines: dict[str, int] = {}
    with io.TextIOWrapper(open_binary(path), encoding="utf-8-sig") as handle:
        for number, text in enumerate(handle, start=1):
            words = text.split(None, 1)
            if words:
                lines.setdefault(words[0].lstrip(">"), number)
    return lines
