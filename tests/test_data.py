"""Batches from the preprocessed arrays: exact rows, read without mapping the token file,
and length buckets for sequences of varied length."""

from __future__ import annotations

import numpy as np
import torch

from genoflow.data import LengthBuckets, RowReader, TokenDataModule
from genoflow.formats import arrays
from genoflow.formats.arrays import load_arrays


def resident_file_mb() -> float:
    """File-backed resident memory of this process (mapped file pages), in MB."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("RssFile:"))
    return int(line.split()[1]) / 1024


def test_row_reader_returns_exactly_the_rows_asked_for(tmp_path):
    rng = np.random.default_rng(0)
    array = rng.integers(0, 255, size=(1000, 37), dtype=np.uint8)
    np.save(tmp_path / "tokens.npy", array)
    mapped = np.load(tmp_path / "tokens.npy", mmap_mode="r")
    reader = RowReader(mapped)
    for rows in (
        np.array([5]),
        np.arange(100, 164),  # one run: one read
        np.sort(rng.choice(1000, 64, replace=False)),
        np.array([0, 1, 2, 500, 501, 998, 999]),  # runs at both ends of the file
    ):
        assert np.array_equal(reader.rows(rows), array[rows])
    assert np.array_equal(RowReader(array).rows(np.array([3, 9])), array[[3, 9]])


def test_an_epoch_of_random_batches_does_not_map_the_token_file(tmp_path, monkeypatch):
    """40 MB of tokens (over a lowered in-memory limit) read in shuffled batches: every row
    arrives once, and the process's file-backed memory does not grow with the file (a
    memory-mapped read would map it)."""
    monkeypatch.setattr(arrays, "IN_MEMORY_BYTES", 2**20)
    rows, width = 200_000, 200
    data = tmp_path / "data"
    data.mkdir()
    tokens = np.lib.format.open_memmap(data / "tokens.npy", "w+", np.uint8, (rows, width))
    tokens[:] = (np.arange(rows, dtype=np.int64)[:, None] % 251).astype(np.uint8)
    tokens.flush()
    del tokens
    np.save(data / "lengths.npy", np.full(rows, width, dtype=np.int32))
    np.save(data / "labels.npy", np.zeros(rows, dtype=np.int64))
    np.save(data / "targets.npy", np.zeros((rows, 0), dtype=np.float32))
    np.save(data / "residue_labels.npy", np.zeros((rows, 0), dtype=np.uint8))
    np.save(data / "split.npy", np.zeros(rows, dtype=np.uint8))
    module = TokenDataModule(data, batch_size=128)
    before = resident_file_mb()
    seen = 0
    for batch in module.loader("train", shuffle=True, shard=False):
        assert np.array_equal(batch["tokens"][:, 0].numpy(), batch["index"].numpy() % 251)
        seen += len(batch["index"])
    assert seen == rows
    assert resident_file_mb() - before < 10, "token file pages were mapped into the process"
    assert isinstance(load_arrays(data)["tokens"], np.memmap)


def test_small_token_arrays_are_read_into_memory_large_ones_mapped(motif_data, monkeypatch):
    """Small arrays: in memory (a batch is one index, not a read per row); over the limit:
    memory-mapped. Either way the same batches."""
    small = load_arrays(motif_data)
    assert not isinstance(small["tokens"], np.memmap)
    monkeypatch.setattr(arrays, "IN_MEMORY_BYTES", small["tokens"].nbytes - 1)
    mapped = load_arrays(motif_data)
    assert isinstance(mapped["tokens"], np.memmap)
    rows = np.flatnonzero(small["split"] == 0)
    torch.manual_seed(0)
    in_memory = list(TokenDataModule(motif_data, batch_size=32).loader("train", shuffle=True))
    torch.manual_seed(0)
    from_file = list(TokenDataModule(motif_data, batch_size=32).loader("train", shuffle=True))
    assert sum(len(batch["index"]) for batch in from_file) == len(rows)
    for a, b in zip(in_memory, from_file, strict=True):
        assert all(torch.equal(a[key], b[key]) for key in a)


def test_length_buckets_cover_every_position_once_and_cut_padding():
    """Lengths from 10 to 400: each epoch yields every position once, in batches that pad far
    less than random batches would, and a seeded generator repeats the epoch."""
    rng = np.random.default_rng(1)
    lengths = rng.integers(10, 401, size=5000)
    buckets = LengthBuckets(lengths, batch_size=64)
    torch.manual_seed(0)
    batches = list(buckets)
    assert len(batches) == len(buckets) == 79
    assert sorted(p for batch in batches for p in batch) == list(range(5000))

    def padding(batch_list) -> float:
        return sum(lengths[b].max() * len(b) - lengths[b].sum() for b in batch_list)

    random_batches = [list(range(i, min(i + 64, 5000))) for i in range(0, 5000, 64)]
    assert padding(batches) < 0.1 * padding(random_batches)
    torch.manual_seed(0)
    assert list(buckets) == batches


def test_only_varied_lengths_are_bucketed(motif_data, tmp_path):
    """Fixed-length data keeps plain shuffled batches (and so its seeded results)."""
    module = TokenDataModule(motif_data, batch_size=16)
    assert not isinstance(module.loader("train", shuffle=True, shard=False).sampler, LengthBuckets)
    varied = tmp_path / "varied"
    varied.mkdir()
    for name in ("tokens", "labels", "residue_labels", "targets", "split"):
        np.save(varied / f"{name}.npy", np.load(motif_data / f"{name}.npy"))
    lengths = np.load(motif_data / "lengths.npy")
    np.save(varied / "lengths.npy", (lengths - np.arange(len(lengths)) % 20).astype(np.int32))
    module = TokenDataModule(varied, batch_size=16)
    assert isinstance(module.loader("train", shuffle=True, shard=False).sampler, LengthBuckets)
    assert not isinstance(module.loader("test").sampler, LengthBuckets)  # order kept
