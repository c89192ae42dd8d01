"""The captions of the report's figures, kept once: the HTML report shows them, and
workflow/report/*.rst (Snakemake's --report) is written from them."""

from __future__ import annotations

from pathlib import Path

# The figures `genoflow figures` writes, in page order: (title, one-sentence caption).
FIGURES = {
    "comparison": (
        "Model comparison",
        "Test-set accuracy and AUROC of every model with 95% bootstrap confidence intervals, "
        "one marker per seed; the dotted line marks the k-mer baseline.",
    ),
    "roc": (
        "ROC curves",
        "Receiver operating characteristic on the test split (first seed of each model; with "
        "more than two classes one panel per class, one-vs-rest), area under each curve in the "
        "legend.",
    ),
    "pr": (
        "Precision-recall curves",
        "Precision against recall on the test split (first seed of each model), average "
        "precision in the legend; the dotted line is the precision of random guessing.",
    ),
    "confusion": (
        "Confusion matrices",
        "Test-split predictions of the first seed of each model: cells give counts, colour the "
        "fraction of each true class, so a perfect model has a dark diagonal.",
    ),
    "scatter": (
        "Predicted vs measured",
        "Test-split predictions of the first seed of each model against the measured values, "
        "with the identity line and R² and Pearson r (mean over targets) in each panel title.",
    ),
    "forecast": (
        "Forecasts over time",
        "Measured expression of a test series (black) with each model's one-step-ahead forecast "
        "and the persistence baseline (dashed) for the genes that vary most on that series.",
    ),
    "logo": (
        "What the model looks at: mutagenesis logo",
        "In-silico mutagenesis of the best neural model (by validation loss, named in each "
        "panel): every position of up to 300 test records set to every other letter and "
        "rescored. A letter's height is the drop in the log-probability of the class when it is "
        "mutated away, averaged over the correctly classified records of that class.",
    ),
    "maps": (
        "Per-record explanations",
        "For a few correctly classified test records: the change in the class log-probability "
        "for every letter at every position (blue raises it, red lowers it), gradient × input "
        "saliency and, for a Transformer, the attention each position receives.",
    ),
    "network": (
        "Gene interactions",
        "Score of every directed regulator → target pair from the neural forecasters (input "
        "gradients, rank ensemble over models and seeds); circles mark the known edges of the "
        "gold standard, when one is given.",
    ),
    "tuning": (
        "Hyperparameter search",
        "Validation loss of every trial of the `tune:` search, one colour per tuned model; the "
        "ringed trial has the lowest validation loss and is the configuration retrained per "
        "seed. Trials never touch the test split: only the selected configuration is scored on "
        "it, once per seed.",
    ),
    "loss": (
        "Training curves",
        "Training (dashed) and validation (solid) loss per epoch of each neural model; the star "
        "marks the epoch whose weights were kept.",
    ),
}


# Where a figure's content depends on the task, its caption does too.
TASK_FIGURES = {
    "token_classification": {
        "comparison": (
            "Model comparison",
            "Test-set Q3 (per-residue accuracy) and per-residue MCC of every model with 95% "
            "bootstrap confidence intervals (resampling whole sequences), one marker per seed; "
            "the windowed logistic regression is the non-neural baseline.",
        ),
        "confusion": (
            "Confusion matrices (per residue)",
            "Labelled test residues of the first seed of each model: cells give counts, colour "
            "the fraction of each true class.",
        ),
    },
    "multilabel": {
        "comparison": (
            "Model comparison",
            "Test-set AUROC and AUPRC, each the mean over labels, of every model with 95% "
            "bootstrap confidence intervals, one marker per seed.",
        ),
    },
    "regression": {
        "comparison": (
            "Model comparison",
            "Test-set MSE, MAE, R², Pearson and Spearman correlation of every model with 95% "
            "bootstrap confidence intervals, one marker per seed; the dotted line marks the "
            "k-mer ridge baseline.",
        ),
    },
    "forecasting": {
        "comparison": (
            "Error per horizon",
            "Test MSE on the standardised scale (z-scored per gene; left) and skill against "
            "persistence (right) at each forecast horizon, "
            "one line per model (mean over seeds), baselines grey and dashed; skill 0 is "
            "persistence.",
        ),
    },
}
# The report's other items (Snakemake's --report only): their captions.
ITEMS = {
    "workflow": (
        "genoflow trained and compared sequence models on each dataset of the config "
        '(``datasets``: {{ snakemake.config["datasets"] | list | join(", ") }}). Every model was '
        "trained on the training split, selected on the validation split and scored once on "
        "the held-out test split; 95 % confidence intervals come from a bootstrap over test "
        "records. The self-contained page ``results/report/index.html`` holds the same results "
        "with provenance."
    ),
    "index": (
        "The self-contained HTML report: comparison tables, figures, data summaries and "
        "provenance (config, command, package versions, git commit, input checksums, seeds)."
    ),
    "ingest": (
        "Ingest summary of dataset {{ snakemake.wildcards.dataset }}: records kept and rejected "
        "(with reasons), classes, sequence lengths, letters seen, and the sha256 of every input "
        "file."
    ),
    "summary": (
        "Test-split metrics of every model and seed on {{ snakemake.wildcards.dataset }}, with "
        "bootstrap 95 % confidence intervals (``<metric>_ci_low``/``_ci_high``), parameter count "
        "and training time. The metrics follow the task: accuracy, balanced accuracy, AUROC, "
        "AUPRC, F1 and MCC for classification; Q3, balanced accuracy, F1, MCC, AUROC and AUPRC "
        "over labelled residues for per-residue labels; macro AUROC and AUPRC, micro F1 and "
        "exact match for multilabel; MSE, MAE, R², Pearson and Spearman for regression; MSE, "
        "MAE and skill against persistence for forecasting on the standardised scale (z-scored per "
        "gene), the same in original units as ``mse_raw``, ``mae_raw`` and ``skill_raw``, plus "
        "``mse_h<k>``, ``mae_h<k>`` and ``skill_h<k>`` per horizon. The non-neural baselines "
        "(k-mer logistic or ridge regression, windowed logistic regression per residue, "
        "persistence, ridge autoregression) are the honest floor."
    ),
    "distance": (
        "Test accuracy against the distance between the two motifs of the simulated long-range "
        "datasets (workflow/configs/long_range.yaml): one line per model through the mean over "
        "seeds, each seed a dot. A model that decides from its final state must carry the first "
        "motif to the end: if it forgets what it read ``d`` letters ago it falls towards 0.5 "
        "(chance) as ``d`` grows. Models that pool over positions (a global max, attention "
        "pooling) can detect each motif where it is and need no memory for this task."
    ),
}


def figure_caption(name: str, task: str) -> tuple[str, str]:
    """(title, caption) of a figure of a dataset of `task`."""
    return TASK_FIGURES.get(task, {}).get(name, FIGURES.get(name, (name, "Additional figure.")))


def rst(name: str) -> str:
    """The caption file of one report item for Snakemake's --report: a figure's caption (per
    task, chosen by the dataset's task where it differs), or another item's."""
    if name in ITEMS:
        return _wrapped(ITEMS[name])
    variants = [
        (task, TASK_FIGURES[task][name]) for task in TASK_FIGURES if name in TASK_FIGURES[task]
    ]
    if not variants:
        title, caption = FIGURES[name]
        return _wrapped(f"**{title}.** {caption}")
    lines = ['{% set task = snakemake.config["datasets"][snakemake.wildcards.dataset]["task"] %}']
    for index, (task, (title, caption)) in enumerate(variants):
        lines.append(f'{{% {"if" if index == 0 else "elif"} task == "{task}" %}}')
        lines.append(_wrapped(f"**{title}.** {caption}").rstrip("\n"))
    title, caption = FIGURES[name]
    lines += ["{% else %}", _wrapped(f"**{title}.** {caption}").rstrip("\n"), "{% endif %}"]
    return "\n".join(lines) + "\n"


def _wrapped(text: str) -> str:
    import textwrap

    return textwrap.fill(text, 100, break_on_hyphens=False, break_long_words=False) + "\n"


def write_rst(folder: str | Path) -> list[Path]:
    """Every caption file, into `folder` (workflow/report/): `python -m genoflow.report.captions
    workflow/report` after editing a caption here."""
    folder = Path(folder)
    written = []
    for name in [*FIGURES, *ITEMS]:
        path = folder / f"{name}.rst"
        path.write_text(rst(name))
        written.append(path)
    return written


if __name__ == "__main__":
    import sys

    for path in write_rst(sys.argv[1]):
        print(f"wrote {path}")
