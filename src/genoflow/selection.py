"""What the models of a dataset are ranked and selected by: a score on the validation split,
never the test split (`evaluate: {select_by: ...}`).

`val_loss` (the default): the validation loss of the weights a run kept (train.json
`best_val_loss`). `calibrated_val_loss`: for classifiers (of sequences, or per residue over
the labelled validation residues), the cross-entropy of the run's validation probabilities
(val_predictions.tsv) after dividing its log-probabilities by the one temperature that
minimises it (temperature scaling, Guo et al. 2017); other tasks (multilabel too) keep
`val_loss`. Why: smoothed targets (`label_smoothing`) make a model under-confident by design,
and averaged weights change its confidence too, so the raw loss ranks such a model below one
trained on hard targets (the k-mer baseline) for a scale that one division undoes. A temperature
keeps every prediction's class, so it moves no test metric but the log-loss; it is used for the
ranking only, and the probabilities stay as the models wrote them. One parameter fitted on the
hundreds of validation records it is scored on flatters every model by about the same, tiny
amount.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.optimize import minimize_scalar

from genoflow.errors import InputError
from genoflow.formats.predictions import VAL_PREDICTIONS, read_predictions, table_task
from genoflow.registry import SELECTION_CRITERIA

# Temperatures searched (on a log scale): far wider than label smoothing or averaging move them
LOG_T_BOUNDS = (np.log(0.02), np.log(50.0))


def balanced_weights(counts: np.ndarray) -> list[float]:
    """class_weights: balanced: each class weighed by its inverse frequency in train, n / (k n_c)
    (sklearn's and the usual definition), from the training counts of the k classes."""
    counts = np.asarray(counts, dtype=np.float64)
    return (counts.sum() / (len(counts) * np.maximum(counts, 1))).tolist()


def balanced_positive_weights(truth: np.ndarray) -> list[float]:
    """class_weights: balanced for several 0/1 labels: per label, its negatives / positives in
    train (torch's pos_weight), from the (records, labels) training truth."""
    positives = np.asarray(truth).sum(axis=0)
    return ((len(truth) - positives) / np.maximum(positives, 1)).tolist()


def cross_entropy(y: np.ndarray, probs: np.ndarray, weights: list[float] | None = None) -> float:
    """Mean negative log-probability of the true class (the validation loss of a classifier).
    With class `weights` (class_weights: balanced), the weighted mean, as torch's
    cross_entropy(weight=...) takes it: sum of w[y] * loss over the sum of w[y]."""
    losses = -np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0))
    if weights is None:
        return float(np.mean(losses))
    w = np.asarray(weights, dtype=np.float64)[y]
    return float(np.sum(w * losses) / np.sum(w))


def binary_cross_entropy(
    truth: np.ndarray, probs: np.ndarray, positive_weights: list[float] | None = None
) -> float:
    """Mean binary cross-entropy over records and labels (a multilabel model's validation loss);
    `positive_weights` scale each label's positive term, as torch's pos_weight does."""
    p = np.clip(probs, 1e-12, 1 - 1e-12)
    scale = 1.0 if positive_weights is None else np.asarray(positive_weights, dtype=np.float64)
    return float(-np.mean(scale * truth * np.log(p) + (1 - truth) * np.log(1 - p)))


def standardised_squared_error(
    truth: np.ndarray, predicted: np.ndarray, target_std: list[float]
) -> float:
    """Mean squared error over records and targets, each target divided by its training sd (a
    regression model's validation loss: it is trained on targets standardised so)."""
    std = np.asarray(target_std, dtype=np.float64)
    return float(np.mean(((predicted - truth) / std) ** 2))


def calibrated_cross_entropy(y: np.ndarray, probs: np.ndarray) -> tuple[float, float]:
    """(cross-entropy after the best temperature, that temperature T): softmax(log p / T)."""
    logp = np.log(np.clip(probs, 1e-12, 1.0))

    def loss(log_t: float) -> float:
        z = logp / np.exp(log_t)
        z -= z.max(axis=1, keepdims=True)
        log_q = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-np.mean(log_q[np.arange(len(y)), y]))

    best = minimize_scalar(loss, bounds=LOG_T_BOUNDS, method="bounded", options={"xatol": 1e-6})
    untouched = loss(0.0)  # T = 1: never report worse than the probabilities as they are
    return (float(best.fun), float(np.exp(best.x))) if best.fun < untouched else (untouched, 1.0)


def check_criterion(criterion: str) -> str:
    """`criterion` if it is one of SELECTION_CRITERIA; else an InputError naming them."""
    if criterion not in SELECTION_CRITERIA:
        raise InputError(None, f"select_by {criterion!r}: expected one of {SELECTION_CRITERIA}")
    return criterion


def validation_score(run: str | Path, info: dict, criterion: str = "val_loss") -> float | None:
    """A run's validation score under `criterion` (lower is better; None: the run has none).
    `info` is its train.json. `calibrated_val_loss` scores a run with validation predictions
    (a classifier's) by `calibrated_cross_entropy`; a run without them keeps its val_loss."""
    path = Path(run) / VAL_PREDICTIONS
    calibrated = check_criterion(criterion) == "calibrated_val_loss" and path.is_file()
    if calibrated and table_task(path) in ("classification", "token_classification"):
        _, _, y, probs = read_predictions(path, labelled_only=True)  # (residues: the labelled)
        return calibrated_cross_entropy(y, probs)[0]
    value = info.get("best_val_loss")
    return None if value is None else float(value)


def score_of(
    criterion: str, weights: list[float] | None = None
) -> Callable[[np.ndarray, np.ndarray], float]:
    """The function of (y, probabilities) that `criterion` ranks mean probabilities by: the
    cross-entropy (with the models' class `weights`, as their val_loss), or its calibrated form
    (unweighted, as `validation_score` scores each model under it)."""
    if check_criterion(criterion) == "calibrated_val_loss":
        return lambda y, probs: calibrated_cross_entropy(y, probs)[0]
    return lambda y, probs: cross_entropy(y, probs, weights)
