"""From the (validated, defaults filled) config to one stage's command: the settings a job
needs (`stage_settings`, with the precedence global < dataset < model for training), a tune
trial's settings (`apply_params`), and the command-line flags those settings stand for
(`settings_args`, which `genoflow <stage> --settings JSON` expands). The workflow passes only
these settings to a job, so a change elsewhere in the config does not rerun it."""

from __future__ import annotations

import copy
import json

from genoflow.registry import NEURAL_TYPES, WEIGHABLE_BASELINES

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
