"""Ingest: FASTA + labels -> sequences.tsv, rejected.tsv, summary.json, with located errors."""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from pathlib import Path

import numpy as np
import pytest

from genoflow.errors import InputError
from genoflow.io.ingest import ingest
from genoflow.io.sources import FastaInput, read_sample_sheet
from genoflow.io.tables import read_label_table

DATA = Path(__file__).parent / "data"
SPLICE = DATA / "splice_excerpt.fa"
PHIX = DATA / "phix.fa"
MGEN = DATA / "Mycoplasma_genitalium.fna"
HEADER_LABEL = r"^\S+\s+(\S+)"  # `>ID LABEL`: the second header token is the label

# The 15 UCI splice records whose sequence holds an IUPAC code (D, N, R or S).
SPLICE_AMBIGUOUS = {
    "HUMALPI1-DONOR-42",
    "HUMCSPB-DONOR-2010",
    "HUMH19-DONOR-2562",
    "HUMH19-DONOR-2766",
    "HUMMHCD8A-DONOR-1087",
    "HUMMHB27B-ACCEPTOR-1202",
    "HUMSPRO-ACCEPTOR-2841",
    "HUMSPRO-ACCEPTOR-3195",
    "HUMC1A1-NEG-3901",
    "HUMFERG2-NEG-1",
    "HUMGCB-NEG-2281",
    "HUMMHB27B-NEG-1201",
    "HUMMHDRR2-NEG-121",
    "HUMMHDRS1-NEG-241",
    "HUMRSCNTT-NEG-121",
}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def read_table(path: Path) -> list[dict[str, str]]:
    """Rows of an ingest TSV (split by hand: csv caps fields at 128 kB, a genome is longer)."""
    header, *lines = path.read_text().splitlines()
    columns = header.split("\t")
    return [dict(zip(columns, line.split("\t"), strict=True)) for line in lines]


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --- sample sheets ---------------------------------------------------------------------------


def test_sample_sheet_paths_are_relative_to_the_sheet(tmp_path, monkeypatch):
    """Relative FASTA paths resolve against the sheet's folder, not the working directory."""
    write(tmp_path / "data" / "fa" / "pos.fa", ">p1\nACGT\n")
    write(tmp_path / "data" / "sheets" / "neg.fa", ">n1\nTTTT\n")
    sheet = write(
        tmp_path / "data" / "sheets" / "samples.tsv",
        "# a comment\npath\tlabel\tsplit\n../fa/pos.fa\tpos\ttrain\nneg.fa\tneg\t\n",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    inputs = read_sample_sheet(sheet)
    assert [(p.path.resolve(), p.label, p.split) for p in inputs] == [
        ((tmp_path / "data" / "fa" / "pos.fa").resolve(), "pos", "train"),
        ((tmp_path / "data" / "sheets" / "neg.fa").resolve(), "neg", None),
    ]


def test_sample_sheet_missing_fasta_names_sheet_and_line(tmp_path):
    """A listed FASTA file that does not exist is reported as sheet:line with the path given."""
    write(tmp_path / "a.fa", ">a\nACGT\n")
    sheet = write(tmp_path / "samples.tsv", "# comment\npath\tlabel\na.fa\tx\nmissing.fa\ty\n")
    with pytest.raises(InputError) as info:
        read_sample_sheet(sheet)
    assert str(info.value).startswith(f"{sheet}:4: sequence file 'missing.fa' not found")


@pytest.mark.parametrize("value", ["training", "Test", "holdout"])
def test_sample_sheet_bad_split_value(tmp_path, value):
    """A split other than train/val/test is refused naming the sheet, line and the value."""
    write(tmp_path / "a.fa", ">a\nACGT\n")
    sheet = write(tmp_path / "samples.tsv", f"path\tlabel\tsplit\na.fa\tx\t{value}\n")
    with pytest.raises(InputError, match=rf"split '{value}' is not one of") as info:
        read_sample_sheet(sheet)
    assert str(info.value).startswith(f"{sheet}:2:")


def test_sample_sheet_missing_column(tmp_path):
    """A sheet without the `label` column says which column is missing."""
    sheet = write(tmp_path / "samples.tsv", "path\nA.fa\n")
    with pytest.raises(InputError, match=r"missing column\(s\) \['label'\]") as info:
        read_sample_sheet(sheet)
    assert str(sheet) in str(info.value)


def test_ingest_through_sample_sheet_labels_every_record_of_a_file(tmp_path):
    """Per-file labels and splits from the sheet reach every record in sequences.tsv."""
    write(tmp_path / "pos.fa", ">p1\nACGT\n>p2\nAAAA\n")
    (tmp_path / "neg.fa.gz").write_bytes(gzip.compress(b">n1\nTTTT\n"))
    sheet = write(
        tmp_path / "s.tsv", "path\tlabel\tsplit\npos.fa\tpos\ttrain\nneg.fa.gz\tneg\ttest\n"
    )
    ingest(read_sample_sheet(sheet), tmp_path / "out", alphabet="dna")
    rows = read_table(tmp_path / "out" / "sequences.tsv")
    assert [(r["id"], r["label"], r["split"], r["source"]) for r in rows] == [
        ("p1", "pos", "train", "pos.fa"),
        ("p2", "pos", "train", "pos.fa"),
        ("n1", "neg", "test", "neg.fa.gz"),
    ]


def test_real_quirky_genomes_ingest(tmp_path):
    """CRLF phiX and the one-line M. genitalium genome ingest to clean single-line rows."""
    out = tmp_path / "out"
    summary = ingest(
        [FastaInput(PHIX, "phage"), FastaInput(MGEN, "bacterium")], out, alphabet="dna"
    )
    raw = (out / "sequences.tsv").read_bytes()
    assert b"\r" not in raw
    rows = read_table(out / "sequences.tsv")
    assert [(r["id"], len(r["sequence"])) for r in rows] == [("1", 5386), ("NC_000908.2", 580076)]
    assert summary["length"] == {"min": 5386, "max": 580076, "mean": 292731.0, "median": 292731.0}


# --- labels from header tokens ---------------------------------------------------------------


def test_header_token_labels_on_splice_excerpt(tmp_path):
    """label_pattern group 1 taken from `>ID LABEL` headers gives the three splice classes."""
    summary = ingest(
        [FastaInput(SPLICE)], tmp_path / "out", alphabet="dna", label_pattern=HEADER_LABEL
    )
    assert summary["classes"] == {"EI": 25, "IE": 23, "N": 27}
    assert summary["records"] == 75
    rows = read_table(tmp_path / "out" / "sequences.tsv")
    assert rows[0]["id"] == "ATRINS-DONOR-521" and rows[0]["label"] == "EI"
    kind = {"DONOR": "EI", "ACCEPTOR": "IE", "NEG": "N"}  # UCI ids name the class too
    assert all(r["label"] == kind[r["id"].split("-")[-2]] for r in rows)
    assert all(len(r["sequence"]) == 60 for r in rows)
    assert summary["label_source"] == {"header_pattern": HEADER_LABEL}


def test_header_pattern_no_match_names_file_line_record(tmp_path):
    """A header without the label token is refused naming file, line, record and the pattern."""
    fasta = write(tmp_path / "a.fa", ">r1 EI\nACGT\n>r2\nACGT\n")
    with pytest.raises(InputError) as info:
        ingest([FastaInput(fasta)], tmp_path / "out", alphabet="dna", label_pattern=HEADER_LABEL)
    message = str(info.value)
    assert message.startswith(f"{fasta}:3: record 'r2': header 'r2' does not match label pattern")
    assert repr(HEADER_LABEL) in message


def test_header_pattern_needs_a_capture_group(tmp_path):
    """A label pattern without a capture group is refused before anything is read."""
    fasta = write(tmp_path / "a.fa", ">r1 EI\nACGT\n")
    with pytest.raises(InputError, match="needs one capture group"):
        ingest([FastaInput(fasta)], tmp_path / "out", alphabet="dna", label_pattern=r"\s\S+")


# --- labels from a table ---------------------------------------------------------------------


def test_label_table_gives_labels_and_splits(tmp_path):
    """id -> label (and split) from a TSV reach sequences.tsv; label_source records its sha256."""
    fasta = write(tmp_path / "a.fa", ">r1\nACGT\n>r2\nGGGG\n")
    table = write(tmp_path / "labels.tsv", "id\tlabel\tsplit\nr2\tneg\ttest\nr1\tpos\t\n")
    summary = ingest([FastaInput(fasta)], tmp_path / "out", alphabet="dna", label_table=table)
    rows = read_table(tmp_path / "out" / "sequences.tsv")
    assert [(r["id"], r["label"], r["split"]) for r in rows] == [
        ("r1", "pos", ""),
        ("r2", "neg", "test"),
    ]
    assert summary["label_source"] == {
        "table": str(table),
        "sha256": hashlib.sha256(table.read_bytes()).hexdigest(),
    }


def test_label_table_ids_matching_no_record(tmp_path):
    """Table ids absent from every FASTA file are an error naming the table and those ids."""
    fasta = write(tmp_path / "a.fa", ">r1\nACGT\n")
    table = write(tmp_path / "labels.tsv", "id\tlabel\nr1\tpos\nghost1\tneg\nghost2\tneg\n")
    with pytest.raises(InputError) as info:
        ingest([FastaInput(fasta)], tmp_path / "out", alphabet="dna", label_table=table)
    message = str(info.value)
    assert message.startswith(f"{table}: 2 label id(s) match no FASTA record")
    assert "ghost1" in message and "ghost2" in message


def test_label_table_record_without_label(tmp_path):
    """A FASTA record missing from the table is an error naming the FASTA file, line and record."""
    fasta = write(tmp_path / "a.fa", ">r1\nACGT\n>r2\nACGT\n")
    table = write(tmp_path / "labels.tsv", "id\tlabel\nr1\tpos\n")
    with pytest.raises(InputError) as info:
        ingest([FastaInput(fasta)], tmp_path / "out", alphabet="dna", label_table=table)
    assert str(info.value) == f"{fasta}:3: record 'r2': no label for this record in the label table"


def test_label_table_duplicate_id(tmp_path):
    """An id listed twice in the table is refused naming the table, the line and the id."""
    table = write(tmp_path / "labels.tsv", "id\tlabel\nr1\tpos\nr2\tneg\nr1\tneg\n")
    with pytest.raises(InputError) as info:
        read_label_table(table)
    assert str(info.value) == f"{table}:4: id 'r1' appears twice"


def test_label_table_with_skipped_records(tmp_path):
    """A record dropped under skip_record does not make its label-table id count as unmatched."""
    fasta = write(tmp_path / "a.fa", ">r1\nACGT\n>r2\nACNT\n>r3\nAAAA\n")
    table = write(tmp_path / "labels.tsv", "id\tlabel\nr1\tx\nr2\ty\nr3\ty\n")
    summary = ingest(
        [FastaInput(fasta)],
        tmp_path / "out",
        alphabet="dna",
        label_table=table,
        ambiguous="skip_record",
    )
    assert summary["records"] == 2 and summary["rejected"] == 1


# --- duplicate record ids --------------------------------------------------------------------


def test_duplicate_ids_are_an_error_naming_both_places(tmp_path):
    """By default a repeated id is refused, naming the second place and the first one."""
    first = write(tmp_path / "a.fa", ">r0\nTTTT\n>r1\nACGT\n")
    second = write(tmp_path / "b.fa", ">x\nGG\n>r1\nACGT\n")
    with pytest.raises(InputError) as info:
        ingest([FastaInput(first, "a"), FastaInput(second, "a")], tmp_path / "out", alphabet="dna")
    assert str(info.value) == f"{second}:3: record 'r1': duplicate id, first seen at {first}:3"


def test_drop_identical_drops_exact_repeats_and_lists_them(tmp_path):
    """drop_identical keeps the first of identical repeats and lists the others in rejected.tsv."""
    fasta = write(
        tmp_path / "a.fa", ">r1 x\nACGT\n>r2 x\nGGGG\n>r1 x\nacgt\n>r1 x\nACGT\n>r3 y\nTTTT\n"
    )
    out = tmp_path / "out"
    summary = ingest(
        [FastaInput(fasta)],
        out,
        alphabet="dna",
        label_pattern=HEADER_LABEL,
        duplicate_ids="drop_identical",
    )
    assert [r["id"] for r in read_table(out / "sequences.tsv")] == ["r1", "r2", "r3"]
    rejected = read_table(out / "rejected.tsv")
    assert [(r["file"], r["line"], r["id"]) for r in rejected] == [
        (str(fasta), "5", "r1"),
        (str(fasta), "7", "r1"),
    ]
    assert all(f"identical to the record at {fasta}:1" in r["reason"] for r in rejected)
    assert summary["duplicate_ids_dropped"] == 2
    assert summary["rejected_reasons"] == {"duplicate id": 2}
    assert summary["records"] == 3


@pytest.mark.parametrize(
    "second", [">r1 x\nACGA\n", ">r1 y\nACGT\n"], ids=["other-sequence", "other-label"]
)
def test_drop_identical_still_fails_on_conflicting_duplicates(tmp_path, second):
    """Under drop_identical, a repeated id with another sequence or label is still an error."""
    fasta = write(tmp_path / "a.fa", ">r1 x\nACGT\n" + second)
    with pytest.raises(InputError) as info:
        ingest(
            [FastaInput(fasta)],
            tmp_path / "out",
            alphabet="dna",
            label_pattern=HEADER_LABEL,
            duplicate_ids="drop_identical",
        )
    assert str(info.value) == (
        f"{fasta}:3: record 'r1': duplicate id (different content), first seen at {fasta}:1"
    )


def test_rename_keeps_every_repeat_under_a_stable_new_id(tmp_path):
    """rename: the k-th occurrence of id x becomes x~k in input order, identical or not; a name
    another record already has is skipped; every rename is listed in the summary."""
    fasta = write(
        tmp_path / "a.fa",
        ">r1 x\nACGT\n>r1~2 x\nGGGG\n>r1 y\nACGA\n>r2 x\nTTTT\n>r1 x\nACGT\n>r2 x\nCCCC\n",
    )

    def renamed(out):
        options = dict(alphabet="dna", label_pattern=HEADER_LABEL, duplicate_ids="rename")
        return ingest([FastaInput(fasta)], out, **options)

    out = tmp_path / "out"
    summary = renamed(out)
    rows = read_table(out / "sequences.tsv")
    assert [(r["id"], r["sequence"]) for r in rows] == [
        ("r1", "ACGT"),
        ("r1~2", "GGGG"),
        ("r1~3", "ACGA"),  # r1~2 is taken by the record of line 3
        ("r2", "TTTT"),
        ("r1~4", "ACGT"),
        ("r2~2", "CCCC"),
    ]
    assert summary["records"] == 6 and summary["duplicate_ids_dropped"] == 0
    assert summary["duplicate_ids_renamed"] == [
        {"file": str(fasta), "line": 5, "id": "r1", "renamed": "r1~3"},
        {"file": str(fasta), "line": 9, "id": "r1", "renamed": "r1~4"},
        {"file": str(fasta), "line": 11, "id": "r2", "renamed": "r2~2"},
    ]
    assert read_table(out / "rejected.tsv") == []
    # a second run gives the same files (the names are stable)
    again = renamed(tmp_path / "again")
    assert (tmp_path / "again" / "sequences.tsv").read_bytes() == (
        out / "sequences.tsv"
    ).read_bytes()
    assert again["duplicate_ids_renamed"] == summary["duplicate_ids_renamed"]


# --- repeated ids are found from 64-bit id hashes (bounded memory), confirmed by real ids ------


@pytest.fixture
def colliding_hashes(monkeypatch):
    """Every id gets the same 64-bit hash: each record is a candidate repeat of every other."""
    import genoflow.io.records as records_module

    monkeypatch.setattr(
        records_module, "_id_hashes", lambda text, starts, sizes: np.full(len(starts), 7)
    )


def test_hash_collisions_alone_are_never_reported(tmp_path, colliding_hashes):
    """Distinct ids whose hashes collide ingest exactly as without the collisions."""
    fasta = write(tmp_path / "a.fa", "".join(f">r{i} x\nACGT{'A' * i}\n" for i in range(30)))
    summary = ingest(
        [FastaInput(fasta)], tmp_path / "out", alphabet="dna", label_pattern=HEADER_LABEL
    )
    assert summary["records"] == 30 and summary["rejected"] == 0
    assert [r["id"] for r in read_table(tmp_path / "out" / "sequences.tsv")] == [
        f"r{i}" for i in range(30)
    ]


def test_true_repeat_among_collisions_names_both_places(tmp_path, colliding_hashes):
    """Among colliding hashes, the first real repeat (in input order) is reported with the
    file:line of both copies; the collisions around it are not."""
    first = write(tmp_path / "a.fa", ">a1\nACGT\n>dup\nGGGG\n>a3\nTTTT\n")
    second = write(tmp_path / "b.fa", ">b1\nCCCC\n>b2\nAAAA\n>dup\nGGGA\n>a3\nTTTT\n")
    with pytest.raises(InputError) as info:
        ingest([FastaInput(first, "a"), FastaInput(second, "a")], tmp_path / "out", alphabet="dna")
    assert str(info.value) == (
        f"{second}:5: record 'dup': duplicate id (different content), first seen at {first}:3"
    )
    assert files_in(tmp_path / "out") == []


def test_drop_identical_among_collisions_keeps_input_order(tmp_path, colliding_hashes):
    """drop_identical with colliding hashes: only real identical repeats are dropped, listed in
    rejected.tsv in input order among the other rejected records; counts leave them out."""
    first = write(tmp_path / "a.fa", ">r1 x\nACGT\n>bad x\nACXT\n>r2 y\nGGGG\n")
    second = write(tmp_path / "b.fa", ">r1 x\nacgt\n>r3 y\nTTTT\n>worse y\nAC-T\n>r2 y\nGGGG\n")
    out = tmp_path / "out"
    summary = ingest(
        [FastaInput(first), FastaInput(second)],
        out,
        alphabet="dna",
        label_pattern=HEADER_LABEL,
        invalid="skip_record",
        duplicate_ids="drop_identical",
    )
    assert [r["id"] for r in read_table(out / "sequences.tsv")] == ["r1", "r2", "r3"]
    rejected = read_table(out / "rejected.tsv")
    assert [(r["file"], r["line"], r["id"]) for r in rejected] == [
        (str(first), "3", "bad"),
        (str(second), "1", "r1"),
        (str(second), "5", "worse"),
        (str(second), "7", "r2"),
    ]
    assert rejected[1]["reason"] == f"duplicate id, identical to the record at {first}:1"
    assert rejected[3]["reason"] == f"duplicate id, identical to the record at {first}:5"
    assert summary["records"] == 3 and summary["rejected"] == 4
    assert summary["rejected_reasons"] == {"invalid character": 2, "duplicate id": 2}
    assert summary["classes"] == {"x": 1, "y": 2}
    assert summary["letters"] == {"A": 1, "C": 1, "G": 5, "T": 5}
    assert summary["records_with_lowercase"] == 0  # only the dropped copy was lower case
    assert [i["records"] for i in summary["inputs"]] == [2, 1]


def test_small_batches_give_the_same_files(tmp_path, monkeypatch):
    """Records are checked and written in batches; batch size changes no output."""
    import genoflow.io.sources as sources_module

    fasta = write(
        tmp_path / "a.fa",
        "".join(
            f">r{i} {'xy'[i % 2]}\n{'ACGTN'[i % 5] * (i + 1)}{'acgt'[i % 4] * (i % 3)}\n"
            + (f">bad{i} x\nAC-{i}\n" if i % 7 == 3 else "")
            for i in range(40)
        ),
    )
    options = dict(alphabet="dna", label_pattern=HEADER_LABEL, invalid="skip_record")
    ingest([FastaInput(fasta)], tmp_path / "default", **options)
    monkeypatch.setattr(sources_module, "BATCH_RECORDS", 3)
    monkeypatch.setattr(sources_module, "BATCH_BYTES", 10)
    ingest([FastaInput(fasta)], tmp_path / "small", **options)
    for name in ("sequences.tsv", "rejected.tsv", "summary.json"):
        assert (tmp_path / "default" / name).read_text() == (tmp_path / "small" / name).read_text()


def test_threads_give_the_same_files(tmp_path, monkeypatch):
    """With threads, letters are counted in parts (of a few bytes here) and the checksums are
    taken on a thread of their own: the files are those of one thread, and each input's
    sha256 is its file's."""
    from genoflow import kernels

    monkeypatch.setattr(kernels, "PART_BYTES", 4)
    first = write(
        tmp_path / "a.fa", "".join(f">a{i}\n{'ACGTN'[i % 5] * (i + 1)}ac\n" for i in range(60))
    )
    second = tmp_path / "b.fa.gz"
    second.write_bytes(gzip.compress(b"".join(b">b%d\nGGC%s\n" % (i, b"T" * i) for i in range(50))))
    inputs = [FastaInput(first, "x"), FastaInput(second, "y")]
    for threads in (1, 3):
        ingest(inputs, tmp_path / f"out{threads}", alphabet="dna", threads=threads)
    for name in ("sequences.tsv", "rejected.tsv", "summary.json"):
        assert (tmp_path / "out1" / name).read_bytes() == (tmp_path / "out3" / name).read_bytes()
    summary = json.loads((tmp_path / "out3" / "summary.json").read_text())
    for entry, path in zip(summary["inputs"], (first, second), strict=True):
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(InputError, match="threads=0"):
        ingest(inputs, tmp_path / "none", alphabet="dna", threads=0)
    assert not (tmp_path / "none").exists()


def test_first_problem_in_a_batch_is_reported_first(tmp_path):
    """An invalid letter in a record of a batch is reported before a later record's missing
    label, as if records were checked one by one."""
    fasta = write(tmp_path / "a.fa", ">r1 x\nACGT\n>r2 x\nACXT\n>r3\nACGT\n")
    with pytest.raises(InputError, match=r":3: record 'r2': character 'X' at position 3"):
        ingest([FastaInput(fasta)], tmp_path / "out", alphabet="dna", label_pattern=HEADER_LABEL)


# --- ambiguity codes and invalid characters --------------------------------------------------


def test_ambiguity_encode_keeps_splice_iupac_codes(tmp_path):
    """ambiguous=encode keeps all 75 splice records, IUPAC codes D, N, R, S included."""
    out = tmp_path / "out"
    summary = ingest(
        [FastaInput(SPLICE)], out, alphabet="dna", label_pattern=HEADER_LABEL, ambiguous="encode"
    )
    assert summary["records"] == 75 and summary["rejected"] == 0
    assert summary["records_with_ambiguity_codes"] == 15
    assert set(summary["letters"]) == set("ACGTDNRS")
    assert summary["letters"]["D"] == 2 and summary["letters"]["R"] == 1
    assert summary["letters"]["S"] == 1
    rows = {r["id"]: r["sequence"] for r in read_table(out / "sequences.tsv")}
    assert rows["HUMMHB27B-ACCEPTOR-1202"].startswith("DGACGGGG")
    assert read_table(out / "rejected.tsv") == []


def test_ambiguity_skip_record_drops_and_lists_splice_records(tmp_path):
    """ambiguous=skip_record drops exactly the 15 splice records with codes, listing each."""
    out = tmp_path / "out"
    summary = ingest(
        [FastaInput(SPLICE)],
        out,
        alphabet="dna",
        label_pattern=HEADER_LABEL,
        ambiguous="skip_record",
    )
    assert summary["records"] == 60
    assert summary["rejected"] == 15
    assert summary["rejected_reasons"] == {"ambiguity code": 15}
    assert summary["records_with_ambiguity_codes"] == 0
    assert set(summary["letters"]) == set("ACGT")
    rejected = read_table(out / "rejected.tsv")
    assert {r["id"] for r in rejected} == SPLICE_AMBIGUOUS
    assert all(r["file"] == str(SPLICE) for r in rejected)
    by_id = {r["id"]: r for r in rejected}
    assert by_id["HUMMHB27B-ACCEPTOR-1202"]["reason"].startswith("ambiguity code 'D' at position 1")
    kept = {r["id"] for r in read_table(out / "sequences.tsv")}
    assert not kept & SPLICE_AMBIGUOUS and len(kept) == 60


def test_ambiguity_error_names_first_code(tmp_path):
    """ambiguous=error stops at the first record with a code: file, line, record, code, position."""
    out = tmp_path / "out"
    with pytest.raises(InputError) as info:
        ingest(
            [FastaInput(SPLICE)], out, alphabet="dna", label_pattern=HEADER_LABEL, ambiguous="error"
        )
    message = str(info.value)
    assert message.startswith(
        f"{SPLICE}:41: record 'HUMALPI1-DONOR-42': ambiguity code 'N' at position 20"
    )
    assert files_in(out) == []


@pytest.mark.parametrize(
    ("alphabet", "sequence", "char", "position"),
    [
        ("dna", "ACGTXACGT", "X", 5),
        ("dna", "AC-GT", "-", 3),
        ("dna", "A7CGT", "7", 2),
        ("dna", "ACGTU", "U", 5),
        ("rna", "ACGUT", "T", 5),
        ("protein", "MK*VL", "*", 3),
        ("protein", "MKV1", "1", 4),
    ],
)
def test_invalid_character_error_names_char_and_position(
    tmp_path, alphabet, sequence, char, position
):
    """A character outside the alphabet is refused naming file, record, char, 1-based position."""
    fasta = write(tmp_path / "a.fa", f">ok\nAC\n>bad one\n{sequence}\n")
    with pytest.raises(InputError) as info:
        ingest([FastaInput(fasta, "x")], tmp_path / "out", alphabet=alphabet)
    assert str(info.value).startswith(
        f"{fasta}:3: record 'bad': character {char!r} at position {position} "
        f"is not in the {alphabet} alphabet"
    )


def test_invalid_character_position_counts_across_wrapped_lines(tmp_path):
    """The position is within the whole sequence, not within its line."""
    fasta = write(tmp_path / "a.fa", ">r\nACGTA\nCGTAC\nGTXAC\n")
    with pytest.raises(InputError, match=r"character 'X' at position 13 "):
        ingest([FastaInput(fasta, "x")], tmp_path / "out", alphabet="dna")


def test_invalid_skip_record_drops_and_lists(tmp_path):
    """invalid=skip_record drops records with bad characters and lists them with the reason."""
    fasta = write(tmp_path / "a.fa", ">r1\nACGT\n>r2\nAC-GT\n>r3\nGGXX\n>r4\nTTTT\n")
    out = tmp_path / "out"
    summary = ingest([FastaInput(fasta, "x")], out, alphabet="dna", invalid="skip_record")
    assert [r["id"] for r in read_table(out / "sequences.tsv")] == ["r1", "r4"]
    rejected = read_table(out / "rejected.tsv")
    assert [(r["line"], r["id"]) for r in rejected] == [("3", "r2"), ("5", "r3")]
    assert rejected[0]["reason"].startswith("character '-' at position 3")
    assert "2 such character(s)" in rejected[1]["reason"]
    assert summary["rejected_reasons"] == {"invalid character": 2}


def test_lowercase_soft_masking_is_uppercased(tmp_path):
    """Soft-masked (lower-case) bases are written upper case and counted in the summary."""
    fasta = write(tmp_path / "a.fa", ">r1\nACGTacgtnn\n>r2\nGGGG\n>r3\nttTT\n")
    out = tmp_path / "out"
    summary = ingest([FastaInput(fasta, "x")], out, alphabet="dna")
    rows = read_table(out / "sequences.tsv")
    assert [r["sequence"] for r in rows] == ["ACGTACGTNN", "GGGG", "TTTT"]
    assert summary["records_with_lowercase"] == 2
    assert summary["letters"] == {"A": 2, "C": 2, "G": 6, "N": 2, "T": 6}


def test_protein_trailing_stop_is_removed(tmp_path):
    """A protein's trailing '*' (stop) is dropped; the residues before it are kept as is."""
    fasta = write(tmp_path / "p.fa", ">p1\nMKVLA*\n>p2\nmkwY\n>p3\nACDXBZ*\n")
    out = tmp_path / "out"
    summary = ingest([FastaInput(fasta, "amp")], out, alphabet="protein")
    rows = read_table(out / "sequences.tsv")
    assert [r["sequence"] for r in rows] == ["MKVLA", "MKWY", "ACDXBZ"]
    assert summary["length"]["max"] == 6 and summary["length"]["min"] == 4
    assert "*" not in summary["letters"]


def test_rna_alphabet_accepts_u(tmp_path):
    """RNA records with U (and RNA IUPAC codes) ingest; the summary names the alphabet."""
    fasta = write(tmp_path / "r.fa", ">r1\nACGUacgu\n>r2\nUUNRY\n")
    out = tmp_path / "out"
    summary = ingest([FastaInput(fasta, "mirna")], out, alphabet="rna")
    assert [r["sequence"] for r in read_table(out / "sequences.tsv")] == ["ACGUACGU", "UUNRY"]
    assert summary["alphabet"] == "rna"
    assert summary["records_with_ambiguity_codes"] == 1


@pytest.mark.parametrize(
    ("option", "value"),
    [("ambiguous", "drop"), ("invalid", "encode"), ("duplicate_ids", "keep")],
)
def test_unknown_policy_is_refused(tmp_path, option, value):
    """A policy value outside the allowed choices names the option and the value."""
    fasta = write(tmp_path / "a.fa", ">r1\nACGT\n")
    with pytest.raises(InputError, match=rf"{option}='{value}' is not one of"):
        ingest([FastaInput(fasta, "x")], tmp_path / "out", alphabet="dna", **{option: value})


# --- summary ---------------------------------------------------------------------------------


def test_summary_json_content(tmp_path):
    """summary.json: record and class counts, length stats, and per-input sha256 + record count."""
    a = write(tmp_path / "a.fa", ">a1\nACGT\n>a2\nACGTACGT\n>a3\nAC\n")
    b_path = tmp_path / "b.fa.gz"
    b_path.write_bytes(gzip.compress(b">b1\nGGGGGGGGGGGG\n>b2\nTTTTTT\n"))
    out = tmp_path / "out"
    summary = ingest([FastaInput(a, "pos"), FastaInput(b_path, "neg")], out, alphabet="dna")
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk == summary
    assert summary["alphabet"] == "dna"
    assert summary["records"] == 5
    assert summary["rejected"] == 0
    assert summary["classes"] == {"neg": 2, "pos": 3}
    assert summary["length"] == {"min": 2, "max": 12, "mean": 6.4, "median": 6.0}
    assert summary["inputs"] == [
        {"path": str(a), "sha256": hashlib.sha256(a.read_bytes()).hexdigest(), "records": 3},
        {
            "path": str(b_path),
            "sha256": hashlib.sha256(b_path.read_bytes()).hexdigest(),
            "records": 2,
        },
    ]
    assert summary["label_source"] == {"sample_sheet": "per-file labels"}
    assert files_in(out) == ["rejected.tsv", "sequences.tsv", "summary.json"]
    header = (out / "sequences.tsv").read_text().splitlines()[0]
    assert header == "id\tlabel\tsplit\tsource\tsequence"


# --- nothing left behind on error ------------------------------------------------------------


def _late_invalid(tmp_path):
    fasta = write(tmp_path / "a.fa", ">r1\nACGT\n>r2\nAAAA\n>r3\nACXT\n")
    return [FastaInput(fasta, "x")], {}


def _unmatched_table(tmp_path):
    fasta = write(tmp_path / "a.fa", ">r1\nACGT\n>r2\nAAAA\n")
    table = write(tmp_path / "t.tsv", "id\tlabel\nr1\tx\nr2\ty\nr9\ty\n")
    return [FastaInput(fasta)], {"label_table": table}


def _duplicate(tmp_path):
    fasta = write(tmp_path / "a.fa", ">r1\nACGT\n>r2\nAAAA\n>r1\nACGT\n")
    return [FastaInput(fasta, "x")], {}


def _all_rejected(tmp_path):
    fasta = write(tmp_path / "a.fa", ">r1\nACNT\n>r2\nNNNN\n")
    return [FastaInput(fasta, "x")], {"ambiguous": "skip_record"}


def _bad_second_file(tmp_path):
    good = write(tmp_path / "a.fa", ">r1\nACGT\n>r2\nAAAA\n")
    bad = write(tmp_path / "b.fa", "EI, X, ACGT\n")
    return [FastaInput(good, "x"), FastaInput(bad, "y")], {}


@pytest.mark.parametrize(
    "make",
    [_late_invalid, _unmatched_table, _duplicate, _all_rejected, _bad_second_file],
    ids=["invalid-char", "unmatched-table", "duplicate-id", "all-rejected", "bad-second-file"],
)
@pytest.mark.parametrize("threads", [1, 2])
def test_failed_ingest_leaves_nothing_behind(tmp_path, make, threads):
    """After any ingest error the output folder holds no table, summary or temporary file
    (with threads: and the checksum thread has stopped)."""
    inputs, options = make(tmp_path)
    out = tmp_path / "out"
    with pytest.raises(InputError):
        ingest(inputs, out, alphabet="dna", threads=threads, **options)
    assert files_in(out) == []
    assert not [t for t in threading.enumerate() if t.name.startswith("genoflow-")]


# --- whole batches: many records, some rejected, written as one block ------------------------


@pytest.mark.parametrize("chunk_bytes", [97, 1 << 21], ids=["tiny-chunks", "one-batch"])
def test_many_records_are_checked_and_written_like_one_at_a_time(
    tmp_path, monkeypatch, chunk_bytes
):
    """300 records (lower case, ambiguity codes, non-ASCII ids, bad letters), read in chunks
    of 97 bytes or in one batch: each kept row is exactly `id, label, split, source,
    SEQUENCE`, rejected ones are listed in order, and the letter counts are the kept rows'."""
    import genoflow.io.fasta as fasta_module

    monkeypatch.setattr(fasta_module, "CHUNK_BYTES", chunk_bytes)
    rng = np.random.default_rng(1)
    letters = np.frombuffer(b"ACGTacgtNRY", dtype=np.uint8)
    records, expected, rejected = [], [], []
    for i in range(300):
        sequence = letters[rng.integers(0, 11, rng.integers(1, 120))].tobytes().decode()
        if i % 37 == 5:
            sequence = sequence[:3] + "Z" + sequence[3:]
        record_id = f"r{i}" if i % 11 else f"r{i}é"
        label = ("pos", "neg")[i % 2]
        records.append(f">{record_id} {label}\n{sequence}\n")
        if "Z" in sequence:
            rejected.append(record_id)
        else:
            expected.append(f"{record_id}\t{label}\t\tmany.fa\t{sequence.upper()}")
    fasta = write(tmp_path / "many.fa", "".join(records))
    out = tmp_path / "out"
    summary = ingest(
        [FastaInput(fasta)],
        out,
        alphabet="dna",
        label_pattern=HEADER_LABEL,
        invalid="skip_record",
    )
    rows = (out / "sequences.tsv").read_text(encoding="utf-8").splitlines()[1:]
    assert rows == expected
    assert [r["id"] for r in read_table(out / "rejected.tsv")] == rejected
    kept = "".join(row.rsplit("\t", 1)[1] for row in expected)
    assert summary["letters"] == {c: kept.count(c) for c in sorted(set(kept))}
    assert summary["records"] == len(expected) and summary["rejected"] == len(rejected)
