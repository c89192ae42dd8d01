"""Config checks: the shipped config is valid, mistakes are located, schema defaults match code."""

from __future__ import annotations

import ast
import copy
import dataclasses
import inspect
from pathlib import Path

import pandas as pd
import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

import genoflow
from genoflow.config import check_config, config_errors
from genoflow.errors import InputError
from genoflow.settings import stage_settings

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
SAMPLES_SCHEMA = ROOT / "workflow" / "schemas" / "samples.schema.yaml"
CONFIG = ROOT / "config.yaml"


@pytest.fixture
def config(monkeypatch) -> dict:
    """The shipped config, with the repository root as working directory (paths are relative)."""
    monkeypatch.chdir(ROOT)
    return yaml.safe_load(CONFIG.read_text())


@pytest.fixture(scope="module")
def schema() -> dict:
    return yaml.safe_load(SCHEMA.read_text())


def only_error(config: dict) -> str:
    problems = config_errors(config, SCHEMA)
    assert len(problems) == 1, problems
    return problems[0]


# --- the shipped config ----------------------------------------------------------------------


def test_shipped_config_is_valid_and_defaults_fill(config):
    """config.yaml passes config_errors, then snakemake's validate fills in schema defaults."""
    assert config_errors(config, SCHEMA) == []
    check_config(config, SCHEMA)  # does not raise
    sparse = copy.deepcopy(config)
    for key in ("train", "seeds", "threads", "evaluate"):
        del sparse[key]
    del sparse["datasets"]["splice"]["split"]
    del sparse["models"]["lstm"]["hidden"]
    del sparse["models"]["transformer"]["heads"]
    sparse["models"]["transformer"]["kernel_size"] = 5
    assert config_errors(sparse, SCHEMA) == []
    validate(sparse, str(SCHEMA))
    assert sparse["seeds"] == [0]
    assert sparse["threads"] == 2
    assert sparse["evaluate"] == {"bootstrap": 1000, "select_by": "val_loss"}
    assert sparse["train"]["max_epochs"] == 40 and sparse["train"]["deterministic"] is True
    assert sparse["datasets"]["splice"]["split"] == {
        "method": "stratified",
        "val": 0.1,
        "test": 0.2,
        "seed": 42,
        "block_size": 100_000,
    }
    assert sparse["models"]["lstm"]["hidden"] == 128
    assert sparse["models"]["transformer"]["heads"] == 4
    assert sparse["models"]["transformer"]["dropout"] == 0.1  # absent from config.yaml too
    assert sparse["models"]["transformer"]["kernel_size"] == 5  # given values are kept
    assert "k" not in sparse["models"]["lstm"]  # another type's defaults do not leak in


def test_shipped_demo_sample_sheet_matches_its_schema(config):
    """The demo sample sheet named by config.yaml validates against samples.schema.yaml."""
    sheet = Path(config["datasets"]["splice"]["samples"])
    samples = pd.read_csv(sheet, sep="\t", dtype=str, comment="#")
    validate(samples, str(SAMPLES_SCHEMA))
    assert all((sheet.parent / p).is_file() for p in samples["path"])


def test_sample_sheet_schema_rejects_bad_split():
    """A sample sheet row with split 'training' fails samples.schema.yaml."""
    samples = pd.DataFrame({"path": ["a.fa"], "label": ["x"], "split": ["training"]})
    with pytest.raises(WorkflowError, match="'training' is not one of"):
        validate(samples, str(SAMPLES_SCHEMA))


# --- located messages ------------------------------------------------------------------------


def test_misspelled_model_key_is_located(config):
    """`hiden` under models.lstm is reported at models.lstm with the allowed keys."""
    config["models"]["lstm"]["hiden"] = 64
    message = only_error(config)
    assert message.startswith("models.lstm: unknown key(s) ['hiden']")
    assert "'hidden'" in message


def test_misspelled_key_in_model_train_override_is_located(config):
    """An unknown option in a model's own `train:` is reported at models.<name>.train."""
    config["models"]["gru"]["train"] = {"lerning_rate": 0.1}
    assert only_error(config).startswith("models.gru.train: unknown key(s) ['lerning_rate']")


@pytest.mark.parametrize(
    ("stem", "start"),
    [
        ({"channels": 64, "skip": "yes"}, "models.lstm.stem.skip: 'yes' is not of type 'boolean'"),
        ({"chanels": 64}, "models.lstm.stem: unknown key(s) ['chanels']"),
        ({"pool": 0}, "models.lstm.stem.pool: 0 is less than the minimum of 1"),
        ("autox", "models.lstm.stem: 'autox' is none of: null; 'auto'; a mapping of channels,"),
        (5, "models.lstm.stem: 5 is none of: null; 'auto'; a mapping of channels, kernel_size"),
    ],
)
def test_a_bad_key_inside_a_stem_is_named(config, stem, start):
    """`stem` is null, auto or a mapping (a oneOf): a bad value inside the mapping is reported at
    its own key, not as "not valid under any of the given schemas"; a value no form takes is
    told the forms."""
    config["models"]["lstm"]["stem"] = stem
    message = only_error(config)
    assert message.startswith(start), message


@pytest.mark.parametrize(
    ("val", "start"),
    [
        (5, "datasets.splice.split.val: 5 is greater than or equal to the maximum of 1"),
        (["chr1", "chr1"], "datasets.splice.split.val: ['chr1', 'chr1'] has non-unique elements"),
        ("chr1", "datasets.splice.split.val: 'chr1' is none of: a number > 0 and < 1; a list of"),
    ],
)
def test_a_bad_split_fraction_is_named_not_taken_for_a_label_source(config, val, start):
    """`split.val` is a fraction or a list of chromosomes (a oneOf inside a dataset): its error is
    its own, not the dataset's "give exactly one label source"."""
    config["datasets"]["splice"]["split"]["val"] = val
    message = only_error(config)
    assert message.startswith(start), message


def test_chrono_gates_go_with_lstm_and_gru_only(config):
    """A tanh RNN has no gate to open: gates: chrono on it is refused where it is written."""
    config["models"]["gru"]["gates"] = "chrono"
    assert config_errors(config, SCHEMA) == []
    config["models"]["rnn"]["gates"] = "chrono"
    message = only_error(config)
    assert message.startswith("models.rnn"), message
    assert "pytorch" in message


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        (("datasets", "splice", "ambiguous"), "drop", "datasets.splice.ambiguous"),
        (("datasets", "splice", "split", "method"), "kfold", "datasets.splice.split.method"),
        (("train", "lr_schedule"), "linear", "train.lr_schedule"),
        (("models", "cnn", "type"), "resnet", "models.cnn.type"),
    ],
)
def test_wrong_enum_value_is_located(config, path, value, where):
    """A value outside an enum is reported at its key path, with the value."""
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    message = only_error(config)
    assert message.startswith(f"{where}: '{value}' is not one of")


def test_wrong_type_is_located(config):
    """A string where a number belongs is reported at its key path."""
    config["models"]["rnn"]["hidden"] = "big"
    assert only_error(config).startswith("models.rnn.hidden: 'big' is not of type 'integer'")


def test_unknown_top_level_key_is_named(config):
    """An unknown top-level key is named, with the allowed top-level keys."""
    config["modles"] = {}
    message = only_error(config)
    assert message.startswith("(top level): unknown key(s) ['modles']")
    assert "'models'" in message


@pytest.mark.parametrize(
    "extra",
    [
        {"labels": "workflow/resources/demo/splice/samples.tsv"},
        {"label_pattern": r"^\S+\s+(\S+)"},
    ],
    ids=["samples+labels", "samples+label_pattern"],
)
def test_two_label_sources_are_refused(config, extra):
    """A dataset with a sample sheet and another label source is reported at datasets.<name>."""
    config["datasets"]["splice"].update(extra)
    assert only_error(config).startswith("datasets.splice: give exactly one label source")


def test_fasta_with_both_pattern_and_table_is_refused(config):
    """fasta + label_pattern + labels (two label sources) is reported at datasets.<name>."""
    dataset = config["datasets"]["splice"]
    del dataset["samples"]
    dataset["fasta"] = ["workflow/resources/demo/splice/EI.fa"]
    dataset["label_pattern"] = r"^(\S+)"
    dataset["labels"] = "workflow/resources/demo/splice/samples.tsv"
    assert only_error(config).startswith("datasets.splice: give exactly one label source")


@pytest.mark.parametrize(
    "extra",
    [
        {"fasta": ["workflow/resources/demo/splice/EI.fa"], "label_pattern": r"^(\S+)"},
        {
            "fasta": ["workflow/resources/demo/splice/EI.fa"],
            "labels": "workflow/resources/demo/splice/samples.tsv",
        },
    ],
    ids=["samples+fasta+label_pattern", "samples+fasta+labels"],
)
def test_sample_sheet_plus_fasta_source_is_refused(config, extra):
    """A sample sheet and a fasta-based label source together are two label sources."""
    config["datasets"]["splice"].update(extra)
    problems = config_errors(config, SCHEMA)
    assert any(p.startswith("datasets.splice: give exactly one label source") for p in problems)


def test_dataset_model_list_names_undefined_model(config):
    """A dataset `models` entry that is not defined under `models` is named with its key path."""
    config["datasets"]["splice"]["models"] = ["lstm", "bert"]
    message = only_error(config)
    assert message.startswith("datasets.splice.models: 'bert' is not defined under `models`")
    assert "'lstm'" in message  # the defined ones are listed


@pytest.mark.parametrize(
    ("option", "value", "problem"),
    [
        (
            "directions",
            "both",
            "models.gru.directions: for protein sequences, but dataset 'splice'",
        ),
        ("train", {"reverse": True}, "models.gru.train.reverse: for protein sequences, but"),
        ("strands", "both", "models.gru.strands: for dna or rna sequences, but dataset 'dream4'"),
    ],
)
def test_a_mirror_of_another_alphabet_is_refused(config, option, value, problem):
    """Each alphabet's own reading of the sequence's mirror (DNA's other strand, a protein's
    other end), refused before anything runs where the dataset has another alphabet or none."""
    config["models"]["gru"][option] = value
    assert any(p.startswith(problem) for p in config_errors(config, SCHEMA))
    del config["models"]["gru"][option]
    assert config_errors(config, SCHEMA) == []


def test_models_ranked_by_losses_weighted_differently_are_refused(config):
    """A model with class_weights: balanced among unweighted ones: their validation losses (and
    the ensemble's) would rank on different scales. The calibrated ranking is unweighted."""
    config["models"]["lstm"]["train"] = {"class_weights": "balanced"}
    config["evaluate"] = {**config.get("evaluate", {}), "select_by": "val_loss"}
    message = only_error(config)
    assert message.startswith("datasets.splice: its models' class_weights differ (")
    assert "'lstm': 'balanced'" in message and "'gru': 'none'" in message
    config["evaluate"]["select_by"] = "calibrated_val_loss"
    assert config_errors(config, SCHEMA) == []
    config["evaluate"]["select_by"] = "val_loss"
    config["train"]["class_weights"] = "balanced"  # every model alike
    assert config_errors(config, SCHEMA) == []
    # and the k-mer baseline is told to weigh its classes alike; unweighted, its args stay as
    # they were (no rerun of an unweighted baseline)
    baseline = {k: v for k, v in config["models"]["kmer_logreg"].items() if k != "type"}
    assert stage_settings(config, "train", "splice", "kmer_logreg")["model_args"] == {
        **baseline,
        "class_weights": "balanced",
    }
    config["train"]["class_weights"] = "none"
    assert (
        "class_weights"
        not in stage_settings(config, "train", "splice", "kmer_logreg")["model_args"]
    )


def test_missing_sample_sheet_is_located(config):
    """A missing sample sheet is reported at datasets.<name>.samples with its path."""
    config["datasets"]["splice"]["samples"] = "workflow/resources/demo/splice/missing.tsv"
    assert only_error(config) == (
        "datasets.splice.samples: file 'workflow/resources/demo/splice/missing.tsv' not found"
    )


def test_missing_fasta_file_is_located(config):
    """A missing FASTA file is reported at datasets.<name>.fasta[i] with its path."""
    dataset = config["datasets"]["splice"]
    del dataset["samples"]
    dataset["fasta"] = ["workflow/resources/demo/splice/EI.fa", "nope.fa"]
    dataset["label_pattern"] = r"^(\S+)"
    assert only_error(config) == "datasets.splice.fasta[1]: file 'nope.fa' not found"


def test_split_fractions_summing_to_one_are_refused(config):
    """val + test >= 1 is reported at datasets.<name>.split."""
    config["datasets"]["splice"]["split"].update(val=0.5, test=0.5)
    assert only_error(config) == "datasets.splice.split: val + test must be below 1"


def test_check_config_raises_with_every_problem(config):
    """check_config raises one InputError naming the source and listing every problem."""
    config["models"]["lstm"]["hiden"] = 1
    config["train"]["lr_schedule"] = "linear"
    with pytest.raises(InputError) as info:
        check_config(config, SCHEMA, source="mine.yaml")
    message = str(info.value)
    assert message.startswith("mine.yaml: invalid configuration:")
    assert "models.lstm: unknown key(s)" in message and "train.lr_schedule:" in message


# --- schema defaults agree with the Python defaults ------------------------------------------


def keyword_defaults(function) -> dict:
    return {
        name: p.default
        for name, p in inspect.signature(function).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def definition_from_source(module: str, name: str):
    """One top-level class or function of a genoflow module, compiled alone from its source.

    genoflow.tasks.train and genoflow.evaluate.baselines import Lightning (about 10 s), too
    slow for a unit test; TrainConfig and train_kmer_baseline's signature need nothing but
    `dataclasses`. `module` is its path below genoflow/, e.g. "tasks/train".
    """
    source = Path(genoflow.__file__).parent / f"{module}.py"
    tree = ast.parse(source.read_text(), filename=str(source))
    kinds = (ast.ClassDef, ast.FunctionDef)
    (node,) = [n for n in tree.body if isinstance(n, kinds) and n.name == name]
    future = ast.parse("from __future__ import annotations").body  # as in the module
    code = compile(ast.Module(body=[*future, node], type_ignores=[]), str(source), "exec")
    scope = {"dataclass": dataclasses.dataclass, "field": dataclasses.field}
    exec(code, scope)
    return scope[name]


def test_train_defaults_match_trainconfig(schema):
    """Every `train` default in the schema equals TrainConfig's, and every option has one."""
    train_config = definition_from_source("tasks/train", "TrainConfig")
    assert dataclasses.is_dataclass(train_config)
    schema_defaults = {
        key: spec["default"]
        for key, spec in schema["properties"]["train"]["properties"].items()
        if "default" in spec
    }
    code_defaults = {
        f.name: f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
        for f in dataclasses.fields(train_config)
    }
    options = set(schema["$defs"]["train_options"]["properties"])
    assert set(schema_defaults) == options == set(code_defaults)
    for key, value in schema_defaults.items():
        assert value == code_defaults[key], key
        assert type(value) is type(code_defaults[key]) or isinstance(value, int | float), key


def model_branches(schema) -> dict[str, dict]:
    """model type -> the `then` properties of the schema's allOf branches for that type (a
    later branch that only sets a default, such as lstm and gru's `stem: auto`, merged in)."""
    branches = {}
    for rule in schema["$defs"]["model"]["allOf"]:
        condition = rule["if"]["properties"]["type"]
        types = condition.get("enum", [condition.get("const")])
        for model_type in types:
            merged = {k: dict(v) for k, v in branches.get(model_type, {}).items()}
            for key, value in rule["then"]["properties"].items():
                merged[key] = {**merged.get(key, {}), **value}
            branches[model_type] = merged
    return branches


def test_every_model_type_has_a_schema_branch(schema):
    """Each type allowed by the schema's enum has exactly one if/then branch of its own."""
    branches = model_branches(schema)
    assert set(branches) == set(schema["$defs"]["model"]["properties"]["type"]["enum"])


def test_model_defaults_match_constructors(schema):
    """Schema model defaults equal the constructors' keyword defaults, in both directions."""
    from genoflow.models import SequenceModel
    from genoflow.models.cnn import CNN
    from genoflow.models.recurrent import Recurrent
    from genoflow.models.transformer import Transformer

    train_kmer_baseline = definition_from_source("evaluate/baselines", "train_kmer_baseline")
    constructors = {
        "rnn": Recurrent,
        "lstm": Recurrent,
        "gru": Recurrent,
        "transformer": Transformer,
        "cnn": CNN,
        "kmer_logreg": train_kmer_baseline,
        "kmer_ridge": train_kmer_baseline,
        "window_logreg": definition_from_source("evaluate/baselines", "train_window_baseline"),
    }
    wrapper = keyword_defaults(SequenceModel)  # pool options, head_dropout: shared
    branches = model_branches(schema)
    for model_type, constructor in constructors.items():
        properties = branches[model_type]
        schema_defaults = {k: v["default"] for k, v in properties.items() if "default" in v}
        code = keyword_defaults(constructor)
        code.pop("steps", None)  # the data's longest sequence, set by SequenceModel
        if model_type.startswith("kmer_"):
            code = {k: code[k] for k in ("k", "positional")}  # seed is the run's, not an option
        elif model_type == "window_logreg":
            code = {"window": code["window"]}
        else:
            for shared in ("head_dropout", "pool_size", "strands"):
                assert schema_defaults.pop(shared) == wrapper[shared], (model_type, shared)
            # the config's recipe (resolved by settings.stage_settings), not the code's default:
            # the networks themselves have no stem unless given one
            stem = schema_defaults.pop("stem", None)
            assert stem == ("auto" if model_type in ("lstm", "gru", "transformer") else None)
            assert wrapper["stem"] is None
        assert schema_defaults == code, model_type
        for key, value in schema_defaults.items():
            assert type(value) is type(code[key]), (model_type, key)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"split": {"method": "blocks"}, "label_pattern": "(x)"}, "method blocks splits tiled"),
        ({"tile": {"width": 50}, "max_length": 50, "label_pattern": "(x)"}, "`max_length` or"),
        ({"tile": {"width": 50}}, "exactly one label source"),
    ],
)
def test_tiling_options_are_checked(tmp_path, entry, problem):
    """Blocks need tiles, tiles replace max_length, and only next_base needs no labels."""
    fasta = tmp_path / "g.fa"
    fasta.write_text(">g\nACGT\n")
    config = {
        "datasets": {"genome": {"alphabet": "dna", "fasta": [str(fasta)], **entry}},
        "models": {"gru": {"type": "gru"}},
    }
    assert any(problem in line for line in config_errors(config, SCHEMA)), config_errors(
        config, SCHEMA
    )
    next_base = {
        "alphabet": "dna",
        "fasta": [str(fasta)],
        "tile": {"width": 9, "label": "next_base"},
    }
    config["datasets"]["genome"] = next_base
    assert config_errors(config, SCHEMA) == []


@pytest.mark.parametrize(
    ("entry", "models", "problem"),
    [
        ({"task": "token_classification", "label_pattern": "(x)"}, {}, "go together"),
        ({"task": "multilabel", "label_pattern": "(x)"}, {}, "multilabel needs `values`"),
        ({"residues": True}, {"pool": "max"}, "models.gru.pool: 'max' pools positions"),
        ({"residues": True, "tile": {"width": 5}}, {}, "per-residue labels cannot be tiled"),
        ({"residues": "missing.csv"}, {}, "residues.csv[0].path: file 'missing.csv' not found"),
        ({"residues": True, "labels": "x.tsv"}, {}, "exactly one label source"),
    ],
)
def test_per_residue_and_multilabel_options_are_checked(tmp_path, entry, models, problem):
    table = tmp_path / "ss.csv"
    table.write_text("input,dssp3\nA C,H E\n")
    dataset = {"alphabet": "protein", **entry}
    if "residues" in entry:
        path = str(table) if entry["residues"] is True else entry["residues"]
        dataset |= {
            "task": "token_classification",
            "residues": {"csv": [{"path": path}], "label_column": "dssp3"},
        }
    else:
        dataset["fasta"] = [str(table)]
    config = {"datasets": {"ss": dataset}, "models": {"gru": {"type": "gru", **models}}}
    errors = config_errors(config, SCHEMA)
    assert any(problem in line for line in errors), errors


@pytest.mark.parametrize(
    ("job", "problem"),
    [
        ({"dataset": "nope", "model": "gru"}, "predict.new.dataset: 'nope' is not under"),
        ({"dataset": "genome", "model": "ridge"}, "predict.new.model: 'ridge' is not trained"),
        ({"dataset": "genome", "model": "gru", "seed": 3}, "predict.new.seed: 3 is not one of"),
        ({"dataset": "genome", "model": "gru", "fasta": ["missing.fa"]}, "fasta[0]: file"),
    ],
)
def test_predict_entries_name_a_trained_model_and_existing_files(tmp_path, job, problem):
    fasta = tmp_path / "g.fa"
    fasta.write_text(">g\nACGT\n")
    config = {
        "datasets": {"genome": {"alphabet": "dna", "fasta": [str(fasta)], "label_pattern": "(x)"}},
        "models": {"gru": {"type": "gru"}, "ridge": {"type": "ridge_ar"}},
        "predict": {"new": {"fasta": [str(fasta)], **job}},
    }
    assert any(problem in line for line in config_errors(config, SCHEMA)), config_errors(
        config, SCHEMA
    )


SHIPPED_CONFIGS = sorted((ROOT / "workflow" / "configs").glob("*.yaml")) + sorted(
    (ROOT / "benchmarks" / "configs").glob("*.yaml")
)


@pytest.mark.parametrize("path", SHIPPED_CONFIGS, ids=lambda path: path.name)
def test_shipped_benchmark_configs_are_valid(path, monkeypatch):
    """Each ready-made config runs as `snakemake --configfile <it>` from the repository root."""
    monkeypatch.chdir(ROOT)
    assert config_errors(yaml.safe_load(path.read_text()), SCHEMA) == []


def test_a_predict_entry_takes_fasta_or_bed_regions(tmp_path):
    fasta, bed = tmp_path / "g.fa", tmp_path / "r.bed"
    fasta.write_text(">g\nACGTACGTAC\n")
    bed.write_text("g\t0\t5\n")
    config = {
        "datasets": {"genome": {"alphabet": "dna", "fasta": [str(fasta)], "label_pattern": "(x)"}},
        "models": {"gru": {"type": "gru"}},
        "predict": {
            "new": {
                "dataset": "genome",
                "model": "gru",
                "regions": {"bed": str(bed), "reference": str(fasta), "resize": 4},
            }
        },
    }
    assert config_errors(config, SCHEMA) == []
    config["predict"]["new"]["fasta"] = [str(fasta)]  # both: one of them, please
    assert any("predict.new" in line for line in config_errors(config, SCHEMA))


def test_a_published_metric_must_be_one_of_the_tasks(config):
    config["datasets"]["splice"]["published"] = {"metric": "q3", "value": 0.9, "source": "x"}
    assert only_error(config).startswith(
        "datasets.splice.published.metric: 'q3' is not a metric of task classification"
    )


def test_a_model_cannot_take_the_ensemble_rows_name(config):
    config["models"]["ensemble"] = {"type": "cnn"}
    assert only_error(config).startswith("models.ensemble: the name is the ensemble row's")


def test_stem_auto_is_a_stem_for_whole_sequence_tasks_and_none_per_residue_or_forecast():
    from genoflow.settings import AUTO_STEM

    config = {
        "datasets": {
            "seqs": {"task": "classification"},
            "residues": {"task": "token_classification"},
            "series": {"task": "forecasting"},
        },
        "models": {"lstm": {"type": "lstm", "hidden": 8, "stem": "auto"}},
        "train": {},
    }
    stems = {
        name: stage_settings(config, "train", name, "lstm")["model_args"]["stem"]
        for name in config["datasets"]
    }
    assert stems == {"seqs": AUTO_STEM, "residues": None, "series": None}
    assert config["models"]["lstm"]["stem"] == "auto"  # the config itself is not changed


@pytest.mark.parametrize(
    "split",
    [
        {"method": "series", "test": ["s5"], "val": ["s4"]},
        {"method": "condition", "test": ["heat_shock"]},
        {"method": "series", "val": ["s1", "s2"]},
    ],
)
def test_forecasting_splits_name_series_or_conditions(config, split):
    """README's own examples: lists of series or condition names (issue #22). The names are
    checked against the ingested sample table by preprocess-series (test_timeseries.py)."""
    config["datasets"]["dream4"]["split"] = split
    assert config_errors(config, SCHEMA) == []


def test_forecasting_split_fractions_are_refused(config):
    config["datasets"]["dream4"]["split"] = {"method": "series", "test": 0.2}
    assert only_error(config).startswith("datasets.dream4.split.test")


def test_a_regulators_file_must_exist(config):
    config["datasets"]["dream4"]["regulators"] = "data/no_such_tfs.txt"
    assert only_error(config) == "datasets.dream4.regulators: file 'data/no_such_tfs.txt' not found"
    config["datasets"]["dream4"]["regulators"] = ["G1", "G2"]
    assert config_errors(config, SCHEMA) == []


DATA = ROOT / "tests" / "data"


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"format": "genbank_typo", "label_pattern": "(x)"}, "is not one Biopython reads"),
        ({"features": {"label_qualifier": "product"}}, "FASTA has no features"),
        ({"format": "genbank", "translate": {}, "label_pattern": "(x)", "alphabet": "dna"},
         "translated records are proteins"),
        ({"format": "genbank", "translate": {"table": 99}, "label_pattern": "(x)"},
         "translate table 99 is not an NCBI genetic code"),
        ({"format": "genbank", "features": {}, "label_pattern": "(x)",
          "labels": "x.tsv"}, "exactly one label source"),
    ],
)  # fmt: skip
def test_reading_options_are_checked(entry, problem):
    dataset = {"alphabet": "protein", "fasta": [str(DATA / "NC_005816.gb")], **entry}
    config = {"datasets": {"cds": dataset}, "models": {"gru": {"type": "gru"}}}
    errors = config_errors(config, SCHEMA)
    assert any(problem in line for line in errors), errors


def test_features_labelled_by_a_qualifier_are_a_dataset_and_a_predict_entry():
    """`format`, `features` (a label source of its own) and `translate` reach ingest and
    predict as their options."""
    from genoflow.settings import settings_args

    reading = {
        "format": "genbank",
        "features": {"type": "CDS", "label_qualifier": "product"},
        "translate": {"table": 11},
    }
    files = [str(DATA / "NC_005816.gb")]
    config = {
        "datasets": {"cds": {"alphabet": "protein", "fasta": files, **reading}},
        "models": {"gru": {"type": "gru"}},
        "predict": {"new": {"dataset": "cds", "model": "gru", "fasta": files, **reading}},
    }
    assert config_errors(config, SCHEMA) == []
    args = settings_args("ingest", stage_settings(config, "ingest", "cds"))
    flags = ["--format", "genbank", "--feature-type", "CDS", "--label-qualifier", "product"]
    assert args[2:] == [*flags, "--translate-table", "11", "--fasta", *files]
    assert "--no-labels" not in args
