"""Batches straight from the memory-mapped token arrays.

The loader samples whole batches of indices and reads each batch with one fancy-indexing call
on the memmap (sorted indices, so reads are near-sequential), instead of one Python call per
sample. Tokens stay uint8 until the model turns them into one-hot rows on the device.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from genoflow.preprocess import load_arrays

SPLIT_CODES = {"train": 0, "val": 1, "test": 2}


class TokenBatches(Dataset):
    """Indexed by an array of record indices; returns one collated batch."""

    def __init__(self, arrays: dict[str, np.ndarray], indices: np.ndarray) -> None:
        self.arrays, self.indices = arrays, indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, positions: list[int]) -> dict[str, torch.Tensor]:
        rows = np.sort(self.indices[positions])
        lengths = self.arrays["lengths"][rows]
        width = int(lengths.max())  # trim padding shared by the whole batch
        return {
            "index": torch.from_numpy(rows),
            "tokens": torch.from_numpy(np.ascontiguousarray(self.arrays["tokens"][rows, :width])),
            "lengths": torch.from_numpy(lengths.astype(np.int64)),
            "labels": torch.from_numpy(self.arrays["labels"][rows]),
        }


def _identity(batch):
    return batch


class TokenDataModule(L.LightningDataModule):
    def __init__(self, data_dir: str | Path, batch_size: int = 64) -> None:
        super().__init__()
        self.data_dir, self.batch_size = Path(data_dir), batch_size
        self.arrays = load_arrays(self.data_dir)

    def indices(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.arrays["split"] == SPLIT_CODES[split])

    def loader(self, split: str, shuffle: bool = False) -> DataLoader:
        dataset = TokenBatches(self.arrays, self.indices(split))
        order = RandomSampler(dataset) if shuffle else SequentialSampler(dataset)
        return DataLoader(
            dataset,
            sampler=BatchSampler(order, self.batch_size, drop_last=False),
            batch_size=None,  # the sampler already yields whole batches
            collate_fn=_identity,
        )

    def train_dataloader(self) -> DataLoader:
        return self.loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self.loader("val")

    def test_dataloader(self) -> DataLoader:
        return self.loader("test")

    def predict_dataloader(self) -> DataLoader:
        return self.loader("test")
