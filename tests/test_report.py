"""genoflow report: results folder -> one self-contained, escaped HTML page.

The results tree is built from small synthetic predictions with the real writers (predictions,
metrics, summary.tsv, figures); no model is trained here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from conftest import make_run

from genoflow.cli import main
from genoflow.errors import InputError
from genoflow.figures import write_figures
from genoflow.io import read_json, write_json
from genoflow.report import PACKAGES, git_commit, inline_svg, write_report
from genoflow.summarize import summarize

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


def test_best_value_per_column_is_bold(page: str, results: Path) -> None:
    splice = section(page, "dataset-2")
    summary = pd.read_csv(results / "splice" / "summary.tsv", sep="\t")  # one seed per model
    for metric in ("accuracy", "mcc"):
        best = summary[metric].round(3).max()
        bold = [plain(b) for b in re.findall(r"<strong>(.*?)</strong>", splice, re.S)]
        row = summary[summary[metric].round(3) == best].iloc[0]
        low, high = row[f"{metric}_ci_low"], row[f"{metric}_ci_high"]
        assert f"{best:.3f} [{low:.3f}–{high:.3f}]" in bold
        worst = summary[metric].round(3).min()
        assert worst < best  # the synthetic models differ
        row = summary[summary[metric].round(3) == worst].iloc[0]
        low, high = row[f"{metric}_ci_low"], row[f"{metric}_ci_high"]
        assert f"{worst:.3f} [{low:.3f}–{high:.3f}]" in plain(splice)
        assert f"{worst:.3f} [{low:.3f}–{high:.3f}]" not in bold


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
    assert "wrote" in capsys.readouterr().out
    # Datasets appear in the order given.
    assert html.index('<a href="#dataset-1">splice</a>') < html.index('href="#dataset-2"')
    assert "snakemake --cores 2" in html and "&lt;b&gt;demo&lt;/b&gt;" in html
