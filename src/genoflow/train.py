"""Train one model on one preprocessed dataset with one seed, then predict its test split.

Outputs (in `out_dir`, the contract): model.ckpt (best weights + everything needed to reuse
them, loadable with `torch.load(weights_only=True)`), history.csv, predictions.tsv, train.json.
Lightning's own checkpoints live in `out_dir/checkpoints/` (not a declared Snakemake output, so
Snakemake does not delete them): an interrupted run resumes from `last.ckpt`.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import shutil
import sys
import time
import warnings
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint, ProgressBar
from lightning.pytorch.plugins.environments import LightningEnvironment, SLURMEnvironment

from genoflow.checkpoint import MODEL_FORMAT, read_checkpoint
from genoflow.data import TokenDataModule, WindowDataModule
from genoflow.errors import InputError
from genoflow.forecast import write_forecasts
from genoflow.io import atomic_path, read_json, sha256sum, write_history, write_json
from genoflow.models import NEURAL_TYPES, count_parameters
from genoflow.preprocess import NO_LABEL, read_ids
from genoflow.tasks import (
    LR_SCHEDULES,
    Forecaster,
    MultilabelClassifier,
    SequenceClassifier,
    SequenceRegressor,
    TokenClassifier,
)

CLASS_TASKS = ("classification", "token_classification")  # tasks that log val_accuracy
TASK_MODULES = {
    "classification": SequenceClassifier,
    "token_classification": TokenClassifier,
    "multilabel": MultilabelClassifier,
    "regression": SequenceRegressor,
    "forecasting": Forecaster,
}
# Lightning 2.6 + torch 2.13 deprecation noise that would otherwise fill every training log.
warnings.filterwarnings("ignore", message=".*LeafSpec.*is deprecated")
warnings.filterwarnings("ignore", message=".*does not have many workers.*")
# Our checkpoint folder also holds the run fingerprint, on purpose.
warnings.filterwarnings("ignore", message="Checkpoint directory .* exists and is not empty")
# The task modules' transfer_batch_to_device (lengths stay on the host) is meant to win.
warnings.filterwarnings("ignore", message=".*overridden `transfer_batch_to_device`")


@dataclass(frozen=True)
class TrainConfig:
    """The `train:` section of the config (defaults match workflow/schemas/config.schema.yaml)."""

    max_epochs: int = 40
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    lr_schedule: str = "plateau"
    patience: int = 6
    monitor: str = "val_loss"
    gradient_clip: float = 1.0
    class_weights: str = "none"
    accelerator: str = "auto"
    devices: int = 1
    strategy: str = "auto"
    precision: str = "auto"
    deterministic: bool = True

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(None, f"unknown train option(s) {unknown}; known: {sorted(known)}")
        config = cls(**values)
        if config.lr_schedule not in LR_SCHEDULES:
            raise InputError(None, f"lr_schedule {config.lr_schedule!r} not in {LR_SCHEDULES}")
        if config.monitor not in ("val_loss", "val_accuracy"):
            raise InputError(
                None, f"monitor {config.monitor!r} not in ['val_loss', 'val_accuracy']"
            )
        if config.strategy not in ("auto", "ddp"):
            raise InputError(None, f"strategy {config.strategy!r} not in ['auto', 'ddp']")
        if config.class_weights not in ("none", "balanced"):
            raise InputError(None, f"class_weights {config.class_weights!r} not in none/balanced")
        return config


class History(Callback):
    """One row per epoch in history.csv; kept in the checkpoint so a resumed run continues it."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.seconds = 0.0
        self._start = 0.0

    def on_train_epoch_start(self, trainer, module) -> None:
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer, module) -> None:
        elapsed = time.perf_counter() - self._start
        self.seconds += elapsed
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
        row = {"epoch": trainer.current_epoch, "seconds": round(elapsed, 3)}
        for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
            row[key] = round(metrics[key], 6) if key in metrics else ""
        row["lr"] = trainer.optimizers[0].param_groups[0]["lr"]
        self.rows.append(row)
        if not trainer.is_global_zero:
            return  # one line per epoch in the log, not one per DDP process
        shown = "  ".join(f"{k} {v}" for k, v in row.items() if k != "epoch")
        message = f"epoch {trainer.current_epoch}: {shown}"
        if trainer.progress_bar_callback is not None:  # a line of its own, not inside the bar
            trainer.progress_bar_callback.print(message)
        else:
            print(message)
        sys.stdout.flush()

    def state_dict(self) -> dict:
        return {"rows": self.rows, "seconds": self.seconds}

    def load_state_dict(self, state: dict) -> None:
        self.rows, self.seconds = list(state["rows"]), float(state["seconds"])


class LogProgressBar(ProgressBar):
    """A progress bar made for log files: a few plain lines per epoch, no carriage returns."""

    def __init__(self, updates_per_epoch: int = 4) -> None:
        super().__init__()
        self.updates_per_epoch = updates_per_epoch
        self.enabled = True
        self._start = 0.0

    def disable(self) -> None:
        self.enabled = False

    def enable(self) -> None:
        self.enabled = True

    def on_train_epoch_start(self, trainer, module) -> None:
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        total, done = self.total_train_batches, batch_idx + 1
        every = max(1, math.ceil(total / self.updates_per_epoch))
        if self.enabled and trainer.is_global_zero and (done % every == 0 or done == total):
            filled = round(20 * done / total)
            rate = done / max(time.perf_counter() - self._start, 1e-9)
            bar = "#" * filled + "." * (20 - filled)
            print(f"epoch {trainer.current_epoch} [{bar}] {done}/{total} batches, {rate:.1f}/s")
            sys.stdout.flush()


def train(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    model_name: str,
    model_type: str,
    model_args: dict,
    train_config: TrainConfig,
    seed: int = 0,
    threads: int | None = None,
) -> dict:
    """Fit, keep best and last checkpoints, resume if interrupted, write the contracted files."""
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    if threads:
        torch.set_num_threads(threads)
    meta = read_json(data_dir / "meta.json")
    if train_config.monitor == "val_accuracy" and meta["task"] not in CLASS_TASKS:
        raise InputError(
            None, f"monitor val_accuracy needs a classification task, not {meta['task']}"
        )
    L.seed_everything(seed, workers=True)
    try:
        data, module = _build(data_dir, meta, model_type, model_args, train_config)
    except (TypeError, ValueError) as error:  # an unknown or impossible hyperparameter
        raise InputError(None, f"model {model_name!r} ({model_type}): {error}") from None
    checkpoints = out_dir / "checkpoints"
    resume = _resume_point(
        checkpoints, _fingerprint(data_dir, model_type, model_args, train_config, seed)
    )
    history = History()
    mode = "min" if train_config.monitor.endswith("loss") else "max"
    best = ModelCheckpoint(
        dirpath=checkpoints,
        filename="best",
        monitor=train_config.monitor,
        mode=mode,
        save_last=True,
        save_on_train_epoch_end=True,  # after History has recorded the epoch
        enable_version_counter=False,
    )
    trainer = L.Trainer(
        max_epochs=train_config.max_epochs,
        accelerator=train_config.accelerator,
        devices=train_config.devices,
        strategy=train_config.strategy,
        plugins=_cluster_plugins(train_config),
        use_distributed_sampler=False,  # the data modules shard batches per process themselves
        precision=_precision(train_config),
        gradient_clip_val=train_config.gradient_clip or None,
        deterministic=train_config.deterministic,
        callbacks=[
            history,
            EarlyStopping(
                train_config.monitor,
                patience=train_config.patience,
                mode=mode,
                check_on_train_epoch_end=True,
            ),
            best,
            LogProgressBar(),
        ],
        logger=False,
        num_sanity_val_steps=0,
        default_root_dir=out_dir,
    )
    started = time.perf_counter()
    if resume:
        print(f"resuming from {resume} (epoch {torch.load(resume, weights_only=False)['epoch']})")
    trainer.fit(module, datamodule=data, ckpt_path=resume)
    if not trainer.is_global_zero:
        return {}  # a DDP worker: the first process writes every output, once
    (checkpoints / "complete").write_text("training finished; a rerun starts afresh\n")

    state = torch.load(best.best_model_path, map_location="cpu", weights_only=False)
    module.load_state_dict(state["state_dict"])
    best_epoch = int(state["epoch"])
    _write_predictions(out_dir / "predictions.tsv", module, data, meta)
    write_history(out_dir / "history.csv", history.rows)
    _export_model(out_dir / "model.ckpt", module, model_type, model_args, meta)
    info = {
        "model": model_name,
        "type": model_type,
        "seed": seed,
        "params": count_parameters(module.model),
        "train_seconds": round(history.seconds, 2),
        "wall_seconds_this_run": round(time.perf_counter() - started, 2),
        "epochs": len(history.rows),
        "best_epoch": best_epoch,
        "best_" + train_config.monitor: float(best.best_model_score),
        "stopped_early": trainer.current_epoch + 1 < train_config.max_epochs,
        "resumed": resume is not None,
        "device": str(module.device),
        "processes": trainer.world_size,
        "precision": str(trainer.precision),
        "threads": torch.get_num_threads(),
        "model_args": model_args,
        "train": asdict(train_config),
    }
    write_json(out_dir / "train.json", info)
    return info


def _build(data_dir: Path, meta: dict, model_type: str, model_args: dict, config: TrainConfig):
    """The data module and LightningModule of the dataset's task."""
    options = dict(lr=config.lr, weight_decay=config.weight_decay, lr_schedule=config.lr_schedule)
    if meta["task"] == "forecasting":
        data = WindowDataModule(data_dir, batch_size=config.batch_size)
        module = Forecaster(
            model_type,
            model_args,
            genes=len(meta["genes"]),
            input=meta["input"],
            horizon=meta["horizon"],
            target=meta["target"],
            multistep=meta["multistep"],
            **options,
        )
        return data, module
    data = TokenDataModule(data_dir, batch_size=config.batch_size)
    if meta["task"] == "regression":
        module = SequenceRegressor(
            model_type, model_args, meta["alphabet"], meta["targets"], meta["max_length"], **options
        )
        return data, module
    if meta["task"] == "multilabel":
        module = MultilabelClassifier(
            model_type,
            model_args,
            meta["alphabet"],
            meta["targets"],
            meta["max_length"],
            positive_weights=_positive_weights(data, config.class_weights),
            **options,
        )
        return data, module
    weights = _class_weights(data, len(meta["classes"]), config.class_weights)
    task_module = TokenClassifier if meta["task"] == "token_classification" else SequenceClassifier
    module = task_module(
        model_type,
        model_args,
        meta["alphabet"],
        meta["classes"],
        meta["max_length"],
        class_weights=weights,
        **options,
    )
    return data, module


def _fingerprint(
    data_dir: Path, model_type: str, model_args: dict, config: TrainConfig, seed: int
) -> str:
    spec = json.dumps([model_type, model_args, asdict(config), seed], sort_keys=True)
    # The small files by content, the (possibly large) arrays by size.
    files = sorted(path for path in data_dir.iterdir() if path.is_file())
    data = "".join(sha256sum(p) if p.suffix != ".npy" else str(p.stat().st_size) for p in files)
    return hashlib.sha256((spec + data).encode()).hexdigest()


def _resume_point(checkpoints: Path, fingerprint: str) -> str | None:
    """last.ckpt of an interrupted run with the same settings and data; otherwise start afresh.

    Under DDP, Lightning starts the other processes by rerunning this command after the first
    process has prepared the folder: they only read the decision, never clear the folder.
    """
    stamp = checkpoints / "fingerprint"
    last = checkpoints / "last.ckpt"
    same = stamp.is_file() and stamp.read_text() == fingerprint
    if not _launching_process():
        return str(last) if same and last.is_file() else None
    if same and last.is_file() and not (checkpoints / "complete").exists():
        return str(last)
    shutil.rmtree(checkpoints, ignore_errors=True)
    checkpoints.mkdir(parents=True)
    stamp.write_text(fingerprint)
    return None


def _launching_process() -> bool:
    """False in the processes Lightning's DDP launcher starts (they get LOCAL_RANK > 0)."""
    return os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0"


def _cluster_plugins(config: TrainConfig) -> list:
    """Several devices in one job: Lightning launches the DDP processes itself, even inside a
    SLURM job step (whose single task would otherwise be taken for the whole world). One
    device under SLURM: never let Lightning requeue the job; Snakemake owns resubmission."""
    if config.devices > 1:
        return [LightningEnvironment()]
    if SLURMEnvironment.detect():
        return [SLURMEnvironment(auto_requeue=False)]
    return []


def _precision(config: TrainConfig) -> str:
    if config.precision != "auto":
        return config.precision
    on_gpu = config.accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()
    return "bf16-mixed" if on_gpu and torch.cuda.is_bf16_supported() else "32-true"


def _class_weights(data: TokenDataModule, n_classes: int, policy: str) -> list[float] | None:
    """balanced: inverse class frequency in train (of records, or of labelled residues)."""
    if policy == "none":
        return None
    train = data.indices("train")
    if data.arrays["residue_labels"].shape[1]:
        counts = np.zeros(n_classes, dtype=np.int64)
        for start in range(0, len(train), 4096):
            rows = np.asarray(data.arrays["residue_labels"][train[start : start + 4096]])
            counts += np.bincount(rows[rows != NO_LABEL], minlength=n_classes)[:n_classes]
    else:
        counts = np.bincount(data.arrays["labels"][train], minlength=n_classes)
    return (counts.sum() / (n_classes * np.maximum(counts, 1))).tolist()


def _positive_weights(data: TokenDataModule, policy: str) -> list[float] | None:
    """balanced (multilabel): per label, negatives / positives in train."""
    if policy == "none":
        return None
    truth = data.arrays["targets"][data.indices("train")]
    positives = truth.sum(axis=0)
    return ((len(truth) - positives) / np.maximum(positives, 1)).tolist()


@torch.no_grad()
def predict(module: L.LightningModule, loader) -> tuple[np.ndarray, np.ndarray]:
    """(indices, outputs) over a loader in eval mode: class probabilities (classification),
    target values (regression) or forecasts (forecasting), in model units."""
    outputs = predict_outputs(module, loader)
    return outputs["index"], outputs["values"]


@torch.no_grad()
def predict_outputs(module: L.LightningModule, loader) -> dict[str, np.ndarray]:
    """Every output of the module's predict_step over a loader in eval mode, concatenated:
    `index` and `values`, and for per-residue tasks `position` (one entry per residue)."""
    module.eval()
    outputs: dict[str, list[np.ndarray]] = {}
    for batch in loader:
        batch = module.transfer_batch_to_device(batch, module.device, 0)
        for name, value in module.predict_step(batch, 0).items():
            outputs.setdefault(name, []).append(value.cpu().numpy())
    return {name: np.concatenate(parts) for name, parts in outputs.items()}


def _write_predictions(path: Path, module, data, meta: dict) -> None:
    outputs = predict_outputs(module, data.loader("test", shard=False))  # every test item
    indices, values = outputs["index"], outputs["values"]
    if meta["task"] == "forecasting":
        write_forecasts(path, data.data_dir, indices, values)
        return
    ids = read_ids(data.data_dir, indices)
    if meta["task"] == "token_classification":
        positions = outputs["position"]
        labels = data.arrays["residue_labels"][indices, positions]
        write_residue_predictions(path, ids, positions, labels, values, meta["classes"])
    elif meta["task"] == "multilabel":
        truth = data.arrays["targets"][indices]
        write_multilabel_predictions(path, ids, truth, values, meta["targets"])
    elif meta["task"] == "regression":
        mean, std = np.array(meta["target_mean"]), np.array(meta["target_std"])
        truth = data.arrays["targets"][indices] * std + mean
        write_regression_predictions(path, ids, truth, values * std + mean, meta["targets"])
    else:
        write_predictions(path, ids, data.arrays["labels"][indices], values, meta["classes"])


def write_regression_predictions(
    path: Path, ids, truth: np.ndarray, predicted: np.ndarray, targets: list[str]
) -> None:
    """predictions.tsv of a regression: id, then true_<target> and pred_<target> per target."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(["id"] + [f"{kind}_{t}" for t in targets for kind in ("true", "pred")])
        for record_id, true_row, pred_row in zip(ids, truth, predicted, strict=True):
            cells = [f"{v:.6g}" for pair in zip(true_row, pred_row, strict=True) for v in pair]
            writer.writerow([record_id, *cells])


def write_residue_predictions(
    path: Path, ids, positions, labels, probs: np.ndarray, classes: list[str]
) -> None:
    """predictions.tsv of per-residue labels: a row per residue with id, position (1-based),
    label (empty where the residue has none), predicted, then prob_<class> per class."""
    names = [*classes] + [""] * (NO_LABEL + 1 - len(classes))  # NO_LABEL -> ""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(["id", "position", "label", "predicted"] + [f"prob_{c}" for c in classes])
        best = probs.argmax(axis=1)
        for record_id, position, label, k, row in zip(
            ids, positions.tolist(), labels.tolist(), best.tolist(), probs, strict=True
        ):
            cells = [f"{p:.4g}" for p in row]
            writer.writerow([record_id, position + 1, names[label], classes[k], *cells])


def write_multilabel_predictions(
    path: Path, ids, truth: np.ndarray, probs: np.ndarray, labels: list[str]
) -> None:
    """predictions.tsv of a multilabel task: id, then true_<label> (0/1) and prob_<label>."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(["id"] + [f"{kind}_{t}" for t in labels for kind in ("true", "prob")])
        for record_id, true_row, prob_row in zip(ids, truth, probs, strict=True):
            cells = [v for pair in zip(true_row, prob_row, strict=True) for v in pair]
            writer.writerow([record_id, *(f"{v:.6g}" for v in cells)])


def write_predictions(path: Path, ids, labels, probs: np.ndarray, classes: list[str]) -> None:
    """predictions.tsv: id, label, predicted, then one prob_<class> column per class."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(["id", "label", "predicted"] + [f"prob_{c}" for c in classes])
        for record_id, label, row in zip(ids, labels, probs, strict=True):
            writer.writerow(
                [record_id, classes[label], classes[int(row.argmax())]] + [f"{p:.6g}" for p in row]
            )


def _export_model(path: Path, module, model_type: str, model_args: dict, meta: dict) -> None:
    """model.ckpt: weights plus everything needed to rebuild the model and prepare new inputs
    the same way (the preprocess metadata: alphabet, classes, lengths, gene transforms ...).
    Plain data and tensors only, so `torch.load(weights_only=True)` can read it."""
    payload = {
        "format": MODEL_FORMAT,
        "task": meta["task"],
        "model_type": model_type,
        "model_args": model_args,
        "module_args": dict(module.hparams),
        "meta": meta,
        "state_dict": {k: v.cpu() for k, v in module.state_dict().items()},
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_model(path: str | Path) -> tuple[L.LightningModule, dict]:
    """(task module in eval mode, payload) from a neural model.ckpt, read with weights_only=True.
    (Where the network alone will do, checkpoint.sequence_model needs no Lightning.)"""
    payload = read_checkpoint(path)
    if payload["model_type"] not in NEURAL_TYPES:
        raise InputError(path, "not a genoflow neural model checkpoint")
    module = TASK_MODULES[payload["task"]](**payload["module_args"])
    module.load_state_dict(payload["state_dict"])
    return module.eval(), payload
