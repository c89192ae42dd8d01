"""The preprocessed folder of an expression time series, as the stages after preprocess-series read
it: the arrays, the windows of each split, and the transform back to the data's units."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from genoflow.errors import InputError
from genoflow.formats.files import (
    load_array,
    read_json,
    read_meta,
)
from genoflow.registry import SPLIT_CODES

SERIES_ARRAYS = ("values", "raw", "series", "time", "windows", "window_split")


def load_series(data_dir: str | Path) -> dict[str, np.ndarray]:
    """The arrays of `preprocess_series`; values and raw memory-mapped, the rest loaded."""
    data_dir = Path(data_dir)
    arrays = {}
    for name in SERIES_ARRAYS:
        path = data_dir / f"{name}.npy"
        if not path.is_file():
            raise InputError(path, "file not found (run `genoflow preprocess-series` first)")
        arrays[name] = load_array(path, mmap_mode="r" if name in ("values", "raw") else None)
    return arrays


def inverse_transform(values: np.ndarray, meta: dict | str | Path) -> np.ndarray:
    """Model-space values (..., genes) back to original units: un-z-score, then expm1."""
    if not isinstance(meta, dict):
        meta = read_json(meta)
    transform = meta["transform"]
    out = np.asarray(values, dtype=np.float64)
    if transform["zscore"]:
        out = out * np.asarray(transform["std"]) + np.asarray(transform["mean"])
    if transform["log1p"]:
        out = np.expm1(out)
    return out


def standardised(values: np.ndarray, meta: dict) -> np.ndarray:
    """Original units (..., genes) -> the scale the metrics are primarily on: log1p when the
    transform has it, then z-scored per gene with the training series' mean and sd (also when
    the model itself is fed unscaled values). On raw expression the few most expressed genes
    would decide every error; here each gene counts alike."""
    transform = meta["transform"]
    out = np.asarray(values, dtype=np.float64)
    if transform["log1p"]:
        out = np.log1p(out)
    return (out - np.asarray(transform["mean"])) / np.asarray(transform["std"])


def load_windows(data_dir: str | Path) -> dict:
    """Everything the forecasting code needs from a preprocessed series folder."""
    data_dir = Path(data_dir)
    arrays = {
        name: load_array(data_dir / f"{name}.npy")
        for name in ("values", "raw", "series", "time", "windows", "window_split")
    }
    arrays["meta"] = read_meta(data_dir)
    records = pd.read_csv(data_dir / "records.tsv", sep="\t", dtype={"series": str})
    arrays["series_names"] = records["series"].tolist()
    return arrays


def window_arrays(data: dict, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(window ids, inputs (n, input, genes), targets (n, horizon, genes)) of one split."""
    meta = data["meta"]
    ids = np.flatnonzero(data["window_split"] == SPLIT_CODES[split])
    starts = data["windows"][ids][:, None]
    inputs = data["values"][starts + np.arange(meta["input"])]
    targets = data["values"][starts + meta["input"] + np.arange(meta["horizon"])]
    return ids, inputs, targets
