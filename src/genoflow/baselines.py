"""Non-neural baselines: k-mer logistic regression (classification) and k-mer ridge regression
(regression), trained and scored on the same split as the neural models.

Features are either the frequencies of every k-mer (k = 1..k_max) over unambiguous positions,
standardised on the training split, or (positional) which k-mer sits at each position. The
regularisation strength C is picked on the validation split; every candidate is one row of
history.csv. It gives every comparison an honest floor.

Memory stays bounded on genome-scale data: a baseline is fitted on at most `MAX_FIT_ROWS`
training (and validation) rows, a random subset beyond that, and predicts the test split a
chunk at a time; only the rows used are read from the memory-mapped tokens.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from scipy import sparse
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import log_loss

from genoflow.alphabets import get_alphabet
from genoflow.data import SPLIT_CODES
from genoflow.errors import InputError
from genoflow.io import atomic_path, read_json, write_history, write_json
from genoflow.preprocess import load_arrays, read_ids
from genoflow.train import MODEL_FORMAT, write_predictions, write_regression_predictions

C_GRID = (0.01, 0.1, 1.0, 10.0)  # LogisticRegression C (inverse penalty)
ALPHA_GRID = (0.1, 1.0, 10.0, 100.0, 1000.0)  # Ridge penalty
MAX_FIT_ROWS = 200_000  # per split: beyond it, a random subset
PREDICT_ROWS = 50_000  # test rows featurised at a time


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


def train_kmer_baseline(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    model_name: str,
    model_type: str = "kmer_logreg",
    k: int = 4,
    positional: bool = False,
    seed: int = 0,
) -> dict:
    """kmer_logreg (classification) or kmer_ridge (regression): fit on train, choose the
    penalty on val, predict test; the same output files as a neural model."""
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    meta = read_json(data_dir / "meta.json")
    expected = "kmer_logreg" if meta["task"] == "classification" else "kmer_ridge"
    if model_type != expected:
        raise InputError(None, f"{model_type} does not fit a {meta['task']} task; use {expected}")
    arrays = load_arrays(data_dir)
    letters = get_alphabet(meta["alphabet"]).channels
    started = time.perf_counter()

    def features(rows: np.ndarray):  # sorted rows, read from the memory map
        tokens, lengths = arrays["tokens"][rows], arrays["lengths"][rows]
        return kmer_features(tokens, lengths, letters, k, positional)

    split, rng = arrays["split"], np.random.default_rng(seed)
    train, val, test = (np.flatnonzero(split == SPLIT_CODES[s]) for s in ("train", "val", "test"))
    train, val = (_at_most(rows, MAX_FIT_ROWS, rng) for rows in (train, val))
    x_train, x_val = features(train), features(val)
    # Frequencies are standardised on train; positional one-hot stays 0/1 (and sparse).
    mean = np.zeros(x_train.shape[1], np.float32) if positional else x_train.mean(axis=0)
    scale = np.ones(x_train.shape[1], np.float32) if positional else x_train.std(axis=0) + 1e-6
    if not positional:
        x_train, x_val = (x_train - mean) / scale, (x_val - mean) / scale
    target = arrays["labels"] if model_type == "kmer_logreg" else arrays["targets"]
    fit = _fit_logreg if model_type == "kmer_logreg" else _fit_ridge
    history, model = fit(x_train, target[train], x_val, target[val], seed, started)
    del x_train, x_val
    predict = model.predict_proba if model_type == "kmer_logreg" else model.predict
    predicted = []
    for start in range(0, len(test), PREDICT_ROWS):
        x = features(test[start : start + PREDICT_ROWS])
        predicted.append(predict(x if positional else (x - mean) / scale))
    predicted = np.concatenate(predicted).reshape(len(test), -1)
    ids = read_ids(data_dir, test)
    if model_type == "kmer_logreg":
        labels = arrays["labels"][test]
        write_predictions(out_dir / "predictions.tsv", ids, labels, predicted, meta["classes"])
    else:
        mean_y, std_y = np.array(meta["target_mean"]), np.array(meta["target_std"])
        truth = arrays["targets"][test] * std_y + mean_y
        write_regression_predictions(
            out_dir / "predictions.tsv", ids, truth, predicted * std_y + mean_y, meta["targets"]
        )
    write_history(out_dir / "history.csv", history)
    best = min(history, key=lambda row: row["val_loss"])
    chosen = {"k": k, "positional": positional, "penalty": best["lr"]}
    payload = {
        "format": MODEL_FORMAT,
        "task": meta["task"],
        "model_type": model_type,
        "model_args": chosen,
        "meta": meta,
        "state_dict": {
            "coef": torch.from_numpy(np.atleast_2d(model.coef_).astype(np.float32)),
            "intercept": torch.from_numpy(np.atleast_1d(model.intercept_).astype(np.float32)),
            "feature_mean": torch.from_numpy(np.asarray(mean, dtype=np.float32)),
            "feature_scale": torch.from_numpy(np.asarray(scale, dtype=np.float32)),
        },
    }
    with atomic_path(out_dir / "model.ckpt") as tmp:
        torch.save(payload, tmp)
    info = {
        "model": model_name,
        "type": model_type,
        "seed": seed,
        "params": int(np.size(model.coef_) + np.size(model.intercept_)),
        "train_seconds": round(time.perf_counter() - started, 2),
        "epochs": len(history),
        "fit_rows": {"train": len(train), "val": len(val)},
        "best_epoch": int(best["epoch"]),
        "best_val_loss": best["val_loss"],
        "model_args": chosen,
    }
    write_json(out_dir / "train.json", info)
    return info


def _at_most(rows: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    """`rows`, or a sorted random subset of `limit` of them."""
    return rows if len(rows) <= limit else np.sort(rng.choice(rows, limit, replace=False))


def _fit_logreg(x_train, y_train, x_val, y_val, seed, started):
    """One LogisticRegression per C; history rows; the model with the lowest val log-loss."""
    classes = np.unique(np.concatenate([y_train, y_val]))
    history, models = [], []
    for step, c in enumerate(C_GRID):
        model = LogisticRegression(C=c, max_iter=2000, random_state=seed)
        model.fit(x_train, y_train)
        history.append(
            {
                "epoch": step,
                "seconds": round(time.perf_counter() - started, 3),
                "train_loss": log_loss(y_train, model.predict_proba(x_train), labels=classes),
                "train_accuracy": model.score(x_train, y_train),
                "val_loss": log_loss(y_val, model.predict_proba(x_val), labels=classes),
                "val_accuracy": model.score(x_val, y_val),
                "lr": c,  # here: the regularisation strength C of this candidate
            }
        )
        models.append(model)
    return history, models[int(np.argmin([row["val_loss"] for row in history]))]


def _fit_ridge(x_train, y_train, x_val, y_val, seed, started):
    """One Ridge per alpha on standardised targets; the model with the lowest val MSE."""
    history, models = [], []
    for step, alpha in enumerate(ALPHA_GRID):
        model = Ridge(alpha=alpha, random_state=seed).fit(x_train, y_train)
        history.append(
            {
                "epoch": step,
                "seconds": round(time.perf_counter() - started, 3),
                "train_loss": float(
                    np.mean((model.predict(x_train).reshape(y_train.shape) - y_train) ** 2)
                ),
                "val_loss": float(
                    np.mean((model.predict(x_val).reshape(y_val.shape) - y_val) ** 2)
                ),
                "lr": alpha,  # here: the ridge penalty of this candidate
            }
        )
        models.append(model)
    return history, models[int(np.argmin([row["val_loss"] for row in history]))]
