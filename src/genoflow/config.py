"""Config checks with messages that name the key: run by the workflow before any job starts.

The JSON schema (workflow/schemas/config.schema.yaml) is the single description of every key and
its default; this module only turns schema violations into short, located messages and adds the
checks a schema cannot express (files exist, dataset model lists name defined models).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from genoflow.errors import InputError


def config_errors(config: dict, schema_path: str | Path) -> list[str]:
    """Every problem in `config`, one line each, as 'key.path: problem'."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = Draft202012Validator(schema)
    problems = [_describe(error) for error in validator.iter_errors(config)]
    if not problems:
        problems = _cross_checks(config)
    return sorted(set(problems))


def check_config(config: dict, schema_path: str | Path, source: str = "config") -> None:
    """Raise InputError listing every problem, before Snakemake schedules anything."""
    problems = config_errors(config, schema_path)
    if problems:
        raise InputError(source, "invalid configuration:\n  " + "\n  ".join(problems))


def _describe(error: ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return f"{where}: unknown key(s) {extra}; allowed: {allowed}"
    if error.validator == "oneOf" and error.absolute_path and error.absolute_path[0] == "datasets":
        return (
            f"{where}: give exactly one label source: `samples`, or `fasta` with"
            " `label_pattern`, or `fasta` with `labels`"
        )
    return f"{where}: {error.message}"


def _cross_checks(config: dict) -> list[str]:
    problems = []
    for name, dataset in config["datasets"].items():
        for model in dataset.get("models", []):
            if model not in config["models"]:
                problems.append(
                    f"datasets.{name}.models: {model!r} is not defined under `models`"
                    f" (defined: {sorted(config['models'])})"
                )
        paths = [("samples", dataset.get("samples")), ("labels", dataset.get("labels"))]
        paths += [(f"fasta[{i}]", p) for i, p in enumerate(dataset.get("fasta", []))]
        for key, path in paths:
            if path is not None and not Path(path).is_file():
                problems.append(f"datasets.{name}.{key}: file {path!r} not found")
        split = dataset.get("split", {})
        if split.get("val", 0.1) + split.get("test", 0.2) >= 1:
            problems.append(f"datasets.{name}.split: val + test must be below 1")
    return problems
