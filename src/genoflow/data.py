"""Batches straight from the memory-mapped preprocessed arrays.

The loaders sample whole batches of indices and read each batch at once (sorted indices, one
read per run of consecutive rows), instead of one Python call per sample. Token arrays under
formats.arrays.IN_MEMORY_BYTES are held in memory; rows of larger ones are read from tokens.npy
with os.pread rather than through the memory map: a mapped read maps whole page-cache folios
around every row into the process, so a few hundred random batches would show most of a
multi-GB file as resident memory (benchmarks/large_data.py measures both).
Each batch is trimmed to its longest sequence; with sequences of varied length, training batches
come in length buckets (`LengthBuckets`), so little compute goes to padding (the models mask it:
padding never changes a prediction). Tokens stay uint8 until the model turns them into one-hot
rows on the device. Training on a GPU, batches come in page-locked memory so that their copies
run asynchronously, and the task modules leave `lengths` on the host (tasks.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
)

from genoflow.formats.arrays import load_arrays
from genoflow.formats.files import load_array, read_meta
from genoflow.registry import SPLIT_CODES


class TokenBatches(Dataset):
    """Sequences: indexed by a list of positions into `indices`; returns one collated batch."""

    def __init__(self, arrays: dict[str, np.ndarray], indices: np.ndarray) -> None:
        self.arrays, self.indices = arrays, indices
        self.reader = RowReader(arrays["tokens"])
        residues = arrays.get("residue_labels")
        self.residues = RowReader(residues) if residues is not None and residues.shape[1] else None

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, positions: list[int]) -> dict[str, torch.Tensor]:
        rows = np.sort(self.indices[positions])
        lengths = self.arrays["lengths"][rows]
        width = int(lengths.max())  # trim padding shared by the whole batch
        batch = {
            "index": torch.from_numpy(rows),
            "tokens": torch.from_numpy(np.ascontiguousarray(self.reader.rows(rows)[:, :width])),
            "lengths": torch.from_numpy(lengths.astype(np.int64)),
        }
        for name in ("labels", "targets"):  # class index, real-valued or 0/1 targets
            if name in self.arrays:
                batch[name] = torch.from_numpy(self.arrays[name][rows])
        if self.residues is not None:  # a class per residue, NO_LABEL where none
            residues = self.residues.rows(rows)[:, :width]
            batch["labels"] = torch.from_numpy(residues.astype(np.int64))
        return batch


class RowReader:
    """Rows of a 2-D array: read from its .npy file with os.pread when it is memory-mapped
    (one read per run of consecutive rows), indexed in memory otherwise."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self.path = getattr(array, "filename", None)  # set for np.load(..., mmap_mode="r")
        self.fd, self.pid = -1, -1

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """array[rows] for sorted `rows`."""
        if self.path is None:
            return self.array[rows]
        if self.pid != os.getpid():  # a descriptor per process (DDP, loader workers)
            self.fd, self.pid = os.open(self.path, os.O_RDONLY), os.getpid()
        width = self.array.shape[1]
        out = np.empty((len(rows), width), dtype=self.array.dtype)
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        runs = zip(np.r_[0, breaks].tolist(), np.r_[breaks, len(rows)].tolist(), strict=True)
        for start, stop in runs:
            offset = self.array.offset + int(rows[start]) * width * out.itemsize
            if os.preadv(self.fd, [out[start:stop]], offset) != out[start:stop].nbytes:
                raise OSError(f"{self.path}: short read at row {rows[start]}")
        return out

    def __del__(self) -> None:
        if self.pid == os.getpid():
            os.close(self.fd)


class WindowBatches(Dataset):
    """Time-series windows: `input` rows of every gene, then the `horizon` rows to predict."""

    def __init__(
        self, values: np.ndarray, windows: np.ndarray, ids: np.ndarray, input: int, horizon: int
    ) -> None:
        self.values, self.starts, self.ids = values, windows[ids], ids
        self.input_rows, self.target_rows = np.arange(input), input + np.arange(horizon)

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, positions: list[int]) -> dict[str, torch.Tensor]:
        positions = np.sort(np.asarray(positions))
        starts = self.starts[positions][:, None]
        return {
            "index": torch.from_numpy(self.ids[positions]),  # window number
            "inputs": torch.from_numpy(self.values[starts + self.input_rows]),
            "targets": torch.from_numpy(self.values[starts + self.target_rows]),
        }


class LengthBuckets(Sampler[list[int]]):
    """Shuffled batches of similar lengths, for training on sequences of varied length.

    Each epoch the positions are shuffled, cut into pools of `pool` batches, each pool is
    sorted by length and cut into batches, and the batches are shuffled: a batch pads only to
    its own longest sequence, and the order stays random (torch's generator, so seeded runs
    repeat).
    """

    def __init__(self, lengths: np.ndarray, batch_size: int, pool: int = 50) -> None:
        self.lengths, self.batch_size, self.pool = np.asarray(lengths), batch_size, pool

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)

    def __iter__(self):
        order = torch.randperm(len(self.lengths)).numpy()
        size, batches = self.batch_size, []
        for start in range(0, len(order), size * self.pool):
            pool = order[start : start + size * self.pool]
            pool = pool[np.argsort(self.lengths[pool], kind="stable")]
            batches += [pool[i : i + size].tolist() for i in range(0, len(pool), size)]
        for k in torch.randperm(len(batches)).tolist():
            yield batches[k]


class BatchGroups(Sampler[list[list[int]]]):
    """The batches of a batch sampler, `size` consecutive ones at a time: one loader item, one
    Lightning step, several optimizer steps (tasks/modules.py trains on each batch of a group
    in turn). Lightning's loop costs a fixed few tenths of a millisecond of Python per item it
    hands to a module (hooks, progress, fetching); for small models that is a good part of a
    step (benchmarks/training.py), and a group pays it once. The batches, their order and the
    random draws are those of the batch sampler alone: training is the same, step by step."""

    def __init__(self, batches: Sampler[list[int]], size: int) -> None:
        self.batches, self.size = batches, size

    def __len__(self) -> int:
        return -(-len(self.batches) // self.size)

    def __iter__(self):
        group = []
        for batch in self.batches:
            group.append(batch)
            if len(group) == self.size:
                yield group
                group = []
        if group:
            yield group


class _Grouped(Dataset):
    """A group of batches read as a list of batches."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, group: list[list[int]]) -> list:
        return [self.dataset[batch] for batch in group]


def batch_count(loader: DataLoader) -> int:
    """The number of batches a loader made by `batch_loader` yields, grouped or not."""
    sampler = loader.sampler
    return len(sampler.batches) if isinstance(sampler, BatchGroups) else len(sampler)


def _as_is(batch):
    return batch


def batch_loader(
    dataset: Dataset,
    batch_size: int,
    shuffle: bool,
    lengths: np.ndarray | None = None,
    pin_memory: bool = False,
    group: int = 1,
) -> DataLoader:
    """A loader whose sampler yields whole batches of positions, read by one dataset call.
    Shuffled batches come in length buckets when the `lengths` (per position) vary.
    `pin_memory` (training on a GPU): batches in page-locked memory, so that their copies to
    the GPU run asynchronously instead of waiting for the GPU's queue to drain.
    `group` > 1: each item is a list of that many consecutive batches (`BatchGroups`)."""
    if shuffle and lengths is not None and len(lengths) and lengths.min() < lengths.max():
        batches = LengthBuckets(lengths, batch_size)
    else:
        order = RandomSampler(dataset) if shuffle else SequentialSampler(dataset)
        batches = BatchSampler(order, batch_size, drop_last=False)
    if group > 1:
        batches, dataset = BatchGroups(batches, group), _Grouped(dataset)
    return DataLoader(
        dataset,
        sampler=batches,
        batch_size=None,  # the sampler already yields whole batches
        collate_fn=_as_is,
        pin_memory=pin_memory,
    )


# Training and validation loaders hand Lightning groups of consecutive batches (BatchGroups) of
# up to GROUP_BYTES of batch data and at most MAX_GROUP batches: small batches, whose steps
# are short, come many to a group; batches of long sequences come alone.
GROUP_BYTES = 4 << 20
MAX_GROUP = 16


class _SplitData(L.LightningDataModule):
    group = 1  # batches per training and validation loader item; train() sets it (grouping)

    def grouping(self) -> int:
        """How many batches a group holds for this dataset's batch size (GROUP_BYTES)."""
        return int(max(1, min(MAX_GROUP, GROUP_BYTES // max(1, self.batch_bytes()))))

    def batch_bytes(self) -> int:
        raise NotImplementedError

    def on_gpu(self) -> bool:
        """Whether the trainer this module is attached to trains on a CUDA device."""
        trainer = self.trainer  # set by Lightning; None outside a fit
        return trainer is not None and trainer.strategy.root_device.type == "cuda"

    def shard(self, indices: np.ndarray) -> np.ndarray:
        """Under DDP each process reads every world_size-th item of the split."""
        trainer = self.trainer  # set by Lightning; None outside a fit
        if trainer is None or trainer.world_size == 1:
            return indices
        return indices[trainer.global_rank :: trainer.world_size]

    def train_dataloader(self) -> DataLoader:
        return self.loader("train", shuffle=True, group=self.group)

    def val_dataloader(self) -> DataLoader:
        return self.loader("val", group=self.group)

    def test_dataloader(self) -> DataLoader:
        return self.loader("test")


class TokenDataModule(_SplitData):
    def __init__(self, data_dir: str | Path, batch_size: int = 64) -> None:
        super().__init__()
        self.data_dir, self.batch_size = Path(data_dir), batch_size
        self.arrays = load_arrays(self.data_dir)

    def indices(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.arrays["split"] == SPLIT_CODES[split])

    def loader(
        self, split: str, shuffle: bool = False, shard: bool = True, group: int = 1
    ) -> DataLoader:
        indices = self.shard(self.indices(split)) if shard else self.indices(split)
        dataset, lengths = TokenBatches(self.arrays, indices), self.arrays["lengths"][indices]
        return batch_loader(dataset, self.batch_size, shuffle, lengths, self.on_gpu(), group)

    def batch_bytes(self) -> int:
        """A full batch's tokens, and residue labels where there are any (8 bytes each)."""
        tokens = self.arrays["tokens"]
        residues = self.arrays.get("residue_labels")
        per_row = tokens.shape[1] * (1 + (8 if residues is not None and residues.size else 0))
        return self.batch_size * per_row


class WindowDataModule(_SplitData):
    def __init__(self, data_dir: str | Path, batch_size: int = 64) -> None:
        super().__init__()
        self.data_dir, self.batch_size = Path(data_dir), batch_size
        self.meta = read_meta(self.data_dir)
        self.values = load_array(self.data_dir / "values.npy")
        self.windows = load_array(self.data_dir / "windows.npy")
        self.window_split = load_array(self.data_dir / "window_split.npy")

    def indices(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.window_split == SPLIT_CODES[split])

    def loader(
        self, split: str, shuffle: bool = False, shard: bool = True, group: int = 1
    ) -> DataLoader:
        ids, meta = self.shard(self.indices(split)) if shard else self.indices(split), self.meta
        dataset = WindowBatches(self.values, self.windows, ids, meta["input"], meta["horizon"])
        return batch_loader(dataset, self.batch_size, shuffle, None, self.on_gpu(), group)

    def batch_bytes(self) -> int:
        """A full batch's input and target rows of every gene."""
        rows = self.meta["input"] + self.meta["horizon"]
        return self.batch_size * rows * self.values.shape[1] * self.values.itemsize
