"""Figures that compare models: every model's test metrics with their intervals (one marker per
seed), training curves, and accuracy against motif distance across simulated datasets."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from genoflow.errors import InputError
from genoflow.registry import (
    REGRESSION_METRICS,
)
from genoflow.report.figures.style import (
    MODEL_COLOURS,
    STYLE,
    UNIT_INTERVAL,
    Run,
    as_float,
    message_figure,
    read_history,
    run_label,
    save_figure,
    thin,
)

LOSS_LABELS = {
    "classification": "Cross-entropy loss",
    "token_classification": "Cross-entropy loss (per residue)",
    "multilabel": "Binary cross-entropy loss (mean over labels)",
    "regression": "MSE loss (standardised targets)",
    "forecasting": "MSE loss (normalised values)",
}


# (metric, panel title): the comparison figure of classification and regression.
CLASSIFICATION_PANELS = (("accuracy", "Accuracy"), ("auroc", "AUROC"))


TOKEN_PANELS = (("q3", "Q3 (per-residue accuracy)"), ("mcc", "MCC (per residue)"))


MULTILABEL_PANELS = (("auroc", "AUROC (macro over labels)"), ("auprc", "AUPRC (macro over labels)"))


PANEL_TITLES = {
    "mse": "MSE (lower is better)",
    "mae": "MAE (lower is better)",
    "r2": "R²",
    "pearson": "Pearson r",
    "spearman": "Spearman ρ",
}


REGRESSION_PANELS = tuple((metric, PANEL_TITLES[metric]) for metric in REGRESSION_METRICS)


def comparison_figure(
    by_model: dict[str, list[Run]],
    colours: dict[str, str],
    panels: tuple[tuple[str, str], ...],
) -> Figure:
    """One panel per metric: one marker per model and seed with its 95 % bootstrap CI."""
    names = list(by_model)
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    width = 7.5 if columns <= 2 else 3.1 * columns + 1.4
    figure = Figure(figsize=(width, (1.3 + 0.42 * len(names)) * rows), layout="constrained")
    axes = figure.subplots(rows, columns, sharey=True, squeeze=False)
    for ax, (metric, title) in zip(axes.ravel(), panels, strict=False):
        values = []
        for row, name in enumerate(names):
            group = sorted(by_model[name], key=lambda run: run.seed)
            # Spread seeds a little vertically so overlapping markers and whiskers stay visible.
            offsets = np.linspace(-0.18, 0.18, len(group)) if len(group) > 1 else [0.0]
            for offset, run in zip(offsets, group, strict=True):
                value = as_float(run.metrics.get(metric))
                if math.isnan(value):
                    continue
                low, high = (
                    as_float(v) for v in run.metrics.get("ci95", {}).get(metric, [value] * 2)
                )
                low, high = (
                    (value if math.isnan(low) else low),
                    (value if math.isnan(high) else high),
                )
                values += [low, value, high]
                ax.errorbar(
                    value,
                    row + offset,
                    # Clipped at 0: a percentile interval can miss the point estimate slightly.
                    xerr=[[max(0.0, value - low)], [max(0.0, high - value)]],
                    fmt="s" if run.baseline else "o",
                    markersize=5,
                    markerfacecolor="white" if run.baseline else colours[name],
                    color=colours[name],
                    capsize=2.5,
                    linewidth=1.2,
                )
            scores = [as_float(run.metrics.get(metric)) for run in group]
            if group[0].baseline and not all(math.isnan(s) for s in scores):
                # The baseline's mean as a reference line: where "better than the floor" begins.
                mean = float(np.nanmean(scores))
                ax.axvline(mean, color=colours[name], linestyle=":", linewidth=1)
        if metric in UNIT_INTERVAL:
            finite = [low for low in values if np.isfinite(low)]
            left = max(0.0, min(finite, default=0.0) - 0.03)
            ax.set_xlim(left, 1.0 if left < 0.97 else 1.005)
        else:
            ax.margins(x=0.08)
        ax.set_title(f"Test {title}" if len(panels) > 2 else f"Test {title} (95% CI)")
        ax.set_xlabel(title.split(" (")[0])
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
    for ax in axes.ravel()[len(panels) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels([run_label(name, by_model[name][0]) for name in names])
        for tick, name in zip(ax.get_yticklabels(), names, strict=True):
            tick.set_color(colours[name])
    for ax in axes[:, 1:].ravel():
        ax.yaxis.set_tick_params(labelleft=False)
    axes[0, 0].set_ylim(len(names) - 0.5, -0.5)  # first model on top
    what = "one marker per seed" if len(panels) <= 2 else "one marker per seed, 95% CI bars"
    figure.suptitle(f"Model comparison on the test split ({what})", fontsize=10)
    return figure


def loss_figure(
    runs: list[Run], colours: dict[str, str], ylabel: str = LOSS_LABELS["classification"]
) -> Figure:
    """Train (dashed) and validation (solid) loss per epoch, one panel per neural model."""
    # Baselines' history rows are regularisation candidates (or none), not epochs: skip them.
    neural = [(run, read_history(run.path / "history.csv")) for run in runs if not run.baseline]
    neural = [(run, history) for run, history in neural if history is not None]
    if not neural:
        return message_figure("No neural model with a training history in this comparison.")
    columns = min(3, len(neural))
    rows = math.ceil(len(neural) / columns)
    width = max(4.8, 3.2 * columns + 0.3)  # room for the title when there is one panel
    figure = Figure(figsize=(width, 2.5 * rows + 0.6), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False, sharey=True).ravel()
    for ax, (run, history) in zip(axes, neural, strict=False):
        colour = colours[run.model]
        epochs = history["epoch"].to_numpy(dtype=float)
        for column, style, label in (
            ("train_loss", "--", "train"),
            ("val_loss", "-", "validation"),
        ):
            if column not in history:
                continue
            x, y = thin(epochs, pd.to_numeric(history[column], errors="coerce").to_numpy())
            ax.plot(
                x,
                y,
                linestyle=style,
                color=colour,
                linewidth=1.4,
                label=label,
                marker="o" if len(x) <= 30 else None,
                markersize=2.5,
            )
        best = run.info.get("best_epoch")
        if best is not None and "val_loss" in history:
            hit = history.index[history["epoch"] == best]
            if len(hit):
                ax.plot(
                    best,
                    float(history.loc[hit[0], "val_loss"]),
                    marker="*",
                    markersize=10,
                    color=colour,
                    linestyle="none",
                    label="kept checkpoint",
                )
        ax.set_title(f"{run.model} (seed {run.seed})", color=colour)
        ax.set_xlabel("Epoch")
        ax.set_ylabel(ylabel)
        ax.yaxis.set_tick_params(labelleft=True)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(color="#eeeeee", linewidth=0.6)
        ax.legend(frameon=False)
    for ax in axes[len(neural) :]:
        ax.set_visible(False)
    figure.suptitle("Training curves: train (dashed) and validation (solid) loss", fontsize=10)
    return figure


def write_distance_figure(summaries: dict[int, Path], out: Path) -> Path:
    """Test accuracy against motif distance (workflow/configs/long_range.yaml): one line per
    model through its mean over seeds, every seed a dot, chance (0.5) dotted."""
    rows = []
    for distance, path in summaries.items():
        table = pd.read_csv(path, sep="\t", dtype={"model": str})
        if "accuracy" not in table:
            raise InputError(path, "not a classification summary (no accuracy column)")
        rows.append(table.assign(distance=distance)[["model", "seed", "accuracy", "distance"]])
    data = pd.concat(rows, ignore_index=True)
    models = list(dict.fromkeys(data["model"]))
    colours = {m: MODEL_COLOURS[i % len(MODEL_COLOURS)] for i, m in enumerate(models)}
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(6.5, 3.6), layout="constrained")
        ax = figure.subplots()
        for model in models:
            runs = data[data["model"] == model]
            means = runs.groupby("distance")["accuracy"].mean().sort_index()
            ax.plot(means.index, means.values, marker="o", color=colours[model], label=model)
            ax.scatter(runs["distance"], runs["accuracy"], s=10, color=colours[model], alpha=0.45)
        ax.axhline(0.5, color="#999999", linestyle=":", linewidth=1, label="chance")
        distances = sorted(summaries)
        if len(distances) > 1 and min(distances) > 0:
            ax.set_xscale("log")
            ax.minorticks_off()  # only the distances measured are labelled
        ax.set_xticks(distances, [str(d) for d in distances])
        ax.set_xlabel("Letters between the two motifs")
        ax.set_ylabel("Test accuracy")
        ax.set_ylim(0.4, 1.02)
        ax.set_title("Long-range memory: accuracy against motif distance", loc="left")
        ax.legend(frameon=False, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
        save_figure(figure, Path(out), title="distance")
    return Path(out)
