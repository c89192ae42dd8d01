"""Train one model on one preprocessed dataset with one seed, then predict its test split.

Outputs (in `out_dir`, the contract): model.ckpt (best weights + everything needed to reuse
them, loadable with `torch.load(weights_only=True)`), history.csv, predictions.tsv, train.json.
Lightning's own checkpoints live in `out_dir/checkpoints/` (not a declared Snakemake output, so
Snakemake does not delete them): an interrupted run resumes from `last.ckpt`.
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
import math
import os
import shutil
import time
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.plugins.environments import LightningEnvironment, SLURMEnvironment

from genoflow.data import TokenDataModule, WindowDataModule
from genoflow.errors import InputError
from genoflow.formats.arrays import class_counts, read_ids
from genoflow.formats.checkpoint import read_checkpoint, write_model
from genoflow.formats.files import read_meta, write_json
from genoflow.formats.predictions import (
    VAL_PREDICTIONS,
    write_forecasts,
    write_history,
    write_multilabel_predictions,
    write_predictions,
    write_regression_predictions,
    write_residue_predictions,
)
from genoflow.models import count_parameters
from genoflow.progress import log
from genoflow.registry import (
    CLASS_TASKS,
    ENSEMBLE_TASKS,
    MIRRORS,
    NEURAL_TYPES,
    TRAIN_OPTIONS_OFF,
    mirror_alphabets,
)
from genoflow.selection import balanced_positive_weights, balanced_weights
from genoflow.tasks.callbacks import History, LogProgressBar
from genoflow.tasks.modules import (
    EPOCH_METRICS,
    LR_SCHEDULES,
    Forecaster,
    MultilabelClassifier,
    SequenceClassifier,
    SequenceRegressor,
    TokenClassifier,
)
from genoflow.tasks.resume import fingerprint, launching_process, resume_point

# what early stopping and the best checkpoint can follow: the loss (any task), or for
# classifiers (a class per record or residue) the accuracy (a mean over batches) or a metric of
# the whole validation split (modules.EPOCH_METRICS)
MONITORS = ("val_loss", "val_accuracy", *EPOCH_METRICS)

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
# Small datasets have fewer batches per epoch than log_every_n_steps: their step curve is then
# one point per N steps across epochs (the epoch metrics are logged regardless).
warnings.filterwarnings("ignore", message=".*smaller than the logging interval")


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
    reverse_complement: bool = False
    reverse: bool = False  # proteins' mirror augmentation: either end first (modules.py)
    shift: int = 0  # shift augmentation: at most this many positions either way (modules.py)
    label_smoothing: float = 0.0
    weight_averaging: float = 0.0  # the weights' moving average's decay (tasks/averaging.py)
    trainer: dict = field(default_factory=dict)  # further lightning.Trainer options

    def settings(self) -> dict:
        """The options as plain data (train.json, the resume fingerprint); those of
        TRAIN_OPTIONS_OFF (`trainer`, `weight_averaging`, `shift`, `reverse`) only when set, so
        runs without them keep the files and fingerprints they had before they existed."""
        values = asdict(self)
        for late in TRAIN_OPTIONS_OFF:
            if values[late] == TRAIN_OPTIONS_OFF[late]:
                del values[late]
        return values

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(None, f"unknown train option(s) {unknown}; known: {sorted(known)}")
        config = cls(**values)
        if config.lr_schedule not in LR_SCHEDULES:
            raise InputError(None, f"lr_schedule {config.lr_schedule!r} not in {LR_SCHEDULES}")
        if config.monitor not in MONITORS:
            raise InputError(None, f"monitor {config.monitor!r} not in {list(MONITORS)}")
        if config.strategy not in ("auto", "ddp"):
            raise InputError(None, f"strategy {config.strategy!r} not in ['auto', 'ddp']")
        if not 0 <= config.label_smoothing < 1:
            raise InputError(None, f"label_smoothing {config.label_smoothing} not in [0, 1)")
        if isinstance(config.shift, bool) or not isinstance(config.shift, int) or config.shift < 0:
            raise InputError(None, f"shift {config.shift!r} is not a whole number >= 0")
        if not 0 <= config.weight_averaging < 1:
            raise InputError(None, f"weight_averaging {config.weight_averaging} not in [0, 1)")
        if config.class_weights not in ("none", "balanced"):
            raise InputError(None, f"class_weights {config.class_weights!r} not in none/balanced")
        check_trainer_options(config.trainer)
        return config


# lightning.Trainer arguments that genoflow sets from its own `train:` options...
TRAINER_SET_BY = {
    "max_epochs": "train.max_epochs",
    "accelerator": "train.accelerator",
    "devices": "train.devices",
    "strategy": "train.strategy",
    "precision": "train.precision",
    "gradient_clip_val": "train.gradient_clip",
    "deterministic": "train.deterministic",
}
# ... and those its outputs depend on: checkpoints (model.ckpt is the best epoch's), the
# callbacks that write history.csv and stop early, the run folder, its own data sharding.
TRAINER_KEPT = (
    "callbacks",
    "logger",
    "plugins",
    "default_root_dir",
    "enable_checkpointing",
    "barebones",
    "use_distributed_sampler",
)


# Trainer options that count loader items as batches (limits, intervals, step budgets): with
# any of them set, the loaders hand Lightning one batch at a time, not groups of them.
BATCH_COUNTING = frozenset(
    (
        "limit_train_batches",
        "limit_val_batches",
        "val_check_interval",
        "max_steps",
        "overfit_batches",
        "fast_dev_run",
        "num_sanity_val_steps",
    )
)


def check_trainer_options(options: dict) -> None:
    """`train.trainer` passes further options to lightning.Trainer (accumulate_grad_batches,
    limit_train_batches, val_check_interval, profiler, fast_dev_run, ...): each must be a
    Trainer argument that genoflow does not set itself."""
    if not isinstance(options, dict):
        raise InputError(
            None, f"train.trainer must be a mapping of Trainer options, not {options!r}"
        )
    known = [p for p in inspect.signature(L.Trainer.__init__).parameters if p != "self"]
    for name in options:
        where = f"train.trainer.{name}"
        if name in TRAINER_SET_BY:
            raise InputError(None, f"{where}: genoflow sets it; use {TRAINER_SET_BY[name]}")
        if name in TRAINER_KEPT:
            raise InputError(None, f"{where}: genoflow sets it (its outputs depend on it)")
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InputError(
                None, f"{where}: not an option of lightning.Trainer {L.__version__}{hint}"
            )
    # applied by genoflow's modules (manual optimization), so checked here, not by Lightning
    accumulate = options.get("accumulate_grad_batches", 1)
    if isinstance(accumulate, bool) or not isinstance(accumulate, int) or accumulate < 1:
        raise InputError(
            None, f"train.trainer.accumulate_grad_batches: {accumulate!r} is not an integer >= 1"
        )


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
    test: bool = True,
    tuned: dict | None = None,
) -> dict:
    """Fit, keep best and last checkpoints, resume if interrupted, write the contracted files.
    `test` False (a tuning trial): only history.csv and train.json, the test split untouched.
    `tuned`: the selected trial these settings come from, recorded in train.json."""
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    if threads:
        torch.set_num_threads(threads)
    warn_if_gpu_unseen()
    meta = read_meta(data_dir)
    if train_config.monitor != "val_loss" and meta["task"] not in CLASS_TASKS:
        raise InputError(
            None,
            f"monitor {train_config.monitor} needs a classification task, not {meta['task']}",
        )
    L.seed_everything(seed, workers=True)
    try:
        data, module = _build(data_dir, meta, model_type, model_args, train_config)
    except (TypeError, ValueError) as error:  # an unknown or impossible hyperparameter
        raise InputError(None, f"model {model_name!r} ({model_type}): {error}") from None
    module.weight_averaging = train_config.weight_averaging
    if not BATCH_COUNTING.intersection(train_config.trainer):
        data.group = data.grouping()  # batches handed to the module a group at a time
    checkpoints = out_dir / "checkpoints"
    resume = resume_point(
        checkpoints, fingerprint(data_dir, model_type, model_args, train_config.settings(), seed)
    )
    history = History(extra=(train_config.monitor,) * (train_config.monitor in EPOCH_METRICS))
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
    # accumulate_grad_batches is the modules' own (manual optimization; Lightning refuses it)
    options = {k: v for k, v in train_config.trainer.items() if k != "accumulate_grad_batches"}
    trainer = L.Trainer(
        **{"num_sanity_val_steps": 0, **options},
        max_epochs=train_config.max_epochs,
        accelerator=train_config.accelerator,
        devices=train_config.devices,
        strategy=train_config.strategy,
        plugins=_cluster_plugins(train_config),
        use_distributed_sampler=False,  # the data modules shard batches per process themselves
        precision=_precision(train_config),
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
        logger=_loggers(out_dir, fresh=resume is None),
        default_root_dir=out_dir,
    )
    started = time.perf_counter()
    # weights_only: tensors and plain data only; resume_point has refused anything else.
    trainer.fit(module, datamodule=data, ckpt_path=resume, weights_only=True)
    if not trainer.is_global_zero:
        return {}  # a DDP worker: the first process writes every output, once
    (checkpoints / "complete").write_text("training finished; a rerun starts afresh\n")

    if best.best_model_path:
        state = torch.load(best.best_model_path, map_location="cpu", weights_only=True)
        module.load_state_dict(state["state_dict"])
        best_epoch = int(state["epoch"])
    else:  # trainer: {fast_dev_run: ...} checks the path end to end and saves no checkpoint
        best_epoch = trainer.current_epoch
    if test:
        _write_predictions(out_dir / "predictions.tsv", module, data, meta)
        _export_model(out_dir / "model.ckpt", module, model_type, model_args, meta)
    # tune trials too: `select_by: calibrated_val_loss` scores every run by these
    _write_val_predictions(out_dir / VAL_PREDICTIONS, module, data, meta)
    write_history(out_dir / "history.csv", history.rows)
    info = {
        "model": model_name,
        "type": model_type,
        "seed": seed,
        "params": count_parameters(module.model),
        "train_seconds": round(history.seconds, 2),
        "wall_seconds_this_run": round(time.perf_counter() - started, 2),
        "epochs": len(history.rows),
        "best_epoch": best_epoch,
        "best_" + train_config.monitor: float(
            math.nan if best.best_model_score is None else best.best_model_score
        ),
        # the validation loss of the kept epoch, whatever was monitored: what every model of a
        # dataset is ranked and selected by (never the test split)
        "best_val_loss": _val_loss_at(history.rows, best_epoch),
        # the class (or, multilabel, positive-label) weights of that loss (class_weights:
        # balanced), so an ensemble of runs scores its mean on the same scale (None: unweighted)
        "loss_weights": _loss_weights(module),
        "stopped_early": trainer.current_epoch + 1 < train_config.max_epochs,
        "resumed": resume is not None,
        "device": str(module.device),
        "processes": trainer.world_size,
        "precision": str(trainer.precision),
        "threads": torch.get_num_threads(),
        "model_args": model_args,
        "train": train_config.settings(),
        "tested": test,
    }
    if tuned:
        info["tuned"] = tuned
    write_json(out_dir / "train.json", info)
    return info


def warn_if_gpu_unseen() -> str | None:
    """Warn (on stderr; and return the message) when the job was given a GPU - a scheduler set
    CUDA_VISIBLE_DEVICES - but torch sees none, rather than train on the CPU in silence."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").strip()
    if not visible or visible in ("-1", "none", "NoDevFiles") or torch.cuda.is_available():
        return None
    if torch.version.cuda is None:
        cause = (
            f"this torch ({torch.__version__}) is a CPU-only build; install a CUDA build"
            " (README: GPUs and several devices)"
        )
    else:
        cause = f"torch {torch.__version__} (CUDA {torch.version.cuda}) found no usable GPU driver"
    message = (
        f"warning: CUDA_VISIBLE_DEVICES={visible} (a GPU was allocated to this job) but torch"
        f" sees no GPU: {cause}. Training runs on the CPU."
    )
    log().warning("%s", message)
    return message


def _val_loss_at(rows: list[dict], epoch: int) -> float:
    """history.csv's validation loss at `epoch` (NaN where it has none)."""
    for row in rows:
        if row["epoch"] == epoch and row["val_loss"] != "":
            return float(row["val_loss"])
    return math.nan


def _build(data_dir: Path, meta: dict, model_type: str, model_args: dict, config: TrainConfig):
    """The data module and LightningModule of the dataset's task."""
    options = dict(
        lr=config.lr,
        weight_decay=config.weight_decay,
        lr_schedule=config.lr_schedule,
        # the modules step the optimizer themselves (tasks/modules.py), clipping and
        # accumulating as Lightning's automatic loop would
        gradient_clip=config.gradient_clip,
        accumulate=config.trainer.get("accumulate_grad_batches", 1),
    )
    if config.shift and meta["task"] in ("forecasting", "token_classification"):
        raise ValueError(f"shift: sequences with one label or value each, not {meta['task']}")
    # mirror augmentation (modules.py): DNA and RNA from either strand, proteins from either end
    for option in ("reverse_complement", "reverse"):
        if getattr(config, option):
            ours = option in MIRRORS.get(meta.get("alphabet"), ())
            if not ours or meta["task"] == "token_classification":
                raise ValueError(
                    f"{option}: {mirror_alphabets(option)} sequences with whole-sequence labels"
                )
            options["mirror"] = True
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
    if config.shift:
        options["shift"] = config.shift
    if config.label_smoothing and meta["task"] not in CLASS_TASKS:
        raise ValueError(f"label_smoothing: classification only, not {meta['task']}")
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
        label_smoothing=config.label_smoothing,
        monitor=config.monitor,
        **options,
    )
    return data, module


LOGS = "lightning"  # the run folder's Lightning logger output: csv/, tensorboard/


def _loggers(out_dir: Path, fresh: bool) -> list:
    """Lightning's CSVLogger (lightning/csv/metrics.csv: the epoch metrics and, every
    `log_every_n_steps`, the step loss and learning rate), and its TensorBoardLogger
    (lightning/tensorboard/) when tensorboard is installed. A run that starts afresh starts
    them afresh; a resumed run appends to them (its steps after the last checkpoint may then
    appear twice). history.csv stays the contracted per-epoch record."""
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    if fresh and launching_process():
        shutil.rmtree(out_dir / LOGS, ignore_errors=True)
    loggers = [CSVLogger(out_dir, name=LOGS, version="csv")]
    with contextlib.suppress(ModuleNotFoundError):  # neither tensorboard nor tensorboardX
        loggers.append(TensorBoardLogger(out_dir, name=LOGS, version="tensorboard"))
    return loggers


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
    return balanced_weights(class_counts(data.arrays, data.indices("train"), n_classes))


def _loss_weights(module: L.LightningModule) -> list[float] | None:
    """The weights a module's loss gives each class (or each label's positives), or None."""
    weights = getattr(module, "class_weights", None)
    weights = getattr(module, "positive_weights", None) if weights is None else weights
    return None if weights is None else [round(float(w), 8) for w in weights]


def _positive_weights(data: TokenDataModule, policy: str) -> list[float] | None:
    """balanced (multilabel): per label, negatives / positives in train."""
    if policy == "none":
        return None
    return balanced_positive_weights(data.arrays["targets"][data.indices("train")])


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


def _write_val_predictions(path: Path, module, data, meta: dict) -> None:
    """val_predictions.tsv (every task of ENSEMBLE_TASKS; a non-empty validation split): the
    validation split's predictions, which the `ensemble` row and calibrated selection
    (genoflow/selection.py) score; a stale one is removed."""
    path.unlink(missing_ok=True)
    if meta["task"] in ENSEMBLE_TASKS and len(data.indices("val")):
        _write_predictions(path, module, data, meta, split="val")


def _write_predictions(path: Path, module, data, meta: dict, split: str = "test") -> None:
    outputs = predict_outputs(module, data.loader(split, shard=False))  # every item of it
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


def _export_model(path: Path, module, model_type: str, model_args: dict, meta: dict) -> None:
    """model.ckpt of a trained neural model (formats.checkpoint.write_model)."""
    write_model(
        path,
        task=meta["task"],
        model_type=model_type,
        model_args=model_args,
        module_args=dict(module.hparams),
        meta=meta,
        state_dict={k: v.cpu() for k, v in module.state_dict().items()},
    )


def load_model(path: str | Path) -> tuple[L.LightningModule, dict]:
    """(task module in eval mode, payload) from a neural model.ckpt, read with weights_only=True.
    (Where the network alone will do, checkpoint.sequence_model needs no Lightning.)"""
    payload = read_checkpoint(path)
    if payload["model_type"] not in NEURAL_TYPES:
        raise InputError(path, "not a genoflow neural model checkpoint")
    module = TASK_MODULES[payload["task"]](**payload["module_args"])
    module.load_state_dict(payload["state_dict"])
    return module.eval(), payload
