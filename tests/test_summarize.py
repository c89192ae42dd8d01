"""genoflow summarize: run folders -> summary.tsv whose columns follow the dataset's task.

Run folders are built from small synthetic predictions with the real writers and scored by the
real metrics.evaluate (conftest make_run / make_regression_run / make_forecast_run).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from conftest import make_forecast_run, make_regression_run, make_run

from genoflow.cli import main
from genoflow.errors import InputError
from genoflow.evaluate.summarize import summarize
from genoflow.formats.files import read_json, write_json
from genoflow.registry import METRICS_BY_TASK

TRAIN = ["type", "params", "train_seconds", "epochs", "best_epoch", "val_loss"]


def ci_columns(metrics) -> list[str]:
    return [f"{m}_{end}" for m in metrics for end in ("ci_low", "ci_high")]


def check_rows(table: pd.DataFrame, runs: list[Path], metrics) -> None:
    """Each row holds its run's metrics.json values (6 significant digits in the file)."""
    assert len(table) == len(runs)
    for row, run in zip(table.to_dict("records"), runs, strict=True):
        values, info = read_json(run / "metrics.json"), read_json(run / "train.json")
        assert (row["model"], row["seed"], row["type"]) == (
            info["model"],
            info["seed"],
            info["type"],
        )
        for metric in metrics:
            assert row[metric] == pytest.approx(values[metric], rel=1e-5, abs=1e-9), metric
            low, high = values["ci95"][metric]
            assert row[f"{metric}_ci_low"] == pytest.approx(low, rel=1e-5, abs=1e-9)
            assert row[f"{metric}_ci_high"] == pytest.approx(high, rel=1e-5, abs=1e-9)


def test_classification_columns_unchanged(tmp_path: Path) -> None:
    runs = [make_run(tmp_path, "lstm", "lstm", s, ["a", "b"], n=60) for s in (0, 1)]
    table = summarize(runs, tmp_path / "summary.tsv")
    metrics = METRICS_BY_TASK["classification"]
    expected = ["model", "seed", *metrics, *ci_columns(metrics), *TRAIN]
    assert list(table.columns) == expected
    written = pd.read_csv(tmp_path / "summary.tsv", sep="\t")
    assert list(written.columns) == expected
    check_rows(written, runs, metrics)


def test_regression_columns_and_values(tmp_path: Path) -> None:
    runs = [
        make_regression_run(tmp_path, "cnn", "cnn", 0, ["liver", "brain"], n=60),
        make_regression_run(tmp_path, "kmer_ridge", "kmer_ridge", 0, ["liver", "brain"], n=60),
    ]
    summarize(runs, tmp_path / "summary.tsv")
    table = pd.read_csv(tmp_path / "summary.tsv", sep="\t")
    metrics = ("mse", "mae", "r2", "pearson", "spearman")
    assert METRICS_BY_TASK["regression"] == metrics
    assert list(table.columns) == ["model", "seed", *metrics, *ci_columns(metrics), *TRAIN]
    assert not any(c in table for c in ("accuracy", "auroc", "skill", "mse_h1"))
    check_rows(table, runs, metrics)
    assert list(table["epochs"]) == [6, 5]  # the ridge baseline: penalties tried


def test_forecasting_columns_with_per_horizon_metrics(tmp_path: Path) -> None:
    runs = [
        make_forecast_run(tmp_path, "gru", "gru", 0, horizon=3),
        make_forecast_run(tmp_path, "persistence", "persistence", 0, horizon=3),
        make_forecast_run(tmp_path, "ridge_ar", "ridge_ar", 0, horizon=3),
    ]
    summarize(runs, tmp_path / "summary.tsv")
    table = pd.read_csv(tmp_path / "summary.tsv", sep="\t")
    metrics = ("mse", "mae", "skill", "mse_raw", "mae_raw", "skill_raw")
    per_horizon = [f"{m}_h{h}" for h in (1, 2, 3) for m in metrics[:3]]
    assert list(table.columns) == [
        "model",
        "seed",
        *metrics,
        *ci_columns(metrics),
        *per_horizon,
        *TRAIN,
    ]
    check_rows(table, runs, metrics)
    for row, run in zip(table.to_dict("records"), runs, strict=True):
        for entry in read_json(run / "metrics.json")["per_horizon"]:
            for metric in metrics[:3]:
                column = f"{metric}_h{entry['horizon']}"
                assert row[column] == pytest.approx(entry[metric], rel=1e-5, abs=1e-9), column
    persistence = table[table["model"] == "persistence"].iloc[0]
    assert [persistence[f"skill_h{h}"] for h in (1, 2, 3)] == [0, 0, 0]
    assert persistence["epochs"] == 0  # nothing fitted; its history.csv is the header only


def test_a_forecast_table_without_a_column_is_named_not_scored(tmp_path: Path) -> None:
    """metrics.evaluate reads forecasts through formats.predictions.check_forecasts: a table
    that lacks a column (an older version's) is refused, naming the file and the column."""
    from genoflow.evaluate.metrics import evaluate

    run = make_forecast_run(tmp_path, "gru", "gru", 0)
    table = pd.read_csv(run / "predictions.tsv", sep="\t").drop(columns=["truth_z"])
    table.to_csv(run / "predictions.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match=r"missing \['truth_z'\]; rerun the training") as error:
        evaluate(run / "predictions.tsv", tmp_path / "metrics.json", n_boot=10)
    assert str(run / "predictions.tsv") in str(error.value)
    assert not (tmp_path / "metrics.json").exists()


def test_missing_horizon_is_empty(tmp_path: Path) -> None:
    """A run without some horizon (say, a shorter forecast) leaves those cells empty."""
    runs = [
        make_forecast_run(tmp_path, "gru", "gru", 0, horizon=2),
        make_forecast_run(tmp_path / "b", "lstm", "lstm", 0, horizon=1),
    ]
    table = summarize(runs, tmp_path / "summary.tsv")
    assert "skill_h2" in table
    assert math.isnan(table.loc[1, "skill_h2"]) and not math.isnan(table.loc[0, "skill_h2"])


def test_runs_of_different_tasks_are_refused(tmp_path: Path) -> None:
    runs = [
        make_regression_run(tmp_path, "cnn", "cnn", 0, ["liver"], n=40),
        make_forecast_run(tmp_path, "gru", "gru", 0),
    ]
    out = tmp_path / "summary.tsv"
    with pytest.raises(InputError, match="task 'forecasting' differs from 'regression'") as error:
        summarize(runs, out)
    assert str(runs[1] / "metrics.json") in str(error.value)  # names the odd file
    assert not out.exists()


def test_metrics_without_the_task_metrics_are_refused(tmp_path: Path) -> None:
    run = make_regression_run(tmp_path, "cnn", "cnn", 0, ["liver"], n=40)
    metrics = read_json(run / "metrics.json")
    del metrics["spearman"]
    write_json(run / "metrics.json", metrics)
    with pytest.raises(InputError, match=r"spearman") as error:
        summarize([run], tmp_path / "summary.tsv")
    assert "metrics.json" in str(error.value)


def test_missing_metrics_file_is_an_input_error(tmp_path: Path) -> None:
    run = make_forecast_run(tmp_path, "gru", "gru", 0)
    (run / "metrics.json").unlink()
    with pytest.raises(InputError, match="metrics.json"):
        summarize([run], tmp_path / "summary.tsv")


def test_cli_summarize_forecasting(tmp_path: Path, capsys) -> None:
    runs = [make_forecast_run(tmp_path, m, m, 0) for m in ("gru", "persistence")]
    out = tmp_path / "summary.tsv"
    main(["summarize", "--runs", *map(str, runs), "--out", str(out)])
    assert list(pd.read_csv(out, sep="\t")["model"]) == ["gru", "persistence"]
    assert "persistence" in capsys.readouterr().err


def test_best_and_runner_up_get_a_paired_bootstrap(tmp_path: Path) -> None:
    """A clearly better model beats the runner-up (small p, interval above 0); two equally
    skilled models do not; with the same predictions the difference is exactly 0."""
    strong = [make_run(tmp_path, "strong", "gru", s, ["a", "b"], n=400, skill=3.0) for s in (0, 1)]
    weak = [make_run(tmp_path, "weak", "lstm", 0, ["a", "b"], n=400, skill=0.5)]
    summarize([*strong, *weak], tmp_path / "summary.tsv", n_boot=300)
    comparison = read_json(tmp_path / "comparison.json")
    assert comparison["best"] == "strong" and comparison["runner_up"] == "weak"
    test = comparison["paired_bootstrap"]
    assert test["metric"] == "accuracy" and test["p_not_better"] < 0.01
    low, high = test["ci95"]
    assert 0 < low < test["difference"] < high

    from genoflow.evaluate.metrics import paired_bootstrap

    same = paired_bootstrap(strong[:1], strong[:1], n_boot=100)
    assert same["difference"] == 0 and same["ci95"] == [0, 0] and same["p_not_better"] == 1


def test_the_model_with_the_lower_validation_loss_is_selected(tmp_path: Path) -> None:
    runs = [
        make_regression_run(tmp_path, m, m, 0, ["y"], noise=noise)
        for m, noise in (("rough", 2.0), ("fine", 0.2))
    ]
    summarize(runs, tmp_path / "summary.tsv", n_boot=100)
    comparison = read_json(tmp_path / "comparison.json")
    assert comparison["metric"] == "mse" and comparison["best"] == "fine"
    assert comparison["paired_bootstrap"]["difference"] < 0  # fine's MSE minus rough's
    assert comparison["paired_bootstrap"]["p_not_better"] < 0.05


def test_test_metrics_never_select_the_model(tmp_path: Path) -> None:
    """A model that scores best on test but worse on validation is ranked by its validation
    loss: comparison.json selects the model that validated best, and says how it chose."""
    lucky = make_run(tmp_path, "lucky", "gru", 0, ["a", "b"], n=300, skill=3.0)
    steady = make_run(tmp_path, "steady", "lstm", 0, ["a", "b"], n=300, skill=1.0)
    info = read_json(lucky / "train.json")
    write_json(lucky / "train.json", info | {"best_val_loss": 0.9})  # validated worse
    table = summarize([lucky, steady], tmp_path / "summary.tsv", n_boot=50)
    assert list(table["val_loss"]) == [0.9, 0.5]
    comparison = read_json(tmp_path / "comparison.json")
    assert comparison["selected"] == comparison["best"] == "steady"
    assert comparison["runner_up"] == "lucky"
    assert [row[0] for row in comparison["ranking"]] == ["steady", "lucky"]
    assert comparison["ranking"][1][2] > comparison["ranking"][0][2]  # lucky's test accuracy
    assert "validation" in comparison["selected_by"]


def test_an_ensemble_of_the_selected_model_alone_is_not_its_runner_up(tmp_path: Path) -> None:
    """Greedy selection may keep one model: the ensemble row then holds that model's
    predictions, ties with it, and is no runner-up to compare it with."""
    strong = make_run(tmp_path, "strong", "gru", 0, ["a", "b"], n=300, skill=3.0)
    weak = make_run(tmp_path, "weak", "lstm", 0, ["a", "b"], n=300, skill=0.5)
    alone = make_run(tmp_path, "ensemble", "ensemble", 0, ["a", "b"], n=300, skill=3.0)
    info = read_json(alone / "train.json")
    write_json(alone / "train.json", info | {"members": ["strong/seed0"]})
    summarize([strong, weak, alone], tmp_path / "summary.tsv", n_boot=50)
    comparison = read_json(tmp_path / "comparison.json")
    assert [row[0] for row in comparison["ranking"]] == ["strong", "ensemble", "weak"]
    assert comparison["selected"] == "strong" and comparison["runner_up"] == "weak"
    write_json(alone / "train.json", info | {"members": ["weak/seed0"]})
    summarize([strong, weak, alone], tmp_path / "summary.tsv", n_boot=50)
    assert read_json(tmp_path / "comparison.json")["runner_up"] == "ensemble"
