"""genoflow figures: run folders -> five compact, deterministic SVG figures.

Run folders are built from small synthetic predictions with the real writers
(train.write_predictions, metrics.evaluate): no model is trained here.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from conftest import make_run
from sklearn import metrics as skm

from genoflow import figures
from genoflow.cli import main
from genoflow.errors import InputError
from genoflow.figures import FIGURES, MAX_POINTS, load_run, model_colours, thin, write_figures

SIZE_LIMIT = 150_000  # bytes per figure
SVG = "{http://www.w3.org/2000/svg}"


THREE = ["EI", "IE", "N"]
TWO = ["nonpromoter", "promoter"]


@pytest.fixture(scope="module")
def three_class_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("splice")
    return [
        make_run(root, "lstm", "lstm", 0, THREE),
        make_run(root, "lstm", "lstm", 1, THREE),
        make_run(root, "gru", "gru", 0, THREE, skill=0.5),
        make_run(root, "kmer_logreg", "kmer_logreg", 0, THREE, epochs=4),
    ]


@pytest.fixture(scope="module")
def out(three_class_runs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The figures of the three-class runs, drawn once for the tests that only read them."""
    folder = tmp_path_factory.mktemp("figures")
    write_figures(three_class_runs, folder)
    return folder


def svg_texts(path: Path) -> list[str]:
    """Every text string drawn in an SVG (svg.fonttype none keeps text as <text>)."""
    return [node.text or "" for node in ET.parse(path).iter(f"{SVG}text")]


def test_five_valid_small_svgs(out: Path) -> None:
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.svg" for n in FIGURES)
    for name in FIGURES:
        path = out / f"{name}.svg"
        root = ET.parse(path).getroot()
        assert root.tag == f"{SVG}svg", path
        assert 0 < path.stat().st_size < SIZE_LIMIT, (path, path.stat().st_size)
        text = path.read_text()
        assert "<dc:date>" not in text  # no timestamp: reruns give the same bytes
        assert svg_texts(path), f"{path.name}: text was converted to paths"
        # Self-contained: references are internal (#id) or inline data (the colour bar).
        for ref in re.findall(r'href="([^"]*)"', text):
            assert ref.startswith(("#", "data:image/png;base64,")), (name, ref[:40])


def test_figures_are_deterministic(three_class_runs: list[Path], out: Path, tmp_path) -> None:
    again = write_figures(three_class_runs, tmp_path / "again")
    assert [p.name for p in again] == [f"{name}.svg" for name in FIGURES]
    for path in again:
        assert path.read_bytes() == (out / path.name).read_bytes(), path.name


def test_multiclass_curves_one_panel_per_class_with_auc(three_class_runs, out) -> None:
    roc_texts, pr_texts = svg_texts(out / "roc.svg"), svg_texts(out / "pr.svg")
    for name in THREE:
        assert f"{name} vs rest" in roc_texts
        assert f"{name} vs rest" in pr_texts
    # Legends give each model's one-vs-rest area for the class of their panel (first seed).
    run = load_run(three_class_runs[0])
    for c, name in enumerate(THREE):
        auc = skm.roc_auc_score(run.y == c, run.probs[:, c])
        ap = skm.average_precision_score(run.y == c, run.probs[:, c])
        assert f"lstm  {auc:.3f}" in roc_texts, name
        assert f"lstm  {ap:.3f}" in pr_texts, name


def test_binary_curves_single_panel_for_positive_class(tmp_path: Path) -> None:
    runs = [
        make_run(tmp_path, "transformer", "transformer", 0, TWO),
        make_run(tmp_path, "kmer_logreg", "kmer_logreg", 0, TWO),
    ]
    out = tmp_path / "figures"
    write_figures(runs, out)
    texts = svg_texts(out / "roc.svg")
    assert "promoter (positive class)" in texts
    assert not any("vs rest" in t for t in texts)
    run = load_run(runs[0])
    auc = skm.roc_auc_score(run.y == 1, run.probs[:, 1])
    assert f"transformer  {auc:.3f}" in texts
    assert abs(auc - run.metrics["auroc"]) < 1e-9  # same number as the metrics table
    confusion = svg_texts(out / "confusion.svg")
    counts = np.asarray(run.metrics["confusion_matrix"])
    for count in counts.ravel():
        assert str(count) in confusion


def test_loss_skips_the_kmer_baseline(three_class_runs, out: Path, tmp_path: Path) -> None:
    texts = svg_texts(out / "loss.svg")
    assert "lstm (seed 0)" in texts and "gru (seed 0)" in texts
    assert not any("kmer_logreg" in t for t in texts)
    assert any("kmer_logreg" in t for t in svg_texts(out / "comparison.svg"))

    write_figures([three_class_runs[-1]], tmp_path / "only_baseline")
    only = svg_texts(tmp_path / "only_baseline" / "loss.svg")
    assert any("No neural model" in t for t in only)


def test_one_colour_per_model_in_every_figure(three_class_runs, out: Path) -> None:
    colours = model_colours([load_run(p) for p in three_class_runs])
    assert list(colours) == ["lstm", "gru", "kmer_logreg"]
    assert len(set(colours.values())) == 3
    assert colours["kmer_logreg"] in ("#555555", "#999999")  # baselines are grey
    for name in FIGURES:
        text = (out / f"{name}.svg").read_text().lower()
        for model in ("lstm", "gru"):
            assert colours[model].lower() in text, (name, model)


def test_comparison_shows_every_seed(three_class_runs: list[Path], out: Path) -> None:
    root = ET.parse(out / "comparison.svg").getroot()
    colours = model_colours([load_run(p) for p in three_class_runs])
    # Marker shapes are <path>s in <defs>; a circle is drawn with Bezier curves ("C").
    circles = {
        f"#{node.get('id')}"
        for node in root.iter(f"{SVG}path")
        if node.get("id") and " C " in f" {node.get('d')} "
    }
    assert circles

    def circle_markers(colour: str) -> int:
        return sum(
            1
            for use in root.iter(f"{SVG}use")
            if use.get("{http://www.w3.org/1999/xlink}href") in circles
            and f"fill: {colour.lower()}" in use.get("style", "").lower()
        )

    # One marker per seed in each of the two panels (accuracy, AUROC).
    assert circle_markers(colours["lstm"]) == 4
    assert circle_markers(colours["gru"]) == 2
    assert circle_markers(colours["kmer_logreg"]) == 0  # the baseline is a hollow square


def test_long_curves_are_thinned(tmp_path: Path, monkeypatch) -> None:
    run = make_run(tmp_path, "cnn", "cnn", 0, TWO, n=3000, skill=0.5)
    loaded = load_run(run)
    fpr, _, _ = skm.roc_curve(loaded.y == 1, loaded.probs[:, 1])
    assert len(fpr) > 2 * MAX_POINTS  # the unthinned curve would be long
    write_figures([run], tmp_path / "default")
    for name in FIGURES:
        size = (tmp_path / "default" / f"{name}.svg").stat().st_size
        assert size < 40_000, (name, size)

    # With a small per-curve limit the drawn paths must respect it (matplotlib's own path
    # simplification alone leaves a few hundred vertices here).
    monkeypatch.setattr(figures, "MAX_POINTS", 70)
    write_figures([run], tmp_path / "small")

    def longest_path(name: str) -> int:
        text = (tmp_path / "small" / f"{name}.svg").read_text()
        return max(d.count("L") for d in re.findall(r' d="([^"]*)"', text))

    assert longest_path("roc") <= 70
    assert longest_path("pr") <= 2 * 70  # PR curves are steps: two vertices per point


def test_thin_keeps_ends_and_limit() -> None:
    x = np.arange(1000.0)
    (kept,) = thin(x, limit=300)
    assert len(kept) <= 300 and kept[0] == 0 and kept[-1] == 999
    assert np.array_equal(thin(x[:10], limit=300)[0], x[:10])


def test_missing_metrics_is_an_input_error(tmp_path: Path) -> None:
    run = make_run(tmp_path, "rnn", "rnn", 0, TWO)
    (run / "metrics.json").unlink()
    with pytest.raises(InputError, match="metrics.json"):
        write_figures([run], tmp_path / "figures")
    assert not (tmp_path / "figures" / "comparison.svg").exists()


def test_runs_with_different_classes_are_refused(tmp_path: Path) -> None:
    runs = [
        make_run(tmp_path / "a", "rnn", "rnn", 0, TWO),
        make_run(tmp_path, "gru", "gru", 0, THREE),
    ]
    with pytest.raises(InputError, match="classes"):
        write_figures(runs, tmp_path / "figures")


def test_cli_figures(three_class_runs: list[Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "cli"
    main(["figures", "--runs", *map(str, three_class_runs), "--out-dir", str(out)])
    assert sorted(p.name for p in out.glob("*.svg")) == sorted(f"{n}.svg" for n in FIGURES)
    assert "wrote 5 figures" in capsys.readouterr().out


def test_names_are_plain_text(tmp_path: Path) -> None:
    """A "$" in a model name is not TeX, and markup-like names stay text."""
    run = make_run(tmp_path, "cnn$k$<b>", "cnn", 0, TWO, n=60)
    write_figures([run], tmp_path / "figures")
    for name in FIGURES:
        path = tmp_path / "figures" / f"{name}.svg"
        texts = svg_texts(path)  # parses: the "<b>" was escaped
        assert any("cnn$k$<b>" in t for t in texts), name
