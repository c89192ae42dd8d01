"""Figures: one dataset's runs -> comparison, ROC, PR, confusion and loss plots as compact SVG.

Every figure is drawn from the run folders alone (predictions.tsv, history.csv, metrics.json,
train.json), so it can be regenerated without retraining. Files are deterministic: a fixed SVG
hash salt and no date in the metadata, so an unchanged input gives a byte-identical figure and
Snakemake / version control see no spurious changes. Text stays text (`svg.fonttype: none`),
curves are thinned to at most MAX_POINTS points, and each model keeps one colour in all figures.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn import metrics as skm

from genoflow.errors import InputError
from genoflow.io import atomic_path, read_json
from genoflow.metrics import read_predictions

FIGURES = ("comparison", "roc", "pr", "confusion", "loss")
MAX_POINTS = 300  # per curve
CURVE_BUDGET = 3600  # per ROC / PR figure, shared by its curves
MAX_ANNOTATED_CLASSES = 12
BASELINE_TYPES = frozenset({"kmer_logreg"})

# Colour-blind-friendly palette (Okabe-Ito, less its pale yellow) for the neural models;
# baselines are grey so the honest floor never reads as one of the contenders.
MODEL_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000")
BASELINE_COLOURS = ("#555555", "#999999")

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
    """One (model, seed) run folder, loaded."""

    path: Path
    model: str
    type: str
    seed: int
    info: dict
    metrics: dict
    classes: list[str]
    y: np.ndarray
    probs: np.ndarray

    @property
    def baseline(self) -> bool:
        return self.type in BASELINE_TYPES


def load_run(run_dir: str | Path) -> Run:
    """Read the files of one run folder; a missing file is an InputError naming it."""
    run_dir = Path(run_dir)
    for name in ("train.json", "metrics.json", "predictions.tsv"):
        if not (run_dir / name).is_file():
            raise InputError(run_dir / name, "missing (train and evaluate this run first)")
    info, metrics = read_json(run_dir / "train.json"), read_json(run_dir / "metrics.json")
    _, classes, y, probs = read_predictions(run_dir / "predictions.tsv")
    return Run(
        path=run_dir,
        model=str(info["model"]),
        type=str(info.get("type", info["model"])),
        seed=int(info.get("seed", 0)),
        info=info,
        metrics=metrics,
        classes=classes,
        y=y,
        probs=probs,
    )


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


def write_figures(run_dirs: list[Path], out_dir: Path) -> list[Path]:
    """Write comparison, roc, pr, confusion and loss SVGs for one dataset's runs; return paths.

    Models appear in the order of `run_dirs`; ROC, PR, confusion and loss use each model's
    lowest seed, the comparison shows every seed.
    """
    if not run_dirs:
        raise InputError(None, "no run folders given")
    runs = [load_run(path) for path in run_dirs]
    classes = runs[0].classes
    for run in runs[1:]:
        if run.classes != classes:
            raise InputError(
                run.path / "predictions.tsv",
                f"classes {run.classes} differ from {classes} in {runs[0].path}",
            )
    colours = model_colours(runs)
    by_model: dict[str, list[Run]] = {}
    for run in runs:
        by_model.setdefault(run.model, []).append(run)
    first = [min(group, key=lambda run: run.seed) for group in by_model.values()]

    out_dir = Path(out_dir)
    drawers = {
        "comparison": lambda: _comparison(by_model, colours),
        "roc": lambda: _curves(first, colours, kind="roc"),
        "pr": lambda: _curves(first, colours, kind="pr"),
        "confusion": lambda: _confusion(first, colours),
        "loss": lambda: _loss(first, colours),
    }
    written = []
    with matplotlib.rc_context(STYLE):
        for name in FIGURES:
            figure = drawers[name]()
            path = out_dir / f"{name}.svg"
            _save(figure, path, title=name)
            written.append(path)
    return written


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


def _comparison(by_model: dict[str, list[Run]], colours: dict[str, str]) -> Figure:
    """Test accuracy and AUROC per model: one marker per seed with its 95 % bootstrap CI."""
    names = list(by_model)
    figure = Figure(figsize=(7.5, 1.3 + 0.42 * len(names)), layout="constrained")
    axes = figure.subplots(1, 2, sharey=True)
    for ax, metric, title in zip(axes, ("accuracy", "auroc"), ("Accuracy", "AUROC"), strict=True):
        lows = []
        for row, name in enumerate(names):
            group = sorted(by_model[name], key=lambda run: run.seed)
            # Spread seeds a little vertically so overlapping markers and whiskers stay visible.
            offsets = np.linspace(-0.18, 0.18, len(group)) if len(group) > 1 else [0.0]
            for offset, run in zip(offsets, group, strict=True):
                value = float(run.metrics[metric])
                low, high = run.metrics.get("ci95", {}).get(metric, [value, value])
                lows.append(low)
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
            if group[0].baseline:
                # The baseline's mean as a reference line: where "better than k-mers" begins.
                mean = float(np.mean([float(run.metrics[metric]) for run in group]))
                ax.axvline(mean, color=colours[name], linestyle=":", linewidth=1)
        finite = [low for low in lows if np.isfinite(low)]
        left = max(0.0, min(finite, default=0.0) - 0.03)
        ax.set_xlim(left, 1.0 if left < 0.97 else 1.005)
        ax.set_title(f"Test {title} (95% CI)")
        ax.set_xlabel(title)
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
    axes[0].set_yticks(range(len(names)))
    axes[0].set_yticklabels([_label(name, by_model[name][0]) for name in names])
    for tick, name in zip(axes[0].get_yticklabels(), names, strict=True):
        tick.set_color(colours[name])
    axes[0].set_ylim(len(names) - 0.5, -0.5)  # first model on top
    figure.suptitle("Model comparison on the test split (one marker per seed)", fontsize=10)
    return figure


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
    figure = Figure(figsize=(3.3 * columns + 0.4, 3.2 * rows + 0.5), layout="constrained")
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
    figure = Figure(figsize=(size * columns + 1.0, size * rows + 0.6), layout="constrained")
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


def _loss(runs: list[Run], colours: dict[str, str]) -> Figure:
    """Train (dashed) and validation (solid) loss per epoch, one panel per neural model."""
    # The k-mer baseline's history rows are regularisation candidates, not epochs: skip it.
    neural = [(run, read_history(run.path / "history.csv")) for run in runs if not run.baseline]
    neural = [(run, history) for run, history in neural if history is not None]
    if not neural:
        figure = Figure(figsize=(5, 1.6), layout="constrained")
        ax = figure.subplots()
        ax.axis("off")
        ax.text(
            0.5,
            0.5,
            "No neural model with a training history in this comparison.",
            ha="center",
            va="center",
        )
        return figure
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
        ax.set_ylabel("Cross-entropy loss")
        ax.yaxis.set_tick_params(labelleft=True)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(color="#eeeeee", linewidth=0.6)
        ax.legend(frameon=False)
    for ax in axes[len(neural) :]:
        ax.set_visible(False)
    figure.suptitle("Training curves: train (dashed) and validation (solid) loss", fontsize=10)
    return figure
