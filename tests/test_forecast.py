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
    """Rows in original units; the standardised columns here are twice those values."""
    raw = pd.DataFrame(rows, columns=FORECAST_COLUMNS[:9])
    for name in ("last", "truth", "predicted"):
        raw[f"{name}_z"] = 2 * raw[name]
    return raw[list(FORECAST_COLUMNS)]


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
    assert h1["mse_raw"] == pytest.approx((0.25 + 0) / 2)
    assert h1["persistence_mse_raw"] == pytest.approx(1.0)
    assert h1["skill_raw"] == pytest.approx(1 - 0.125 / 1.0)
    assert h2["mae_raw"] == pytest.approx(0.75) and h2["persistence_mae_raw"] == pytest.approx(1.0)
    assert result["mse_raw"] == pytest.approx((0.25 + 1 + 0 + 0.25) / 4)
    assert result["skill_raw"] == pytest.approx(1 - 0.375 / ((1 + 4 + 1 + 0) / 4))
    # the primary metrics are on the standardised columns: twice the values, 4x the MSE
    assert result["mse"] == pytest.approx(4 * result["mse_raw"])
    assert result["mae"] == pytest.approx(2 * result["mae_raw"])
    assert h1["mse"] == pytest.approx(4 * h1["mse_raw"]) and h2["mae"] == pytest.approx(1.5)
    assert result["skill"] == pytest.approx(result["skill_raw"])
    boot = evaluate_forecasts(predictions, n_boot=200)
    for name in ("mse", "mse_raw", "skill", "mae_raw"):
        low, high = boot["ci95"][name]
        assert low <= result[name] <= high
    assert boot["ci95"]["mse"] == pytest.approx([4 * v for v in boot["ci95"]["mse_raw"]])
    assert boot["n_windows"] == 2 and set(boot["scale"]) == {"", "_raw"}


def test_standardised_columns_are_the_models_scale(sine_data, tmp_path):
    """With zscore the `_z` columns are the values the model saw; predicted_z inverts back."""
    train_baseline(sine_data, tmp_path, model_name="p", model_type="persistence")
    predictions = pd.read_csv(tmp_path / "predictions.tsv", sep="\t")
    data = load_windows(sine_data)
    assert data["meta"]["transform"]["zscore"]
    genes = data["meta"]["genes"]
    first = predictions[predictions["window"] == predictions["window"].min()]
    origin = data["windows"][first["window"].iloc[0]] + data["meta"]["input"] - 1
    rows = origin + first["horizon"].to_numpy()
    cols = [genes.index(g) for g in first["gene"]]
    np.testing.assert_allclose(first["truth_z"], data["values"][rows, cols], atol=1e-4)
    np.testing.assert_allclose(first["last_z"], data["values"][origin, cols], atol=1e-4)


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
