"""envs/genoflow.yaml (for --sdm conda) asks for what pyproject.toml asks for."""

from __future__ import annotations

import re

import tomllib
import yaml
from conftest import REPO

# PyPI name -> conda-forge name, where they differ.
CONDA_NAMES = {"torch": "pytorch", "matplotlib": "matplotlib-base"}
# Needed to run the workflow, not inside its jobs.
ORCHESTRATION = {"snakemake"}
# Compilers: none in the runtime env (the kernels are built when genoflow is installed).
COMPILERS = {"c-compiler", "gcc", "clang", "compilers", "cxx-compiler"}


def parse(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"^([A-Za-z0-9_.-]+)\s*(.*)$", requirement.strip()).groups()
    return name.lower(), spec.replace(" ", "")


def test_conda_env_matches_pyproject_dependencies():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {
        CONDA_NAMES.get(name, name): spec
        for name, spec in map(parse, project["dependencies"])
        if name not in ORCHESTRATION
    }
    env = yaml.safe_load((REPO / "envs" / "genoflow.yaml").read_text())
    have = dict(parse(dep) for dep in env["dependencies"] if isinstance(dep, str))
    python = have.pop("python")
    assert not have.keys() & COMPILERS
    assert have == wanted
    assert project["requires-python"].replace(" ", "") in python


def test_every_rule_declares_the_conda_env():
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        text = smk.read_text()
        rules = len(re.findall(r"^rule \w+:", text, flags=re.M))
        assert text.count('conda:\n        "../../envs/genoflow.yaml"') == rules, smk.name
