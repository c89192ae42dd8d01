"""Sequence -> expression regression on data with a known rule: the value is a motif count."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import write_motif_count_data

from genoflow.errors import InputError
from genoflow.evaluate.baselines import train_kmer_baseline
from genoflow.evaluate.metrics import evaluate
from genoflow.formats.predictions import VAL_PREDICTIONS
from genoflow.io.ingest import ingest
from genoflow.io.sources import FastaInput
from genoflow.io.tables import read_values_table
from genoflow.preprocess.sequences import preprocess
from genoflow.tasks.train import TrainConfig, train


@pytest.fixture(scope="module")
def counts(tmp_path_factory):
    root = tmp_path_factory.mktemp("counts")
    write_motif_count_data(root)
    ingest(
        [FastaInput(root / "motifs.fa")],
        root / "ingest",
        alphabet="dna",
        values_table=root / "values.tsv",
    )
    preprocess(root / "ingest", root / "data", split="random")
    return root


def test_values_table_becomes_standardised_targets(counts):
    meta = json.loads((counts / "data" / "meta.json").read_text())
    assert meta["task"] == "regression" and meta["targets"] == ["count", "double"]
    assert meta["classes"] == [] and 1.2 < meta["target_mean"][0] < 1.8


def test_a_cnn_recovers_the_motif_count_rule(counts, tmp_path):
    """A correct model must learn value = number of motif copies: R^2 well above 0.8."""
    train(
        counts / "data",
        tmp_path,
        model_name="cnn",
        model_type="cnn",
        model_args={"channels": 16, "kernel_size": 6, "layers": 1, "dropout": 0.0, "pool": "mean"},
        train_config=TrainConfig(
            max_epochs=80, batch_size=32, lr=1e-2, weight_decay=0.0, patience=15
        ),
        threads=1,
    )
    predictions = pd.read_csv(tmp_path / "predictions.tsv", sep="\t")
    assert list(predictions.columns) == [
        "id",
        "true_count",
        "pred_count",
        "true_double",
        "pred_double",
    ]
    metrics = evaluate(tmp_path / "predictions.tsv", tmp_path / "metrics.json", n_boot=50)
    assert metrics["task"] == "regression"
    assert metrics["r2"] > 0.8 and metrics["pearson"] > 0.9
    assert metrics["per_target"]["double"]["mae"] > metrics["per_target"]["count"]["mae"]


def test_kmer_ridge_baseline_and_wrong_baseline_type(counts, tmp_path):
    info = train_kmer_baseline(
        counts / "data", tmp_path, model_name="kmer_ridge", model_type="kmer_ridge", k=3
    )
    assert info["type"] == "kmer_ridge"
    metrics = evaluate(tmp_path / "predictions.tsv", tmp_path / "metrics.json", n_boot=20)
    assert metrics["r2"] > 0.3  # 6-mer counts are visible to 3-mers only in part
    with pytest.raises(InputError, match="does not fit a regression task"):
        train_kmer_baseline(counts / "data", tmp_path, model_name="x", model_type="kmer_logreg")


def test_values_table_errors_name_the_cell(tmp_path):
    bad = tmp_path / "values.tsv"
    bad.write_text("id\tlevel\nr1\t1.5\nr2\thigh\n")
    with pytest.raises(InputError, match=r"values.tsv:3: column 'level' of id 'r2' is 'high'"):
        read_values_table(bad)
    bad.write_text("id\tsplit\nr1\ttrain\n")
    with pytest.raises(InputError, match="no target columns"):
        read_values_table(bad)


def test_a_baseline_fits_a_capped_subset_and_predicts_in_chunks(motif_data, tmp_path, monkeypatch):
    """On data too large for memory the k-mer baseline fits at most MAX_FIT_ROWS rows per split
    and predicts the test split a chunk at a time: every test row still gets its prediction,
    and a model fitted on a subset stays well above chance on the motif task."""
    import genoflow.evaluate.baselines as baselines

    monkeypatch.setattr(baselines, "MAX_FIT_ROWS", 120)
    monkeypatch.setattr(baselines, "PREDICT_ROWS", 7)
    info = train_kmer_baseline(motif_data, tmp_path, model_name="kmer_logreg", k=3)
    assert info["fit_rows"]["train"] == 120 and info["fit_rows"]["val"] <= 120
    records = pd.read_csv(motif_data / "records.tsv", sep="\t")
    predictions = pd.read_csv(tmp_path / "predictions.tsv", sep="\t")
    assert list(predictions["id"]) == list(records.loc[records["split"] == "test", "id"])
    metrics = evaluate(tmp_path / "predictions.tsv", tmp_path / "metrics.json", n_boot=20)
    assert metrics["accuracy"] > 0.7
    validation = pd.read_csv(tmp_path / VAL_PREDICTIONS, sep="\t")  # scored on it like a network
    assert len(validation) == info["fit_rows"]["val"]
    assert set(validation["id"]) <= set(records.loc[records["split"] == "val", "id"])
