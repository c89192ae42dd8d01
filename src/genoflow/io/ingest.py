"""Ingest: FASTA files + labels -> one validated, normalised table and an ingest summary.

Inputs: FASTA files (or files in another format Biopython reads: GenBank, EMBL, FASTQ, ...,
with a record per annotated feature and translation on request), BED regions of a reference,
or CSV files of residues with one label per residue (token classification, e.g. secondary
structure).

Outputs (in `out_dir`):
  sequences.tsv   id, label, split, source, sequence (upper case, one record per line); with
                  per-residue labels the label field holds one label per residue, separated by
                  spaces, `.` for a residue without a label (masked)
  rejected.tsv    records left out under a lenient policy, with the reason
  summary.json    counts, classes, lengths, letters, duplicates, inputs with sha256
"""

from __future__ import annotations

import contextlib
import json
import operator
import re
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from genoflow import kernels
from genoflow.alphabets import get_alphabet
from genoflow.errors import InputError, check_choice, listing
from genoflow.formats.files import atomic_path, sha256sum
from genoflow.io.duplicates import drop_repeats, rename_repeats, repeated_ids
from genoflow.io.fasta import FastaBatch
from genoflow.io.records import Records
from genoflow.io.sources import FastaInput, RegionInput, ResidueCsvInput, SeqioInput, batched
from genoflow.io.tables import read_label_table, read_values_table
from genoflow.progress import Progress

AMBIGUOUS_POLICIES = ("encode", "skip_record", "error")
INVALID_POLICIES = ("error", "skip_record")
DUPLICATE_POLICIES = ("error", "drop_identical", "rename")


def ingest(
    inputs: list[FastaInput | SeqioInput | RegionInput | ResidueCsvInput],
    out_dir: str | Path,
    *,
    alphabet: str,
    label_pattern: str | None = None,
    label_table: str | Path | None = None,
    values_table: str | Path | None = None,
    ambiguous: str = "encode",
    invalid: str = "error",
    duplicate_ids: str = "error",
    labelled: bool = True,
    multilabel: bool = False,
    threads: int = 1,
) -> dict:
    """Validate and normalise all records; write the table and summary; return the summary.

    Labels come from the inputs' sample-sheet label, a header pattern or a label table
    (classification), from a values table of real-valued targets (regression; with
    `multilabel`, 0/1 columns, one per label), or per residue from CSV inputs. The table
    written has one label column per target (or `label`) between `id` and `split`. With
    `labelled` False the records need no label (the label column stays empty): for tiling with
    next-base labels, which come from the sequence itself.

    Memory is bounded by a batch of records (or one record longer than a batch), plus 33 bytes
    per record kept: a 64-bit hash of its id, its header line, its length, where its row starts
    in the table and two flags. Repeated ids are found at the end from the hashes; only rows
    whose id hash repeats are read back to compare their ids and contents, so a hash collision
    alone is never reported. Rows dropped as identical repeats are then left out of the table
    in one more streaming pass. (A label or values table is held in memory, as read.)

    With `threads` > 1, the input files' checksums are taken on a thread of their own while
    the records are read, and letters are counted on `threads` threads.
    """
    if threads < 1:
        raise InputError(None, f"threads={threads}: at least 1, please")
    check_choice("ambiguous", ambiguous, AMBIGUOUS_POLICIES)
    check_choice("invalid", invalid, INVALID_POLICIES)
    check_choice("duplicate_ids", duplicate_ids, DUPLICATE_POLICIES)
    alpha = get_alphabet(alphabet)
    pattern = re.compile(label_pattern) if label_pattern else None
    if pattern is not None and pattern.groups < 1:
        raise InputError(None, f"label pattern {label_pattern!r} needs one capture group")
    table = read_label_table(label_table) if label_table else None
    targets = None
    if values_table:
        targets, table = read_values_table(values_table, binary=multilabel)
        label_table = values_table
    elif multilabel:
        raise InputError(None, "multilabel needs a values table of 0/1 columns, one per label")
    residues = [isinstance(source, ResidueCsvInput) for source in inputs]
    if any(residues) and not all(residues):
        raise InputError(None, "CSV inputs with per-residue labels cannot mix with FASTA or BED")
    per_residue = bool(inputs) and all(residues)
    label_columns = targets or ["label"]
    out_dir = Path(out_dir)
    inputs = list(inputs)
    matched: set[str] = set()  # label table ids that a record used
    unlabelled: list[tuple] = []  # (file, line, id, header) of records without a label

    with contextlib.ExitStack() as stack:  # moved into place in reverse: summary.json last
        checksum = _checksums(inputs, threads > 1, stack)
        stack.enter_context(kernels.threads(threads))
        summary_tmp = stack.enter_context(atomic_path(out_dir / "summary.json"))
        rejected_tmp = stack.enter_context(atomic_path(out_dir / "rejected.tsv"))
        table_tmp = stack.enter_context(atomic_path(out_dir / "sequences.tsv"))
        with open(table_tmp, "wb") as out, open(rejected_tmp, "w", newline="") as rejected:
            out.write("\t".join(["id", *label_columns, "split", "source", "sequence"]).encode())
            out.write(b"\n")
            counting = "residues" if per_residue else "records"
            kept = Records(
                alpha,
                ambiguous,
                invalid,
                out,
                rejected,
                counting if labelled and targets is None else None,
            )
            progress = Progress("read", total_bytes=_plain_fasta_bytes(inputs))
            for number, source in enumerate(inputs):
                kept.start_file(number, source)
                batches = source.batches() if isinstance(source, FastaInput) else batched(source)
                # A source yields the records before a bad one, then raises: a problem in an
                # earlier record (found by add_batch) comes first.
                for batch, own_labels, own_splits in batches:
                    if alphabet == "protein" and not per_residue:
                        batch = _without_stop_marks(batch)
                    if labelled:
                        labels, splits, without = _labels_of(
                            batch, source, own_labels, own_splits, pattern, table, matched
                        )
                        unlabelled += without
                        if unlabelled:  # the run fails: read on only to name them all
                            continue
                    else:
                        labels, splits = [""] * len(batch), own_splits
                    kept.add_batch(batch, labels, splits)
                    progress.add(len(batch), len(batch.sequences))
            progress.close()
        unmatched = sorted(table.keys() - matched) if table is not None else []
        if unlabelled or unmatched:
            raise _label_problems(unlabelled, unmatched, label_table, pattern)
        repeats = repeated_ids(kept, inputs, table_tmp, duplicate_ids)
        if not kept.lengths:
            raise InputError(inputs[0].path, "no usable records (all were rejected)")
        renamed = []
        if len(repeats[0]) and duplicate_ids == "rename":
            renamed = rename_repeats(kept, inputs, table_tmp, *repeats)
            repeats = (repeats[0][:0], repeats[1][:0])  # renamed records are all kept
        elif len(repeats[0]):
            drop_repeats(kept, inputs, table_tmp, rejected_tmp, *repeats)
        summary = kept.summary(repeats[0], targets, inputs, checksum)
        if duplicate_ids == "rename":
            summary["duplicate_ids_renamed"] = renamed
        if not labelled:
            summary["task"] = "unlabelled"
        elif per_residue:
            summary["task"] = "token_classification"
        elif multilabel:
            summary["task"] = "multilabel"
        summary["label_source"] = _label_source(inputs, label_pattern, label_table, labelled)
        summary_tmp.write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _plain_fasta_bytes(inputs) -> int | None:
    """The size of the inputs when they are all uncompressed FASTA files (their letters are
    then nearly all of it: progress by letters read gives a fair per cent and ETA); else
    None (progress without a total)."""
    total = 0
    for source in inputs:
        if not isinstance(source, FastaInput) or not source.path.is_file():
            return None
        with open(source.path, "rb") as handle:
            if handle.read(2) == b"\x1f\x8b":  # gzip
                return None
        total += source.path.stat().st_size
    return total


def _without_stop_marks(batch: FastaBatch) -> FastaBatch:
    """Protein records lose a final '*' (a stop codon mark, not a residue)."""
    ends = batch.ends
    data = np.frombuffer(batch.sequences, dtype=np.uint8)
    marked = ends > batch.starts
    marked[marked] = data[ends[marked] - 1] == ord("*")
    if not marked.any():
        return batch
    keep = np.ones(len(data), dtype=bool)
    keep[ends[marked] - 1] = False
    return FastaBatch(
        batch.ids,
        batch.descriptions,
        batch.lines,
        data[keep].tobytes(),
        ends - np.cumsum(marked),
    )


_GROUP_1 = operator.itemgetter(1)


def _labels_of(
    batch: FastaBatch, source, own_labels: list, own_splits: list, pattern, table, matched
) -> tuple[list, list, list[tuple]]:
    """(labels, splits, without) of a batch's records: from the label table, the header
    pattern, or the input's own label (a sample sheet's, a BED column's); the input's own split
    (a sample sheet's, a chromosome's) comes before a table's. `without` lists (file, line, id,
    header) of the records that have no label (labels and splits are then not to be used: the
    run fails, naming all of them)."""
    ids = batch.ids
    if table is not None:
        entries = list(map(table.get, ids))
        labels = [entry[0] if entry else None for entry in entries]
        splits = [
            own or (entry[1] if entry else None)
            for own, entry in zip(own_splits, entries, strict=True)
        ]
        matched.update(record_id for record_id, entry in zip(ids, entries, strict=True) if entry)
    elif pattern is not None:
        matches = list(map(pattern.search, batch.descriptions))
        try:
            labels = list(map(_GROUP_1, matches))  # (C loops: no Python code per record)
        except TypeError:  # a header that does not match
            labels = [m[1] if m else None for m in matches]
        splits = own_splits
    else:
        if None in own_labels:
            raise InputError(source.path, "no label source: give a sample sheet, pattern or table")
        return own_labels, own_splits, []
    if None not in labels and "" not in labels:
        return labels, splits, []
    lines = batch.lines.tolist()
    headers = batch.descriptions
    without = [
        (source.path, lines[k], ids[k], headers[k]) for k, label in enumerate(labels) if not label
    ]
    return labels, splits, without


def _label_problems(unlabelled: list, unmatched: list[str], label_table, pattern) -> InputError:
    """One error naming every record without a label and every label-table id that matches no
    record (the first of each listed, then a count); a single record keeps the one-line form
    `file:line: record 'id': problem`."""
    problem = (
        f"header does not match label pattern {pattern.pattern!r}"
        if pattern is not None
        else "no label for this record in the label table"
    )
    if len(unlabelled) == 1 and not unmatched:
        path, line, record_id, header = unlabelled[0]
        if pattern is not None:
            problem = f"header {header!r} does not match label pattern {pattern.pattern!r}"
        return InputError(path, problem, line=line, record=record_id)
    parts = []
    if unlabelled:
        where = [f"{path}:{line}: record {record_id!r}" for path, line, record_id, _ in unlabelled]
        parts.append(f"{len(unlabelled)} record(s) without a label ({problem}):\n{listing(where)}")
    if unmatched:
        ids = listing(list(map(repr, unmatched)))
        parts.append(f"{len(unmatched)} label id(s) match no FASTA record:\n{ids}")
    return InputError(label_table, "\n".join(parts))


def _checksums(inputs, background: bool, stack: contextlib.ExitStack) -> Callable[[Path], str]:
    """sha256sum of the input files (and references), by path. With `background`, they are all
    taken on a thread of their own from now on, while the records are read (hashlib releases
    the GIL): ~0.7 s per GB off the critical path. If ingest fails, `stack` stops that thread
    at its next MiB."""
    if not background:
        return sha256sum
    from concurrent.futures import ThreadPoolExecutor  # (~15 ms of imports: only when used)

    paths = [source.path for source in inputs]
    paths += [source.reference for source in inputs if isinstance(source, RegionInput)]
    stop = threading.Event()
    pool = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="genoflow-sha256"))
    stack.callback(stop.set)  # (before the pool's exit waits for the thread)
    taken = {path: pool.submit(sha256sum, path, stop=stop) for path in dict.fromkeys(paths)}
    return lambda path: taken[path].result()


def _label_source(inputs, label_pattern, label_table, labelled: bool = True) -> dict:
    if not labelled:
        return {"none": "labels come from the sequences (next_base)"}
    if label_table:
        return {"table": str(label_table), "sha256": sha256sum(label_table)}
    if label_pattern:
        return {"header_pattern": label_pattern}
    qualifier = getattr(inputs[0], "label_qualifier", None)
    if qualifier is not None:
        return {"feature_qualifier": qualifier}
    if isinstance(inputs[0], ResidueCsvInput):
        return {"csv_column": inputs[0].label_column, "mask_columns": list(inputs[0].mask_columns)}
    return {"sample_sheet": "per-file labels"}
