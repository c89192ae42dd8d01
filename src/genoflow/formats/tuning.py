"""trials.tsv of a hyperparameter search (results/{dataset}/tune/{model}/): a row per trial with
its parameters, its validation loss and whether it was selected; read by the figures and the
report."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from genoflow.errors import InputError
from genoflow.formats.files import atomic_path

FIXED = ("trial", "val_loss", "best_epoch", "epochs", "train_seconds", "selected")


def write_trials(path: str | Path, rows: list[dict], keys: list[str]) -> None:
    """trial, one column per search-space key, then val_loss, best_epoch, epochs,
    train_seconds and selected (true for exactly one row)."""
    columns = ["trial", *keys, *FIXED[1:]]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(column)) for column in columns])


def _cell(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)


def read_trials(path: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """(the trials, the search-space keys) of a trials.tsv."""
    try:
        table = pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""])
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise InputError(path, f"not a trials table ({error})") from None
    missing = [column for column in FIXED if column not in table]
    if missing:
        raise InputError(path, f"not a trials table: no column(s) {missing}")
    table["selected"] = table["selected"].astype(str).str.lower().eq("true")
    keys = [column for column in table.columns if column not in FIXED]
    return table, keys
