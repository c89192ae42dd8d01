"""Style and workflow hygiene: ruff, snakefmt and `snakemake --lint` are clean."""

from __future__ import annotations

import subprocess

import pytest
from conftest import REPO, genoflow_env

CHECKS = {
    "ruff check": ["ruff", "check", "src", "tests", "benchmarks", "scripts"],
    "ruff format": ["ruff", "format", "--check", "src", "tests", "benchmarks", "scripts"],
    "snakefmt": ["snakefmt", "--check", "Snakefile", "workflow/rules"],
    "snakemake --lint": ["snakemake", "--lint"],
}


@pytest.mark.parametrize("name", CHECKS)
def test_clean(name):
    result = subprocess.run(
        CHECKS[name], cwd=REPO, capture_output=True, text=True, env=genoflow_env(), timeout=300
    )
    assert result.returncode == 0, f"{name}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
