"""Classification figures: ROC and precision-recall curves (one panel per class, one-vs-rest, with
more than two classes) and confusion matrices."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from sklearn import metrics as skm

from genoflow.report.figures.style import (
    MAX_POINTS,
    Run,
    run_label,
    thin,
)

CURVE_BUDGET = 3600  # per ROC / PR figure, shared by its curves


MAX_ANNOTATED_CLASSES = 12


def curve_points(
    kind: str, truth: np.ndarray, score: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """(x, y, area) of a ROC (FPR, TPR, AUROC) or PR (recall, precision, AP) curve."""
    if not truth.any() or truth.all():
        return np.array([]), np.array([]), math.nan  # undefined with one class in the test set
    if kind == "roc":
        fpr, tpr, _ = skm.roc_curve(truth, score)
        return fpr, tpr, float(skm.auc(fpr, tpr))
    precision, recall, _ = skm.precision_recall_curve(truth, score)
    return recall, precision, float(skm.average_precision_score(truth, score))


def curves_figure(runs: list[Run], colours: dict[str, str], kind: str) -> Figure:
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
            x, y, area = curve_points(kind, run.y == positive, run.probs[:, positive])
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


def confusion_figure(runs: list[Run], colours: dict[str, str]) -> Figure:
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
        counts = np.asarray(run.metrics.get("confusion_matrix") or confusion_counts(run))
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
        ax.set_title(
            f"{run_label(run.model, run)}\naccuracy {accuracy:.3f}", color=colours[run.model]
        )
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


def confusion_counts(run: Run) -> np.ndarray:
    k = len(run.classes)
    return skm.confusion_matrix(run.y, run.probs.argmax(axis=1), labels=range(k))
