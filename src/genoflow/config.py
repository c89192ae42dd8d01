"""Config checks with messages that name the key: run by the workflow before any job starts.

The JSON schema (workflow/schemas/config.schema.yaml) is the single description of every key and
its default; this module only turns schema violations into short, located messages and adds the
checks a schema cannot express (files exist, dataset model lists name defined models).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import TYPE_CHECKING

from genoflow.errors import InputError
from genoflow.registry import (
    CLASS_TASKS,
    ENSEMBLE,
    METRICS_BY_TASK,
    MODEL_TASKS,
    NEURAL_TYPES,
    WEIGHABLE_BASELINES,
)

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError


def config_errors(config: dict, schema_path: str | Path) -> list[str]:
    """Every problem in `config`, one line each, as 'key.path: problem'."""
    return sorted({problem for _, problem in _located_errors(config, schema_path)})


def _located_errors(config: dict, schema_path: str | Path) -> list[tuple[str, str]]:
    """(dotted path of the key a problem is about, 'key.path: problem') for every problem."""
    # imported here: every `genoflow` command imports this module (for MODEL_TASKS), and
    # jsonschema takes longer to import than a small ingest takes to run
    import yaml
    from jsonschema import Draft202012Validator

    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = Draft202012Validator(schema)
    errors = [_branch_error(error) for error in validator.iter_errors(config)]
    located = [(_key_of(error), _describe(error, schema)) for error in errors]
    if not located:
        problems = _cross_checks(config) + _tune_checks(config, validator)
        located = [(problem.split(":", 1)[0], problem) for problem in problems]
    return located


def _tune_checks(config: dict, validator) -> list[str]:
    """A `tune:` search space names defined neural models, and every value it can draw (each
    choice, both ends of each range) is one the model takes (checked against the schema)."""
    tune, problems = config.get("tune", {}), []
    schema = validator.schema
    for name in tune.get("datasets", []):
        if name not in config["datasets"]:
            problems.append(f"tune.datasets: {name!r} is not under `datasets`")
    for model, space in tune.get("models", {}).items():
        where = f"tune.models.{model}"
        spec = config["models"].get(model)
        if spec is None:
            problems.append(f"{where}: {model!r} is not defined under `models`")
            continue
        if spec["type"] not in NEURAL_TYPES:
            problems.append(f"{where}: {model!r} is a {spec['type']} baseline; tune neural models")
            continue
        for key, values in space.items():
            if key == "train.class_weights" and _weighted_ranking(config, tune):
                problems.append(
                    f"{where}.{key}: trials ranked by their validation loss would each weigh it"
                    " their own way; tune it with evaluate: {select_by: calibrated_val_loss}"
                    " (classes), or leave it out"
                )
                continue
            if isinstance(values, dict):
                low, high = values["low"], values["high"]
                if not low < high:
                    problems.append(f"{where}.{key}: low must be below high")
                    continue
                if values.get("log") and low <= 0:
                    problems.append(f"{where}.{key}: a log range needs low > 0")
                    continue
                values = [low, high]
            for value in values:
                own = {k: v for k, v in spec.items() if k != "train"}
                settings = apply_params(
                    {"model_args": own, "train": dict(spec.get("train", {}))}, {key: value}
                )
                trial = {**settings["model_args"], "train": settings["train"]}
                trial_config = {**config, "models": {**config["models"], model: trial}}
                errors = list(validator.iter_errors(trial_config))
                if errors:
                    problems.append(f"{where}.{key}: {value!r}: {_describe(errors[0], schema)}")
                    break
    return problems


def _weighted_ranking(config: dict, tune: dict) -> bool:
    """Whether a tuned dataset ranks by a loss that class_weights weighs: the validation loss of
    classes (select_by val_loss), or of several labels (which no temperature calibrates)."""
    by_loss = config.get("evaluate", {}).get("select_by", "val_loss") == "val_loss"
    tasks = {
        config["datasets"][name].get("task", "classification")
        for name in tune.get("datasets", config["datasets"])
        if name in config["datasets"]
    }
    return "multilabel" in tasks or (by_loss and bool(tasks & set(CLASS_TASKS)))


def _branch_error(error: ValidationError) -> ValidationError:
    """A value that fits none of a oneOf's forms (`stem: null | auto | {...}`) is reported by
    the form its type picks, so the message names the key and the problem inside it
    (`models.gru.stem.skip: 'yes' is not of type 'boolean'`, an unknown key, `split.val: [chr1,
    chr1]` has non-unique elements) rather than "not valid under any of the given schemas". A
    dataset's label source keeps its own message, and a value whose type or constant no form
    takes is told the forms (`_describe`)."""
    from jsonschema.exceptions import best_match

    path = list(error.absolute_path)
    own = len(path) == 2 and path[0] == "datasets"  # a dataset's label source
    if error.validator not in ("oneOf", "anyOf") or not error.context or own:
        return error
    best = best_match([error])
    inside = len(best.absolute_path) > len(path) or best.validator not in ("type", "const", "enum")
    return best if inside else error


def _key_of(error: ValidationError) -> str:
    """The key a schema violation is about: an unknown key or a bad key name itself, else the
    value's own key."""
    path = [str(p) for p in error.absolute_path]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - allowed)
        path += extra[:1]
    elif "propertyNames" in error.relative_schema_path:
        path.append(str(error.instance))  # a key whose name is refused: the key itself
    return ".".join(path)


def check_config(config: dict, schema_path: str | Path, source: str = "config") -> None:
    """Raise InputError listing every problem, before Snakemake schedules anything; where
    `source` is one YAML file, each problem starts with the line of the key it is about."""
    problems = _located_errors(config, schema_path)
    if not problems:
        return
    lines = _key_lines(Path(source)) if Path(source).is_file() else {}
    shown = set()
    for where, problem in problems:
        key = where.split(".")
        while key and ".".join(key) not in lines:
            key.pop()  # a key the file does not hold (a default): its nearest parent that it does
        shown.add((lines[".".join(key)], problem) if key else (0, problem))
    text = [f"line {line}: {problem}" if line else problem for line, problem in sorted(shown)]
    raise InputError(source, "invalid configuration:\n  " + "\n  ".join(text))


def _key_lines(path: Path) -> dict[str, int]:
    """The line (from 1) of every key of a YAML file, by dotted path (`models.lstm.hidden`;
    list items by index)."""
    import yaml

    try:
        root = yaml.compose(path.read_text(encoding="utf-8-sig"))
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
        return {}
    lines: dict[str, int] = {}

    def walk(node, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            children = [(str(key.value), key, value) for key, value in node.value]
        elif isinstance(node, yaml.SequenceNode):
            children = [(str(i), item, item) for i, item in enumerate(node.value)]
        else:
            return
        for name, mark, value in children:
            key = f"{prefix}.{name}" if prefix else name
            lines[key] = mark.start_mark.line + 1
            walk(value, key)

    walk(root, "")
    return lines


def models_for(config: dict, dataset: str) -> list[str]:
    """The models a dataset trains: its `models` list, or every model that fits its task."""
    entry = config["datasets"][dataset]
    task = entry.get("task", "classification")
    if "models" in entry:
        return list(entry["models"])
    return [n for n, spec in config["models"].items() if task in MODEL_TASKS[spec["type"]]]


def _describe(error: ValidationError, schema: dict) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return f"{where}: unknown key(s) {extra}; allowed: {allowed}"
    # a dataset's own oneOf (its label source; a matrix's time axis), not one of a key inside it
    if error.validator == "oneOf" and len(error.absolute_path) == 2 and where[:9] == "datasets.":
        if isinstance(error.instance, dict) and "matrix" in error.instance:
            return f"{where}: give exactly one of `sample_table` or `series_length`"
        return (
            f"{where}: give exactly one label source: `samples`, or `fasta` with one of"
            " `label_pattern`, `labels` (classification) or `values` (regression, multilabel)"
            " or `features: {label_qualifier: ...}`, or `fasta` alone with `tile: {label:"
            " next_base}`, or `regions`, or `residues`"
            " (a label per residue)"
        )
    if error.validator in ("oneOf", "anyOf") and error.context:  # fits none of the forms
        forms = [_form(branch, schema) for branch in error.validator_value]
        if all(forms):
            return f"{where}: {error.instance!r} is none of: " + "; ".join(forms)
    return f"{where}: {error.message}"


def _form(branch: dict, schema: dict) -> str | None:
    """One form of a oneOf in words (`null`, `'auto'`, `a number > 0 and < 1`, `a mapping of
    channels, kernel_size, ...`); None for a form told by its keys alone (`required`)."""
    if "$ref" in branch:  # (local references only: the schema is one file)
        branch = {**schema["$defs"][branch["$ref"].rsplit("/", 1)[-1]], **branch}
    if "const" in branch:
        return repr(branch["const"])
    if "enum" in branch:
        return " or ".join(map(repr, branch["enum"]))
    kind = branch.get("type")
    if kind == "null":
        return "null"
    if kind in ("number", "integer"):
        bounds = [
            f"{sign} {branch[key]}"
            for key, sign in (
                ("minimum", ">="),
                ("exclusiveMinimum", ">"),
                ("maximum", "<="),
                ("exclusiveMaximum", "<"),
            )
            if key in branch
        ]
        return f"a{'n' * (kind == 'integer')} {kind}" + (
            " " + " and ".join(bounds) if bounds else ""
        )
    if kind == "array":
        items = branch.get("items", {}).get("type")
        return f"a list of {items}s" if items else "a list"
    if kind == "object":
        keys = ", ".join(branch.get("properties", {}))
        return f"a mapping of {keys}" if keys else "a mapping"
    return f"a {kind}" if kind else None


def _reading_checks(entry: dict, where: str) -> list[str]:
    """A dataset's (or predict entry's) `format`, `features` and `translate`."""
    reading = {"format", "features", "translate"} & set(entry)
    if not reading:
        return []
    from genoflow.io.biopython import check_format, check_table

    problems = []
    if not {"fasta", "samples"} & set(entry) or "simulate" in entry:
        keys = ", ".join(sorted(reading))
        problems.append(f"{where}: {keys} go with sequence files (`fasta` or `samples`)")
    try:
        check_format(entry.get("format", "fasta"))
        if "translate" in entry:
            check_table(entry["translate"].get("table", 1))
    except InputError as error:
        problems.append(f"{where}: {error}")
    if "translate" in entry and entry.get("alphabet") != "protein":
        problems.append(f"{where}.translate: translated records are proteins: alphabet protein")
    if "features" in entry and entry.get("format", "fasta") == "fasta":
        problems.append(f"{where}.features: FASTA has no features; set `format` (e.g. genbank)")
    return problems


def _cross_checks(config: dict) -> list[str]:
    problems = []
    if ENSEMBLE in config["models"]:
        problems.append(
            f"models.{ENSEMBLE}: the name is the ensemble row's (the mean of the neural"
            " models); give the model another name"
        )
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
        published = dataset.get("published", {}).get("metric")
        if published and published not in METRICS_BY_TASK[task]:
            problems.append(
                f"{where}.published.metric: {published!r} is not a metric of task {task}"
                f" ({list(METRICS_BY_TASK[task])})"
            )
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
        weighting = {
            model: {
                **config.get("train", {}),
                **dataset.get("train", {}),
                **config["models"][model].get("train", {}),
            }.get("class_weights", "none")
            for model in models_for(config, name)
            if config["models"].get(model, {}).get("type") in (*NEURAL_TYPES, *WEIGHABLE_BASELINES)
        }
        # (the calibrated ranking scores classes unweighted; multilabel keeps val_loss)
        by_loss = config.get("evaluate", {}).get("select_by", "val_loss") == "val_loss"
        weighed = task == "multilabel" or (by_loss and task in CLASS_TASKS)
        if len(set(weighting.values())) > 1 and weighed:
            problems.append(
                f"{where}: its models' class_weights differ ({weighting}), so their validation"
                " losses, which rank them, are on different scales; give them one class_weights"
            )
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
        if isinstance(dataset.get("regulators"), str):  # a file; a list names the genes
            paths.append(("regulators", dataset["regulators"]))
        for key, path in paths:
            if path is not None and not Path(path).is_file():
                problems.append(f"{where}.{key}: file {path!r} not found")
        problems += _reading_checks(dataset, where)
        split, tile = dataset.get("split", {}), dataset.get("tile") or {}
        if split.get("method") == "blocks" and not tile:
            problems.append(f"{where}.split: method blocks splits tiled records; set `tile`")
        if tile and dataset.get("max_length"):
            problems.append(f"{where}: give `max_length` or `tile` (rows are tile.width wide)")
        if tile.get("label") == "next_base" and task != "classification":
            problems.append(f"{where}.tile: label next_base is a classification of the next letter")
        val, test = split.get("val", 0.1), split.get("test", 0.2)
        by_chromosome = split.get("method") == "chromosome"
        if task == "forecasting":
            pass  # whole series by name or condition; preprocess-series checks the names
        elif by_chromosome != isinstance(test, list) or (
            isinstance(val, list) and not by_chromosome
        ):
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
        if dataset is not None and "fasta" in job:
            problems += _reading_checks({**job, "alphabet": dataset["alphabet"]}, where)
        files = [(f"fasta[{i}]", path) for i, path in enumerate(job.get("fasta", []))]
        files += [(f"regions.{k}", v) for k, v in job.get("regions", {}).items() if k != "resize"]
        for key, path in files:
            if not Path(path).is_file():
                problems.append(f"{where}.{key}: file {path!r} not found")
    return problems


# --- from the config to a stage's command ------------------------------------------------------

# The dataset keys each stage reads (`split` by both: the chromosomes go to ingest).
_STAGE_KEYS = {
    "ingest": (
        "alphabet", "samples", "fasta", "format", "features", "translate", "labels", "values",
        "label_pattern", "regions",
        "residues", "simulate", "ambiguous", "invalid", "duplicate_ids", "task", "split",
    ),
    "preprocess": ("trim", "split", "max_length", "classes", "tile"),
    "ingest-matrix": ("matrix", "orientation", "sample_table", "series_length", "time_step",
                      "missing"),
    "preprocess-series": ("forecast", "split", "transform"),
}  # fmt: skip


# `stem: auto`: the stem a model that reads whole sequences gets. Measured (README, "Hybrid
# models and the training recipe"; benchmarks/configs/recipe_*.yaml): on AMP Scanner, 3 seeds,
# an LSTM with it 0.901 test accuracy vs 0.887 for a plain GRU, in a quarter of the time.
# None where positions must stay one per residue (token_classification) or the steps are time
# points of a few genes (forecasting).
AUTO_STEM = {"channels": 64, "kernel_size": 9, "pool": 3}
AUTO_STEM_TASKS = ("classification", "multilabel", "regression")


def auto_stem(task: str) -> dict | None:
    """The concrete stem `stem: auto` stands for on a dataset of `task`."""
    return dict(AUTO_STEM) if task in AUTO_STEM_TASKS else None


def stage_settings(config: dict, stage: str, dataset: str, model: str | None = None) -> dict:
    """What one job of `stage` needs from the (validated, defaults filled) config, in one
    structured form: the dataset's keys that the stage reads, or, for `train`, the model's
    type, its hyperparameters and its training options, taken with the precedence global
    `train:` < the dataset's `train:` < the model's own `train:`. Only these reach the job, so
    a change elsewhere in the config does not rerun it."""
    entry = config["datasets"][dataset]
    if stage != "train":
        settings = {key: entry[key] for key in _STAGE_KEYS[stage] if key in entry}
        if stage == "ingest" and settings.get("split", {}).get("method") != "chromosome":
            settings.pop("split", None)  # drawn in preprocess; by chromosome, at ingest
        return settings
    spec = dict(config["models"][model])
    model_type = spec.pop("type")
    if spec.get("stem") == "auto":
        spec["stem"] = auto_stem(entry.get("task", "classification"))
    settings = {"type": model_type, "model_args": spec}
    train = {**config["train"], **entry.get("train", {}), **spec.pop("train", {})}
    if model_type in NEURAL_TYPES:
        settings["train"] = train
    elif model_type in WEIGHABLE_BASELINES and train.get("class_weights", "none") != "none":
        spec["class_weights"] = train["class_weights"]  # weighed as the neural models are
    return settings


def apply_params(settings: dict, params: dict) -> dict:
    """A copy of train settings (`stage_settings`) with a `tune:` trial's parameters set: a
    key names a hyperparameter (`hidden`), a key inside one (`stem.channels`) or a training
    option (`train.lr`)."""
    settings = copy.deepcopy(settings)
    for key, value in params.items():
        target, name = _slot(settings, key)
        target[name] = value
    return settings


def _slot(settings: dict, key: str) -> tuple[dict, str]:
    """The dict a search-space key writes into, and the name it writes."""
    parts = key.split(".")
    if parts[0] == "train":
        target, parts = settings.setdefault("train", {}), parts[1:]
    else:
        target = settings["model_args"]
    for part in parts[:-1]:
        if not isinstance(target.get(part), dict):
            target[part] = {}
        target = target[part]
    return target, parts[-1]


def settings_args(stage: str, settings: dict) -> list[str]:
    """The command-line arguments of `genoflow <stage>` that `stage_settings` stand for."""
    return _ARGS[stage](settings)


def _ingest_args(dataset: dict) -> list[str]:
    args = ["--alphabet", dataset["alphabet"]]
    regions, split = dataset.get("regions"), dataset.get("split", {})
    args += reading_args(dataset)
    if "samples" in dataset:
        args += ["--samples", dataset["samples"]]
    elif "residues" in dataset:
        args += _residue_args(dataset["residues"])
    elif "simulate" in dataset:  # the label is the header's second word (genoflow simulate)
        args += ["--fasta", *dataset["fasta"], "--label-pattern", r"^\S+\s+(\S+)"]
    elif regions:
        args += ["--bed", regions["bed"], "--reference", regions["reference"]]
        for key in ("resize", "label_column"):
            if key in regions:
                args += [f"--{key.replace('_', '-')}", str(regions[key])]
        for key in ("labels", "values"):
            if key in dataset:
                args += [f"--{key}", dataset[key]]
        if split.get("method") == "chromosome":
            args += ["--test-chromosomes", *split["test"]]
            if isinstance(split.get("val"), list):
                args += ["--val-chromosomes", *split["val"]]
    else:
        args += ["--fasta", *dataset["fasta"]]
        for key in ("labels", "values", "label_pattern"):
            if key in dataset:
                args += [f"--{key.replace('_', '-')}", dataset[key]]
        if not {"labels", "values", "label_pattern"} & set(dataset) and not labelled_features(
            dataset
        ):
            args.append("--no-labels")  # tile label next_base: labels come from the sequence
    for key in ("ambiguous", "invalid", "duplicate_ids"):
        if key in dataset:
            args += [f"--{key.replace('_', '-')}", dataset[key]]
    if dataset.get("task") == "multilabel":
        args.append("--multilabel")
    return args


def labelled_features(dataset: dict) -> bool:
    """Whether a dataset's records are features labelled by a qualifier."""
    return "label_qualifier" in dataset.get("features", {})


def reading_args(entry: dict) -> list[str]:
    """The arguments of ingest and predict that say how sequence files are read (a dataset's
    or a `predict:` entry's `format`, `features` and `translate`)."""
    args = ["--format", entry["format"]] if entry.get("format", "fasta") != "fasta" else []
    features = entry.get("features")
    if features is not None:
        args += ["--feature-type", features.get("type", "CDS")]
        if "label_qualifier" in features:
            args += ["--label-qualifier", features["label_qualifier"]]
    if "translate" in entry:
        args += ["--translate-table", str(entry["translate"].get("table", 1))]
    return args


def _residue_args(residues: dict) -> list[str]:
    """Ingest arguments of CSV files with a label per residue (and each file's split)."""
    files = residues["csv"]
    args = ["--csv", *(entry["path"] for entry in files)]
    if any("split" in entry for entry in files):
        args += ["--csv-splits", *(entry["split"] for entry in files)]
    args += ["--sequence-column", residues["sequence_column"]]
    args += ["--residue-column", residues["label_column"]]
    if residues.get("mask_columns"):
        args += ["--mask-columns", *residues["mask_columns"]]
    return args


def _preprocess_args(dataset: dict) -> list[str]:
    split = dataset["split"]
    by_chromosome = split["method"] == "chromosome"  # assigned at ingest: a given split
    args = ["--trim", dataset["trim"], "--split", "given" if by_chromosome else split["method"]]
    args += ["--seed", str(split["seed"])]
    for key in ("val", "test"):
        if not isinstance(split[key], list):
            args += [f"--{key}", str(split[key])]
    if dataset.get("max_length"):
        args += ["--max-length", str(dataset["max_length"])]
    if dataset.get("classes"):
        args += ["--classes", *dataset["classes"]]
    tile = dataset.get("tile")
    if tile:
        args += ["--tile-width", str(tile["width"]), "--tile-label", tile.get("label", "record")]
        if tile.get("stride"):
            args += ["--tile-stride", str(tile["stride"])]
    if split["method"] == "blocks":
        args += ["--block-size", str(split["block_size"])]
    return args


def _ingest_matrix_args(dataset: dict) -> list[str]:
    args = ["--matrix", dataset["matrix"], "--orientation", dataset["orientation"]]
    if "sample_table" in dataset:
        args += ["--samples", dataset["sample_table"]]
    else:
        args += ["--series-length", str(dataset["series_length"])]
        args += ["--time-step", str(dataset["time_step"])]
    return args + ["--missing", dataset["missing"]]


def _preprocess_series_args(dataset: dict) -> list[str]:
    forecast, split = dataset["forecast"], dataset["split"]
    args = ["--input", str(forecast["input"]), "--horizon", str(forecast["horizon"])]
    args += ["--target", forecast["target"], "--multistep", forecast["multistep"]]
    args += ["--split", split["method"], "--resample", str(forecast.get("resample", "auto"))]
    for key in ("val", "test"):
        if split[key]:
            args += [f"--{key}", *split[key]]
    if dataset["transform"]["log1p"]:
        args.append("--log1p")
    if not dataset["transform"]["zscore"]:
        args.append("--no-zscore")
    return args


def _train_args(settings: dict) -> list[str]:
    model_args = json.dumps(settings["model_args"], sort_keys=True)
    args = ["--type", settings["type"], "--model-args", model_args]
    if "train" in settings:
        args += ["--train", json.dumps(settings["train"], sort_keys=True)]
    return args


_ARGS = {  # (SETTINGS_STAGES: the stages the workflow calls with --settings)
    "ingest": _ingest_args,
    "preprocess": _preprocess_args,
    "ingest-matrix": _ingest_matrix_args,
    "preprocess-series": _preprocess_series_args,
    "train": _train_args,
}
SETTINGS_STAGES = tuple(_ARGS)
