"""The `ensemble` row of a classification dataset (whole sequences or per residue; several 0/1
labels per sequence too), of a regression or of forecasting: the mean class (label)
probabilities, or the mean predicted values, of neural models chosen on the validation split,
scored like any model.

Members are chosen by greedy forward selection on the validation predictions
(val_predictions.tsv of each run; each model the mean of its seeds): a weak model that would
drag the mean down stays out. The row is ranked with the others by the same validation score
(`genoflow/selection.py`: the cross-entropy of the members' mean validation probabilities,
calibrated or not; multilabel: their binary cross-entropy; regression and forecasting: the
squared error on the models' standardised scale, which reads the preprocess stage's meta.json),
so neither the members nor the row's rank ever look at the test split. Its folder
(results/{dataset}/ensemble/seed0/) holds what a run folder holds: predictions.tsv,
val_predictions.tsv, history.csv (no epochs) and train.json (`members`, `candidates`, the
members' parameters, every candidate's training time).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genoflow.errors import InputError
from genoflow.formats.files import read_json, read_meta, write_json
from genoflow.formats.predictions import (
    VAL_PREDICTIONS,
    read_forecasts,
    read_multilabel_predictions,
    read_predictions,
    read_regression_predictions,
    table_task,
    write_forecasts,
    write_history,
    write_multilabel_predictions,
    write_predictions,
    write_regression_predictions,
    write_residue_predictions,
)
from genoflow.registry import ENSEMBLE
from genoflow.selection import binary_cross_entropy, score_of, standardised_squared_error


class Aligned:
    """Predictions tables of the same records read in one record order (the first's). Per-residue
    tables are matched by (id, position): every residue, or with `scored_only` those that carry a
    label (the ones a validation score reads). Multilabel tables: `y` is the 0/1 truth matrix;
    regression tables: `y` holds the true values, `classes` the targets and the outputs are the
    predicted values; forecasting tables (matched by window, horizon and gene): the same on the
    standardised scale (truth_z, predicted_z), which `data_dir`'s transform undoes on writing."""

    # the tables read as (table, columns, truth, outputs) by a reader of their own
    READERS = {
        "multilabel": read_multilabel_predictions,
        "regression": read_regression_predictions,
        "forecasting": read_forecasts,
    }

    def __init__(
        self, first: Path, scored_only: bool = False, data_dir: Path | None = None
    ) -> None:
        self.reading = {"labelled_only": scored_only, "keep_unlabelled": not scored_only}
        self.first, self.task, self.data_dir = first, table_task(first), data_dir
        table, self.classes, self.y, self.first_outputs = self._read(first)
        self.table = table
        self.ids = self._keys(table)
        if len(set(self.ids)) != len(self.ids):
            raise InputError(first, "repeated ids: cannot match records across models")
        self.order = {record: i for i, record in enumerate(self.ids)}

    def _read(self, path: Path) -> tuple:
        if self.task in self.READERS:
            if table_task(path) != self.task:
                raise InputError(path, f"not a {self.task} table, as {self.first} is")
            return self.READERS[self.task](path)
        return read_predictions(path, **self.reading)

    @staticmethod
    def _keys(table) -> list:
        if "horizon" in table:
            return list(zip(table["window"], table["horizon"], table["gene"], strict=True))
        if "position" in table:
            return list(zip(table["id"], table["position"], strict=True))
        return list(table["id"])

    def outputs(self, path: Path) -> np.ndarray:
        """The class probabilities (regression: predicted values) of a table, rows in the first
        table's record order."""
        if path == self.first:
            return self.first_outputs
        table, classes, _, outputs = self._read(path)
        if classes != self.classes:
            kind = {"multilabel": "labels", "regression": "targets"}.get(self.task, "classes")
            raise InputError(path, f"{kind} {classes} differ from {self.classes} of {self.first}")
        keys = self._keys(table)
        if len(keys) != len(self.ids) or set(keys) != set(self.order):
            raise InputError(path, f"holds other records than {self.first}")
        aligned = np.empty_like(outputs)
        aligned[[self.order[key] for key in keys]] = outputs
        return aligned

    def write(self, path: Path, outputs: np.ndarray) -> None:
        """A predictions table of these records with `outputs`."""
        if "position" in self.table:
            positions = self.table["position"].to_numpy() - 1  # (written 1-based)
            ids = list(self.table["id"])
            write_residue_predictions(path, ids, positions, self.y, outputs, self.classes)
        elif self.task == "multilabel":
            write_multilabel_predictions(path, self.ids, self.y, outputs, self.classes)
        elif self.task == "regression":
            write_regression_predictions(path, self.ids, self.y, outputs, self.classes)
        elif self.task == "forecasting":
            self._write_forecasts(path, outputs)
        else:
            write_predictions(path, self.ids, self.y, outputs, self.classes)

    def _write_forecasts(self, path: Path, outputs: np.ndarray) -> None:
        """The long table of these windows, written as a model's is (write_forecasts takes
        (windows, horizon, genes) in model units: the standardised scale of a z-scored series)."""
        windows = np.asarray(list(dict.fromkeys(self.table["window"])))
        horizon = int(self.table["horizon"].max())
        layout = [(w, h, g) for w in windows for h in range(1, horizon + 1) for g in self.classes]
        if self.ids != layout:
            raise InputError(self.first, "rows are not in window, horizon, gene order")
        shape = (len(windows), horizon, len(self.classes))
        write_forecasts(path, self.data_dir, windows, outputs.reshape(shape))


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


def ensemble(
    run_dirs: list[str | Path],
    out_dir: str | Path,
    criterion: str = "val_loss",
    data_dir: str | Path | None = None,
) -> dict:
    """The ensemble run folder of a dataset's neural runs: which models, chosen on the
    validation split (`select_members` by `criterion`), and their mean test and validation
    probabilities (regression, forecasting: predicted values). `data_dir`, the dataset's
    preprocess folder (meta.json), puts a regression's squared error on the models' scale (the
    targets' training sd) and writes forecasts back in original units too.
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
    data_dir = Path(data_dir) if data_dir is not None else None
    meta = read_meta(data_dir) if data_dir is not None else {}
    zscored = meta.get("transform", {}).get("zscore")
    if table_task(runs[0] / "predictions.tsv") == "forecasting" and not zscored:
        raise InputError(
            data_dir,
            "a forecasting ensemble averages the models' own scale: z-scored series"
            " (transform: {zscore: true}) and their preprocess folder (--data)",
        )
    val_loss, members = None, list(models)
    if all((run / VAL_PREDICTIONS).is_file() for run in runs):
        val = Aligned(runs[0] / VAL_PREDICTIONS, scored_only=True, data_dir=data_dir)
        units = {m: _mean(val, [r / VAL_PREDICTIONS for r in rs]) for m, rs in models.items()}
        weighted = val.task == "multilabel" or criterion == "val_loss"  # (calibrated: none)
        weights = _loss_weights(infos) if weighted else None
        score = _score(val, meta, weights) or score_of(criterion, weights)
        members, val_loss = select_members(units, val.y, criterion, score)
        mean = np.mean([units[m] for m in members], axis=0)
        val.write(out_dir / VAL_PREDICTIONS, mean)
    test = Aligned(runs[0] / "predictions.tsv", data_dir=data_dir)
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
        # which summarize recomputes from val_predictions.tsv; `_score`'s loss for labels and
        # values): ranked with the models' own validation scores (None without validation
        # predictions: ranked last)
        "best_val_loss": val_loss,
        "select_by": criterion,
        "tested": True,
    }
    write_json(out_dir / "train.json", info)
    return info


def _loss_weights(infos: dict[Path, dict]) -> list[float] | None:
    """The class (multilabel: positive-label) weights of the runs' validation loss
    (train.json `loss_weights`; class_weights: balanced), which the ensemble's loss takes too,
    so that it ranks beside theirs; None where they are unweighted. Runs weighted differently
    have losses on different scales, which no one ensemble loss matches: refused."""
    found = {run: info.get("loss_weights") for run, info in infos.items()}
    first = next(iter(found.values()))
    for run, weights in found.items():
        same = (weights is None) == (first is None) and (
            weights is None or np.allclose(weights, first, rtol=1e-5)
        )
        if not same:
            raise InputError(
                run / "train.json",
                "its validation loss is weighted differently from the other runs' (class_weights):"
                " give every model of the dataset the same class_weights",
            )
    return first


def _score(val: Aligned, meta: dict, weights: list[float] | None = None):
    """What members are chosen by where it is not the criterion's (classes) cross-entropy: the
    models' own validation loss, which no temperature calibrates (meta: the preprocess stage's
    meta.json; `weights`: a multilabel loss's positive-label weights)."""
    if val.task == "multilabel":
        return lambda truth, probs: binary_cross_entropy(truth, probs, weights)
    if val.task == "regression":
        target_std = meta.get("target_std")
        if target_std is None or len(target_std) != len(val.classes):
            raise InputError(
                val.first,
                f"a regression ensemble needs the training sd of {val.classes}: the dataset's"
                " preprocess folder (--data)",
            )
        return lambda truth, predicted: standardised_squared_error(truth, predicted, target_std)
    if val.task == "forecasting":  # (of z-scored series: `ensemble` checks)
        # a recursive forecaster is trained and validated one step ahead: horizon 1 only
        rows = val.table["horizon"].to_numpy() == 1 if meta["multistep"] == "recursive" else ...
        return lambda truth, predicted: float(np.mean((predicted[rows] - truth[rows]) ** 2))
    return None


def _mean(aligned: Aligned, paths: list[Path]) -> np.ndarray:
    return np.mean([aligned.outputs(path) for path in paths], axis=0)
