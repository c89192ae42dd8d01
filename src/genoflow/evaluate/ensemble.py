"""The `ensemble` row of a classification dataset (whole sequences or per residue; several 0/1
labels per sequence too): the mean class (label) probabilities of neural models chosen on the
validation split, scored like any model.

Members are chosen by greedy forward selection on the validation predictions
(val_predictions.tsv of each run; each model the mean of its seeds): a weak model that would
drag the mean down stays out. The row is ranked with the others by the same validation score
(`genoflow/selection.py`: the cross-entropy of the members' mean validation probabilities,
calibrated or not; multilabel: their binary cross-entropy), so neither the members nor the
row's rank ever look at the test split. Its folder (results/{dataset}/ensemble/seed0/) holds
what a run folder holds: predictions.tsv, val_predictions.tsv, history.csv (no epochs) and
train.json (`members`, `candidates`, the members' parameters, every candidate's training time).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genoflow.errors import InputError
from genoflow.formats.files import read_json, write_json
from genoflow.formats.predictions import (
    VAL_PREDICTIONS,
    read_multilabel_predictions,
    read_predictions,
    table_task,
    write_history,
    write_multilabel_predictions,
    write_predictions,
    write_residue_predictions,
)
from genoflow.registry import ENSEMBLE
from genoflow.selection import binary_cross_entropy, score_of


class Aligned:
    """Predictions tables of the same records read in one record order (the first's). Per-residue
    tables are matched by (id, position): every residue, or with `scored_only` those that carry a
    label (the ones a validation score reads). Multilabel tables: `y` is the 0/1 truth matrix."""

    def __init__(self, first: Path, scored_only: bool = False) -> None:
        self.reading = {"labelled_only": scored_only, "keep_unlabelled": not scored_only}
        self.multilabel = table_task(first) == "multilabel"
        table, self.classes, self.y, self.first_probs = self._read(first)
        self.first, self.table = first, table
        self.ids = self._keys(table)
        if len(set(self.ids)) != len(self.ids):
            raise InputError(first, "repeated ids: cannot match records across models")
        self.order = {record: i for i, record in enumerate(self.ids)}

    def _read(self, path: Path) -> tuple:
        if self.multilabel:
            if table_task(path) != "multilabel":
                raise InputError(path, f"not a multilabel table, as {self.first} is")
            return read_multilabel_predictions(path)
        return read_predictions(path, **self.reading)

    @staticmethod
    def _keys(table) -> list:
        if "position" in table:
            return list(zip(table["id"], table["position"], strict=True))
        return list(table["id"])

    def probabilities(self, path: Path) -> np.ndarray:
        """The class probabilities of a table, rows in the first table's record order."""
        if path == self.first:
            return self.first_probs
        table, classes, _, probs = self._read(path)
        if classes != self.classes:
            raise InputError(path, f"classes {classes} differ from {self.classes} of {self.first}")
        keys = self._keys(table)
        if len(keys) != len(self.ids) or set(keys) != set(self.order):
            raise InputError(path, f"holds other records than {self.first}")
        aligned = np.empty_like(probs)
        aligned[[self.order[key] for key in keys]] = probs
        return aligned

    def write(self, path: Path, probs: np.ndarray) -> None:
        """A predictions table of these records with `probs`."""
        if "position" in self.table:
            positions = self.table["position"].to_numpy() - 1  # (written 1-based)
            ids = list(self.table["id"])
            write_residue_predictions(path, ids, positions, self.y, probs, self.classes)
        elif self.multilabel:
            write_multilabel_predictions(path, self.ids, self.y, probs, self.classes)
        else:
            write_predictions(path, self.ids, self.y, probs, self.classes)


def select_members(
    units: dict[str, np.ndarray], y: np.ndarray, criterion: str = "val_loss", score=None
) -> tuple[list[str], float]:
    """Greedy forward selection on validation (Caruana et al. 2004, without replacement):
    start from the model whose probabilities score best (lowest `criterion`), add the model
    that lowers the score of the mean most, stop when none does. (A model is the mean of its
    seeds.) `score`, a function of (y, probabilities), replaces the criterion's (multilabel: the
    binary cross-entropy). Returns the members in the order chosen and their validation score."""
    score = score or score_of(criterion)
    chosen: list[str] = []
    best = float("inf")
    while len(chosen) < len(units):
        trials = [
            (score(y, np.mean([units[m] for m in [*chosen, name]], axis=0)), i, name)
            for i, name in enumerate(units)
            if name not in chosen
        ]
        loss, _, name = min(trials)
        if loss >= best:
            break
        chosen.append(name)
        best = loss
    return chosen, best


def ensemble(run_dirs: list[str | Path], out_dir: str | Path, criterion: str = "val_loss") -> dict:
    """The ensemble run folder of a dataset's neural runs: which models, chosen on the
    validation split (`select_members` by `criterion`), and their mean test and validation
    probabilities.
    Where a run has no validation predictions, every run is a member (and there is no
    validation loss to rank the row by)."""
    runs, out_dir = [Path(run) for run in run_dirs], Path(out_dir)
    if len(runs) < 2:
        raise InputError(None, "an ensemble needs at least two runs")
    infos = {run: read_json(run / "train.json") for run in runs}
    models: dict[str, list[Path]] = {}
    for run in runs:
        models.setdefault(str(infos[run]["model"]), []).append(run)
    (out_dir / VAL_PREDICTIONS).unlink(missing_ok=True)
    val_loss, members = None, list(models)
    if all((run / VAL_PREDICTIONS).is_file() for run in runs):
        val = Aligned(runs[0] / VAL_PREDICTIONS, scored_only=True)
        units = {m: _mean(val, [r / VAL_PREDICTIONS for r in rs]) for m, rs in models.items()}
        # multilabel: the binary cross-entropy, which their val_loss is (no temperature for it)
        score = binary_cross_entropy if val.multilabel else None
        members, val_loss = select_members(units, val.y, criterion, score)
        mean = np.mean([units[m] for m in members], axis=0)
        val.write(out_dir / VAL_PREDICTIONS, mean)
    test = Aligned(runs[0] / "predictions.tsv")
    probs = np.mean(
        [_mean(test, [r / "predictions.tsv" for r in models[m]]) for m in members], axis=0
    )
    test.write(out_dir / "predictions.tsv", probs)
    write_history(out_dir / "history.csv", [])
    member_runs = [run for m in members for run in models[m]]
    info = {
        "model": ENSEMBLE,
        "type": ENSEMBLE,
        "seed": 0,
        "members": [f"{infos[r]['model']}/seed{infos[r]['seed']}" for r in member_runs],
        "candidates": list(models),
        "params": sum(int(infos[r].get("params") or 0) for r in member_runs),
        "train_seconds": round(sum(float(infos[r].get("train_seconds") or 0) for r in runs), 2),
        "epochs": None,
        "best_epoch": None,
        # the cross-entropy of the members' mean validation probabilities (under `criterion`,
        # which summarize recomputes from val_predictions.tsv): ranked with the models' own
        # validation scores (None without validation predictions: ranked last)
        "best_val_loss": val_loss,
        "select_by": criterion,
        "tested": True,
    }
    write_json(out_dir / "train.json", info)
    return info


def _mean(aligned: Aligned, paths: list[Path]) -> np.ndarray:
    return np.mean([aligned.probabilities(path) for path in paths], axis=0)
