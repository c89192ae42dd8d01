"""Interpret: why a trained classifier decides, on its test records.

Three views, each per record and position:
  in-silico mutagenesis (ISM)  every position set to every other letter, all mutants scored in
                               batches; the change in log-probability of the record's class
  saliency                     gradient × input on the one-hot rows (one backward pass)
  attention                    Transformer only: attention weights, mean over heads and layers

A position's ISM importance is the largest |change| over its alternative letters. Per class the
records the model gets right are averaged into a logo matrix: at each position, the reference
letter's height is minus the mean ISM change of mutating it away (high = the letter matters).
That aggregate is meaningful where positions align across records (fixed-length windows such as
splice sites); with varied lengths only the per-record maps are drawn.

Outputs (in `out_dir`): records.tsv (index, id, label, predicted, length), ism.npy
(records × width × letters, float32, nan beyond each length), saliency.npy (records × width),
attention.npy (records × width: attention each position receives; Transformer only), and
summary.json (model, the class scored, the logo matrices per class, the most important position
of each record).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from genoflow.alphabets import get_alphabet
from genoflow.errors import InputError
from genoflow.formats.arrays import load_arrays, read_ids
from genoflow.formats.checkpoint import read_checkpoint
from genoflow.formats.files import atomic_path, read_json, read_meta, write_json
from genoflow.models.build import sequence_model
from genoflow.models.stem import pooled_lengths
from genoflow.progress import Progress
from genoflow.registry import NEURAL_TYPES, SPLIT_CODES
from genoflow.selection import validation_score

MUTANT_BUDGET = 400_000  # mutant sequences scored per interpretation, at most (roughly)
MIN_RECORDS = 10


def ism_scores(
    model,
    tokens: np.ndarray,
    lengths: np.ndarray,
    classes: np.ndarray,
    letters: int,
    batch_size: int = 4096,
) -> np.ndarray:
    """(records, width, letters): change in log-probability of class `classes[i]` when
    position j of record i is set to letter k (0 at the reference letter; nan past the end)."""
    records, width = tokens.shape
    out = np.full((records, width, letters), np.nan, dtype=np.float32)
    with torch.no_grad():
        reference = _log_probs(model, tokens, lengths)[np.arange(records), classes]
        progress = Progress("in-silico mutagenesis", total_items=records)
        for i in range(records):
            length = int(lengths[i])
            mutants = np.repeat(tokens[i : i + 1, :length], length * letters, axis=0)
            rows = np.arange(length * letters)
            mutants[rows, rows // letters] = rows % letters + 1  # token = letter index + 1
            scores = []
            for start in range(0, len(mutants), batch_size):
                chunk = mutants[start : start + batch_size]
                chunk_lengths = np.full(len(chunk), length)
                scores.append(_log_probs(model, chunk, chunk_lengths)[:, classes[i]])
            change = np.concatenate(scores).reshape(length, letters) - reference[i]
            letter = tokens[i, :length].astype(np.int64) - 1
            known = letter < letters  # an ambiguity code is no letter: every entry a change
            change[np.flatnonzero(known), letter[known]] = 0.0
            out[i, :length] = change
            progress.add(1)
        progress.close()
    return out


def saliency_scores(model, tokens: np.ndarray, lengths: np.ndarray, classes: np.ndarray):
    """(records, width): gradient × input of the class log-probability, summed over letters."""
    x = model.embed(torch.from_numpy(tokens)).detach().requires_grad_(True)
    lengths_t = torch.from_numpy(lengths.astype(np.int64))
    log_probs = model.forward_features(x, lengths_t).float().log_softmax(dim=1)
    log_probs[torch.arange(len(tokens)), torch.from_numpy(classes)].sum().backward()
    scores = (x.grad * x).sum(dim=2).detach().numpy()
    scores[np.arange(tokens.shape[1]) >= lengths[:, None]] = np.nan
    return scores


def attention_received(model, tokens: np.ndarray, lengths: np.ndarray) -> np.ndarray | None:
    """(records, width): attention each position receives (mean over heads, layers and the
    attending positions); None for models without attention."""
    backbone = model.backbone
    if not hasattr(backbone, "attention_maps"):
        return None
    x = model.embed(torch.from_numpy(tokens))
    steps = torch.from_numpy(lengths.astype(np.int64))
    pool = 1
    if model.stem is not None:  # attention over the stem's pooled positions
        with torch.no_grad():
            x = model.stem(x, steps)
        pool, steps = model.stem.pool, pooled_lengths(steps, model.stem.pool)
    maps = backbone.attention_maps(x, steps)
    mean = maps.mean(dim=(0, 2))  # (records, query, key)
    inside = torch.arange(x.shape[1]) < steps[:, None]
    received = (mean * inside[:, :, None]).sum(dim=1) / steps[:, None]
    # back to letters: each pooled position's attention on the `pool` letters it covers
    out = np.repeat(received.numpy().astype(np.float32), pool, axis=1)[:, : tokens.shape[1]]
    out[np.arange(tokens.shape[1]) >= lengths[:, None]] = np.nan
    return out


def logo_matrix(ism: np.ndarray, tokens: np.ndarray, letters: int) -> np.ndarray:
    """(width, letters) mean over records of each reference letter's importance: minus the
    mean ISM change of mutating it away (positions past a record's end, and ambiguity codes,
    count as absent)."""
    records, width, _ = ism.shape
    matrix = np.zeros((width, letters))
    counts = np.zeros(width)
    letter = tokens.astype(np.int64) - 1
    known = (letter >= 0) & (letter < letters) & ~np.isnan(ism[:, :, 0])
    effect = -np.nansum(ism, axis=2) / max(letters - 1, 1)  # the reference entry is 0
    rows, positions = np.nonzero(known)
    np.add.at(matrix, (positions, letter[rows, positions]), effect[rows, positions])
    np.add.at(counts, positions, 1)
    return matrix / np.maximum(counts, 1)[:, None]


def interpret(
    run_dir: str | Path,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    max_records: int = 300,
    seed: int = 0,
) -> dict:
    """ISM, saliency and (Transformer) attention for up to `max_records` test records of a
    trained classifier's run (fewer for long sequences: see MUTANT_BUDGET); write the arrays
    and summary.json; return the summary."""
    run_dir, data_dir, out_dir = Path(run_dir), Path(data_dir), Path(out_dir)
    meta = read_meta(data_dir)
    if meta["task"] != "classification":
        raise InputError(
            data_dir / "meta.json", f"interpret explains classifiers, not {meta['task']}"
        )
    payload = read_checkpoint(run_dir / "model.ckpt")
    model = sequence_model(payload, run_dir / "model.ckpt")
    arrays = load_arrays(data_dir)
    test = np.flatnonzero(arrays["split"] == SPLIT_CODES["test"])
    letters = get_alphabet(meta["alphabet"]).channels
    # Long sequences: fewer records, so that all their mutants stay within MUTANT_BUDGET.
    mutants_each = float(arrays["lengths"][test].mean()) * letters if len(test) else 1.0
    max_records = min(max_records, max(MIN_RECORDS, int(MUTANT_BUDGET // mutants_each)))
    if len(test) > max_records:  # a fixed random subset, in row order
        test = np.sort(np.random.default_rng(seed).choice(test, max_records, replace=False))
    tokens, lengths = np.asarray(arrays["tokens"][test]), arrays["lengths"][test]
    tokens = tokens[:, : int(lengths.max())]
    labels = arrays["labels"][test]
    with torch.no_grad():
        predicted = _log_probs(model, tokens, lengths).argmax(axis=1)
    # Explain the class the model predicts: for a correct record that is its label.
    ism = ism_scores(model, tokens, lengths, predicted, letters)
    saliency = saliency_scores(model, tokens, lengths, predicted)
    with torch.no_grad():
        attention = attention_received(model, tokens, lengths)
    importance = np.nanmax(np.abs(ism), axis=2)
    classes = meta["classes"]
    correct = predicted == labels
    fixed = bool((lengths == lengths[0]).all())
    summary = {
        "model": read_json(run_dir / "train.json")["model"],
        "model_type": payload["model_type"],
        "alphabet": meta["alphabet"],
        "letters": get_alphabet(meta["alphabet"]).letters,
        "classes": classes,
        "records": len(test),
        "correct": int(correct.sum()),
        "scored_class": "predicted",
        "fixed_length": fixed,
        "logos": {
            name: logo_matrix(
                ism[correct & (labels == k)], tokens[correct & (labels == k)], letters
            )
            .round(5)
            .tolist()
            for k, name in enumerate(classes)
            if fixed and (correct & (labels == k)).any()
        },
        "top_position": (np.nanargmax(importance, axis=1) + 1).tolist(),  # 1-based
        "methods": ["ism", "saliency"] + (["attention"] if attention is not None else []),
    }
    ids = read_ids(data_dir, test)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "records.tsv") as tmp, open(tmp, "w") as out:
        out.write("index\tid\tlabel\tpredicted\tlength\n")
        for row, record_id, label, guess, length in zip(
            test.tolist(), ids, labels.tolist(), predicted.tolist(), lengths.tolist(), strict=True
        ):
            out.write(f"{row}\t{record_id}\t{classes[label]}\t{classes[guess]}\t{length}\n")
    for name, array in (("ism", ism), ("saliency", saliency), ("attention", attention)):
        if array is not None:
            with atomic_path(out_dir / f"{name}.npy") as tmp, open(tmp, "wb") as handle:
                np.save(handle, array)  # to a handle: np.save would add ".npy" to a path
    write_json(out_dir / "summary.json", summary)  # last: its presence means complete
    return summary


def best_run(run_dirs: list[Path], criterion: str = "val_loss") -> Path:
    """The neural run with the best validation score (`genoflow/selection.py` under
    `criterion`, lowest, or else its `best_val_accuracy`, highest): chosen without looking at
    the test split."""
    scored = []
    for run in map(Path, run_dirs):
        info = read_json(run / "train.json")
        if info.get("type") not in NEURAL_TYPES:
            continue  # the baselines have no gradient, attention or batched scoring here
        score = validation_score(run, info, criterion)
        if score is not None:
            scored.append((score, str(run)))
        elif "best_val_accuracy" in info:
            scored.append((-float(info["best_val_accuracy"]), str(run)))
    if not scored:
        raise InputError(None, "no neural model run among the runs to interpret")
    return Path(min(scored)[1])


def _log_probs(model, tokens: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    logits = model(torch.from_numpy(tokens), torch.from_numpy(lengths.astype(np.int64)))
    return logits.float().log_softmax(dim=1).numpy()
