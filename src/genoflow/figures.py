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

import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn import metrics as skm

from genoflow.errors import InputError
from genoflow.io import atomic_path, read_json
from genoflow.metrics import (
    FORECAST_COLUMNS,
    REGRESSION_METRICS,
    predictions_task,
    read_predictions,
)

FIGURES_BY_TASK = {
    "classification": ("comparison", "roc", "pr", "confusion", "loss"),
    "token_classification": ("comparison", "confusion", "loss"),
    "multilabel": ("comparison", "loss"),
    "regression": ("comparison", "scatter", "loss"),
    "forecasting": ("comparison", "forecast", "loss"),
}
FIGURES = FIGURES_BY_TASK["classification"]
# Non-neural baselines of every task: drawn grey and hollow, left out of training curves.
BASELINE_TYPES = frozenset(
    {"kmer_logreg", "kmer_ridge", "window_logreg", "persistence", "ridge_ar"}
)
MAX_POINTS = 300  # per curve
CURVE_BUDGET = 3600  # per ROC / PR figure, shared by its curves
SCATTER_BUDGET = 800  # points per scatter figure, shared by its panels and targets
MAX_ANNOTATED_CLASSES = 12
MAX_SCATTER_TARGETS = 3
MAX_FORECAST_GENES = 4
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
UNIT_INTERVAL = frozenset({"accuracy", "q3", "balanced_accuracy", "auroc", "auprc", "f1"})

# Colour-blind-friendly palette (Okabe-Ito, less its pale yellow) for the neural models;
# baselines are grey so the honest floor never reads as one of the contenders.
MODEL_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000")
BASELINE_COLOURS = ("#555555", "#999999")
# Several regression targets in one scatter panel: told apart by colour and marker shape.
TARGET_STYLES = (("#0072B2", "o"), ("#D55E00", "^"), ("#009E73", "s"))
TRUTH_COLOUR = "#1d2329"
PERSISTENCE_COLOUR = "#999999"

STYLE = {
    "svg.fonttype": "none",  # keep text as <text>: small files, searchable and editable
    "svg.hashsalt": "genoflow",  # deterministic element ids
    "text.parse_math": False,  # a "$" in a model or class name is text, not TeX
    # A short font list: matplotlib writes the whole list into every <text> element. DejaVu Sans
    # ships with matplotlib (layout metrics); viewers without it fall back to a similar sans.
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "path.simplify": True,
    "path.simplify_threshold": 0.5,  # pixels: drop vertices that would not show
}


@dataclass
class Run:
    """One (model, seed) run folder, loaded.

    `table` is predictions.tsv; classification runs also carry `classes`, `y` (true class
    indices) and `probs`, regression runs their `targets`.
    """

    path: Path
    model: str
    type: str
    seed: int
    info: dict
    metrics: dict
    task: str = "classification"
    table: pd.DataFrame | None = None
    classes: list[str] = field(default_factory=list)
    y: np.ndarray | None = None
    probs: np.ndarray | None = None
    targets: list[str] = field(default_factory=list)

    @property
    def baseline(self) -> bool:
        return self.type in BASELINE_TYPES


def load_run(run_dir: str | Path) -> Run:
    """Read the files of one run folder; a missing or malformed file is an InputError naming it.

    The task is metrics.json's "task" (older files without it: told by the predictions' columns).
    """
    run_dir = Path(run_dir)
    for name in ("train.json", "metrics.json", "predictions.tsv"):
        if not (run_dir / name).is_file():
            raise InputError(run_dir / name, "missing (train and evaluate this run first)")
    info, metrics = read_json(run_dir / "train.json"), read_json(run_dir / "metrics.json")
    path = run_dir / "predictions.tsv"
    task = metrics.get("task") or predictions_task(
        list(pd.read_csv(path, sep="\t", nrows=0).columns)
    )
    run = Run(
        path=run_dir,
        model=str(info["model"]),
        type=str(info.get("type", info["model"])),
        seed=int(info.get("seed", 0)),
        info=info,
        metrics=metrics,
        task=task,
    )
    if task in ("classification", "token_classification"):
        labelled_only = task == "token_classification"
        run.table, run.classes, run.y, run.probs = read_predictions(path, labelled_only)
    elif task == "multilabel":
        run.table = pd.read_csv(path, sep="\t", dtype={"id": str})
        run.targets = [c.removeprefix("true_") for c in run.table if c.startswith("true_")]
        if not run.targets:
            raise InputError(path, "not a multilabel predictions table (no true_<label>)")
    elif task == "regression":
        run.table = pd.read_csv(path, sep="\t", dtype={"id": str})
        run.targets = [c.removeprefix("true_") for c in run.table if c.startswith("true_")]
        missing = [f"pred_{t}" for t in run.targets if f"pred_{t}" not in run.table]
        if not run.targets or missing:
            raise InputError(
                path, f"not a regression predictions table (missing {missing or 'true_<target>'})"
            )
    elif task == "forecasting":
        run.table = pd.read_csv(path, sep="\t", dtype={"series": str, "gene": str})
        missing = [c for c in FORECAST_COLUMNS if c not in run.table]
        if missing:
            raise InputError(path, f"not a forecasting predictions table (missing {missing})")
    else:
        raise InputError(run_dir / "metrics.json", f"unknown task {task!r}")
    return run


def model_colours(runs: list[Run]) -> dict[str, str]:
    """A fixed colour per model name, in the order the models first appear."""
    colours: dict[str, str] = {}
    neural = baseline = 0
    for run in runs:
        if run.model in colours:
            continue
        if run.baseline:
            colours[run.model] = BASELINE_COLOURS[baseline % len(BASELINE_COLOURS)]
            baseline += 1
        else:
            colours[run.model] = MODEL_COLOURS[neural % len(MODEL_COLOURS)]
            neural += 1
    return colours


def _check_runs(runs: list[Run]) -> str:
    """The task all runs share; runs of another task, classes or targets are an InputError."""
    first = runs[0]
    for run in runs[1:]:
        if run.task != first.task:
            raise InputError(
                run.path / "metrics.json",
                f"task {run.task!r} differs from {first.task!r} in {first.path}",
            )
        if run.classes != first.classes:
            raise InputError(
                run.path / "predictions.tsv",
                f"classes {run.classes} differ from {first.classes} in {first.path}",
            )
        if run.targets != first.targets:
            raise InputError(
                run.path / "predictions.tsv",
                f"targets {run.targets} differ from {first.targets} in {first.path}",
            )
    return first.task


def write_figures(run_dirs: list[Path], out_dir: Path) -> list[Path]:
    """Write the SVG figures of the runs' task (FIGURES_BY_TASK) for one dataset; return paths.

    Models appear in the order of `run_dirs`; per-model figures (ROC, PR, confusion, scatter,
    forecast, loss) use each model's lowest seed, the comparison shows every seed.
    """
    if not run_dirs:
        raise InputError(None, "no run folders given")
    runs = [load_run(path) for path in run_dirs]
    task = _check_runs(runs)
    colours = model_colours(runs)
    by_model: dict[str, list[Run]] = {}
    for run in runs:
        by_model.setdefault(run.model, []).append(run)
    first = [min(group, key=lambda run: run.seed) for group in by_model.values()]

    if task == "classification":
        drawers = {
            "comparison": lambda: _comparison(by_model, colours, CLASSIFICATION_PANELS),
            "roc": lambda: _curves(first, colours, kind="roc"),
            "pr": lambda: _curves(first, colours, kind="pr"),
            "confusion": lambda: _confusion(first, colours),
        }
    elif task == "token_classification":
        drawers = {
            "comparison": lambda: _comparison(by_model, colours, TOKEN_PANELS),
            "confusion": lambda: _confusion(first, colours),
        }
    elif task == "multilabel":
        drawers = {"comparison": lambda: _comparison(by_model, colours, MULTILABEL_PANELS)}
    elif task == "regression":
        drawers = {
            "comparison": lambda: _comparison(by_model, colours, REGRESSION_PANELS),
            "scatter": lambda: _scatter(first, colours),
        }
    else:
        drawers = {
            "comparison": lambda: _horizon_comparison(by_model, colours),
            "forecast": lambda: _forecast(first, colours),
        }
    drawers["loss"] = lambda: _loss(first, colours, LOSS_LABELS[task])

    out_dir = Path(out_dir)
    written = []
    with matplotlib.rc_context(STYLE):
        for name in FIGURES_BY_TASK[task]:
            figure = drawers[name]()
            path = out_dir / f"{name}.svg"
            _save(figure, path, title=name)
            written.append(path)
    return written


def _message(text: str) -> Figure:
    """A small figure that only says why there is nothing to draw."""
    figure = Figure(figsize=(5, 1.6), layout="constrained")
    ax = figure.subplots()
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True)
    return figure


def _save(figure: Figure, path: Path, title: str) -> None:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Title": f"genoflow {title}"})
    with atomic_path(path) as tmp:
        tmp.write_text(compact_svg(buffer.getvalue()))


_PATH_DATA = re.compile(r'(?<![\w-])(d|x|y|transform)="([^"]*)"')
_LONG_NUMBER = re.compile(r"-?\d+\.\d{3,}")


def compact_svg(text: str) -> str:
    """Round path and position coordinates to 0.01 pt (matplotlib writes 6 decimals).

    A hundredth of a point is far below what a screen or printer resolves, and it makes curve
    figures about a third smaller. Only coordinates change: text, ids and styles are untouched.
    """

    def shorten(match: re.Match) -> str:
        numbers = _LONG_NUMBER.sub(lambda n: _short(float(n.group())), match.group(2))
        return f'{match.group(1)}="{" ".join(numbers.split())}"'

    return _PATH_DATA.sub(shorten, text)


def _short(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def thin(*columns: np.ndarray, limit: int = MAX_POINTS) -> list[np.ndarray]:
    """Keep at most `limit` evenly spaced points of parallel arrays, always with both ends."""
    n = len(columns[0])
    if n <= limit:
        return list(columns)
    keep = np.unique(np.linspace(0, n - 1, limit).round().astype(int))
    return [np.asarray(column)[keep] for column in columns]


def _label(model: str, run: Run) -> str:
    return f"{model} (baseline)" if run.baseline else model


def _comparison(
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
                value = _float(run.metrics.get(metric))
                if math.isnan(value):
                    continue
                low, high = (
                    _float(v) for v in run.metrics.get("ci95", {}).get(metric, [value] * 2)
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
            scores = [_float(run.metrics.get(metric)) for run in group]
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
        ax.set_yticklabels([_label(name, by_model[name][0]) for name in names])
        for tick, name in zip(ax.get_yticklabels(), names, strict=True):
            tick.set_color(colours[name])
    for ax in axes[:, 1:].ravel():
        ax.yaxis.set_tick_params(labelleft=False)
    axes[0, 0].set_ylim(len(names) - 0.5, -0.5)  # first model on top
    what = "one marker per seed" if len(panels) <= 2 else "one marker per seed, 95% CI bars"
    figure.suptitle(f"Model comparison on the test split ({what})", fontsize=10)
    return figure


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _curve(kind: str, truth: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(x, y, area) of a ROC (FPR, TPR, AUROC) or PR (recall, precision, AP) curve."""
    if not truth.any() or truth.all():
        return np.array([]), np.array([]), math.nan  # undefined with one class in the test set
    if kind == "roc":
        fpr, tpr, _ = skm.roc_curve(truth, score)
        return fpr, tpr, float(skm.auc(fpr, tpr))
    precision, recall, _ = skm.precision_recall_curve(truth, score)
    return recall, precision, float(skm.average_precision_score(truth, score))


def _curves(runs: list[Run], colours: dict[str, str], kind: str) -> Figure:
    """ROC or PR curves: one panel if binary (last class positive), else one per class."""
    classes = runs[0].classes
    binary = len(classes) == 2
    panels = [len(classes) - 1] if binary else list(range(len(classes)))
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    # At least 4.8 in wide: room for the title above a single (binary) panel.
    width = max(4.8, 3.3 * columns + 0.4)
    figure = Figure(figsize=(width, 3.2 * rows + 0.5), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    area_name = "AUC" if kind == "roc" else "AP"
    # A budget of vertices per figure keeps many-class, many-model figures small too.
    limit = max(60, min(MAX_POINTS, CURVE_BUDGET // (len(panels) * len(runs))))
    for ax, positive in zip(axes, panels, strict=False):
        for run in runs:
            x, y, area = _curve(kind, run.y == positive, run.probs[:, positive])
            if not len(x):
                continue
            x, y = thin(x, y, limit=limit)
            ax.plot(
                x,
                y,
                color=colours[run.model],
                linewidth=1.4,
                linestyle="--" if run.baseline else "-",
                drawstyle="default" if kind == "roc" else "steps-post",
                label=f"{run.model}  {area:.3f}",
            )
        if kind == "roc":
            ax.plot([0, 1], [0, 1], color="#bbbbbb", linestyle=":", linewidth=1, label="chance")
            ax.set_xlabel("False positive rate (1 − specificity)")
            ax.set_ylabel("True positive rate (sensitivity)")
        else:
            # A classifier that guesses scores the positive class's share of the test set.
            prevalence = float((runs[0].y == positive).mean())
            ax.axhline(prevalence, color="#bbbbbb", linestyle=":", linewidth=1, label="chance")
            ax.set_xlabel("Recall (sensitivity)")
            ax.set_ylabel("Precision")
        ax.set_xlim(-0.01, 1.01)
        ax.set_ylim(-0.01, 1.02)
        ax.set_aspect("equal")
        name = classes[positive]
        ax.set_title(f"{name} (positive class)" if binary else f"{name} vs rest")
        ax.legend(
            title=area_name,
            loc="lower right" if kind == "roc" else "lower left",
            fontsize=8 if len(runs) <= 4 else 7,
            framealpha=0.85,
            edgecolor="none",
        )
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    what = "ROC" if kind == "roc" else "Precision-recall"
    figure.suptitle(f"{what} curves on the test split (first seed of each model)", fontsize=10)
    return figure


def _confusion(runs: list[Run], colours: dict[str, str]) -> Figure:
    """Row-normalised confusion matrices (rows = true class), counts written in the cells."""
    classes = runs[0].classes
    k = len(classes)
    columns = min(3, len(runs))
    rows = math.ceil(len(runs) / columns)
    size = 1.0 + 0.45 * k
    figure = Figure(figsize=(size * columns + 1.0, (size + 0.5) * rows + 0.5), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    mesh = None
    annotate = k <= MAX_ANNOTATED_CLASSES  # beyond that, numbers would be unreadable
    fontsize = 8 if k <= 6 else 6
    for ax, run in zip(axes, runs, strict=False):
        counts = np.asarray(run.metrics.get("confusion_matrix") or _confusion_counts(run))
        totals = counts.sum(axis=1, keepdims=True)
        fraction = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
        mesh = ax.pcolormesh(
            fraction, cmap="Blues", vmin=0, vmax=1, edgecolors="white", linewidth=0.5
        )
        for (i, j), count in np.ndenumerate(counts if annotate else np.empty((0, 0))):
            ax.text(
                j + 0.5,
                i + 0.5,
                str(int(count)),
                ha="center",
                va="center",
                fontsize=fontsize,
                color="white" if fraction[i, j] > 0.55 else "black",
            )
        ax.set_xticks(np.arange(k) + 0.5, classes, rotation=45 if k > 3 else 0)
        ax.set_yticks(np.arange(k) + 0.5, classes)
        ax.set_ylim(k, 0)  # true class 0 on top, as in the printed matrix
        ax.set_aspect("equal")
        ax.set_xlabel("Predicted class")
        ax.set_ylabel("True class")
        accuracy = float(run.metrics.get("accuracy", math.nan))
        ax.set_title(f"{_label(run.model, run)}\naccuracy {accuracy:.3f}", color=colours[run.model])
        for spine in ax.spines.values():
            spine.set_visible(False)
    for ax in axes[len(runs) :]:
        ax.set_visible(False)
    if mesh is not None:
        figure.colorbar(
            mesh, ax=axes[: len(runs)].tolist(), shrink=0.8, label="Fraction of true class"
        )
    what = "counts; colour = row fraction" if annotate else "colour = row fraction"
    figure.suptitle(f"Confusion matrices on the test split ({what})", fontsize=10)
    return figure


def _confusion_counts(run: Run) -> np.ndarray:
    k = len(run.classes)
    return skm.confusion_matrix(run.y, run.probs.argmax(axis=1), labels=range(k))


def read_history(path: Path) -> pd.DataFrame | None:
    """history.csv, or None when it is missing or has no epochs."""
    if not path.is_file():
        return None
    table = pd.read_csv(path)
    return table if len(table) and "epoch" in table else None


def _loss(
    runs: list[Run], colours: dict[str, str], ylabel: str = LOSS_LABELS["classification"]
) -> Figure:
    """Train (dashed) and validation (solid) loss per epoch, one panel per neural model."""
    # Baselines' history rows are regularisation candidates (or none), not epochs: skip them.
    neural = [(run, read_history(run.path / "history.csv")) for run in runs if not run.baseline]
    neural = [(run, history) for run, history in neural if history is not None]
    if not neural:
        return _message("No neural model with a training history in this comparison.")
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


# --- regression ------------------------------------------------------------------------------


def _scatter(runs: list[Run], colours: dict[str, str]) -> Figure:
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
        r2, pearson = _float(run.metrics.get("r2")), _float(run.metrics.get("pearson"))
        mean = f" (mean of {len(targets)} targets)" if several else ""
        ax.set_title(
            f"{_label(run.model, run)}\nR² {r2:.3f} · Pearson r {pearson:.3f}{mean}",
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


# --- forecasting -----------------------------------------------------------------------------


def _horizon_values(run: Run, metric: str) -> dict[int, float]:
    return {
        int(row["horizon"]): _float(row.get(metric)) for row in run.metrics.get("per_horizon", [])
    }


def _horizon_comparison(by_model: dict[str, list[Run]], colours: dict[str, str]) -> Figure:
    """Test MSE and skill against persistence per horizon: one line per model (mean of seeds,
    each seed a small dot), baselines grey and dashed, persistence's skill 0 as reference."""
    horizons = sorted(
        {h for group in by_model.values() for run in group for h in _horizon_values(run, "mse")}
    )
    if not horizons:
        return _message("No per-horizon metrics in these runs' metrics.json.")
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
                [[_horizon_values(run, metric).get(h, math.nan) for h in horizons] for run in group]
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
                label=_label(name, group[0]),
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
    ax_mse.set_ylabel("MSE (original units)")
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


def _forecast(runs: list[Run], colours: dict[str, str]) -> Figure:
    """Measured values and one-step-ahead forecasts over time on the first test series.

    Up to MAX_FORECAST_GENES genes, those whose measured values vary most on that series, one
    panel each; every model's first seed (baselines dash-dotted) and persistence (dashed: the
    last observed value, which is what persistence predicts).
    """
    table = runs[0].table
    if table is None or table.empty:
        return _message("No test windows to draw forecasts for.")
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
                label=_label(model, run),
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


# --- interpretation ------------------------------------------------------------------------

INTERPRETATION_FIGURES = ("logo", "maps")
# Nucleotides in the usual logo colours; residues by chemistry (acidic, basic, polar, other).
LETTER_COLOURS = {"A": "#109648", "C": "#255C99", "G": "#F7B32B", "T": "#D62839", "U": "#D62839"}
RESIDUE_GROUPS = (("DE", "#D62839"), ("KRH", "#255C99"), ("STNQCGY", "#109648"))
MAX_MAPS = 4  # records drawn in maps.svg
LOGO_FLOOR = 0.01  # letters below this share of the largest height are not drawn


def write_interpretation_figures(interpret_dir: Path) -> list[Path]:
    """logo.svg (per class, the aggregate ISM logo of correctly classified test records; a note
    when lengths vary) and maps.svg (ISM, saliency and attention of a few test records), from
    the files `genoflow interpret` wrote to `interpret_dir`."""
    interpret_dir = Path(interpret_dir)
    summary = read_json(interpret_dir / "summary.json")
    records = pd.read_csv(interpret_dir / "records.tsv", sep="\t", dtype={"id": str})
    arrays = {
        name: np.load(interpret_dir / f"{name}.npy")
        for name in ("ism", "saliency", "attention")
        if (interpret_dir / f"{name}.npy").is_file()
    }
    drawers = {"logo": lambda: _logos(summary), "maps": lambda: _maps(summary, records, arrays)}
    written = []
    with matplotlib.rc_context(STYLE):
        for name in INTERPRETATION_FIGURES:
            path = interpret_dir / f"{name}.svg"
            _save(drawers[name](), path, title=f"{name} ({summary['model']})")
            written.append(path)
    return written


def _letter_colour(letter: str) -> str:
    if letter in LETTER_COLOURS:
        return LETTER_COLOURS[letter]
    for members, colour in RESIDUE_GROUPS:
        if letter in members:
            return colour
    return "#333333"


def _logos(summary: dict) -> Figure:
    logos = summary["logos"]
    if not logos:
        why = "lengths vary, so positions do not align" if not summary["fixed_length"] else (
            "no class has a correctly classified test record"
        )  # fmt: skip
        return _message(f"No aggregate logo: {why}. See the per-record maps.")
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    font = FontProperties(family="DejaVu Sans", weight="bold")
    glyphs = {letter: TextPath((0, 0), letter, size=1, prop=font) for letter in summary["letters"]}
    width = len(next(iter(logos.values())))
    figure = Figure(
        figsize=(min(12, 2 + 0.14 * width), 1.5 * len(logos) + 0.4), layout="constrained"
    )
    axes = figure.subplots(len(logos), 1, squeeze=False, sharex=True).ravel()
    for ax, (name, matrix) in zip(axes, logos.items(), strict=True):
        matrix = np.asarray(matrix)
        floor = LOGO_FLOOR * max(np.abs(matrix).max(), 1e-12)
        for position, heights in enumerate(matrix, start=1):
            up = down = 0.0
            for k in np.argsort(np.abs(heights)):
                height = heights[k]
                if abs(height) < floor:
                    continue
                base = up if height > 0 else down - abs(height)
                _glyph(ax, glyphs[summary["letters"][k]], position, base, abs(height),
                       _letter_colour(summary["letters"][k]))  # fmt: skip
                up, down = (up + height, down) if height > 0 else (up, down + height)
        top = max(matrix.clip(min=0).sum(axis=1).max(), 1e-6)
        bottom = min(matrix.clip(max=0).sum(axis=1).min(), 0)
        ax.set_ylim(bottom * 1.05, top * 1.1)
        ax.set_xlim(0.4, width + 0.6)
        ax.axhline(0, color="#999999", linewidth=0.5)
        ax.set_ylabel("Δ log p")
        title = f"{name}: ISM logo of correctly classified test records ({summary['model']})"
        ax.set_title(title, loc="left")
    axes[-1].set_xlabel("Position")
    return figure


def _glyph(ax, path, x: float, y: float, height: float, colour: str) -> None:
    """A letter glyph stretched to a cell of width 0.9 centred on x, from y up by height."""
    from matplotlib.patches import PathPatch
    from matplotlib.transforms import Affine2D

    box = path.get_extents()
    transform = (
        Affine2D()
        .translate(-box.x0, -box.y0)
        .scale(0.9 / box.width, height / box.height)
        .translate(x - 0.45, y)
    )
    ax.add_patch(PathPatch(transform.transform_path(path), facecolor=colour, edgecolor="none"))


def _maps(summary: dict, records: pd.DataFrame, arrays: dict) -> Figure:
    """Per record (one correctly classified record per class first): the ISM change of every
    letter at every position as a heatmap, with saliency and attention as tracks below."""
    correct = records.index[records["label"] == records["predicted"]]
    chosen = list(records.loc[correct].groupby("label").head(1).index)
    chosen += [i for i in correct if i not in chosen]
    chosen = chosen[:MAX_MAPS]
    if not chosen:
        return _message("No correctly classified test record to show.")
    tracks = [name for name in ("saliency", "attention") if name in arrays]
    letters = summary["letters"]
    height_ratios = [len(letters) / 4 + 0.6, *[0.7] * len(tracks)] * len(chosen)
    figure = Figure(figsize=(9, 0.55 * sum(height_ratios) + 0.6), layout="constrained")
    axes = figure.subplots(len(height_ratios), 1, height_ratios=height_ratios, squeeze=False)
    axes = axes.ravel()
    for n, row in enumerate(chosen):
        record = records.loc[row]
        length = int(record["length"])
        ism = arrays["ism"][row, :length].T  # (letters, length)
        limit = max(np.nanmax(np.abs(ism)), 1e-6)
        panels = axes[n * (1 + len(tracks)) : (n + 1) * (1 + len(tracks))]
        image = panels[0].imshow(
            ism, aspect="auto", cmap="RdBu", vmin=-limit, vmax=limit, interpolation="nearest",
            extent=(0.5, length + 0.5, len(letters) - 0.5, -0.5),
        )  # fmt: skip
        panels[0].set_yticks(
            range(len(letters)), list(letters), fontsize=6 if len(letters) > 4 else 8
        )
        panels[0].set_title(
            f"{record['id']} (class {record['label']}): ISM, change in log p of the class",
            loc="left",
        )
        figure.colorbar(image, ax=panels[0], fraction=0.02, pad=0.01)
        for ax, name in zip(panels[1:], tracks, strict=True):
            values = arrays[name][row, :length]
            ax.fill_between(np.arange(1, length + 1), values, step="mid", color="#0072B2", lw=0)
            ax.set_xlim(0.5, length + 0.5)
            ax.set_ylabel(name, fontsize=7)
            ax.tick_params(labelsize=6)
        panels[-1].set_xlabel("Position")
    return figure


# --- long-range memory ---------------------------------------------------------------------


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
        _save(figure, Path(out), title="distance")
    return Path(out)


# --- gene interactions ---------------------------------------------------------------------


def write_network_heatmap(edges: Path, out: Path, gold: pd.DataFrame | None = None) -> Path:
    """The neural gene-interaction ranking as a regulator × target heatmap (score of each
    directed pair; the diagonal, never scored, left blank), known edges of the gold standard
    outlined."""
    table = pd.read_csv(edges, sep="\t", dtype={"regulator": str, "target": str})
    genes = sorted(set(table["regulator"]) | set(table["target"]), key=_natural)
    index = {gene: i for i, gene in enumerate(genes)}
    scores = np.full((len(genes), len(genes)), np.nan)
    scores[table["regulator"].map(index), table["target"].map(index)] = table["score"]
    size = min(9.0, 2.2 + 0.32 * len(genes))
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(size + 1.0, size), layout="constrained")
        ax = figure.subplots()
        image = ax.imshow(scores, cmap="viridis", interpolation="nearest")
        figure.colorbar(image, ax=ax, fraction=0.04, label="edge score (rank ensemble)")
        if gold is not None:
            known = gold[gold["edge"] == 1]
            rows, columns = known["regulator"].map(index), known["target"].map(index)
            ax.scatter(columns, rows, s=90, facecolors="none", edgecolors="#D55E00", linewidths=1.2,
                       label="known edge (gold standard)")  # fmt: skip
            ax.legend(loc="upper left", bbox_to_anchor=(0, -0.08), frameon=False, fontsize=7)
        labelled = len(genes) <= 40  # beyond that, names would overlap
        ax.set_xticks(range(len(genes)), genes if labelled else [], rotation=90)
        ax.set_yticks(range(len(genes)), genes if labelled else [])
        ax.set_xlabel("Target gene")
        ax.set_ylabel("Regulator gene")
        ax.set_title("Gene interactions ranked by the neural forecasters", loc="left")
        _save(figure, Path(out), title="network")
    return Path(out)


def _natural(name: str) -> tuple:
    """G2 before G10."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))
