"""End to end: the real `snakemake` on a tiny config, checked against the output contract."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, genoflow_env, open_in_chromium, write_motif_count_data

pytestmark = pytest.mark.e2e

DEMO = REPO / "workflow" / "resources" / "demo" / "splice"
MODELS = {
    "rnn": {"type": "rnn", "hidden": 16},
    "lstm": {"type": "lstm", "hidden": 16},
    "gru": {"type": "gru", "hidden": 16},
    "transformer": {"type": "transformer", "dim": 16, "heads": 2, "layers": 1},
    "cnn": {"type": "cnn", "channels": 16},
    "kmer_logreg": {"type": "kmer_logreg", "k": 2},
}
METRICS = ["accuracy", "balanced_accuracy", "auroc", "auprc", "f1", "mcc"]


def snakemake(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    command = ["snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(project)]
    result = subprocess.run(
        [*command, *args], capture_output=True, text=True, env=genoflow_env(), timeout=900
    )
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return result


def make_project(root: Path, per_class: int = 100) -> Path:
    """A project folder: 3 x `per_class` splice records, a sample sheet and a tiny config."""
    data = root / "data"
    data.mkdir(parents=True)
    for label in ("EI", "IE", "N"):
        lines = (DEMO / f"{label}.fa").read_text().splitlines()
        (data / f"{label}.fa").write_text("\n".join(lines[: 2 * per_class]) + "\n")
    (data / "samples.tsv").write_text("path\tlabel\nEI.fa\tEI\nIE.fa\tIE\nN.fa\tN\n")
    config = {
        "datasets": {
            "tiny": {
                "alphabet": "dna",
                "samples": "data/samples.tsv",
                "duplicate_ids": "drop_identical",
            }
        },
        "models": MODELS,
        "seeds": [0],
        "train": {"max_epochs": 2, "batch_size": 32},
        "threads": 1,
        "evaluate": {"bootstrap": 50},
    }
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    return root


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The tiny project, plus new records (one of them unusable) scored by its trained gru."""
    root = make_project(tmp_path_factory.mktemp("workflow"))
    new = DEMO.joinpath("IE.fa").read_text().splitlines()[-4:]  # records the run never saw
    (root / "data" / "new.fa").write_text("\n".join(new) + "\n>odd\nACGTJ\n")
    config = yaml.safe_load((root / "config.yaml").read_text())
    config["predict"] = {"new_sites": {"dataset": "tiny", "model": "gru", "fasta": ["data/new.fa"]}}
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    snakemake(root, "--cores", "2")
    return root


def test_every_contracted_output_exists(project):
    results = project / "results"
    for model in MODELS:
        run = results / "tiny" / model / "seed0"
        for name in ("model.ckpt", "history.csv", "metrics.json", "predictions.tsv"):
            assert (run / name).is_file(), f"{run / name} missing"
        assert (project / "logs" / "train" / "tiny" / model / "seed0.log").is_file()
        assert (project / "benchmarks" / "train" / "tiny" / model / "seed0.tsv").is_file()
    assert (results / "report" / "index.html").is_file()
    interpretation = json.loads((results / "tiny" / "interpret" / "summary.json").read_text())
    assert interpretation["model"] in MODELS and interpretation["model"] != "kmer_logreg"
    for name in ("logo", "maps"):
        assert (results / "tiny" / "figures" / f"{name}.svg").is_file()
    for rule in ("ingest", "preprocess", "evaluate", "summarize", "figures", "interpret", "report"):
        assert any((project / "logs" / rule).rglob("*.log")), f"no log for rule {rule}"


def test_predict_section_scores_new_records_with_a_trained_model(project):
    table = pd.read_csv(project / "results" / "predict" / "new_sites.tsv", sep="\t")
    assert list(table.columns) == ["id", "status", "predicted", "prob_EI", "prob_IE", "prob_N"]
    assert list(table["status"][:2]) == ["ok", "ok"]
    assert table["status"][2] == "character 'J' at position 5 is not in the dna alphabet"
    assert table.loc[:1, ["prob_EI", "prob_IE", "prob_N"]].sum(axis=1).round(4).eq(1).all()


def test_summary_has_every_model_and_the_contracted_columns(project):
    summary = pd.read_csv(project / "results" / "tiny" / "summary.tsv", sep="\t")
    assert list(summary.columns[:2]) == ["model", "seed"]
    assert set(METRICS) <= set(summary.columns)
    # and the ensemble: the mean of the neural models' probabilities, ranked with them
    assert sorted(summary["model"]) == sorted([*MODELS, "ensemble"])
    assert summary[METRICS].notna().all().all()
    ensemble = summary.set_index("model").loc["ensemble"]
    info = json.loads((project / "results/tiny/ensemble/seed0/train.json").read_text())
    members = [member.split("/")[0] for member in info["members"]]
    assert members and set(members) <= set(MODELS) - {"kmer_logreg"}  # chosen among neural
    assert ensemble["val_loss"] > 0  # chosen and ranked on validation
    assert ensemble["params"] == summary.set_index("model").loc[members, "params"].sum()
    assert ((summary["accuracy"] >= 0) & (summary["accuracy"] <= 1)).all()


def test_metrics_have_intervals_around_the_estimate(project):
    metrics = json.loads((project / "results/tiny/lstm/seed0/metrics.json").read_text())
    for name in METRICS:
        low, high = metrics["ci95"][name]
        assert low <= metrics[name] + 1e-9 and metrics[name] <= high + 1e-9
    predictions = pd.read_csv(project / "results/tiny/lstm/seed0/predictions.tsv", sep="\t")
    assert len(predictions) == metrics["n_test"] == sum(map(sum, metrics["confusion_matrix"]))


def test_report_names_every_model_and_embeds_figures(project):
    html = (project / "results" / "report" / "index.html").read_text()
    for model in MODELS:
        assert model in html
    assert html.count("<svg") >= 7 and "mutagenesis logo" in html
    assert "Selected vs runner-up" in html
    assert (project / "results" / "tiny" / "comparison.json").is_file()
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
        'xmlns:xlink="http://www.w3.org/1999/xlink"', ""
    )


def test_rerun_has_nothing_to_do(project):
    dry = snakemake(project, "--cores", "1", "--dry-run", "--quiet", "rules")
    assert "Nothing to be done" in dry.stdout + dry.stderr


def test_report_renders_offline_in_headless_chromium(project):
    """results/report/index.html opened as a person opens it: no console error, no missing
    image, nothing fetched from outside the file; a full-page screenshot is kept."""
    page = open_in_chromium(project / "results" / "report" / "index.html", "report.png")
    assert page["problems"] == []
    assert page["title"].startswith("genoflow report") and page["figures"] >= 7
    assert page["height"] > 2000  # the page laid out, not a blank or error page
    size = (project / "results" / "report" / "index.html").stat().st_size
    assert size < 2_000_000  # small enough to e-mail


@pytest.mark.slow
def test_snakemake_report_has_a_caption_for_every_item(project, tmp_path):
    snakemake(project, "--cores", "1", "--report", "report.zip")
    with zipfile.ZipFile(project / "report.zip") as archive:
        names = archive.namelist()
        archive.extractall(tmp_path)
    assert any(name.endswith("report.html") for name in names)
    assert sum(name.endswith(".svg") for name in names) >= 7
    page = open_in_chromium(next(tmp_path.rglob("report.html")), "snakemake-report.png")
    assert page["problems"] == []


@pytest.mark.slow
def test_two_runs_of_one_config_give_identical_results(project, tmp_path):
    """The same config and data in a fresh folder, rerun from scratch on CPU: metrics.json and
    predictions.tsv are byte-identical (seeded, deterministic training) for a recurrent model,
    the Transformer, the CNN and the baseline (rnn and gru share the LSTM's code path)."""
    shutil.copytree(project / "data", tmp_path / "data")
    shutil.copy(project / "config.yaml", tmp_path / "config.yaml")
    models = ["lstm", "transformer", "cnn", "kmer_logreg"]
    snakemake(tmp_path, "--cores", "2", *[f"results/tiny/{m}/seed0/metrics.json" for m in models])
    for model in models:
        for name in ("metrics.json", "predictions.tsv"):
            first = (project / "results" / "tiny" / model / "seed0" / name).read_bytes()
            second = (tmp_path / "results" / "tiny" / model / "seed0" / name).read_bytes()
            assert first == second, f"{model}/{name} differs between two runs"


def test_changing_one_model_reruns_only_that_model(project):
    config = yaml.safe_load((project / "config.yaml").read_text())
    config["models"]["gru"]["hidden"] = 12
    (project / "config_gru.yaml").write_text(yaml.safe_dump(config))
    dry = snakemake(
        project, "--cores", "1", "--dry-run", "--configfile", str(project / "config_gru.yaml")
    )
    outputs = [line for line in dry.stdout.splitlines() if line.strip().startswith("output:")]
    train_jobs = [line for line in outputs if "model.ckpt" in line]
    assert len(train_jobs) == 1 and "/gru/" in train_jobs[0], dry.stdout
    assert any("results/predict/new_sites.tsv" in line for line in outputs)  # it uses the gru


def test_wrong_config_key_stops_before_any_job(tmp_path):
    """A misspelt key fails fast, names the key, and nothing is scheduled or written."""
    root = make_project(tmp_path, per_class=5)
    config = yaml.safe_load((root / "config.yaml").read_text())
    config["models"]["lstm"]["hiden"] = 8
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(root, "--cores", "1", check=False)
    assert result.returncode != 0
    assert "models.lstm: unknown key(s) ['hiden']" in result.stderr
    assert not (root / "results").exists()


def test_bad_fasta_fails_the_job_and_leaves_no_result(tmp_path):
    """Ingest of an invalid record exits non-zero, names file/record/position, writes nothing."""
    root = make_project(tmp_path, per_class=5)
    bad = root / "data" / "N.fa"
    lines = bad.read_text().splitlines()
    lines[1] = "X" + lines[1][1:]  # first base of the first record
    bad.write_text("\n".join(lines) + "\n")
    result = snakemake(root, "--cores", "1", check=False)
    assert result.returncode != 0
    log = (root / "logs" / "ingest" / "tiny.log").read_text()
    assert "N.fa:1: record 'AGMKPNRSB-NEG-1': character 'X' at position 1" in log
    assert not list((root / "results" / "tiny" / "ingest").glob("*"))


def write_regions(root: Path) -> None:
    """genome.fa: three 20 kb chromosomes (pieces of M. genitalium, 60 bases a line) and
    regions.bed: 20 labelled regions on each, every third on the minus strand."""
    genome = "".join(
        line.strip()
        for line in (REPO / "tests" / "data" / "Mycoplasma_genitalium.fna").open()
        if not line.startswith(">")
    )
    with open(root / "genome.fa", "w") as out:
        for i in (1, 2, 3):
            piece = genome[i * 20_000 : (i + 1) * 20_000]
            out.write(
                f">chr{i}\n" + "".join(piece[k : k + 60] + "\n" for k in range(0, 20_000, 60))
            )
    with open(root / "regions.bed", "w") as out:
        for i in (1, 2, 3):
            for k in range(20):
                strand, label = "+-"[k % 3 == 0], "ab"[k % 2]
                out.write(f"chr{i}\t{k * 900}\t{k * 900 + 300}\tr{i}_{k}\t0\t{strand}\t{label}\n")


@pytest.fixture(scope="module")
def mixed_project(tmp_path_factory) -> Path:
    """A forecasting dataset (DREAM4 net 1), a sequence regression dataset and next-base
    training on a tiled genome (phiX) in one run."""
    root = tmp_path_factory.mktemp("mixed")
    write_motif_count_data(root, n=200)
    write_regions(root)
    dream4 = REPO / "workflow" / "resources" / "demo" / "dream4"
    config = {
        "datasets": {
            "net1": {
                "task": "forecasting",
                "matrix": str(dream4 / "insilico_size10_1_timeseries.tsv"),
                "series_length": 21,
                "time_step": 50,
                "gold_standard": str(dream4 / "insilico_size10_1_goldstandard.tsv"),
                "forecast": {"input": 3, "horizon": 2, "multistep": "recursive"},
                "train": {"batch_size": 16},
            },
            "counts": {
                "task": "regression",
                "alphabet": "dna",
                "fasta": ["motifs.fa"],
                "values": "values.tsv",
                "models": ["cnn", "gru", "kmer_ridge"],
            },
            "regions": {
                "alphabet": "dna",
                "regions": {
                    "bed": "regions.bed",
                    "reference": "genome.fa",
                    "resize": 100,
                    "label_column": 7,
                },
                "split": {"method": "chromosome", "test": ["chr3"], "val": ["chr2"]},
                "models": ["cnn"],
            },
            "phix": {
                "alphabet": "dna",
                "fasta": [str(REPO / "tests" / "data" / "phix.fa")],
                "tile": {"width": 40, "stride": 20, "label": "next_base"},
                "split": {"method": "blocks", "block_size": 500},
                "models": ["gru", "kmer_logreg"],
            },
        },
        "models": {
            "gru": {"type": "gru", "hidden": 8, "pool": "flatten"},
            "lstm": {"type": "lstm", "hidden": 8, "pool": "flatten"},  # forecasts only
            "cnn": {"type": "cnn", "channels": 8, "pool": "mean"},
            "kmer_ridge": {"type": "kmer_ridge", "k": 2},
            "kmer_logreg": {"type": "kmer_logreg", "k": 2},
            "persistence": {"type": "persistence"},
            "ridge_ar": {"type": "ridge_ar"},
        },
        "train": {"max_epochs": 2},
        "threads": 1,
        "evaluate": {"bootstrap": 20},
    }
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    snakemake(root, "--cores", "2")
    return root


def test_forecasting_outputs_follow_the_contract(mixed_project):
    results = mixed_project / "results" / "net1"
    summary = pd.read_csv(results / "summary.tsv", sep="\t")
    # cnn cannot forecast; the ensemble: the neural forecasts validation chose, averaged
    assert sorted(summary["model"]) == ["ensemble", "gru", "lstm", "persistence", "ridge_ar"]
    assert {"mse", "mae", "skill", "mse_h1", "skill_h2", "mse_raw", "skill_raw"} <= set(summary)
    persistence = summary.set_index("model").loc["persistence"]
    assert persistence["skill"] == pytest.approx(0.0, abs=1e-9)
    info = json.loads((results / "ensemble" / "seed0" / "train.json").read_text())
    members = [pd.read_csv(results / m / "predictions.tsv", sep="\t") for m in info["members"]]
    forecast = pd.read_csv(results / "ensemble" / "seed0" / "predictions.tsv", sep="\t")
    assert list(forecast.columns) == list(members[0].columns) and len(forecast) == len(members[0])
    for column in ("predicted_z", "predicted"):  # (z-scored only: the same mean in raw units)
        mean = np.mean([m[column].to_numpy() for m in members], axis=0)
        np.testing.assert_allclose(forecast[column], mean, rtol=1e-4, atol=1e-5)
    # ranked by the models' own validation loss: recursive ones are validated one step ahead
    for run in ("gru/seed0", "ensemble/seed0"):
        val = pd.read_csv(results / run / "val_predictions.tsv", sep="\t")
        first = val[val["horizon"] == 1]
        val_mse = float(np.mean((first["predicted_z"] - first["truth_z"]) ** 2))
        best = json.loads((results / run / "train.json").read_text())["best_val_loss"]
        assert best == pytest.approx(val_mse, rel=1e-3)
    edges = pd.read_csv(results / "network" / "edges.tsv", sep="\t")
    assert len(edges) == 90 and list(edges["rank"]) == list(range(1, 91))
    network = json.loads((results / "network" / "metrics.json").read_text())
    assert 0 <= network["neural"]["auroc"] <= 1 and network["ridge"]["edges_true"] == 15
    for name in ("comparison", "forecast", "loss", "network"):
        assert (results / "figures" / f"{name}.svg").is_file()


def test_regression_outputs_follow_the_contract(mixed_project):
    results = mixed_project / "results" / "counts"
    summary = pd.read_csv(results / "summary.tsv", sep="\t")
    assert sorted(summary["model"]) == ["cnn", "ensemble", "gru", "kmer_ridge"]
    assert {"mse", "mae", "r2", "pearson", "spearman"} <= set(summary.columns)
    # the ensemble: predicted values averaged record by record over the members validation
    # chose, ranked with the models by the same standardised squared error as their val_loss
    info = json.loads((results / "ensemble" / "seed0" / "train.json").read_text())
    assert info["members"] and set(info["candidates"]) == {"cnn", "gru"}
    members = [pd.read_csv(results / m / "predictions.tsv", sep="\t") for m in info["members"]]
    ensemble = pd.read_csv(results / "ensemble" / "seed0" / "predictions.tsv", sep="\t")
    assert list(ensemble["id"]) == list(members[0]["id"])
    mean = np.mean([m["pred_count"].to_numpy() for m in members], axis=0)
    np.testing.assert_allclose(ensemble["pred_count"], mean, rtol=1e-4)
    meta = json.loads((results / "preprocess" / "meta.json").read_text())
    val = pd.read_csv(results / "ensemble" / "seed0" / "val_predictions.tsv", sep="\t")
    z = [
        (val[f"pred_{t}"] - val[f"true_{t}"]) / s
        for t, s in zip(meta["targets"], meta["target_std"], strict=True)
    ]
    assert info["best_val_loss"] == pytest.approx(float(np.mean(np.square(z))), rel=1e-3)
    predictions = pd.read_csv(results / "cnn" / "seed0" / "predictions.tsv", sep="\t")
    assert list(predictions.columns) == [
        "id",
        "true_count",
        "pred_count",
        "true_double",
        "pred_double",
    ]
    for name in ("comparison", "scatter", "loss"):
        assert (results / "figures" / f"{name}.svg").is_file()
    html = (mixed_project / "results" / "report" / "index.html").read_text()
    assert "counts" in html and "net1" in html


def test_next_base_training_on_a_tiled_genome(mixed_project):
    """phiX cut into 40-nt contexts every 20 nt, each labelled with the base after it, split in
    blocks of 500 nt: a GRU and the k-mer baseline train and predict the four bases."""
    results = mixed_project / "results" / "phix"
    meta = json.loads((results / "preprocess" / "meta.json").read_text())
    assert meta["classes"] == ["A", "C", "G", "T"] and meta["tile"]["label"] == "next_base"
    # 5,385 nt of context: windows at 0, 20, ..., 5340, then the end-aligned one at 5345
    assert meta["records"] == 269 and meta["split"]["method"] == "blocks"
    summary = pd.read_csv(results / "summary.tsv", sep="\t")
    assert sorted(summary["model"]) == ["gru", "kmer_logreg"]
    assert summary["accuracy"].between(0, 1).all()
    predictions = pd.read_csv(results / "gru" / "seed0" / "predictions.tsv", sep="\t")
    assert set(predictions["label"]) <= {"A", "C", "G", "T"}
    assert predictions["id"].str.fullmatch(r"1:\d+-\d+").all()
    records = pd.read_csv(results / "preprocess" / "records.tsv", sep="\t")
    test_ids = set(records.loc[records["split"] == "test", "id"])
    assert set(predictions["id"]) == test_ids


def test_bed_regions_train_with_a_split_by_chromosome(mixed_project):
    """Regions of a reference (BED + FASTA): chr3 is the test split, chr2 validation."""
    results = mixed_project / "results" / "regions"
    records = pd.read_csv(results / "preprocess" / "records.tsv", sep="\t")
    chromosome = records["id"].str.slice(1, 2).map({"1": "train", "2": "val", "3": "test"})
    assert (records["split"] == chromosome).all() and (records["length"] == 100).all()
    predictions = pd.read_csv(results / "cnn" / "seed0" / "predictions.tsv", sep="\t")
    assert sorted(predictions["id"]) == sorted(f"r3_{k}" for k in range(20))
    summary = json.loads((results / "ingest" / "summary.json").read_text())
    assert summary["inputs"][0]["reference"].endswith("genome.fa")


@pytest.fixture(scope="module")
def protein_project(tmp_path_factory) -> Path:
    """The new tasks in one run: secondary structure per residue (CSV excerpts of TS115 as
    train, CB513 as test), multilabel motifs, and AMP Scanner peptides (variable lengths, the
    files' own split); a `predict:` entry scores new records with the multilabel cnn."""
    from test_residues import write_multilabel_table

    root = tmp_path_factory.mktemp("proteins")
    write_motif_count_data(root, n=200)
    write_multilabel_table(root)
    data = REPO / "tests" / "data"
    amp = write_amp_excerpt(root, per_file=60)
    config = {
        "datasets": {
            "structure": {
                "task": "token_classification",
                "alphabet": "protein",
                "residues": {
                    "csv": [
                        {"path": str(data / "TS115_excerpt.csv"), "split": "train"},
                        {"path": str(data / "CB513_excerpt.csv"), "split": "test"},
                    ],
                    "label_column": "dssp3",
                    "mask_columns": ["disorder", "cb513_mask"],
                },
                "split": {"method": "given"},
                "models": ["gru", "cnn", "window_logreg"],
            },
            "multi": {
                "task": "multilabel",
                "alphabet": "dna",
                "fasta": ["motifs.fa"],
                "values": "labels.tsv",
                "models": ["cnn", "gru", "kmer_logreg"],
            },
            "peptides": {
                "alphabet": "protein",
                "samples": str(amp),
                "split": {"method": "given"},
                "classes": ["DECOY", "AMP"],
                "models": ["gru"],
            },
            "cds": {  # GenBank CDS features, translated: proteins of two genomes
                "alphabet": "protein",
                "samples": str(write_genbank_sheet(root)),
                "format": "genbank",
                "features": {"type": "CDS"},
                "translate": {"table": 11},
                "max_length": 400,
                "trim": "right",
                "models": ["kmer_logreg"],
            },
            "near": {
                "alphabet": "dna",
                "simulate": {"distance": 5, "records": 120},
                "models": ["cnn"],
            },
            "far": {
                "alphabet": "dna",
                "simulate": {"distance": 30, "records": 120},
                "models": ["cnn"],
            },
        },
        "models": {
            "gru": {"type": "gru", "hidden": 8},
            "cnn": {"type": "cnn", "channels": 8},
            "window_logreg": {"type": "window_logreg", "window": 3},
            "kmer_logreg": {"type": "kmer_logreg", "k": 2},
        },
        "predict": {
            "multi_new": {"dataset": "multi", "model": "cnn", "fasta": ["motifs.fa"]},
            "cds_new": {
                "dataset": "cds",
                "model": "kmer_logreg",
                "fasta": [str(data / "NC_005816.gb")],
                "format": "genbank",
                "features": {"type": "CDS"},
                "translate": {"table": 11},
            },
            "structure_new": {
                "dataset": "structure",
                "model": "window_logreg",
                "fasta": [str(data / "CB513_excerpt.fa")],
            },
        },
        "train": {"max_epochs": 2, "batch_size": 32},
        "threads": 1,
        "evaluate": {"bootstrap": 20},
        "interpret": {"records": 20},
    }
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    snakemake(root, "--cores", "2")
    return root


def write_genbank_sheet(root: Path) -> Path:
    """A sample sheet of two GenBank files (a plasmid, a chloroplast), labelled by file."""
    data = REPO / "tests" / "data"
    sheet = root / "genbank.tsv"
    rows = [f"{data / 'NC_005816.gb'}\tplasmid", f"{data / 'NC_000932.gb'}\tchloroplast"]
    sheet.write_text("path\tlabel\n" + "\n".join(rows) + "\n")
    return sheet


def write_amp_excerpt(root: Path, per_file: int) -> Path:
    """The first `per_file` peptides of each AMP Scanner file, with the files' labels and
    splits: a sample sheet in root/amp."""
    source = REPO / "workflow" / "resources" / "benchmarks" / "amp_scanner"
    (root / "amp").mkdir()
    sheet = (source / "samples.tsv").read_text().splitlines()
    for line in sheet[1:]:
        name = line.split("\t")[0]
        lines = (source / name).read_text().splitlines()[: 2 * per_file]  # one line each
        (root / "amp" / name).write_text("\n".join(lines) + "\n")
    (root / "amp" / "samples.tsv").write_text("\n".join(sheet) + "\n")
    return root / "amp" / "samples.tsv"


def test_per_residue_labels_run_end_to_end(protein_project):
    results = protein_project / "results" / "structure"
    summary = pd.read_csv(results / "summary.tsv", sep="\t")
    assert sorted(summary["model"]) == ["cnn", "ensemble", "gru", "window_logreg"]
    assert {"q3", "balanced_accuracy", "mcc", "q3_ci_low"} <= set(summary.columns)
    assert summary["q3"].between(0, 1).all()
    for run in ("gru/seed0", "ensemble/seed0"):  # the ensemble: residue by residue, as the models
        predictions = pd.read_csv(results / run / "predictions.tsv", sep="\t")
        assert predictions["id"].str.startswith("CB513_excerpt|").all()
        assert len(predictions) == 4081  # every residue of the 12 test proteins
    members = json.loads((results / "ensemble" / "seed0" / "train.json").read_text())["members"]
    assert set(members) <= {"gru/seed0", "cnn/seed0"} and members  # chosen on validation
    for name in ("comparison", "confusion", "loss"):
        assert (results / "figures" / f"{name}.svg").is_file()
    html = (protein_project / "results" / "report" / "index.html").read_text()
    assert "Q3" in html and "residues" in html
    scored = pd.read_csv(protein_project / "results" / "predict" / "structure_new.tsv", sep="\t")
    expected = pd.read_csv(results / "window_logreg" / "seed0" / "predictions.tsv", sep="\t")
    assert list(scored["predicted"]) == list(expected["predicted"])  # a row per residue


def test_multilabel_runs_end_to_end_and_predicts(protein_project):
    results = protein_project / "results" / "multi"
    summary = pd.read_csv(results / "summary.tsv", sep="\t")
    assert sorted(summary["model"]) == ["cnn", "ensemble", "gru", "kmer_logreg"]
    assert {"auroc", "auprc", "f1", "exact_match"} <= set(summary.columns)
    ensemble = pd.read_csv(results / "ensemble" / "seed0" / "predictions.tsv", sep="\t")
    cnn = pd.read_csv(results / "cnn" / "seed0" / "predictions.tsv", sep="\t")
    assert list(ensemble.columns) == list(cnn.columns) and len(ensemble) == len(cnn)
    info = json.loads((results / "ensemble" / "seed0" / "train.json").read_text())
    assert info["members"] and set(info["members"]) <= {"cnn/seed0", "gru/seed0"}
    metrics = json.loads((results / "kmer_logreg" / "seed0" / "metrics.json").read_text())
    assert set(metrics["per_label"]) == {"has_motif", "two_motifs", "gc_rich"}
    scored = pd.read_csv(
        protein_project / "results" / "predict" / "multi_new.tsv", sep="\t", keep_default_na=False
    )
    assert len(scored) == 200 and (scored["status"] == "ok").all()
    assert list(scored.columns[-3:]) == ["prob_has_motif", "prob_two_motifs", "prob_gc_rich"]


def test_genbank_coding_sequences_run_end_to_end_and_predict(protein_project):
    """`format: genbank`, `features: {type: CDS}`, `translate: {table: 11}`: a protein per
    CDS through the workflow, and the `predict:` entry reads the plasmid the same way."""
    results = protein_project / "results" / "cds"
    summary = json.loads((results / "ingest" / "summary.json").read_text())
    assert summary["classes"] == {"chloroplast": 85, "plasmid": 10}
    assert summary["inputs"][0]["features"] == {"type": "CDS", "label_qualifier": None}
    assert (results / "kmer_logreg" / "seed0" / "metrics.json").is_file()
    scored = pd.read_csv(protein_project / "results" / "predict" / "cds_new.tsv", sep="\t")
    assert len(scored) == 10 and (scored["status"] == "ok").all()
    assert scored["id"].str.startswith("YP_pPCP").all()


def test_simulated_distances_give_an_accuracy_against_distance_figure(protein_project):
    results = protein_project / "results"
    for name, distance in (("near", 5), ("far", 30)):
        fasta = (results / name / "simulated.fa").read_text()
        assert fasta.count(">") == 120 and len(fasta.splitlines()[1]) == distance + 56
        summary = pd.read_csv(results / name / "summary.tsv", sep="\t")
        assert summary["model"].tolist() == ["cnn"]
    assert (results / "report" / "distance.svg").read_text().count("<svg") == 1
    html = (results / "report" / "index.html").read_text()
    assert "Long-range memory: accuracy against distance" in html


def test_variable_length_peptides_keep_their_given_split(protein_project):
    results = protein_project / "results" / "peptides"
    meta = json.loads((results / "preprocess" / "meta.json").read_text())
    sizes = {split: sum(counts.values()) for split, counts in meta["split_sizes"].items()}
    assert sizes == {"train": 120, "val": 120, "test": 120}  # the files' own split
    predictions = pd.read_csv(results / "gru" / "seed0" / "predictions.tsv", sep="\t")
    assert len(predictions) == 120 and set(predictions["label"]) == {"AMP", "DECOY"}
    lengths = pd.read_csv(results / "preprocess" / "records.tsv", sep="\t")["length"]
    assert lengths.min() < lengths.max()  # varied lengths, trained in length buckets


@pytest.mark.slow
def test_the_workflow_runs_without_a_python_on_path(tmp_path):
    """The venv's snakemake from a shell whose PATH holds neither the venv nor a working
    `python`: the system's python3 (which lacks the dependencies) and, first, a `python` that
    fails. Every job runs genoflow with the Python that runs Snakemake."""
    root = make_project(tmp_path, per_class=20)
    config = yaml.safe_load((root / "config.yaml").read_text())
    config["models"] = {"kmer_logreg": MODELS["kmer_logreg"], "cnn": MODELS["cnn"]}
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    bare = "/usr/bin:/bin"
    assert shutil.which("python", path=bare) is None, "this machine has a python on /usr/bin"
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / "python").write_text("#!/bin/sh\necho 'not the python to run' >&2\nexit 3\n")
    (wrong / "python").chmod(0o755)
    snakemake = str(Path(shutil.which("snakemake", path=genoflow_env()["PATH"])).resolve())
    for path in (f"{wrong}:{bare}",):
        env = {"PATH": path, "HOME": str(tmp_path)}
        command = [
            snakemake,
            "--snakefile",
            str(REPO / "Snakefile"),
            "--cores",
            "1",
            "--configfile",
            "config.yaml",
            "--forceall",
        ]
        result = subprocess.run(
            command, cwd=root, capture_output=True, text=True, env=env, timeout=900
        )
        assert result.returncode == 0, (path, result.stderr[-3000:])
        assert "not the python to run" not in result.stderr
    assert (root / "results" / "tiny" / "summary.tsv").is_file()


def test_the_timecourse_example_runs_with_named_series_and_irregular_times(tmp_path):
    """workflow/configs/timecourse.yaml end to end (issue #22): a genes x samples matrix with a
    sample table, irregular time points resampled, a split by named series, log1p; metrics on
    the standardised scale with the original units beside them."""
    config = yaml.safe_load((REPO / "workflow/configs/timecourse.yaml").read_text())
    dataset = config["datasets"]["timecourse"]
    for key in ("matrix", "sample_table", "gold_standard"):
        dataset[key] = str(REPO / dataset[key])
    config["train"] = {"max_epochs": 5}
    (tmp_path / "tfs.txt").write_text("# candidate regulators\nG1\nG2\nG3\nG4\nG5\n")
    dataset["regulators"] = "tfs.txt"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    snakemake(tmp_path, "--cores", "2")
    results = tmp_path / "results" / "timecourse"
    meta = json.loads((results / "preprocess/meta.json").read_text())
    assert meta["split"]["test"] == ["perturbation_5"] and meta["split"]["val"] == [
        "perturbation_4"
    ]
    assert meta["split"]["train"] == [f"perturbation_{i}" for i in (1, 2, 3)]
    assert meta["resampled"]["step"] == 100 and meta["resampled"]["grid_points_measured"] == 45
    summary = pd.read_csv(results / "summary.tsv", sep="\t").set_index("model")
    assert sorted(summary.index) == ["gru", "persistence", "ridge_ar"]
    metrics = json.loads((results / "ridge_ar/seed0/metrics.json").read_text())
    assert metrics["mse_raw"] > 100 * metrics["mse"]  # counts-like raw units vs z-scores
    assert summary.loc["ridge_ar", "mse"] == pytest.approx(metrics["mse"], rel=1e-5)
    assert "standardised" in metrics["scale"][""]
    network = json.loads((results / "network/metrics.json").read_text())
    assert network["regulators"] == 5
    for method in ("neural", "regulation", "ridge", "ridge_ar1", "dyngenie3"):
        assert network[method]["edges_scored"] == 5 * 9, method
    edges = pd.read_csv(results / "network/dyngenie3_edges.tsv", sep="\t")
    assert set(edges["regulator"]) == {"G1", "G2", "G3", "G4", "G5"} and len(edges) == 45
