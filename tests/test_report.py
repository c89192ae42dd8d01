"""genoflow report: results folder -> one self-contained, escaped HTML page.

The results tree is built from small synthetic predictions with the real writers (predictions,
metrics, summary.tsv, figures); no model is trained here. The second half covers regression and
forecasting datasets, the gene-interaction ranking and a report mixing all three tasks.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, make_forecast_run, make_regression_run, make_run

from genoflow.cli import main
from genoflow.errors import InputError
from genoflow.evaluate.summarize import summarize
from genoflow.formats.files import read_json, write_json
from genoflow.registry import FIGURES_BY_TASK
from genoflow.report.captions import FIGURES, TASK_FIGURES
from genoflow.report.figures import write_figures
from genoflow.report.format import metric_text
from genoflow.report.html import inline_svg, write_report
from genoflow.report.provenance import PACKAGES, git_commit, lock_digest, lock_name
from genoflow.report.tables import summary_task

EVIL_MODEL = "lstm<script>alert(1)"
EVIL_CONFIG = "</pre><script>alert('config')</script>"
COMMAND = "snakemake --cores 4 --configfile my config.yaml"
DATASETS = {
    # name: (classes, [(model, type, seeds)])
    "promoters": (
        ["nonpromoter", "promoter"],
        [
            ("gru", "gru", [0, 1, 2]),
            ("transformer", "transformer", [0]),
            ("kmer", "kmer_logreg", [0]),
        ],
    ),
    "splice": (
        ["EI", "IE", "N"],
        [(EVIL_MODEL, "lstm", [0]), ("cnn", "cnn", [0]), ("kmer_logreg", "kmer_logreg", [0])],
    ),
}


def make_dataset(results: Path, name: str, classes: list[str], models: list) -> None:
    root = results / name
    runs = [make_run(root, m, kind, s, classes) for m, kind, seeds in models for s in seeds]
    summarize(runs, root / "summary.tsv")
    write_figures(runs, root / "figures")
    write_json(
        root / "ingest" / "summary.json",
        {
            "alphabet": "dna",
            "records": 451,
            "rejected": 3,
            "rejected_reasons": {"invalid character": 3},
            "classes": {c: 150 + i for i, c in enumerate(classes)},
            "length": {"min": 57, "max": 60, "mean": 59.5, "median": 60.0},
            "letters": {"A": 100, "C": 100, "G": 100, "T": 100},
            "records_with_ambiguity_codes": 2,
            "duplicate_ids_dropped": 0,
            "inputs": [
                {"path": f"data/{name}_{c}.fa", "sha256": f"{i:x}" * 64, "records": 150 + i}
                for i, c in enumerate(classes, start=10)
            ],
        },
    )
    write_json(
        root / "preprocess" / "meta.json",
        {
            "classes": classes,
            "max_length": 60,
            "trim": "error",
            "split": {"method": "stratified", "val": 0.1, "test": 0.2, "seed": 42},
            "split_sizes": {
                "train": {c: 105 for c in classes},
                "val": {c: 15 for c in classes},
                "test": {c: 30 for c in classes},
            },
            "leakage": {
                "exact_groups_across_splits": 7,
                "reverse_complement_groups_across_splits": 5,
                "duplicate_records": 11,
            },
        },
    )


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("results")
    for name, (classes, models) in DATASETS.items():
        make_dataset(folder, name, classes, models)
    return folder


CONFIG = {"datasets": {"splice": {"note": EVIL_CONFIG}}, "seeds": [0, 1, 2], "train": {"lr": 1e-3}}


@pytest.fixture(scope="module")
def page(results: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("report") / "index.html"
    path = write_report(
        results,
        list(DATASETS),
        out,
        config=CONFIG,
        command=COMMAND,
        workflow_dir=tmp_path_factory.mktemp("not_a_repo"),
    )
    assert path == out
    assert [p.name for p in out.parent.iterdir()] == ["index.html"]  # no temporary left over
    return out.read_text(encoding="utf-8")


class Page(HTMLParser):
    """Ids, references, elements and text of an HTML page (inline SVG included)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.refs: list[str] = []
        self.tags: Counter[str] = Counter()
        self.attrs: list[tuple[str, str, str]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs) -> None:
        self.tags[tag] += 1
        for name, value in attrs:
            value = value or ""
            self.attrs.append((tag, name, value))
            if name == "id":
                self.ids.append(value)
            if name in ("href", "xlink:href") and value.startswith("#"):
                self.refs.append(value[1:])
            self.refs += re.findall(r"url\(#([^)]+)\)", value)

    handle_startendtag = handle_starttag

    def handle_data(self, data) -> None:
        self.text.append(data)


def section(html: str, anchor: str) -> str:
    """The HTML of one <section id=anchor>."""
    start = html.index(f'<section class="dataset" id="{anchor}">')
    return html[start : html.index("</section>", start)]


def plain(html: str) -> str:
    """Markup removed, whitespace collapsed: the text a reader sees."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_every_dataset_has_a_section_and_toc_entry(page: str) -> None:
    for i, name in enumerate(DATASETS, start=1):
        assert f'<li><a href="#dataset-{i}">{name}</a></li>' in page
        assert f"<h2>{name}</h2>" in section(page, f"dataset-{i}")


def test_comparison_rows_and_ci_format(page: str, results: Path) -> None:
    promoters = section(page, "dataset-1")
    for model in ("gru", "transformer", "kmer"):
        assert f'<th scope="row">{model}' in promoters
    metrics = read_json(results / "promoters" / "transformer" / "seed0" / "metrics.json")
    low, high = metrics["ci95"]["auroc"]
    assert f"{metrics['auroc']:.3f} [{low:.3f}–{high:.3f}]" in plain(promoters)
    # Several seeds: mean ± sd, with the seed list and count.
    summary = pd.read_csv(results / "promoters" / "summary.tsv", sep="\t")
    gru = summary[summary["model"] == "gru"]["accuracy"]
    assert len(gru) == 3
    assert f"{gru.mean():.3f} ± {gru.std(ddof=1):.3f}" in plain(promoters)
    assert "0, 1, 2 (n=3)" in plain(promoters)
    assert "baseline" in promoters  # the k-mer row is marked


def test_the_model_selected_on_validation_is_marked_and_no_test_value_is(
    page: str, results: Path
) -> None:
    """The comparison marks the model with the lowest validation loss (comparison.json's
    `selected`), shows every model's validation loss, and marks no test value best."""
    splice = section(page, "dataset-2")
    summary = pd.read_csv(results / "splice" / "summary.tsv", sep="\t")  # one seed per model
    selected = read_json(results / "splice" / "comparison.json")["selected"]
    assert selected == summary.loc[summary["val_loss"].idxmin(), "model"]
    rows = table_rows(splice, "comparison")
    (marked,) = [name for name in rows if "selected" in name.split()]
    assert html.unescape(marked).startswith(selected)
    assert not any(cell.startswith("*") for cells in rows.values() for cell in cells)
    for metric in ("accuracy", "mcc"):
        row = summary.iloc[0]
        low, high = row[f"{metric}_ci_low"], row[f"{metric}_ci_high"]
        assert f"{row[metric]:.3f} [{low:.3f}–{high:.3f}]" in plain(splice)
    assert "the test split selects nothing" in plain(splice)


def test_inline_svgs_with_unique_ids_and_resolving_references(page: str) -> None:
    parsed = Page(page)
    assert parsed.tags["svg"] == 5 * len(DATASETS)
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page
    duplicates = [i for i, n in Counter(parsed.ids).items() if n > 1]
    assert not duplicates, duplicates[:5]
    # Every internal reference (#id, url(#id)) points at an id on the page.
    missing = set(parsed.refs) - set(parsed.ids)
    assert not missing, sorted(missing)[:5]
    assert len(parsed.refs) > 50  # the figures do use references (markers, clip paths)


def test_no_external_resources(page: str) -> None:
    parsed = Page(page)
    for url in re.finditer(r"https?://[^\s\"'<>)]*", page):
        before = page[max(0, url.start() - 20) : url.start()]
        assert re.search(r'xmlns(:\w+)?="$', before), url.group()
    assert parsed.tags["script"] == 0 and parsed.tags["link"] == 0 and parsed.tags["img"] == 0
    for tag, name, value in parsed.attrs:
        if name in ("src", "href", "xlink:href"):
            assert value.startswith(("#", "data:")), (tag, name, value[:60])
    assert "@import" not in page and "url(http" not in page


def test_user_text_is_escaped(page: str) -> None:
    assert "<script" not in page.lower()
    assert "lstm&lt;script&gt;alert(1)" in page
    assert "&lt;/pre&gt;&lt;script&gt;" in page
    text = "".join(Page(page).text)
    assert EVIL_MODEL in text  # shown to the reader as typed


def test_provenance(page: str) -> None:
    provenance = page[page.index('<section id="provenance">') :]
    assert "snakemake --cores 4 --configfile my config.yaml" in provenance
    assert "not a git repository" in provenance
    assert f"no {lock_name()} beside the Snakefile" in provenance  # workflow_dir has none
    for package in ("genoflow", "python", *PACKAGES):
        assert f"<tr><td>{package}</td>" in provenance
    assert "seeds:" in provenance and "lr: 0.001" in provenance  # the config, as YAML
    for name, (classes, _) in DATASETS.items():
        for i, c in enumerate(classes, start=10):
            assert f"data/{name}_{c}.fa" in provenance
            assert f"{i:x}" * 64 in provenance
    assert "<dt>gru</dt><dd>0, 1, 2</dd>" in provenance
    assert "<dt>Data split</dt><dd>42</dd>" in provenance
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", provenance)


def test_data_summary(page: str) -> None:
    for i, (_, (classes, _)) in enumerate(DATASETS.items(), start=1):
        data = section(page, f"dataset-{i}")
        data = data[data.index(f'id="dataset-{i}-data"') :]
        assert "<dd>451</dd>" in data  # records kept
        assert "3 (invalid character: 3)" in data  # rejected, with reasons
        assert "57–60 (mean 59.5, median 60.0)" in data
        for c in classes:
            assert f"<tr><td>{c}</td>" in data
        total = f'<td class="num"><strong>{30 * len(classes)}</strong></td>'
        assert total in data  # test-split total
        assert "<dt>Exact groups across splits</dt><dd>7</dd>" in data
        assert "<dt>Reverse complement groups across splits</dt><dd>5</dd>" in data


def test_figures_have_captions_and_missing_ones_are_reported(results: Path, tmp_path) -> None:
    copy = tmp_path / "results"
    shutil.copytree(results / "promoters", copy / "promoters")
    (copy / "promoters" / "figures" / "loss.svg").unlink()
    out = write_report(
        copy, ["promoters"], tmp_path / "r.html", config={}, command="", workflow_dir=tmp_path
    )
    html = out.read_text()
    assert Page(html).tags["svg"] == 4
    assert "Figure not available" in html and "loss.svg" in html
    assert html.count("<figcaption>") == 5


def test_missing_summary_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="summary.tsv"):
        write_report(
            tmp_path, ["absent"], tmp_path / "r.html", config={}, command="", workflow_dir="."
        )
    assert not (tmp_path / "r.html").exists()


def test_inline_svg_prefixes_ids_and_references() -> None:
    svg = (
        '<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "x" "y">\n'
        '<svg xmlns="http://www.w3.org/2000/svg"><metadata><rdf:RDF/></metadata>'
        '<defs><path id="m1" d="M 0 0"/><clipPath id="p1"><rect/></clipPath></defs>'
        '<g id="figure_1" clip-path="url(#p1)"><use xlink:href="#m1" x="1"/></g></svg>'
    )
    a, b = str(inline_svg(svg, "d1-roc")), str(inline_svg(svg, "d2-roc"))
    assert a.startswith("<svg") and "<metadata" not in a
    assert 'id="d1-roc-m1"' in a and 'xlink:href="#d1-roc-m1"' in a
    assert "url(#d1-roc-p1)" in a and 'id="d1-roc-figure_1"' in a
    assert not set(re.findall(r'id="([^"]+)"', a)) & set(re.findall(r'id="([^"]+)"', b))


def _git(directory: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(directory), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_the_lock_is_named_by_its_digest(tmp_path: Path) -> None:
    (tmp_path / lock_name()).write_text("numpy==2.4.6\n")
    digest = hashlib.sha256(b"numpy==2.4.6\n").hexdigest()[:16]
    assert lock_digest(tmp_path) == f"{lock_name()} sha256:{digest}"
    assert lock_name().startswith("requirements-py3.")


def test_git_commit_clean_dirty_and_absent(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    assert git_commit(repo) == "git repository without commits"
    (repo / "Snakefile").write_text("rule all:\n")
    _git(repo, "add", "Snakefile")
    _git(repo, "commit", "-q", "-m", "first")
    head = _git(repo, "rev-parse", "HEAD")
    assert git_commit(repo) == head
    (repo / "Snakefile").write_text("rule all:\n    input: []\n")
    assert git_commit(repo) == f"{head} (uncommitted changes)"
    assert git_commit(tmp_path / "plain") == "not a git repository"  # does not even exist
    (tmp_path / "plain").mkdir()
    assert git_commit(tmp_path / "plain") == "not a git repository"


def test_cli_report(results: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "report" / "index.html"
    main(
        [
            "report",
            "--results",
            str(results),
            "--datasets",
            "splice",
            "promoters",
            "--config-json",
            json.dumps({"title": "<b>demo</b>"}),
            "--command",
            "snakemake --cores 2",
            "--workflow-dir",
            str(tmp_path),
            "--out",
            str(out),
        ]
    )
    html = out.read_text()
    assert "wrote" in capsys.readouterr().err
    # Datasets appear in the order given.
    assert html.index('<a href="#dataset-1">splice</a>') < html.index('href="#dataset-2"')
    assert "snakemake --cores 2" in html and "&lt;b&gt;demo&lt;/b&gt;" in html


# --- regression, forecasting, gene-interaction ranking, mixed report ---------------------------

TARGETS = ["liver", "brain"]
GENES = ["G1", "G2", "G3", "G4", "G5"]
EVIL_GENE = "G<i>9"
METHOD = "input gradient at the last step, rank ensemble"
NETWORKS = {
    # dataset: (neural, regulation, ridge, ridge_ar1, dyngenie3) as (auroc, aupr); None: no gold
    "dream_a": ((0.74, 0.41), (0.60, 0.30), (0.66, 0.44), (0.58, 0.22), (0.70, 0.30)),
    "dream_b": ((0.61, 0.25), (0.58, 0.22), (0.69, 0.31), (0.52, 0.19), (0.55, 0.20)),
    "dream_c": None,
}


def make_regression_dataset(results: Path, name: str) -> list[Path]:
    root = results / name
    runs = [
        make_regression_run(root, "lstm", "lstm", 0, TARGETS, n=80, noise=0.4),
        make_regression_run(root, "cnn", "cnn", 0, TARGETS, n=80, noise=0.8),
        make_regression_run(root, "kmer_ridge", "kmer_ridge", 0, TARGETS, n=80, noise=1.2),
    ]
    summarize(runs, root / "summary.tsv")
    write_figures(runs, root / "figures")
    write_json(
        root / "ingest" / "summary.json",
        {
            "task": "regression",
            "alphabet": "dna",
            "records": 400,
            "rejected": 0,
            "classes": {},
            "targets": TARGETS,
            "length": {"min": 100, "max": 100, "mean": 100.0, "median": 100.0},
            "inputs": [{"path": "data/expr.fa", "sha256": "e" * 64, "records": 400}],
        },
    )
    write_json(
        root / "preprocess" / "meta.json",
        {
            "task": "regression",
            "classes": [],
            "targets": TARGETS,
            "max_length": 100,
            "trim": "error",
            "split": {"method": "random", "val": 0.1, "test": 0.2, "seed": 7},
            "split_sizes": {
                "train": {"records": 280},
                "val": {"records": 40},
                "test": {"records": 80},
            },
            "leakage": {"exact_groups_across_splits": 0},
        },
    )
    return runs


def make_forecast_dataset(results: Path, name: str, models: list, scores) -> list[Path]:
    root = results / name
    runs = [
        make_forecast_run(root, model, kind, seed, genes=GENES, horizon=2, noise=noise)
        for model, kind, seed, noise in models
    ]
    summarize(runs, root / "summary.tsv")
    write_figures(runs, root / "figures")
    network = {"models": ["gru/seed0", "gru/seed1"], "method": METHOD}
    if scores:
        methods = ("neural", "regulation", "ridge", "ridge_ar1", "dyngenie3")
        for key, (auroc, aupr) in zip(methods, scores, strict=True):
            network[key] = {"auroc": auroc, "aupr": aupr, "edges_true": 8, "edges_scored": 20}
            network[key]["precision_top_k"] = round(aupr + 0.05, 3)
        network["per_model"] = {
            "gru/seed0": {"auroc": 0.7, "aupr": 0.35, "edges_true": 8, "edges_scored": 20},
            "gru/seed1": {"auroc": 0.65, "aupr": 0.3, "edges_true": 8, "edges_scored": 20},
        }
    write_json(root / "network" / "metrics.json", network)
    (root / "network" / "edges.tsv").write_text(
        f"regulator\ttarget\tscore\trank\n{EVIL_GENE}\tG2\t0.93\t1\nG3\tG1\t0.71\t2\n"
    )
    write_json(
        root / "ingest" / "summary.json",
        {
            "task": "forecasting",
            "samples": 60,
            "genes": len(GENES),
            "series": 5,
            "series_lengths": {f"ts{i}": 12 for i in range(5)},
            "conditions": {"wildtype": 5},
            "time_range": [0.0, 550.0],
            "inputs": [{"path": f"data/{name}.tsv", "sha256": "f" * 64}],
        },
    )
    write_json(
        root / "preprocess" / "meta.json",
        {
            "task": "forecasting",
            "genes": GENES,
            "input": 3,
            "horizon": 2,
            "series": 5,
            "time_points": 60,
            "transform": {"log1p": True, "zscore": True, "fitted_on": "train"},
            "split": {
                "method": "series",
                "train": ["ts0", "ts1", "ts2"],
                "val": ["ts3"],
                "test": ["ts9"],
                "seed": 42,
            },
            "windows": {"train": 24, "val": 8, "test": 8},
            "target": "delta",
            "multistep": "recursive",
            "leakage_check": {"test_points_in_train_windows": 0, "val_points_in_train_windows": 0},
        },
    )
    return runs


MIXED = ["splice", "expression", "dream_a", "dream_b", "dream_c"]
FORECAST_MODELS = {
    "dream_a": [
        ("gru", "gru", 0, 0.03),
        ("gru", "gru", 1, 0.04),
        ("lstm", "lstm", 0, 0.08),
        ("persistence", "persistence", 0, 0.0),
        ("ridge_ar", "ridge_ar", 0, 0.12),
    ],
    "dream_b": [("gru", "gru", 0, 0.05), ("ridge_ar", "ridge_ar", 0, 0.1)],
    "dream_c": [("gru", "gru", 0, 0.05), ("persistence", "persistence", 0, 0.0)],
}


@pytest.fixture(scope="module")
def mixed_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mixed")
    make_dataset(folder, "splice", *DATASETS["splice"])
    make_regression_dataset(folder, "expression")
    for name, models in FORECAST_MODELS.items():
        make_forecast_dataset(folder, name, models, NETWORKS[name])
    return folder


@pytest.fixture(scope="module")
def mixed(mixed_results: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("mixed_report") / "index.html"
    write_report(mixed_results, MIXED, out, config={}, command="", workflow_dir=out.parent)
    return out.read_text(encoding="utf-8")


def mixed_section(html: str, name: str) -> str:
    return section(html, f"dataset-{MIXED.index(name) + 1}")


def headers(html: str) -> list[str]:
    """Column headers of the first table in `html`, as a reader sees them."""
    table = html[html.index("<table") : html.index("</table>")]
    return [plain(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", table, re.S)]


def bold(html: str) -> list[str]:
    return [plain(b) for b in re.findall(r"<strong>(.*?)</strong>", html, re.S)]


def table_rows(html: str, css_class: str) -> dict[str, list[str]]:
    """{row header: [cell texts]} of <table class=css_class>; bold cells marked with '*'."""
    start = html.index(f'<table class="{css_class}">')
    table = html[start : html.index("</table>", start)]
    rows = {}
    for header, cells in re.findall(
        r'<tr[^>]*>\s*<th scope="row">(.*?)</th>(.*?)</tr>', table, re.S
    ):
        texts = []
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", cells, re.S):
            texts.append(("*" if "<strong>" in cell else "") + plain(cell))
        rows[plain(header)] = texts
    return rows


def test_sections_follow_their_task(mixed: str) -> None:
    expected = {
        "splice": ["Accuracy ↑", "Balanced accuracy ↑", "AUROC ↑", "AUPRC ↑", "F1 ↑", "MCC ↑"],
        "expression": ["MSE ↓", "MAE ↓", "R² ↑", "Pearson r ↑", "Spearman ρ ↑"],
        "dream_a": [
            "MSE ↓",
            "MAE ↓",
            "Skill ↑",
            "MSE (raw units) ↓",
            "MAE (raw units) ↓",
            "Skill (raw units) ↑",
        ],
    }
    for name, metrics in expected.items():
        columns = headers(mixed_section(mixed, name))
        assert columns[2 : 2 + len(metrics)] == metrics, name
        assert columns[2 + len(metrics) : 4 + len(metrics)] == ["Val. loss ↓", "Parameters"]
    assert "Task: sequence regression" in plain(mixed_section(mixed, "expression"))
    assert "Task: expression time-series forecasting" in plain(mixed_section(mixed, "dream_b"))
    assert "MSE and MAE: lower is better" in plain(mixed_section(mixed, "expression"))
    assert "All metrics: higher is better" in plain(mixed_section(mixed, "splice"))
    assert "Windows / s" in headers(mixed_section(mixed, "dream_a"))


def test_regression_values_as_measured_and_the_selected_model(mixed, mixed_results) -> None:
    html = mixed_section(mixed, "expression")
    summary = pd.read_csv(mixed_results / "expression" / "summary.tsv", sep="\t")

    def shown(row, metric: str) -> str:
        low, high = row[f"{metric}_ci_low"], row[f"{metric}_ci_high"]
        value, low, high = (metric_text(v, metric) for v in (row[metric], low, high))
        return f"{value} [{low}–{high}]"

    for metric in ("mse", "mae", "r2", "pearson"):
        for _, row in summary.iterrows():
            assert shown(row, metric) in plain(html), metric
    assert bold(html) == [] or all("selected" not in b for b in bold(html))
    # lstm (least noise) validates best, so it is selected; the k-mer ridge floor is not.
    assert summary.loc[summary["val_loss"].idxmin(), "model"] == "lstm"
    rows = table_rows(html, "comparison")
    assert any(name.startswith("lstm") and "selected" in name for name in rows)
    assert not any(cell.startswith("*") for cells in rows.values() for cell in cells)


def test_forecasting_with_several_seeds(mixed: str, mixed_results: Path) -> None:
    html = mixed_section(mixed, "dream_a")
    summary = pd.read_csv(mixed_results / "dream_a" / "summary.tsv", sep="\t")
    gru = summary[summary["model"] == "gru"]
    assert len(gru) == 2
    means = summary.groupby("model", sort=False)[["mse", "skill", "val_loss"]].mean()
    rows = table_rows(html, "comparison")
    mse = metric_text(gru["mse"].mean(), "mse")
    text = f"{mse} ± {metric_text(gru['mse'].std(ddof=1), 'mse')}"
    assert rows["gru selected"][1] == text  # mean ± sd, not marked
    assert means["val_loss"].idxmin() == "gru"  # selected on validation
    raw = metric_text(gru["mse_raw"].mean(), "mse_raw")
    assert rows["gru selected"][4].startswith(raw)  # original units beside the standardised
    assert rows["gru selected"][7] == metric_text(means.loc["gru", "val_loss"], "mse")
    persistence = next(v for k, v in rows.items() if k.startswith("persistence"))
    assert persistence[3].startswith("0.000")
    assert persistence[1].startswith(metric_text(means.loc["persistence", "mse"], "mse"))


def test_per_horizon_table(mixed: str, mixed_results: Path) -> None:
    html = mixed_section(mixed, "dream_a")
    assert "Error per forecast horizon" in html
    summary = pd.read_csv(mixed_results / "dream_a" / "summary.tsv", sep="\t")
    means = summary.groupby("model", sort=False).mean(numeric_only=True)
    rows = table_rows(html, "horizons")
    labels = {k.split(" ")[0]: v for k, v in rows.items()}
    assert list(labels) == ["gru", "lstm", "persistence", "ridge_ar"]  # baselines included
    for column, (horizon, metric) in enumerate((h, m) for h in (1, 2) for m in ("mse", "skill")):
        values = means[f"{metric}_h{horizon}"]
        for model, cells in labels.items():
            expected = metric_text(values[model], metric)
            assert cells[column] == expected, (model, horizon, metric)  # none marked best
    assert [labels["persistence"][i] for i in (1, 3)] == ["0.000", "0.000"]
    assert "No persistence run was trained" not in html


def test_per_horizon_reference_row_without_a_persistence_run(mixed, mixed_results) -> None:
    html = mixed_section(mixed, "dream_b")
    rows = table_rows(html, "horizons")
    reference = rows["persistence reference baseline"]
    metrics = read_json(mixed_results / "dream_b" / "gru" / "seed0" / "metrics.json")
    for i, entry in enumerate(metrics["per_horizon"]):
        assert reference[2 * i].lstrip("*") == metric_text(entry["persistence_mse"], "mse")
        assert reference[2 * i + 1].lstrip("*") == "0.000"
    assert "No persistence run was trained" in plain(html)


def test_network_ranking_table(mixed: str) -> None:
    html = mixed_section(mixed, "dream_a")
    text = plain(html)
    assert "Gene-interaction ranking" in text
    assert f"“{METHOD}”" in text
    for phrase in (
        "input gradient",
        "rank-averaged over all neural models and seeds",
        "most recent lag",
        "previous time point alone",
    ):
        assert phrase in text, phrase
    rows = table_rows(html, "network")
    assert rows["Neural ensemble"] == ["*0.740", "0.410", "0.460", "8", "20"]
    assert rows["Ridge AR (most recent lag)"] == ["0.660", "*0.440", "*0.490", "8", "20"]
    assert rows["Ridge AR(1) (reference)"] == ["0.580", "0.220", "0.270", "8", "20"]
    assert rows["dynGENIE3-style trees"] == ["0.700", "0.300", "0.350", "8", "20"]
    assert "AUPR 0.400" in text  # chance: 8 true of 20 scored pairs
    assert '<td>gru/seed0</td><td class="num">0.700</td>' in html  # per model
    assert '<td>gru/seed1</td><td class="num">0.650</td>' in html


def test_network_without_gold_standard(mixed: str) -> None:
    html = mixed_section(mixed, "dream_c")
    assert "Gene-interaction ranking" in html
    assert "No gold-standard network" in html
    assert '<table class="network">' not in html
    assert "G&lt;i&gt;9" in html and "<i>9" not in html  # top edges, escaped
    assert "Gene-interaction ranking" not in mixed_section(mixed, "expression")


def test_network_across_datasets(mixed: str) -> None:
    assert '<a href="#network-across-datasets">' in mixed
    start = mixed.index('<section id="network-across-datasets">')
    overview = mixed[start : mixed.index("</section>", start)]
    assert start < mixed.index('id="dataset-1"')
    rows = table_rows(overview, "network-overview")
    assert list(rows) == ["dream_a", "dream_b", "Mean (2 datasets)"]  # dream_c has no gold
    a, b = NETWORKS["dream_a"], NETWORKS["dream_b"]

    def flat(scores):
        return [v for pair in scores for v in pair]

    assert [c.lstrip("*") for c in rows["dream_a"]] == [f"{v:.3f}" for v in flat(a)]
    mean = [(x + y) / 2 for x, y in zip(flat(a), flat(b), strict=True)]
    assert [c.lstrip("*") for c in rows["Mean (2 datasets)"]] == [f"{v:.3f}" for v in mean]
    # Best method per row and metric: dream_b's ridge beats the neural ensemble on both.
    assert rows["dream_b"][4].startswith("*") and rows["dream_b"][5].startswith("*")
    assert not rows["dream_b"][0].startswith("*")
    assert rows["dream_a"][0].startswith("*") and rows["dream_a"][5].startswith("*")


def test_no_cross_dataset_table_for_a_single_scored_dataset(mixed_results, tmp_path) -> None:
    out = write_report(
        mixed_results,
        ["splice", "dream_a", "dream_c"],
        tmp_path / "r.html",
        config={},
        command="",
        workflow_dir=tmp_path,
    )
    html = out.read_text()
    assert "network-across-datasets" not in html
    assert '<table class="network">' in html  # the dataset's own table stays


def test_forecasting_data_summary(mixed: str) -> None:
    data = mixed_section(mixed, "dream_a")
    data = data[data.index('id="dataset-3-data"') :]
    text = plain(data)
    for fact in (
        "Genes 5",
        "Series 5 (wildtype: 5)",
        "Time points 60 (12 per series)",
        "Time range 0 – 550",
        "Windows 3 observed time points → forecast horizon 2",
        "Target delta (models predict the change from the last observed value)",
        "Multi-step strategy recursive",
        "Transform log1p then z-score (fitted on train)",
        "Split by series, seed 42",
    ):
        assert fact in text, fact
    assert "Train 3 24 ts0, ts1, ts2" in text
    assert "Validation 1 8 ts3" in text
    assert "Test 1 8 ts9" in text
    assert "<dt>Test points in train windows</dt><dd>0</dd>" in data
    assert "Sequence length" not in text and "Alphabet" not in text


def test_regression_data_summary(mixed: str) -> None:
    data = mixed_section(mixed, "expression")
    text = plain(data[data.index('id="dataset-2-data"') :])
    assert "Regression targets liver, brain" in text
    assert "Records per split train 280, validation 40, test 80" in text
    assert "Records kept 400" in text


def test_mixed_report_figures_and_captions(mixed: str) -> None:
    parsed = Page(mixed)
    assert parsed.tags["svg"] == 5 + 3 + 3 * 3
    duplicates = [i for i, n in Counter(parsed.ids).items() if n > 1]
    assert not duplicates, duplicates[:5]
    assert not set(parsed.refs) - set(parsed.ids)
    captions = {
        name: re.findall(r"<figcaption><strong>(.*?)\.</strong>", mixed_section(mixed, name))
        for name in MIXED
    }
    assert captions["splice"] == [FIGURES[n][0] for n in FIGURES_BY_TASK["classification"]]
    assert captions["expression"] == [
        "Model comparison",
        "Predicted vs measured",
        "Training curves",
    ]
    assert captions["dream_a"] == ["Error per horizon", "Forecasts over time", "Training curves"]
    assert TASK_FIGURES["forecasting"]["comparison"][1] in mixed_section(mixed, "dream_b")
    assert FIGURES["scatter"][1] in mixed_section(mixed, "expression")
    assert FIGURES["comparison"][1] not in mixed_section(mixed, "expression")


def test_every_figure_name_has_a_caption() -> None:
    for names in FIGURES_BY_TASK.values():
        for name in names:
            title, caption = FIGURES[name]
            assert title and caption.endswith("."), name
            assert (REPO / "workflow" / "report" / f"{name}.rst").is_file(), name


def test_mixed_report_is_self_contained_and_escaped(mixed: str) -> None:
    parsed = Page(mixed)
    assert parsed.tags["script"] == 0 and parsed.tags["link"] == 0 and parsed.tags["img"] == 0
    for tag, name, value in parsed.attrs:
        if name in ("src", "href", "xlink:href"):
            assert value.startswith(("#", "data:")), (tag, name, value[:60])
    assert "<script" not in mixed.lower()
    assert "lstm&lt;script&gt;alert(1)" in mixed


def test_missing_forecast_figure_is_reported(mixed_results: Path, tmp_path: Path) -> None:
    copy = tmp_path / "results"
    shutil.copytree(mixed_results / "dream_b", copy / "dream_b")
    (copy / "dream_b" / "figures" / "forecast.svg").unlink()
    html = write_report(
        copy, ["dream_b"], tmp_path / "r.html", config={}, command="", workflow_dir=tmp_path
    ).read_text()
    assert Page(html).tags["svg"] == 2
    assert "Figure not available" in html and "forecast.svg" in html
    assert html.count("<figcaption>") == 3


def test_summary_task_from_columns() -> None:
    assert (
        summary_task(
            pd.DataFrame(
                columns=[
                    "model",
                    "seed",
                    "accuracy",
                    "balanced_accuracy",
                    "auroc",
                    "auprc",
                    "f1",
                    "mcc",
                ]
            )
        )
        == "classification"
    )
    regression = ["model", "mse", "mae", "r2", "pearson", "spearman"]
    assert summary_task(pd.DataFrame(columns=regression)) == "regression"
    assert summary_task(pd.DataFrame(columns=["model", "mse", "mae", "skill"])) == "forecasting"
    assert summary_task(pd.DataFrame(columns=["model"]), {"task": "regression"}) == "regression"


def test_error_metrics_keep_three_significant_digits() -> None:
    assert metric_text(0.00123456, "mse") == "0.00123"
    assert metric_text(12.3456, "mae") == "12.3"
    assert metric_text(1234.56, "mse") == "1235"
    assert metric_text(3e-7, "mse") == "3.00e-07"
    assert metric_text(0.12345, "r2") == "0.123"
    assert metric_text(float("nan"), "skill") == "—"


def test_snakemake_captions_are_written_from_the_one_caption_source():
    """workflow/report/*.rst (Snakemake's --report) are the report's own captions, written by
    `python -m genoflow.report.captions workflow/report`: none edited by hand, none missing."""
    from genoflow.report.captions import FIGURES, ITEMS, rst

    folder = REPO / "workflow" / "report"
    assert {p.stem for p in folder.glob("*.rst")} == set(FIGURES) | set(ITEMS)
    for name in [*FIGURES, *ITEMS]:
        assert (folder / f"{name}.rst").read_text() == rst(name), name


def test_a_published_result_stands_beside_the_selected_models(results: Path, tmp_path: Path):
    config = {
        "datasets": {
            "promoters": {
                "published": {
                    "metric": "accuracy",
                    "value": 0.9101,
                    "source": "A paper <2018>",
                    "note": "same test split",
                }
            }
        }
    }
    out = write_report(
        results, ["promoters"], tmp_path / "r.html", config=config, command="", workflow_dir="."
    )
    html = out.read_text()
    assert "Published: A paper &lt;2018&gt;, Accuracy 0.910 (same test split)." in html
    comparison = json.loads((results / "promoters" / "comparison.json").read_text())
    summary = pd.read_csv(results / "promoters" / "summary.tsv", sep="\t")
    ours = summary[summary["model"] == comparison["selected"]]["accuracy"].mean()
    assert f"({comparison['selected']}): {ours:.3f} on the test split" in html
