"""What every figure shares: the style (deterministic, compact SVG with text kept as text; one
colour per model in every figure, baselines grey), a run folder loaded once, thinning, saving."""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from genoflow.errors import InputError
from genoflow.formats.files import atomic_path, read_json
from genoflow.formats.predictions import (
    predictions_task,
    read_forecasts,
    read_multilabel_predictions,
    read_predictions,
    read_regression_predictions,
)
from genoflow.registry import (
    BASELINE_TYPES,
)

# (Non-neural baselines, BASELINE_TYPES: drawn grey and hollow, left out of training curves.)
MAX_POINTS = 300  # per curve


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
        run.table, run.targets, _, _ = read_multilabel_predictions(path)
    elif task == "regression":
        run.table, run.targets, _, _ = read_regression_predictions(path)
    elif task == "forecasting":
        run.table = read_forecasts(path)[0]
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


def check_runs(runs: list[Run]) -> str:
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


def message_figure(text: str) -> Figure:
    """A small figure that only says why there is nothing to draw."""
    figure = Figure(figsize=(5, 1.6), layout="constrained")
    ax = figure.subplots()
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True)
    return figure


def save_figure(figure: Figure, path: Path, title: str) -> None:
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
        numbers = _LONG_NUMBER.sub(lambda n: short_number(float(n.group())), match.group(2))
        return f'{match.group(1)}="{" ".join(numbers.split())}"'

    return _PATH_DATA.sub(shorten, text)


def short_number(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def thin(*columns: np.ndarray, limit: int = MAX_POINTS) -> list[np.ndarray]:
    """Keep at most `limit` evenly spaced points of parallel arrays, always with both ends."""
    n = len(columns[0])
    if n <= limit:
        return list(columns)
    keep = np.unique(np.linspace(0, n - 1, limit).round().astype(int))
    return [np.asarray(column)[keep] for column in columns]


def run_label(model: str, run: Run) -> str:
    return f"{model} (baseline)" if run.baseline else model


def as_float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def read_history(path: Path) -> pd.DataFrame | None:
    """history.csv, or None when it is missing or has no epochs."""
    if not path.is_file():
        return None
    table = pd.read_csv(path)
    return table if len(table) and "epoch" in table else None


def natural_key(name: str) -> tuple:
    """G2 before G10."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))
