"""Forecasting baselines and metrics against hand-computed values; training a forecaster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

from genoflow.evaluate.forecast import (
    evaluate_forecasts,
    forecast_metrics,
    persistence,
    ridge_forecast,
    train_baseline,
)
from genoflow.formats.predictions import FORECAST_COLUMNS
from genoflow.formats.series import inverse_transform, load_windows
from genoflow.io.expression import ingest_matrix
from genoflow.preprocess.series import preprocess_series
from genoflow.tasks.train import TrainConfig, train


def table(rows):
    return pd.DataFrame(rows, columns=FORECAST_COLUMNS)


def test_metrics_by_hand():
    """Two windows, two horizons, one gene: every number computed on paper."""
    predictions = table(
        [
            (0, "s", 0, 1, 1, "g", 1.0, 2.0, 1.5),  # err 0.5, persistence err 1.0
            (0, "s", 0, 2, 2, "g", 1.0, 3.0, 2.0),  # err 1.0, persistence err 2.0
            (1, "s", 1, 1, 2, "g", 2.0, 3.0, 3.0),  # err 0.0, persistence err 1.0
            (1, "s", 1, 2, 3, "g", 2.0, 2.0, 2.5),  # err 0.5, persistence err 0.0
        ]
    )
    result = forecast_metrics(predictions)
    h1, h2 = result["per_horizon"]
    assert h1["mse"] == pytest.approx((0.25 + 0) / 2) and h1["persistence_mse"] == pytest.approx(
        1.0
    )
    assert h1["skill"] == pytest.approx(1 - 0.125 / 1.0)
    assert h2["mae"] == pytest.approx(0.75) and h2["persistence_mae"] == pytest.approx(1.0)
    assert result["mse"] == pytest.approx((0.25 + 1 + 0 + 0.25) / 4)
    assert result["skill"] == pytest.approx(1 - 0.375 / ((1 + 4 + 1 + 0) / 4))
    boot = evaluate_forecasts(predictions, n_boot=200)
    low, high = boot["ci95"]["mse"]
    assert low <= result["mse"] <= high and boot["n_windows"] == 2


def test_persistence_and_ridge_forecasts_by_hand():
    inputs = np.arange(2 * 3 * 2, dtype=float).reshape(2, 3, 2)  # (windows, input, genes)
    assert persistence(inputs, 2).tolist() == [[[4, 5], [4, 5]], [[10, 11], [10, 11]]]
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(20, 6)), rng.normal(size=(20, 2))
    model = Ridge(alpha=1.0).fit(x, y)
    meta = {"horizon": 2, "multistep": "recursive", "target": "level"}
    windows = x[:3].reshape(3, 3, 2)
    first = model.predict(windows.reshape(3, -1))
    second = model.predict(np.concatenate([windows[:, 1:], first[:, None]], axis=1).reshape(3, -1))
    np.testing.assert_allclose(ridge_forecast(model, windows, meta), np.stack([first, second], 1))


@pytest.fixture(scope="module")
def sine_data(tmp_path_factory):
    """4 genes of phase-shifted sines, 6 series: smooth, so a forecaster beats persistence."""
    root = tmp_path_factory.mktemp("sine")
    t = np.arange(30)
    rows = [[np.sin(0.3 * t_ + k + s) for k in range(4)] for s in range(6) for t_ in t]
    lines = ["g1\tg2\tg3\tg4"] + ["\t".join(f"{v:.5f}" for v in row) for row in rows]
    (root / "m.tsv").write_text("\n".join(lines) + "\n")
    ingest_matrix(root / "m.tsv", root / "ingest", series_length=30)
    preprocess_series(root / "ingest", root / "data", input=4, horizon=3, multistep="recursive")
    return root / "data"


def test_baselines_write_contracted_files(sine_data, tmp_path):
    for kind in ("persistence", "ridge_ar"):
        info = train_baseline(sine_data, tmp_path / kind, model_name=kind, model_type=kind)
        assert info["type"] == kind
        predictions = pd.read_csv(tmp_path / kind / "predictions.tsv", sep="\t")
        assert set(predictions["horizon"]) == {1, 2, 3}
    predictions = pd.read_csv(tmp_path / "persistence" / "predictions.tsv", sep="\t")
    np.testing.assert_allclose(predictions["predicted"], predictions["last"], atol=1e-5)
    ridge = pd.read_csv(tmp_path / "ridge_ar" / "predictions.tsv", sep="\t")
    assert forecast_metrics(ridge)["skill"] > 0.9  # a sine is a linear recurrence


def test_a_forecaster_learns_smooth_dynamics(sine_data, tmp_path):
    train(
        sine_data,
        tmp_path,
        model_name="lstm",
        model_type="lstm",
        model_args={"hidden": 16, "pool": "flatten"},
        train_config=TrainConfig(max_epochs=80, batch_size=16, lr=3e-3, patience=15),
        threads=1,
    )
    predictions = pd.read_csv(tmp_path / "predictions.tsv", sep="\t")
    result = forecast_metrics(predictions)
    assert all(h["skill"] > 0.5 for h in result["per_horizon"]), result["per_horizon"]
    data = load_windows(sine_data)
    test_series = set(data["meta"]["split"]["test"])
    assert set(predictions["series"]) == test_series  # only held-out series are scored
    np.testing.assert_allclose(
        inverse_transform(data["values"], data["meta"]), data["raw"], atol=1e-4
    )
