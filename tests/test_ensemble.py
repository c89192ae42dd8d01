"""The `ensemble` row (genoflow/evaluate/ensemble.py): the mean of the neural runs'
probabilities, matched by record, scored on validation like the models it is ranked with."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genoflow.errors import InputError
from genoflow.evaluate.baselines import train_kmer_baseline
from genoflow.evaluate.ensemble import ensemble, select_members
from genoflow.formats.files import DATA_FORMAT, read_json, write_json
from genoflow.formats.predictions import (
    VAL_PREDICTIONS,
    read_multilabel_predictions,
    read_predictions,
    read_regression_predictions,
    write_multilabel_predictions,
    write_predictions,
    write_regression_predictions,
    write_residue_predictions,
)
from genoflow.registry import NO_LABEL
from genoflow.selection import (
    binary_cross_entropy,
    cross_entropy,
    standardised_squared_error,
    validation_score,
)

CLASSES = ["neg", "pos"]


def _run(folder: Path, name: str, probs: dict[str, list[float]], val: dict | None, order=None):
    """A run folder with predictions of records a (neg), b (pos), c (pos)."""
    folder.mkdir(parents=True)
    labels = {"a": 0, "b": 1, "c": 1, "v1": 0, "v2": 1}
    ids = order or list(probs)
    write_predictions(
        folder / "predictions.tsv",
        ids,
        [labels[i] for i in ids],
        np.array([probs[i] for i in ids]),
        CLASSES,
    )
    if val is not None:
        write_predictions(
            folder / VAL_PREDICTIONS,
            list(val),
            [labels[i] for i in val],
            np.array(list(val.values())),
            CLASSES,
        )
    info = {"model": name, "seed": 0, "params": 10, "train_seconds": 1.5, "best_val_loss": 0.5}
    (folder / "train.json").write_text(json.dumps(info))
    return folder


def test_the_ensemble_averages_the_models_validation_chooses_record_by_record(tmp_path: Path):
    one = _run(  # validation loss -ln 0.9 / -ln 0.4: 0.511
        tmp_path / "lstm",
        "lstm",
        {"a": [0.9, 0.1], "b": [0.4, 0.6], "c": [0.2, 0.8]},
        {"v1": [0.9, 0.1], "v2": [0.6, 0.4]},
    )
    two = _run(  # the same records in another order; 0.511 too, but wrong where lstm is right
        tmp_path / "cnn",
        "cnn",
        {"c": [0.6, 0.4], "a": [0.5, 0.5], "b": [0.0, 1.0]},
        {"v2": [0.1, 0.9], "v1": [0.4, 0.6]},
    )
    weak = _run(  # wrong on both: adding it would raise the mean's validation loss
        tmp_path / "rnn",
        "rnn",
        {"a": [0.1, 0.9], "b": [0.9, 0.1], "c": [0.9, 0.1]},
        {"v1": [0.2, 0.8], "v2": [0.8, 0.2]},
    )
    info = ensemble([one, two, weak], tmp_path / "ensemble")
    assert info["members"] == ["lstm/seed0", "cnn/seed0"]  # chosen on validation, rnn left out
    assert info["candidates"] == ["lstm", "cnn", "rnn"]
    assert info["best_val_loss"] == pytest.approx(-np.log(0.65))  # both: 0.65 on the truth
    table, classes, y, probs = read_predictions(tmp_path / "ensemble" / "predictions.tsv")
    assert list(table["id"]) == ["a", "b", "c"] and classes == CLASSES
    np.testing.assert_allclose(probs, [[0.7, 0.3], [0.2, 0.8], [0.4, 0.6]])
    assert list(table["predicted"]) == ["neg", "pos", "pos"]
    assert cross_entropy(np.array([0, 1]), np.array([[0.8, 0.2], [0.4, 0.6]])) == pytest.approx(
        -(np.log(0.8) + np.log(0.6)) / 2
    )
    saved = read_json(tmp_path / "ensemble" / "train.json")
    assert saved["params"] == 20 and saved["model"] == saved["type"] == "ensemble"
    history = pd.read_csv(tmp_path / "ensemble" / "history.csv")
    assert history.empty


def test_seeds_of_a_model_are_averaged_before_models_are_chosen():
    y = np.array([0, 1])
    units = {"good": np.array([[0.9, 0.1], [0.2, 0.8]]), "bad": np.array([[0.5, 0.5], [0.5, 0.5]])}
    members, loss = select_members(units, y)
    assert members == ["good"] and loss == pytest.approx(-(np.log(0.9) + np.log(0.8)) / 2)


def test_without_every_members_validation_predictions_it_has_no_validation_loss(tmp_path: Path):
    one = _run(tmp_path / "a", "a", {"a": [0.9, 0.1]}, {"v1": [0.7, 0.3]})
    two = _run(tmp_path / "b", "b", {"a": [0.5, 0.5]}, None)
    info = ensemble([one, two], tmp_path / "e")
    assert info["best_val_loss"] is None and info["members"] == ["a/seed0", "b/seed0"]
    assert not (tmp_path / "e" / VAL_PREDICTIONS).exists()


def test_models_weighted_by_class_give_the_ensemble_their_weights(tmp_path: Path):
    """Under class_weights: balanced a model's validation loss is the weighted cross-entropy
    (train.json loss_weights); the ensemble's is too, so it ranks on their scale. Runs weighted
    differently are refused, and nothing is written."""
    import torch
    import torch.nn.functional as F

    y, probs = np.array([0, 1, 1, 0, 1]), np.array([[0.7, 0.3], [0.4, 0.6], [0.1, 0.9],
                                                     [0.2, 0.8], [0.5, 0.5]])  # fmt: skip
    expected = F.cross_entropy(
        torch.tensor(np.log(probs)),
        torch.tensor(y),
        weight=torch.tensor([2.5, 0.625], dtype=torch.float64),
    )
    assert cross_entropy(y, probs, [2.5, 0.625]) == pytest.approx(float(expected))
    assert cross_entropy(y, probs, [2.5, 0.625]) != pytest.approx(cross_entropy(y, probs))
    val = {"v1": [0.6, 0.4], "v2": [0.3, 0.7]}
    one = _run(tmp_path / "a", "a", {"a": [0.9, 0.1]}, val)
    two = _run(tmp_path / "b", "b", {"a": [0.5, 0.5]}, val)
    for run in (one, two):
        write_json(run / "train.json", {**read_json(run / "train.json"), "loss_weights": [3, 1]})
    info = ensemble([one, two], tmp_path / "e")
    weighted = (3 * -np.log(0.6) + 1 * -np.log(0.7)) / 4
    assert info["best_val_loss"] == pytest.approx(weighted)
    calibrated = ensemble([one, two], tmp_path / "c", criterion="calibrated_val_loss")
    assert calibrated["best_val_loss"] < (-np.log(0.6) - np.log(0.7)) / 2  # unweighted, as theirs
    write_json(two / "train.json", {**read_json(two / "train.json"), "loss_weights": None})
    with pytest.raises(InputError, match="weighted differently") as refused:
        ensemble([one, two], tmp_path / "f")
    assert str(two / "train.json") in str(refused.value)
    assert not (tmp_path / "f").exists()


def test_runs_of_other_records_or_classes_are_refused(tmp_path: Path):
    one = _run(tmp_path / "a", "a", {"a": [0.9, 0.1], "b": [0.5, 0.5]}, None)
    two = _run(tmp_path / "b", "b", {"a": [0.5, 0.5], "c": [0.5, 0.5]}, None)
    with pytest.raises(InputError, match="other records"):
        ensemble([one, two], tmp_path / "e")
    three = tmp_path / "c"
    three.mkdir()
    (three / "predictions.tsv").write_text("id\tlabel\tpredicted\tprob_x\tprob_y\na\tx\tx\t1\t0\n")
    (three / "train.json").write_text(json.dumps({"model": "c", "seed": 0}))
    with pytest.raises(InputError, match="classes"):
        ensemble([one, three], tmp_path / "e")


def _residue_run(folder: Path, name: str, test: list, val: list) -> Path:
    """A per-residue run folder: rows (id, 0-based position, label index or NO_LABEL, probs)."""
    folder.mkdir(parents=True)
    for path, rows in ((folder / "predictions.tsv", test), (folder / VAL_PREDICTIONS, val)):
        ids, positions, labels, probs = zip(*rows, strict=True)
        write_residue_predictions(
            path, list(ids), np.array(positions), np.array(labels), np.array(probs), ["C", "H"]
        )
    info = {"model": name, "seed": 0, "params": 10, "train_seconds": 1.0, "best_val_loss": 0.5}
    (folder / "train.json").write_text(json.dumps(info))
    return folder


def test_a_per_residue_ensemble_matches_residues_by_protein_and_position(tmp_path: Path):
    """Per-residue runs are averaged residue by residue (id and position, whatever the row
    order); members are chosen on the labelled validation residues only, and every test
    residue, a masked one too, is written back, so the ensemble is scored like the models."""
    gru = _residue_run(
        tmp_path / "gru",
        "gru",
        test=[("p", 0, 0, [0.8, 0.2]), ("p", 1, NO_LABEL, [0.5, 0.5]), ("q", 0, 1, [0.4, 0.6])],
        val=[("v", 0, 0, [0.95, 0.05]), ("v", 1, 1, [0.4, 0.6]), ("v", 2, NO_LABEL, [0.0, 1.0])],
    )
    cnn = _residue_run(  # rows in another order; right where the gru is unsure
        tmp_path / "cnn",
        "cnn",
        test=[("q", 0, 1, [0.0, 1.0]), ("p", 1, NO_LABEL, [0.1, 0.9]), ("p", 0, 0, [0.6, 0.4])],
        val=[("v", 1, 1, [0.05, 0.95]), ("v", 2, NO_LABEL, [1.0, 0.0]), ("v", 0, 0, [0.6, 0.4])],
    )
    weak = _residue_run(  # wrong on every labelled validation residue
        tmp_path / "rnn",
        "rnn",
        test=[("p", 0, 0, [0.1, 0.9]), ("p", 1, NO_LABEL, [0.5, 0.5]), ("q", 0, 1, [0.9, 0.1])],
        val=[("v", 0, 0, [0.2, 0.8]), ("v", 1, 1, [0.8, 0.2]), ("v", 2, NO_LABEL, [0.5, 0.5])],
    )
    info = ensemble([gru, cnn, weak], tmp_path / "ensemble")
    assert info["members"] == ["gru/seed0", "cnn/seed0"]  # each alone 0.281, the two 0.255
    assert info["best_val_loss"] == pytest.approx(-np.log(0.775))
    table, _, y, probs = read_predictions(tmp_path / "ensemble" / "predictions.tsv", True)
    assert list(zip(table["id"], table["position"], strict=True)) == [("p", 1), ("q", 1)]
    assert table.attrs["unlabelled"] == 1  # the masked residue is kept, unlabelled
    np.testing.assert_allclose(probs, [[0.7, 0.3], [0.2, 0.8]])
    assert list(y) == [0, 1]
    val, _, _, _ = read_predictions(tmp_path / "ensemble" / VAL_PREDICTIONS)
    assert list(val["position"]) == [1, 2]  # what validation scored: the labelled residues


def _multilabel_run(folder: Path, name: str, test: dict, val: dict) -> Path:
    """A multilabel run folder: id -> (0/1 truth of labels x, y; their probabilities)."""
    folder.mkdir(parents=True)
    for path, rows in ((folder / "predictions.tsv", test), (folder / VAL_PREDICTIONS, val)):
        truth = np.array([t for t, _ in rows.values()])
        probs = np.array([p for _, p in rows.values()])
        write_multilabel_predictions(path, list(rows), truth, probs, ["x", "y"])
    info = {"model": name, "seed": 0, "params": 10, "train_seconds": 1.0, "best_val_loss": 0.4}
    (folder / "train.json").write_text(json.dumps(info))
    return folder


def test_a_multilabel_ensemble_averages_label_probabilities_chosen_by_their_bce(tmp_path: Path):
    """Several 0/1 labels per record: each label's probabilities are averaged, record by record;
    members are chosen by the binary cross-entropy (the models' validation loss), also where
    `calibrated_val_loss` ranks, which has no temperature for it."""
    val_one = {"v1": ([1, 0], [0.9, 0.4]), "v2": ([0, 1], [0.2, 0.6])}
    val_two = {"v2": ([0, 1], [0.4, 0.9]), "v1": ([1, 0], [0.6, 0.1])}  # (another order)
    one = _multilabel_run(tmp_path / "cnn", "cnn", {"a": ([1, 1], [0.8, 0.6])}, val_one)
    two = _multilabel_run(tmp_path / "gru", "gru", {"a": ([1, 1], [0.4, 1.0])}, val_two)
    info = ensemble([one, two], tmp_path / "ensemble", criterion="calibrated_val_loss")
    truth = np.array([[1, 0], [0, 1]])
    both = np.array([[0.75, 0.25], [0.3, 0.75]])
    gru_alone = np.array([[0.6, 0.1], [0.4, 0.9]])  # the better one alone (0.308 against 0.337)
    assert binary_cross_entropy(truth, both) < binary_cross_entropy(truth, gru_alone)
    assert info["members"] == ["gru/seed0", "cnn/seed0"]
    assert info["best_val_loss"] == pytest.approx(binary_cross_entropy(truth, both))
    table, labels, y, probs = read_multilabel_predictions(tmp_path / "ensemble" / "predictions.tsv")
    assert list(table["id"]) == ["a"] and labels == ["x", "y"]
    np.testing.assert_allclose(probs, [[0.6, 0.8]])
    np.testing.assert_allclose(y, [[1, 1]])
    # a multilabel run ranks by its own validation loss under either criterion
    assert validation_score(one, read_json(one / "train.json"), "calibrated_val_loss") == 0.4


def _regression_run(folder: Path, name: str, test: dict, val: dict) -> Path:
    """A regression run folder: id -> (true values of targets x, y; predicted values)."""
    folder.mkdir(parents=True)
    for path, rows in ((folder / "predictions.tsv", test), (folder / VAL_PREDICTIONS, val)):
        truth = np.array([t for t, _ in rows.values()], dtype=float)
        predicted = np.array([p for _, p in rows.values()], dtype=float)
        write_regression_predictions(path, list(rows), truth, predicted, ["x", "y"])
    info = {"model": name, "seed": 0, "params": 10, "train_seconds": 1.0, "best_val_loss": 0.4}
    (folder / "train.json").write_text(json.dumps(info))
    return folder


def test_a_regression_ensemble_averages_values_chosen_on_the_models_scale(tmp_path: Path):
    """Predicted values are averaged record by record; members are chosen by the squared error
    with each target divided by its training sd (the models' validation loss), so a target of
    large values does not outweigh the others; a regression without the sd is refused."""
    val_one = {"v1": ([0, 10], [1, 10]), "v2": ([2, 30], [2, 50])}
    val_two = {"v2": ([2, 30], [3, 20]), "v1": ([0, 10], [-1, 10])}  # (another order)
    test_one = {"a": ([1, 20], [2, 40]), "b": ([0, 0], [0, 0])}
    test_two = {"b": ([0, 0], [1, 10]), "a": ([1, 20], [0, 20])}
    one = _regression_run(tmp_path / "cnn", "cnn", test_one, val_one)
    two = _regression_run(tmp_path / "gru", "gru", test_two, val_two)
    std = [1.0, 40.0]
    data = tmp_path / "preprocess"  # the preprocess stage's meta.json: the targets' training sd
    data.mkdir()
    write_json(data / "meta.json", {"format": DATA_FORMAT, "target_std": std})
    info = ensemble([one, two], tmp_path / "ensemble", "calibrated_val_loss", data_dir=data)
    truth = np.array([[0, 10], [2, 30]])
    cnn, gru = np.array([[1, 10], [2, 50]]), np.array([[-1, 10], [3, 20]])
    both = (cnn + gru) / 2
    # cnn is the better model on the models' scale (unscaled, gru would be: 102 < 401)
    assert standardised_squared_error(truth, cnn, std) < standardised_squared_error(truth, gru, std)
    assert standardised_squared_error(truth, both, std) < standardised_squared_error(
        truth, cnn, std
    )
    assert info["members"] == ["cnn/seed0", "gru/seed0"]
    assert info["best_val_loss"] == pytest.approx(standardised_squared_error(truth, both, std))
    table, targets, y, predicted = read_regression_predictions(
        tmp_path / "ensemble" / "predictions.tsv"
    )
    assert list(table["id"]) == ["a", "b"] and targets == ["x", "y"]
    np.testing.assert_allclose(predicted, [[1, 30], [0.5, 5]])
    np.testing.assert_allclose(y, [[1, 20], [0, 0]])
    with pytest.raises(InputError, match="training sd"):
        ensemble([one, two], tmp_path / "without_sd")


def test_forecasts_are_chosen_by_the_steps_their_models_are_validated_on():
    """Forecasts of z-scored series: the squared error on that scale, over every horizon of a
    direct forecaster, over the first of a recursive one (trained one step ahead); forecasts
    of series on another scale than the models' are refused."""
    from types import SimpleNamespace

    from genoflow.evaluate.ensemble import _score

    table = pd.DataFrame({"horizon": [1, 1, 2, 2]})
    val = SimpleNamespace(task="forecasting", table=table, first=Path("v.tsv"), classes=["g"])
    truth, predicted = np.zeros(4), np.array([1.0, 1.0, 3.0, 3.0])
    direct = {"transform": {"zscore": True}, "multistep": "direct"}
    assert _score(val, direct)(truth, predicted) == 5.0
    assert _score(val, direct | {"multistep": "recursive"})(truth, predicted) == 1.0


def test_forecasts_of_series_on_another_scale_than_z_scores_are_refused(tmp_path: Path):
    from genoflow.formats.predictions import FORECAST_COLUMNS

    runs = []
    for name in ("gru", "lstm"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "predictions.tsv").write_text("\t".join(FORECAST_COLUMNS) + "\n")
        (tmp_path / name / "train.json").write_text(json.dumps({"model": name, "seed": 0}))
        runs.append(tmp_path / name)
    data = tmp_path / "preprocess"
    data.mkdir()
    transform = {"log1p": True, "zscore": False}
    write_json(data / "meta.json", {"format": DATA_FORMAT, "transform": transform})
    for data_dir in (data, None):
        with pytest.raises(InputError, match="z-scored"):
            ensemble(runs, tmp_path / "ensemble", data_dir=data_dir)
    assert not (tmp_path / "ensemble").exists()


def _train_small_cnn(data: Path, out: Path, **options) -> dict:
    """One epoch of a 4-channel CNN on the CPU (train.json's contents)."""
    from genoflow.tasks.train import TrainConfig, train

    config = TrainConfig(max_epochs=1, accelerator="cpu", **options)
    return train(data, out, model_name="cnn", model_type="cnn", model_args={"channels": 4},
                 train_config=config)  # fmt: skip


def test_a_trained_classifier_writes_its_validation_predictions(tmp_path: Path, motif_data):
    from genoflow.formats.files import load_array

    out = tmp_path / "run"
    _train_small_cnn(motif_data, out, batch_size=64)
    table, classes, _, probs = read_predictions(out / VAL_PREDICTIONS)
    split = load_array(motif_data / "split.npy")
    assert len(table) == int((split == 1).sum()) > 0
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-4)
    assert read_json(out / "train.json")["loss_weights"] is None  # unweighted


def test_a_class_weighted_run_records_the_weights_its_validation_loss_took(tmp_path: Path):
    """class_weights: balanced: train.json names the weights (inverse class frequency in
    train), and its val_loss is the weighted cross-entropy of its validation predictions over
    the whole split, even where each batch holds one class (records of a class in a row)."""
    from genoflow.formats.files import load_array
    from genoflow.io.ingest import ingest
    from genoflow.io.sources import FastaInput
    from genoflow.preprocess.sequences import preprocess

    rng = np.random.default_rng(0)
    records = [("neg", "".join(rng.choice(list("ACGT"), 30))) for _ in range(240)]
    records += [("pos", "GATTACA" + "".join(rng.choice(list("ACGT"), 23))) for _ in range(80)]
    fasta = tmp_path / "uneven.fa"
    fasta.write_text("".join(f">r{i} {label}\n{seq}\n" for i, (label, seq) in enumerate(records)))
    ingest([FastaInput(fasta)], tmp_path / "ingest", alphabet="dna", label_pattern=r"^\S+\s+(\S+)")
    data = tmp_path / "data"
    preprocess(tmp_path / "ingest", data)
    out = tmp_path / "run"
    info = _train_small_cnn(data, out, batch_size=8, class_weights="balanced")
    labels, split = load_array(data / "labels.npy"), load_array(data / "split.npy")
    counts = np.bincount(labels[split == 0], minlength=2)
    assert info["loss_weights"] == pytest.approx(counts.sum() / (2 * counts), rel=1e-6)
    _, _, y, probs = read_predictions(out / VAL_PREDICTIONS)
    weighted = cross_entropy(y, probs, info["loss_weights"])
    assert info["best_val_loss"] == pytest.approx(weighted, abs=1e-4)
    assert abs(weighted - cross_entropy(y, probs)) > 0.01  # (the weights make a difference)
    # the k-mer baseline of the same dataset: the same weights, in its fit and its loss
    baseline = train_kmer_baseline(
        data, tmp_path / "kmer", model_name="kmer", k=2, class_weights="balanced"
    )
    assert baseline["loss_weights"] == pytest.approx(info["loss_weights"])
    _, _, y, probs = read_predictions(tmp_path / "kmer" / VAL_PREDICTIONS)
    assert baseline["best_val_loss"] == pytest.approx(cross_entropy(y, probs, info["loss_weights"]))
    plain = train_kmer_baseline(data, tmp_path / "plain", model_name="kmer", k=2)
    assert plain["loss_weights"] is None
