"""Figures: one dataset's runs -> compact SVG figures chosen by the dataset's task.

classification  comparison, roc, pr, confusion, loss
token_classification  comparison (Q3, MCC), confusion (per residue), loss
multilabel      comparison (macro AUROC and AUPRC), loss
regression      comparison (every regression metric with its CI), scatter, loss
forecasting     comparison (MSE and skill per horizon), forecast (test series over time), loss

(`FIGURES_BY_TASK`; the workflow declares exactly these outputs, so every name is always
written, if need be as a figure that says why it has nothing to show.)

Every figure is drawn from the run folders alone (predictions.tsv, history.csv, metrics.json,
train.json), so it can be regenerated without retraining. Files are deterministic: a fixed SVG
hash salt and no date in the metadata, so an unchanged input gives a byte-identical figure and
Snakemake / version control see no spurious changes. Text stays text (`svg.fonttype: none`),
curves are thinned to at most MAX_POINTS points, scatter plots to SCATTER_BUDGET points, and
each model keeps one colour in all figures.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

from genoflow.errors import InputError
from genoflow.registry import (
    FIGURES_BY_TASK,
)
from genoflow.report.figures.classification import confusion_figure, curves_figure
from genoflow.report.figures.comparison import (
    CLASSIFICATION_PANELS,
    LOSS_LABELS,
    MULTILABEL_PANELS,
    REGRESSION_PANELS,
    TOKEN_PANELS,
    comparison_figure,
    loss_figure,
)
from genoflow.report.figures.forecasting import forecast_figure, horizon_figure
from genoflow.report.figures.regression import scatter_figure
from genoflow.report.figures.style import (
    STYLE,
    Run,
    check_runs,
    load_run,
    model_colours,
    save_figure,
)


def write_figures(run_dirs: list[Path], out_dir: Path) -> list[Path]:
    """Write the SVG figures of the runs' task (FIGURES_BY_TASK) for one dataset; return paths.

    Models appear in the order of `run_dirs`; per-model figures (ROC, PR, confusion, scatter,
    forecast, loss) use each model's lowest seed, the comparison shows every seed.
    """
    if not run_dirs:
        raise InputError(None, "no run folders given")
    runs = [load_run(path) for path in run_dirs]
    task = check_runs(runs)
    colours = model_colours(runs)
    by_model: dict[str, list[Run]] = {}
    for run in runs:
        by_model.setdefault(run.model, []).append(run)
    first = [min(group, key=lambda run: run.seed) for group in by_model.values()]

    if task == "classification":
        drawers = {
            "comparison": lambda: comparison_figure(by_model, colours, CLASSIFICATION_PANELS),
            "roc": lambda: curves_figure(first, colours, kind="roc"),
            "pr": lambda: curves_figure(first, colours, kind="pr"),
            "confusion": lambda: confusion_figure(first, colours),
        }
    elif task == "token_classification":
        drawers = {
            "comparison": lambda: comparison_figure(by_model, colours, TOKEN_PANELS),
            "confusion": lambda: confusion_figure(first, colours),
        }
    elif task == "multilabel":
        drawers = {"comparison": lambda: comparison_figure(by_model, colours, MULTILABEL_PANELS)}
    elif task == "regression":
        drawers = {
            "comparison": lambda: comparison_figure(by_model, colours, REGRESSION_PANELS),
            "scatter": lambda: scatter_figure(first, colours),
        }
    else:
        drawers = {
            "comparison": lambda: horizon_figure(by_model, colours),
            "forecast": lambda: forecast_figure(first, colours),
        }
    drawers["loss"] = lambda: loss_figure(first, colours, LOSS_LABELS[task])

    out_dir = Path(out_dir)
    written = []
    with matplotlib.rc_context(STYLE):
        for name in FIGURES_BY_TASK[task]:
            figure = drawers[name]()
            path = out_dir / f"{name}.svg"
            save_figure(figure, path, title=name)
            written.append(path)
    return written


# --- regression ------------------------------------------------------------------------------


# --- forecasting -----------------------------------------------------------------------------


# --- interpretation ------------------------------------------------------------------------


# --- long-range memory ---------------------------------------------------------------------


# --- gene interactions ---------------------------------------------------------------------
