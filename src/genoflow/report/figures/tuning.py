"""The hyperparameter search of one dataset: every trial's validation loss, per tuned model,
the selected trial ringed (trials.tsv of `genoflow tune-select`)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from genoflow.formats.tuning import read_trials
from genoflow.report.figures.style import MODEL_COLOURS, STYLE, save_figure


def write_tuning_figure(tables: list[Path], out: Path) -> Path:
    """Validation loss against trial number, one colour per model (its folder name)."""
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(6.5, 3.2), layout="constrained")
        ax = figure.subplots()
        for i, path in enumerate(map(Path, tables)):
            trials, _ = read_trials(path)
            model, colour = path.parent.name, MODEL_COLOURS[i % len(MODEL_COLOURS)]
            finite = trials[np.isfinite(trials["val_loss"])]
            ax.plot(finite["trial"], finite["val_loss"], "o", color=colour, ms=4, label=model)
            chosen = finite[finite["selected"]]
            ax.plot(chosen["trial"], chosen["val_loss"], "o", ms=11, mfc="none", color=colour)
        ax.set_xlabel("Trial")
        ax.set_ylabel("Validation loss (lower is better)")
        ax.set_title(
            "Hyperparameter search: validation loss per trial (ringed: selected)", loc="left"
        )
        ax.legend(frameon=False, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
        save_figure(figure, Path(out), title="tuning")
    return Path(out)
