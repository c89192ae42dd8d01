"""The facts every room shares, kept once: tasks, model families and baselines, the split
codes of the arrays, the metrics and figures of each task.

Plain data only (no torch, numpy or pandas): the workflow imports this module to build its
rules, and every stage command imports it at start-up.
"""

from __future__ import annotations

TASKS = ("classification", "token_classification", "multilabel", "regression", "forecasting")
SEQUENCE_TASKS = TASKS[:4]
CLASS_TASKS = ("classification", "token_classification")  # a class per record or residue

# Neural families (genoflow.models) and the non-neural baselines (genoflow.evaluate), with
# the tasks each can be trained on; a dataset trains every model that fits its task.
NEURAL_TYPES = ("rnn", "lstm", "gru", "transformer", "cnn")
SEQUENCE_BASELINES = ("kmer_logreg", "kmer_ridge", "window_logreg")  # scored by predict too
FORECAST_BASELINES = ("persistence", "ridge_ar")
BASELINE_TYPES = SEQUENCE_BASELINES + FORECAST_BASELINES
# the baselines that take the dataset's `class_weights` (their fit and validation loss weighed by
# class, as the neural models' are): the logistic classifiers
WEIGHABLE_BASELINES = ("kmer_logreg", "window_logreg")
# The `ensemble` row of a dataset: the mean of its neural runs' probabilities or predicted
# values (genoflow.evaluate.ensemble); a reserved model name, not a type one can configure.
ENSEMBLE = "ensemble"
# the tasks whose datasets get the ensemble row (forecasting: of z-scored series, whose
# standardised scale the models' validation loss is on)
ENSEMBLE_TASKS = (
    "classification",
    "token_classification",
    "multilabel",
    "regression",
    "forecasting",
)
# What the models of a dataset are ranked and selected by, on validation (genoflow/selection.py)
SELECTION_CRITERIA = ("val_loss", "calibrated_val_loss")
# train options that train.json (and the resume fingerprint) leave out while off, so runs from
# before they existed keep their files: the value each has when it is absent
TRAIN_OPTIONS_OFF = {"trainer": {}, "weight_averaging": 0.0, "shift": 0, "reverse": False}
# Each alphabet's mirror (genoflow.models.build.mirror_table): the model option that averages
# a sequence's two readings and the train option that draws one at random. DNA and RNA are read
# from their other strand, proteins from their other end; whole-sequence labels only.
MIRRORS = {
    "dna": ("strands", "reverse_complement"),
    "rna": ("strands", "reverse_complement"),
    "protein": ("directions", "reverse"),
}


def mirror_alphabets(option: str) -> str:
    """The alphabets a mirror option is for, in words ("dna or rna")."""
    return " or ".join(name for name, options in MIRRORS.items() if option in options)


MODEL_TASKS: dict[str, tuple[str, ...]] = {
    "rnn": TASKS,
    "lstm": TASKS,
    "gru": TASKS,
    "transformer": TASKS,
    "cnn": SEQUENCE_TASKS,
    "kmer_logreg": ("classification", "multilabel"),
    "window_logreg": ("token_classification",),
    "kmer_ridge": ("regression",),
    "persistence": ("forecasting",),
    "ridge_ar": ("forecasting",),
}

# split.npy and window_split.npy hold these codes; a given split names them in words.
SPLIT_NAMES = ("train", "val", "test")
SPLIT_CODES = {name: code for code, name in enumerate(SPLIT_NAMES)}
NO_SPLIT = 255  # a record without a given split
NO_LABEL = 255  # residue_labels.npy: padding, or a residue whose label is masked out
UNLABELLED = "."  # sequences.tsv: the label of a residue that has none

# metrics.json and summary.tsv: the metrics of each task, the first one ranks the models.
CLASSIFICATION_METRICS = ("accuracy", "balanced_accuracy", "auroc", "auprc", "f1", "mcc")
TOKEN_METRICS = ("q3", "balanced_accuracy", "f1", "mcc", "auroc", "auprc")
MULTILABEL_METRICS = ("auroc", "auprc", "f1", "exact_match")
REGRESSION_METRICS = ("mse", "mae", "r2", "pearson", "spearman")
# forecasting: on the standardised scale (per horizon too), then the same in original units
FORECAST_METRICS = ("mse", "mae", "skill")
FORECAST_RAW_METRICS = ("mse_raw", "mae_raw", "skill_raw")
METRICS_BY_TASK = {
    "classification": CLASSIFICATION_METRICS,
    "token_classification": TOKEN_METRICS,
    "multilabel": MULTILABEL_METRICS,
    "regression": REGRESSION_METRICS,
    "forecasting": FORECAST_METRICS + FORECAST_RAW_METRICS,
}
LOWER_IS_BETTER = frozenset({"mse", "mae", "mse_raw", "mae_raw"})

# The figures `genoflow figures` writes for each task ("comparison" first): the workflow
# declares exactly these outputs, the report shows them in this order.
FIGURES_BY_TASK = {
    "classification": ("comparison", "roc", "pr", "confusion", "loss"),
    "token_classification": ("comparison", "confusion", "loss"),
    "multilabel": ("comparison", "loss"),
    "regression": ("comparison", "scatter", "loss"),
    "forecasting": ("comparison", "forecast", "loss"),
}
INTERPRETATION_FIGURES = ("logo", "maps")  # classification datasets with a neural model
