"""Hyperparameter search (genoflow/tune.py and workflow/rules/tune.smk): trials drawn the same
way every time, selection on validation only, the config checks, and the real workflow end to
end (cached trials, added trials, the selected settings retrained and alone tested)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import optuna
import pandas as pd
import pytest
import yaml
from conftest import REPO, genoflow_env, write_motif_fasta

from genoflow.config import config_errors
from genoflow.formats.files import read_json
from genoflow.formats.tuning import read_trials
from genoflow.selection import validation_score
from genoflow.settings import apply_params
from genoflow.tasks.train import TrainConfig
from genoflow.tune import select, trial_params, tuned_settings, value_of

CALIBRATED = "calibrated_val_loss"

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
SPACE = {
    "hidden": [8, 16, 32],
    "stem.channels": {"low": 8, "high": 64, "log": True},
    "train.lr": {"low": 1e-4, "high": 1e-2, "log": True},
    "dropout": {"low": 0.0, "high": 0.5},
}


def test_the_same_space_and_seed_draw_the_same_trials_and_more_trials_keep_the_first():
    eight = trial_params(SPACE, seed=3, n_trials=8)
    assert eight == trial_params(SPACE, seed=3, n_trials=8)
    assert trial_params(SPACE, seed=3, n_trials=12)[:8] == eight
    assert trial_params(SPACE, seed=4, n_trials=8) != eight
    assert len({json.dumps(p, sort_keys=True) for p in eight}) == 8  # distinct draws
    for params in eight:
        assert params["hidden"] in (8, 16, 32)
        assert isinstance(params["stem.channels"], int) and 8 <= params["stem.channels"] <= 64
        assert isinstance(params["train.lr"], float) and 1e-4 <= params["train.lr"] <= 1e-2
        assert 0.0 <= params["dropout"] <= 0.5


def test_a_trial_sets_model_stem_and_train_keys_and_nothing_else():
    base = {"type": "lstm", "model_args": {"hidden": 128, "stem": None}, "train": {"lr": 1e-3}}
    params = {"hidden": 16, "stem.channels": 32, "train.lr": 0.01}
    trial = apply_params(base, params)
    assert trial == {
        "type": "lstm",
        "model_args": {"hidden": 16, "stem": {"channels": 32}},
        "train": {"lr": 0.01},
    }
    assert base["model_args"] == {"hidden": 128, "stem": None}  # the base is not changed
    info = {"model_args": trial["model_args"], "train": trial["train"]}
    assert {key: value_of(info, key) for key in params} == params


def test_a_train_option_that_train_json_leaves_out_while_off_took_its_off_value():
    """A trial of `train.shift: [0, 3]` or `train.weight_averaging: [0.0, 0.99]` that was off
    has no such key in its train.json (TrainConfig.settings); the off value, not None, is what
    it took (trials.tsv, selected.json and the retrained settings)."""
    off = TrainConfig(shift=0, weight_averaging=0.0).settings()
    assert "shift" not in off and "weight_averaging" not in off
    info = {"model_args": {}, "train": off}
    assert value_of(info, "train.shift") == 0 and value_of(info, "train.weight_averaging") == 0.0
    assert TrainConfig.from_dict({**off, "shift": value_of(info, "train.shift")}).shift == 0
    on = {"model_args": {}, "train": TrainConfig(shift=3).settings()}
    assert value_of(on, "train.shift") == 3
    assert value_of(info, "stem.channels") is None  # model keys are not train options


def _trial(folder: Path, val_loss: float, hidden: int, lr: float) -> Path:
    folder.mkdir(parents=True)
    info = {
        "model": "lstm",
        "seed": 0,
        "best_val_loss": val_loss,
        "best_epoch": 2,
        "epochs": 4,
        "train_seconds": 1.5,
        "model_args": {"hidden": hidden},
        "train": {"lr": lr},
    }
    (folder / "train.json").write_text(json.dumps(info))
    return folder


def test_selection_takes_the_lowest_validation_loss_and_records_every_trial(tmp_path: Path):
    space = {"hidden": [8, 16], "train.lr": {"low": 1e-4, "high": 1e-2, "log": True}}
    trials = [
        _trial(tmp_path / "trial0", 0.50, 8, 1e-3),
        _trial(tmp_path / "trial1", 0.31, 16, 2e-3),
        _trial(tmp_path / "trial2", float("nan"), 16, 9e-3),  # diverged
        _trial(tmp_path / "trial3", 0.31, 8, 5e-4),  # a tie: the earlier trial stays selected
    ]
    out = tmp_path / "out"
    selected = select(trials, space, out)
    assert selected["trial"] == 1
    assert selected["params"] == {"hidden": 16, "train.lr": 2e-3}
    assert read_json(out / "selected.json") == selected
    table, keys = read_trials(out / "trials.tsv")
    assert keys == ["hidden", "train.lr"]
    assert list(table["trial"]) == [0, 1, 2, 3]
    assert list(table["selected"]) == [False, True, False, False]
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(out / "study.jsonl"))
    )
    study = optuna.load_study(study_name="tune", storage=storage)
    assert len(study.trials) == 4 and study.best_trial.params == selected["params"]
    assert study.best_value == pytest.approx(0.31)
    # rerun with one more trial: the study holds each trial once
    select([*trials, _trial(tmp_path / "trial4", 0.2, 8, 1e-3)], space, out)
    study = optuna.load_study(
        study_name="tune",
        storage=optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(out / "study.jsonl"))
        ),
    )
    assert len(study.trials) == 5 and study.best_trial.user_attrs["trial_folder"] == "trial4"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp or lock left


def test_the_retrained_settings_are_the_selected_ones(tmp_path: Path):
    (tmp_path / "selected.json").write_text(json.dumps({"trial": 1, "params": {"train.lr": 0.01}}))
    settings = tuned_settings(
        {"model_args": {"hidden": 8}, "train": {"lr": 1e-3}}, tmp_path / "selected.json"
    )
    assert settings["train"]["lr"] == 0.01 and settings["tuned"] == {
        "trial": 1,
        "params": {"train.lr": 0.01},
    }


def _config(tune: dict) -> dict:
    return {
        "datasets": {"d": {"alphabet": "dna", "fasta": [str(SCHEMA)], "label_pattern": "(x)"}},
        "models": {
            "lstm": {"type": "lstm"},
            "kmer": {"type": "kmer_logreg"},
        },
        "tune": tune,
    }


@pytest.mark.parametrize(
    ("tune", "expected"),
    [
        ({"models": {"gru": {"hidden": [8]}}}, "tune.models.gru: 'gru' is not defined"),
        ({"models": {"kmer": {"k": [2, 3]}}}, "tune.models.kmer: 'kmer' is a kmer_logreg baseline"),
        ({"models": {"lstm": {"hidden": [8, 0]}}}, "tune.models.lstm.hidden: 0:"),
        ({"models": {"lstm": {"width": [8]}}}, "tune.models.lstm.width: 8:"),
        ({"models": {"lstm": {"train.lr": {"low": 0, "high": 1, "log": True}}}}, "needs low > 0"),
        ({"models": {"lstm": {"dropout": {"low": 0.5, "high": 0.1}}}}, "low must be below high"),
        ({"models": {"lstm": {"train.optimizer": ["sgd"]}}}, "tune.models.lstm.train.optimizer"),
        ({"datasets": ["e"], "models": {"lstm": {"hidden": [8]}}}, "tune.datasets: 'e'"),
        ({"models": {"lstm": {"hidden": []}}}, "tune.models.lstm.hidden"),
        (
            {"models": {"lstm": {"train.class_weights": ["none", "balanced"]}}},
            "tune.models.lstm.train.class_weights: trials ranked by their validation loss",
        ),
    ],
)
def test_a_search_space_the_model_cannot_take_is_refused_naming_the_key(tune, expected):
    problems = config_errors(_config(tune), SCHEMA)
    assert any(expected in problem for problem in problems), problems


def test_a_valid_search_space_passes_the_checks():
    tune = {"trials": 4, "models": {"lstm": SPACE}}
    assert config_errors(_config(tune), SCHEMA) == []
    # class weights may be tuned where the ranking is unweighted (calibrated classes)
    weights = {"models": {"lstm": {"train.class_weights": ["none", "balanced"]}}}
    calibrated = {**_config(weights), "evaluate": {"select_by": "calibrated_val_loss"}}
    assert config_errors(calibrated, SCHEMA) == []


# --- end to end ----------------------------------------------------------------------------


def _snakemake(project: Path, *args: str) -> subprocess.CompletedProcess:
    command = ["snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(project)]
    result = subprocess.run(
        [*command, *args], capture_output=True, text=True, env=genoflow_env(), timeout=900
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def _jobs(dry_run: subprocess.CompletedProcess) -> dict[str, int]:
    """rule -> job count from a dry run's job table."""
    counts, in_table = {}, False
    for line in dry_run.stdout.splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            in_table = True
        elif in_table and len(parts) == 2 and parts[1].isdigit() and parts[0] != "total":
            counts[parts[0]] = int(parts[1])
        elif in_table and parts and parts[0] == "total":
            break
    return counts


@pytest.mark.e2e
def test_tuning_runs_as_cached_jobs_and_only_the_selected_settings_meet_the_test_split(
    tmp_path: Path,
):
    project = tmp_path / "project"
    project.mkdir()
    write_motif_fasta(project / "motifs.fa", n=200)
    config = {
        "datasets": {
            "motifs": {
                "alphabet": "dna",
                "fasta": ["motifs.fa"],
                "label_pattern": r"^\S+\s+(\S+)",
                "models": ["gru", "cnn"],
            }
        },
        "models": {"gru": {"type": "gru", "hidden": 8}, "cnn": {"type": "cnn", "channels": 8}},
        "seeds": [0, 1],
        "train": {"max_epochs": 2, "batch_size": 32},
        "threads": 1,
        "evaluate": {"bootstrap": 20, "select_by": "calibrated_val_loss"},
        "tune": {
            "trials": 3,
            "seed": 5,
            "models": {
                "gru": {"hidden": [4, 8, 16], "train.lr": {"low": 1e-3, "high": 1e-2, "log": True}},
                "cnn": {"channels": {"low": 4, "high": 16}},
            },
        },
    }
    (project / "config.yaml").write_text(yaml.safe_dump(config))
    args = ("--cores", "2", "--configfile", str(project / "config.yaml"))
    _snakemake(project, *args)

    results = project / "results" / "motifs"
    for model in ("gru", "cnn"):
        tune = results / "tune" / model
        trials, keys = read_trials(tune / "trials.tsv")
        assert len(trials) == 3 and trials["selected"].sum() == 1
        selected = read_json(tune / "selected.json")
        assert selected["val_loss"] == pytest.approx(trials["val_loss"].min(), rel=1e-5)
        assert "temperature scaling" in selected["metric"]  # select_by: calibrated_val_loss
        for n in range(3):  # a trial never predicts the test split
            folder = tune / f"trial{n}"
            score = validation_score(folder, read_json(folder / "train.json"), CALIBRATED)
            assert trials.loc[trials["trial"] == n, "val_loss"].item() == pytest.approx(score, 1e-4)
            assert not (folder / "predictions.tsv").exists()
            assert not (folder / "model.ckpt").exists()
            assert read_json(folder / "train.json")["tested"] is False
        for seed in (0, 1):  # every seed retrains the selected settings, and is tested
            info = read_json(results / model / f"seed{seed}" / "train.json")
            assert info["tuned"] == {"trial": selected["trial"], "params": selected["params"]}
            assert info["tested"] is True
            for key, value in selected["params"].items():
                assert value_of(info, key) == value
    html = (project / "results" / "report" / "index.html").read_text()
    assert "Hyperparameter search" in html and "selected trial" in html
    assert (results / "figures" / "tuning.svg").is_file()

    # nothing to do on a rerun; two more trials: only they train (and select + retrain follow)
    assert "Nothing to be done" in _snakemake(project, *args, "-n").stdout
    config["tune"]["trials"] = 5
    (project / "config.yaml").write_text(yaml.safe_dump(config))
    jobs = _jobs(_snakemake(project, *args, "-n"))
    assert jobs.get("tune_trial") == 4, jobs  # trials 3 and 4 of both models
    assert jobs.get("tune_select") == 2, jobs
    frame = pd.read_csv(results / "summary.tsv", sep="\t")
    assert set(frame["model"]) == {"gru", "cnn", "ensemble"}
    assert read_json(results / "comparison.json")["criterion"] == CALIBRATED
    assert read_json(results / "ensemble" / "seed0" / "train.json")["select_by"] == CALIBRATED
