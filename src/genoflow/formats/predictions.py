"""predictions.tsv and history.csv of a run folder: one writer per task (neural models and
baselines alike), and the reader that the evaluation and the figures share."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from genoflow.errors import InputError
from genoflow.formats.files import atomic_path
from genoflow.formats.series import inverse_transform, load_windows, standardised
from genoflow.registry import (
    NO_LABEL,
)

# Beside predictions.tsv (test), a neural classifier's run folder holds its validation split's
# predictions in the same format: what the `ensemble` row is scored on for selection.
VAL_PREDICTIONS = "val_predictions.tsv"


def write_regression_predictions(
    path: Path, ids, truth: np.ndarray, predicted: np.ndarray, targets: list[str]
) -> None:
    """predictions.tsv of a regression: id, then true_<target> and pred_<target> per target."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(["id"] + [f"{kind}_{t}" for t in targets for kind in ("true", "pred")])
        for record_id, true_row, pred_row in zip(ids, truth, predicted, strict=True):
            cells = [f"{v:.6g}" for pair in zip(true_row, pred_row, strict=True) for v in pair]
            writer.writerow([record_id, *cells])


def write_residue_predictions(
    path: Path, ids, positions, labels, probs: np.ndarray, classes: list[str]
) -> None:
    """predictions.tsv of per-residue labels: a row per residue with id, position (1-based),
    label (empty where the residue has none), predicted, then prob_<class> per class."""
    names = [*classes] + [""] * (NO_LABEL + 1 - len(classes))  # NO_LABEL -> ""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(["id", "position", "label", "predicted"] + [f"prob_{c}" for c in classes])
        best = probs.argmax(axis=1)
        for record_id, position, label, k, row in zip(
            ids, positions.tolist(), labels.tolist(), best.tolist(), probs, strict=True
        ):
            cells = [f"{p:.4g}" for p in row]
            writer.writerow([record_id, position + 1, names[label], classes[k], *cells])


def write_multilabel_predictions(
    path: Path, ids, truth: np.ndarray, probs: np.ndarray, labels: list[str]
) -> None:
    """predictions.tsv of a multilabel task: id, then true_<label> (0/1) and prob_<label>."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(["id"] + [f"{kind}_{t}" for t in labels for kind in ("true", "prob")])
        for record_id, true_row, prob_row in zip(ids, truth, probs, strict=True):
            cells = [v for pair in zip(true_row, prob_row, strict=True) for v in pair]
            writer.writerow([record_id, *(f"{v:.6g}" for v in cells)])


def write_predictions(path: Path, ids, labels, probs: np.ndarray, classes: list[str]) -> None:
    """predictions.tsv: id, label, predicted, then one prob_<class> column per class."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(["id", "label", "predicted"] + [f"prob_{c}" for c in classes])
        for record_id, label, row in zip(ids, labels, probs, strict=True):
            writer.writerow(
                [record_id, classes[label], classes[int(row.argmax())]] + [f"{p:.6g}" for p in row]
            )


def write_forecasts(
    path: Path, data_dir: Path, window_ids: np.ndarray, forecast: np.ndarray
) -> None:
    """Write forecasts (windows, horizon, genes; model units) as the long predictions table."""
    data = load_windows(data_dir)
    meta = data["meta"]
    genes, horizon = meta["genes"], meta["horizon"]
    predicted = inverse_transform(forecast, meta)
    origin = data["windows"][window_ids] + meta["input"] - 1
    rows = origin[:, None] + 1 + np.arange(horizon)  # (windows, horizon)
    last = np.repeat(data["raw"][origin], horizon, axis=0)
    truth = data["raw"][rows].reshape(-1, len(genes))
    table = pd.DataFrame(
        {
            "window": np.repeat(window_ids, horizon * len(genes)),
            "series": np.repeat(
                [data["series_names"][s] for s in data["series"][origin]], horizon * len(genes)
            ),
            "origin_time": np.repeat(data["time"][origin], horizon * len(genes)),
            "horizon": np.tile(np.repeat(np.arange(1, horizon + 1), len(genes)), len(window_ids)),
            "time": np.repeat(data["time"][rows].ravel(), len(genes)),
            "gene": np.tile(genes, len(window_ids) * horizon),
            "last": last.ravel(),
            "truth": truth.ravel(),
            "predicted": predicted.reshape(-1),
            **_standardised_columns(data, forecast, origin, rows, last, truth, predicted),
        }
    )
    with atomic_path(path) as tmp:
        table[list(FORECAST_COLUMNS)].to_csv(tmp, sep="\t", index=False, float_format="%.6g")


def _standardised_columns(data, forecast, origin, rows, last, truth, predicted) -> dict:
    """last_z, truth_z, predicted_z. With the z-score transform they are the model's own values
    (so persistence scores exactly 0 skill); otherwise computed from the original units."""
    meta, genes = data["meta"], len(data["meta"]["genes"])
    if meta["transform"]["zscore"]:
        values = data["values"]
        horizon = rows.shape[1]
        z = (np.repeat(values[origin], horizon, axis=0), values[rows], forecast)
    else:
        z = tuple(standardised(v.reshape(-1, genes), meta) for v in (last, truth, predicted))
    names = ("last_z", "truth_z", "predicted_z")
    return {name: np.asarray(v, dtype=np.float64).ravel() for name, v in zip(names, z, strict=True)}


# The long predictions table of forecasting (see forecast.py), in column order: last, truth and
# predicted in original units, then the same on the metrics' standardised scale (`_z`: log1p if
# the transform has it, z-scored per gene with the training series' mean and sd).
FORECAST_COLUMNS = (
    "window",
    "series",
    "origin_time",
    "horizon",
    "time",
    "gene",
    "last",
    "truth",
    "predicted",
    "last_z",
    "truth_z",
    "predicted_z",
)


def read_predictions(
    path: str | Path, labelled_only: bool = False, keep_unlabelled: bool = False
) -> tuple[pd.DataFrame, list[str], np.ndarray, np.ndarray]:
    """(table, classes, true class indices, probability matrix) from a predictions.tsv.
    `labelled_only`: leave out rows with an empty label (residues without one); their number
    is in table.attrs["unlabelled"]. `keep_unlabelled`: keep them, as class index NO_LABEL."""
    table = pd.read_csv(
        path, sep="\t", dtype={"id": str, "label": str, "predicted": str}, keep_default_na=False
    )
    unlabelled = table["label"] == "" if labelled_only and "label" in table else None
    if unlabelled is not None:
        table = table[~unlabelled].reset_index(drop=True)
        table.attrs["unlabelled"] = int(unlabelled.sum())
    classes = [c.removeprefix("prob_") for c in table.columns if c.startswith("prob_")]
    if not classes or "label" not in table:
        raise InputError(path, "not a predictions table (needs label and prob_<class> columns)")
    index = {c: i for i, c in enumerate(classes)} | ({"": NO_LABEL} if keep_unlabelled else {})
    unknown = set(table["label"]) - set(index)
    if unknown:
        raise InputError(path, f"labels {sorted(unknown)} have no prob_ column")
    y = table["label"].map(index).to_numpy()
    probs = table[[f"prob_{c}" for c in classes]].to_numpy(dtype=np.float64)
    return table, classes, y, probs


# Tables of a true_<column> beside an output column per label or target: the output's prefix
# and what a column is called, per task
PAIRED_OUTPUTS = {"multilabel": ("prob", "label"), "regression": ("pred", "target")}


def paired_columns(
    table: pd.DataFrame, path: str | Path, task: str
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(columns, truth matrix, output matrix) of a multilabel table (0/1 truth, probabilities)
    or a regression table (true and predicted values, original units)."""
    output, kind = PAIRED_OUTPUTS[task]
    names = [c.removeprefix("true_") for c in table.columns if c.startswith("true_")]
    if not names or any(f"{output}_{name}" not in table for name in names):
        raise InputError(path, f"not a {task} predictions table (true_<{kind}>, {output}_<{kind}>)")
    truth = table[[f"true_{name}" for name in names]].to_numpy(dtype=np.float64)
    outputs = table[[f"{output}_{name}" for name in names]].to_numpy(dtype=np.float64)
    return names, truth, outputs


def read_paired_predictions(
    path: str | Path, task: str
) -> tuple[pd.DataFrame, list[str], np.ndarray, np.ndarray]:
    """(table, *paired_columns) from a multilabel or regression predictions.tsv."""
    table = pd.read_csv(path, sep="\t", dtype={"id": str}, keep_default_na=False)
    return (table, *paired_columns(table, path, task))


def read_multilabel_predictions(
    path: str | Path,
) -> tuple[pd.DataFrame, list[str], np.ndarray, np.ndarray]:
    """(table, labels, 0/1 truth matrix, probability matrix) from a multilabel predictions.tsv."""
    return read_paired_predictions(path, "multilabel")


def read_regression_predictions(
    path: str | Path,
) -> tuple[pd.DataFrame, list[str], np.ndarray, np.ndarray]:
    """(table, targets, true value matrix, predicted value matrix) from a regression
    predictions.tsv (original units)."""
    return read_paired_predictions(path, "regression")


def check_forecasts(table: pd.DataFrame, path: str | Path) -> pd.DataFrame:
    """`table` (read from `path`) if it has every forecasting column; else an InputError naming
    those it lacks (a table of an older version, or of another task)."""
    missing = [column for column in FORECAST_COLUMNS if column not in table]
    if missing:
        raise InputError(
            path, f"not a forecasting predictions table (missing {missing}; rerun the training)"
        )
    return table


def read_forecasts(path: str | Path) -> tuple[pd.DataFrame, list[str], np.ndarray, np.ndarray]:
    """(table, genes, truth_z, predicted_z) from a forecasting predictions.tsv: the long table,
    its genes in order and the true and predicted values on the standardised scale."""
    table = check_forecasts(pd.read_csv(path, sep="\t", dtype={"series": str, "gene": str}), path)
    genes = list(dict.fromkeys(table["gene"]))
    truth, predicted = (table[c].to_numpy(dtype=np.float64) for c in ("truth_z", "predicted_z"))
    return table, genes, truth, predicted


def predictions_task(columns: list[str]) -> str:
    """The task a predictions table belongs to, from its columns."""
    if "horizon" in columns:
        return "forecasting"
    if "position" in columns:
        return "token_classification"
    if any(c.startswith("true_") for c in columns):
        prob = any(c.startswith("prob_") for c in columns)
        return "multilabel" if prob else "regression"
    return "classification"


def table_task(path: str | Path) -> str:
    """The task of a predictions.tsv, from its header line."""
    with open(path) as table:
        return predictions_task(table.readline().rstrip("\n").split("\t"))


HISTORY_COLUMNS = [
    "epoch",
    "seconds",
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "lr",
]


def write_history(path: str | Path, rows: list[dict]) -> None:
    """history.csv: one row per epoch (or per baseline candidate; `lr` then holds its penalty).
    Keys beyond HISTORY_COLUMNS (a monitored metric such as val_mcc) follow them, in the order
    they first appear."""
    columns = list(HISTORY_COLUMNS)
    for row in rows:
        columns += [key for key in row if key not in columns]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as out:
        writer = csv.DictWriter(out, columns, lineterminator="\n", restval="")
        writer.writeheader()
        writer.writerows(rows)
