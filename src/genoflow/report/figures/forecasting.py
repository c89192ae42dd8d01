"""Forecasting figures: error and skill per horizon, and a test series over time with each model's
forecast."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from genoflow.report.figures.style import (
    PERSISTENCE_COLOUR,
    TRUTH_COLOUR,
    Run,
    as_float,
    message_figure,
    run_label,
    thin,
)

MAX_FORECAST_GENES = 4


def horizon_values(run: Run, metric: str) -> dict[int, float]:
    return {
        int(row["horizon"]): as_float(row.get(metric)) for row in run.metrics.get("per_horizon", [])
    }


def horizon_figure(by_model: dict[str, list[Run]], colours: dict[str, str]) -> Figure:
    """Test MSE and skill against persistence per horizon: one line per model (mean of seeds,
    each seed a small dot), baselines grey and dashed, persistence's skill 0 as reference."""
    horizons = sorted(
        {h for group in by_model.values() for run in group for h in horizon_values(run, "mse")}
    )
    if not horizons:
        return message_figure("No per-horizon metrics in these runs' metrics.json.")
    figure = Figure(figsize=(8.4, 3.1), layout="constrained")
    ax_mse, ax_skill = figure.subplots(1, 2, sharex=True)
    ax_skill.axhline(
        0, color="#bbbbbb", linestyle="--", linewidth=1.2, label="persistence (skill 0)"
    )
    for name, group in by_model.items():
        group = sorted(group, key=lambda run: run.seed)
        baseline = group[0].baseline
        for ax, metric in ((ax_mse, "mse"), (ax_skill, "skill")):
            table = np.array(
                [[horizon_values(run, metric).get(h, math.nan) for h in horizons] for run in group]
            )
            counts = np.isfinite(table).sum(axis=0)
            mean = np.where(counts > 0, np.nansum(table, axis=0) / np.maximum(counts, 1), math.nan)
            ax.plot(
                horizons,
                mean,
                color=colours[name],
                linestyle="--" if baseline else "-",
                marker="s" if baseline else "o",
                markersize=4.5,
                markerfacecolor="white" if baseline else colours[name],
                linewidth=1.4,
                label=run_label(name, group[0]),
            )
            if len(group) > 1:
                ax.plot(
                    np.tile(horizons, len(group)),
                    table.ravel(),
                    linestyle="none",
                    marker=".",
                    markersize=3,
                    alpha=0.5,
                    color=colours[name],
                )
    ax_mse.set_title("Test MSE per horizon (lower is better)")
    ax_mse.set_ylabel("MSE (standardised per gene)")
    ax_skill.set_title("Skill vs persistence (higher is better)")
    ax_skill.set_ylabel("1 − MSE / MSE of persistence")
    for ax in (ax_mse, ax_skill):
        ax.set_xlabel("Horizon (steps ahead)")
        ax.set_xticks(horizons)
        if len(horizons) == 1:
            ax.set_xlim(horizons[0] - 0.5, horizons[0] + 0.5)
        ax.grid(color="#eeeeee", linewidth=0.6)
        ax.set_axisbelow(True)
    handles, labels = ax_skill.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside right upper", fontsize=7.5, frameon=False)
    figure.suptitle(
        "Forecast error per horizon on the test windows (line: mean over seeds)", fontsize=10
    )
    return figure


def forecast_figure(runs: list[Run], colours: dict[str, str]) -> Figure:
    """Measured values and one-step-ahead forecasts over time on the first test series.

    Up to MAX_FORECAST_GENES genes, those whose measured values vary most on that series, one
    panel each; every model's first seed (baselines dash-dotted) and persistence (dashed: the
    last observed value, which is what persistence predicts).
    """
    table = runs[0].table
    if table is None or table.empty:
        return message_figure("No test windows to draw forecasts for.")
    horizon = int(table["horizon"].min())
    first = table[table["horizon"] == horizon]
    series_names = list(dict.fromkeys(first["series"]))
    series = series_names[0]
    part = first[first["series"] == series]
    truth = part.pivot_table(index="time", columns="gene", values="truth", aggfunc="first")
    last = part.pivot_table(index="time", columns="gene", values="last", aggfunc="first")
    order = list(dict.fromkeys(part["gene"]))
    spread = truth.var(axis=0, ddof=0).reindex(order).fillna(0.0)
    # Largest variance first; ties keep the table's gene order (a stable sort).
    genes = [order[i] for i in np.argsort(-spread.to_numpy(), kind="stable")]
    genes = genes[:MAX_FORECAST_GENES]
    columns = min(2, len(genes))
    rows = math.ceil(len(genes) / columns)
    figure = Figure(figsize=(4.0 * columns + 0.4, 2.5 * rows + 1.0), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    # A persistence run keeps its colour from the other figures; its forecast is `last`.
    persistence_colour = next(
        (colours[run.model] for run in runs if run.type == "persistence"), PERSISTENCE_COLOUR
    )
    forecasts = {}
    for run in runs:
        if run.type == "persistence":
            continue  # identical to the dashed persistence line
        rows_of = run.table[(run.table["horizon"] == horizon) & (run.table["series"] == series)]
        forecasts[run.model] = (
            run,
            rows_of.pivot_table(index="time", columns="gene", values="predicted", aggfunc="first"),
        )
    for ax, gene in zip(axes, genes, strict=False):
        time, values = thin(truth.index.to_numpy(float), truth[gene].to_numpy(float))
        ax.plot(
            time,
            values,
            color=TRUTH_COLOUR,
            linewidth=1.8,
            marker="o",
            markersize=3,
            label="measured",
            zorder=3,
        )
        time, values = thin(last.index.to_numpy(float), last[gene].to_numpy(float))
        ax.plot(
            time,
            values,
            color=persistence_colour,
            linestyle="--",
            linewidth=1.3,
            label="persistence (last observed value)",
        )
        for model, (run, predicted) in forecasts.items():
            if gene not in predicted:
                continue
            time, values = thin(predicted.index.to_numpy(float), predicted[gene].to_numpy(float))
            ax.plot(
                time,
                values,
                color=colours[model],
                linestyle="-." if run.baseline else "-",
                linewidth=1.3,
                label=run_label(model, run),
            )
        ax.set_title(f"{gene} (variance {spread[gene]:.3g})", fontsize=9)
        ax.set_xlabel("Time")
        ax.set_ylabel("Expression")
        ax.grid(color="#eeeeee", linewidth=0.6)
        ax.set_axisbelow(True)
    for ax in axes[len(genes) :]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(
        handles,
        labels,
        loc="outside lower center",
        ncols=min(4, len(labels)),
        frameon=False,
        fontsize=7.5,
    )
    others = f" (1 of {len(series_names)} test series)" if len(series_names) > 1 else ""
    ahead = "One-step-ahead" if horizon == 1 else f"{horizon}-steps-ahead"
    figure.suptitle(
        f"{ahead} forecasts on test series {series}{others}, first seed of each model",
        fontsize=10,
    )
    return figure
