"""Training one model: contracted files, safe model export, resume after a kill, fresh reruns."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import genoflow_env

from genoflow.data import TokenDataModule
from genoflow.errors import InputError
from genoflow.registry import NO_LABEL
from genoflow.tasks.modules import SequenceClassifier
from genoflow.tasks.train import TrainConfig, load_model, predict, train

FAST = TrainConfig(max_epochs=2, batch_size=32, patience=2)


def read_history(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


def test_train_writes_the_contracted_files(motif_data, tmp_path):
    """model.ckpt, history.csv, predictions.tsv and train.json, with sane content."""
    info = train(
        motif_data,
        tmp_path,
        model_name="small_lstm",
        model_type="lstm",
        model_args={"hidden": 8},
        train_config=FAST,
        seed=0,
        threads=1,
    )
    assert {"model.ckpt", "history.csv", "predictions.tsv", "train.json"} <= {
        p.name for p in tmp_path.iterdir()
    }
    assert info["model"] == "small_lstm" and info["epochs"] == 2 and info["params"] > 0
    assert [row["epoch"] for row in read_history(tmp_path / "history.csv")] == ["0", "1"]
    predictions = (tmp_path / "predictions.tsv").read_text().splitlines()
    assert predictions[0].split("\t") == ["id", "label", "predicted", "prob_neg", "prob_pos"]
    test_size = json.loads((motif_data / "meta.json").read_text())["split_sizes"]["test"]
    assert len(predictions) - 1 == sum(test_size.values())
    # Lightning's CSVLogger: the epoch metrics of history.csv, and the step loss every N steps
    logged = pd.read_csv(tmp_path / "lightning" / "csv" / "metrics.csv")
    epochs = logged.dropna(subset=["val_loss"])
    history = pd.read_csv(tmp_path / "history.csv")
    assert epochs["val_loss"].round(6).tolist() == history["val_loss"].tolist()
    steps = logged.dropna(subset=["train_loss_step"])
    assert steps["step"].tolist() == [0] and steps["lr"].tolist() == [FAST.lr]
    # ... and TensorBoard's (tensorboard is among the test extras)
    assert list((tmp_path / "lightning" / "tensorboard").glob("events.out.tfevents.*"))


def test_exported_model_loads_safely_and_reproduces_predictions(motif_data, tmp_path):
    """model.ckpt holds only tensors and plain data (weights_only=True) and is self-describing."""
    train(
        motif_data,
        tmp_path,
        model_name="cnn",
        model_type="cnn",
        model_args={"channels": 8},
        train_config=FAST,
        seed=0,
        threads=1,
    )
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
            motif_data,
            tmp_path / run,
            model_name="gru",
            model_type="gru",
            model_args={"hidden": 8},
            train_config=FAST,
            seed=3,
            threads=1,
        )
    first = (tmp_path / "a" / "predictions.tsv").read_text()
    assert first == (tmp_path / "b" / "predictions.tsv").read_text()


def test_bad_hyperparameter_is_a_clear_error(motif_data, tmp_path):
    with pytest.raises(InputError, match="'lstm'.*hiden"):
        train(
            motif_data,
            tmp_path,
            model_name="lstm",
            model_type="lstm",
            model_args={"hiden": 8},
            train_config=FAST,
        )
    with pytest.raises(InputError, match="unknown train option"):
        TrainConfig.from_dict({"max_epoch": 3})


@pytest.mark.parametrize("weight_averaging", [0.0, 0.9])
def test_killed_training_resumes_from_its_last_checkpoint(motif_data, tmp_path, weight_averaging):
    """SIGKILL mid-training, rerun: it continues from last.ckpt and history has no gaps (and
    the weights' moving average goes on from where it was: it has taken in every step)."""
    command = [
        sys.executable,
        "-m",
        "genoflow",
        "train",
        "--data",
        str(motif_data),
        "--out",
        str(tmp_path),
        "--type",
        "lstm",
        "--model-args",
        '{"hidden": 8}',
        "--threads",
        "1",
        "--train",
        json.dumps(
            {
                "max_epochs": 8,
                "patience": 50,
                "batch_size": 32,
                "weight_averaging": weight_averaging,
            }
        ),
    ]
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
    assert "resuming from" in rerun.stderr
    epochs = [int(row["epoch"]) for row in read_history(tmp_path / "history.csv")]
    assert epochs == list(range(8))
    assert json.loads((tmp_path / "train.json").read_text())["resumed"] is True
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert last.get("average_updates", last["global_step"]) == last["global_step"]
    assert ("trained_state_dict" in last) == bool(weight_averaging)


def test_changed_settings_or_finished_run_start_afresh(motif_data, tmp_path):
    """Old checkpoints are not resumed when the settings changed or training had finished."""
    args = dict(model_name="rnn", model_type="rnn", model_args={"hidden": 8}, seed=0, threads=1)
    train(motif_data, tmp_path, train_config=FAST, **args)
    again = train(motif_data, tmp_path, train_config=FAST, **args)  # e.g. --forcerun
    assert again["resumed"] is False and again["epochs"] == 2
    logged = pd.read_csv(tmp_path / "lightning" / "csv" / "metrics.csv")
    assert logged["val_loss"].notna().sum() == 2  # the logs start afresh too
    changed = TrainConfig(max_epochs=3, batch_size=32, patience=3)
    assert train(motif_data, tmp_path, train_config=changed, **args)["epochs"] == 3


# Ops that raise under torch.use_deterministic_algorithms(True) on a CUDA tensor (torch's list in
# that function's docstring), by the profiler's names. Lightning's `deterministic=True`, our
# default, turns that mode on: one of these in a training step fails every GPU run.
NO_DETERMINISTIC_CUDA_KERNEL = (
    "aten::nll_loss2d",
    "aten::cumsum",
    "aten::histc",
    "aten::bincount",
    "aten::median",
    "aten::kthvalue",
    "aten::put_",
    "aten::embedding_bag",
    "aten::_embedding_bag",
    "aten::ctc_loss",
    "aten::grid_sampler",
    "aten::adaptive_avg_pool2d",
    "aten::adaptive_max_pool",
    "aten::fractional_max_pool",
    "aten::max_unpool",
    "aten::reflection_pad",
    "aten::upsample_",
    "aten::avg_pool3d",
    "aten::adaptive_avg_pool3d",
    "aten::scatter_reduce",
)
STEP_TASKS = {  # task -> (its module's arguments, the batch key of the truth, a truth for 3 x 32)
    "classification": ({"classes": ["a", "b", "c"]}, "labels", torch.tensor([0, 2, 1])),
    "token_classification": (
        {"classes": ["C", "E", "H"]},
        "labels",
        torch.tensor([[0, 1, 2, NO_LABEL] * 8] * 3),
    ),
    "multilabel": ({"labels": ["x", "y"]}, "targets", torch.ones(3, 2)),
    "regression": ({"targets": ["t1", "t2"]}, "targets", torch.randn(3, 2)),
}


def _ops_of_a_training_step(module, batch) -> set[str]:
    """The ops of one training step on the CPU; where a GPU is at hand, the step is also run
    there in deterministic mode (torch raises on an op it refuses)."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profile:
        module._step(batch, "train").backward()
    if torch.cuda.is_available():
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # as Lightning's mode sets it
        torch.use_deterministic_algorithms(True)
        try:
            on_gpu = {name: value.cuda() for name, value in batch.items()}
            module.cuda()._step(on_gpu, "train").backward()
            torch.cuda.synchronize()
        finally:
            torch.use_deterministic_algorithms(False)
    return {event.key for event in profile.key_averages()}


@pytest.mark.parametrize("task", sorted(STEP_TASKS))
@pytest.mark.parametrize("model_type", ["rnn", "lstm", "gru", "transformer", "cnn"])
def test_training_steps_have_deterministic_cuda_kernels(task, model_type):
    """A GPU run keeps `deterministic: true`: no op of a training step (forward and backward) is
    one that torch refuses in deterministic mode on CUDA. Checked here on the CPU by name."""
    from genoflow.tasks.train import TASK_MODULES

    task_args, truth_key, truth = STEP_TASKS[task]
    module = TASK_MODULES[task](model_type, {}, "dna", **task_args, max_length=32)
    batch = {
        "tokens": torch.randint(1, 5, (3, 32), dtype=torch.uint8),
        "lengths": torch.tensor([32, 20, 9]),
        truth_key: truth,
    }
    ops = _ops_of_a_training_step(module, batch)
    assert "aten::mul" in ops  # the profiler saw the step
    assert [op for op in ops if op.startswith(NO_DETERMINISTIC_CUDA_KERNEL)] == []


@pytest.mark.parametrize("pool", ["attention", "mean", "max", "meanmax", "flatten", "last"])
def test_every_pool_has_deterministic_cuda_kernels(pool):
    from genoflow.tasks.modules import SequenceClassifier

    args = {"pool": pool, "pool_size": 4, "bidirectional": False}
    module = SequenceClassifier("lstm", args, "dna", ["a", "b"], max_length=32)
    batch = {
        "tokens": torch.randint(1, 5, (2, 32), dtype=torch.uint8),
        "lengths": torch.tensor([32, 11]),
        "labels": torch.tensor([0, 1]),
    }
    ops = _ops_of_a_training_step(module, batch)
    assert [op for op in ops if op.startswith(NO_DETERMINISTIC_CUDA_KERNEL)] == []


def test_batches_reach_the_device_with_their_lengths_left_on_the_host():
    """Lengths stay on the CPU (a recurrent model packs by them without waiting for the GPU);
    everything else moves. The "meta" device stands in for a GPU here."""
    from genoflow.tasks.modules import SequenceClassifier

    module = SequenceClassifier("lstm", {}, "dna", ["a", "b"])
    batch = {
        "tokens": torch.ones(2, 5, dtype=torch.uint8),
        "lengths": torch.tensor([5, 3]),
        "labels": torch.tensor([0, 1]),
    }
    moved = module.transfer_batch_to_device(batch, torch.device("meta"), 0)
    assert moved["tokens"].device.type == moved["labels"].device.type == "meta"
    assert moved["lengths"].device.type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("model_type", ["lstm", "cnn", "transformer"])
def test_a_gpu_training_step_never_waits_for_the_gpu(model_type):
    """With pinned batches and host-side lengths, a training step (transfer, forward,
    backward, clipping, AdamW) queues its GPU work without one synchronisation, so the CPU
    prepares the next step while the GPU runs this one."""
    from genoflow.tasks.modules import SequenceClassifier

    module = SequenceClassifier(model_type, {}, "dna", ["a", "b"]).cuda()
    optimizer = module.configure_optimizers()["optimizer"]
    batch = {
        "tokens": torch.randint(1, 5, (16, 50), dtype=torch.uint8).pin_memory(),
        "lengths": torch.full((16,), 50).pin_memory(),
        "labels": torch.randint(0, 2, (16,)).pin_memory(),
    }
    for sync_mode in ("default", "error"):  # the first step: allocations, kernel choices
        torch.cuda.set_sync_debug_mode(sync_mode)
        try:
            on_gpu = module.transfer_batch_to_device(batch, torch.device("cuda"), 0)
            loss = module._step(on_gpu, "train")
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
            optimizer.step()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    torch.cuda.synchronize()


def test_the_recipe_options_train_a_motif_detector(motif_data, tmp_path):
    """A convolutional stem before a GRU with attention pooling, both strands, reverse-
    complement and shift augmentation, label smoothing and a warm-up + cosine schedule: the
    learning rate rises, then falls to zero; the motif is learnt; validation selects as usual."""
    config = TrainConfig(
        max_epochs=20,
        batch_size=32,
        patience=20,
        lr=0.01,
        lr_schedule="warmup_cosine",
        reverse_complement=True,
        shift=2,
        label_smoothing=0.1,
    )
    model_args = {
        "hidden": 16,
        "stem": {"channels": 16, "kernel_size": 7, "pool": 2},
        "strands": "both",
        "pool": "attention",
    }
    info = train(
        motif_data,
        tmp_path,
        model_name="hybrid",
        model_type="gru",
        model_args=model_args,
        train_config=config,
        seed=0,
    )
    rates = [float(row["lr"]) for row in read_history(tmp_path / "history.csv")]
    assert rates == sorted(rates, reverse=True) and rates[0] <= 0.01 and rates[-1] < 0.001
    predictions = pd.read_csv(tmp_path / "predictions.tsv", sep="\t")
    assert (predictions["label"] == predictions["predicted"]).mean() > 0.9
    assert info["best_val_loss"] == min(
        float(r["val_loss"]) for r in read_history(tmp_path / "history.csv")
    )
    module, payload = load_model(tmp_path / "model.ckpt")
    assert payload["module_args"]["mirror"] is True
    assert payload["module_args"]["shift"] == 2 and info["train"]["shift"] == 2
    assert module.model.stem is not None and module.model.both


@pytest.mark.parametrize("monitor", ["val_mcc", "val_auroc"])
def test_early_stopping_and_the_kept_epoch_can_follow_a_metric_of_the_whole_split(
    motif_data, tmp_path, monitor
):
    """monitor val_mcc / val_auroc: computed over every validation sequence each epoch (as
    sklearn computes it from val_predictions.tsv of the kept model), recorded in history.csv,
    and the epoch with the highest value is the one kept."""
    from sklearn.metrics import matthews_corrcoef, roc_auc_score

    config = TrainConfig(max_epochs=4, batch_size=32, patience=4, lr=0.01, monitor=monitor)
    info = train(
        motif_data,
        tmp_path,
        model_name="cnn",
        model_type="cnn",
        model_args={"channels": 8, "kernel_size": 5},
        train_config=config,
        seed=0,
    )
    history = pd.read_csv(tmp_path / "history.csv")
    assert list(history.columns)[-1] == monitor and history[monitor].notna().all()
    assert info["best_epoch"] == int(history[monitor].idxmax())
    assert info[f"best_{monitor}"] == pytest.approx(history[monitor].max(), abs=1e-6)
    kept = pd.read_csv(tmp_path / "val_predictions.tsv", sep="\t")
    if monitor == "val_mcc":
        expected = matthews_corrcoef(kept["label"], kept["predicted"])
    else:
        expected = roc_auc_score(kept["label"] == "pos", kept["prob_pos"])
    assert info[f"best_{monitor}"] == pytest.approx(expected, abs=1e-4)
    assert info["best_val_loss"] == pytest.approx(history["val_loss"][info["best_epoch"]])


def test_weight_averaging_validates_keeps_and_exports_the_average(motif_data, tmp_path):
    """weight_averaging: validation scores the moving average of the weights, the kept epoch
    and model.ckpt are that average (its validation predictions give the recorded loss), the
    checkpoints carry the trained weights beside it, and a resumed run picks both up."""
    config = TrainConfig(max_epochs=3, batch_size=32, patience=3, lr=0.01, weight_averaging=0.9)
    args = dict(model_name="cnn", model_type="cnn", model_args={"channels": 8, "kernel_size": 5})
    info = train(motif_data, tmp_path, train_config=config, seed=0, **args)
    kept = pd.read_csv(tmp_path / "val_predictions.tsv", sep="\t")
    probs = np.where(kept["label"] == "pos", kept["prob_pos"], 1 - kept["prob_pos"])
    assert info["best_val_loss"] == pytest.approx(-np.log(probs).mean(), abs=1e-4)
    assert json.loads((tmp_path / "train.json").read_text())["train"]["weight_averaging"] == 0.9

    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    average, trained = last["state_dict"], last["trained_state_dict"]
    assert set(trained) <= set(average) and last["average_updates"] == last["global_step"]
    assert any(not torch.equal(average[k], trained[k]) for k in trained)
    plain = replace(config, weight_averaging=0.0)  # the same run without the average
    assert train(motif_data, tmp_path / "plain", train_config=plain, seed=0, **args)[
        "best_val_loss"
    ] != pytest.approx(info["best_val_loss"])

    # resuming: the fit trains on from the trained weights and averages on from the average
    averaged = {
        k.removeprefix("model."): v.clone() for k, v in average.items() if k.startswith("model.")
    }
    module, _ = load_model(tmp_path / "model.ckpt")
    module.on_load_checkpoint(last)
    assert all(torch.equal(last["state_dict"][k], trained[k]) for k in trained)
    weights, updates = module._average_saved
    assert weights.keys() == averaged.keys() and updates == last["average_updates"]
    assert all(torch.equal(weights[k], averaged[k]) for k in averaged)
    module.weight_averaging = 0.9
    module._start_average()  # (as the resumed fit starts)
    assert module._average.updates == updates and int(module._average.average.n_averaged) == updates
    resumed = module._average.average.module.state_dict()
    assert all(torch.equal(resumed[k], averaged[k]) for k in averaged)


def test_shift_moves_each_sequence_inside_its_own_length():
    """Shift augmentation: every row is its own letters moved by one whole number of positions
    in [-2, 2]; what leaves the row is dropped, what is emptied and the padding after the
    row's length read 0; every move is drawn."""
    torch.manual_seed(0)
    lengths = torch.tensor([7, 5, 9] * 40)
    tokens = torch.zeros(len(lengths), 9, dtype=torch.uint8)
    for row, length in enumerate(lengths):
        tokens[row, :length] = torch.randint(1, 5, (int(length),), dtype=torch.uint8)
    moved = SequenceClassifier._shifted({"tokens": tokens, "lengths": lengths}, 2)["tokens"]
    seen = set()
    for row, length in enumerate(lengths.tolist()):
        original, got = tokens[row, :length].tolist(), moved[row].tolist()
        assert got[length:] == [0] * (9 - length)
        matches = [
            s
            for s in range(-2, 3)
            if got[:length]
            == [original[i - s] if 0 <= i - s < length else 0 for i in range(length)]
        ]
        assert matches, (original, got)
        seen.update(matches)
    assert seen == {-2, -1, 0, 1, 2}


def test_recipe_options_are_refused_where_they_cannot_apply(motif_data, tmp_path):
    with pytest.raises(InputError, match="label_smoothing"):
        TrainConfig.from_dict({"label_smoothing": 1.5})
    for shift in (-1, 1.5, True):
        with pytest.raises(InputError, match="shift"):
            TrainConfig.from_dict({"shift": shift})
    with pytest.raises(InputError, match="weight_averaging 1.0 not in"):
        TrainConfig.from_dict({"weight_averaging": 1.0})
    with pytest.raises(InputError, match="val_aupr"):
        TrainConfig.from_dict({"monitor": "val_aupr"})


def test_warmup_cosine_rises_then_falls_to_zero():
    """The schedule per optimizer step: up over the first 5 % of the steps, then a cosine."""
    from types import SimpleNamespace

    from genoflow.tasks.modules import SequenceClassifier

    module = SequenceClassifier(
        "cnn", {"channels": 4}, "dna", ["a", "b"], 20, lr=0.01, lr_schedule="warmup_cosine"
    )
    module._trainer = SimpleNamespace(  # 20 batches an epoch, one at a time, 10 epochs
        estimated_stepping_batches=200,
        max_epochs=10,
        max_steps=-1,
        train_dataloader=None,
        num_training_batches=20,
    )
    scheduler = module.configure_optimizers()["lr_scheduler"]["scheduler"]
    rates = []
    for _ in range(200):
        rates.append(scheduler.get_last_lr()[0])
        scheduler.optimizer.step()
        scheduler.step()
    peak = int(np.argmax(rates))
    assert peak == 9 and rates[0] == pytest.approx(0.001) and rates[peak] == pytest.approx(0.01)
    assert rates[:10] == sorted(rates[:10]) and rates[10:] == sorted(rates[10:], reverse=True)
    assert rates[-1] < 1e-5


@pytest.mark.parametrize("weight_averaging", [0.0, 0.9])
def test_batches_in_groups_train_exactly_as_one_at_a_time(motif_data, tmp_path, weight_averaging):
    """The loaders hand Lightning groups of batches (data.BatchGroups) and the module steps on
    each batch of a group in turn: the same optimizer steps, schedule and outputs, byte for
    byte, as batches handed over one at a time (which num_sanity_val_steps, a Trainer option
    that counts batches, brings back without changing anything else). The weights' moving
    average, too, takes in every step, not every group."""
    grouped = TrainConfig(
        max_epochs=3,
        batch_size=16,
        patience=3,
        lr_schedule="warmup_cosine",
        weight_averaging=weight_averaging,
    )
    single = TrainConfig(**{**grouped.settings(), "trainer": {"num_sanity_val_steps": 0}})
    small_lstm(motif_data, tmp_path / "grouped", grouped)
    small_lstm(motif_data, tmp_path / "single", single)
    train_size = sum(
        json.loads((motif_data / "meta.json").read_text())["split_sizes"]["train"].values()
    )
    batches = -(-train_size // 16)
    lightning_items = {}
    for run in ("grouped", "single"):
        last = torch.load(tmp_path / run / "checkpoints" / "last.ckpt", weights_only=True)
        assert last["global_step"] == 3 * batches  # one optimizer step per batch either way
        progress = last["loops"]["fit_loop"]["epoch_loop.batch_progress"]["total"]["completed"]
        lightning_items[run] = progress
        assert last["lr_schedulers"][0]["last_epoch"] == 3 * batches  # warm-up + cosine, whole fit
        assert last.get("average_updates", 3 * batches) == 3 * batches
    assert lightning_items == {"grouped": 3, "single": 3 * batches}  # 16 batches to a group
    for name in ("predictions.tsv", "val_predictions.tsv"):
        grouped_bytes = (tmp_path / "grouped" / name).read_bytes()
        assert grouped_bytes == (tmp_path / "single" / name).read_bytes()
    histories = [read_history(tmp_path / run / "history.csv") for run in lightning_items]
    assert [{**row, "seconds": 0} for row in histories[0]] == [
        {**row, "seconds": 0} for row in histories[1]
    ]


def small_lstm(data, out, config: TrainConfig) -> dict:
    """A small LSTM trained with `config` (the trainer-option tests)."""
    return train(
        data,
        out,
        model_name="lstm",
        model_type="lstm",
        model_args={"hidden": 8},
        train_config=config,
        seed=0,
        threads=1,
    )


def test_further_trainer_options_pass_through_to_lightning(motif_data, tmp_path):
    """`train.trainer` reaches lightning.Trainer: 2 batches an epoch, accumulated in pairs (one
    optimizer step per epoch); train.json records the options; outputs are written as usual."""
    config = TrainConfig.from_dict(
        {
            "max_epochs": 3,
            "batch_size": 16,
            "patience": 3,
            "trainer": {"limit_train_batches": 2, "accumulate_grad_batches": 2},
        }
    )
    info = small_lstm(motif_data, tmp_path, config)
    assert info["train"]["trainer"] == {"limit_train_batches": 2, "accumulate_grad_batches": 2}
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 3  # 3 epochs x (2 batches / 2 accumulated)
    assert (tmp_path / "predictions.tsv").exists() and (tmp_path / "model.ckpt").exists()
    # without the option the files do not mention it (earlier runs keep their fingerprints)
    assert "trainer" not in TrainConfig.from_dict({}).settings()


def test_a_fast_dev_run_checks_the_path_end_to_end(motif_data, tmp_path):
    """fast_dev_run: one batch of each split, no checkpoint; the outputs still come out."""
    config = TrainConfig.from_dict({"trainer": {"fast_dev_run": True}})
    info = small_lstm(motif_data, tmp_path, config)
    assert info["epochs"] == 1 and (tmp_path / "model.ckpt").exists()
    assert len(pd.read_csv(tmp_path / "predictions.tsv", sep="\t")) > 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_epochs": 3}, r"train\.trainer\.max_epochs: genoflow sets it; use train\.max_epochs"),
        ({"gradient_clip_val": 1}, r"use train\.gradient_clip"),
        ({"callbacks": None}, r"train\.trainer\.callbacks: genoflow sets it"),
        ({"acumulate_grad_batches": 2}, r"not an option of .*did you mean 'accumulate_grad"),
        ({"accumulate_grad_batches": 0}, r"accumulate_grad_batches: 0 is not an integer >= 1"),
        ({"accumulate_grad_batches": "2"}, r"accumulate_grad_batches: '2' is not an integer"),
    ],
)
def test_trainer_options_genoflow_sets_or_lightning_lacks_are_refused(options, message):
    with pytest.raises(InputError, match=message):
        TrainConfig.from_dict({"trainer": options})
