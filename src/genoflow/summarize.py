"""Summarize: every (model, seed) of a dataset in one table, summary.tsv."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from genoflow.io import atomic_path, read_json
from genoflow.metrics import CLASSIFICATION_METRICS

TRAIN_COLUMNS = ("type", "params", "train_seconds", "epochs", "best_epoch")


def summarize(run_dirs: list[str | Path], out: str | Path) -> pd.DataFrame:
    """One row per run directory (holding metrics.json and train.json), in the given order.

    Columns: model, seed, the metric names, then <metric>_ci_low/_ci_high, then training facts.
    """
    rows = []
    for run in map(Path, run_dirs):
        metrics, info = read_json(run / "metrics.json"), read_json(run / "train.json")
        row = {"model": info["model"], "seed": info["seed"]}
        row.update({name: metrics[name] for name in CLASSIFICATION_METRICS})
        for name in CLASSIFICATION_METRICS:
            low, high = metrics["ci95"][name]
            row[f"{name}_ci_low"], row[f"{name}_ci_high"] = low, high
        row.update({key: info.get(key) for key in TRAIN_COLUMNS})
        rows.append(row)
    table = pd.DataFrame(rows)
    with atomic_path(out) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    return table
