"""Bad and hostile input, crashes and faults, each met the way a user meets it: a clear error
that names the file and the line or record, exit code 1, no traceback, and nothing left behind
that a rerun could take for a result.

The battery at the top runs `genoflow <stage>` on malformed inputs of every kind the package
reads; the rest covers planted checkpoints, two runs into one folder, killed stages, damaged
intermediate files, a full disk and a vanished input. Hostile paths through the whole workflow
are in test_hostile_paths.py.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, genoflow_env, write_motif_fasta

PATTERN = r"^\S+\s+(\S+)"  # the label is the header's second word
GENOME = ">chr1\nACGTACGTAC\nGTACGTACGT\n>chr2\nTTTTGGGGCC\nAA\n"
MATRIX_HEAD = "sample\tg1\tg2\n"
DREAM4_MATRIX = REPO / "workflow/resources/demo/dream4/insilico_size10_1_timeseries.tsv"


def genoflow(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "genoflow", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env or genoflow_env(),
        timeout=600,
    )


def fasta_case(text: str | bytes, *extra: str) -> tuple:
    return {"a.fa": text}, ["ingest", "--alphabet", "dna", "--fasta", "a.fa", *extra]


def labelled(text: str | bytes, *extra: str) -> tuple:
    return fasta_case(text, "--label-pattern", PATTERN, *extra)


def label_table(table: str | bytes, fasta: str = ">r1\nACGT\n>r2\nACGA\n") -> tuple:
    files = {"a.fa": fasta, "t.tsv": table}
    return files, ["ingest", "--alphabet", "dna", "--fasta", "a.fa", "--labels", "t.tsv"]


def values_table(table: str, *extra: str) -> tuple:
    files = {"a.fa": ">r1\nACGT\n>r2\nACGA\n", "v.tsv": table}
    return files, ["ingest", "--alphabet", "dna", "--fasta", "a.fa", "--values", "v.tsv", *extra]


def sample_sheet(sheet: str) -> tuple:
    files = {"s.tsv": sheet, "x.fa": ">r1\nACGT\n", "y.fa": ">r2\nACGA\n"}
    return files, ["ingest", "--alphabet", "dna", "--samples", "s.tsv"]


def bed(lines: str | bytes, genome: str | bytes = GENOME) -> tuple:
    files = {"r.bed": lines, "g.fa": genome}
    args = ["ingest", "--alphabet", "dna", "--bed", "r.bed", "--reference", "g.fa"]
    return files, [*args, "--label-column", "7"]


def matrix(text: str | bytes, name: str = "m.tsv", samples: str | None = None) -> tuple:
    files = {name: text}
    args = ["ingest-matrix", "--matrix", name]
    if samples is None:
        return files, [*args, "--series-length", "2"]
    files["st.tsv"] = samples
    return files, [*args, "--samples", "st.tsv"]


def residues(text: str | bytes) -> tuple:
    args = ["ingest", "--alphabet", "protein", "--csv", "r.csv", "--mask-columns", "disorder"]
    return {"r.csv": text}, args


def gzipped(text: str) -> bytes:
    return gzip.compress(text.encode())


CSV_HEAD = "id,input,dssp3,disorder\n"
RANDOM_FASTA = ">r1 a\n" + "".join(random.Random(0).choices("ACGT", k=20_000)) + "\n"
# name -> (files, command, what the message must name)
CASES = {
    # FASTA
    "fasta_text_before_first_header": (*labelled("ACGT\n>r1 a\nACGT\n"), ["a.fa:1"]),
    "fasta_binary": (*labelled(b"\x00\x01\x02>r1\n\xff\xfe"), ["a.fa"]),
    "fasta_invalid_letter": (*labelled(">r1 a\nACGZ\n"), ["a.fa:1: record 'r1'", "'Z'"]),
    "fasta_record_without_sequence": (*labelled(">r1 a\n>r2 b\nACGT\n"), ["a.fa:1", "'r1'"]),
    "fasta_empty_file": (*labelled(""), ["a.fa", "no FASTA records"]),
    "fasta_bzip2": (*labelled(b"BZh91AY&SY\x00\x00"), ["a.fa", "bzip2"]),
    "fasta_truncated_gzip": (*labelled(gzipped(RANDOM_FASTA)[:-100]), ["a.fa", "compressed"]),
    "fasta_gzip_of_binary": (*labelled(gzip.compress(b"\x00\x01\xff" * 50)), ["a.fa"]),
    "fasta_repeated_id": (*labelled(">r1 a\nACGT\n>r1 b\nACGA\n"), ["a.fa", "r1"]),
    "fasta_header_without_id": (*labelled(">\nACGT\n"), ["a.fa:1"]),
    "fasta_two_headers_unmatched": (
        *labelled(">r1\nACGT\n>r2\nACGA\n>r3 c\nAC\n"),
        ["a.fa:1: record 'r1'", "a.fa:3"],
    ),
    "fasta_protein_as_dna": (*labelled(">r1 a\nMKLVWQE\n"), ["a.fa:1: record 'r1'"]),
    "fasta_ambiguity_refused": (
        *labelled(">r1 a\nACNT\n", "--ambiguous", "error"),
        ["a.fa:1: record 'r1'", "'N'"],
    ),
    # label tables
    "labels_missing_column": (*label_table("id\tclass\nr1\tA\nr2\tB\n"), ["t.tsv", "label"]),
    "labels_repeated_id": (*label_table("id\tlabel\nr1\tA\nr1\tB\n"), ["t.tsv:3", "'r1'"]),
    "labels_empty_label": (*label_table("id\tlabel\nr1\t\nr2\tB\n"), ["t.tsv:2"]),
    "labels_bad_split": (*label_table("id\tlabel\tsplit\nr1\tA\ttrian\nr2\tB\t\n"), ["t.tsv:2"]),
    "labels_extra_field": (*label_table("id\tlabel\nr1\tA\tX\nr2\tB\n"), ["t.tsv:2"]),
    "labels_several_problems": (
        *label_table("id\tlabel\tsplit\nr1\t\t\nr1\tA\tx\nr2\tB\t\n"),
        ["t.tsv", "line 2", "line 3"],
    ),
    "labels_records_without_label": (
        *label_table("id\tlabel\nr9\tA\n", ">r1\nACGT\n>r2\nACGA\n"),
        ["a.fa:1: record 'r1'", "a.fa:3: record 'r2'", "'r9'"],
    ),
    "labels_empty_file": (*label_table(""), ["t.tsv", "empty"]),
    "labels_not_text": (*label_table(b"\xff\xfe\x00i\x00d"), ["t.tsv"]),
    # values tables
    "values_not_a_number": (*values_table("id\ty\nr1\t0.5\nr2\thigh\n"), ["v.tsv:3", "'high'"]),
    "values_no_target_column": (*values_table("id\nr1\nr2\n"), ["v.tsv", "target"]),
    "values_infinite": (*values_table("id\ty\nr1\tinf\nr2\t1\n"), ["v.tsv:2"]),
    "values_multilabel_not_binary": (
        *values_table("id\ta\tb\nr1\t1\t0\nr2\t2\t1\n", "--multilabel"),
        ["v.tsv:3", "0 or 1"],
    ),
    # sample sheets
    "sheet_missing_fasta": (*sample_sheet("path\tlabel\nx.fa\tA\nz.fa\tB\n"), ["s.tsv:3", "z.fa"]),
    "sheet_missing_label_column": (*sample_sheet("path\tclass\nx.fa\tA\n"), ["s.tsv", "label"]),
    "sheet_empty_label": (*sample_sheet("path\tlabel\nx.fa\t\ny.fa\tB\n"), ["s.tsv:2"]),
    "sheet_bad_split": (
        *sample_sheet("path\tlabel\tsplit\nx.fa\tA\tval\ny.fa\tB\ttset\n"),
        ["s.tsv:3", "'tset'"],
    ),
    "sheet_without_rows": (*sample_sheet("path\tlabel\n"), ["s.tsv"]),
    # BED regions
    "bed_too_few_fields": (*bed("chr1\t2\n"), ["r.bed:1"]),
    "bed_start_not_integer": (*bed("chr1\ttwo\t8\tn\t0\t+\ta\n"), ["r.bed:1", "'two'"]),
    "bed_start_after_end": (*bed("chr1\t8\t2\tn\t0\t+\ta\n"), ["r.bed:1"]),
    "bed_negative_start": (*bed("chr1\t-1\t4\tn\t0\t+\ta\n"), ["r.bed:1"]),
    "bed_unknown_chromosome": (
        *bed("chr1\t0\t4\tn\t0\t+\ta\nchrX\t0\t4\tm\t0\t+\tb\n"),
        ["r.bed:2", "chrX"],
    ),
    "bed_past_chromosome_end": (*bed("chr2\t5\t40\tn\t0\t+\ta\n"), ["r.bed:1", "chr2"]),
    "bed_bad_strand": (*bed("chr1\t0\t4\tn\t0\t*\ta\n"), ["r.bed:1", "strand"]),
    "bed_no_label": (*bed("chr1\t0\t4\tn\t0\t+\n"), ["r.bed:1", "column 7"]),
    "bed_not_text": (*bed(b"chr1\t0\t4\xff\xfe\t\x00\n"), ["r.bed:1"]),
    "bed_gzip_reference": (*bed("chr1\t0\t4\tn\t0\t+\ta\n", gzipped(GENOME)), ["g.fa", "gzip"]),
    "bed_reference_ragged_lines": (
        *bed("chr1\t0\t4\tn\t0\t+\ta\n", ">chr1\nACG\nACGTACGT\nAC\n"),
        ["g.fa:3"],
    ),
    # expression matrices and sample tables
    "matrix_not_a_number": (*matrix(MATRIX_HEAD + "s1\t1\t2\ns2\t1\tx\n"), ["m.tsv:3", "'x'"]),
    "matrix_ragged_row": (*matrix(MATRIX_HEAD + "s1\t1\t2\ns2\t1\n"), ["m.tsv:3"]),
    "matrix_missing_value": (*matrix(MATRIX_HEAD + "s1\t1\t2\ns2\t\t3\n"), ["m.tsv:3"]),
    "matrix_repeated_gene": (*matrix("sample\tg1\tg1\ns1\t1\t2\ns2\t1\t2\n"), ["m.tsv", "g1"]),
    "matrix_not_whole_series": (
        *matrix(MATRIX_HEAD + "s1\t1\t2\ns2\t1\t2\ns3\t1\t1\n"),
        ["m.tsv", "series_length"],
    ),
    "matrix_unknown_format": (*matrix("x", name="m.xlsx"), ["m.xlsx"]),
    "matrix_parquet_garbage": (*matrix(b"PAR1garbage", name="m.parquet"), ["m.parquet"]),
    "matrix_not_text": (*matrix(b"\xff\xfe\x00\x00sample\x00"), ["m.tsv"]),
    "sample_table_missing_sample": (
        *matrix(MATRIX_HEAD + "s1\t1\t2\ns2\t1\t2\n", samples="sample\tseries\ttime\ns1\tA\t0\n"),
        ["st.tsv", "s2"],
    ),
    "sample_table_time_not_a_number": (
        *matrix(
            MATRIX_HEAD + "s1\t1\t2\ns2\t1\t2\n",
            samples="sample\tseries\ttime\ns1\tA\t0\ns2\tA\tlate\n",
        ),
        ["st.tsv:3", "'late'"],
    ),
    # per-residue CSV files
    "csv_missing_column": (*residues("id,input\nx,MKV\n"), ["r.csv:1", "dssp3"]),
    "csv_label_count": (*residues(CSV_HEAD + "a,M K V,H H,1 1 1\n"), ["r.csv:2", "record 'r|0'"]),
    "csv_mask_not_binary": (*residues(CSV_HEAD + "a,M K,H E,1 7\n"), ["r.csv:2", "'7'"]),
    "csv_reserved_label": (*residues(CSV_HEAD + "a,M K,H .,1 1\n"), ["r.csv:2", "reserved"]),
    "csv_field_count": (*residues(CSV_HEAD + "a,M K,H E\n"), ["r.csv:2"]),
    "csv_not_text": (*residues(b"id,input,dssp3,disorder\n\xff\xfe,\x00\n"), ["r.csv:2"]),
}


def test_the_battery_is_large():
    assert len(CASES) >= 40


LOG_LINE = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (INFO|WARNING) genoflow [\w-]+: "


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_input_is_named_without_a_traceback(tmp_path, name):
    files, args, named = CASES[name]
    for relative, content in files.items():
        path = tmp_path / relative
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    result = genoflow(tmp_path, *args, "--out", "out")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    # the error comes after nothing but log lines (time, level, command: e.g. a finished pass)
    before, error, _ = result.stderr.partition(f"genoflow {args[0]}: error: ")
    assert error, result.stderr
    assert all(re.match(LOG_LINE, line) for line in before.splitlines()), result.stderr
    for text in named:
        assert text in result.stderr, f"{text!r} not in: {result.stderr}"
    assert not (tmp_path / "out").exists(), sorted((tmp_path / "out").rglob("*"))


def test_a_byte_order_mark_is_skipped_in_every_text_input(tmp_path):
    """Files saved by Windows editors start with a UTF-8 BOM: FASTA, label and values tables,
    sample sheets, BED files, references, matrices and sample tables read as without it."""
    bom = "\ufeff"
    (tmp_path / "a.fa").write_text(bom + ">r1 x\nACGT\n>r2 y\nACGA\n", encoding="utf-8")
    (tmp_path / "t.tsv").write_text(bom + "id\tlabel\nr1\tx\nr2\ty\n", encoding="utf-8")
    (tmp_path / "s.tsv").write_text(bom + "path\tlabel\na.fa\tx\n", encoding="utf-8")
    (tmp_path / "g.fa").write_text(bom + GENOME, encoding="utf-8")
    (tmp_path / "r.bed").write_text(bom + "chr1\t0\t4\tn\t0\t+\ta\n", encoding="utf-8")
    matrix_text = bom + MATRIX_HEAD + "s1\t1\t2\ns2\t1\t3\n"
    (tmp_path / "m.tsv").write_text(matrix_text, encoding="utf-8")
    samples = bom + "sample\tseries\ttime\ns1\tA\t0\ns2\tA\t1\n"
    (tmp_path / "st.tsv").write_text(samples, encoding="utf-8")
    runs = {
        "pattern": ["--fasta", "a.fa", "--label-pattern", PATTERN],
        "table": ["--fasta", "a.fa", "--labels", "t.tsv"],
        "sheet": ["--samples", "s.tsv"],
        "bed": ["--bed", "r.bed", "--reference", "g.fa", "--label-column", "7"],
    }
    for name, args in runs.items():
        result = genoflow(tmp_path, "ingest", "--alphabet", "dna", *args, "--out", name)
        assert result.returncode == 0, (name, result.stderr)
        table = (tmp_path / name / "sequences.tsv").read_text()
        assert bom not in table and "\tACGT\n" in table, (name, table)
    result = genoflow(
        tmp_path, "ingest-matrix", "--matrix", "m.tsv", "--samples", "st.tsv", "--out", "matrix"
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "matrix" / "genes.txt").read_text() == "g1\ng2\n"


# --- configs ---------------------------------------------------------------------------------

CONFIGS = {
    "unknown_key": ({"models": {"cnn": {"type": "cnn", "chanels": 8}}}, ["line 8", "chanels"]),
    "wrong_type": (
        {"models": {"cnn": {"type": "cnn", "channels": "many"}}},
        ["line 8", "models.cnn.channels"],
    ),
    "unknown_model_type": ({"models": {"cnn": {"type": "cnm"}}}, ["line 7", "models.cnn"]),
    "bad_value_inside_a_stem": (  # stem is null, auto or a mapping: named at the key inside
        {"models": {"lstm": {"type": "lstm", "stem": {"channels": 8, "skip": "yes"}}}},
        ["line 10", "models.lstm.stem.skip: 'yes' is not of type 'boolean'"],
    ),
    "dataset_name_with_a_shell_character": (
        {"datasets": {"a;b": {"alphabet": "dna", "samples": "s.tsv"}}},
        ["line 2", "a;b"],
    ),
    "model_list_names_an_undefined_model": (
        {"datasets": {"d": {"alphabet": "dna", "samples": "s.tsv", "models": ["lsmt"]}}},
        ["line 5", "'lsmt'"],
    ),
    "chromosome_lists_on_a_random_split": (
        {
            "datasets": {
                "d": {
                    "alphabet": "dna",
                    "samples": "s.tsv",
                    "split": {"method": "random", "test": ["chr1"]},
                }
            }
        },
        ["datasets.d.split"],
    ),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_a_bad_config_stops_before_any_job_naming_file_and_line(tmp_path, name):
    change, named = CONFIGS[name]
    config = {
        "datasets": {"d": {"alphabet": "dna", "samples": "s.tsv"}},
        "models": {"cnn": {"type": "cnn", "channels": 8}},
    }
    config.update(change)
    import yaml

    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (tmp_path / "s.tsv").write_text("path\tlabel\nx.fa\tA\n")
    (tmp_path / "x.fa").write_text(">r1\nACGT\n")
    result = subprocess.run(
        [
            "snakemake",
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(tmp_path),
            "--configfile",
            "mine.yaml",
            "--cores",
            "1",
            "-n",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=genoflow_env(),
        timeout=300,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and 'File "' not in result.stderr, result.stderr
    assert f"{tmp_path / 'mine.yaml'}: invalid configuration" in result.stderr, result.stderr
    for text in named:
        assert text in result.stderr, f"{text!r} not in: {result.stderr}"
    assert not (tmp_path / "results").exists()


# --- planted files ---------------------------------------------------------------------------


class Planted:
    """Unpickling this runs `touch <marker>`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def plant(path: Path, marker: Path, **fields) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({**fields, "payload": Planted(marker)}, path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    """A classification dataset with a trained GRU, and a forecasting one with a trained GRU."""
    root = tmp_path_factory.mktemp("trained")
    write_motif_fasta(root / "m.fa", n=120, length=30)
    steps = [
        [
            "ingest",
            "--alphabet",
            "dna",
            "--fasta",
            "m.fa",
            "--label-pattern",
            PATTERN,
            "--out",
            "ingest",
        ],
        ["preprocess", "--ingest", "ingest", "--out", "data"],
        [
            "train",
            "--data",
            "data",
            "--out",
            "run",
            "--type",
            "gru",
            "--model-args",
            '{"hidden": 4}',
            "--train",
            '{"max_epochs": 2}',
        ],
        [
            "ingest-matrix",
            "--matrix",
            str(DREAM4_MATRIX),
            "--series-length",
            "21",
            "--out",
            "net_ingest",
        ],
        ["preprocess-series", "--ingest", "net_ingest", "--out", "net_data", "--input", "3"],
        [
            "train",
            "--data",
            "net_data",
            "--out",
            "net_run",
            "--type",
            "gru",
            "--model-args",
            '{"hidden": 4}',
            "--train",
            '{"max_epochs": 2}',
        ],
    ]
    for args in steps:
        result = genoflow(root, *args)
        assert result.returncode == 0, result.stderr
    return {"root": root}


def test_a_planted_resume_checkpoint_is_refused_and_nothing_runs(trained, tmp_path):
    """A last.ckpt planted in an interrupted run's folder (same settings, so genoflow would
    resume from it) is refused by name; its code never runs."""
    root = trained["root"]
    run = tmp_path / "run"
    shutil.copytree(root / "run", run)
    (run / "checkpoints" / "complete").unlink()  # interrupted: training would resume
    marker = tmp_path / "PWNED"
    plant(run / "checkpoints" / "last.ckpt", marker, epoch=1)
    result = genoflow(
        root,
        "train",
        "--data",
        "data",
        "--out",
        str(run),
        "--type",
        "gru",
        "--model-args",
        '{"hidden": 4}',
        "--train",
        '{"max_epochs": 2}',
    )
    assert result.returncode == 1
    assert f"{run / 'checkpoints' / 'last.ckpt'}: not a checkpoint genoflow wrote" in result.stderr
    assert "weights_only=False" not in result.stderr  # no advice to load it unsafely
    assert "Traceback" not in result.stderr
    assert not marker.exists()


@pytest.mark.parametrize("command", ["predict", "interpret", "network"])
def test_a_planted_model_checkpoint_is_refused_by_every_command(trained, tmp_path, command):
    root = trained["root"]
    marker = tmp_path / "PWNED"
    run = tmp_path / ("net_run" if command == "network" else "run")
    shutil.copytree(root / run.name, run)
    plant(run / "model.ckpt", marker, format="genoflow-model/1")
    args = {
        "predict": [
            "predict",
            "--checkpoint",
            str(run / "model.ckpt"),
            "--input",
            "m.fa",
            "--output",
            str(tmp_path / "out" / "p.tsv"),
        ],
        "interpret": [
            "interpret",
            "--runs",
            str(run),
            "--data",
            "data",
            "--out",
            str(tmp_path / "out"),
            "--figures-dir",
            str(tmp_path / "fig"),
        ],
        "network": [
            "network",
            "--models",
            str(run / "model.ckpt"),
            "--data",
            "net_data",
            "--out",
            str(tmp_path / "out"),
        ],
    }[command]
    result = genoflow(root, *args)
    assert result.returncode == 1, result.stderr
    assert f"{run / 'model.ckpt'}: not a loadable genoflow checkpoint" in result.stderr
    assert "Traceback" not in result.stderr
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


# --- damaged files between stages -------------------------------------------------------------


def damaged(trained, tmp_path, folder: str, name: str, content: bytes | None) -> Path:
    """A copy of a trained folder with one file cut short (or replaced by `content`)."""
    copy = tmp_path / folder
    shutil.copytree(trained["root"] / folder, copy)
    path = copy / name
    path.write_bytes(
        path.read_bytes()[: len(path.read_bytes()) // 2] if content is None else content
    )
    return copy


def test_a_truncated_token_array_is_named(trained, tmp_path):
    data = damaged(trained, tmp_path, "data", "tokens.npy", None)
    result = genoflow(
        trained["root"],
        "train",
        "--data",
        str(data),
        "--out",
        str(tmp_path / "r"),
        "--type",
        "cnn",
        "--train",
        '{"max_epochs": 1}',
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"{data / 'tokens.npy'}: not a readable array" in result.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("content", [None, b""], ids=["truncated", "empty"])
def test_a_damaged_model_checkpoint_is_named(trained, tmp_path, content):
    run = damaged(trained, tmp_path, "run", "model.ckpt", content)
    result = genoflow(
        trained["root"],
        "predict",
        "--checkpoint",
        str(run / "model.ckpt"),
        "--input",
        "m.fa",
        "--output",
        str(tmp_path / "o" / "p.tsv"),
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"{run / 'model.ckpt'}: " in result.stderr
    assert not (tmp_path / "o").exists()


def test_a_folder_from_another_version_is_named(trained, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(trained["root"] / "data", data)
    meta = json.loads((data / "meta.json").read_text())
    del meta["format"]  # as an earlier genoflow wrote it
    (data / "meta.json").write_text(json.dumps(meta))
    result = genoflow(
        trained["root"], "train", "--data", str(data), "--out", str(tmp_path / "r"), "--type", "cnn"
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"{data / 'meta.json'}: written by another genoflow version" in result.stderr
    result = genoflow(trained["root"], "preprocess", "--ingest", str(data), "--out", "x")
    assert result.returncode == 1 and "summary.json: file not found" in result.stderr


# --- two processes, one folder ----------------------------------------------------------------


def test_a_second_run_into_a_busy_folder_refuses_clearly(trained, tmp_path):
    """While one `genoflow preprocess` writes to a folder, a second one into it refuses with a
    message naming the folder and the first process, and touches nothing."""
    from genoflow.formats.files import exclusive_output

    out = tmp_path / "data"
    with exclusive_output(out, "preprocess"):  # as a running preprocess holds it
        result = genoflow(trained["root"], "preprocess", "--ingest", "ingest", "--out", str(out))
        assert result.returncode == 1, result.stderr
        assert f"{out}: another `genoflow preprocess` (pid {os.getpid()}" in result.stderr
        assert "Traceback" not in result.stderr
        assert [p.name for p in out.iterdir()] == [".preprocess.lock"]
    assert not out.exists()  # the lock goes with its holder (and so the folder it made)
    result = genoflow(trained["root"], "preprocess", "--ingest", "ingest", "--out", str(out))
    assert result.returncode == 0, result.stderr


def test_predict_jobs_share_their_folder_but_not_their_file(trained, tmp_path):
    """`predict:` entries write results/predict/<name>.tsv side by side, at once: a second
    predict into the folder goes ahead, into the same file it refuses."""
    from genoflow.formats.files import exclusive_output

    out = tmp_path / "predict"
    args = ["predict", "--checkpoint", "missing.ckpt", "--input", "missing.fa", "--output"]
    with exclusive_output(out, "predict", "a.tsv"):  # as a running predict of a.tsv holds it
        same = genoflow(trained["root"], *args, str(out / "a.tsv"))
        other = genoflow(trained["root"], *args, str(out / "b.tsv"))
    assert f"another `genoflow predict` (pid {os.getpid()}" in same.stderr
    assert "is writing to a.tsv" in same.stderr
    assert other.returncode == 1 and "another" not in other.stderr  # (it ran: no checkpoint)
    assert "missing.ckpt" in other.stderr


def test_temporary_files_of_dead_processes_are_removed_on_start(trained, tmp_path):
    """What a killed run left (its temporary files, its lock) is removed by the next run into
    the folder; files of live processes and of other hosts are not."""
    from genoflow.formats.files import HOST

    out = tmp_path / "data"
    out.mkdir()
    stale = [
        f".tokens.npy.~{HOST}~999999999",
        f".sequences.tsv.~{HOST}~999999999.dropped",
        ".leakage.tsv.tmp999999999",
        ".preprocess.lock",
    ]
    kept = [f".tokens.npy.~{HOST}~{os.getpid()}", ".tokens.npy.~otherhost~999999999"]
    for name in stale + kept:
        (out / name).write_text("left over")
    result = genoflow(trained["root"], "preprocess", "--ingest", "ingest", "--out", str(out))
    assert result.returncode == 0, result.stderr
    hidden = sorted(p.name for p in out.iterdir() if p.name.startswith("."))
    assert hidden == sorted(kept)


# --- a GPU given to a job, a torch that sees none ----------------------------------------------


def test_a_gpu_allocated_to_a_cpu_only_torch_is_warned_about(trained, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("torch sees a GPU here: there is nothing to warn about")
    env = genoflow_env() | {"CUDA_VISIBLE_DEVICES": "0"}
    result = genoflow(
        trained["root"],
        "train",
        "--data",
        "data",
        "--out",
        str(tmp_path / "r"),
        "--type",
        "cnn",
        "--train",
        '{"max_epochs": 1}',
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "CUDA_VISIBLE_DEVICES=0 (a GPU was allocated to this job) but torch" in result.stderr
    if torch.version.cuda is None:
        assert "CPU-only build" in result.stderr


# --- a failed job, as the terminal shows it -------------------------------------------------


def test_a_failed_jobs_error_is_shown_in_the_terminal(tmp_path):
    """The message naming file, line and problem reaches the terminal for a plain
    `snakemake --cores N --configfile mine.yaml` and for `make run CONFIG=mine.yaml`, not only
    the job's log file."""
    (tmp_path / "x.fa").write_text(">r1 A\nACGT\n>r2 B\nAXGT\n")
    (tmp_path / "mine.yaml").write_text(
        "datasets:\n  d:\n    alphabet: dna\n    fasta: [x.fa]\n"
        f"    label_pattern: '{PATTERN}'\nmodels:\n  cnn: {{type: cnn}}\n"
    )
    message = "x.fa:3: record 'r2': character 'X' at position 2 is not in the dna alphabet"
    snakemake = [
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(tmp_path),
        "--cores",
        "1",
        "--configfile",
        "mine.yaml",
    ]
    venv = Path(sys.executable).parent.parent
    make = [
        "make",
        "-C",
        str(REPO),
        "-o",
        f"{venv}/.installed",
        "run",
        f"VENV={venv}",
        "CORES=1",
        f"CONFIG={tmp_path / 'mine.yaml'}",
        f"SNAKEMAKE_ARGS=--directory {tmp_path}",
    ]
    for command in (snakemake, make):
        shutil.rmtree(tmp_path / "results", ignore_errors=True)
        result = subprocess.run(
            command, cwd=tmp_path, capture_output=True, text=True, env=genoflow_env(), timeout=300
        )
        assert result.returncode != 0
        assert message in result.stdout + result.stderr, (command[0], result.stderr[-3000:])


def test_a_bad_gold_standard_is_named_line_by_line(trained, tmp_path):
    gold = tmp_path / "gold.tsv"
    gold.write_text("\ufeffG1\tG2\t1\nG1\tG99\t1\nG2\tG3\nG3\tG1\tyes\n", encoding="utf-8")
    result = genoflow(
        trained["root"],
        "network",
        "--models",
        "net_run/model.ckpt",
        "--data",
        "net_data",
        "--gold-standard",
        str(gold),
        "--out",
        str(tmp_path / "out"),
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"{gold}: 3 problems:" in result.stderr
    for line in ("line 2: gene(s) ['G99']", "line 3: 2 fields", "line 4: edge 'yes'"):
        assert line in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()
