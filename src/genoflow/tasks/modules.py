"""LightningModules, one per task type, around the shared `SequenceModel`."""

from __future__ import annotations

import math

import lightning as L
import torch
import torch.nn.functional as F
import torchmetrics
from lightning.pytorch.plugins.precision import Precision
from lightning.pytorch.strategies import SingleDeviceStrategy
from torch.utils.data import DataLoader

from genoflow.data import BatchGroups, batch_count
from genoflow.models import SequenceModel
from genoflow.models.build import token_model
from genoflow.registry import NO_LABEL
from genoflow.tasks import averaging

LR_SCHEDULES = ("plateau", "cosine", "warmup_cosine", "none")
WARMUP_SHARE = 0.05  # warmup_cosine: the first 5 % of the steps raise the rate from 0
# How a module is trained, not what it computes: kept out of its hyperparameters (model.ckpt).
TRAINING_ONLY = ["gradient_clip", "accumulate", "monitor"]
# Validation metrics of the whole split (not batch means) that a classifier can be stopped and
# selected on (train: monitor), from torchmetrics: the exact AUROC (macro over classes) and
# Matthews' correlation over every validation sequence (or residue), synchronised across DDP
# processes by torchmetrics itself.
EPOCH_METRICS = ("val_mcc", "val_auroc")
FUSED_DEVICES = ("cpu", "cuda")  # where torch has a fused AdamW kernel


Batch = dict[str, torch.Tensor]


def _positions_labelled(labels: torch.Tensor) -> torch.Tensor:
    return labels != NO_LABEL


def _last_training_batch(trainer: L.Trainer) -> bool:
    """Whether the training step running now is the epoch's last (the loader is exhausted, or
    `limit_train_batches` is reached)."""
    progress = trainer.fit_loop.epoch_loop.batch_progress
    return progress.is_last_batch or progress.current.ready >= trainer.num_training_batches


class _Task(L.LightningModule):
    """What every task shares: AdamW with an optional LR schedule, and train/val steps that
    call the task's `_step`, which logs `<stage>_loss` (and any task metric).

    The optimizer step is written out here (Lightning's manual optimization) rather than left
    to Lightning's automatic loop, whose closure, precision-plugin and hook layers are a good
    part of a small model's step (benchmarks/training.py --part fixed; the forecaster of
    benchmarks/keras_forecaster.py spent half its time there). The arithmetic is the same:
    backward (through Lightning where mixed precision scales the loss or DDP synchronises),
    clip the gradient norm, AdamW step, zero the gradients; accumulation and the LR schedules
    are stepped here too, where Lightning's automatic loop stepped them. Training batches may
    come in groups (data.BatchGroups): each is stepped on in turn, as if it came alone.

    Epoch metrics are summed here, on the device, and handed to Lightning once per epoch (at
    the last training batch, at the end of validation) rather than with a `self.log` call per
    batch: each such call costs about a millisecond of Python in Lightning (measured by
    benchmarks/training.py), a few per cent of a small model's step. The value is the same
    batch-size-weighted epoch mean that Lightning's `on_epoch` logging computes (also across
    DDP processes: the one call still carries the whole epoch's batch size).
    """

    # Lightning sets these on the module around every hook call (a few dozen times a step);
    # torch's Module.__setattr__ looks each name up among parameters, buffers and submodules
    # first, which here is most of the cost of a hook call. They are plain attributes.
    _PLAIN_ATTRIBUTES = frozenset(
        (
            "_current_fx_name",
            "_metric_attributes",
            "_batches",
            "_sums",
            "_step_logged",
            "_average",
            "_average_saved",
        )
    )

    def __setattr__(self, name: str, value) -> None:
        if name in self._PLAIN_ATTRIBUTES:
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def __init__(
        self, gradient_clip: float = 0.0, accumulate: int = 1, monitor: str = "val_loss"
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        # Not hyperparameters of the network: how it is trained (train.json records them).
        self.gradient_clip, self.accumulate = gradient_clip, accumulate
        self.monitor = monitor
        self.val_metric = None  # a classifier's torchmetrics metric when monitor is one
        self._validated = False  # whether this epoch's validation ran (plateau schedule)
        # train: weight_averaging (set by train._build; how it is trained, not a hyperparameter)
        self.weight_averaging = 0.0
        self._average = None  # the network's moving average while fitting (tasks/averaging.py)
        self._average_saved = None  # a resumed run's average, until the fit starts

    def training_step(self, batch: Batch | list[Batch], batch_idx: int) -> torch.Tensor:
        """One batch, or a group of consecutive batches (data.BatchGroups), each its own
        optimizer step (or a share of one, when gradients accumulate)."""
        batches = batch if isinstance(batch, list) else [batch]
        trainer = self._trainer
        if trainer is None:  # called outside a fit: the loss only
            return self._step(self._augmented(batches[0]), "train")
        last_group = _last_training_batch(trainer)
        for i, one in enumerate(batches):
            loss = self._train_batch(one, last=last_group and i == len(batches) - 1)
        return loss

    def on_fit_start(self) -> None:
        # Lightning's manual_backward and optimizer.step scale the loss (fp16), let DDP
        # synchronise, and call the before-backward, after-backward and before-optimizer-step
        # hooks of every callback. With plain precision on one device ("plain") only the hooks
        # remain, which genoflow's callbacks do not use (and users cannot add callbacks:
        # train.TRAINER_KEPT); they cost ~0.13 ms a step, so such runs call torch directly.
        strategy = self.trainer.strategy
        self._plain = (
            type(strategy) is SingleDeviceStrategy and type(strategy.precision_plugin) is Precision
        )
        self._start_average()

    def _train_batch(self, batch: Batch, last: bool) -> torch.Tensor:
        loss = self._step(self._augmented(batch), "train")
        loss_share = loss / self.accumulate if self.accumulate > 1 else loss
        if self.__dict__.get("_plain"):
            loss_share.backward()
        else:
            self.manual_backward(loss_share)
        self._batches += 1
        if self._trainer.loggers:  # (the step this batch belongs to, and its learning rate)
            self._log_step(loss)
        if last or self._batches % self.accumulate == 0:
            self._optimizer_step()
        if last:
            self._flush("train")
        return loss.detach()

    def _augmented(self, batch: Batch) -> Batch:
        if self.hparams.get("mirror"):
            batch = self._either_reading(batch)
        if self.hparams.get("shift"):
            batch = self._shifted(batch, self.hparams.shift)
        return batch

    def _optimizer_step(self) -> None:
        optimizer = self.optimizers()
        if self.gradient_clip:
            self.clip_gradients(
                optimizer, gradient_clip_val=self.gradient_clip, gradient_clip_algorithm="norm"
            )
        if self.__dict__.get("_plain") and hasattr(optimizer, "_on_after_step"):
            # Lightning's optimizer.step() adds, around the torch step, a closure, the precision
            # plugin and the before-optimizer-step hooks of every callback (~0.05 ms a step);
            # with plain precision on one device they do nothing for genoflow's callbacks. The
            # step still counts: these two calls are what Lightning's loop counts steps by
            # (global_step; tests/test_train.py pins it).
            optimizer._on_before_step()
            optimizer.optimizer.step()
            optimizer._on_after_step()
        else:
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if self._average is not None:
            self._average.update(self.model)
        if self.hparams.lr_schedule == "warmup_cosine":  # the one schedule stepped per step
            self.lr_schedulers().step()

    def _start_average(self) -> None:
        if self.weight_averaging:
            self._average = averaging.WeightAverage(self.model, self.weight_averaging)
            if self._average_saved is not None:  # resumed: it goes on where it stopped
                self._average.load(self._average_saved)
                self._average_saved = None

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        if self._average is not None:  # the average is the checkpoint's network
            self._average.save(checkpoint, prefix="model.")

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        saved = averaging.restore(checkpoint, prefix="model.")
        if saved is None:
            return
        if self._average is None:  # (restored before the fit starts: one device, DDP)
            self._average_saved = saved
        else:  # (strategies that restore after setting up)
            self._average.load(saved)

    def on_train_epoch_end(self) -> None:
        """The epoch's schedules, after History has recorded the rate the epoch ran with and
        before the epoch's checkpoints are written (a resumed run starts from the stepped
        schedule, as an uninterrupted one continues with it)."""
        schedule = self.hparams.lr_schedule
        if schedule == "cosine":
            self.lr_schedulers().step()
        elif schedule == "plateau" and self._validated:
            self.lr_schedulers().step(self.trainer.callback_metrics["val_loss"])
        self._validated = False

    def _log_step(self, loss: torch.Tensor) -> None:
        """Every `log_every_n_steps` optimizer steps, the batch's loss and the learning rate
        straight to the loggers (metrics.csv, TensorBoard): the per-step curve, for one host
        sync per N steps and no `self.log` call per batch."""
        trainer = self._trainer
        step, every = trainer.global_step, trainer.log_every_n_steps
        if not every or step % every or step == self.__dict__.get("_step_logged"):
            return
        self._step_logged = step  # (once per step when gradients accumulate over batches)
        lr = trainer.optimizers[0].param_groups[0]["lr"]
        for logger in trainer.loggers:
            logger.log_metrics({"train_loss_step": float(loss.detach()), "lr": lr}, step=step)

    def validation_step(self, batch: Batch | list[Batch], batch_idx: int) -> None:
        for one in batch if isinstance(batch, list) else [batch]:
            self._step(one, "val")

    def on_train_epoch_start(self) -> None:
        self._sums = {}  # name -> (sum of value x batch size, sum of batch sizes), this epoch
        self._batches = 0  # training batches seen this epoch (gradient accumulation)

    def on_validation_epoch_start(self) -> None:
        if self._average is not None:  # validation judges the average
            self._average.swap(self.model)
        self._flush("val", log=False)  # drop anything left from an interrupted validation
        if self.val_metric is not None:
            self.val_metric.reset()

    def on_validation_epoch_end(self) -> None:
        self._flush("val")
        if self.val_metric is not None:
            self.log(self.monitor, self.val_metric.compute(), on_step=False, on_epoch=True)
            self.val_metric.reset()
        self._validated = not self.trainer.sanity_checking
        if self._average is not None:  # training goes on from the trained weights
            self._average.swap(self.model)

    def _log(self, name: str, value: torch.Tensor, size: int) -> None:
        """Add a batch's metric (mean over `size` items) to its epoch mean."""
        sums = self.__dict__.setdefault("_sums", {})
        total, count = sums.get(name, (0.0, 0))
        sums[name] = (value.detach().float() * size + total, count + size)

    def _flush(self, stage: str, log: bool = True) -> None:
        """Log the epoch means of `stage` and start them afresh."""
        sums = self.__dict__.setdefault("_sums", {})
        for name in [n for n in sums if n.startswith(f"{stage}_")]:
            total, count = sums.pop(name)
            if log:
                # sync_dist: under DDP every process sees a shard; early stopping needs the
                # average over all of them (weighted by each process's `count`). Not for the
                # progress bar: LogProgressBar shows batches, History the epoch's metrics.
                self.log(
                    name,
                    total / count,
                    on_step=False,
                    on_epoch=True,
                    batch_size=count,
                    sync_dist=self.trainer.world_size > 1,
                )

    def transfer_batch_to_device(self, batch, device: torch.device, dataloader_idx: int):
        """A batch to the device, but for its `lengths`, which stay on the CPU: the model moves
        them itself, and a recurrent model packs by the CPU copy rather than waiting for the
        GPU to hand them back, every step (SequenceModel.forward_features). A group of
        batches: each of them so."""
        if isinstance(batch, list):
            return [self.transfer_batch_to_device(one, device, dataloader_idx) for one in batch]
        lengths = batch.get("lengths") if isinstance(batch, dict) else None
        batch = super().transfer_batch_to_device(batch, device, dataloader_idx)
        if lengths is not None:
            batch["lengths"] = lengths
        return batch

    def _either_reading(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Mirror augmentation (train: reverse_complement for DNA and RNA, reverse for proteins):
        each training sequence is read as given or as its mirror, drawn at random: from either
        strand, or from either end, where the label does not depend on which."""
        tokens, lengths = batch["tokens"], batch["lengths"]
        flip = torch.rand(len(tokens), device=tokens.device) < 0.5
        other = self.model.mirrored(tokens, lengths)
        return {**batch, "tokens": torch.where(flip[:, None], other, tokens)}

    @staticmethod
    def _shifted(batch: Batch, most: int) -> Batch:
        """Shift augmentation (train: shift): each training sequence moves by a whole number of
        positions drawn in [-most, most], inside its own length; the letters pushed past an
        end are dropped and the positions left empty read as padding (all-zero one-hot rows).
        Why: in aligned windows (promoters at their start site) a motif's exact position
        varies by a few letters between records, and a readout that keeps position (flatten)
        otherwise learns each position apart (README: CNNProm)."""
        tokens = batch["tokens"]
        moves = torch.randint(-most, most + 1, (len(tokens), 1), device=tokens.device)
        positions = torch.arange(tokens.shape[1], device=tokens.device)[None, :]
        source = positions - moves
        lengths = batch["lengths"].to(tokens.device)[:, None]
        inside = (source >= 0) & (source < lengths) & (positions < lengths)
        moved = tokens.gather(1, source.clamp(0, tokens.shape[1] - 1))
        return {**batch, "tokens": torch.where(inside, moved, torch.zeros_like(tokens))}

    def configure_optimizers(self):
        params = list(self.parameters())  # (frozen ones, e.g. the one-hot table, get no step)
        # fused: one kernel per parameter instead of ~10 Python-dispatched ops; for a small model
        # on the CPU that is 0.06 against 0.20 ms a step (benchmarks/training.py). Same update
        # rule, rounded differently in the last bits.
        fused = all(p.device.type in FUSED_DEVICES and p.is_floating_point() for p in params)
        optimizer = torch.optim.AdamW(
            params, lr=self.hparams.lr, weight_decay=self.hparams.weight_decay, fused=fused
        )
        schedule = self.hparams.lr_schedule
        if schedule == "plateau":
            scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, factor=0.5, patience=2
            )
            # (stepped by on_train_epoch_end with the validation loss; checkpoints keep it)
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler}}
        if schedule == "cosine":
            steps = max(1, self.trainer.max_epochs)
            return [optimizer], [torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)]
        if schedule == "warmup_cosine":  # per step: a linear warm-up, then a cosine to zero
            total = max(1, self._optimizer_steps())
            warmup = max(1, int(total * WARMUP_SHARE))

            def factor(step: int) -> float:
                if step < warmup:
                    return (step + 1) / warmup
                return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / (total - warmup))))

            scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
            # (stepped after every optimizer step by _optimizer_step)
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler}}
        return optimizer

    def _optimizer_steps(self) -> int:
        """How many optimizer steps the fit will take (warmup_cosine's length): batches per
        epoch, as this module steps on them (groups unpacked, accumulation), times epochs."""
        trainer = self.trainer
        _ = trainer.estimated_stepping_batches  # (sets the training loader up)
        loader = trainer.train_dataloader
        grouped = isinstance(loader, DataLoader) and isinstance(loader.sampler, BatchGroups)
        batches = batch_count(loader) if grouped else trainer.num_training_batches
        steps = math.ceil(batches / self.accumulate) * max(1, trainer.max_epochs)
        return steps if trainer.max_steps == -1 else min(steps, trainer.max_steps)


class SequenceClassifier(_Task):
    """Binary or multiclass classification of whole sequences (cross-entropy over classes)."""

    per_position = False  # TokenClassifier: a class per position instead

    def __init__(
        self,
        model_type: str,
        model_args: dict,
        alphabet: str,
        classes: list[str],
        max_length: int | None = None,
        lr: float = 1e-3,
        weight_decay: float = 0.01,
        lr_schedule: str = "plateau",
        gradient_clip: float = 0.0,
        accumulate: int = 1,
        monitor: str = "val_loss",
        class_weights: list[float] | None = None,
        mirror: bool = False,
        shift: int = 0,
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(gradient_clip, accumulate, monitor)
        self.save_hyperparameters(ignore=TRAINING_ONLY)
        self.model = token_model(
            model_type, model_args, alphabet, len(classes), max_length, self.per_position
        )
        if monitor in EPOCH_METRICS:
            kind = {"val_mcc": "MatthewsCorrCoef", "val_auroc": "AUROC"}[monitor]
            self.val_metric = getattr(torchmetrics.classification, f"Multiclass{kind}")(
                num_classes=len(classes)
            )
        weights = torch.tensor(class_weights, dtype=torch.float32) if class_weights else None
        self.register_buffer("class_weights", weights, persistent=False)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(batch, classes) logits; (batch, length, classes) per position."""
        return self.model(batch["tokens"], batch["lengths"])

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        logits, labels = self(batch).float(), batch["labels"]
        # Smoothed targets in training only: the validation loss that selects the epoch and
        # the model stays the plain cross-entropy, comparable across models.
        smoothing = self.hparams.get("label_smoothing", 0.0) if stage == "train" else 0.0
        loss = F.cross_entropy(logits, labels, weight=self.class_weights, label_smoothing=smoothing)
        self._log(f"{stage}_loss", loss, self._loss_weight(labels))
        self._log(f"{stage}_accuracy", (logits.argmax(dim=1) == labels).float().mean(), len(labels))
        if stage == "val" and self.val_metric is not None:
            self.val_metric.update(logits.detach().softmax(dim=1), labels)
        return loss

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> dict:
        return {"index": batch["index"], "values": self(batch).float().softmax(dim=1)}

    def _loss_weight(self, labels: torch.Tensor) -> int | torch.Tensor:
        """What a batch's loss counts for in its epoch mean: its records (residues), or with
        class weights the sum of their weights, as cross_entropy(weight=...) divides by. So the
        epoch's loss is the weighted mean over the whole split, whatever classes each batch
        holds (batches of one class would otherwise make it nearly the unweighted mean), and
        the ensemble's and the baselines' weighted losses rank beside it."""
        return len(labels) if self.class_weights is None else self.class_weights[labels].sum()


class TokenClassifier(SequenceClassifier):
    """One class per position, e.g. secondary structure per residue: the model keeps every
    position (pool "none") and its head scores each; cross-entropy over labelled positions
    only (padding and masked residues carry NO_LABEL). Loss and accuracy are means over
    residues, not over sequences."""

    per_position = True

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        logits, labels = self(batch).float(), batch["labels"]
        labelled = _positions_labelled(labels)
        n = int(labelled.sum())
        if n == 0:  # a batch of masked residues only: nothing to learn from
            return logits.sum() * 0.0
        # Flat (positions, classes): the (batch, classes, length) form runs nll_loss2d, which has
        # no deterministic CUDA kernel and so fails on a GPU with `deterministic: true`.
        loss = F.cross_entropy(
            logits.flatten(0, 1), labels.flatten(), weight=self.class_weights, ignore_index=NO_LABEL
        )
        hits = (logits.argmax(dim=2) == labels)[labelled].float().mean()
        self._log(f"{stage}_loss", loss, self._loss_weight(labels[labelled]))
        self._log(f"{stage}_accuracy", hits, n)
        if stage == "val" and self.val_metric is not None:
            self.val_metric.update(logits.detach()[labelled].softmax(dim=1), labels[labelled])
        return loss

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> dict:
        """Per residue (flattened, row by row): its row index, 0-based position and class
        probabilities."""
        probs = self(batch).float().softmax(dim=2)
        positions = torch.arange(probs.shape[1], device=probs.device)
        inside = positions < batch["lengths"].to(probs.device)[:, None]
        return {
            "index": batch["index"][:, None].expand_as(inside)[inside],
            "position": positions.expand_as(inside)[inside],
            "values": probs[inside],
        }


class MultilabelClassifier(_Task):
    """Several independent 0/1 labels per sequence (e.g. functions of a protein): a logit per
    label, binary cross-entropy; predictions are per-label probabilities."""

    def __init__(
        self,
        model_type: str,
        model_args: dict,
        alphabet: str,
        labels: list[str],
        max_length: int | None = None,
        lr: float = 1e-3,
        weight_decay: float = 0.01,
        lr_schedule: str = "plateau",
        gradient_clip: float = 0.0,
        accumulate: int = 1,
        positive_weights: list[float] | None = None,
        mirror: bool = False,
        shift: int = 0,
    ) -> None:
        super().__init__(gradient_clip, accumulate)
        self.save_hyperparameters(ignore=TRAINING_ONLY)
        self.model = token_model(model_type, model_args, alphabet, len(labels), max_length)
        weights = torch.tensor(positive_weights, dtype=torch.float32) if positive_weights else None
        self.register_buffer("positive_weights", weights, persistent=False)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.model(batch["tokens"], batch["lengths"])

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        logits, truth = self(batch).float(), batch["targets"]
        loss = F.binary_cross_entropy_with_logits(logits, truth, pos_weight=self.positive_weights)
        self._log(f"{stage}_loss", loss, len(truth))
        return loss

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> dict:
        return {"index": batch["index"], "values": self(batch).float().sigmoid()}


class SequenceRegressor(_Task):
    """One or many real-valued targets per sequence (e.g. expression per tissue); MSE on
    targets standardised with training-split statistics."""

    def __init__(
        self,
        model_type: str,
        model_args: dict,
        alphabet: str,
        targets: list[str],
        max_length: int | None = None,
        lr: float = 1e-3,
        weight_decay: float = 0.01,
        lr_schedule: str = "plateau",
        gradient_clip: float = 0.0,
        accumulate: int = 1,
        mirror: bool = False,
        shift: int = 0,
    ) -> None:
        super().__init__(gradient_clip, accumulate)
        self.save_hyperparameters(ignore=TRAINING_ONLY)
        self.model = token_model(model_type, model_args, alphabet, len(targets), max_length)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.model(batch["tokens"], batch["lengths"])

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        loss = F.mse_loss(self(batch).float(), batch["targets"])
        self._log(f"{stage}_loss", loss, len(batch["targets"]))
        return loss

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> dict:
        return {"index": batch["index"], "values": self(batch).float()}


class Forecaster(_Task):
    """Multivariate forecasting: a window of `input` time points of every gene -> the next
    `horizon` time points of every gene, all genes jointly.

    target "delta" predicts the change from the last observed point, "level" the value itself.
    multistep "direct" predicts all horizons at once; "recursive" predicts one step and feeds
    each prediction back as the newest input (trained one step ahead, rolled out to predict).
    """

    def __init__(
        self,
        model_type: str,
        model_args: dict,
        genes: int,
        input: int,
        horizon: int,
        target: str = "delta",
        multistep: str = "direct",
        lr: float = 1e-3,
        weight_decay: float = 0.01,
        lr_schedule: str = "plateau",
        gradient_clip: float = 0.0,
        accumulate: int = 1,
    ) -> None:
        super().__init__(gradient_clip, accumulate)
        self.save_hyperparameters(ignore=TRAINING_ONLY)
        steps = horizon if multistep == "direct" else 1
        self.model = SequenceModel(
            model_type, None, genes * steps, max_length=input, in_channels=genes, **model_args
        )

    def step_ahead(self, window: torch.Tensor) -> torch.Tensor:
        """(batch, input, genes) -> (batch, steps, genes) predicted values (not changes)."""
        lengths = torch.full((window.shape[0],), window.shape[1], device=window.device)
        out = self.model.forward_features(window, lengths).view(len(window), -1, window.shape[2])
        return out + window[:, -1:, :] if self.hparams.target == "delta" else out

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        """(batch, input, genes) -> (batch, horizon, genes) forecast."""
        if self.hparams.multistep == "direct":
            return self.step_ahead(window)
        steps = []
        for _ in range(self.hparams.horizon):
            steps.append(self.step_ahead(window))
            window = torch.cat([window[:, 1:], steps[-1]], dim=1)
        return torch.cat(steps, dim=1)

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        truth = batch["targets"]
        if self.hparams.multistep == "recursive":
            truth = truth[:, :1]  # teacher forcing: learn the next step from true inputs
        loss = F.mse_loss(self.step_ahead(batch["inputs"]).float(), truth)
        self._log(f"{stage}_loss", loss, len(truth))
        return loss

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> dict:
        return {"index": batch["index"], "values": self(batch["inputs"]).float()}
