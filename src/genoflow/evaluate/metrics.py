"""Evaluate: test-split predictions -> metrics.json, with bootstrap 95 % confidence intervals.

Works from predictions.tsv alone, so every model (neural or not) is scored by the same code.
Metric names follow the output contract. Classification: accuracy, balanced_accuracy, auroc,
auprc, f1, mcc (multiclass AUROC/AUPRC one-vs-rest macro averages, F1 macro-averaged).
Per-residue labels (token classification): q3 (per-residue accuracy: Q3 with three states,
Q8 with eight), and per residue the classification metrics; the bootstrap resamples whole
sequences, since residues of one protein are not independent.
Multilabel: per label AUROC and AUPRC, their macro means `auroc` and `auprc`, and micro F1 and
exact-match accuracy at 0.5.
Regression: mse, mae, r2, pearson, spearman (averaged over targets, each also per target).
Forecasting: mse, mae and skill against persistence, overall and per horizon (forecast.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from sklearn import metrics as skm

from genoflow.errors import InputError
from genoflow.formats.files import write_json
from genoflow.formats.predictions import (
    paired_columns,
    predictions_task,
    read_predictions,
    read_regression_predictions,
)
from genoflow.registry import (
    CLASSIFICATION_METRICS,
    LOWER_IS_BETTER,
    METRICS_BY_TASK,
    MULTILABEL_METRICS,
    REGRESSION_METRICS,
)


def classification_metrics(
    y: np.ndarray, probs: np.ndarray, weights: np.ndarray | None = None
) -> dict[str, np.ndarray | float]:
    """The contracted metrics for true class indices `y` and class probabilities `probs`.

    `weights` (replicates x records) scores many weighted copies of the sample at once — the
    bootstrap passes resampling counts — and every metric is then an array over replicates.
    All metrics are computed from weighted confusion matrices and weighted score ranks, so a
    weight vector of ones gives exactly scikit-learn's values (tests/test_metrics.py).
    """
    single = weights is None
    w = np.ones((1, len(y))) if single else np.asarray(weights, dtype=np.float64)
    k = probs.shape[1]
    predicted = probs.argmax(axis=1)
    confusion = (w @ np.eye(k * k)[y * k + predicted]).reshape(-1, k, k)  # [b, true, predicted]
    total = confusion.sum(axis=(1, 2))
    hits = np.trace(confusion, axis1=1, axis2=2)
    true_n, pred_n = confusion.sum(axis=2), confusion.sum(axis=1)
    diagonal = np.diagonal(confusion, axis1=1, axis2=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = diagonal / true_n  # nan for a class absent from the sample
        precision = np.where(pred_n > 0, diagonal / pred_n, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        seen = (true_n + pred_n) > 0
        covariance = hits * total - (pred_n * true_n).sum(axis=1)
        spread = np.sqrt(
            (total**2 - (pred_n**2).sum(axis=1)) * (total**2 - (true_n**2).sum(axis=1))
        )
        result = {
            "accuracy": hits / total,
            "balanced_accuracy": np.nanmean(recall, axis=1),
            "f1": f1[:, 1] if k == 2 else (f1 * seen).sum(axis=1) / seen.sum(axis=1),
            "mcc": np.where(spread > 0, covariance / np.where(spread > 0, spread, 1), 0.0),
        }
    positive_classes = [1] if k == 2 else range(k)
    aurocs = [_weighted_auroc(probs[:, c], y == c, w) for c in positive_classes]
    auprcs = [_weighted_average_precision(probs[:, c], y == c, w) for c in positive_classes]
    result["auroc"] = np.nanmean(np.stack(aurocs), axis=0)
    result["auprc"] = np.nanmean(np.stack(auprcs), axis=0)
    if single:
        return {name: float(result[name][0]) for name in CLASSIFICATION_METRICS}
    return {name: result[name] for name in CLASSIFICATION_METRICS}


def _score_groups(scores: np.ndarray, positive: np.ndarray, w: np.ndarray, descending: bool):
    """Weighted positive / negative mass per distinct score, in score order."""
    order = np.argsort(-scores if descending else scores, kind="stable")
    ordered = scores[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    wp = np.add.reduceat(w[:, order] * positive[order], starts, axis=1)
    wn = np.add.reduceat(w[:, order] * ~positive[order], starts, axis=1)
    return wp, wn


def _weighted_auroc(scores: np.ndarray, positive: np.ndarray, w: np.ndarray) -> np.ndarray:
    """P(score of a positive > score of a negative), ties counting one half."""
    wp, wn = _score_groups(scores, positive, w, descending=False)
    below = np.cumsum(wn, axis=1) - wn
    pairs = wp.sum(axis=1) * wn.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, (wp * (below + 0.5 * wn)).sum(axis=1) / pairs, np.nan)


def _weighted_average_precision(
    scores: np.ndarray, positive: np.ndarray, w: np.ndarray
) -> np.ndarray:
    """Average precision as scikit-learn defines it: sum of (R_k - R_k-1) * P_k."""
    wp, wn = _score_groups(scores, positive, w, descending=True)
    tp, fp = np.cumsum(wp, axis=1), np.cumsum(wn, axis=1)
    positives = tp[:, -1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        return np.where(positives[:, 0] > 0, (wp / positives * precision).sum(axis=1), np.nan)


def bootstrap_intervals(
    y: np.ndarray,
    probs: np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    groups: np.ndarray | None = None,
) -> dict[str, list[float]]:
    """Percentile bootstrap over test records (resampling with replacement, as counts); with
    `groups` (a group number per row, e.g. the protein of each residue), over whole groups."""
    rng = np.random.default_rng(seed)
    values: dict[str, list[np.ndarray]] = {name: [] for name in CLASSIFICATION_METRICS}
    groups = np.arange(len(y)) if groups is None else np.asarray(groups)
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    chunk = max(1, min(n_boot, 2_000_000 // max(1, len(y))))  # bound memory on large test sets
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        counts = rng.multinomial(n_groups, np.full(n_groups, 1 / n_groups), size=size)
        for name, array in classification_metrics(y, probs, counts[:, groups]).items():
            values[name].append(array)
    tail = (1 - level) / 2 * 100
    intervals = {}
    for name, arrays in values.items():
        merged = np.concatenate(arrays)
        intervals[name] = [
            float(np.nanpercentile(merged, tail)),
            float(np.nanpercentile(merged, 100 - tail)),
        ]
    return intervals


def calibration(y: np.ndarray, probs: np.ndarray, bins: int = 10) -> dict:
    """Reliability of the top-class probability: per-bin confidence vs accuracy, and the ECE."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            conf, acc = float(confidence[members].mean()), float(correct[members].mean())
            ece += members.mean() * abs(conf - acc)
            table.append(
                {
                    "bin": [edges[b], edges[b + 1]],
                    "n": int(members.sum()),
                    "confidence": conf,
                    "accuracy": acc,
                }
            )
    return {"ece": float(ece), "bins": table}


def regression_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """MSE, MAE, R², Pearson and Spearman for (records, targets) arrays, averaged over targets."""
    per_target = [
        {
            "mse": float(np.mean((p - t) ** 2)),
            "mae": float(np.mean(np.abs(p - t))),
            "r2": float(skm.r2_score(t, p)),
            "pearson": float(stats.pearsonr(t, p)[0]) if np.std(p) > 0 else float("nan"),
            "spearman": float(stats.spearmanr(t, p)[0]) if np.std(p) > 0 else float("nan"),
        }
        for t, p in zip(truth.T, predicted.T, strict=True)
    ]
    return {name: float(np.mean([m[name] for m in per_target])) for name in REGRESSION_METRICS}


def _row_bootstrap(score, arrays, names, n_boot: int, seed: int) -> dict[str, list[float]]:
    """Percentile 95 % intervals of `score(*arrays)[name]`, resampling rows with replacement."""
    rng = np.random.default_rng(seed)
    samples = {name: [] for name in names}
    for _ in range(n_boot):
        pick = rng.integers(0, len(arrays[0]), len(arrays[0]))
        scores = score(*(array[pick] for array in arrays))
        for name in names:
            samples[name].append(scores[name])
    return {
        name: [float(np.nanpercentile(v, 2.5)), float(np.nanpercentile(v, 97.5))]
        for name, v in samples.items()
    }


def _regression_report(table: pd.DataFrame, path: Path, n_boot: int, seed: int) -> dict:
    targets, truth, predicted = paired_columns(table, path, "regression")
    return {
        **regression_metrics(truth, predicted),
        "ci95": _row_bootstrap(
            regression_metrics, (truth, predicted), REGRESSION_METRICS, n_boot, seed
        ),
        "per_target": {
            t: regression_metrics(truth[:, [i]], predicted[:, [i]]) for i, t in enumerate(targets)
        },
        "n_test": int(len(truth)),
        "targets": targets,
    }


def _classification_report(
    path: Path, n_boot: int, seed: int, read=None, groups: np.ndarray | None = None
) -> dict:
    _, classes, y, probs = read or read_predictions(path)
    predicted = probs.argmax(axis=1)
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y, predicted, labels=range(len(classes)), zero_division=0
    )
    return {
        **classification_metrics(y, probs),
        "ci95": bootstrap_intervals(y, probs, n_boot=n_boot, seed=seed, groups=groups),
        "n_test": int(len(y)),
        "classes": classes,
        "confusion_matrix": skm.confusion_matrix(y, predicted, labels=range(len(classes))).tolist(),
        "per_class": {
            c: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, c in enumerate(classes)
        },
        "calibration": calibration(y, probs),
    }


def _token_report(path: Path, n_boot: int, seed: int) -> dict:
    """Per-residue labels: residues without a label are left out; the bootstrap resamples
    sequences (all residues of a drawn sequence come along)."""
    table, classes, y, probs = read_predictions(path, labelled_only=True)
    groups = pd.factorize(table["id"])[0]
    report = _classification_report(path, n_boot, seed, (table, classes, y, probs), groups)
    report["q3"] = report.pop("accuracy")
    report["ci95"]["q3"] = report["ci95"].pop("accuracy")
    hits = pd.Series(probs.argmax(axis=1) == y).groupby(groups).mean()
    report["q3_per_sequence_mean"] = float(hits.mean())
    report["n_sequences"] = int(groups.max()) + 1 if len(groups) else 0
    report["n_unlabelled_residues"] = int(table.attrs["unlabelled"])
    return report


def multilabel_metrics(truth: np.ndarray, probs: np.ndarray) -> dict:
    """Per label AUROC and AUPRC (nan for a label without both 0s and 1s) and their macro
    means; micro F1 and exact-match accuracy of the predictions at probability 0.5."""
    per_label = []
    for t, p in zip(truth.T, probs.T, strict=True):
        both = 0 < t.sum() < len(t)
        per_label.append(
            {
                "auroc": float(skm.roc_auc_score(t, p)) if both else float("nan"),
                "auprc": float(skm.average_precision_score(t, p)) if both else float("nan"),
                "positives": int(t.sum()),
            }
        )
    called = probs >= 0.5
    return {
        "auroc": float(np.nanmean([m["auroc"] for m in per_label])),
        "auprc": float(np.nanmean([m["auprc"] for m in per_label])),
        "f1": float(skm.f1_score(truth, called, average="micro", zero_division=0)),
        "exact_match": float(np.mean((called == truth.astype(bool)).all(axis=1))),
        "per_label": per_label,
    }


def _multilabel_report(table: pd.DataFrame, path: Path, n_boot: int, seed: int) -> dict:
    labels, truth, probs = paired_columns(table, path, "multilabel")
    truth = truth.astype(np.int64)
    scores = multilabel_metrics(truth, probs)
    per_label = dict(zip(labels, scores.pop("per_label"), strict=True))
    return {
        **scores,
        "ci95": _row_bootstrap(
            multilabel_metrics, (truth, probs), MULTILABEL_METRICS, n_boot, seed
        ),
        "per_label": per_label,
        "n_test": int(len(truth)),
        "labels": labels,
    }


def evaluate(
    predictions: str | Path, out: str | Path, *, n_boot: int = 1000, seed: int = 0
) -> dict:
    """Score one predictions.tsv (any task) and write metrics.json."""
    predictions = Path(predictions)
    table = pd.read_csv(predictions, sep="\t", dtype={"id": str, "series": str, "gene": str})
    task = predictions_task(list(table.columns))
    if task == "forecasting":
        from genoflow.evaluate.forecast import evaluate_forecasts
        from genoflow.formats.predictions import check_forecasts

        result = evaluate_forecasts(check_forecasts(table, predictions), n_boot=n_boot, seed=seed)
    elif task == "regression":
        result = _regression_report(table, predictions, n_boot, seed)
    elif task == "multilabel":
        result = _multilabel_report(table, predictions, n_boot, seed)
    elif task == "token_classification":
        result = _token_report(predictions, n_boot, seed)
    else:
        result = _classification_report(predictions, n_boot, seed)
    result = {"task": task, **result}
    result.setdefault("bootstrap", {"resamples": n_boot, "seed": seed, "level": 0.95})
    write_json(out, result)
    return result


def paired_bootstrap(
    first: list[Path], second: list[Path], n_boot: int = 1000, seed: int = 0
) -> dict:
    """Does the model of runs `first` beat the model of runs `second` on the test split?

    Both models' predictions are scored on the same resampled test records (whole sequences,
    for per-residue labels), each model's metric averaged over its seeds; the difference's
    95 % interval and the share of resamples where `first` is not better (a one-sided p-value).
    Metric: the task's first (accuracy, q3, mse; forecasting and multilabel: not supported).
    """
    tables = [[_scored(Path(run) / "predictions.tsv") for run in runs] for runs in (first, second)]
    task, reference = tables[0][0][0], tables[0][0][1]
    for _, keys, _ in (t for group in tables for t in group):
        if not np.array_equal(keys, reference):
            raise InputError(None, "runs to compare predicted different test records")
    metric = METRICS_BY_TASK[task][0]
    groups = pd.factorize(reference if task != "token_classification" else reference[:, 0])[0]
    n_groups = int(groups.max()) + 1
    rng = np.random.default_rng(seed)
    differences = []
    for start in range(0, n_boot, 20):
        counts = rng.multinomial(
            n_groups, np.full(n_groups, 1 / n_groups), size=min(20, n_boot - start)
        )
        weights = np.vstack([np.ones(n_groups), counts])[:, groups]  # row 0: the observed sample
        means = [np.mean([score(weights) for _, _, score in group], axis=0) for group in tables]
        differences.append(means[0] - means[1] if start == 0 else (means[0] - means[1])[1:])
    observed, resampled = differences[0][0], np.concatenate([differences[0][1:], *differences[1:]])
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    return {
        "metric": metric,
        "difference": float(observed),
        "ci95": [float(np.percentile(resampled, 2.5)), float(np.percentile(resampled, 97.5))],
        "p_not_better": float(np.mean(sign * resampled <= 0)),
        "resamples": int(len(resampled)),
    }


def _scored(path: Path):
    """(task, record keys, score(weights) -> metric per weight row) of a predictions.tsv."""
    columns = list(pd.read_csv(path, sep="\t", nrows=0).columns)
    task = predictions_task(columns)
    if task in ("classification", "token_classification"):
        table, _, y, probs = read_predictions(path, labelled_only=task == "token_classification")
        keys = (
            table[["id", "position"]].to_numpy()
            if task == "token_classification"
            else (table["id"].to_numpy())
        )
        name = "accuracy"
        return task, keys, lambda w: classification_metrics(y, probs, w)[name]
    if task == "regression":
        table, _, truth, predicted = read_regression_predictions(path)
        errors = ((predicted - truth) ** 2).mean(axis=1)
        return task, table["id"].to_numpy(), lambda w: (w @ errors) / w.sum(axis=1)
    raise InputError(path, f"no paired comparison for {task} predictions")
