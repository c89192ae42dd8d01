"""Config checks with messages that name the key: run by the workflow before any job starts.

The JSON schema (workflow/schemas/config.schema.yaml) is the single description of every key and
its default; this module only turns schema violations into short, located messages and adds the
checks a schema cannot express (files exist, dataset model lists name defined models).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from genoflow.errors import InputError

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

NEURAL = ("classification", "token_classification", "multilabel", "regression", "forecasting")
# Which tasks each model type can be trained on; a dataset trains the compatible ones.
# (Kept free of torch so the workflow can import it: tests/test_models.py checks NEURAL_TYPES.)
NEURAL_TYPES = ("rnn", "lstm", "gru", "transformer", "cnn")
MODEL_TASKS: dict[str, tuple[str, ...]] = {
    "rnn": NEURAL,
    "lstm": NEURAL,
    "gru": NEURAL,
    "transformer": NEURAL,
    "cnn": ("classification", "token_classification", "multilabel", "regression"),
    "kmer_logreg": ("classification", "multilabel"),
    "window_logreg": ("token_classification",),
    "kmer_ridge": ("regression",),
    "persistence": ("forecasting",),
    "ridge_ar": ("forecasting",),
}


def config_errors(config: dict, schema_path: str | Path) -> list[str]:
    """Every problem in `config`, one line each, as 'key.path: problem'."""
    # imported here: every `genoflow` command imports this module (for MODEL_TASKS), and
    # jsonschema takes longer to import than a small ingest takes to run
    import yaml
    from jsonschema import Draft202012Validator

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


def models_for(config: dict, dataset: str) -> list[str]:
    """The models a dataset trains: its `models` list, or every model that fits its task."""
    entry = config["datasets"][dataset]
    task = entry.get("task", "classification")
    if "models" in entry:
        return list(entry["models"])
    return [n for n, spec in config["models"].items() if task in MODEL_TASKS[spec["type"]]]


def _describe(error: ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return f"{where}: unknown key(s) {extra}; allowed: {allowed}"
    if error.validator == "oneOf" and error.absolute_path and error.absolute_path[0] == "datasets":
        if isinstance(error.instance, dict) and "matrix" in error.instance:
            return f"{where}: give exactly one of `sample_table` or `series_length`"
        return (
            f"{where}: give exactly one label source: `samples`, or `fasta` with one of"
            " `label_pattern`, `labels` (classification) or `values` (regression, multilabel),"
            " or `fasta` alone with `tile: {label: next_base}`, or `regions`, or `residues`"
            " (a label per residue)"
        )
    return f"{where}: {error.message}"


def _cross_checks(config: dict) -> list[str]:
    problems = []
    for name, dataset in config["datasets"].items():
        task = dataset.get("task", "classification")
        where = f"datasets.{name}"
        for model in dataset.get("models", []):
            if model not in config["models"]:
                problems.append(
                    f"{where}.models: {model!r} is not defined under `models`"
                    f" (defined: {sorted(config['models'])})"
                )
            elif task not in MODEL_TASKS[config["models"][model]["type"]]:
                kind = config["models"][model]["type"]
                problems.append(f"{where}.models: {model!r} ({kind}) cannot do {task}")
        if task != "forecasting" and not models_for(config, name):
            problems.append(f"{where}: no model in `models` fits task {task}")
        if task == "regression" and "values" not in dataset:
            problems.append(f"{where}: task regression needs `values` (a TSV of targets per id)")
        if task == "classification" and "values" in dataset:
            problems.append(
                f"{where}: `values` holds regression targets or 0/1 labels; set task: regression"
                " or multilabel"
            )
        if task == "multilabel" and "values" not in dataset:
            problems.append(f"{where}: task multilabel needs `values` (0/1 columns, one per label)")
        if (task == "token_classification") != ("residues" in dataset):
            problems.append(
                f"{where}: task token_classification and `residues` (a label per residue) go"
                " together"
            )
        for i, entry in enumerate(dataset.get("residues", {}).get("csv", [])):
            if not Path(entry["path"]).is_file():
                problems.append(f"{where}.residues.csv[{i}].path: file {entry['path']!r} not found")
        if "simulate" in dataset and (task != "classification" or dataset["alphabet"] != "dna"):
            problems.append(f"{where}.simulate: simulated records are dna, task classification")
        if task == "token_classification" and dataset.get("tile"):
            problems.append(f"{where}.tile: per-residue labels cannot be tiled")
        for model in models_for(config, name):
            spec = config["models"].get(model, {})
            if task == "token_classification" and spec.get("pool") not in (None, "none"):
                problems.append(
                    f"models.{model}.pool: {spec['pool']!r} pools positions, but dataset"
                    f" {name!r} labels every residue; leave pool unset"
                )
        keys = ("samples", "labels", "values", "matrix", "sample_table", "gold_standard")
        paths = [(key, dataset.get(key)) for key in keys]
        paths += [(f"fasta[{i}]", p) for i, p in enumerate(dataset.get("fasta", []))]
        for key, path in paths:
            if path is not None and not Path(path).is_file():
                problems.append(f"{where}.{key}: file {path!r} not found")
        split, tile = dataset.get("split", {}), dataset.get("tile") or {}
        if split.get("method") == "blocks" and not tile:
            problems.append(f"{where}.split: method blocks splits tiled records; set `tile`")
        if tile and dataset.get("max_length"):
            problems.append(f"{where}: give `max_length` or `tile` (rows are tile.width wide)")
        if tile.get("label") == "next_base" and task != "classification":
            problems.append(f"{where}.tile: label next_base is a classification of the next letter")
        val, test = split.get("val", 0.1), split.get("test", 0.2)
        by_chromosome = split.get("method") == "chromosome"
        if by_chromosome != isinstance(test, list) or (isinstance(val, list) and not by_chromosome):
            problems.append(
                f"{where}.split: lists of chromosomes go with method chromosome (and it needs"
                " `test: [...]`); other methods take fractions"
            )
        elif by_chromosome and "regions" not in dataset:
            problems.append(f"{where}.split: method chromosome splits `regions` datasets")
        elif not by_chromosome and task != "forecasting" and val + test >= 1:
            problems.append(f"{where}.split: val + test must be below 1")
        regions = dataset.get("regions", {})
        for key in ("bed", "reference"):
            if regions and not Path(regions[key]).is_file():
                problems.append(f"{where}.regions.{key}: file {regions[key]!r} not found")
        if regions and not {"labels", "values"} & set(dataset) and "label_column" not in regions:
            problems.append(f"{where}.regions: give `label_column` (or a `labels` table by id)")
    for name, job in config.get("predict", {}).items():
        where, dataset = f"predict.{name}", config["datasets"].get(job["dataset"])
        if dataset is None:
            problems.append(f"{where}.dataset: {job['dataset']!r} is not under `datasets`")
        elif dataset.get("task", "classification") == "forecasting":
            problems.append(f"{where}.dataset: predict scores sequence datasets, not forecasting")
        elif job["model"] not in models_for(config, job["dataset"]):
            trained = models_for(config, job["dataset"])
            problems.append(f"{where}.model: {job['model']!r} is not trained on it ({trained})")
        if "seed" in job and job["seed"] not in config.get("seeds", [0]):
            problems.append(f"{where}.seed: {job['seed']} is not one of `seeds`")
        files = [(f"fasta[{i}]", path) for i, path in enumerate(job.get("fasta", []))]
        files += [(f"regions.{k}", v) for k, v in job.get("regions", {}).items() if k != "resize"]
        for key, path in files:
            if not Path(path).is_file():
                problems.append(f"{where}.{key}: file {path!r} not found")
    return problems
