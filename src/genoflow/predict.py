"""Predict: score new records (FASTA, any format Biopython reads, or BED regions) with a trained
model.ckpt, inside or outside Snakemake.

The checkpoint carries how its training data was prepared (alphabet, row width and trim policy,
tiling, class names or target scaling), so new records are encoded the same way. It is read
with `torch.load(weights_only=True)`: tensors and plain data only, never arbitrary pickles.

predictions TSV: id, status, then per class `prob_<class>` and `predicted` (classification),
per label `prob_<label>` and `predicted` (multilabel: the labels at probability >= 0.5,
comma-separated) or `pred_<target>` (regression). Models of per-residue labels write a row per
residue: id, status, `position` (1-based), `predicted` and `prob_<class>`; they take proteins of
any length. `status` is `ok`, or why the model cannot take the record (a
letter outside its alphabet, longer than its rows with trim=error, empty): such records are
reported one per line instead of failing the run. With tiling, every window is a row
(`<record>:<start>-<end>`); with next-base tiling, `predicted` is the letter expected after it.
Records are read, encoded and scored a batch at a time, so memory does not grow with the input.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from genoflow.alphabets import get_alphabet
from genoflow.errors import InputError
from genoflow.evaluate.features import kmer_features, window_features
from genoflow.formats.checkpoint import read_checkpoint
from genoflow.formats.files import atomic_path
from genoflow.io.fasta import FastaRecord, read_fasta
from genoflow.io.sources import FastaInput, RegionInput, SeqioInput
from genoflow.models.build import sequence_model
from genoflow.preprocess.encode import trim_to
from genoflow.preprocess.tiling import tile_starts
from genoflow.progress import Progress
from genoflow.registry import SEQUENCE_BASELINES


def predict_fasta(
    checkpoint: str | Path,
    inputs: list[str | Path | FastaInput | SeqioInput | RegionInput],
    out: str | Path,
    batch_size: int = 256,
) -> dict[str, int]:
    """Score every record of `inputs` (FASTA files, files in another format Biopython reads, or
    BED regions of a reference) with the
    model in `checkpoint`; write `out`; return the number of rows per status ("ok", or the
    first word of the problem)."""
    score, meta = load_scorer(Path(checkpoint))
    per_residue = meta["task"] == "token_classification"
    columns = (["position"] if per_residue else []) + _value_columns(meta)
    counts: dict[str, int] = {}
    with atomic_path(Path(out)) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["id", "status", *columns])
        progress = Progress("score", unit="rows")
        for batch in _batches(_rows(inputs, meta), batch_size):
            progress.add(len(batch))
            good = [row for row in batch if row[1] == "ok"]
            values = iter(score(*_padded(good, meta["max_length"])) if good else [])
            for row_id, status, _, length in batch:
                kind = status.split(" ", 1)[0]
                counts[kind] = counts.get(kind, 0) + 1
                if status != "ok":
                    writer.writerow([row_id, status, *[""] * len(columns)])
                elif per_residue:  # (width, classes): a row per residue
                    for position, probs in enumerate(next(values)[:length], start=1):
                        writer.writerow([row_id, status, position, *_cells(probs, meta)])
                else:
                    writer.writerow([row_id, status, *_cells(next(values), meta)])
        progress.close()
    return counts


def _padded(rows: list, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(tokens, lengths) of a batch of rows: padded to the model's width, or wider for a
    longer protein of a per-residue model (which takes any length)."""
    lengths = np.array([row[3] for row in rows])
    tokens = np.zeros((len(rows), max(width, int(lengths.max()))), dtype=np.uint8)
    for i, row in enumerate(rows):
        tokens[i, : row[3]] = row[2]
    return tokens, lengths


def load_scorer(path: Path):
    """(score, preprocess metadata) of a model.ckpt: score(uint8 token rows padded to the
    model's width, lengths) -> class probabilities or targets in data units."""
    payload = read_checkpoint(path)
    meta = payload["meta"]
    if meta["task"] == "forecasting":
        raise InputError(path, "predict scores sequence models, not forecasting models")
    if payload["model_type"] in SEQUENCE_BASELINES:
        return _baseline_scorer(payload), meta
    model = sequence_model(payload, path)

    @torch.no_grad()
    def score(tokens: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        out = model(torch.from_numpy(tokens), torch.from_numpy(lengths.astype(np.int64)))
        return _to_data_units(out.float().numpy(), meta)

    return score, meta


def _baseline_scorer(payload: dict):
    """A linear baseline as fitted: its features (k-mers standardised on train, or one-hot
    windows around each residue), then the linear model."""
    meta, state, args = payload["meta"], payload["state_dict"], payload["model_args"]
    letters = get_alphabet(meta["alphabet"]).channels
    coef, intercept = state["coef"].numpy(), state["intercept"].numpy()
    mean, scale = state["feature_mean"].numpy(), state["feature_scale"].numpy()

    def score_residues(tokens: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        x, rows, positions = window_features(tokens, lengths, letters, args["window"])
        out = np.zeros((*tokens.shape, len(intercept)), dtype=np.float64)
        out[rows, positions] = _to_data_units(np.asarray(x @ coef.T) + intercept, meta)
        return out

    if payload["model_type"] == "window_logreg":
        return score_residues

    def score(tokens: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        x = kmer_features(tokens, lengths, letters, args["k"], args["positional"])
        x = x if args["positional"] else (x - mean) / scale
        out = np.asarray(x @ coef.T) + intercept
        if meta["task"] == "classification" and out.shape[1] == 1:
            out = np.hstack([np.zeros_like(out), out])  # binary: the score of the last class
        return _to_data_units(out, meta)

    return score


def _to_data_units(out: np.ndarray, meta: dict) -> np.ndarray:
    """Class probabilities from logits, per-label probabilities (multilabel), or targets in the
    units of the values table."""
    if meta["task"] == "regression":
        return out * np.asarray(meta["target_std"]) + np.asarray(meta["target_mean"])
    if meta["task"] == "multilabel":
        return 1 / (1 + np.exp(-out))
    shifted = np.exp(out - out.max(axis=-1, keepdims=True))  # over classes (the last axis)
    return shifted / shifted.sum(axis=-1, keepdims=True)


def _value_columns(meta: dict) -> list[str]:
    if meta["task"] == "regression":
        return [f"pred_{target}" for target in meta["targets"]]
    names = meta["targets"] if meta["task"] == "multilabel" else meta["classes"]
    return ["predicted", *(f"prob_{c}" for c in names)]


def _cells(values: np.ndarray, meta: dict) -> list[str]:
    numbers = [f"{v:.6g}" for v in values]
    if meta["task"] == "regression":
        return numbers
    if meta["task"] == "multilabel":
        called = [name for name, p in zip(meta["targets"], values, strict=True) if p >= 0.5]
        return [",".join(called), *numbers]
    return [meta["classes"][int(values.argmax())], *numbers]


def _rows(inputs, meta: dict) -> Iterator[tuple[str, str, np.ndarray | None, int]]:
    """(id, status, tokens or None, length) per row the model would see: a record, or with
    tiling each window of it."""
    alphabet = get_alphabet(meta["alphabet"])
    lookup, width, tile = alphabet.encode_table(), meta["max_length"], meta.get("tile")
    for source in inputs:
        for record in _records(source):
            sequence = record.sequence.upper()
            if alphabet.name == "protein" and sequence.endswith(b"*"):
                sequence = sequence[:-1]  # a stop codon mark, as at ingest
            any_length = meta["task"] == "token_classification"
            problem = _problem(
                sequence, lookup, alphabet.name, width, meta["trim"], tile, any_length
            )
            if problem:
                yield record.id, problem, None, 0
                continue
            if len(sequence) <= width or any_length:
                spans = [(record.id, sequence)]
            elif tile is None:
                spans = [(record.id, trim_to(sequence, width, meta["trim"]))]
            else:
                starts = tile_starts(len(sequence), width, tile["stride"]).tolist()
                spans = (
                    (f"{record.id}:{s + 1}-{s + width}", sequence[s : s + width]) for s in starts
                )
            for row_id, piece in spans:
                yield row_id, "ok", lookup[np.frombuffer(piece, dtype=np.uint8)], len(piece)


def _records(source: str | Path | FastaInput | SeqioInput | RegionInput) -> Iterator[FastaRecord]:
    if isinstance(source, RegionInput | SeqioInput):
        return (record for record, _, _ in source.records())
    path = source.path if isinstance(source, FastaInput) else source
    return read_fasta(path, allow_empty=True)  # an empty record is reported in its status


def _problem(
    sequence: bytes, lookup, alphabet: str, width: int, trim: str, tile, any_length: bool
) -> str | None:
    """Why the model cannot take this record, or None."""
    if not sequence:
        return "empty sequence"
    bad = np.flatnonzero(lookup[np.frombuffer(sequence, dtype=np.uint8)] == 255)
    if len(bad):
        letter, position = chr(sequence[bad[0]]), int(bad[0]) + 1
        return f"character {letter!r} at position {position} is not in the {alphabet} alphabet"
    if tile is None and len(sequence) > width and trim == "error" and not any_length:
        return (
            f"length {len(sequence)} exceeds the model's {width} (it was trained with trim=error)"
        )
    return None


def _batches(rows, size: int) -> Iterator[list]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
