"""genoflow used as a Snakemake module from another workflow (`module genoflow: snakefile:
...`, `use rule * from genoflow`): the module finds its schemas, package and lock in its own
checkout, not in the calling workflow's folder, and writes only into the calling project."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO, write_motif_fasta

pytestmark = pytest.mark.e2e


def test_a_project_runs_genoflow_as_a_module(tmp_path: Path) -> None:
    project = tmp_path / "my project"  # a space: paths reach the shell quoted
    project.mkdir()
    write_motif_fasta(project / "motifs.fa", n=120, length=30)
    config = {
        "datasets": {
            "motifs": {
                "alphabet": "dna",
                "fasta": ["motifs.fa"],
                "label_pattern": r"^\S+\s+(\S+)",
            }
        },
        "models": {
            "cnn": {"type": "cnn", "channels": 8},
            "kmer_logreg": {"type": "kmer_logreg", "k": 2},
        },
        "train": {"max_epochs": 2},
        "interpret": {"records": 10},
    }
    (project / "config.yaml").write_text(yaml.safe_dump(config))
    (project / "Snakefile").write_text(
        'configfile: "config.yaml"\n\n\n'
        "module genoflow:\n"
        f"    snakefile:\n        {str(REPO / 'Snakefile')!r}\n"
        "    config:\n        config\n\n\n"
        "use rule * from genoflow as genoflow_*\n\n\n"
        "rule all:\n"
        "    input:\n        rules.genoflow_all.input,\n"
        "    default_target: True\n"
    )
    before = sorted(p.name for p in REPO.iterdir())
    snakemake = [str(Path(sys.executable).parent / "snakemake"), "--cores", "2"]
    if not Path(snakemake[0]).exists():
        snakemake[0] = shutil.which("snakemake")
    result = subprocess.run(snakemake, cwd=project, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = (project / "results" / "motifs" / "summary.tsv").read_text()
    assert "\ncnn\t" in summary and "\nkmer_logreg\t" in summary
    report = (project / "results" / "report" / "index.html").read_text()
    assert "motifs" in report and "requirements-py" in report  # the module's own lock
    assert sorted(p.name for p in REPO.iterdir()) == before  # nothing written into genoflow
