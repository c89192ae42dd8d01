"""Streaming FASTA reader: real quirky files, compression, line widths, and located errors."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import random
import re
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from genoflow.errors import InputError
from genoflow.io.fasta import read_fasta, read_fasta_batches

DATA = Path(__file__).parent / "data"
PHIX = DATA / "phix.fa"
MGEN = DATA / "Mycoplasma_genitalium.fna"


def records(path):
    return [(r.id, r.description, r.sequence) for r in read_fasta(path)]


def random_dna(n: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice("ACGT") for _ in range(n))


def wrap(sequence: str, width: int | None) -> str:
    if width is None:
        return sequence + "\n"
    return "".join(sequence[i : i + width] + "\n" for i in range(0, len(sequence), width))


# --- real files with real quirks -------------------------------------------------------------


def test_phix_crlf_is_read_without_carriage_returns():
    """phiX (CRLF line endings): one record of 5386 bp, no '\\r' in id, header or sequence."""
    assert b"\r\n" in PHIX.read_bytes()  # the fixture really is CRLF
    (record,) = list(read_fasta(PHIX))
    assert record.id == "1"
    assert record.description.startswith("1 phiX:")
    assert "\r" not in record.description
    assert b"\r" not in record.sequence and b"\n" not in record.sequence
    assert len(record.sequence) == 5386
    assert set(record.sequence) <= set(b"ACGT")
    assert record.sequence.startswith(
        b"GAGTTTTATCGCTTCCATGACGCAGAAGTTAACACTTTCGGATATTTCTGATGAGTCGAA"
    )
    assert record.line == 1


def test_mgenitalium_single_line_without_final_newline():
    """M. genitalium: one 580,076 bp record on one line with no final newline is read whole."""
    raw = MGEN.read_bytes()
    assert not raw.endswith(b"\n")  # the fixture really lacks the final newline
    (record,) = list(read_fasta(MGEN))
    assert record.id == "NC_000908.2"
    assert record.description == "NC_000908.2 Mycoplasma genitalium G37, complete sequence"
    assert len(record.sequence) == 580076
    assert record.sequence.startswith(b"TAAGTTATTATTTAGTTAATACTTTTAACAATATTATTAAGG")
    assert record.sequence.endswith(b"AATACTAAAAAAATAC")  # the last bytes, not cut off


# --- compression -----------------------------------------------------------------------------


def multi_member_gzip(data: bytes, cuts: list[int]) -> bytes:
    """Concatenated gzip members split at `cuts` (as bgzip does, mid-line included)."""
    bounds = [0, *cuts, len(data)]
    return b"".join(
        gzip.compress(data[a:b], compresslevel=1) for a, b in zip(bounds, bounds[1:], strict=False)
    )


@pytest.mark.parametrize("source", [PHIX, MGEN], ids=["phix", "mgenitalium"])
def test_gzip_and_multimember_gzip_equal_plain(tmp_path, source):
    """gzip and bgzip-like multi-member gzip files give exactly the records of the plain file."""
    data = source.read_bytes()
    plain = records(source)
    single = tmp_path / "single.fa.gz"
    single.write_bytes(gzip.compress(data, compresslevel=1))
    multi = tmp_path / "multi.fa.gz"
    cuts = list(range(65280, len(data), 65280)) or [len(data) // 3, len(data) // 2 + 7]
    multi.write_bytes(multi_member_gzip(data, cuts))
    assert multi.read_bytes().count(b"\x1f\x8b\x08") >= 2  # really several members
    assert records(single) == plain
    assert records(multi) == plain


def test_multimember_gzip_split_inside_header_and_crlf(tmp_path):
    """Member boundaries inside a header, between '\\r' and '\\n', and mid-sequence are seamless."""
    data = PHIX.read_bytes()
    crlf = data.index(b"\r\n")
    path = tmp_path / "phix.fa.gz"
    path.write_bytes(multi_member_gzip(data, [5, crlf + 1, crlf + 40, 3000]))
    assert records(path) == records(PHIX)


def test_compression_detected_by_content_not_name(tmp_path):
    """A gzip file without .gz and a plain file named .gz are both read correctly."""
    text = b">a x\nACGT\n>b\nGGCC\n"
    hidden_gzip = tmp_path / "reads.fa"
    hidden_gzip.write_bytes(gzip.compress(text))
    fake_gz = tmp_path / "plain.fa.gz"
    fake_gz.write_bytes(text)
    expected = [("a", "a x", b"ACGT"), ("b", "b", b"GGCC")]
    assert records(hidden_gzip) == expected
    assert records(fake_gz) == expected


def test_truncated_gzip_is_a_located_error(tmp_path):
    """A gzip stream cut short raises InputError naming the file, not a bare EOFError."""
    path = tmp_path / "cut.fa.gz"
    path.write_bytes(gzip.compress(b">r\n" + b"ACGT" * 5000 + b"\n")[:-30])
    with pytest.raises(InputError, match="cannot read compressed data") as info:
        list(read_fasta(path))
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("name", "compress"),
    [
        ("bzip2", bz2.compress),
        ("xz", lzma.compress),
        ("zip", None),
    ],
)
def test_unsupported_compression_is_named(tmp_path, name, compress):
    """bzip2, xz and zip inputs are refused with the format and the file in the message."""
    text = b">r\nACGT\n"
    if compress is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("r.fa", text)
        data = buffer.getvalue()
    else:
        data = compress(text)
    path = tmp_path / "seqs.fa"
    path.write_bytes(data)
    with pytest.raises(InputError, match=rf"{name}-compressed") as info:
        list(read_fasta(path))
    assert str(info.value).startswith(f"{path}:")


# --- layout: line width, case, blank lines ---------------------------------------------------


@pytest.mark.parametrize("width", [60, 80, 1, None], ids=["w60", "w80", "w1", "unwrapped"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_any_line_width_gives_the_same_sequence(tmp_path, width, newline):
    """The same records wrapped at 60, 80, 1 or not at all (LF or CRLF) read identically."""
    first, second = random_dna(1003, seed=1), random_dna(77, seed=2)
    text = f">first one\n{wrap(first, width)}>second\n{wrap(second, width)}"
    path = tmp_path / "wrapped.fa"
    path.write_bytes(text.replace("\n", newline).encode())
    assert records(path) == [
        ("first", "first one", first.encode()),
        ("second", "second", second.encode()),
    ]


def test_lowercase_is_kept_as_is(tmp_path):
    """The reader does not change case: soft-masked repeats stay lower case (ingest upper-cases)."""
    path = tmp_path / "masked.fa"
    path.write_text(">r\nACGTacgtNn\nggCC\n")
    assert records(path) == [("r", "r", b"ACGTacgtNnggCC")]


def test_blank_and_whitespace_lines_are_ignored(tmp_path):
    """Blank lines before, between and inside records (and trailing spaces) are skipped."""
    path = tmp_path / "blank.fa"
    path.write_text("\n\n>r1 first\nAC  \n\nGT\n   \n\n>r2\n\nTT\n\n\n")
    parsed = list(read_fasta(path))
    assert [(r.id, r.sequence, r.line) for r in parsed] == [("r1", b"ACGT", 3), ("r2", b"TT", 9)]


def test_header_line_numbers_are_one_based(tmp_path):
    """FastaRecord.line is the 1-based line of each header line."""
    path = tmp_path / "lines.fa"
    path.write_text(">a\nA\nC\n>b\nG\n>c\nT\n")
    assert [r.line for r in read_fasta(path)] == [1, 4, 6]


def test_multi_megabase_line_needs_about_twice_the_record_in_memory(tmp_path):
    """A chromosome on one 8 Mb line (and a record after it) is read whole and correctly, and
    the reader's peak allocation stays near two copies of the record (the line as read and
    the sequence), never a multiple of the file."""
    rng = np.random.default_rng(0)
    chromosome = np.frombuffer(b"ACGT", dtype=np.uint8)[rng.integers(0, 4, 8_000_000)].tobytes()
    path = tmp_path / "chr.fa"
    path.write_bytes(b">chr1 one line\n" + chromosome + b"\n>tail\nACGT\n")
    tracemalloc.start()
    try:
        sizes = []
        for record in read_fasta(path):
            sizes.append(len(record.sequence))
            if record.id == "chr1":
                assert record.sequence == chromosome
            del record
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sizes == [8_000_000, 4]
    assert peak < 2.5 * len(chromosome)


def test_reader_streams_one_record_at_a_time(tmp_path):
    """read_fasta is lazy: the first record is available before a later bad record is reached."""
    path = tmp_path / "late_error.fa"
    path.write_text(">good\nACGT\n>bad\n>after\nAC\n")
    reader = read_fasta(path)
    assert next(reader).id == "good"
    with pytest.raises(InputError, match="empty sequence"):
        next(reader)


# --- errors name the file, the line and the record -------------------------------------------

UCI_LINE = (
    "EI,    ATRINS-DONOR-521,               "
    "CCAGCTGCATCACAGGAGGCCAGCGAGCAGGTCTGTTCCAAGGGCCTTCGAGCCAGTCTG\n"
)


def test_csv_text_is_not_fasta(tmp_path):
    """Raw UCI CSV text (no '>' header) is refused with file:line and what was found."""
    path = tmp_path / "spliceData.fa"
    path.write_text("\n" + UCI_LINE * 3)
    with pytest.raises(InputError) as info:
        list(read_fasta(path))
    message = str(info.value)
    assert message.startswith(f"{path}:2: not a FASTA file")
    assert "'>'" in message and "ATRINS-DONOR-521" in message
    assert info.value.line == 2


def test_binary_file_is_not_fasta(tmp_path):
    """A binary file (NUL bytes) is refused as binary data, with file and line."""
    path = tmp_path / "model.fa"
    path.write_bytes(b"\x93NUMPY\x01\x00v\x00{'descr': '<f8'}\n" + bytes(range(256)))
    with pytest.raises(InputError, match="binary data") as info:
        list(read_fasta(path))
    assert str(info.value).startswith(f"{path}:1:")


@pytest.mark.parametrize(
    "content", [b"", b"\n\n  \n", gzip.compress(b"")], ids=["empty", "blank", "empty-gzip"]
)
def test_empty_file_is_an_error(tmp_path, content):
    """A file with no records (empty, only blank lines, or empty gzip) is an error naming it."""
    path = tmp_path / "empty.fa"
    path.write_bytes(content)
    with pytest.raises(InputError, match="no FASTA records") as info:
        list(read_fasta(path))
    assert str(info.value).startswith(str(path))


@pytest.mark.parametrize("header", [">", ">   "], ids=["bare", "spaces"])
def test_header_without_id(tmp_path, header):
    """A '>' line with no id is refused with the file and the header's line number."""
    path = tmp_path / "noid.fa"
    path.write_text(f">r1\nACGT\n{header}\nACGT\n")
    with pytest.raises(InputError, match="header has no record id") as info:
        list(read_fasta(path))
    assert str(info.value).startswith(f"{path}:3:")


@pytest.mark.parametrize(
    ("text", "line"),
    [(">r1\nAC\n>r2\n>r3\nAC\n", 3), (">r1\nAC\n>r2\n", 3), (">r2\n\n\n>r3\nAC\n", 1)],
    ids=["middle", "last", "only-blank-lines"],
)
def test_record_with_empty_sequence_is_named(tmp_path, text, line):
    """A header followed by no sequence is refused naming file, header line and record id."""
    path = tmp_path / "hollow.fa"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        list(read_fasta(path))
    assert str(info.value) == f"{path}:{line}: record 'r2': empty sequence"
    assert (info.value.record, info.value.line) == ("r2", line)


@pytest.mark.parametrize("name", ["phix.fa", "Mycoplasma_genitalium.fna", "splice_excerpt.fa"])
def test_fixture_bytes_match_the_documented_sha256(name):
    """Each fixture is byte-identical to the sha256 in tests/data/README.md (e.g. no CRLF lost)."""
    readme = (DATA / "README.md").read_text()
    section = readme.split(f"## `{name}`", 1)[1].split("\n## ", 1)[0]
    documented = re.search(r"\| sha256 \| `([0-9a-f]{64})`", section).group(1)
    assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == documented


# --- the chunked parser: every chunk boundary gives what a line-by-line reader gives ---------


def line_by_line(path, allow_empty=False):
    """The reference: genoflow's earlier line-by-line reader (plain files), as (records, error)."""
    found, header, header_line, chunks = [], None, 0, []

    def finish():
        description = header.decode("utf-8", errors="replace").strip()
        if not description:
            raise InputError(path, "header has no record id", line=header_line)
        sequence = b"".join(chunks)
        if not sequence and not allow_empty:
            raise InputError(
                path, "empty sequence", line=header_line, record=description.split()[0]
            )
        found.append((description.split()[0], description, sequence, header_line))

    try:
        for number, raw_line in enumerate(io.BytesIO(Path(path).read_bytes()), start=1):
            line = raw_line.rstrip(b"\r\n")
            if line.startswith(b">"):
                if header is not None:
                    finish()
                header, header_line, chunks = line[1:], number, []
            elif header is None:
                if line.strip():
                    raise InputError(path, "not a FASTA file", line=number)
            elif line:
                chunks.append(line.rstrip())
        if header is None:
            raise InputError(path, "no FASTA records found (empty file?)")
        finish()
    except InputError as error:
        return found, (error.line, error.record, error.problem.split(":")[0])
    return found, None


def chunked(path, chunk_bytes, allow_empty=False):
    found = []
    try:
        for batch in read_fasta_batches(path, allow_empty=allow_empty, chunk_bytes=chunk_bytes):
            found += [(r.id, r.description, r.sequence, r.line) for r in batch.records()]
    except InputError as error:
        return found, (error.line, error.record, error.problem.split(":")[0])
    return found, None


QUIRKY = [
    b">r1 first one\nACGT\nAC\n>r2\nGGGG\n",
    b">r1 x\r\nACGT\r\nAC\r\n>r2 y\r\nGG\r\n",  # CRLF
    b">r1\nACGTACGTACGT",  # no final newline
    b">r1\r\nACGT\r",  # a lone CR at the very end
    b"\n \n>r1 a\nAC  \n\nGT\n   \n\n>r2\n\nTT\n\n\n",  # blank lines, trailing spaces
    b">r1\n" + b"ACGT" * 40 + b"\n>r2 long header " + b"h" * 50 + b"\nAC\n",  # long lines
    b">r1\nAC\tGT \t \r\n>r2\n  AC\n",  # inner and leading whitespace stay
    b">r1\nA\n>r2\n>r3\nC\n",  # an empty record
    b">r1\nA\n>  \nC\n",  # a header without id
    b"\n\nACGT\n>r1\nA\n",  # text before the first header
    b">r1\nA\n>r2\n",  # an empty last record
    b">\xc3\xa9t\xc3 caf\xc3\xa9\nAC\n>r2 \xff\nA>C\n",  # UTF-8, a bad byte, '>' inside a line
    b">r1\tx y\n>r2\x1cz w\nA\n>\tr3 \nC\n",  # ids end at any whitespace
    b"",  # empty file
    b"\n  \n",  # only blank lines
]


@pytest.mark.parametrize("text", QUIRKY, ids=range(len(QUIRKY)))
@pytest.mark.parametrize("allow_empty", [False, True], ids=["strict", "allow-empty"])
def test_every_chunk_size_reads_like_the_line_reader(tmp_path, text, allow_empty):
    """Chunks of 1 to 23 bytes (so boundaries fall inside headers, between CR and LF, inside
    trailing whitespace, in blank lines) give the records and the error of a line reader."""
    path = tmp_path / "quirky.fa"
    path.write_bytes(text)
    expected = line_by_line(path, allow_empty)
    for chunk_bytes in [*range(1, 24), 1 << 21]:
        assert chunked(path, chunk_bytes, allow_empty) == expected, chunk_bytes


def test_random_files_in_small_chunks_match_the_line_reader(tmp_path):
    """Random records (widths, CRLF, blank lines, trailing spaces, long records) read in small
    chunks, plain and gzip, equal the line reader's records."""
    rng = random.Random(3)
    for trial in range(20):
        newline = rng.choice([b"\n", b"\r\n"])
        parts = []
        for i in range(rng.randint(1, 30)):
            parts.append(b">r%d desc %d" % (i, trial) + newline)
            sequence = random_dna(rng.choice([1, 5, 80, 333, 5000]), seed=trial * 100 + i)
            width = rng.choice([1, 7, 60, 80, 10_000])
            for start in range(0, len(sequence), width):
                parts.append(sequence[start : start + width].encode() + rng.choice([b"", b" "]))
                parts.append(newline + rng.choice([b"", b"", newline]))
        text = b"".join(parts)
        if rng.random() < 0.3:
            text = text.rstrip(b"\r\n")
        path = tmp_path / f"random{trial}.fa"
        path.write_bytes(text)
        expected = line_by_line(path)
        assert expected[1] is None
        for chunk_bytes in (3, 64, 1000, 4096):
            assert chunked(path, chunk_bytes) == expected
        packed = tmp_path / f"random{trial}.fa.gz"
        packed.write_bytes(gzip.compress(text, compresslevel=1))
        assert chunked(packed, 1000) == expected


def test_batches_hold_the_records_that_end_in_a_chunk(tmp_path):
    """A batch's joined sequences and ends give each record; a record longer than a chunk
    arrives whole in the batch of the chunk where it ends."""
    path = tmp_path / "b.fa"
    path.write_bytes(b">a one\nAC\nGT\n>b\n" + b"T" * 100 + b"\n>c\nG\n")
    batches = list(read_fasta_batches(path, chunk_bytes=16))
    assert sum(len(b) for b in batches) == 3
    records = [r for b in batches for r in b.records()]
    assert [(r.id, r.sequence, r.line) for r in records] == [
        ("a", b"ACGT", 1),
        ("b", b"T" * 100, 4),
        ("c", b"G", 6),
    ]
    for batch in batches:
        assert batch.ends[-1] == len(batch.sequences)


@pytest.mark.parametrize("isal", [True, False], ids=["isal-if-installed", "zlib"])
def test_gzip_with_and_without_isal(tmp_path, monkeypatch, isal):
    """gzip input reads the same with python-isal's threaded reader and with the standard
    library's (isal is optional), multi-member and truncated files included."""
    if not isal:
        monkeypatch.setitem(sys.modules, "isal", None)  # import isal fails: zlib
    data = PHIX.read_bytes()
    multi = tmp_path / "multi.fa.gz"
    multi.write_bytes(multi_member_gzip(data, [5, 3000]))
    assert chunked(multi, 1000) == line_by_line(PHIX)
    cut = tmp_path / "cut.fa.gz"
    cut.write_bytes(gzip.compress(b">r\n" + b"ACGT" * 5000 + b"\n")[:-30])
    with pytest.raises(InputError, match="cannot read compressed data"):
        list(read_fasta(cut))


def test_batches_need_memory_for_a_chunk_not_the_file(tmp_path):
    """Reading a 24 MB file of short records in 1 MiB chunks allocates a few chunks' worth at
    most (the chunk, numpy's masks and indices, the batch), never a share of the file."""
    rng = np.random.default_rng(0)
    body = np.frombuffer(b"ACGT", dtype=np.uint8)[rng.integers(0, 4, (100_000, 240))]
    rows = np.full((100_000, 241), ord("\n"), dtype=np.uint8)
    rows[:, :240] = body
    headers = [f">r{i} x\n".encode() for i in range(100_000)]
    path = tmp_path / "many.fa"
    with open(path, "wb") as out:
        for header, row in zip(headers, rows, strict=True):
            out.write(header + row.tobytes())
    tracemalloc.start()
    try:
        count = sum(len(batch) for batch in read_fasta_batches(path, chunk_bytes=1 << 20))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 100_000
    assert peak < 16 * (1 << 20) < path.stat().st_size
