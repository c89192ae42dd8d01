import hashlib
import json
import re
import shlex
import sys
from pathlib import Path

import pandas as pd
from snakemake.utils import validate

# The workflow runs the package of this checkout (also inside --sdm conda environments, which
# hold only the dependencies), so the rules and the code they call never drift apart.
SRC = Path(workflow.basedir) / "src"
sys.path.insert(0, str(SRC))
from genoflow.config import NEURAL_TYPES, check_config, models_for  # noqa: E402

# Braces are doubled twice: once for the f-string, once for Snakemake's formatting of commands.
shell.prefix(
    f"set -euo pipefail; export PYTHONPATH={shlex.quote(str(SRC))}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; "
)
SCHEMAS = Path(workflow.basedir) / "workflow" / "schemas"

check_config(
    config,
    SCHEMAS / "config.schema.yaml",
    source=", ".join(map(str, workflow.configfiles)) or "config",
)
validate(config, SCHEMAS / "config.schema.yaml")  # fills in the schema's defaults

DATASETS = list(config["datasets"])
SEEDS = config["seeds"]
# The package modules each stage runs. Their content is a param of the stage's rules, so
# editing one of them reruns that stage (and, through its outputs, everything after it);
# tests/test_workflow.py checks that no stage imports a module missing from its list.
STAGE_MODULES = {
    "ingest": ("ingest", "regions", "alphabets", "errors", "fasta", "io", "kernels"),
    "ingest_matrix": (
        "expression", "ingest", "regions", "alphabets", "errors", "fasta", "io", "kernels",
    ),
    "preprocess": ("preprocess", "alphabets", "errors", "io", "kernels"),
    "preprocess_series": ("timeseries", "errors", "io"),
    "train": (
        "train", "baselines", "checkpoint", "features", "forecast", "data", "models", "tasks",
        "preprocess", "timeseries", "metrics", "alphabets", "errors", "io", "kernels",
    ),
    "evaluate": ("metrics", "forecast", "timeseries", "errors", "io"),
    "network": (
        "network", "figures", "train", "checkpoint", "forecast", "data", "models", "tasks",
        "preprocess", "timeseries", "metrics", "alphabets", "errors", "io", "kernels",
    ),
    "interpret": (
        "interpret", "figures", "checkpoint", "models", "preprocess", "metrics", "alphabets",
        "config", "errors", "io", "kernels",
    ),
    "simulate": ("simulate", "io"),
    "summarize": ("summarize", "metrics", "errors", "io"),
    "figures": ("figures", "metrics", "errors", "io"),
    "report": ("report", "figures", "metrics", "errors", "io"),
    "distance_figure": ("figures", "metrics", "errors", "io"),
    "predict": (
        "predict", "checkpoint", "features", "ingest", "regions", "models", "preprocess",
        "alphabets", "fasta", "errors", "io", "kernels",
    ),
}  # fmt: skip


def code_version(stage):
    """A digest of the source of the modules `stage` runs (a directory counts as a whole; a
    module's C source, kernels.c, counts with it)."""
    digest = hashlib.sha256()
    for module in STAGE_MODULES[stage]:
        path = SRC / "genoflow" / module
        if path.is_dir():
            files = sorted(path.rglob("*.py"))
        else:
            sources = (path.with_suffix(".py"), path.with_suffix(".c"))
            files = [file for file in sources if file.exists()]
        for file in files:
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


# How to regenerate every result, for the report's provenance. Deliberately not the literal
# command line: that differs between a run, a dry run and --report, and would rerun the report.
RERUN_COMMAND = shlex.join(
    ["snakemake", "--cores", "all"]
    + [f"--configfile={path}" for path in map(str, workflow.configfiles)]
)


def task_of(dataset):
    return config["datasets"][dataset]["task"]


def datasets_of(*tasks):
    return [d for d in DATASETS if task_of(d) in tasks]


def one_of(names):
    """Wildcard constraint matching exactly these names (or nothing)."""
    return "|".join(map(re.escape, names)) or "(?!)"


SEQUENCE_DATASETS = datasets_of(
    "classification", "token_classification", "multilabel", "regression"
)
SERIES_DATASETS = datasets_of("forecasting")


wildcard_constraints:
    dataset=one_of(DATASETS),
    model="[A-Za-z][A-Za-z0-9_]*",
    seed=r"\d+",


def models_of(dataset):
    return models_for(config, dataset)


def neural_models_of(dataset):
    return [
        m for m in models_of(dataset) if config["models"][m]["type"] in NEURAL_TYPES
    ]


# Forecasting datasets with a neural model get a gene-interaction ranking.
NETWORK_DATASETS = [d for d in SERIES_DATASETS if neural_models_of(d)]
# Simulated datasets (long-range memory): accuracy against motif distance, across datasets.
SIMULATED_DATASETS = [d for d in DATASETS if "simulate" in config["datasets"][d]]
# Classification datasets with a neural model get ISM, saliency (and attention) maps.
INTERPRET_DATASETS = [d for d in datasets_of("classification") if neural_models_of(d)]
PREDICTIONS = list(config["predict"])


def predict_checkpoint(w):
    """The model.ckpt a `predict:` entry names (its seed, or the first seed)."""
    job = config["predict"][w.name]
    seed = job.get("seed", SEEDS[0])
    return f"results/{job['dataset']}/{job['model']}/seed{seed}/model.ckpt"


def predict_inputs(w):
    """The FASTA files, or the BED file and reference, of a `predict:` entry."""
    job = config["predict"][w.name]
    if "regions" in job:
        return {"bed": job["regions"]["bed"], "reference": job["regions"]["reference"]}
    return {"fasta": job["fasta"]}


def predict_args(w):
    job = config["predict"][w.name]
    if "fasta" in job:
        return shlex.join(["--input", *job["fasta"]])
    regions = job["regions"]
    args = ["--bed", regions["bed"], "--reference", regions["reference"]]
    return shlex.join(
        args + (["--resize", str(regions["resize"])] if "resize" in regions else [])
    )


# The figures of each task, "comparison" first (genoflow.figures.FIGURES_BY_TASK;
# tests/test_workflow.py checks that the two agree).
FIGURES = {
    "classification": ("comparison", "roc", "pr", "confusion", "loss"),
    "token_classification": ("comparison", "confusion", "loss"),
    "multilabel": ("comparison", "loss"),
    "regression": ("comparison", "scatter", "loss"),
    "forecasting": ("comparison", "forecast", "loss"),
}


def figure_files(dataset):
    return [
        f"results/{dataset}/figures/{name}.svg" for name in FIGURES[task_of(dataset)]
    ]


def seeds_of(model):
    """Neural models train once per seed; the baselines are deterministic: once."""
    return SEEDS if config["models"][model]["type"] in NEURAL_TYPES else SEEDS[:1]


def run_dirs(dataset):
    return [
        f"results/{dataset}/{m}/seed{s}"
        for m in models_of(dataset)
        for s in seeds_of(m)
    ]


def neural_run_dirs(dataset):
    return [
        f"results/{dataset}/{m}/seed{s}"
        for m in neural_models_of(dataset)
        for s in SEEDS
    ]


def run_files(name):
    """Input function: `name` (e.g. metrics.json) of every run of the dataset."""
    return lambda w: [f"{run}/{name}" for run in run_dirs(w.dataset)]


def preprocessed(w):
    """Every file the preprocess stage writes for the dataset (its task decides which)."""
    stage = (
        rules.preprocess_series
        if task_of(w.dataset) == "forecasting"
        else rules.preprocess
    )
    return dict(stage.output.items())


def ingest_inputs(w):
    """Every file ingest reads, so that changing any of them reruns it."""
    dataset = config["datasets"][w.dataset]
    if "samples" in dataset:
        sheet = Path(dataset["samples"])
        samples = pd.read_csv(sheet, sep="\t", dtype=str, comment="#")
        validate(samples, SCHEMAS / "samples.schema.yaml")
        fasta = [str(sheet.parent / path) for path in samples["path"]]
        return {"samples": str(sheet), "fasta": fasta}
    if "residues" in dataset:
        return {"csv": [entry["path"] for entry in dataset["residues"]["csv"]]}
    if "simulate" in dataset:
        return {"fasta": f"results/{w.dataset}/simulated.fa"}
    regions = dataset.get("regions")
    files = {"fasta": dataset["fasta"]} if not regions else {"bed": regions["bed"]}
    if regions:
        files["reference"] = regions["reference"]
        fai = Path(f"{regions['reference']}.fai")
        files |= {"fai": str(fai)} if fai.is_file() else {}
    for key in ("labels", "values"):
        if key in dataset:
            files[key] = dataset[key]
    return files


def ingest_args(w):
    dataset = config["datasets"][w.dataset]
    args = ["--alphabet", dataset["alphabet"]]
    regions, split = dataset.get("regions"), dataset["split"]
    if "samples" in dataset:
        args += ["--samples", dataset["samples"]]
    elif "residues" in dataset:
        args += residue_args(dataset["residues"])
    elif "simulate" in dataset:  # the label is the header's second word
        args += ["--fasta", f"results/{w.dataset}/simulated.fa"]
        args += ["--label-pattern", r"^\S+\s+(\S+)"]
    elif regions:
        args += ["--bed", regions["bed"], "--reference", regions["reference"]]
        for key in ("resize", "label_column"):
            if key in regions:
                args += [f"--{key.replace('_', '-')}", str(regions[key])]
        for key in ("labels", "values"):
            if key in dataset:
                args += [f"--{key}", dataset[key]]
        if split["method"] == "chromosome":
            args += ["--test-chromosomes", *split["test"]]
            args += (
                ["--val-chromosomes", *split["val"]]
                if isinstance(split["val"], list)
                else []
            )
    else:
        args += ["--fasta", *dataset["fasta"]]
        for key, flag in (("labels", "--labels"), ("values", "--values")):
            if key in dataset:
                args += [flag, dataset[key]]
        if "label_pattern" in dataset:
            args += ["--label-pattern", dataset["label_pattern"]]
        if not {"labels", "values", "label_pattern"} & set(dataset):
            args += [
                "--no-labels"
            ]  # tile label next_base: labels come from the sequence
    for key in ("ambiguous", "invalid", "duplicate_ids"):
        args += [f"--{key.replace('_', '-')}", dataset[key]]
    if dataset["task"] == "multilabel":
        args.append("--multilabel")
    return shlex.join(args)


def residue_args(residues):
    """Ingest arguments of CSV files with a label per residue (and each file's split)."""
    files = residues["csv"]
    args = ["--csv", *(entry["path"] for entry in files)]
    if any("split" in entry for entry in files):
        args += ["--csv-splits", *(entry["split"] for entry in files)]
    args += ["--sequence-column", residues["sequence_column"]]
    args += ["--residue-column", residues["label_column"]]
    if residues["mask_columns"]:
        args += ["--mask-columns", *residues["mask_columns"]]
    return args


def preprocess_args(w):
    dataset = config["datasets"][w.dataset]
    split = dataset["split"]
    by_chromosome = split["method"] == "chromosome"  # assigned at ingest: a given split
    args = [
        "--trim",
        dataset["trim"],
        "--split",
        "given" if by_chromosome else split["method"],
    ]
    args += ["--seed", str(split["seed"])]
    for key in ("val", "test"):
        if not isinstance(split[key], list):
            args += [f"--{key}", str(split[key])]
    if dataset["max_length"]:
        args += ["--max-length", str(dataset["max_length"])]
    if dataset["classes"]:
        args += ["--classes", *dataset["classes"]]
    tile = dataset.get("tile")
    if tile:
        args += [
            "--tile-width",
            str(tile["width"]),
            "--tile-label",
            tile.get("label", "record"),
        ]
        if tile.get("stride"):
            args += ["--tile-stride", str(tile["stride"])]
    if split["method"] == "blocks":
        args += ["--block-size", str(split["block_size"])]
    return shlex.join(args)


def matrix_inputs(w):
    dataset = config["datasets"][w.dataset]
    files = {"matrix": dataset["matrix"]}
    if "sample_table" in dataset:
        files["sample_table"] = dataset["sample_table"]
    return files


def ingest_matrix_args(w):
    dataset = config["datasets"][w.dataset]
    args = ["--matrix", dataset["matrix"], "--orientation", dataset["orientation"]]
    if "sample_table" in dataset:
        args += ["--samples", dataset["sample_table"]]
    else:
        args += ["--series-length", str(dataset["series_length"])]
        args += ["--time-step", str(dataset["time_step"])]
    return shlex.join(args + ["--missing", dataset["missing"]])


def preprocess_series_args(w):
    dataset = config["datasets"][w.dataset]
    forecast, split = dataset["forecast"], dataset["split"]
    args = ["--input", str(forecast["input"]), "--horizon", str(forecast["horizon"])]
    args += ["--target", forecast["target"], "--multistep", forecast["multistep"]]
    args += ["--split", split["method"]]
    for key in ("val", "test"):
        if split[key]:
            args += [f"--{key}", *split[key]]
    if dataset["transform"]["log1p"]:
        args.append("--log1p")
    if not dataset["transform"]["zscore"]:
        args.append("--no-zscore")
    return shlex.join(args)


def model_spec(w):
    """(type, model keyword arguments, training options) of a model on a dataset. Training
    options: the global train section, then the dataset's, then the model's own."""
    spec = dict(config["models"][w.model])
    model_type = spec.pop("type")
    dataset_train = config["datasets"][w.dataset].get("train", {})
    train = {**config["train"], **dataset_train, **spec.pop("train", {})}
    return model_type, spec, train


def train_args(w):
    model_type, model_args, train = model_spec(w)
    args = [
        "--type",
        model_type,
        "--model-args",
        json.dumps(model_args, sort_keys=True),
    ]
    if model_type in NEURAL_TYPES:
        args += ["--train", json.dumps(train, sort_keys=True)]
    return shlex.join(args)
