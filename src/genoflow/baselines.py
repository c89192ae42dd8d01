"""Non-neural baseline: k-mer logistic regression, trained and scored on the same split.

Features are either the frequencies of every k-mer (k = 1..k_max) over unambiguous positions,
standardised on the training split, or (positional) which k-mer sits at each position. The
regularisation strength C is picked on the validation split; every candidate is one row of
history.csv. It gives every comparison an honest floor.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import torch
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from genoflow.alphabets import get_alphabet
from genoflow.data import SPLIT_CODES
from genoflow.io import atomic_path, read_json, write_json
from genoflow.preprocess import load_arrays, read_ids
from genoflow.train import MODEL_FORMAT, write_predictions

C_GRID = (0.01, 0.1, 1.0, 10.0)


def _kmer_codes(tokens: np.ndarray, lengths: np.ndarray, letters: int, k: int):
    """(codes, ok): the k-mer starting at each position as an integer, and whether it is whole
    and unambiguous (inside the sequence, no ambiguity code)."""
    tokens = np.asarray(tokens, dtype=np.int64) - 1  # 0..letters-1 for unambiguous letters
    valid = (tokens >= 0) & (tokens < letters) & (np.arange(tokens.shape[1]) < lengths[:, None])
    width = max(tokens.shape[1] - k + 1, 0)
    codes = np.zeros((len(tokens), width), dtype=np.int64)
    ok = np.ones_like(codes, dtype=bool)
    for offset in range(k):
        codes = codes * letters + np.clip(tokens[:, offset : offset + width], 0, letters - 1)
        ok &= valid[:, offset : offset + width]
    return codes, ok


def kmer_features(
    tokens: np.ndarray, lengths: np.ndarray, letters: int, k_max: int, positional: bool = False
):
    """k-mer features for k = 1..k_max, skipping k-mers that hold ambiguity codes.

    positional=False: (records, sum of letters**k) dense k-mer frequencies, position-free.
    positional=True: sparse one-hot of the k-mer at every position (fixed-length data, where
    *where* a k-mer sits matters, e.g. splice sites); k = 1 is the classic position weight model.
    """
    blocks = []
    for k in range(1, k_max + 1):
        codes, ok = _kmer_codes(tokens, lengths, letters, k)
        rows = np.broadcast_to(np.arange(len(codes))[:, None], codes.shape)
        if positional:
            columns = np.arange(codes.shape[1]) * letters**k + codes
            shape = (len(codes), codes.shape[1] * letters**k)
            blocks.append(sparse.csr_matrix((np.ones(ok.sum()), (rows[ok], columns[ok])), shape))
        else:
            counts = np.zeros((len(codes), letters**k), dtype=np.float32)
            np.add.at(counts, (rows[ok], codes[ok]), 1.0)
            blocks.append(counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0))
    return sparse.hstack(blocks, format="csr") if positional else np.concatenate(blocks, axis=1)


def train_kmer_logreg(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    model_name: str,
    k: int = 4,
    positional: bool = False,
    seed: int = 0,
) -> dict:
    """Fit on train, choose C on val, predict test; same output files as a neural model."""
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    meta = read_json(data_dir / "meta.json")
    arrays = load_arrays(data_dir)
    letters = get_alphabet(meta["alphabet"]).channels
    started = time.perf_counter()
    x = kmer_features(arrays["tokens"][:], arrays["lengths"], letters, k, positional)
    split, labels = arrays["split"], arrays["labels"]
    train, val, test = (np.flatnonzero(split == SPLIT_CODES[s]) for s in ("train", "val", "test"))
    # Frequencies are standardised on train; positional one-hot stays 0/1 (and sparse).
    mean = np.zeros(x.shape[1], np.float32) if positional else x[train].mean(axis=0)
    scale = np.ones(x.shape[1], np.float32) if positional else x[train].std(axis=0) + 1e-6
    if not positional:
        x = (x - mean) / scale
    classes = np.arange(len(meta["classes"]))
    history, best = [], None
    for step, c in enumerate(C_GRID):
        model = LogisticRegression(C=c, max_iter=2000, random_state=seed).fit(
            x[train], labels[train]
        )
        val_probs = model.predict_proba(x[val])
        row = {
            "epoch": step,
            "seconds": round(time.perf_counter() - started, 3),
            "train_loss": log_loss(labels[train], model.predict_proba(x[train]), labels=classes),
            "train_accuracy": model.score(x[train], labels[train]),
            "val_loss": log_loss(labels[val], val_probs, labels=classes),
            "val_accuracy": model.score(x[val], labels[val]),
            "lr": c,  # here: the regularisation strength C of this candidate
        }
        history.append({k: round(v, 6) if isinstance(v, float) else v for k, v in row.items()})
        if best is None or row["val_loss"] < best[0]["val_loss"]:
            best = (row, model)
    row, model = best
    ids = read_ids(data_dir)
    write_predictions(
        out_dir / "predictions.tsv",
        [ids[i] for i in test],
        labels[test],
        model.predict_proba(x[test]),
        meta["classes"],
    )
    with atomic_path(out_dir / "history.csv") as tmp, open(tmp, "w", newline="") as out:
        writer = csv.DictWriter(out, list(history[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(history)
    payload = {
        "format": MODEL_FORMAT,
        "task": meta["task"],
        "model_type": "kmer_logreg",
        "model_args": {"k": k, "positional": positional, "C": row["lr"]},
        "alphabet": meta["alphabet"],
        "classes": meta["classes"],
        "max_length": meta["max_length"],
        "trim": meta["trim"],
        "state_dict": {
            "coef": torch.from_numpy(model.coef_.astype(np.float32)),
            "intercept": torch.from_numpy(model.intercept_.astype(np.float32)),
            "feature_mean": torch.from_numpy(np.asarray(mean, dtype=np.float32)),
            "feature_scale": torch.from_numpy(np.asarray(scale, dtype=np.float32)),
        },
    }
    with atomic_path(out_dir / "model.ckpt") as tmp:
        torch.save(payload, tmp)
    info = {
        "model": model_name,
        "type": "kmer_logreg",
        "seed": seed,
        "params": int(model.coef_.size + model.intercept_.size),
        "train_seconds": round(time.perf_counter() - started, 2),
        "epochs": len(history),
        "best_epoch": int(row["epoch"]),
        "best_val_loss": row["val_loss"],
        "model_args": {"k": k, "positional": positional, "C": row["lr"]},
    }
    write_json(out_dir / "train.json", info)
    return info
