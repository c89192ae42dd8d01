"""Summarize: every (model, seed) of a dataset in one table, summary.tsv.

The columns follow the dataset's task (metrics.json "task"):

    model, seed, <metrics of the task>, <metric>_ci_low, <metric>_ci_high (per metric),
    [forecasting only: mse_h1, mae_h1, skill_h1, mse_h2, ...], type, params, train_seconds,
    epochs, best_epoch, val_loss (the validation score that ranks: `genoflow/selection.py`)

with the task's metrics from `genoflow.registry.METRICS_BY_TASK`. All runs of one dataset must
share one task.

comparison.json, next to it: the models ranked by their validation score (mean over seeds; the
`val_loss` column: the loss of the kept weights, or with `select_by: calibrated_val_loss` a
classifier's after temperature scaling), the one selected (the lowest) and the runner-up, and a
paired bootstrap on their test predictions of whether the selected model beats the runner-up on
the task's first metric (`genoflow.evaluate.metrics.paired_bootstrap`). Test metrics never
select a model.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from genoflow.errors import InputError
from genoflow.evaluate.metrics import paired_bootstrap
from genoflow.formats.files import atomic_path, read_json, write_json
from genoflow.registry import ENSEMBLE, FORECAST_METRICS, METRICS_BY_TASK
from genoflow.selection import validation_score

TRAIN_COLUMNS = ("type", "params", "train_seconds", "epochs", "best_epoch")
# The validation score of each run (genoflow/selection.py; by default the validation loss of the
# kept weights, train.json best_val_loss): models are ranked and the best is selected by it, mean
# over seeds, never by a test metric.
SELECTION = "val_loss"


def run_task(metrics: dict, path: str | Path) -> str:
    """The task a metrics.json belongs to ("classification" when it predates the field)."""
    task = metrics.get("task", "classification")
    if task not in METRICS_BY_TASK:
        raise InputError(path, f"unknown task {task!r} (expected one of {list(METRICS_BY_TASK)})")
    return task


def summarize(
    run_dirs: list[str | Path],
    out: str | Path,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    criterion: str = "val_loss",
) -> pd.DataFrame:
    """One row per run directory (holding metrics.json and train.json), in the given order;
    `criterion` is what the val_loss column holds and the models are ranked by.

    Columns: model, seed, the task's metric names, then <metric>_ci_low/_ci_high, then (for
    forecasting) <metric>_h<horizon> per horizon, then training facts.
    """
    if not run_dirs:
        raise InputError(None, "no run folders given")
    loaded = []
    for run in map(Path, run_dirs):
        for name in ("metrics.json", "train.json"):
            if not (run / name).is_file():
                raise InputError(run / name, "missing (train and evaluate this run first)")
        metrics, info = read_json(run / "metrics.json"), read_json(run / "train.json")
        loaded.append((run, metrics, info, run_task(metrics, run / "metrics.json")))

    first_run, _, _, task = loaded[0]
    for run, _, _, other in loaded[1:]:
        if other != task:
            raise InputError(
                run / "metrics.json",
                f"task {other!r} differs from {task!r} of {first_run / 'metrics.json'}; "
                "all runs of one dataset must share one task",
            )
    names = METRICS_BY_TASK[task]
    horizons = sorted(
        {int(h["horizon"]) for _, metrics, _, _ in loaded for h in metrics.get("per_horizon", [])}
    )

    rows = []
    for run, metrics, info, _ in loaded:
        missing = [name for name in names if name not in metrics]
        if missing:
            raise InputError(run / "metrics.json", f"lacks the {task} metric(s) {missing}")
        row = {"model": info["model"], "seed": info["seed"]}
        row.update({name: metrics[name] for name in names})
        for name in names:
            low, high = metrics.get("ci95", {}).get(name, [None, None])
            row[f"{name}_ci_low"], row[f"{name}_ci_high"] = low, high
        if task == "forecasting":
            per_horizon = {int(h["horizon"]): h for h in metrics.get("per_horizon", [])}
            for horizon in horizons:
                for name in FORECAST_METRICS:  # per-horizon columns
                    row[f"{name}_h{horizon}"] = per_horizon.get(horizon, {}).get(name)
        row.update({key: info.get(key) for key in TRAIN_COLUMNS})
        row[SELECTION] = validation_score(run, info, criterion)
        rows.append(row)
    table = pd.DataFrame(rows, columns=list(rows[0]))
    runs = {}
    for run, _, info, _ in loaded:
        runs.setdefault(str(info["model"]), []).append(run)
    comparison = compare_best(table, runs, names[0], task, n_boot, seed, criterion)
    with atomic_path(out) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    write_json(Path(out).with_name("comparison.json"), comparison)
    return table


def compare_best(
    table: pd.DataFrame,
    runs: dict[str, list[Path]],
    metric: str,
    task: str,
    n_boot: int,
    seed: int,
    criterion: str = "val_loss",
) -> dict:
    """The models ranked by validation score (`criterion`, mean over seeds): the selected one
    and the runner-up, and the paired bootstrap of their test `metric`. A model without a
    validation score ranks last."""
    what = {"val_loss": "validation loss", "calibrated_val_loss": "calibrated validation loss"}
    grouped = table.groupby("model", sort=False)
    validation = grouped[SELECTION].mean().astype(float).fillna(float("inf"))
    ranked = validation.sort_values(kind="stable")
    tested = grouped[metric].mean()
    result = {
        "selected_by": f"{what[criterion]} (mean over seeds); the test split selects nothing",
        "criterion": criterion,
        "metric": metric,
        "ranking": [
            [m, None if v == float("inf") else float(v), float(tested[m])]
            for m, v in ranked.items()
        ],
        "selected": ranked.index[0],
    }
    if len(ranked) < 2 or task in ("forecasting", "multilabel") or n_boot < 1:
        why = "one model" if len(ranked) < 2 else f"not computed for {task}"
        return result | {"paired_bootstrap": None, "note": why if n_boot else "no resamples"}
    best = ranked.index[0]
    # the runner-up is another model: an ensemble of the best model's runs alone holds the same
    # predictions (one seed) or their mean, nothing to compare
    others = [m for m in ranked.index[1:] if not _alone(runs, best, m)]
    if not others:
        return result | {"paired_bootstrap": None, "note": "no other model"}
    runner_up = others[0]
    test = paired_bootstrap(runs[best], runs[runner_up], n_boot=n_boot, seed=seed)
    return result | {"best": best, "runner_up": runner_up, "paired_bootstrap": test}


def _alone(runs: dict[str, list[Path]], a: str, b: str) -> bool:
    """Whether one of models a and b is the ensemble row whose members are the other's runs."""
    for row, model in ((a, b), (b, a)):
        if row == ENSEMBLE and row in runs:
            members = read_json(runs[row][0] / "train.json").get("members", [])
            if members and {m.split("/")[0] for m in members} == {model}:
                return True
    return False
