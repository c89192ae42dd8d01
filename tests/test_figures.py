"""genoflow figures: run folders -> compact, deterministic SVG figures per task.

Run folders are built from small synthetic predictions with the real writers
(train.write_predictions, train.write_regression_predictions, the documented forecasting table,
metrics.evaluate): no model is trained here.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, make_forecast_run, make_regression_run, make_run
from sklearn import metrics as skm

from genoflow.cli import main
from genoflow.errors import InputError
from genoflow.formats.files import read_json
from genoflow.registry import BASELINE_TYPES, FIGURES_BY_TASK, METRICS_BY_TASK
from genoflow.report.figures import (
    classification,
    comparison,
    forecasting,
    regression,
    write_figures,
)
from genoflow.report.figures.style import (
    BASELINE_COLOURS,
    MAX_POINTS,
    load_run,
    model_colours,
    thin,
)

FIGURES = FIGURES_BY_TASK["classification"]
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
    monkeypatch.setattr(classification, "MAX_POINTS", 70)
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
    assert "wrote 5 figures" in capsys.readouterr().err


def test_names_are_plain_text(tmp_path: Path) -> None:
    """A "$" in a model name is not TeX, and markup-like names stay text."""
    run = make_run(tmp_path, "cnn$k$<b>", "cnn", 0, TWO, n=60)
    write_figures([run], tmp_path / "figures")
    for name in FIGURES:
        path = tmp_path / "figures" / f"{name}.svg"
        texts = svg_texts(path)  # parses: the "<b>" was escaped
        assert any("cnn$k$<b>" in t for t in texts), name


# --- every task ------------------------------------------------------------------------------

TARGETS = ["liver"]
GENES = ["G1", "G2", "G3", "G4", "G5", "G6"]


@pytest.fixture(scope="module")
def regression_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("regression")
    return [
        make_regression_run(root, "lstm", "lstm", 0, TARGETS),
        make_regression_run(root, "lstm", "lstm", 1, TARGETS),
        make_regression_run(root, "cnn", "cnn", 0, TARGETS, noise=1.0),
        make_regression_run(root, "kmer_ridge", "kmer_ridge", 0, TARGETS, noise=1.5),
    ]


@pytest.fixture(scope="module")
def forecast_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("forecast")
    options = {"genes": GENES, "horizon": 3}
    return [
        make_forecast_run(root, "gru", "gru", 0, **options),
        make_forecast_run(root, "gru", "gru", 1, **options),
        make_forecast_run(root, "lstm", "lstm", 0, noise=0.1, **options),
        make_forecast_run(root, "persistence", "persistence", 0, **options),
        make_forecast_run(root, "ridge_ar", "ridge_ar", 0, noise=0.15, **options),
    ]


@pytest.fixture(scope="module")
def task_figures(regression_runs, forecast_runs, tmp_path_factory) -> dict[str, Path]:
    """The figures of the regression and forecasting runs, drawn once."""
    folders = {}
    for task, runs in (("regression", regression_runs), ("forecasting", forecast_runs)):
        folders[task] = tmp_path_factory.mktemp(task)
        written = write_figures(runs, folders[task])
        assert [p.name for p in written] == [f"{n}.svg" for n in FIGURES_BY_TASK[task]]
    return folders


def check_svg(path: Path) -> None:
    """Valid, small, dated nowhere, text kept as text and only internal references."""
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg", path
    assert 0 < path.stat().st_size < SIZE_LIMIT, (path, path.stat().st_size)
    text = path.read_text()
    assert "<dc:date>" not in text
    assert svg_texts(path), f"{path.name}: text was converted to paths"
    for ref in re.findall(r'href="([^"]*)"', text):
        assert ref.startswith(("#", "data:image/png;base64,")), (path.name, ref[:40])


def test_figures_by_task_cover_every_task() -> None:
    assert set(FIGURES_BY_TASK) == set(METRICS_BY_TASK)
    assert FIGURES == ("comparison", "roc", "pr", "confusion", "loss")
    assert FIGURES_BY_TASK["regression"] == ("comparison", "scatter", "loss")
    assert FIGURES_BY_TASK["forecasting"] == ("comparison", "forecast", "loss")
    assert {"kmer_logreg", "kmer_ridge", "persistence", "ridge_ar"} <= set(BASELINE_TYPES)
    # The workflow attaches one caption file to each figure it declares.
    for names in FIGURES_BY_TASK.values():
        for name in names:
            assert (REPO / "workflow" / "report" / f"{name}.rst").is_file(), name


@pytest.mark.parametrize("task", ["regression", "forecasting"])
def test_task_figures_are_valid_small_svgs(task: str, task_figures) -> None:
    folder = task_figures[task]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{n}.svg" for n in FIGURES_BY_TASK[task]
    )
    for name in FIGURES_BY_TASK[task]:
        check_svg(folder / f"{name}.svg")


@pytest.mark.parametrize("task", ["regression", "forecasting"])
def test_task_figures_are_deterministic(
    task, task_figures, regression_runs, forecast_runs, tmp_path
):
    runs = regression_runs if task == "regression" else forecast_runs
    for path in write_figures(runs, tmp_path):
        assert path.read_bytes() == (task_figures[task] / path.name).read_bytes(), path.name


def test_every_figure_is_written_with_baselines_only(tmp_path: Path) -> None:
    """The workflow declares every name: with no neural model there is still a loss figure."""
    cases = {
        "regression": [make_regression_run(tmp_path / "r", "kmer_ridge", "kmer_ridge", 0, TARGETS)],
        "forecasting": [
            make_forecast_run(tmp_path / "f", "persistence", "persistence", 0),
            make_forecast_run(tmp_path / "f", "ridge_ar", "ridge_ar", 0),
        ],
    }
    for task, runs in cases.items():
        out = tmp_path / f"{task}-figures"
        write_figures(runs, out)
        for name in FIGURES_BY_TASK[task]:
            check_svg(out / f"{name}.svg")
        assert any("No neural model" in t for t in svg_texts(out / "loss.svg")), task


def test_regression_comparison_shows_every_metric_with_ci(regression_runs, task_figures) -> None:
    texts = svg_texts(task_figures["regression"] / "comparison.svg")
    for title in (
        "MSE (lower is better)",
        "MAE (lower is better)",
        "R²",
        "Pearson r",
        "Spearman ρ",
    ):
        assert f"Test {title}" in texts, title
    assert "kmer_ridge (baseline)" in texts and "lstm" in texts and "cnn" in texts
    # One errorbar (marker + CI whisker) per run and metric: drawn from the same Figure.
    runs = [load_run(p) for p in regression_runs]
    by_model: dict = {}
    for run in runs:
        by_model.setdefault(run.model, []).append(run)
    figure = comparison.comparison_figure(
        by_model, model_colours(runs), comparison.REGRESSION_PANELS
    )
    for ax, (metric, _) in zip(figure.axes, comparison.REGRESSION_PANELS, strict=False):
        markers = sorted(
            float(line.get_xdata()[0])
            for line in ax.lines
            if line.get_marker() in ("o", "s") and len(line.get_xdata()) == 1
        )
        assert markers == pytest.approx(sorted(run.metrics[metric] for run in runs)), metric


def test_regression_baselines_are_grey(regression_runs) -> None:
    colours = model_colours([load_run(p) for p in regression_runs])
    assert colours["kmer_ridge"] in BASELINE_COLOURS
    assert colours["lstm"] not in BASELINE_COLOURS


def test_scatter_one_panel_per_model_with_r2_and_pearson(regression_runs, task_figures) -> None:
    texts = svg_texts(task_figures["regression"] / "scatter.svg")
    firsts = {}
    for path in regression_runs:
        run = load_run(path)
        firsts.setdefault(run.model, run)  # the first seed of each model
    for model, run in firsts.items():
        label = f"{model} (baseline)" if run.baseline else model
        r2, pearson = run.metrics["r2"], run.metrics["pearson"]
        assert f"R² {r2:.3f} · Pearson r {pearson:.3f}" in texts, model
        assert label in texts, model
    assert sum("Pearson r" in t for t in texts) == len(firsts)  # one panel per model
    # The second lstm seed is not drawn: its R² would differ.
    second = load_run(regression_runs[1])
    assert f"R² {second.metrics['r2']:.3f} · Pearson r" not in " ".join(texts)
    assert "Measured" in texts and "Predicted" in texts


def test_scatter_identity_line_and_limits(regression_runs) -> None:
    run = load_run(regression_runs[0])
    figure = regression.scatter_figure([run], {"lstm": "#0072B2"})
    ax = figure.axes[0]
    identity = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(identity) == 1
    x, y = identity[0].get_xydata().T
    assert np.allclose(x, y)  # y = x
    truth, predicted = run.table["true_liver"], run.table["pred_liver"]
    low, high = min(truth.min(), predicted.min()), max(truth.max(), predicted.max())
    assert ax.get_xlim() == ax.get_ylim()
    assert ax.get_xlim()[0] < low and ax.get_xlim()[1] > high  # every point inside


def test_scatter_several_targets_first_three_and_thinned(tmp_path: Path, monkeypatch) -> None:
    targets = ["liver", "brain", "heart", "lung"]
    runs = [make_regression_run(tmp_path, m, m, 0, targets, n=400) for m in ("gru", "kmer_ridge")]
    write_figures(runs, tmp_path / "default")
    check_svg(tmp_path / "default" / "scatter.svg")
    texts = svg_texts(tmp_path / "default" / "scatter.svg")
    for target in targets[:3]:
        assert texts.count(target) == 2, target  # in the legend of both panels
    assert "lung" not in texts
    assert any("first 3 of 4 targets" in t for t in texts)
    assert any("(mean of 4 targets)" in t for t in texts)

    monkeypatch.setattr(regression, "SCATTER_BUDGET", 300)
    write_figures(runs, tmp_path / "small")
    text = (tmp_path / "small" / "scatter.svg").read_text()
    points = len(re.findall(r"<use [^>]*fill-opacity: 0\.6", text))
    # 2 panels x 3 targets x 50 points (+ one legend marker each), not 2 x 3 x 400.
    assert 150 < points <= 300 + 2 * 3


def test_regression_runs_with_different_targets_are_refused(tmp_path: Path) -> None:
    runs = [
        make_regression_run(tmp_path / "a", "cnn", "cnn", 0, ["liver"], n=40),
        make_regression_run(tmp_path / "b", "gru", "gru", 0, ["brain"], n=40),
    ]
    with pytest.raises(InputError, match="targets"):
        write_figures(runs, tmp_path / "figures")


def test_runs_of_different_tasks_are_refused(tmp_path: Path) -> None:
    runs = [
        make_run(tmp_path, "rnn", "rnn", 0, TWO, n=40),
        make_forecast_run(tmp_path, "gru", "gru", 0),
    ]
    with pytest.raises(InputError, match="task 'forecasting' differs"):
        write_figures(runs, tmp_path / "figures")
    assert not (tmp_path / "figures").exists()


def test_forecast_table_missing_a_column_is_an_input_error(tmp_path: Path) -> None:
    run = make_forecast_run(tmp_path, "gru", "gru", 0)
    table = pd.read_csv(run / "predictions.tsv", sep="\t").drop(columns="last")
    table.to_csv(run / "predictions.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match=r"predictions.tsv.*last"):
        write_figures([run], tmp_path / "figures")


def test_forecast_comparison_lines_per_horizon(forecast_runs, task_figures) -> None:
    texts = svg_texts(task_figures["forecasting"] / "comparison.svg")
    for label in ("gru", "lstm", "persistence (baseline)", "ridge_ar (baseline)"):
        assert label in texts, label
    assert "persistence (skill 0)" in texts
    assert "Test MSE per horizon (lower is better)" in texts

    runs = [load_run(p) for p in forecast_runs]
    by_model: dict = {}
    for run in runs:
        by_model.setdefault(run.model, []).append(run)
    figure = forecasting.horizon_figure(by_model, model_colours(runs))
    ax_mse, ax_skill = figure.axes[:2]
    for ax, metric in ((ax_mse, "mse"), (ax_skill, "skill")):
        lines = {line.get_label(): line for line in ax.lines}
        for model, group in by_model.items():
            label = f"{model} (baseline)" if group[0].baseline else model
            x, y = lines[label].get_xdata(), lines[label].get_ydata()
            assert list(x) == [1, 2, 3]
            expected = [
                np.mean(
                    [
                        next(h[metric] for h in r.metrics["per_horizon"] if h["horizon"] == k)
                        for r in group
                    ]
                )
                for k in (1, 2, 3)
            ]
            assert y == pytest.approx(expected), (model, metric)
    reference = [line for line in ax_skill.lines if line.get_label() == "persistence (skill 0)"]
    assert len(reference) == 1 and set(reference[0].get_ydata()) == {0}
    # Persistence's own line sits on the reference: its skill is 0 at every horizon.
    persistence = next(x for x in ax_skill.lines if x.get_label() == "persistence (baseline)")
    assert list(persistence.get_ydata()) == [0, 0, 0]


def test_forecast_shows_the_most_variable_genes_of_the_first_test_series(
    forecast_runs, task_figures
) -> None:
    texts = svg_texts(task_figures["forecasting"] / "forecast.svg")
    table = pd.read_csv(forecast_runs[0] / "predictions.tsv", sep="\t")
    first = table[(table["horizon"] == 1) & (table["series"] == table["series"].iloc[0])]
    variance = first.groupby("gene")["truth"].var(ddof=0).sort_values(ascending=False)
    top, rest = list(variance.index[:4]), list(variance.index[4:])
    assert len(rest) == 2
    titles = [t for t in texts if "(variance" in t]
    assert [t.split(" (")[0] for t in titles] == top  # largest variance first
    for gene in rest:
        assert not any(t.startswith(f"{gene} (") for t in texts)
    for label in ("measured", "persistence (last observed value)", "gru", "lstm"):
        assert label in texts, label
    assert "ridge_ar (baseline)" in texts
    assert "persistence (baseline)" not in texts  # drawn once, as the dashed last value
    assert any("test series ts9 (1 of 2 test series)" in t for t in texts)


def test_forecast_lines_are_horizon_one_values(forecast_runs) -> None:
    runs = [load_run(p) for p in forecast_runs]
    runs = [run for run in runs if run.seed == 0]  # write_figures passes each model's first seed
    figure = forecasting.forecast_figure(runs, model_colours(runs))
    ax = figure.axes[0]
    gene = ax.get_title().split(" (")[0]
    table = runs[0].table
    rows = table[(table["horizon"] == 1) & (table["series"] == "ts9") & (table["gene"] == gene)]
    lines = {line.get_label(): line for line in ax.lines}
    assert list(lines["measured"].get_ydata()) == pytest.approx(list(rows["truth"]))
    assert list(lines["measured"].get_xdata()) == pytest.approx(list(rows["time"]))
    assert list(lines["persistence (last observed value)"].get_ydata()) == pytest.approx(
        list(rows["last"])
    )
    assert lines["persistence (last observed value)"].get_linestyle() == "--"
    assert list(lines["gru"].get_ydata()) == pytest.approx(list(rows["predicted"]))
    lstm = runs[1].table
    lstm = lstm[(lstm["horizon"] == 1) & (lstm["series"] == "ts9") & (lstm["gene"] == gene)]
    assert list(lines["lstm"].get_ydata()) == pytest.approx(list(lstm["predicted"]))


def test_forecast_loss_only_neural_models(task_figures) -> None:
    texts = svg_texts(task_figures["forecasting"] / "loss.svg")
    assert "gru (seed 0)" in texts and "lstm (seed 0)" in texts
    assert not any("ridge_ar" in t or "persistence" in t for t in texts)
    assert "MSE loss (normalised values)" in texts
    regression = svg_texts(task_figures["regression"] / "loss.svg")
    assert "MSE loss (standardised targets)" in regression
    assert not any("kmer_ridge" in t for t in regression)


def test_old_metrics_without_task_are_classification(tmp_path: Path) -> None:
    run = make_run(tmp_path, "rnn", "rnn", 0, TWO, n=40)
    metrics = read_json(run / "metrics.json")
    del metrics["task"]
    (run / "metrics.json").write_text(__import__("json").dumps(metrics))
    assert load_run(run).task == "classification"
    assert [p.name for p in write_figures([run], tmp_path / "f")] == [f"{n}.svg" for n in FIGURES]


def test_cli_figures_forecasting(forecast_runs, tmp_path: Path, capsys) -> None:
    out = tmp_path / "cli"
    main(["figures", "--runs", *map(str, forecast_runs), "--out-dir", str(out)])
    assert sorted(p.name for p in out.glob("*.svg")) == sorted(
        f"{n}.svg" for n in FIGURES_BY_TASK["forecasting"]
    )
    assert "wrote 3 figures" in capsys.readouterr().err
