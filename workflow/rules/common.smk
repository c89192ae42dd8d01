import json
import os
import re
import shlex
import sys
from pathlib import Path

from snakemake.settings.types import DeploymentMethod
from snakemake.utils import validate

# The workflow runs the package of this checkout (also inside --sdm conda environments, which
# hold only the dependencies), so the rules and the code they call never drift apart.
# This checkout: the folder two above this file (workflow.basedir is the *calling* workflow's
# folder when genoflow is used as a Snakemake module). A module fetched by URL (snakedeploy's
# `github("<owner>/genoflow", path="Snakefile", tag=...)`, or any URL) has no local src/: its
# jobs run the genoflow installed in the Python that runs Snakemake, of the same tag.
ROOT = Path(str(workflow.current_basedir)).parents[1]
SRC = ROOT / "src"
LOCAL_SRC = (SRC / "genoflow" / "__init__.py").is_file()
if LOCAL_SRC:
    sys.path.insert(0, str(SRC))
try:
    from genoflow.config import check_config, models_for
    from genoflow.settings import apply_params, reading_args, stage_settings
except ModuleNotFoundError:
    sys.exit(
        f"genoflow: error: this workflow comes from {workflow.current_basedir}, without the"
        f" genoflow package beside it, and {sys.executable} has none installed: install the"
        ' same version, e.g. pip install "genoflow @ git+https://github.com/<owner>/genoflow@<tag>"'
    )
from genoflow.errors import InputError  # noqa: E402
from genoflow.registry import (  # noqa: E402
    ENSEMBLE,
    ENSEMBLE_TASKS,
    FIGURES_BY_TASK,
    NEURAL_TYPES,
)
from genoflow.sources import code_version as command_version  # noqa: E402

# The rules call `genoflow <stage>`, the package of this checkout, run by the Python that runs
# Snakemake (so neither an activated venv nor a `python` on PATH is needed), under
# `--sdm conda` by the rule's environment's own Python, or by $GENOFLOW_PYTHON where set.
# Values reach the command line only through `{...:q}` (shell-quoted, lists element by
# element): a path holding a space, a quote or `$(...)` stays one argument and never runs.
PYTHON = os.environ.get("GENOFLOW_PYTHON") or (
    "python"
    if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
    else sys.executable
)
# Braces are doubled twice: once for the f-string, once for Snakemake's formatting of the prefix.
PYTHONPATH = (
    f"export PYTHONPATH={shlex.quote(str(SRC))}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; "
    if LOCAL_SRC
    else ""
)
shell.prefix(
    "set -euo pipefail; "
    + PYTHONPATH
    + f'genoflow() {{{{ {shlex.quote(PYTHON)} -m genoflow "$@"; }}}}; '
)
# (a local copy, for a workflow fetched by URL: Snakemake's source cache)
CONFIG_SCHEMA = workflow.source_path("../schemas/config.schema.yaml")


def show_failed_logs():
    """A failed job's log (which names the file, line and problem) printed in the terminal, as
    `--show-failed-logs` would, for a plain `snakemake --cores N`: Snakemake applies
    workflow/profiles/default only when asked (`--workflow-profile`). (Snakemake's own
    formatter attribute; on a version without it this does nothing, and the log stays in
    logs/.)"""
    from snakemake.logging import DefaultFormatter, logger

    for handler in logger.handlers:
        if isinstance(handler.formatter, DefaultFormatter):
            handler.formatter.show_failed_logs = True


show_failed_logs()

try:
    check_config(
        config,
        CONFIG_SCHEMA,
        source=", ".join(map(str, workflow.configfiles)) or "config",
    )
except InputError as error:  # every problem, with its file and line; no traceback
    sys.exit(f"genoflow: error: {error}")
validate(config, CONFIG_SCHEMA)  # fills in the schema's defaults

DATASETS = list(config["datasets"])
SEEDS = config["seeds"]


def code_version(rule):
    """A digest of every package file the rule's command runs (genoflow.sources: found from
    the imports), a param of the rule: editing a module reruns exactly the stages that run it
    (and, through their outputs, what follows)."""
    return command_version(rule.replace("_", "-"))


# How to regenerate every result, for the report's provenance. Deliberately not the literal
# command line: that differs between a run, a dry run and --report, and would rerun the report.
RERUN_COMMAND = shlex.join(
    ["snakemake", "--cores", "all"]
    + [f"--configfile={path}" for path in map(str, workflow.configfiles)]
)


def folder_of(name, of="output"):
    """Param function: the folder of the rule's output (or input) file `name`."""
    return lambda w, input, output: str(
        Path((output if of == "output" else input)[name]).parent
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
        return ["--input", *job["fasta"], *reading_args(job)]
    regions = job["regions"]
    args = ["--bed", regions["bed"], "--reference", regions["reference"]]
    return args + (["--resize", str(regions["resize"])] if "resize" in regions else [])


FIGURES = FIGURES_BY_TASK  # the figures of each task, "comparison" first


def figure_files(dataset):
    return [
        f"results/{dataset}/figures/{name}.svg" for name in FIGURES[task_of(dataset)]
    ]


def seeds_of(model):
    """Neural models train once per seed; the baselines are deterministic: once."""
    return SEEDS if config["models"][model]["type"] in NEURAL_TYPES else SEEDS[:1]


def run_dirs(dataset):
    """Every run folder of the dataset: each model and seed, and the ensemble's."""
    runs = [
        f"results/{dataset}/{m}/seed{s}"
        for m in models_of(dataset)
        for s in seeds_of(m)
    ]
    return runs + (
        [f"results/{dataset}/{ENSEMBLE}/seed0"] if has_ensemble(dataset) else []
    )


def has_ensemble(dataset):
    """Datasets of classes (of sequences or residues), of several 0/1 labels, of values or of
    z-scored series with two or more neural runs get the `ensemble` row."""
    transform = config["datasets"][dataset].get("transform", {})
    return (
        config["ensemble"]
        and task_of(dataset) in ENSEMBLE_TASKS
        and len(neural_models_of(dataset)) * len(SEEDS) >= 2
        and (task_of(dataset) != "forecasting" or transform.get("zscore", True))
    )


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
        return {"samples": str(sheet), "fasta": sheet_files(sheet)}
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


def sheet_files(sheet):
    """The FASTA files a sample sheet lists (relative to it), read leniently: a sheet that
    cannot be read lists none here, and `genoflow ingest` then names its problems."""
    try:
        lines = sheet.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    rows = [
        line.split("\t") for line in lines if line.strip() and not line.startswith("#")
    ]
    if not rows or "path" not in (header := [cell.strip() for cell in rows[0]]):
        return []
    column = header.index("path")
    paths = [row[column].strip() for row in rows[1:] if len(row) > column]
    return [
        str(sheet.parent / path)
        for path in paths
        if path and (sheet.parent / path).is_file()
    ]


def settings(stage):
    """Param function: the job's settings as JSON (genoflow.settings.stage_settings: the keys
    of the config that the stage reads, with their precedence), for `--settings`."""

    def param(w):
        settings = stage_settings(config, stage, w.dataset, getattr(w, "model", None))
        if (
            stage == "ingest" and "simulate" in settings
        ):  # the FASTA the simulate rule wrote
            settings["fasta"] = [f"results/{w.dataset}/simulated.fa"]
        return json.dumps(settings, sort_keys=True)

    return param


# --- tuning (genoflow/tune.py): trials on the validation split, then the selected settings ---
TUNE = config["tune"]


def tuned_models(dataset):
    """The neural models of the dataset that `tune:` searches."""
    if dataset not in TUNE.get("datasets", DATASETS):
        return []
    return [m for m in neural_models_of(dataset) if m in TUNE["models"]]


TUNED = [(d, m) for d in DATASETS for m in tuned_models(d)]


def trial_params(model):
    """The parameters of the model's trials (the same for any dataset: seeded by tune.seed)."""
    if model not in _TRIALS:
        from genoflow.tune import trial_params as draw

        _TRIALS[model] = draw(TUNE["models"][model], TUNE["seed"], TUNE["trials"])
    return _TRIALS[model]


_TRIALS = {}


def trial_settings(w):
    """Param function: the train settings of one trial, as JSON for `--settings`."""
    base = stage_settings(config, "train", w.dataset, w.model)
    return json.dumps(
        apply_params(base, trial_params(w.model)[int(w.trial)]), sort_keys=True
    )


def trial_dirs(w):
    return [
        f"results/{w.dataset}/tune/{w.model}/trial{n}" for n in range(TUNE["trials"])
    ]


def train_inputs(w):
    """The preprocessed data, and for a tuned model the configuration its search selected."""
    files = preprocessed(w)
    if w.model in tuned_models(w.dataset):
        files["tuned"] = f"results/{w.dataset}/tune/{w.model}/selected.json"
    return files


def tuning_tables(dataset):
    return [f"results/{dataset}/tune/{m}/trials.tsv" for m in tuned_models(dataset)]


def matrix_inputs(w):
    dataset = config["datasets"][w.dataset]
    files = {"matrix": dataset["matrix"]}
    if "sample_table" in dataset:
        files["sample_table"] = dataset["sample_table"]
    return files


def regulators_file(w):
    """The network rule's regulators file (an input, so editing it reranks), if one is given."""
    regulators = config["datasets"][w.dataset].get("regulators")
    return regulators if isinstance(regulators, str) else []


def regulator_args(w, input):
    regulators = config["datasets"][w.dataset].get("regulators")
    if isinstance(regulators, str):
        return ["--regulators-file", input.regulators]
    return ["--regulators", *regulators] if regulators else []
