"""`genoflow init`: configs written from the files alone, for the bundled demos and the real
benchmark datasets shipped in workflow/resources, that validate and run as they are."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO, genoflow_env, write_motif_fasta

from genoflow.config import config_errors
from genoflow.errors import InputError
from genoflow.init import file_labels, init

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
RESOURCES = REPO / "workflow" / "resources"
SPLICE = RESOURCES / "demo" / "splice"
AMP = RESOURCES / "benchmarks" / "amp_scanner"
ECOLI = RESOURCES / "benchmarks" / "cnnprom"
DREAM4 = RESOURCES / "demo" / "dream4"


def written(tmp_path, monkeypatch, **options) -> tuple[dict, list[str], str]:
    """(config, findings, text) of `init` run in tmp_path (the project folder)."""
    monkeypatch.chdir(tmp_path)
    findings = init("mine.yaml", **options)
    text = (tmp_path / "mine.yaml").read_text()
    config = yaml.safe_load(text)
    assert config_errors(config, SCHEMA) == []
    return config, findings, text


def only_dataset(config: dict) -> dict:
    (dataset,) = config["datasets"].values()
    return dataset


def ingested(project: Path, settings: dict) -> dict:
    """The real `genoflow ingest` on a dataset's settings (as init wrote them): its summary."""
    result = subprocess.run(
        [sys.executable, "-m", "genoflow", "ingest", "--settings", json.dumps(settings)]
        + ["--out", "ingested"],
        cwd=project,
        capture_output=True,
        text=True,
        env=genoflow_env(),
    )
    assert result.returncode == 0, result.stderr
    return json.loads((project / "ingested" / "summary.json").read_text())


def test_file_names_give_labels_and_splits():
    paths = [Path(p) for p in ("AMP.tr.fa", "DECOY.te.fa", "AMP.eval.fa")]
    assert file_labels(paths) == (["AMP", "DECOY", "AMP"], ["train", "test", "val"])
    paths = [Path("Ecoli_prom.fa"), Path("Ecoli_non_prom.fa")]
    assert file_labels(paths) == (["prom", "non_prom"], [None, None])


def test_splice_demo_files_give_aligned_windows_and_a_sample_sheet(tmp_path, monkeypatch):
    files = [str(SPLICE / f"{label}.fa") for label in ("EI", "IE", "N")]
    config, findings, text = written(tmp_path, monkeypatch, fasta=files)
    dataset = only_dataset(config)
    assert dataset["alphabet"] == "dna" and dataset["ambiguous"] == "encode"
    assert dataset["duplicate_ids"] == "drop_identical"  # UCI lists 12 records twice
    sheet = (tmp_path / dataset["samples"]).read_text().splitlines()
    assert sheet[0] == "path\tlabel" and {row.split("\t")[1] for row in sheet[1:]} == {
        "EI",
        "IE",
        "N",
    }
    neural = [m for m in config["models"].values() if m["type"] != "kmer_logreg"]
    assert all(model["pool"] == "flatten" for model in neural)  # position matters here
    # only the plain rnn pools its flatten head; the stems of lstm and gru already pool by 3
    assert config["models"]["rnn"]["pool_size"] == 3
    assert "pool_size" not in config["models"]["lstm"] | config["models"]["gru"]
    assert config["models"]["kmer_logreg"]["positional"] is True
    assert any("all one length" in line for line in findings)
    assert "# ambiguity codes seen:" in text or "ambiguity codes seen" in text
    # a classifier: smoothed targets, ranked after temperature scaling
    assert config["train"]["label_smoothing"] == 0.1
    assert config["evaluate"]["select_by"] == "calibrated_val_loss"


def test_amp_files_give_their_own_split_and_position_free_pooling(tmp_path, monkeypatch):
    files = sorted(str(p) for p in AMP.glob("*.fa"))
    config, _, _ = written(tmp_path, monkeypatch, fasta=files)
    dataset = only_dataset(config)
    assert dataset["alphabet"] == "protein"
    assert dataset["split"] == {"method": "given"}
    rows = (tmp_path / dataset["samples"]).read_text().splitlines()[1:]
    assert sorted(r.split("\t")[1:] for r in rows) == sorted(
        [label, split] for label in ("AMP", "DECOY") for split in ("train", "val", "test")
    )
    assert all(m.get("pool") != "flatten" for m in config["models"].values())
    assert config["models"]["kmer_logreg"] == {"type": "kmer_logreg", "k": 2, "positional": False}


def test_cnnprom_ecoli_files(tmp_path, monkeypatch):
    files = [str(ECOLI / "Ecoli_prom.fa"), str(ECOLI / "Ecoli_non_prom.fa")]
    config, findings, _ = written(tmp_path, monkeypatch, fasta=files)
    assert list(config["datasets"]) == ["ecoli"]
    assert only_dataset(config)["split"]["method"] == "stratified"
    assert any("non_prom 3,000 (78%), prom 839 (22%)" in line for line in findings)


@pytest.mark.parametrize("conflict", [False, True])
def test_repeated_ids_get_the_policy_that_ingest_accepts(tmp_path, monkeypatch, conflict):
    """Headers named after a gene repeat (CNNProm's B. subtilis and Arabidopsis files: 'abrB'
    twice, 'putative' 708 times) with other sequences: init must choose `rename`, which ingest
    accepts; identical repeats (UCI splice) are dropped."""
    twice = "ACGTTGCA" if conflict else "ACGTACGT"
    (tmp_path / "prom.fa").write_text(
        f">abrB promoter 1\nACGTACGT\n>sigA\nTTTTACGT\n>abrB promoter 1\n{twice}\n"
    )
    (tmp_path / "non_prom.fa").write_text(">x1\nGGGGCCCC\n>x2\nGGGGAAAA\n>x3\nCCCCAAAA\n")
    config, findings, text = written(
        tmp_path, monkeypatch, fasta=[str(tmp_path / "prom.fa"), str(tmp_path / "non_prom.fa")]
    )
    dataset = only_dataset(config)
    assert dataset["duplicate_ids"] == ("rename" if conflict else "drop_identical")
    assert ("1 for different records: renamed" in " ".join(findings)) is conflict
    settings = {key: dataset[key] for key in ("task", "alphabet", "samples", "duplicate_ids")}
    summary = ingested(tmp_path, settings)
    assert summary["records"] == (6 if conflict else 5)  # the identical repeat dropped


def test_a_label_table_labels_every_record_of_a_repeated_id(tmp_path, monkeypatch):
    """An id -> label table cannot tell two records of one id apart: its row labels both, and
    init counts the classes per record, as ingest does, and says so beside `rename`."""
    (tmp_path / "x.fa").write_text(
        ">a\nACGTACGT\n>b\nACGTTTGT\n>a\nGGGTACGT\n>c\nACCCACGT\n>d\nACGTAAAA\n>e\nTTTTACGT\n"
    )
    (tmp_path / "lab.tsv").write_text("id\tlabel\na\tpos\nb\tneg\nc\tpos\nd\tneg\ne\tpos\n")
    config, findings, text = written(tmp_path, monkeypatch, fasta=["x.fa"], labels="lab.tsv")
    dataset = only_dataset(config)
    assert dataset["duplicate_ids"] == "rename"
    assert "the table's label for such an id labels all its records" in text
    assert "classes: pos 4 (67%), neg 2 (33%)" in findings
    settings = {k: dataset[k] for k in ("task", "alphabet", "fasta", "labels", "duplicate_ids")}
    summary = ingested(tmp_path, settings)
    assert summary["classes"] == {"pos": 4, "neg": 2}


def test_genbank_files_are_read_and_their_format_written(tmp_path, monkeypatch):
    """Files in another format (told by the extension, or --format) are read through
    Biopython; the config names the format and says how to take the coding sequences."""
    data = REPO / "tests" / "data"
    files = [str(data / "NC_005816.gb"), str(data / "NC_000932.gb")]
    config, findings, _ = written(tmp_path, monkeypatch, fasta=files)
    dataset = only_dataset(config)
    assert dataset["format"] == "genbank" and dataset["alphabet"] == "dna"
    assert findings[0].startswith("2 DNA records in 2 file(s); lengths 9609-154478")
    assert any("features: {type: CDS}" in line for line in findings)
    sheet = (tmp_path / f"{list(config['datasets'])[0]}_samples.tsv").read_text()
    assert sheet.splitlines()[1:] == [f"{files[0]}\t005816", f"{files[1]}\t000932"]
    reads = tmp_path / "reads.txt"
    reads.write_text((data / "example.fastq").read_text())
    with pytest.raises(InputError, match="no label source found"):  # read as FASTQ: no labels
        init(tmp_path / "reads.yaml", fasta=[reads], fmt="fastq")


def test_dream4_matrix_gives_a_forecasting_config(tmp_path, monkeypatch):
    config, _, _ = written(
        tmp_path,
        monkeypatch,
        matrix=str(DREAM4 / "insilico_size10_1_timeseries.tsv"),
        series_length=21,
        gold_standard=str(DREAM4 / "insilico_size10_1_goldstandard.tsv"),
    )
    dataset = only_dataset(config)
    assert dataset["task"] == "forecasting" and dataset["series_length"] == 21
    assert dataset["forecast"]["input"] == 5 and dataset["forecast"]["horizon"] == 3
    assert {"persistence", "ridge_ar", "gru"} <= set(config["models"])
    assert "label_smoothing" not in config["train"] and "evaluate" not in config


def test_a_genes_by_samples_matrix_with_a_sample_table(tmp_path, monkeypatch):
    lines = DREAM4.joinpath("insilico_size10_1_timeseries.tsv").read_text().splitlines()
    genes, rows = lines[0].split("\t"), [line.split("\t") for line in lines[1:43]]
    samples = [f"s{i}" for i in range(len(rows))]
    matrix = ["gene\t" + "\t".join(samples)]
    matrix += [g + "\t" + "\t".join(r[j] for r in rows) for j, g in enumerate(genes)]
    (tmp_path / "m.tsv").write_text("\n".join(matrix) + "\n")
    table = ["sample\tseries\ttime\tcondition"] + [
        f"s{i}\tr{i // 14}\t{(i % 14) * 10}\t{'heat' if i >= 28 else 'ctrl'}" for i in range(42)
    ]
    (tmp_path / "st.tsv").write_text("\n".join(table) + "\n")
    config, _, _ = written(tmp_path, monkeypatch, matrix="m.tsv", sample_table="st.tsv")
    dataset = only_dataset(config)
    assert dataset["orientation"] == "genes_x_samples" and dataset["sample_table"] == "st.tsv"
    assert dataset["forecast"]["input"] == 3  # series of 14 points


def test_labels_from_headers_a_table_or_values(tmp_path, monkeypatch):
    write_motif_fasta(tmp_path / "m.fa", n=40, length=30)  # headers: ">seq<i> pos|neg"
    config, findings, _ = written(tmp_path, monkeypatch, fasta=["m.fa"])
    assert only_dataset(config)["label_pattern"] == r"^\S+\s+(\S+)"
    assert any("header's second word" in line for line in findings)
    (tmp_path / "v.tsv").write_text(
        "id\ty\n" + "".join(f"seq{i}\t{i / 7:.3f}\n" for i in range(40))
    )
    (tmp_path / "mine.yaml").unlink()
    config, _, _ = written(tmp_path, monkeypatch, fasta=["m.fa"], values="v.tsv")
    assert only_dataset(config)["task"] == "regression" and "kmer_ridge" in config["models"]
    # smoothing is for classes (training refuses it for a regression); the loss ranks as it is
    assert "label_smoothing" not in config["train"] and "evaluate" not in config


def test_no_label_source_and_an_existing_config_are_refused(tmp_path, monkeypatch):
    (tmp_path / "a.fa").write_text(">r1\nACGT\n>r2\nACGA\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="no label source found"):
        init("mine.yaml", fasta=["a.fa"])
    (tmp_path / "mine.yaml").write_text("mine\n")
    with pytest.raises(InputError, match="exists; give --force"):
        init("mine.yaml", fasta=["a.fa"])
    assert (tmp_path / "mine.yaml").read_text() == "mine\n"


@pytest.mark.e2e
@pytest.mark.slow
def test_a_written_config_runs_as_it_is(tmp_path):
    """`genoflow init` on per-class FASTA files, then the workflow on the config it wrote."""
    for label in ("EI", "IE", "N"):  # 40 records per class: small enough to train quickly
        lines = SPLICE.joinpath(f"{label}.fa").read_text().splitlines()[:80]
        (tmp_path / f"{label}.fa").write_text("\n".join(lines) + "\n")
    run = dict(cwd=tmp_path, capture_output=True, text=True, env=genoflow_env(), timeout=900)
    result = subprocess.run(
        [sys.executable, "-m", "genoflow", "init", "EI.fa", "IE.fa", "N.fa", "--name", "data"],
        **run,
    )
    assert result.returncode == 0, result.stderr
    assert "found:" in result.stdout and "wrote mine.yaml" in result.stdout
    snakemake = [shutil.which("snakemake"), "--snakefile", str(REPO / "Snakefile"), "--cores", "2"]
    result = subprocess.run([*snakemake, "--configfile", "mine.yaml"], **run)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = (tmp_path / "results" / "data" / "summary.tsv").read_text()
    for model in ("rnn", "lstm", "gru", "transformer", "cnn", "kmer_logreg"):
        assert f"\n{model}\t" in summary
