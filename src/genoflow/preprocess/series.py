"""Preprocess time series: ingested matrix -> split by whole series, train-fitted transform,
sliding windows for forecasting.

Outputs (in `out_dir`):
  values.npy        float32 (time points x genes), transformed; rows as in the ingest
  raw.npy           float32, the same rows untransformed (metrics in original units)
  series.npy        int32 series index per row (index into records.tsv)
  time.npy          float64 time per row
  windows.npy       int64 start row of each window; inputs are rows [s, s + input), targets
                    rows [s + input, s + input + horizon), always inside one series
  window_split.npy  uint8 per window: 0 train, 1 val, 2 test
  records.tsv       series, condition, split, time_points, windows (one row per series)
  meta.json         genes, input, horizon, transform parameters, split, window counts and the
                    leakage check

Whole series go to one split, never single windows: windows of one trajectory overlap, so
splitting windows would put the same time points in training and test.
"""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path

import numpy as np

from genoflow.errors import InputError
from genoflow.formats.files import (
    DATA_FORMAT,
    INGEST_FORMAT,
    atomic_path,
    load_array,
    read_stamped,
    sha256sum,
    write_json,
)
from genoflow.registry import SPLIT_NAMES

SPLIT_METHODS = ("series", "condition")


def preprocess_series(
    ingest_dir: str | Path,
    out_dir: str | Path,
    *,
    input: int = 5,
    horizon: int = 1,
    split: str = "series",
    val: list[str] | None = None,
    test: list[str] | None = None,
    seed: int = 42,
    log1p: bool = False,
    zscore: bool = True,
    target: str = "delta",
    multistep: str = "direct",
    resample: float | str | None = "auto",
) -> dict:
    """Split whole series, fit log1p/z-score on training series, cut windows; write arrays.

    `target` (delta | level) and `multistep` (direct | recursive) frame the forecasting
    problem for every model trained on these windows; they are recorded in meta.json.

    `seed` is recorded only: series splits are chosen by name (given, or the last ones), not
    drawn, so they do not change between runs.

    `resample` ("auto", a time step, or None): the models and baselines step through a window
    point by point, so they assume the points are equally spaced. Series whose time points
    are not ("auto"), or every series (a step given), are linearly interpolated onto a
    regular grid from their first time point; None keeps the points as measured.
    """
    ingest_dir, out_dir = Path(ingest_dir), Path(out_dir)
    for name, value in (("input", input), ("horizon", horizon)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise InputError(None, f"{name} must be a positive integer, got {value!r}")
    if split not in SPLIT_METHODS:
        raise InputError(None, f"split method {split!r} is not one of {list(SPLIT_METHODS)}")
    if target not in ("delta", "level") or multistep not in ("direct", "recursive"):
        raise InputError(None, f"target {target!r} / multistep {multistep!r} not recognised")
    raw, table, genes = _read_ingest(ingest_dir)
    table_path = ingest_dir / "samples.tsv"
    raw, table, resampled = _resample(raw, table, resample)
    names, conditions, starts, stops = table["names"], table["conditions"], *table["blocks"]

    units = names if split == "series" else conditions
    holdout = _holdout(table_path, split, sorted(set(units)), val, test)
    codes = np.array(
        [2 if u in holdout["test"] else 1 if u in holdout["val"] else 0 for u in units], np.uint8
    )
    members = {s: [names[i] for i in np.flatnonzero(codes == k)] for k, s in enumerate(SPLIT_NAMES)}
    if not members["train"]:
        raise InputError(
            table_path,
            f"no series left for training: all {len(names)} are held out"
            f" (val {members['val']}, test {members['test']})",
        )
    for name in ("val", "test"):
        if not members[name]:
            raise InputError(table_path, f"the {name} split is empty ({split} split)")

    span = input + horizon
    lengths = stops - starts
    short = np.flatnonzero(lengths < span)
    if short.size:
        i = short[0]
        raise InputError(
            table_path,
            f"series {names[i]!r} ({SPLIT_NAMES[codes[i]]}) has {lengths[i]} time point(s); a"
            f" window needs input {input} + horizon {horizon} = {span}",
        )

    row_series = np.repeat(np.arange(len(names), dtype=np.int32), lengths)
    row_split = codes[row_series]
    values, transform = _transform(raw, row_split == 0, log1p, zscore, genes, table, ingest_dir)

    counts = lengths - span + 1
    windows = np.concatenate(
        [np.arange(a, a + n, dtype=np.int64) for a, n in zip(starts, counts, strict=True)]
    )
    window_split = np.repeat(codes, counts)
    leakage = _leakage_check(windows, window_split, row_series, row_split, span)

    meta = {
        "format": DATA_FORMAT,
        "task": "forecasting",
        "genes": genes,
        "input": int(input),
        "horizon": int(horizon),
        "target": target,
        "multistep": multistep,
        "series": len(names),
        "time_points": len(raw),
        "resampled": resampled,
        "transform": transform,
        "split": {
            "method": split,
            **members,
            "holdout": {"val": holdout["val"], "test": holdout["test"]},
            "seed": seed,
        },
        "windows": {s: int((window_split == k).sum()) for k, s in enumerate(SPLIT_NAMES)},
        "leakage_check": leakage,
        "ingest": {
            "path": str(ingest_dir),
            "summary_sha256": sha256sum(ingest_dir / "summary.json"),
        },
    }
    arrays = {
        "values": values,
        "raw": raw,
        "series": row_series,
        "time": table["time"],
        "windows": windows,
        "window_split": window_split,
    }
    records = [
        (names[i], conditions[i], SPLIT_NAMES[codes[i]], int(lengths[i]), int(counts[i]))
        for i in range(len(names))
    ]
    _write_outputs(out_dir, arrays, records, meta)
    return meta


# --- steps -----------------------------------------------------------------------------------


def _read_ingest(ingest_dir: Path) -> tuple[np.ndarray, dict, list[str]]:
    """matrix.npy, samples.tsv and genes.txt of `genoflow ingest-matrix`, checked for shape and
    for the (series, time) order that the windows rely on."""
    paths = {name: ingest_dir / name for name in ("matrix.npy", "samples.tsv", "genes.txt")}
    for path in (*paths.values(), ingest_dir / "summary.json"):
        if not path.is_file():
            raise InputError(path, "file not found (run `genoflow ingest-matrix` first)")
    read_stamped(ingest_dir / "summary.json", INGEST_FORMAT, "ingest-matrix")
    raw = load_array(paths["matrix.npy"]).astype(np.float32, copy=False)
    genes = paths["genes.txt"].read_text().splitlines()
    table_path = paths["samples.tsv"]
    with open(table_path, newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    if not rows or rows[0][:4] != ["sample", "series", "time", "condition"]:
        raise InputError(table_path, "expected columns sample, series, time, condition", line=1)
    rows = rows[1:]
    if raw.ndim != 2 or raw.shape != (len(rows), len(genes)):
        raise InputError(
            paths["matrix.npy"],
            f"shape {raw.shape} does not match {len(rows)} samples x {len(genes)} genes",
        )
    series = [row[1] for row in rows]
    time = np.array([float(row[2]) for row in rows], dtype=np.float64)
    starts = np.flatnonzero([i == 0 or series[i] != series[i - 1] for i in range(len(series))])
    stops = np.r_[starts[1:], len(series)]
    names = [series[a] for a in starts]
    if len(set(names)) != len(names) or names != sorted(names):
        raise InputError(table_path, "rows are not sorted by series (re-run ingest-matrix)")
    for a, b in zip(starts, stops, strict=True):
        if (np.diff(time[a:b]) <= 0).any():
            raise InputError(
                table_path,
                f"times of series {series[a]!r} are not increasing (re-run ingest-matrix)",
                line=int(a) + 2,
            )
    table = {
        "names": names,
        "conditions": [rows[a][3] for a in starts],
        "blocks": (starts, stops),
        "time": time,
        "samples": [row[0] for row in rows],
    }
    return raw, table, genes


def _resample(raw: np.ndarray, table: dict, resample) -> tuple[np.ndarray, dict, dict | None]:
    """Linear interpolation of each series onto a regular grid (see preprocess_series).

    Resampling, not the step length as a model input: then every model, persistence and the
    ridge baselines see the same equally spaced points, and a horizon is a fixed time ahead.
    The cost: interpolated points are not measurements (meta.json says how many there are).
    """
    starts, stops = table["blocks"]
    time = table["time"]
    steps = [np.diff(time[a:b]) for a, b in zip(starts, stops, strict=True)]
    irregular = [
        i for i, d in enumerate(steps) if d.size and not np.allclose(d, d[0], rtol=1e-6, atol=0)
    ]
    if resample is None or resample == "none" or (resample == "auto" and not irregular):
        return raw, table, None
    if resample == "auto":
        step = float(np.median(np.concatenate(steps)))
        chosen = f"auto: the median step of all series (irregular: {len(irregular)})"
    else:
        step = float(resample)
        if not step > 0:
            raise InputError(None, f"resample must be a positive time step, got {resample!r}")
        chosen = "given"
    values, rows, times, lengths, on_grid = [], [], [], [], 0
    for i, (a, b) in enumerate(zip(starts, stops, strict=True)):
        grid = time[a] + step * np.arange(int(np.floor((time[b - 1] - time[a]) / step + 1e-9)) + 1)
        part = np.stack([np.interp(grid, time[a:b], raw[a:b, g]) for g in range(raw.shape[1])], 1)
        values.append(part)
        times.append(grid)
        lengths.append(len(grid))
        # (rounded: grid times are sums of floats)
        names = table["samples"][a:b]
        measured = {round(t, 9): name for t, name in zip(time[a:b], names, strict=True)}
        rows += [measured.get(round(t, 9), f"{table['names'][i]} at time {t:g}") for t in grid]
        on_grid += sum(round(t, 9) in measured for t in grid)
    stops = np.cumsum(lengths)
    new = table | {
        "blocks": (stops - np.array(lengths), stops),
        "time": np.concatenate(times),
        "samples": rows,
    }
    info = {
        "step": step,
        "chosen": chosen,
        "method": "linear interpolation per series, from its first time point",
        "time_points_measured": int(len(raw)),
        "time_points_on_grid": int(stops[-1]),
        "grid_points_measured": int(on_grid),
    }
    return np.concatenate(values).astype(np.float32), new, info


def _holdout(table_path, method, units, val, test) -> dict[str, list[str]]:
    """Series (or condition) names held out for val and test; defaults: the last two by name."""
    what = "series" if method == "series" else "condition"
    given = {"val": _dedupe(val), "test": _dedupe(test)}
    for split, listed in given.items():
        for name in listed or []:
            if name not in units:
                raise InputError(
                    table_path,
                    f"{split} {what} {name!r} does not exist; the {what} names are {_shown(units)}",
                )
    both = set(given["val"] or []) & set(given["test"] or [])
    if both:
        raise InputError(table_path, f"{what} {sorted(both)[0]!r} is in both val and test")
    test = given["test"]
    if test is None:
        test = [u for u in units if u not in (given["val"] or [])][-1:]
    val = given["val"]
    if val is None:
        val = [u for u in units if u not in test][-1:]
    return {"val": val, "test": test}


def _transform(raw, train_rows, log1p, zscore, genes, table, ingest_dir) -> tuple[np.ndarray, dict]:
    """log1p, then z-score per gene with mean and std of the training rows only."""
    x = raw.astype(np.float64)
    if log1p:
        negative = np.argwhere(x < 0)
        if negative.size:
            row, gene = negative[0]
            raise InputError(
                ingest_dir / "matrix.npy",
                f"log1p needs values >= 0, but gene {genes[gene]!r} is {x[row, gene]:g} in"
                f" sample {table['samples'][row]!r} ({len(negative)} negative value(s))",
            )
        x = np.log1p(x)
    # Fitted also without zscore: the metrics are on this standardised scale either way.
    train = x[train_rows]
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    # A gene constant over training would divide by (rounding noise around) zero.
    std[train.max(axis=0) == train.min(axis=0)] = 1.0
    if zscore:
        x = (x - mean) / std
    transform = {
        "log1p": bool(log1p),
        "zscore": bool(zscore),
        "mean": mean.tolist(),
        "std": std.tolist(),
        "std_ddof": 0,
        "fitted_on": "train",
    }
    return x.astype(np.float32), transform


def _leakage_check(windows, window_split, row_series, row_split, span) -> dict[str, int]:
    """Count val/test rows that any training window reads as input or target (must be 0)."""
    rows = windows[:, None] + np.arange(span)  # every row each window touches
    if (row_series[rows] != row_series[windows][:, None]).any():
        raise InputError(None, "internal error: a window crosses a series boundary")
    covered = np.zeros(len(row_split), dtype=bool)
    covered[rows[window_split == 0].ravel()] = True
    check = {
        "test_points_in_train_windows": int((covered & (row_split == 2)).sum()),
        "val_points_in_train_windows": int((covered & (row_split == 1)).sum()),
    }
    if any(check.values()):
        raise InputError(None, f"internal error: leakage check failed {check}")
    return check


def _write_outputs(out_dir: Path, arrays: dict, records: list[tuple], meta: dict) -> None:
    """Every file goes to a temporary name, renamed only when all are written."""
    names = [f"{name}.npy" for name in arrays] + ["records.tsv", "meta.json"]
    with contextlib.ExitStack() as stack:
        tmp = {name: stack.enter_context(atomic_path(out_dir / name)) for name in names}
        for name, array in arrays.items():
            with open(tmp[f"{name}.npy"], "wb") as handle:
                np.save(handle, array)
        with open(tmp["records.tsv"], "w") as handle:
            handle.write("series\tcondition\tsplit\ttime_points\twindows\n")
            handle.writelines("\t".join(map(str, row)) + "\n" for row in records)
        write_json(tmp["meta.json"], meta)


def _dedupe(names: list[str] | None) -> list[str] | None:
    return None if names is None else list(dict.fromkeys(names))


def _shown(names: list[str], limit: int = 10) -> str:
    return ", ".join(names[:limit]) + (" ..." if len(names) > limit else "")
