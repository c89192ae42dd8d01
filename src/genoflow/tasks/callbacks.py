"""Lightning callbacks of every training run: History (history.csv, one row per epoch, and the
random generators' state, kept in the checkpoint so that a resumed run continues exactly) and
LogProgressBar (a few plain lines per epoch, made for log files); both log through `logging`."""

from __future__ import annotations

import math
import time

import torch
from lightning.pytorch.callbacks import Callback, ProgressBar
from torch.utils.data import DataLoader

from genoflow.data import BatchGroups, batch_count
from genoflow.progress import log


class History(Callback):
    """One row per epoch in history.csv; kept in the checkpoint so a resumed run continues it."""

    def __init__(self, extra: tuple[str, ...] = ()) -> None:
        """`extra`: further logged metrics to record (the monitored val_mcc or val_auroc)."""
        self.rows: list[dict] = []
        self.seconds = 0.0
        self._start = 0.0
        self.extra = tuple(extra)

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
        for key in self.extra:
            row[key] = round(metrics[key], 6) if key in metrics else ""
        self.rows.append(row)
        if not trainer.is_global_zero:
            return  # one line per epoch in the log, not one per DDP process
        shown = "  ".join(f"{k} {v}" for k, v in row.items() if k != "epoch")
        log().info("epoch %d: %s", trainer.current_epoch, shown)

    def state_dict(self) -> dict:
        # The random generators as the epoch ends (the next epoch's shuffling and dropout draw
        # from them): a run resumed from this checkpoint continues exactly as an uninterrupted
        # one would, down to the bytes of its outputs.
        rng = {"cpu": torch.get_rng_state()}
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return {"rows": self.rows, "seconds": self.seconds, "rng": rng}

    def load_state_dict(self, state: dict) -> None:
        self.rows, self.seconds = list(state["rows"]), float(state["seconds"])
        rng = state.get("rng", {})
        if "cpu" in rng:
            torch.set_rng_state(rng["cpu"])
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])


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
        self._done = 0

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        # counted in batches, also where the loader hands them over in groups (data.py)
        group = len(batch) if isinstance(batch, list) else 1
        total = self._total_batches(trainer)
        before, done = self._done, self._done + group
        self._done = done
        every = max(1, math.ceil(total / self.updates_per_epoch))
        crossed = done // every > before // every
        if self.enabled and trainer.is_global_zero and (crossed or done == total):
            filled = round(20 * done / total)
            rate = done / max(time.perf_counter() - self._start, 1e-9)
            bar = "#" * filled + "." * (20 - filled)
            epoch = trainer.current_epoch
            log().info(f"epoch {epoch} [{bar}] {done}/{total} batches, {rate:.1f}/s")

    def _total_batches(self, trainer) -> int:
        loader = trainer.train_dataloader
        if isinstance(loader, DataLoader) and isinstance(loader.sampler, BatchGroups):
            return batch_count(loader)
        return self.total_train_batches  # Lightning's count (limits applied)
