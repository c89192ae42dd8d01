"""Hyperparameter search as workflow stages: the trials of a `tune:` search space, and the
choice among them, on the validation split only.

A search space maps a key to a list of choices or a range (`{low, high, log, step}`). Keys name
a model hyperparameter (`hidden`), a key inside one (`stem.channels`) or a training option
(`train.lr`). Trials are drawn by Optuna's seeded random sampler, asked in trial order, so the
same space and seed always give the same trials, and trial n does not depend on how many trials
there are: adding trials keeps (and Snakemake reuses) the finished ones. Random search rather
than an adaptive sampler (TPE) because every trial is its own Snakemake job, run in parallel
and cached: an adaptive sampler would make trial n depend on the results of the trials before.

Each trial trains once (the `tune.seed`) and is scored on validation like any model
(genoflow/selection.py: its validation loss at the kept epoch, or calibrated); `genoflow tune-
select` records every trial in an Optuna study (a journal file that `optuna-dashboard` opens)
and writes the selected configuration, which the workflow then retrains per seed; only those
runs ever predict the test split.
"""

from __future__ import annotations

import math
from pathlib import Path

from genoflow.errors import InputError
from genoflow.formats.files import atomic_path, read_json, write_json
from genoflow.registry import TRAIN_OPTIONS_OFF
from genoflow.selection import validation_score
from genoflow.settings import apply_params

METRIC = "best_val_loss"  # a finished run's train.json has it


def distributions(space: dict) -> dict:
    """Optuna distributions of a search space, by key (sorted, so the draw order is fixed)."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    result = {}
    for key in sorted(space):
        value = space[key]
        if isinstance(value, list):
            result[key] = CategoricalDistribution(value)
            continue
        low, high = value["low"], value["high"]
        log, step = value.get("log", False), value.get("step")
        integral = all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high))
        if integral and (step is None or isinstance(step, int)):
            result[key] = IntDistribution(low, high, log=log, step=step or 1)
        else:
            result[key] = FloatDistribution(low, high, log=log, step=step)
    return result


def trial_params(space: dict, seed: int, n_trials: int) -> list[dict]:
    """The parameters of trials 0..n_trials-1: the first k are the same for any n_trials >= k."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    fixed = distributions(space)
    return [study.ask(fixed).params for _ in range(n_trials)]


def value_of(info: dict, key: str):
    """The value a search-space key took in a finished run (its train.json; a train option
    it leaves out while off took its off value)."""
    parts = key.split(".")
    node = info.get("train", {}) if parts[0] == "train" else info.get("model_args", {})
    for part in parts[1:] if parts[0] == "train" else parts:
        node = node.get(part) if isinstance(node, dict) else None
    if node is None and len(parts) == 2 and parts[0] == "train":
        return TRAIN_OPTIONS_OFF.get(parts[1])
    return node


def select(
    trial_dirs: list[str | Path], space: dict, out_dir: str | Path, criterion: str = "val_loss"
) -> dict:
    """Rank finished trials by their validation score (`criterion`, as summarize ranks
    models); write trials.tsv, selected.json and the Optuna study (study.jsonl) to `out_dir`;
    return what selected.json holds."""
    from genoflow.formats.tuning import write_trials  # pandas: not for the workflow's checks

    out_dir = Path(out_dir)
    rows = []
    for folder in map(Path, trial_dirs):
        info = read_json(folder / "train.json")
        if not folder.name.startswith("trial") or not folder.name[5:].isdigit():
            raise InputError(folder, "a trial folder is named trial<number>")
        if not isinstance(info.get(METRIC), (int, float)):
            raise InputError(folder / "train.json", f"no {METRIC} (not a finished training run)")
        value = validation_score(folder, info, criterion)
        rows.append(
            {
                "trial": int(folder.name[5:]),
                **{key: value_of(info, key) for key in sorted(space)},
                "val_loss": float(value),
                "best_epoch": info.get("best_epoch"),
                "epochs": info.get("epochs"),
                "train_seconds": info.get("train_seconds"),
                "seed": info.get("seed"),
            }
        )
    if not rows:
        raise InputError(None, "no trials to select from")
    rows.sort(key=lambda row: row["trial"])
    finite = [row for row in rows if math.isfinite(row["val_loss"])]
    if not finite:
        raise InputError(None, "every trial ended with a non-finite validation loss")
    best = min(finite, key=lambda row: (row["val_loss"], row["trial"]))
    for row in rows:
        row["selected"] = row is best
    write_trials(out_dir / "trials.tsv", rows, sorted(space))
    _write_study(out_dir / "study.jsonl", space, rows)
    selected = {
        "trial": best["trial"],
        "params": {key: best[key] for key in sorted(space)},
        "val_loss": best["val_loss"],
        "metric": {
            "val_loss": "validation loss at the kept epoch",
            "calibrated_val_loss": "validation loss at the kept epoch, after temperature scaling",
        }[criterion],
        "trials": len(rows),
        "seed": best["seed"],
    }
    write_json(out_dir / "selected.json", selected)
    return selected


def _write_study(path: Path, space: dict, rows: list[dict]) -> None:
    """Every trial as an Optuna study in a journal file, written afresh (so a rerun with more
    trials holds each trial once): `optuna-dashboard study.jsonl` shows the search."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    fixed = distributions(space)
    with atomic_path(path) as tmp:
        storage = JournalStorage(JournalFileBackend(str(tmp)))
        study = optuna.create_study(storage=storage, study_name="tune", direction="minimize")
        for row in rows:
            finite = math.isfinite(row["val_loss"])
            study.add_trial(
                optuna.trial.create_trial(
                    params={key: row[key] for key in fixed},
                    distributions=fixed,
                    value=row["val_loss"] if finite else None,
                    state=optuna.trial.TrialState.COMPLETE
                    if finite
                    else optuna.trial.TrialState.FAIL,
                    user_attrs={"trial_folder": f"trial{row['trial']}"},
                )
            )
        del storage


def tuned_settings(settings: dict, selected_path: str | Path) -> dict:
    """Train settings with the selected trial's parameters (selected.json) set."""
    selected = read_json(selected_path)
    if not isinstance(selected.get("params"), dict):
        raise InputError(selected_path, "no `params` (not written by genoflow tune-select)")
    tuned = apply_params(settings, selected["params"])
    tuned["tuned"] = {"trial": selected.get("trial"), "params": selected["params"]}
    return tuned
