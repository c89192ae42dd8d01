"""`genoflow init`: look at a user's files and write a config that fits them.

It reads the files as ingest would (the same readers, so a file ingest would refuse is refused
here, with the same message) and looks at their shape: the alphabet, how many records, their
lengths (all equal: aligned windows, whose position matters; varied: position-free pooling),
the classes and their balance, repeated ids, ambiguity codes; for an expression matrix, its
genes, series and time points. From that it chooses a label source, a split, the models and
their pooling, and training options, and writes a commented config that validates and runs as
is, with a short summary of what it found and why it chose so.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genoflow.alphabets import get_alphabet
from genoflow.errors import InputError
from genoflow.formats.files import atomic_path
from genoflow.io.fasta import read_fasta_batches
from genoflow.registry import SPLIT_NAMES

# Words in a file name that say which split its records belong to (AMP.tr.fa, test_pos.fa).
SPLIT_WORDS = {
    "train": "train", "tr": "train", "training": "train",
    "val": "val", "valid": "val", "validation": "val", "eval": "val", "dev": "val",
    "test": "test", "te": "test", "testing": "test",
}  # fmt: skip
HEADER_LABELS = (  # (pattern, what it reads) tried on the header lines, first that fits wins
    (r"(?:label|class|y)=([^\s;|]+)", "a label=<value> token in the header"),
    (r"^\S+\s+(\S+)", "the header's second word"),
)
MAX_CLASSES = 50  # more distinct values than this in a header field: not a label
ALIGNED_SLACK = 0  # records whose lengths differ by at most this are aligned windows


@dataclass
class Shape:
    """What the sequence files hold."""

    files: list[Path]
    records: int = 0
    lengths: list[int] = field(default_factory=list)
    letters: Counter = field(default_factory=Counter)
    headers: list[str] = field(default_factory=list)  # the first few of each file
    per_file: dict[str, int] = field(default_factory=dict)
    ids: Counter = field(default_factory=Counter)
    contents: dict[str, bytes] = field(default_factory=dict)  # id -> digest of its first record
    conflicts: list[str] = field(default_factory=list)  # ids repeated with other content

    @property
    def repeated_ids(self) -> list[str]:
        return [name for name, n in self.ids.items() if n > 1]

    def add_contents(self, batch, source: int) -> None:
        """Note each record's content (its file, header and sequence), so that an id repeated
        with anything different is known before ingest meets it. Stricter than ingest's own
        comparison (label and sequence), so `drop_identical` is chosen only where it holds."""
        for record in batch.records():
            digest = hashlib.blake2b(
                b"%d\t%s\t%s" % (source, record.description.encode(), record.sequence),
                digest_size=8,
            ).digest()
            first = self.contents.setdefault(record.id, digest)
            if first != digest and record.id not in self.conflicts:
                self.conflicts.append(record.id)


# Sequence formats told by a file's extension (after any .gz); others: `--format`.
FORMAT_BY_SUFFIX = {
    ".gb": "genbank", ".gbk": "genbank", ".gbff": "genbank", ".genbank": "genbank",
    ".embl": "embl", ".fastq": "fastq", ".fq": "fastq", ".sto": "stockholm",
    ".stk": "stockholm", ".aln": "clustal", ".swiss": "swiss", ".ab1": "abi", ".sff": "sff",
}  # fmt: skip


SEQ_SUFFIXES = "|".join(suffix[1:] for suffix in FORMAT_BY_SUFFIX)
ANNOTATED = ("genbank", "embl", "imgt")  # formats whose records carry features


def guess_format(files: list[Path], given: str | None = None) -> str:
    """The files' format: `given`, else told by their extensions (FASTA unless one says
    otherwise); files in different formats are refused."""
    if given is not None:
        return given
    found = {FORMAT_BY_SUFFIX.get(_suffix(path), "fasta") for path in files}
    if len(found) > 1:
        raise InputError(files[0], f"the files are in different formats {sorted(found)}")
    return found.pop()


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def inspect_fasta(files: list[Path], keep_headers: int = 2000, fmt: str = "fasta") -> Shape:
    """Every record of the files read once (streamed): lengths, letters, ids, headers."""
    shape = Shape(files)
    for source, path in enumerate(files):
        count = 0
        for batch in read_fasta_batches(path) if fmt == "fasta" else _seqio_batches(path, fmt):
            shape.add_contents(batch, source)
            shape.lengths += np.diff(np.concatenate([[0], batch.ends])).tolist()
            shape.letters.update(
                dict(enumerate(np.bincount(np.frombuffer(batch.sequences, np.uint8)).tolist()))
            )
            shape.ids.update(batch.ids)
            if len(shape.headers) < keep_headers * len(files):
                shape.headers += batch.descriptions[:keep_headers]
            count += len(batch)
        shape.per_file[str(path)] = count
        shape.records += count
    return shape


def _seqio_batches(path: Path, fmt: str):
    """The records of a file in another format, as batches like the FASTA reader's."""
    from genoflow.io.sources import SeqioInput, batched

    for batch, _, _ in batched(SeqioInput(path, fmt)):
        yield batch


def guess_alphabet(letters: Counter) -> tuple[str, dict]:
    """The alphabet whose letters (and ambiguity codes) cover the files' letters, and how."""
    seen = {chr(code).upper(): n for code, n in letters.items() if n and chr(code).isalpha()}
    total = sum(seen.values()) or 1
    facts = {}
    for name in ("dna", "rna", "protein"):
        alphabet = get_alphabet(name)
        core = set(alphabet.letters)
        known = core | set(alphabet.ambiguous)
        outside = {c: n for c, n in seen.items() if c not in known}
        if name == "dna" and seen.get("U", 0) > seen.get("T", 0):
            continue  # RNA, not DNA with a few U
        if name != "protein" and sum(seen.get(c, 0) for c in core) < 0.9 * total:
            continue  # mostly other letters: not nucleotides
        if sum(outside.values()) <= 0.001 * total:
            facts["core_share"] = sum(seen.get(c, 0) for c in core) / total
            facts["ambiguous"] = {c: n for c, n in seen.items() if c in alphabet.ambiguous}
            facts["outside"] = outside
            return name, facts
    raise InputError(None, f"letters {sorted(seen)[:20]} fit neither DNA, RNA nor protein")


def file_labels(files: list[Path]) -> tuple[list[str], list[str | None]]:
    """A label (and a split, where the name says one) per file, from the file names: the split
    words are taken out, then what the names share, so Ecoli_prom.fa / Ecoli_non_prom.fa give
    `prom` / `non_prom`, and AMP.tr.fa / DECOY.te.fa give AMP, train / DECOY, test."""
    words, splits = [], []
    for path in files:
        name = path.name
        for suffix in (".gz", ".fa", ".fasta", ".fna", ".faa", ".fas", ".txt", *FORMAT_BY_SUFFIX):
            name = name[: -len(suffix)] if name.lower().endswith(suffix) else name
        parts = [p for p in re.split(r"[._\-\s]+", name) if p]
        found = [SPLIT_WORDS[p.lower()] for p in parts if p.lower() in SPLIT_WORDS]
        splits.append(found[-1] if found else None)
        words.append([p for p in parts if p.lower() not in SPLIT_WORDS] or parts)
    first = [w[0] for w in words]
    while len(words[0]) > 1 and all(len(w) > 1 for w in words) and len(set(first)) == 1:
        words = [w[1:] for w in words]  # a shared first word (the organism, the dataset)
        first = [w[0] for w in words]
    labels = ["_".join(w) for w in words]
    return labels, splits


def header_label(headers: list[str]) -> tuple[str, str, Counter] | None:
    """(pattern, what it reads, class counts) of the first header pattern that gives every
    header a label and between 2 and MAX_CLASSES classes."""
    for pattern, what in HEADER_LABELS:
        found = [re.search(pattern, header) for header in headers]
        if not all(found):
            continue
        classes = Counter(match.group(1) for match in found)
        if 2 <= len(classes) <= MAX_CLASSES and max(classes.values()) < len(headers):
            return pattern, what, classes
    return None


@dataclass
class Choice:
    """A config key's value and why it was chosen (the comment written beside it)."""

    value: object
    why: str = ""


def sequence_config(
    files: list[Path],
    name: str,
    *,
    config_dir: Path,
    sheet_dir: Path,
    labels: Path | None = None,
    label_pattern: str | None = None,
    values: Path | None = None,
    fmt: str | None = None,
) -> tuple[dict[str, Choice], dict, list[str]]:
    """(dataset keys with reasons, models, findings) for sequence files (FASTA, or a format
    Biopython reads: `fmt`, or told by the files' extensions)."""
    told = fmt is None
    fmt = guess_format(files, fmt)
    shape = inspect_fasta(files, fmt=fmt)
    if not shape.records:
        raise InputError(files[0], f"no {fmt} records found")
    alphabet, letters = guess_alphabet(shape.letters)
    lengths = np.asarray(shape.lengths)
    low, median, high = int(lengths.min()), int(np.median(lengths)), int(lengths.max())
    aligned = high - low <= ALIGNED_SLACK
    findings = [
        f"{shape.records:,} {alphabet.upper()} records in {len(files)} file(s); lengths"
        f" {low}-{high} (median {median})" + (": all one length" if aligned else ""),
    ]
    dataset: dict[str, Choice] = {}
    task, classes, given = "classification", None, []
    if values is not None:
        from genoflow.io.tables import read_values_table

        targets, table = read_values_table(values)
        binary = all(v in ("0", "1") for row, _ in table.values() for v in row.split("\t"))
        task = "multilabel" if binary else "regression"
        dataset["task"] = Choice(task, f"{len(targets)} {'0/1 ' if binary else ''}column(s)")
        dataset["fasta"] = Choice([_rel(p, config_dir) for p in files])
        dataset["values"] = Choice(_rel(values, config_dir), f"targets: {', '.join(targets)}")
        given = [split for _, split in table.values() if split]
    elif labels is not None:
        from genoflow.io.tables import read_label_table

        table = read_label_table(labels)
        # per record, as ingest counts them: a repeated id's row labels each of its records
        classes = Counter()
        for record_id, n in shape.ids.items():
            if record_id in table:
                classes[table[record_id][0]] += n
        dataset["fasta"] = Choice([_rel(p, config_dir) for p in files])
        dataset["labels"] = Choice(_rel(labels, config_dir), "id -> label table")
        given = [split for _, split in table.values() if split]
    elif label_pattern is not None:
        found = [re.search(label_pattern, h) for h in shape.headers]
        classes = Counter(m.group(1) for m in found if m and m.groups())
        dataset["fasta"] = Choice([_rel(p, config_dir) for p in files])
        dataset["label_pattern"] = Choice(label_pattern, "as given")
    elif len(files) > 1:
        names, splits = file_labels(files)
        classes = Counter()
        for path, label in zip(files, names, strict=True):
            classes[label] += shape.per_file[str(path)]
        if len(classes) < 2:
            raise InputError(files[0], "the file names give one label; give --labels instead")
        sheet = sheet_dir / f"{name}_samples.tsv"
        rows = ["path\tlabel" + ("\tsplit" if any(splits) else "")]
        for path, label, split in zip(files, names, splits, strict=True):
            rows.append(
                f"{_rel(path, sheet.parent)}\t{label}" + (f"\t{split}" if any(splits) else "")
            )
        with atomic_path(sheet) as tmp:
            tmp.write_text("\n".join(rows) + "\n")
        dataset["samples"] = Choice(
            _rel(sheet, config_dir), "written by init: one file per class, label from its name"
        )
        given = [s for s in splits if s]
        findings.append(f"labels from the file names: {', '.join(sorted(set(names)))}")
    else:
        guess = header_label(shape.headers)
        if guess is None:
            raise InputError(
                files[0],
                "no label source found: headers carry no label; give --labels (an id -> label"
                " table), --label-pattern, --values, or one FASTA file per class",
            )
        pattern, what, classes = guess
        dataset["fasta"] = Choice([_rel(p, config_dir) for p in files])
        dataset["label_pattern"] = Choice(pattern, f"the label is {what}")
        findings.append(f"labels from {what}")
    dataset = {"task": dataset.pop("task", Choice(task)), "alphabet": Choice(alphabet)} | dataset
    if fmt != "fasta":
        dataset["format"] = Choice(fmt, "told by the files' extension" if told else "as given")
        if fmt in ANNOTATED:
            findings.append(
                f"{fmt} records: for a record per coding sequence add `features: {{type: CDS}}`"
                " (and `translate: {table: 11}` with alphabet protein for their proteins)"
            )
    if classes:
        total = sum(classes.values())
        shares = ", ".join(f"{c} {n:,} ({n / total:.0%})" for c, n in classes.most_common())
        findings.append(f"classes: {shares}")
    if letters["ambiguous"]:
        codes = ", ".join(f"{c} ({n:,})" for c, n in sorted(letters["ambiguous"].items()))
        dataset["ambiguous"] = Choice("encode", f"ambiguity codes seen: {codes}; soft one-hot")
    if letters["outside"]:
        dataset["invalid"] = Choice(
            "skip_record",
            f"a few letters outside the {alphabet} alphabet ({', '.join(letters['outside'])}):"
            " their records are dropped and listed in rejected.tsv",
        )
    repeated = shape.repeated_ids
    if shape.conflicts:  # the same id for different records: keep them all, renamed
        conflicts = shape.conflicts
        dataset["duplicate_ids"] = Choice(
            "rename",
            f"{len(repeated)} id(s) repeat, {len(conflicts)} of them for different records"
            f" (e.g. {conflicts[0]!r}): every repeat is kept as id~2, id~3, ..."
            + ("; the table's label for such an id labels all its records" if labels else ""),
        )
        findings.append(
            f"{len(repeated)} repeated id(s), {len(conflicts)} for different records: renamed"
        )
    elif repeated:
        dataset["duplicate_ids"] = Choice(
            "drop_identical",
            f"{len(repeated)} id(s) repeat (e.g. {repeated[0]!r}), each time the same record:"
            " the repeats are dropped",
        )
        findings.append(f"{len(repeated)} repeated id(s)")
    if not aligned and high > 4 * median and high > 1000:
        width = int(np.percentile(lengths, 99))
        dataset["max_length"] = Choice(width, f"the longest 1 % (up to {high}) are cut")
        dataset["trim"] = Choice("center", "keep the middle of a record longer than max_length")
    if given:
        kinds = sorted(set(given), key=SPLIT_NAMES.index)
        dataset["split"] = Choice(
            {"method": "given"},
            f"the inputs name their splits ({', '.join(kinds)})"
            + ("; validation drawn from train" if "val" not in kinds else ""),
        )
    else:
        dataset["split"] = Choice(
            {"method": "stratified" if classes else "random", "val": 0.1, "test": 0.2},
            "70/10/20, identical sequences kept in one split",
        )
    models = sequence_models(task, alphabet, shape.records, aligned, median)
    why = (
        "aligned windows: position matters, flatten keeps it"
        if aligned
        else ("lengths vary: position-free pooling (max, mean+max, attention)")
    )
    findings.append(f"models: {', '.join(models)} ({why})")
    return dataset, models, findings


def sequence_models(task: str, alphabet: str, records: int, aligned: bool, length: int) -> dict:
    """The models to compare: every neural family, sized for the data, and the baseline."""
    size = 32 if records < 2000 else 64
    head = {"pool": "flatten"} if aligned else {}
    recurrent = {"hidden": size, "bidirectional": True, **head, "head_dropout": 0.4}
    # The plain rnn's flatten head max-pools windows of 3 first (fewer head weights). lstm and
    # gru read the letters through their default conv stem, which already pools by 3; pooling
    # again raised the validation loss (init's configs, seed 0: splice lstm 0.163 -> 0.223,
    # gru 0.106 -> 0.141; CNNProm lstm 0.222 -> 0.230, gru 0.210 -> 0.215).
    plain = {"pool_size": 3} if aligned else {}
    models = {
        "rnn": {"type": "rnn", **recurrent, **plain},
        "lstm": {"type": "lstm", **recurrent},
        "gru": {"type": "gru", **recurrent},
        "transformer": {"type": "transformer", "dim": max(32, size // 2), "heads": 4,
                        "layers": 2, **head, "head_dropout": 0.2},
        "cnn": {"type": "cnn", "channels": size, "kernel_size": 9, "layers": 2, "dropout": 0.2,
                **({"pool": "flatten", "pool_size": 5} if aligned else {"pool": "max"}),
                "head_dropout": 0.2},
    }  # fmt: skip
    if length > 2000:  # long records: the recurrent models' cost grows with length
        models.pop("rnn")
    if task == "regression":
        models["kmer_ridge"] = {"type": "kmer_ridge", "k": 3}
    elif task in ("classification", "multilabel"):
        k = 2 if alphabet == "protein" else 3
        models["kmer_logreg"] = {"type": "kmer_logreg", "k": k, "positional": aligned}
    return models


def matrix_config(
    matrix: Path,
    *,
    config_dir: Path,
    sample_table: Path | None = None,
    series_length: int | None = None,
    gold_standard: Path | None = None,
) -> tuple[dict[str, Choice], dict, list[str]]:
    """(dataset keys with reasons, models, findings) for an expression matrix."""
    from genoflow.io.expression import ingest_matrix

    if (sample_table is None) == (series_length is None):
        raise InputError(matrix, "give a sample table (--sample-table) or --series-length")
    tried, summary = [], None
    for orientation in ("samples_x_genes", "genes_x_samples"):
        with tempfile.TemporaryDirectory() as scratch:
            try:
                summary = ingest_matrix(
                    matrix, scratch, orientation=orientation, samples=sample_table,
                    series_length=series_length, missing="gene_mean",
                )  # fmt: skip
                break
            except InputError as error:
                tried.append(error)
    if summary is None:
        raise tried[0]
    lengths = list(summary["series_lengths"].values())
    shortest = min(lengths)
    window = min(5, max(2, shortest // 4))
    horizon = min(3, max(1, (shortest - window) // 4))
    low, high = summary["value_range"]
    counts = low >= 0 and high > 100
    dataset: dict[str, Choice] = {
        "task": Choice("forecasting"),
        "matrix": Choice(_rel(matrix, config_dir)),
        "orientation": Choice(summary["orientation"], "the orientation whose ids fit"),
    }
    if sample_table is not None:
        dataset["sample_table"] = Choice(_rel(sample_table, config_dir))
    else:
        dataset["series_length"] = Choice(series_length, "stacked trajectories")
    if summary["missing"]["imputed"]:
        dataset["missing"] = Choice("gene_mean", f"{summary['missing']['imputed']} empty cells")
    if gold_standard is not None:
        dataset["gold_standard"] = Choice(_rel(gold_standard, config_dir), "scores the network")
    dataset["forecast"] = Choice(
        {"input": window, "horizon": horizon, "target": "delta", "multistep": "recursive"},
        f"the shortest series has {shortest} time points",
    )
    dataset["transform"] = Choice(
        {"log1p": counts, "zscore": True},
        "values look like counts: log1p first" if counts else "z-scored per gene on train",
    )
    dataset["split"] = Choice(
        {"method": "series", "val": None, "test": None},
        "whole series: the last one for test, the one before for validation",
    )
    windows = sum(max(0, n - window - horizon + 1) for n in lengths)
    dataset["train"] = Choice(
        {"batch_size": 16, "max_epochs": 300, "patience": 25, "weight_decay": 0.05}
        if windows < 500
        else {"batch_size": 64},
        f"about {windows} windows",
    )
    size = 32 if summary["genes"] <= 50 else 64
    models = {
        name: {"type": name, "hidden": size, "bidirectional": False, "pool": "flatten"}
        for name in ("rnn", "lstm", "gru")
    } | {
        "transformer": {"type": "transformer", "dim": 32, "heads": 4, "layers": 1},
        "persistence": {"type": "persistence"},
        "ridge_ar": {"type": "ridge_ar"},
    }
    findings = [
        f"{summary['samples']} samples x {summary['genes']} genes in {summary['series']} series"
        f" of {min(lengths)}-{max(lengths)} time points; values {low:.3g} to {high:.3g}",
        f"forecast: read {window} time points, predict {horizon}",
        f"models: {', '.join(models)}",
    ]
    return dataset, models, findings


def init(
    out: str | Path,
    *,
    fasta: list[str | Path] = (),
    labels: str | Path | None = None,
    label_pattern: str | None = None,
    values: str | Path | None = None,
    matrix: str | Path | None = None,
    sample_table: str | Path | None = None,
    series_length: int | None = None,
    gold_standard: str | Path | None = None,
    name: str | None = None,
    force: bool = False,
    fmt: str | None = None,
) -> list[str]:
    """Inspect the files, write the config to `out`, return the findings."""
    out = Path(out)
    if out.exists() and not force:
        raise InputError(out, "exists; give --force to replace it, or another --out")
    # Snakemake reads the config's paths from the folder it runs in: the one init runs in.
    config_dir = Path.cwd()
    if bool(fasta) == bool(matrix):
        raise InputError(None, "give sequence files, or --matrix (an expression matrix)")
    name = name or _name([Path(matrix)] if matrix else [Path(p) for p in fasta])
    if matrix:
        dataset, models, findings = matrix_config(
            Path(matrix), config_dir=config_dir,
            sample_table=Path(sample_table) if sample_table else None,
            series_length=series_length,
            gold_standard=Path(gold_standard) if gold_standard else None,
        )  # fmt: skip
    else:
        dataset, models, findings = sequence_config(
            [Path(p) for p in fasta], name, config_dir=config_dir, sheet_dir=out.parent,
            labels=Path(labels) if labels else None, label_pattern=label_pattern,
            values=Path(values) if values else None, fmt=fmt,
        )  # fmt: skip
    text = render(
        name, dataset, models, findings, [str(matrix)] if matrix else list(map(str, fasta))
    )
    import yaml

    from genoflow.config import config_errors

    schema = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"
    if schema.is_file():  # (a checkout: check what was written against the workflow's schema)
        problems = config_errors(yaml.safe_load(text), schema)
        if problems:
            raise AssertionError(f"init wrote an invalid config: {problems}")
    with atomic_path(out) as tmp:
        tmp.write_text(text)
    return findings


# Classifiers train on smoothed targets and are ranked after temperature scaling (an
# under-confident model's raw loss would penalise it for a scale one division undoes). Both
# chosen on validation on the benchmark suite: smoothing lowered the calibrated validation loss
# of every family on splice and raised the selected model's validation accuracy on AMP and
# CNNProm (README: Results on the demo, the benchmarks); then checked on data nothing was chosen
# on (README: Data no config was chosen on).
CLASSIFIER_RECIPE = [
    "  label_smoothing: 0.1  # smoothed targets (README: Results on the demo)",
    "evaluate:",
    "  select_by: calibrated_val_loss  # rank by the validation loss after temperature scaling",
]


def render(name: str, dataset: dict[str, Choice], models: dict, findings: list[str], inputs) -> str:
    """The config as commented YAML: what was found on top, each choice's reason beside it."""
    import yaml

    def value(v) -> str:
        text = yaml.safe_dump(v, default_flow_style=True, width=1000, sort_keys=False)
        return text.strip().removesuffix("...").strip()

    lines = [
        f"# genoflow config written by `genoflow init` from {', '.join(inputs)}.",
        "# What it found:",
        *(f"#   {line}" for line in findings),
        "# Run it:  snakemake --cores 4 --configfile THIS_FILE   (or: make run CONFIG=THIS_FILE)",
        "# Every key is described, with its default, in workflow/schemas/config.schema.yaml.",
        "datasets:",
        f"  {name}:",
    ]
    for key, choice in dataset.items():
        comment = f"  # {choice.why}" if choice.why else ""
        lines.append(f"    {key}: {value(choice.value)}{comment}")
    lines.append("models:  # every model trains on the dataset; compare them in the report")
    for model, spec in models.items():
        lines.append(f"  {model}: {value(spec)}")
    lines += [
        "seeds: [0]  # more seeds (e.g. [0, 1, 2]) give mean ± sd per model",
        "train:",
        "  max_epochs: 40",
        "  patience: 8  # early stopping on the validation loss",
    ]
    if dataset["task"].value == "classification":
        lines += CLASSIFIER_RECIPE
    return "\n".join(lines) + "\n"


def _name(files: list[Path]) -> str:
    """A dataset name: what the files' names share (Ecoli_prom.fa, Ecoli_non_prom.fa: ecoli),
    else their folder's name, else the one file's name."""
    stems = []
    known = rf"\.(gz|fa|fasta|fna|faa|fas|tsv|csv|txt|parquet|{SEQ_SUFFIXES})$"
    for path in files:
        stem = path.name.lower()
        while (cut := re.sub(known, "", stem)) != stem:
            stem = cut
        stems.append([w for w in re.split(r"[^a-z0-9]+", stem) if w and w not in SPLIT_WORDS])
    shared = []
    for words in zip(*stems, strict=False):
        if len(set(words)) > 1:
            break
        shared.append(words[0])
    if len(files) == 1:
        shared = stems[0]
    elif not shared:
        shared = [w for w in re.split(r"[^a-z0-9]+", files[0].resolve().parent.name.lower()) if w]
    name = "_".join(shared) or "data"
    return name if name[0].isalpha() else f"d_{name}"


def _rel(path: Path, base: Path) -> str:
    """`path` as the config should name it: relative to the config's folder when inside it."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(base.resolve()))
    except ValueError:
        return str(path)
