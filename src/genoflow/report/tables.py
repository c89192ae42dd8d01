"""The model comparison tables of the report: every model with its test metrics and intervals,
its validation loss (which selects the model), errors per forecast horizon, and the paired
comparison of the selected model with the runner-up."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from genoflow.registry import BASELINE_TYPES, FORECAST_METRICS, METRICS_BY_TASK
from genoflow.report.format import (
    METRIC_LABELS,
    as_number,
    best_epoch_text,
    column_of,
    count_text,
    duration_text,
    epochs_text,
    interval_text,
    metric_text,
    read_optional,
    seed_text,
    throughput_text,
)

# (Errors, LOWER_IS_BETTER: unbounded, so shown with 3 significant digits, not 3 decimals.)
DIRECTION_NOTES = {
    "classification": "All metrics: higher is better.",
    "token_classification": (
        "Per residue (residues without a label left out); Q3 = share of residues whose class is "
        "right. Confidence intervals resample whole sequences. All metrics: higher is better."
    ),
    "multilabel": (
        "AUROC and AUPRC: per label, then the mean over labels; F1 (micro) and exact match (every "
        "label right) at probability 0.5. All metrics: higher is better."
    ),
    "regression": "MSE and MAE: lower is better; R², Pearson r and Spearman ρ: higher is better.",
    "forecasting": (
        "MSE and MAE (over all horizons and genes) on the standardised scale: log1p when the "
        "transform has it, then z-scored per gene with the training series' mean and sd, so "
        "every gene weighs alike; lower is better. Skill = 1 − MSE / MSE of persistence: higher "
        "is better, and 0 means no better than repeating the last observed value. The "
        "(raw units) columns are the same in the matrix's original units, where the most "
        "expressed genes dominate."
    ),
}


def paired_comparison(comparison: dict | None, task: str) -> dict | None:
    """The sentence parts of the selected-vs-runner-up paired bootstrap, if it was computed."""
    test = (comparison or {}).get("paired_bootstrap")
    if not test:
        return None
    p = test["p_not_better"]
    verdict = (
        f"{comparison['best']} is better at the 5% level"
        if p < 0.05
        else "the difference is within what resampling the test set gives by chance"
    )
    low, high = test["ci95"]
    return {
        "best": comparison["best"],
        "runner_up": comparison["runner_up"],
        "metric_label": METRIC_LABELS.get(test["metric"], test["metric"]),
        "difference": f"{test['difference']:+.4f}",
        "ci": f"{low:+.4f} to {high:+.4f}",
        "p": f"{p:.3f}",
        "verdict": verdict,
        "resamples": test["resamples"],
        "unit": "sequences (whole proteins)" if task == "token_classification" else "records",
    }


def summary_task(summary: pd.DataFrame, meta: dict | None = None) -> str:
    """The task whose metric columns summary.tsv has (forecasting's and regression's contain
    metrics that classification lacks); the preprocess meta.json's task if none match."""
    for task in (
        "forecasting",
        "regression",
        "token_classification",
        "multilabel",
        "classification",
    ):
        # (forecasting: its primary metrics; skill is its own)
        needed = FORECAST_METRICS if task == "forecasting" else METRICS_BY_TASK[task]
        if all(metric in summary for metric in needed):
            return task
    task = (meta or {}).get("task", "classification")
    return task if task in METRICS_BY_TASK else "classification"


def model_groups(summary: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(model, rows) in the order the models first appear in summary.tsv."""
    order = list(dict.fromkeys(summary["model"]))
    return [(model, summary[summary["model"] == model]) for model in order]


def comparison_table(
    summary: pd.DataFrame,
    train_records: int = 0,
    task: str = "classification",
    selected: str | None = None,
) -> list[dict]:
    """One row per model: metric cells (value [CI] for one seed, mean ± sd over several), the
    validation loss that ranks the models, and `selected` on the model that validated best
    (comparison.json). No test value is marked best: the test split selects nothing."""
    metrics = METRICS_BY_TASK[task]
    rows = []
    for model, group in model_groups(summary):
        first = group.iloc[0]
        kind = first.get("type")
        kind = kind if isinstance(kind, str) else ""  # NaN when summary.tsv has no type
        cells = {}
        for metric in metrics:
            values = column_of(group, metric).dropna()
            if values.empty:
                cells[metric] = {"text": "—", "ci": "", "value": math.nan}
            elif len(values) > 1:
                mean = metric_text(values.mean(), metric)
                text = f"{mean} ± {metric_text(values.std(ddof=1), metric)}"
                cells[metric] = {"text": text, "ci": "", "value": as_number(mean)}
            else:
                ci = interval_text(first.to_dict(), metric) if len(group) == 1 else ""
                text = metric_text(values.iloc[0], metric)
                cells[metric] = {"text": text, "ci": ci, "value": as_number(text)}
        seconds = column_of(group, "train_seconds").mean()
        epochs = column_of(group, "epochs")
        baseline = kind in BASELINE_TYPES
        rows.append(
            {
                "model": model,
                "type": kind,
                "baseline": baseline,
                "seeds": [seed_text(seed) for seed in group["seed"]],
                "cells": cells,
                "params": count_text(first.get("params")),
                "time": duration_text(seconds),
                "epochs": epochs_text(epochs),
                # Nothing was fitted by epochs (persistence): no "best epoch" to show.
                "best_epoch": best_epoch_text(column_of(group, "best_epoch"))
                if len(group) == 1 and epochs.fillna(0).gt(0).any()
                else "",
                "throughput": "—"
                if baseline
                else throughput_text(train_records, epochs.mean(), seconds),
                "val_loss": metric_text(column_of(group, "val_loss").mean(), "mse"),
                "selected": model == selected,
            }
        )
    return rows


def mark_best(cells: list[dict], lower: bool = False) -> None:
    """Set `best` on the cells whose (shown, rounded) `value` is the best of the finite ones."""
    finite = [cell["value"] for cell in cells if not math.isnan(cell["value"])]
    best = (min if lower else max)(finite, default=None)
    for cell in cells:
        cell["best"] = best is not None and cell["value"] == best


def horizon_table(summary: pd.DataFrame, root: Path) -> dict | None:
    """Forecasting: MSE and skill per model and horizon (mean over seeds), best marked.

    When no persistence run was trained, a reference row gives persistence's MSE from the
    first run's metrics.json (same test windows; its skill is 0 by definition).
    """
    horizons = sorted(
        int(match.group(1))
        for column in summary.columns
        if (match := re.fullmatch(r"mse_h(\d+)", str(column)))
    )
    if not horizons:
        return None
    rows = []
    for model, group in model_groups(summary):
        kind = group.iloc[0].get("type")
        kind = kind if isinstance(kind, str) else ""
        cells = []
        for horizon in horizons:
            for metric in ("mse", "skill"):
                values = column_of(group, f"{metric}_h{horizon}").dropna()
                text = metric_text(values.mean() if len(values) else math.nan, metric)
                cells.append({"text": text, "value": as_number(text), "metric": metric})
        rows.append(
            {"model": model, "type": kind, "baseline": kind in BASELINE_TYPES, "cells": cells}
        )
    if not any(row["type"] == "persistence" for row in rows):
        reference = persistence_reference(summary, root, horizons)
        if reference:
            rows.append(reference)
    return {"horizons": horizons, "rows": rows}


def persistence_reference(summary: pd.DataFrame, root: Path, horizons: list[int]) -> dict | None:
    first = summary.iloc[0]
    path = root / str(first["model"]) / f"seed{seed_text(first['seed'])}" / "metrics.json"
    per_horizon = {
        int(entry["horizon"]): entry
        for entry in (read_optional(path) or {}).get("per_horizon", [])
        if "persistence_mse" in entry
    }
    if not per_horizon:
        return None
    cells = []
    for horizon in horizons:
        mse = metric_text(per_horizon.get(horizon, {}).get("persistence_mse"), "mse")
        skill = metric_text(0.0 if horizon in per_horizon else math.nan, "skill")
        cells.append({"text": mse, "value": as_number(mse), "metric": "mse"})
        cells.append({"text": skill, "value": as_number(skill), "metric": "skill"})
    return {"model": "persistence", "type": "reference", "baseline": True, "cells": cells}


def tuning_searches(tune_dir: Path) -> list[dict]:
    """Every hyperparameter search of a dataset (tune/<model>/trials.tsv), for the report."""
    from genoflow.formats.tuning import read_trials

    searches = []
    for path in sorted(tune_dir.glob("*/trials.tsv")):
        trials, keys = read_trials(path)
        selected = read_optional(path.parent / "selected.json") or {}
        rows = [
            {
                "trial": int(row["trial"]),
                "values": [_param_text(row[key]) for key in keys],
                "val_loss": f"{row['val_loss']:.4f}",
                "epochs": "" if pd.isna(row["epochs"]) else int(row["epochs"]),
                "time": "" if pd.isna(row["train_seconds"]) else f"{row['train_seconds']:.1f} s",
                "selected": bool(row["selected"]),
            }
            for row in trials.to_dict("records")
        ]
        searches.append(
            {
                "model": path.parent.name,
                "columns": keys,
                "rows": rows,
                "selected": selected.get(
                    "trial", next((r["trial"] for r in rows if r["selected"]), "")
                ),
                "seed": selected.get("seed", 0),
            }
        )
    return searches


def _param_text(value) -> str:
    if isinstance(value, float) and not float(value).is_integer():
        return f"{value:.3g}"
    if isinstance(value, float):
        return str(int(value))
    return str(value)


def published_result(published: dict | None, summary: pd.DataFrame, selected: str | None):
    """The config's `published` result beside the selected model's value of the same metric
    (mean over seeds), or None."""
    if not published:
        return None
    metric = published["metric"]
    ours = None
    if selected is not None and metric in summary:
        rows = summary[summary["model"].astype(str) == str(selected)]
        ours = float(rows[metric].mean()) if len(rows) else None
    return {
        "source": published["source"],
        "metric": METRIC_LABELS.get(metric, metric),
        "value": f"{published['value']:.3f}",
        "note": published.get("note", ""),
        "ours": None if ours is None else f"{ours:.3f}",
        "selected": selected,
    }
