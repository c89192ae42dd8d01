"""LightningModules, one per task type, around the shared `SequenceModel`."""

from __future__ import annotations

import lightning as L
import torch
import torch.nn.functional as F

from genoflow.alphabets import get_alphabet
from genoflow.models import SequenceModel

LR_SCHEDULES = ("plateau", "cosine", "none")


class SequenceClassifier(L.LightningModule):
    """Binary or multiclass classification of whole sequences (cross-entropy over classes)."""

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
        class_weights: list[float] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        onehot = torch.from_numpy(get_alphabet(alphabet).onehot_table())
        self.model = SequenceModel(
            model_type, onehot, len(classes), max_length=max_length, **model_args
        )
        weights = torch.tensor(class_weights, dtype=torch.float32) if class_weights else None
        self.register_buffer("class_weights", weights, persistent=False)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.model(batch["tokens"], batch["lengths"])

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        logits = self(batch).float()
        labels = batch["labels"]
        loss = F.cross_entropy(logits, labels, weight=self.class_weights)
        size = len(labels)
        self.log(
            f"{stage}_loss", loss, on_step=False, on_epoch=True, batch_size=size, prog_bar=True
        )
        accuracy = (logits.argmax(dim=1) == labels).float().mean()
        self.log(f"{stage}_accuracy", accuracy, on_step=False, on_epoch=True, batch_size=size)
        return loss

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> dict:
        return {"index": batch["index"], "probs": self(batch).float().softmax(dim=1)}

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(
            self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay
        )
        schedule = self.hparams.lr_schedule
        if schedule == "plateau":
            scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, factor=0.5, patience=2
            )
            return {
                "optimizer": optimizer,
                "lr_scheduler": {"scheduler": scheduler, "monitor": "val_loss"},
            }
        if schedule == "cosine":
            steps = max(1, self.trainer.max_epochs)
            return [optimizer], [torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)]
        return optimizer
