"""Non-neural baselines, trained and scored on the same split as the neural models: k-mer
logistic regression (classification; multilabel: one per label), k-mer ridge regression
(regression), and for per-residue labels a windowed logistic regression (the residues within
`window` positions either side of each residue, one-hot: the classic pre-deep-learning
secondary-structure predictor, without evolutionary profiles).

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
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import log_loss

from genoflow.alphabets import get_alphabet
from genoflow.errors import InputError
from genoflow.evaluate.features import kmer_features, window_features
from genoflow.formats.arrays import class_counts, load_arrays, read_ids
from genoflow.formats.checkpoint import write_model
from genoflow.formats.files import read_meta, write_json
from genoflow.formats.predictions import (
    VAL_PREDICTIONS,
    write_history,
    write_multilabel_predictions,
    write_predictions,
    write_regression_predictions,
    write_residue_predictions,
)
from genoflow.registry import NO_LABEL, SPLIT_CODES
from genoflow.selection import (
    balanced_positive_weights,
    balanced_weights,
    binary_cross_entropy,
)

C_GRID = (0.01, 0.1, 1.0, 10.0)  # LogisticRegression C (inverse penalty)
ALPHA_GRID = (0.1, 1.0, 10.0, 100.0, 1000.0)  # Ridge penalty
MAX_FIT_ROWS = 200_000  # per split: beyond it, a random subset
PREDICT_ROWS = 50_000  # test rows featurised at a time


def train_kmer_baseline(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    model_name: str,
    model_type: str = "kmer_logreg",
    k: int = 4,
    positional: bool = False,
    seed: int = 0,
    class_weights: str = "none",
) -> dict:
    """kmer_logreg (classification, multilabel) or kmer_ridge (regression): fit on train,
    choose the penalty on val, predict test; the same output files as a neural model.
    `class_weights: balanced` (the dataset's train option) weighs the fit and the validation
    loss by class as the neural models' loss is (selection.balanced_weights)."""
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    meta = read_meta(data_dir)
    multilabel = meta["task"] == "multilabel"
    expected = "kmer_ridge" if meta["task"] == "regression" else "kmer_logreg"
    if model_type != expected or meta["task"] not in ("classification", "regression", "multilabel"):
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
    target = arrays["targets"] if multilabel or model_type == "kmer_ridge" else arrays["labels"]
    weights = _loss_weights(arrays, meta, class_weights)
    if model_type == "kmer_ridge":
        history, model = _fit_ridge(x_train, target[train], x_val, target[val], seed, started)
    else:
        fit = _fit_multilabel if multilabel else _fit_logreg
        history, model = fit(x_train, target[train], x_val, target[val], seed, started, weights)
    (out_dir / VAL_PREDICTIONS).unlink(missing_ok=True)
    if meta["task"] == "classification":  # scored on validation like the networks' (selection)
        val_ids, val_labels = read_ids(data_dir, val), arrays["labels"][val]
        val_probs = model.predict_proba(x_val)
        write_predictions(
            out_dir / VAL_PREDICTIONS, val_ids, val_labels, val_probs, meta["classes"]
        )
    del x_train, x_val
    predict = model.predict if model_type == "kmer_ridge" else model.predict_proba
    predicted = []
    for start in range(0, len(test), PREDICT_ROWS):
        x = features(test[start : start + PREDICT_ROWS])
        predicted.append(predict(x if positional else (x - mean) / scale))
    predicted = np.concatenate(predicted).reshape(len(test), -1)
    ids = read_ids(data_dir, test)
    if multilabel:
        write_multilabel_predictions(
            out_dir / "predictions.tsv", ids, arrays["targets"][test], predicted, meta["targets"]
        )
    elif model_type == "kmer_logreg":
        labels = arrays["labels"][test]
        write_predictions(out_dir / "predictions.tsv", ids, labels, predicted, meta["classes"])
    else:
        mean_y, std_y = np.array(meta["target_mean"]), np.array(meta["target_std"])
        truth = arrays["targets"][test] * std_y + mean_y
        write_regression_predictions(
            out_dir / "predictions.tsv", ids, truth, predicted * std_y + mean_y, meta["targets"]
        )
    chosen = {"k": k, "positional": positional}
    return _finish(
        out_dir,
        model_name,
        model_type,
        meta,
        model,
        mean=mean,
        scale=scale,
        history=history,
        chosen=chosen,
        seed=seed,
        started=started,
        fit_rows={"train": len(train), "val": len(val)},
        loss_weights=weights,
    )


def _finish(
    out_dir,
    model_name,
    model_type,
    meta,
    model,
    *,
    mean,
    scale,
    history,
    chosen,
    seed,
    started,
    fit_rows,
    loss_weights=None,
) -> dict:
    """Write history.csv, model.ckpt (the fitted linear model, plain tensors) and train.json."""
    write_history(out_dir / "history.csv", history)
    best = min(history, key=lambda row: row["val_loss"])
    chosen = {**chosen, "penalty": best["lr"]}
    state = {
        "coef": torch.from_numpy(np.atleast_2d(model.coef_).astype(np.float32)),
        "intercept": torch.from_numpy(np.atleast_1d(model.intercept_).astype(np.float32)),
        "feature_mean": torch.from_numpy(np.asarray(mean, dtype=np.float32)),
        "feature_scale": torch.from_numpy(np.asarray(scale, dtype=np.float32)),
    }
    write_model(
        out_dir / "model.ckpt",
        task=meta["task"],
        model_type=model_type,
        model_args=chosen,
        meta=meta,
        state_dict=state,
    )
    info = {
        "model": model_name,
        "type": model_type,
        "seed": seed,
        "params": int(np.size(model.coef_) + np.size(model.intercept_)),
        "train_seconds": round(time.perf_counter() - started, 2),
        "epochs": len(history),
        "fit_rows": fit_rows,
        "best_epoch": int(best["epoch"]),
        "best_val_loss": best["val_loss"],
        "loss_weights": loss_weights,  # (as a neural run's train.json: class_weights)
        "model_args": chosen,
    }
    write_json(out_dir / "train.json", info)
    return info


def train_window_baseline(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    model_name: str,
    window: int = 7,
    seed: int = 0,
    class_weights: str = "none",
) -> dict:
    """window_logreg (per-residue labels): logistic regression on the one-hot residues within
    `window` of each residue; penalty chosen on val; fitted on at most MAX_FIT_ROWS labelled
    residues per split."""
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    meta = read_meta(data_dir)
    if meta["task"] != "token_classification":
        raise InputError(None, f"window_logreg labels residues; it does not fit {meta['task']}")
    arrays = load_arrays(data_dir)
    letters = get_alphabet(meta["alphabet"]).channels
    started, rng = time.perf_counter(), np.random.default_rng(seed)
    split = arrays["split"]

    def residues(split_name: str, limit: int | None = None):
        """Features and labels of a split's residues (labelled ones only, if `limit`)."""
        rows = np.flatnonzero(split == SPLIT_CODES[split_name])
        x, at, positions = window_features(
            arrays["tokens"][rows], arrays["lengths"][rows], letters, window
        )
        labels = np.asarray(arrays["residue_labels"][rows])[at, positions]
        if limit is None:
            return x, labels, rows[at], positions
        keep = _at_most(np.flatnonzero(labels != NO_LABEL), limit, rng)
        return x[keep], labels[keep]

    x_train, y_train = residues("train", MAX_FIT_ROWS)
    x_val, y_val = residues("val", MAX_FIT_ROWS)
    absent = sorted(set(range(len(meta["classes"]))) - set(np.unique(y_train).tolist()))
    if absent:
        names = [meta["classes"][k] for k in absent]
        raise InputError(data_dir / "meta.json", f"class(es) {names} have no training residues")
    weights = _loss_weights(arrays, meta, class_weights)
    history, model = _fit_logreg(x_train, y_train, x_val, y_val, seed, started, weights)
    x_test, labels, test_rows, positions = residues("test")
    probs = model.predict_proba(x_test)
    ids = read_ids(data_dir, test_rows)
    write_residue_predictions(
        out_dir / "predictions.tsv", ids, positions, labels, probs, meta["classes"]
    )
    zeros = np.zeros(x_train.shape[1], np.float32)
    return _finish(
        out_dir,
        model_name,
        "window_logreg",
        meta,
        model,
        mean=zeros,
        scale=zeros + 1,
        history=history,
        chosen={"window": window},
        seed=seed,
        started=started,
        fit_rows={"train": len(y_train), "val": len(y_val)},
        loss_weights=weights,
    )


def _loss_weights(arrays: dict, meta: dict, policy: str) -> list[float] | None:
    """The class (multilabel: positive-label) weights of `class_weights: balanced`, from every
    training record (or labelled residue), as the neural models take them; None for none."""
    if policy not in ("none", "balanced"):
        raise InputError(None, f"class_weights {policy!r} not in none/balanced")
    if policy == "none":
        return None
    train = np.flatnonzero(arrays["split"] == SPLIT_CODES["train"])
    if meta["task"] == "multilabel":
        return balanced_positive_weights(arrays["targets"][train])
    return balanced_weights(class_counts(arrays, train, len(meta["classes"])))


def _at_most(rows: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    """`rows`, or a sorted random subset of `limit` of them."""
    return rows if len(rows) <= limit else np.sort(rng.choice(rows, limit, replace=False))


def _fit_logreg(x_train, y_train, x_val, y_val, seed, started, weights=None):
    """One LogisticRegression per C; history rows; the model with the lowest val log-loss.
    Class `weights` weigh the fit and both losses (as the neural models' cross-entropy)."""
    classes = np.unique(np.concatenate([y_train, y_val]))
    by_class = None if weights is None else {int(k): weights[k] for k in np.unique(y_train)}
    w = np.asarray(weights if weights is not None else np.ones(classes.max() + 1), np.float64)
    history, models = [], []
    for step, c in enumerate(C_GRID):
        model = LogisticRegression(C=c, max_iter=2000, random_state=seed, class_weight=by_class)
        model.fit(x_train, y_train)
        history.append(
            {
                "epoch": step,
                "seconds": round(time.perf_counter() - started, 3),
                "train_loss": log_loss(
                    y_train, model.predict_proba(x_train), labels=classes, sample_weight=w[y_train]
                ),
                "train_accuracy": model.score(x_train, y_train),
                "val_loss": log_loss(
                    y_val, model.predict_proba(x_val), labels=classes, sample_weight=w[y_val]
                ),
                "val_accuracy": model.score(x_val, y_val),
                "lr": c,  # here: the regularisation strength C of this candidate
            }
        )
        models.append(model)
    return history, models[int(np.argmin([row["val_loss"] for row in history]))]


class _PerLabel:
    """Independent logistic regressions, one per label (multilabel), as one linear model."""

    def __init__(self, models: list) -> None:
        self.coef_ = np.vstack([m.coef_ for m in models])
        self.intercept_ = np.concatenate([m.intercept_ for m in models])

    def predict_proba(self, x) -> np.ndarray:
        return 1 / (1 + np.exp(-(np.asarray(x @ self.coef_.T) + self.intercept_)))


class _Constant:
    """A label that is all 0 or all 1 in train: predicted with that rate (clipped)."""

    def __init__(self, features: int, rate: float) -> None:
        rate = min(max(rate, 1e-4), 1 - 1e-4)
        self.coef_ = np.zeros((1, features))
        self.intercept_ = np.array([np.log(rate / (1 - rate))])


def _fit_multilabel(x_train, y_train, x_val, y_val, seed, started, positive_weights=None):
    """Per C: one LogisticRegression per label; the C with the lowest mean val log-loss.
    `positive_weights` weigh each label's positives (as the neural models' pos_weight)."""
    weights = positive_weights or [1.0] * y_train.shape[1]
    history, models = [], []
    for step, c in enumerate(C_GRID):
        per_label = []
        for t, weight in zip(y_train.T, weights, strict=True):
            if 0 < t.sum() < len(t):
                per_label.append(
                    LogisticRegression(
                        C=c, max_iter=2000, random_state=seed, class_weight={0: 1.0, 1: weight}
                    )
                )
                per_label[-1].fit(x_train, t)
            else:
                per_label.append(_Constant(x_train.shape[1], float(t.mean())))
        model = _PerLabel(per_label)
        history.append(
            {
                "epoch": step,
                "seconds": round(time.perf_counter() - started, 3),
                "train_loss": binary_cross_entropy(
                    y_train, model.predict_proba(x_train), positive_weights
                ),
                "val_loss": binary_cross_entropy(
                    y_val, model.predict_proba(x_val), positive_weights
                ),
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
