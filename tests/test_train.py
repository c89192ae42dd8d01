"""Training one model: contracted files, safe model export, resume after a kill, fresh reruns."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import genoflow_env

from genoflow.data import TokenDataModule
from genoflow.errors import InputError
from genoflow.train import TrainConfig, load_model, predict, train

FAST = TrainConfig(max_epochs=2, batch_size=32, patience=2)


def read_history(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


def test_train_writes_the_contracted_files(motif_data, tmp_path):
    """model.ckpt, history.csv, predictions.tsv and train.json, with sane content."""
    info = train(
        motif_data, tmp_path, model_name="small_lstm", model_type="lstm",
        model_args={"hidden": 8}, train_config=FAST, seed=0, threads=1,
    )  # fmt: skip
    assert {"model.ckpt", "history.csv", "predictions.tsv", "train.json"} <= {
        p.name for p in tmp_path.iterdir()
    }
    assert info["model"] == "small_lstm" and info["epochs"] == 2 and info["params"] > 0
    assert [row["epoch"] for row in read_history(tmp_path / "history.csv")] == ["0", "1"]
    predictions = (tmp_path / "predictions.tsv").read_text().splitlines()
    assert predictions[0].split("\t") == ["id", "label", "predicted", "prob_neg", "prob_pos"]
    test_size = json.loads((motif_data / "meta.json").read_text())["split_sizes"]["test"]
    assert len(predictions) - 1 == sum(test_size.values())


def test_exported_model_loads_safely_and_reproduces_predictions(motif_data, tmp_path):
    """model.ckpt holds only tensors and plain data (weights_only=True) and is self-describing."""
    train(
        motif_data, tmp_path, model_name="cnn", model_type="cnn",
        model_args={"channels": 8}, train_config=FAST, seed=0, threads=1,
    )  # fmt: skip
    payload = torch.load(tmp_path / "model.ckpt", weights_only=True)
    assert payload["format"] == "genoflow-model/1" and payload["task"] == "classification"
    assert payload["meta"]["alphabet"] == "dna" and payload["meta"]["classes"] == ["neg", "pos"]
    module, _ = load_model(tmp_path / "model.ckpt")
    data = TokenDataModule(motif_data, batch_size=32)
    indices, probs = predict(module, data.test_dataloader())
    saved = pd.read_csv(tmp_path / "predictions.tsv", sep="\t")
    np.testing.assert_allclose(saved[["prob_neg", "prob_pos"]], probs, rtol=1e-4, atol=1e-6)


def test_seeded_training_is_reproducible(motif_data, tmp_path):
    """Same seed, same data, CPU: identical predictions."""
    for run in ("a", "b"):
        train(
            motif_data, tmp_path / run, model_name="gru", model_type="gru",
            model_args={"hidden": 8}, train_config=FAST, seed=3, threads=1,
        )  # fmt: skip
    first = (tmp_path / "a" / "predictions.tsv").read_text()
    assert first == (tmp_path / "b" / "predictions.tsv").read_text()


def test_bad_hyperparameter_is_a_clear_error(motif_data, tmp_path):
    with pytest.raises(InputError, match="'lstm'.*hiden"):
        train(
            motif_data, tmp_path, model_name="lstm", model_type="lstm",
            model_args={"hiden": 8}, train_config=FAST,
        )  # fmt: skip
    with pytest.raises(InputError, match="unknown train option"):
        TrainConfig.from_dict({"max_epoch": 3})


def test_killed_training_resumes_from_its_last_checkpoint(motif_data, tmp_path):
    """SIGKILL mid-training, rerun: it continues from last.ckpt and history has no gaps."""
    command = [
        sys.executable, "-m", "genoflow", "train", "--data", str(motif_data), "--out",
        str(tmp_path), "--type", "lstm", "--model-args", '{"hidden": 8}', "--threads", "1",
        "--train", json.dumps({"max_epochs": 8, "patience": 50, "batch_size": 32}),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=genoflow_env()
    )
    for line in process.stdout:
        if "epoch 3:" in line:  # epochs 0-2 are checkpointed by now
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "training finished before it could be killed"
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    assert not (tmp_path / "train.json").exists()

    rerun = subprocess.run(command, capture_output=True, text=True, env=genoflow_env())
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "resuming from" in rerun.stdout
    epochs = [int(row["epoch"]) for row in read_history(tmp_path / "history.csv")]
    assert epochs == list(range(8))
    assert json.loads((tmp_path / "train.json").read_text())["resumed"] is True


def test_changed_settings_or_finished_run_start_afresh(motif_data, tmp_path):
    """Old checkpoints are not resumed when the settings changed or training had finished."""
    args = dict(model_name="rnn", model_type="rnn", model_args={"hidden": 8}, seed=0, threads=1)
    train(motif_data, tmp_path, train_config=FAST, **args)
    again = train(motif_data, tmp_path, train_config=FAST, **args)  # e.g. --forcerun
    assert again["resumed"] is False and again["epochs"] == 2
    changed = TrainConfig(max_epochs=3, batch_size=32, patience=3)
    assert train(motif_data, tmp_path, train_config=changed, **args)["epochs"] == 3
