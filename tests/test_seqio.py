"""Sequence files in Biopython's formats: GenBank / EMBL features, translation, FASTQ,
alignments; through ingest, preprocess and predict, with errors naming file, line and record."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import genoflow_env

from genoflow.errors import InputError
from genoflow.evaluate.baselines import train_kmer_baseline
from genoflow.io.ingest import ingest
from genoflow.io.seqio import read_seqio
from genoflow.io.sources import FastaInput, SeqioInput, read_sample_sheet, sequence_input
from genoflow.preprocess.sequences import preprocess

DATA = Path(__file__).parent / "data"
PLASMID, PLASMID_EMBL = DATA / "NC_005816.gb", DATA / "AE017046.embl"
CHLOROPLAST, READS = DATA / "NC_000932.gb", DATA / "example.fastq"


def cds(path: Path, fmt: str = "genbank", **options) -> list:
    return list(read_seqio(path, fmt, feature_type="CDS", **options))


def own_translations(path: Path) -> dict[str, str]:
    """The /translation qualifier of each CDS, by genoflow's feature id."""
    from Bio import SeqIO

    record = SeqIO.read(path, "genbank")
    return {
        f.qualifiers["locus_tag"][0]: f.qualifiers["translation"][0]
        for f in record.features
        if f.type == "CDS"
    }


# ndhD's start codon is ACG in the chloroplast genome, edited to AUG in its RNA (the record
# says /exception="RNA editing"): its protein from the DNA starts with T, the rest agrees.
EDITED = {"ArthCp074": (0, "T", "M")}


@pytest.mark.parametrize("path", [PLASMID, CHLOROPLAST], ids=["plasmid", "chloroplast"])
def test_every_cds_translates_to_the_records_own_translation(path):
    """Strand, joins across the genome, /codon_start, /transl_table and alternative start
    codons (GTG, ATA read as M) all give the protein the submitters wrote."""
    proteins = {
        record.id: record.sequence.decode().rstrip("*")
        for record, _ in cds(path, translate_table=11)
    }
    expected = own_translations(path)
    assert len(expected) in (10, 85)
    for locus, (position, genomic, edited) in EDITED.items():
        if locus in expected:
            assert expected[locus][position] == edited and proteins[locus][position] == genomic
            proteins[locus] = expected[locus]
    assert proteins == expected


def test_minus_strand_features_are_reverse_complemented():
    from Bio.Seq import reverse_complement

    genome = next(read_seqio(PLASMID, "genbank"))[0].sequence.decode()
    minus = [r for r, _ in cds(PLASMID) if r.description.split()[1].endswith("(-)")]
    assert minus
    for record in minus:
        span = record.description.split()[1].split(":")[1].split("(")[0]
        start, end = map(int, span.split("-"))
        assert record.sequence.decode() == reverse_complement(genome[start - 1 : end])


def test_genbank_and_embl_of_one_plasmid_give_the_same_records():
    genbank, embl = cds(PLASMID), cds(PLASMID_EMBL, "embl")
    assert [r.sequence for r, _ in genbank] == [r.sequence for r, _ in embl]
    whole = [next(read_seqio(p, f))[0].sequence for p, f in ((PLASMID, "genbank"),
                                                              (PLASMID_EMBL, "embl"))]  # fmt: skip
    assert whole[0] == whole[1] and len(whole[0]) == 9609


def test_fastq_records_carry_the_line_they_start_on():
    records = [record for record, _ in read_seqio(READS, "fastq")]
    assert [r.line for r in records] == [1, 5, 9]
    assert [len(r.sequence) for r in records] == [25, 25, 25]


def test_label_from_a_qualifier_and_its_absence_named():
    labels = [label for _, label in cds(PLASMID, label_qualifier="product")]
    assert len(labels) == 10 and all(labels)
    with pytest.raises(InputError) as info:
        cds(PLASMID, label_qualifier="no_such_qualifier")
    message = str(info.value)
    assert message.startswith(f"{PLASMID}:1: record ") and "no /no_such_qualifier" in message


def test_alignment_gaps_are_removed_and_lines_name_the_record(tmp_path):
    path = tmp_path / "family.sto"
    path.write_text(
        "# STOCKHOLM 1.0\n\nseq_a  AC-DE.FG\nseq_b  ACWDEYFG\n//\n",
    )
    records = [record for record, _ in read_seqio(path, "stockholm")]
    assert [(r.id, r.sequence, r.line) for r in records] == [
        ("seq_a", b"ACDEFG", 3),
        ("seq_b", b"ACWDEYFG", 4),
    ]


@pytest.mark.parametrize(
    ("fmt", "text", "expected"),
    [
        ("genbank", None, "not valid genbank"),
        ("embl", "no embl here\n", "no embl records found"),
        ("fastq", "@r1\nACGT\n+\nII\n", "not valid fastq"),
        ("genbank_typo", "x\n", "is not one Biopython reads"),
        ("sff", "not a trace\n", "not valid sff (in the first record)"),
    ],
    ids=["truncated-genbank", "not-embl", "quality-length", "unknown-format", "binary"],
)
def test_malformed_files_name_file_and_problem(tmp_path, fmt, text, expected):
    path = tmp_path / "bad.txt"
    if text is None:  # the plasmid cut inside its FEATURES table
        path.write_text("".join(PLASMID.read_text().splitlines(keepends=True)[:60]))
    else:
        path.write_text(text)
    with pytest.raises(InputError) as info:
        list(read_seqio(path, fmt))
    assert str(info.value).startswith(str(path)) and expected in str(info.value)


def test_binary_formats_are_read_with_record_numbers_for_lines(tmp_path):
    """A binary format (nib, written here by Biopython) is read from bytes; its records are
    named by their number in the file."""
    from Bio import SeqIO
    from Bio.Seq import Seq
    from Bio.SeqRecord import SeqRecord

    path = tmp_path / "chunk.nib"
    SeqIO.write([SeqRecord(Seq("ACGTNACGTTGCA"), id="chunk")], path, "nib")
    ((record, label),) = read_seqio(path, "nib")
    assert (record.sequence, record.line, label) == (b"ACGTNACGTTGCA", 1, None)


def test_translate_refuses_a_code_ncbi_does_not_define():
    with pytest.raises(InputError, match="translate table 99 is not an NCBI genetic code"):
        cds(PLASMID, translate_table=99)


def test_fasta_stays_on_the_fast_reader_unless_translated():
    fasta = DATA / "phix.fa"
    assert isinstance(sequence_input(fasta), FastaInput)
    assert isinstance(sequence_input(fasta, translate_table=11), SeqioInput)
    assert isinstance(sequence_input(PLASMID, "genbank"), SeqioInput)


@pytest.fixture(scope="module")
def proteins(tmp_path_factory) -> Path:
    """Coding sequences of two GenBank files as a protein dataset, labelled by file (a sample
    sheet), preprocessed: the plasmid's 10 and the chloroplast's 85 proteins."""
    root = tmp_path_factory.mktemp("cds")
    sheet = root / "samples.tsv"
    sheet.write_text(f"path\tlabel\n{PLASMID}\tplasmid\n{CHLOROPLAST}\tchloroplast\n")
    reading = {"fmt": "genbank", "feature_type": "CDS", "translate_table": 11}
    summary = ingest(
        read_sample_sheet(sheet, **reading),
        root / "ingest",
        alphabet="protein",
        duplicate_ids="rename",
    )
    assert summary["records"] == 95 and summary["classes"] == {"chloroplast": 85, "plasmid": 10}
    assert summary["inputs"][0]["format"] == "genbank"
    assert summary["inputs"][0]["translate"] == {"table": 11}
    preprocess(root / "ingest", root / "preprocess", max_length=400, trim="right")
    return root


def test_translated_features_go_through_ingest_and_preprocess(proteins):
    meta = json.loads((proteins / "preprocess" / "meta.json").read_text())
    assert meta["alphabet"] == "protein"
    assert sum(n for split in meta["split_sizes"].values() for n in split.values()) == 95
    # the chloroplast's inverted repeat holds its genes twice: the leakage audit keeps each
    # pair of identical proteins in one split
    assert meta["leakage"] == {"exact_groups_across_splits": 0, "duplicate_records": 6}
    table = pd.read_csv(proteins / "ingest" / "sequences.tsv", sep="\t")
    assert not table["sequence"].str.contains(r"\*").any()  # final stops dropped
    assert table["sequence"].str.startswith("M").mean() > 0.95


def test_predict_reads_genbank_features_as_ingest_did(proteins, tmp_path):
    """`genoflow predict --format genbank --feature-type CDS --translate-table 11` scores the
    same proteins as the FASTA of their translations."""
    run = proteins / "kmer"
    train_kmer_baseline(proteins / "preprocess", run, model_name="kmer_logreg", k=2)
    fasta = tmp_path / "plasmid.fa"
    fasta.write_text(
        "".join(f">{r.id}\n{r.sequence.decode()}\n" for r, _ in cds(PLASMID, translate_table=11))
    )
    outputs = []
    for name, extra in [
        ("fasta", [str(fasta)]),
        ("genbank", [str(PLASMID), "--format", "genbank", "--feature-type", "CDS",
                     "--translate-table", "11"]),
    ]:  # fmt: skip
        out = tmp_path / f"{name}.tsv"
        command = [sys.executable, "-m", "genoflow", "predict", "--checkpoint"]
        command += [str(run / "model.ckpt"), "--output", str(out), "--input", *extra]
        done = subprocess.run(command, env=genoflow_env(), capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        outputs.append(pd.read_csv(out, sep="\t"))
    assert len(outputs[0]) == 10 and (outputs[0]["status"] == "ok").all()
    pd.testing.assert_frame_equal(outputs[0], outputs[1])


def test_cli_ingest_of_a_broken_genbank_file_exits_1_without_traceback(tmp_path):
    broken = tmp_path / "broken.gb"
    broken.write_text("".join(PLASMID.read_text().splitlines(keepends=True)[:60]))
    command = [sys.executable, "-m", "genoflow", "ingest", "--alphabet", "protein", "--fasta"]
    command += [str(broken), "--format", "genbank", "--feature-type", "CDS"]
    command += ["--label-qualifier", "product", "--translate-table", "11"]
    command += ["--out", str(tmp_path / "out")]
    done = subprocess.run(command, env=genoflow_env(), capture_output=True, text=True)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and str(broken) in done.stderr
    assert "not valid genbank" in done.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
