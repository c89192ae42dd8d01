"""Config checks with messages that name the key: run by the workflow before any job starts.

The JSON schema (workflow/schemas/config.schema.yaml) is the single description of every key and
its default; this module only turns schema violations into short, located messages and adds the
checks a schema cannot express (files exist, dataset model lists name defined models).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from genoflow.errors import InputError
from genoflow.registry import (
    CLASS_TASKS,
    ENSEMBLE,
    METRICS_BY_TASK,
    MIRRORS,
    MODEL_TASKS,
    NEURAL_TYPES,
    WEIGHABLE_BASELINES,
    mirror_alphabets,
)
from genoflow.settings import apply_params

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


def _mirror_checks(config: dict, dataset: str, model: str) -> list[str]:
    """A model's mirror options (strands, directions, train.reverse_complement, train.reverse)
    against the dataset's alphabet and labels: each alphabet has its own (registry.MIRRORS)."""
    entry, spec = config["datasets"][dataset], config["models"].get(model, {})
    train = {**config.get("train", {}), **entry.get("train", {}), **spec.get("train", {})}
    alphabet = entry.get("alphabet")
    given = {key: spec.get(key, "forward") != "forward" for key in ("strands", "directions")}
    given |= {f"train.{key}": bool(train.get(key)) for key in ("reverse_complement", "reverse")}
    problems = []
    for key in (key for key, on in given.items() if on):
        option = key.removeprefix("train.")
        if option not in MIRRORS.get(alphabet, ()):
            problems.append(
                f"models.{model}.{key}: for {mirror_alphabets(option)} sequences, but dataset"
                f" {dataset!r} is {alphabet or entry.get('task')}"
            )
        elif entry.get("task") == "token_classification":
            problems.append(
                f"models.{model}.{key}: dataset {dataset!r} labels every residue, and a"
                " mirrored reading would move each label to another residue"
            )
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
            problems += _mirror_checks(config, name, model)
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
