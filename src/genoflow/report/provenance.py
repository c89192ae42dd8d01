"""Provenance: the config as run, the versions of the packages that made the results, the lock
they were installed from, and the git commit of the workflow."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import subprocess
import sys
from pathlib import Path

import genoflow

PACKAGES = ("torch", "lightning", "numpy", "pandas", "scikit-learn", "matplotlib", "snakemake")


def config_text(config: dict) -> str:
    """The config as YAML, the format users write it in (JSON if PyYAML is missing)."""
    try:
        import yaml
    except ImportError:
        return json.dumps(config, indent=2)
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False, allow_unicode=True)


def package_versions() -> list[tuple[str, str]]:
    """(name, version) of genoflow, Python and the libraries that shape the numbers."""
    try:
        own = importlib.metadata.version("genoflow")
    except importlib.metadata.PackageNotFoundError:
        own = f"{genoflow.__version__} (source tree, not installed)"
    versions = [("genoflow", own), ("python", platform.python_version())]
    for name in PACKAGES:
        try:
            versions.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            versions.append((name, "not installed"))
    return versions


def lock_name() -> str:
    """The pip constraints `make run` and `make test` install from on this Python."""
    return "requirements-py{}.{}.lock".format(*sys.version_info[:2])


def lock_digest(directory: str | Path) -> str:
    """`<lock> sha256:<first 16 hex>` of this Python's lock beside the Snakefile at
    `directory`, or that there is none (the packages then came from pyproject's ranges)."""
    path = Path(directory) / lock_name()
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        return f"no {path.name} beside the Snakefile"
    return f"{path.name} sha256:{digest}"


def git_commit(directory: str | Path) -> str:
    """HEAD of the git work tree at `directory`, flagged if it has uncommitted changes.

    Never raises: a report must still be written from an unpacked tarball or without git.
    """

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["git", "-C", str(directory), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    try:
        head = git("rev-parse", "--verify", "HEAD")
        if head.returncode != 0:
            inside = git("rev-parse", "--is-inside-work-tree")
            if inside.returncode == 0:
                return "git repository without commits"
            problem = (inside.stderr.strip().splitlines() or [""])[0]
            if not problem or "not a git repository" in problem or not Path(directory).is_dir():
                return "not a git repository"
            return f"unknown ({problem})"  # e.g. git refusing a repository of another user
        status = git("status", "--porcelain")
    except (OSError, subprocess.SubprocessError):
        return "not a git repository"  # no git executable, or it hung
    commit = head.stdout.strip()
    if status.returncode != 0:
        return f"{commit} (working tree state unknown)"
    return f"{commit} (uncommitted changes)" if status.stdout.strip() else commit
