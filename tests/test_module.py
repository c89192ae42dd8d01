"""genoflow used as a Snakemake module from another workflow (`module genoflow: snakefile:
...`, `use rule * from genoflow`): the module finds its schemas, package and lock in its own
checkout, not in the calling workflow's folder, and writes only into the calling project; a
module fetched by URL (as snakedeploy's `github(...)` is) runs the installed genoflow."""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from conftest import REPO, write_motif_fasta

pytestmark = pytest.mark.e2e


def motif_data(folder: Path, config: Path, models: dict) -> None:
    """Motif records in `folder` and a config of them with `models` at `config`."""
    write_motif_fasta(folder / "motifs.fa", n=120, length=30)
    dataset = {"alphabet": "dna", "fasta": ["motifs.fa"], "label_pattern": r"^\S+\s+(\S+)"}
    settings = {"train": {"max_epochs": 2}, "interpret": {"records": 10}}
    settings |= {"datasets": {"motifs": dataset}, "models": models}
    config.write_text(yaml.safe_dump(settings))


def write_project(project: Path, snakefile: str) -> None:
    """A project of motif records that uses genoflow as a module from `snakefile`."""
    project.mkdir()
    models = {
        "cnn": {"type": "cnn", "channels": 8},
        "kmer_logreg": {"type": "kmer_logreg", "k": 2},
    }
    motif_data(project, project / "config.yaml", models)
    (project / "Snakefile").write_text(
        'configfile: "config.yaml"\n\n\n'
        "module genoflow:\n"
        f"    snakefile:\n        {snakefile!r}\n"
        "    config:\n        config\n\n\n"
        "use rule * from genoflow as genoflow_*\n\n\n"
        "rule all:\n"
        "    input:\n        rules.genoflow_all.input,\n"
        "    default_target: True\n"
    )


def run_snakemake(project: Path) -> None:
    snakemake = [str(Path(sys.executable).parent / "snakemake"), "--cores", "2"]
    if not Path(snakemake[0]).exists():
        snakemake[0] = shutil.which("snakemake")
    result = subprocess.run(snakemake, cwd=project, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]


def test_a_project_runs_genoflow_as_a_module(tmp_path: Path) -> None:
    project = tmp_path / "my project"  # a space: paths reach the shell quoted
    write_project(project, str(REPO / "Snakefile"))
    before = sorted(p.name for p in REPO.iterdir())
    run_snakemake(project)
    summary = (project / "results" / "motifs" / "summary.tsv").read_text()
    assert "\ncnn\t" in summary and "\nkmer_logreg\t" in summary
    report = (project / "results" / "report" / "index.html").read_text()
    assert "motifs" in report and "requirements-py" in report  # the module's own lock
    assert sorted(p.name for p in REPO.iterdir()) == before  # nothing written into genoflow


def test_a_module_fetched_by_url_runs_the_installed_genoflow(tmp_path: Path) -> None:
    """The checkout served over HTTP, as snakedeploy's `github(...)` module is fetched: Snakemake
    reads the Snakefile, rules, schema and env through its source cache; with no src/ beside
    them, the jobs run the genoflow installed in Snakemake's Python (here the editable install),
    without PYTHONPATH."""
    served: list[str] = []

    class Checkout(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(REPO), **kwargs)

        def log_message(self, format, *args):
            served.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Checkout)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        project = tmp_path / "deployed"
        write_project(project, f"http://127.0.0.1:{server.server_port}/Snakefile")
        run_snakemake(project)
    finally:
        server.shutdown()
    assert {
        "/Snakefile",
        "/workflow/rules/common.smk",
        "/workflow/schemas/config.schema.yaml",
    } <= set(served)
    assert not [path for path in served if path.startswith("/src/")]  # the package: installed
    log = (project / "logs" / "train" / "motifs" / "cnn" / "seed0.log").read_text()
    assert "epoch 1:" in log
    summary = (project / "results" / "motifs" / "summary.tsv").read_text()
    assert "\ncnn\t" in summary and "\nkmer_logreg\t" in summary


def test_snakedeploy_deploys_genoflow_from_its_git_repository(tmp_path: Path) -> None:
    """`snakedeploy deploy-workflow https://github.com/<owner>/genoflow <dest> --tag <tag>`, then
    `snakemake all` in <dest>: the real snakedeploy, and Snakemake's own `github(...)` module
    source (a git clone by tag into its source cache). The GitHub address is served by a local
    repository (git's url.<base>.insteadOf: no network here); it holds this checkout's files."""
    tree = tmp_path / "tree"
    for name in ("Snakefile", "config.yaml", "pyproject.toml", "README.md"):
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, tree / name)
    for folder in ("workflow", "envs", "profiles"):
        if (REPO / folder).is_dir():
            shutil.copytree(
                REPO / folder, tree / folder, ignore=shutil.ignore_patterns("__pycache__")
            )
    git = ["git", "-c", "user.name=genoflow", "-c", "user.email=genoflow@localhost"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "release"], ["tag", "v9.9"]):
        subprocess.run([*git, *args], cwd=tree, check=True, capture_output=True)
    address = "https://github.com/genoflow-test/genoflow"
    env = dict(os.environ)
    env |= {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"url.{tree.as_uri()}.insteadOf"}
    env |= {"GIT_CONFIG_VALUE_0": address, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    bin_dir = Path(sys.executable).parent
    dest = tmp_path / "deployed"
    deploy = [str(bin_dir / "snakedeploy"), "deploy-workflow", address, str(dest), "--tag", "v9.9"]
    done = subprocess.run(deploy, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    snakefile = (dest / "workflow" / "Snakefile").read_text()
    assert 'github("genoflow-test/genoflow", path="Snakefile", tag="v9.9")' in snakefile
    kmer = {"kmer_logreg": {"type": "kmer_logreg", "k": 2}}
    motif_data(dest, dest / "config" / "config.yaml", kmer)
    run = [str(bin_dir / "snakemake"), "--cores", "2", "all"]
    done = subprocess.run(run, cwd=dest, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Cloning github.com/genoflow-test/genoflow" in done.stderr
    summary = (dest / "results" / "motifs" / "summary.tsv").read_text()
    assert "\nkmer_logreg\t" in summary
    assert (dest / "results" / "report" / "index.html").is_file()
