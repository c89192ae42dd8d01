"""Forecasting specifics: the predictions table, the two baselines and per-horizon metrics.

predictions.tsv (long format): window, series, origin_time (last observed point), horizon (steps
ahead), time, gene, last (value at origin_time), truth, predicted in original units, and
last_z, truth_z, predicted_z on the standardised scale the primary metrics use (SCALES).
Baselines, scored on the same windows as every model:
  persistence  tomorrow equals today: every horizon predicts the last observed value;
  ridge_ar     a ridge-regularised linear autoregression on the whole input window of every
               gene, with the same target (delta/level) and multistep strategy as the models.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import Ridge

from genoflow.errors import InputError
from genoflow.formats.checkpoint import write_model
from genoflow.formats.files import write_json
from genoflow.formats.predictions import write_forecasts, write_history
from genoflow.formats.series import load_windows, window_arrays
from genoflow.registry import FORECAST_METRICS, SPLIT_NAMES

ALPHAS = (0.01, 0.1, 1.0, 10.0, 100.0)


def _window_sums(
    predictions: pd.DataFrame, suffix: str
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per (window, horizon) sums of squared/absolute errors of the model and of persistence,
    on one scale (`suffix` "_z": standardised, "": original units)."""
    error = predictions[f"predicted{suffix}"] - predictions[f"truth{suffix}"]
    naive = predictions[f"last{suffix}"] - predictions[f"truth{suffix}"]
    frame = pd.DataFrame(
        {
            "window": predictions["window"],
            "horizon": predictions["horizon"],
            "se": error**2,
            "ae": error.abs(),
            "pse": naive**2,
            "pae": naive.abs(),
            "n": 1.0,
        }
    )
    table = frame.groupby(["window", "horizon"]).sum()
    sums = {k: table[k].unstack("horizon").to_numpy() for k in ("se", "ae", "pse", "pae", "n")}
    return table.index.levels[1].to_numpy(), sums  # horizons, each (windows, horizons)


def _metrics_from(sums: dict[str, np.ndarray], weights: np.ndarray) -> dict[str, np.ndarray]:
    """Metrics for weighted copies of the windows: weights (replicates, windows)."""
    total = {k: weights @ v for k, v in sums.items()}  # (replicates, horizons)
    with np.errstate(invalid="ignore", divide="ignore"):
        per = {k: total[k] / total["n"] for k in ("se", "ae", "pse", "pae")}
        overall = {k: total[k].sum(axis=1) / total["n"].sum(axis=1) for k in ("se", "ae", "pse")}
        return {
            "mse": overall["se"],
            "mae": overall["ae"],
            "skill": 1 - overall["se"] / overall["pse"],
            "mse_h": per["se"],
            "mae_h": per["ae"],
            "persistence_mse_h": per["pse"],
            "persistence_mae_h": per["pae"],
            "skill_h": 1 - per["se"] / per["pse"],
        }


# The two scales: the standardised one (columns `*_z`) gives the primary metrics, the original
# units give the same metrics with the suffix `_raw`.
SCALES = {"": "_z", "_raw": ""}
SCALE_TEXT = {
    "": "standardised: log1p when the transform has it, then z-scored per gene with the"
    " training series' mean and sd (every gene weighs alike)",
    "_raw": "original units of the matrix (the most expressed genes dominate)",
}


def forecast_metrics(predictions: pd.DataFrame) -> dict:
    """MSE and MAE per horizon and overall, and skill = 1 - MSE / MSE of persistence, on the
    standardised scale (mse, mae, skill) and in original units (mse_raw, ...)."""
    result, per_horizon = {}, {}
    for name, suffix in SCALES.items():
        horizons, sums = _window_sums(predictions, suffix)
        m = {k: v[0] for k, v in _metrics_from(sums, np.ones((1, len(sums["n"])))).items()}
        result |= {f"{metric}{name}": float(m[metric]) for metric in FORECAST_METRICS}
        for i, h in enumerate(horizons):
            per_horizon.setdefault(int(h), {"horizon": int(h)}).update(
                {
                    f"{key}{name}": float(m[f"{key}_h"][i])
                    for key in ("mse", "mae", "persistence_mse", "persistence_mae", "skill")
                }
            )
    return result | {"per_horizon": list(per_horizon.values())}


def evaluate_forecasts(predictions: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> dict:
    """Metrics plus percentile-bootstrap 95 % intervals, resampling whole windows (forecasts
    from one window share its errors, so windows, not single values, are the unit)."""
    result = forecast_metrics(predictions)
    result["ci95"] = {}
    for name, suffix in SCALES.items():
        _, sums = _window_sums(predictions, suffix)
        n_windows = len(sums["n"])
        if n_boot:
            # the same seed on both scales: the same resampled windows
            rng = np.random.default_rng(seed)
            counts = rng.multinomial(n_windows, np.full(n_windows, 1 / n_windows), size=n_boot)
            boot = _metrics_from(sums, counts.astype(float))
            for metric in FORECAST_METRICS:
                result["ci95"][f"{metric}{name}"] = [
                    float(np.nanpercentile(boot[metric], 2.5)),
                    float(np.nanpercentile(boot[metric], 97.5)),
                ]
    if not n_boot:
        del result["ci95"]
    result["scale"] = SCALE_TEXT
    result["n_windows"] = int(n_windows)
    result["genes"] = int(predictions["gene"].nunique())
    result["bootstrap"] = {"resamples": n_boot, "seed": seed, "level": 0.95, "unit": "window"}
    return result


def train_baseline(
    data_dir: str | Path, out_dir: str | Path, *, model_name: str, model_type: str, seed: int = 0
) -> dict:
    """persistence or ridge_ar: fit on train (alpha chosen on val), forecast the test windows."""
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    data = load_windows(data_dir)
    meta = data["meta"]
    started = time.perf_counter()
    splits = {name: window_arrays(data, name) for name in SPLIT_NAMES}
    if model_type == "persistence":
        history, state, chosen = [], {}, {}
        forecast = persistence(splits["test"][1], meta["horizon"])
    elif model_type == "ridge_ar":
        history, model = _select_ridge(splits, meta, seed)
        forecast = ridge_forecast(model, splits["test"][1], meta)
        state = {
            "coef": torch.from_numpy(model.coef_.astype(np.float32)),
            "intercept": torch.from_numpy(np.atleast_1d(model.intercept_).astype(np.float32)),
        }
        chosen = {"alpha": float(model.alpha)}
    else:
        raise InputError(None, f"unknown forecasting baseline {model_type!r}")
    write_forecasts(out_dir / "predictions.tsv", data_dir, splits["test"][0], forecast)
    write_history(out_dir / "history.csv", history)
    write_model(
        out_dir / "model.ckpt",
        task="forecasting",
        model_type=model_type,
        model_args=chosen,
        meta=meta,
        state_dict=state,
    )
    info = {
        "model": model_name,
        "type": model_type,
        "seed": seed,
        "params": int(sum(v.numel() for v in state.values())),
        "train_seconds": round(time.perf_counter() - started, 2),
        "epochs": len(history),
        "best_epoch": int(np.argmin([r["val_loss"] for r in history])) if history else 0,
        "best_val_loss": float(min(r["val_loss"] for r in history)) if history else None,
        "model_args": chosen,
    }
    write_json(out_dir / "train.json", info)
    return info


def persistence(inputs: np.ndarray, horizon: int) -> np.ndarray:
    """(windows, input, genes) -> (windows, horizon, genes): the last value, repeated."""
    return np.repeat(inputs[:, -1:, :], horizon, axis=1)


def _ridge_xy(inputs: np.ndarray, targets: np.ndarray, meta: dict) -> tuple[np.ndarray, np.ndarray]:
    steps = meta["horizon"] if meta["multistep"] == "direct" else 1
    y = targets[:, :steps]
    if meta["target"] == "delta":
        y = y - inputs[:, -1:, :]
    return inputs.reshape(len(inputs), -1), y.reshape(len(y), -1)


def ridge_forecast(model: Ridge, inputs: np.ndarray, meta: dict) -> np.ndarray:
    """Forecast with a fitted ridge AR model, directly or by recursive rollout."""
    genes = inputs.shape[2]
    steps = meta["horizon"] if meta["multistep"] == "direct" else 1
    window, out = inputs, []
    while sum(o.shape[1] for o in out) < meta["horizon"]:
        step = model.predict(window.reshape(len(window), -1)).reshape(len(window), steps, genes)
        if meta["target"] == "delta":
            step = step + window[:, -1:, :]
        out.append(step)
        window = np.concatenate([window[:, steps:], step], axis=1)[:, -inputs.shape[1] :]
    return np.concatenate(out, axis=1)[:, : meta["horizon"]]


def _select_ridge(splits: dict, meta: dict, seed: int) -> tuple[list[dict], Ridge]:
    _, train_in, train_out = splits["train"]
    _, val_in, val_out = splits["val"]
    history, best = [], None
    for step, alpha in enumerate(ALPHAS):
        model = Ridge(alpha=alpha, random_state=seed).fit(*_ridge_xy(train_in, train_out, meta))
        row = {
            "epoch": step,
            "seconds": 0.0,
            "train_loss": float(np.mean((ridge_forecast(model, train_in, meta) - train_out) ** 2)),
            "val_loss": float(np.mean((ridge_forecast(model, val_in, meta) - val_out) ** 2)),
            "lr": alpha,  # here: the ridge penalty of this candidate
        }
        history.append(row)
        if best is None or row["val_loss"] < best[0]["val_loss"]:
            best = (row, model)
    return history, best[1]
