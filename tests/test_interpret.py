"""Interpretation: in-silico mutagenesis, saliency, attention, logos; and on a real splice run,
the known biology (donor sites are read at the exon/intron junction)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import REPO

from genoflow.evaluate.interpret import (
    attention_received,
    best_run,
    interpret,
    ism_scores,
    logo_matrix,
    saliency_scores,
)
from genoflow.io.ingest import ingest
from genoflow.io.sources import read_sample_sheet
from genoflow.models import SequenceModel
from genoflow.models.build import token_model
from genoflow.preprocess.sequences import preprocess
from genoflow.report.figures.interpretation import write_interpretation_figures
from genoflow.tasks.train import TrainConfig, train

SPLICE = REPO / "workflow" / "resources" / "demo" / "splice" / "samples.tsv"


def small_model(model_type: str = "cnn") -> SequenceModel:
    torch.manual_seed(0)
    args = {"cnn": {"channels": 8, "kernel_size": 5}, "transformer": {"dim": 8, "heads": 2}}
    return token_model(model_type, args[model_type], "dna", 2, None).eval()


def test_ism_matches_scoring_each_mutant_alone():
    """Entry (i, j, k) is log p(class | record i with letter k at j) - log p(class | record i):
    0 at the reference letter, nan past the record's end; batching changes nothing."""
    model = small_model()
    tokens = np.array([[1, 2, 3, 4, 1, 2], [4, 4, 3, 0, 0, 0]], dtype=np.uint8)
    lengths, classes = np.array([6, 3]), np.array([1, 0])
    ism = ism_scores(model, tokens, lengths, classes, letters=4, batch_size=5)
    assert ism.shape == (2, 6, 4) and np.isnan(ism[1, 3:]).all()
    assert (ism[0, np.arange(6), tokens[0].astype(int) - 1] == 0).all()

    def log_p(row: np.ndarray, length: int, k: int) -> float:
        with torch.no_grad():
            logits = model(torch.from_numpy(row[None, :length]), torch.tensor([length]))
        return float(logits.log_softmax(dim=1)[0, k])

    mutant = tokens[0].copy()
    mutant[2] = 1  # position 3 set to A
    expected = log_p(mutant, 6, 1) - log_p(tokens[0], 6, 1)
    assert ism[0, 2, 0] == pytest.approx(expected, abs=1e-5)


def test_saliency_and_attention_cover_real_positions_only():
    model = small_model("transformer")
    tokens = np.array([[1, 2, 3, 4, 1], [4, 3, 0, 0, 0]], dtype=np.uint8)
    lengths, classes = np.array([5, 2]), np.array([0, 1])
    saliency = saliency_scores(model, tokens, lengths, classes)
    assert np.isfinite(saliency[0]).all() and np.isnan(saliency[1, 2:]).all()
    with torch.no_grad():
        attention = attention_received(model, tokens, lengths)
    # each query's weights sum to 1 over the keys, so the mean received is 1 / length
    assert np.nansum(attention, axis=1) == pytest.approx([1.0, 1.0], abs=1e-5)
    assert attention_received(small_model("cnn"), tokens, lengths) is None


def test_logo_height_is_the_mean_loss_from_mutating_the_reference_away():
    ism = np.zeros((2, 2, 4), dtype=np.float32)
    ism[0, 0] = [0, -3, -3, -3]  # A at position 1 of record 1: every mutation costs 3
    ism[1, 0] = [-1, 0, -1, -1]  # C at position 1 of record 2: costs 1
    tokens = np.array([[1, 2], [2, 2]], dtype=np.uint8)
    matrix = logo_matrix(ism, tokens, letters=4)
    assert matrix[0].tolist() == pytest.approx([1.5, 0.5, 0, 0])  # averaged over 2 records
    assert matrix[1].tolist() == pytest.approx([0, 0, 0, 0])


def test_best_run_is_chosen_on_validation_not_test(tmp_path):
    for name, kind, loss in (("a", "gru", 0.5), ("b", "cnn", 0.3), ("k", "kmer_logreg", 0.1)):
        (tmp_path / name).mkdir()
        info = {"model": name, "type": kind, "best_val_loss": loss}
        (tmp_path / name / "train.json").write_text(json.dumps(info))
    assert best_run([tmp_path / n for n in "abk"]) == tmp_path / "b"  # baselines excluded


@pytest.mark.e2e
@pytest.mark.slow
def test_splice_donor_sites_are_read_at_the_exon_intron_junction(tmp_path):
    """A CNN trained on the UCI splice demo: for at least 80 % of the correctly classified EI
    (donor) test records, the most important position by ISM lies within 3 nt of the junction
    between positions 30 and 31."""
    ingest(
        read_sample_sheet(SPLICE),
        tmp_path / "ingest",
        alphabet="dna",
        duplicate_ids="drop_identical",
    )
    preprocess(tmp_path / "ingest", tmp_path / "data", seed=42)
    config = TrainConfig(max_epochs=8, batch_size=64, patience=8)
    train(
        tmp_path / "data",
        tmp_path / "cnn",
        model_name="cnn",
        model_type="cnn",
        model_args={"channels": 32, "kernel_size": 9, "pool": "flatten", "pool_size": 5},
        train_config=config,
        seed=0,
        threads=2,
    )
    summary = interpret(tmp_path / "cnn", tmp_path / "data", tmp_path / "out", max_records=300)
    records = pd.read_csv(tmp_path / "out" / "records.tsv", sep="\t")
    top = np.array(summary["top_position"])
    donors = ((records["label"] == "EI") & (records["predicted"] == "EI")).to_numpy()
    assert donors.sum() >= 40
    distance = np.minimum(np.abs(top - 30), np.abs(top - 31))
    assert (distance[donors] <= 3).mean() >= 0.8, np.bincount(top[donors])
    logo = np.array(summary["logos"]["EI"])
    assert logo.sum(axis=1).argmax() + 1 in (31, 32)  # the GT that starts the intron
    assert "".join("ACGT"[k] for k in logo[30:32].argmax(axis=1)) == "GT"
    paths = write_interpretation_figures(tmp_path / "out")
    assert [p.name for p in paths] == ["logo.svg", "maps.svg"]
    assert all(Path(p).read_text().startswith("<?xml") for p in paths)
