import json
import shlex
import sys
from pathlib import Path

import pandas as pd
from snakemake.utils import validate

# The workflow runs the package of this checkout (also inside --sdm conda environments, which
# hold only the dependencies), so the rules and the code they call never drift apart.
SRC = Path(workflow.basedir) / "src"
sys.path.insert(0, str(SRC))
from genoflow.config import check_config  # noqa: E402

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
# How to regenerate every result, for the report's provenance. Deliberately not the literal
# command line: that differs between a run, a dry run and --report, and would rerun the report.
RERUN_COMMAND = shlex.join(
    ["snakemake", "--cores", "all"]
    + [f"--configfile={path}" for path in map(str, workflow.configfiles)]
)
SEEDS = config["seeds"]


wildcard_constraints:
    dataset="[A-Za-z][A-Za-z0-9_]*",
    model="[A-Za-z][A-Za-z0-9_]*",
    seed=r"\d+",


def models_of(dataset):
    return config["datasets"][dataset].get("models") or list(config["models"])


def run_dirs(dataset):
    return [f"results/{dataset}/{m}/seed{s}" for m in models_of(dataset) for s in SEEDS]


def run_files(name):
    """Input function: `name` (e.g. metrics.json) of every run of the dataset."""
    return lambda w: [f"{run}/{name}" for run in run_dirs(w.dataset)]


def ingest_inputs(w):
    """Every file ingest reads, so that changing any of them reruns it."""
    dataset = config["datasets"][w.dataset]
    if "samples" in dataset:
        sheet = Path(dataset["samples"])
        samples = pd.read_csv(sheet, sep="\t", dtype=str, comment="#")
        validate(samples, SCHEMAS / "samples.schema.yaml")
        fasta = [str(sheet.parent / path) for path in samples["path"]]
        return {"samples": str(sheet), "fasta": fasta}
    files = {"fasta": dataset["fasta"]}
    if "labels" in dataset:
        files["labels"] = dataset["labels"]
    return files


def ingest_args(w):
    dataset = config["datasets"][w.dataset]
    args = ["--alphabet", dataset["alphabet"]]
    if "samples" in dataset:
        args += ["--samples", dataset["samples"]]
    else:
        args += ["--fasta", *dataset["fasta"]]
        if "labels" in dataset:
            args += ["--labels", dataset["labels"]]
        else:
            args += ["--label-pattern", dataset["label_pattern"]]
    for key in ("ambiguous", "invalid", "duplicate_ids"):
        args += [f"--{key.replace('_', '-')}", dataset[key]]
    return shlex.join(args)


def preprocess_args(w):
    dataset = config["datasets"][w.dataset]
    split = dataset["split"]
    args = ["--trim", dataset["trim"], "--split", split["method"]]
    args += [
        "--val",
        str(split["val"]),
        "--test",
        str(split["test"]),
        "--seed",
        str(split["seed"]),
    ]
    if dataset["max_length"]:
        args += ["--max-length", str(dataset["max_length"])]
    if dataset["classes"]:
        args += ["--classes", *dataset["classes"]]
    return shlex.join(args)


def model_spec(w):
    """(type, model keyword arguments, training options) of a model; per-model train wins."""
    spec = dict(config["models"][w.model])
    model_type = spec.pop("type")
    train = {**config["train"], **spec.pop("train", {})}
    return model_type, spec, train


def train_args(w):
    model_type, model_args, train = model_spec(w)
    args = [
        "--type",
        model_type,
        "--model-args",
        json.dumps(model_args, sort_keys=True),
    ]
    if model_type != "kmer_logreg":
        args += ["--train", json.dumps(train, sort_keys=True)]
    return shlex.join(args)
