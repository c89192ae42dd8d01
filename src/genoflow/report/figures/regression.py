"""Regression figures: predicted against measured values, one panel per model."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from genoflow.report.figures.style import (
    TARGET_STYLES,
    Run,
    as_float,
    run_label,
    thin,
)

SCATTER_BUDGET = 800  # points per scatter figure, shared by its panels and targets


MAX_SCATTER_TARGETS = 3


def scatter_figure(runs: list[Run], colours: dict[str, str]) -> Figure:
    """Predicted against measured test values, one panel per model (first seed), identity line.

    With several targets the first MAX_SCATTER_TARGETS are drawn, told apart by colour and
    marker; the panel title gives the model's R² and Pearson r from metrics.json (the mean over
    all targets, as in the comparison table).
    """
    targets = runs[0].targets
    shown = targets[:MAX_SCATTER_TARGETS]
    several = len(targets) > 1
    columns = min(3, len(runs))
    rows = math.ceil(len(runs) / columns)
    figure = Figure(figsize=(3.1 * columns + 0.4, 3.2 * rows + 0.6), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    limit = max(25, SCATTER_BUDGET // (len(runs) * len(shown)))
    for ax, run in zip(axes, runs, strict=False):
        low, high = math.inf, -math.inf
        for target, (colour, marker) in zip(shown, TARGET_STYLES, strict=False):
            truth = pd.to_numeric(run.table[f"true_{target}"], errors="coerce").to_numpy(float)
            predicted = pd.to_numeric(run.table[f"pred_{target}"], errors="coerce").to_numpy(float)
            keep = np.isfinite(truth) & np.isfinite(predicted)
            truth, predicted = truth[keep], predicted[keep]
            if not len(truth):
                continue
            low = min(low, truth.min(), predicted.min())
            high = max(high, truth.max(), predicted.max())
            truth, predicted = thin(truth, predicted, limit=limit)
            ax.plot(
                truth,
                predicted,
                linestyle="none",
                marker=marker if several else "o",
                markersize=3,
                markeredgewidth=0,
                alpha=0.6,
                color=colour if several else colours[run.model],
                label=target,
            )
        if not math.isfinite(low):
            ax.text(0.5, 0.5, "no finite predictions", ha="center", va="center")
            low, high = 0.0, 1.0
        pad = 0.04 * (high - low) if high > low else 0.5
        ax.plot(
            [low - pad, high + pad],
            [low - pad, high + pad],
            color="#888888",
            linestyle="--",
            linewidth=1,
            label="y = x",
        )
        ax.set_xlim(low - pad, high + pad)
        ax.set_ylim(low - pad, high + pad)
        ax.set_aspect("equal")
        r2, pearson = as_float(run.metrics.get("r2")), as_float(run.metrics.get("pearson"))
        mean = f" (mean of {len(targets)} targets)" if several else ""
        ax.set_title(
            f"{run_label(run.model, run)}\nR² {r2:.3f} · Pearson r {pearson:.3f}{mean}",
            color=colours[run.model],
            fontsize=9,
        )
        ax.set_xlabel("Measured")
        ax.set_ylabel("Predicted")
        ax.grid(color="#eeeeee", linewidth=0.6)
        ax.set_axisbelow(True)
        if several:
            ax.legend(loc="upper left", fontsize=7, markerscale=1.6, frameon=False)
    for ax in axes[len(runs) :]:
        ax.set_visible(False)
    which = f"; first {len(shown)} of {len(targets)} targets" if len(targets) > len(shown) else ""
    figure.suptitle(
        f"Predicted vs measured on the test split (first seed of each model{which})",
        fontsize=10,
    )
    return figure
