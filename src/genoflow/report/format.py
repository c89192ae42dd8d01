"""How numbers read in the report: metrics to three decimals (errors to three significant digits),
intervals, durations, counts, seeds and epochs."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from genoflow.formats.files import read_json
from genoflow.registry import LOWER_IS_BETTER

METRIC_LABELS = {
    "accuracy": "Accuracy",
    "q3": "Q3",
    "exact_match": "Exact match",
    "balanced_accuracy": "Balanced accuracy",
    "auroc": "AUROC",
    "auprc": "AUPRC",
    "f1": "F1",
    "mcc": "MCC",
    "mse": "MSE",
    "mae": "MAE",
    "r2": "R²",
    "pearson": "Pearson r",
    "spearman": "Spearman ρ",
    "skill": "Skill",
    "mse_raw": "MSE (raw units)",
    "mae_raw": "MAE (raw units)",
    "skill_raw": "Skill (raw units)",
}


def as_number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def column_of(table: pd.DataFrame, name: str) -> pd.Series:
    """A numeric column; all NaN if summary.tsv lacks it."""
    if name not in table:
        return pd.Series(math.nan, index=table.index)
    return pd.to_numeric(table[name], errors="coerce")


def seed_text(value) -> str:
    number = as_number(value)
    return str(int(number)) if number.is_integer() else str(value)


def count_text(value) -> str:
    number = as_number(value)
    return "—" if math.isnan(number) else f"{int(number):,}"


def duration_text(seconds: float) -> str:
    if math.isnan(seconds):
        return "—"
    if seconds < 90:
        return f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def epochs_text(epochs: pd.Series) -> str:
    """Epochs run: one number, or the range over seeds."""
    epochs = epochs.dropna()
    if epochs.empty:
        return "—"
    low, high = int(epochs.min()), int(epochs.max())
    return str(low) if low == high else f"{low}–{high}"


def best_epoch_text(best: pd.Series) -> str:
    number = as_number(best.iloc[0])
    return "" if math.isnan(number) else f"best {int(number)}"


def throughput_text(records: int, epochs: float, seconds: float) -> str:
    if not records or math.isnan(epochs) or math.isnan(seconds) or seconds <= 0:
        return "—"
    return f"{records * epochs / seconds:,.0f}"


def fixed_text(value) -> str:
    number = as_number(value)
    return "—" if math.isnan(number) else f"{number:.3f}"


def rounded(value) -> float:
    """A number as shown by fixed_text (3 decimals), for comparing shown values."""
    return as_number(fixed_text(value))


def significant_text(number: float, digits: int = 3) -> str:
    """`digits` significant digits in plain notation (0.00123, 1.23, 123, 1234), scientific
    notation only for very small or large magnitudes."""
    if number == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(number)))
    if magnitude >= 6 or magnitude < -4:
        return f"{number:.{digits - 1}e}"
    return f"{number:.{max(0, digits - 1 - magnitude)}f}"


def metric_text(value, metric: str) -> str:
    """A metric value as shown: errors (MSE, MAE) with 3 significant digits, others with 3
    decimals; '—' when missing."""
    number = as_number(value)
    if math.isnan(number):
        return "—"
    return significant_text(number) if metric in LOWER_IS_BETTER else f"{number:.3f}"


def interval_text(row: dict, metric: str) -> str:
    """'[0.946–0.975]' from a summary row's <metric>_ci_low/_ci_high ('' when missing)."""
    low, high = as_number(row.get(f"{metric}_ci_low")), as_number(row.get(f"{metric}_ci_high"))
    if math.isnan(low + high):
        return ""
    return f"[{metric_text(low, metric)}–{metric_text(high, metric)}]"


def yes_no(value) -> str:
    return "—" if value is None else ("yes" if value else "no")


def read_optional(path: Path) -> dict | None:
    return read_json(path) if path.is_file() else None
