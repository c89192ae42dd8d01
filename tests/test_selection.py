"""What ranks models on validation (genoflow/selection.py): the validation loss as kept, or a
classifier's after temperature scaling, which does not hold a model's confidence against it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import make_run

from genoflow.errors import InputError
from genoflow.evaluate.ensemble import ensemble
from genoflow.evaluate.interpret import best_run
from genoflow.evaluate.summarize import summarize
from genoflow.formats.files import read_json, write_json
from genoflow.formats.predictions import VAL_PREDICTIONS, write_predictions
from genoflow.selection import calibrated_cross_entropy, cross_entropy, validation_score

N = 600


def _two_class(logits: np.ndarray) -> np.ndarray:
    p = 1 / (1 + np.exp(-logits))
    return np.column_stack([1 - p, p])


def _validation():
    """Labels drawn from true log-odds z; an under-confident model that orders the records as
    z does (z / 5: what smoothed targets do to a good model) and a confident one that orders
    them worse (z plus noise)."""
    rng = np.random.default_rng(7)
    z = rng.normal(scale=3.0, size=N)
    y = (rng.random(N) < 1 / (1 + np.exp(-z))).astype(int)
    timid = _two_class(z / 5)
    bold = _two_class(z + rng.normal(scale=1.5, size=N))
    return y, timid, bold


def test_the_temperature_undoes_a_models_confidence_and_never_makes_it_worse():
    y, timid, bold = _validation()
    assert cross_entropy(y, timid) > cross_entropy(y, bold)  # the raw loss prefers the bold one
    timid_loss, t = calibrated_cross_entropy(y, timid)
    assert t == pytest.approx(0.2, rel=0.15)  # it finds the factor of 5
    assert timid_loss < calibrated_cross_entropy(y, bold)[0]  # calibrated: the better ordering
    for probs in (timid, bold):
        assert calibrated_cross_entropy(y, probs)[0] <= cross_entropy(y, probs)
        for factor in (0.3, 3.0):  # the same model made more or less confident
            scaled = _two_class(np.log(probs[:, 1] / probs[:, 0]) * factor)
            assert calibrated_cross_entropy(y, scaled)[0] == pytest.approx(
                calibrated_cross_entropy(y, probs)[0], abs=1e-4
            )
    three = np.full((4, 3), 1 / 3)  # uninformative: no temperature helps, T stays 1
    assert calibrated_cross_entropy(np.array([0, 1, 2, 0]), three) == (
        pytest.approx(np.log(3)),
        1.0,
    )


def _runs(root: Path) -> list[Path]:
    """Two classifier run folders whose validation predictions are the timid and bold model's,
    each train.json with its raw validation loss."""
    y, timid, bold = _validation()
    runs = []
    for name, kind, probs in (("timid", "lstm", timid), ("bold", "gru", bold)):
        run = make_run(root, name, kind, 0, ["neg", "pos"], n=200)
        ids = [f"val{i}" for i in range(N)]
        write_predictions(run / VAL_PREDICTIONS, ids, y, probs, ["neg", "pos"])
        info = read_json(run / "train.json")
        write_json(run / "train.json", info | {"best_val_loss": cross_entropy(y, probs)})
        runs.append(run)
    return runs


def test_summarize_interpret_and_the_ensemble_rank_by_the_criterion_asked_for(tmp_path: Path):
    runs = _runs(tmp_path)
    order = {}
    for criterion in ("val_loss", "calibrated_val_loss"):
        table = summarize(runs, tmp_path / "summary.tsv", n_boot=20, criterion=criterion)
        comparison = read_json(tmp_path / "comparison.json")
        assert comparison["criterion"] == criterion
        scores = dict(zip(table["model"], table["val_loss"], strict=True))
        for run in runs:
            expected = validation_score(run, read_json(run / "train.json"), criterion)
            assert scores[read_json(run / "train.json")["model"]] == pytest.approx(expected)
        order[criterion] = [row[0] for row in comparison["ranking"]]
        assert best_run(runs, criterion).parent.name == order[criterion][0]
        info = ensemble(runs, tmp_path / criterion, criterion)
        assert info["select_by"] == criterion and info["members"][0].startswith(order[criterion][0])
    assert order == {"val_loss": ["bold", "timid"], "calibrated_val_loss": ["timid", "bold"]}
    assert "calibrated" in read_json(tmp_path / "comparison.json")["selected_by"]


def test_a_run_without_validation_predictions_keeps_its_loss_and_unknown_criteria_are_refused(
    tmp_path: Path,
):
    run = make_run(tmp_path, "plain", "cnn", 0, ["neg", "pos"])
    info = read_json(run / "train.json")
    assert validation_score(run, info, "calibrated_val_loss") == info["best_val_loss"]
    assert validation_score(run, {}, "calibrated_val_loss") is None
    with pytest.raises(InputError, match="select_by 'val_accuracy'"):
        validation_score(run, info, "val_accuracy")
