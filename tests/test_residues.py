"""Per-residue labels (token classification: CSV input, preprocess, models, baseline, metrics)
and multilabel heads, on real protein excerpts (tests/data/*_excerpt.csv)."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import DATA, write_motif_count_data

from genoflow.alphabets import get_alphabet
from genoflow.errors import InputError
from genoflow.evaluate.baselines import train_kmer_baseline, train_window_baseline
from genoflow.evaluate.features import window_features
from genoflow.evaluate.metrics import evaluate
from genoflow.formats.predictions import VAL_PREDICTIONS, read_predictions
from genoflow.io.fasta import read_fasta
from genoflow.io.ingest import ingest
from genoflow.io.sources import FastaInput, ResidueCsvInput
from genoflow.preprocess.sequences import preprocess
from genoflow.registry import NEURAL_TYPES, NO_LABEL
from genoflow.selection import cross_entropy
from genoflow.tasks.modules import TokenClassifier
from genoflow.tasks.train import TrainConfig, train

TS115 = DATA / "TS115_excerpt.csv"  # 24 proteins, 7,397 residues
CB513 = DATA / "CB513_excerpt.csv"  # 12 proteins, 4,081 residues
MASKS = ("disorder", "cb513_mask")
FAST = TrainConfig(max_epochs=2, batch_size=8, patience=2)


def csv_rows(path: Path) -> list[list[str]]:
    with open(path, newline="") as handle:
        return list(csv.reader(handle, skipinitialspace=True))


def expected_labels(path: Path) -> list[list[str]]:
    """Per protein, its dssp3 labels with masked residues as '.' (read independently)."""
    rows = csv_rows(path)
    out = []
    for row in rows[1:]:
        labels, disorder, cb513 = row[1].split(), row[3].split(), row[4].split()
        out.append(
            [
                label if float(d) == 1 and float(m) == 1 else "."
                for label, d, m in zip(labels, disorder, cb513, strict=True)
            ]
        )
    return out


@pytest.fixture(scope="module")
def structure(tmp_path_factory) -> Path:
    """TS115 excerpt as train (val drawn from it), CB513 excerpt as test: ingested and
    preprocessed."""
    root = tmp_path_factory.mktemp("structure")
    inputs = [
        ResidueCsvInput(TS115, "train", mask_columns=MASKS),
        ResidueCsvInput(CB513, "test", mask_columns=MASKS),
    ]
    ingest(inputs, root / "ingest", alphabet="protein")
    preprocess(root / "ingest", root / "data", split="given", seed=1)
    return root


def test_csv_rows_become_records_with_a_label_per_residue(structure):
    summary = json.loads((structure / "ingest" / "summary.json").read_text())
    assert summary["task"] == "token_classification" and summary["records"] == 36
    expected = expected_labels(TS115) + expected_labels(CB513)
    counts = pd.Series([label for protein in expected for label in protein]).value_counts()
    assert summary["classes"] == {c: int(counts[c]) for c in ("C", "E", "H")}
    table = pd.read_csv(structure / "ingest" / "sequences.tsv", sep="\t", keep_default_na=False)
    assert list(table["id"][:2]) == ["TS115_excerpt|0", "TS115_excerpt|1"]
    assert list(table["id"][24:26]) == ["CB513_excerpt|0", "CB513_excerpt|1"]
    assert [row.split() for row in table["label"]] == expected
    # the residues are those of the FASTA the CSV came with (its first records)
    fasta = [r.sequence.decode() for r in read_fasta(DATA / "CB513_excerpt.fa")]
    assert list(table["sequence"][24 : 24 + len(fasta)]) == fasta


def test_residue_labels_are_padded_and_masked_with_no_label(structure):
    data = structure / "data"
    meta = json.loads((data / "meta.json").read_text())
    assert meta["task"] == "token_classification" and meta["classes"] == ["C", "E", "H"]
    residues, lengths = np.load(data / "residue_labels.npy"), np.load(data / "lengths.npy")
    tokens = np.load(data / "tokens.npy")
    assert residues.shape == tokens.shape
    expected = expected_labels(TS115) + expected_labels(CB513)
    code = {"C": 0, "E": 1, "H": 2, ".": NO_LABEL}
    for row, labels in enumerate(expected):
        assert lengths[row] == len(labels)
        assert residues[row, : len(labels)].tolist() == [code[x] for x in labels]
        assert (residues[row, len(labels) :] == NO_LABEL).all()
    split = np.load(data / "split.npy")
    assert (split[24:] == 2).all() and set(split[:24]) == {0, 1}  # test given; val drawn
    test_sizes = meta["split_sizes"]["test"]
    assert sum(test_sizes.values()) == int((residues[24:] != NO_LABEL).sum())


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda r: r.__setitem__(1, r[1] + " H"), "residues but 1"),
        (lambda r: r.__setitem__(3, r[3].rsplit(" ", 1)[0]), "in column 'disorder'"),
        (lambda r: r.__setitem__(4, r[4].replace("1.0", "0.5", 1)), "expected 0 or 1"),
        (lambda r: r.__setitem__(1, ". " + r[1].split(" ", 1)[1]), "reserved for masked"),
        (lambda r: r.pop(), "4 fields but 5 columns"),
    ],
)
def test_broken_csv_rows_name_file_line_and_record(tmp_path, edit, problem):
    """A label count that differs from the residue count (and other broken rows) fails,
    naming the file, the line and the record."""
    rows = csv_rows(TS115)[:5]
    edit(rows[3])  # the third protein, on line 4
    path = tmp_path / "broken.csv"
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    with pytest.raises(InputError) as error:
        ingest([ResidueCsvInput(path, mask_columns=MASKS)], tmp_path / "out", alphabet="protein")
    message = str(error.value)
    if "residues but 1" in problem:
        residues = len(rows[3][0].split())
        problem = f"{residues} residues but {residues + 1} tokens in column 'dssp3'"
    assert f"{path}:4" in message and "broken|2" in message and problem in message
    assert not (tmp_path / "out" / "summary.json").exists()


def test_missing_column_and_mixed_inputs_are_refused(tmp_path):
    with pytest.raises(InputError, match=r"missing column\(s\) \['dssp9'\]"):
        ingest([ResidueCsvInput(TS115, label_column="dssp9")], tmp_path, alphabet="protein")
    fasta = FastaInput(DATA / "CB513_excerpt.fa", "x")
    with pytest.raises(InputError, match="cannot mix"):
        ingest([ResidueCsvInput(TS115), fasta], tmp_path, alphabet="protein")


def test_trimming_cuts_labels_with_their_residues(structure, tmp_path):
    preprocess(structure / "ingest", tmp_path, split="given", max_length=50, trim="center")
    residues, tokens = np.load(tmp_path / "residue_labels.npy"), np.load(tmp_path / "tokens.npy")
    table = pd.read_csv(structure / "ingest" / "sequences.tsv", sep="\t", keep_default_na=False)
    labels, sequence = table["label"][0].split(), table["sequence"][0]
    start = (len(sequence) - 50) // 2
    code = {"C": 0, "E": 1, "H": 2, ".": NO_LABEL}
    assert residues[0].tolist() == [code[x] for x in labels[start : start + 50]]
    lookup = get_alphabet("protein").encode_table()
    assert (
        tokens[0].tolist()
        == lookup[np.frombuffer(sequence[start : start + 50].encode(), np.uint8)].tolist()
    )
    with pytest.raises(InputError, match="cannot be tiled"):
        preprocess(structure / "ingest", tmp_path / "tiled", split="given", tile_width=20)


@pytest.mark.parametrize("model_type", NEURAL_TYPES)
def test_per_residue_scores_do_not_depend_on_padding(model_type):
    """Each residue's class scores are the same alone and in a batch with a longer protein."""
    from test_models import SMALL

    torch.manual_seed(0)
    module = TokenClassifier(model_type, SMALL[model_type], "protein", ["C", "E", "H"]).eval()
    short = torch.randint(1, 21, (1, 17), dtype=torch.uint8)
    batch = torch.zeros((2, 41), dtype=torch.uint8)
    batch[0, :17], batch[1] = short, torch.randint(1, 21, (41,), dtype=torch.uint8)
    with torch.no_grad():
        alone = module({"tokens": short, "lengths": torch.tensor([17])})
        together = module({"tokens": batch, "lengths": torch.tensor([17, 41])})
    assert alone.shape == (1, 17, 3) and together.shape == (2, 41, 3)
    torch.testing.assert_close(together[:1, :17], alone, atol=1e-5, rtol=1e-4)


def test_pooling_is_refused_for_per_residue_labels():
    with pytest.raises(ValueError, match="keep every position"):
        TokenClassifier("gru", {"hidden": 4, "pool": "meanmax"}, "protein", ["C", "E", "H"])


def train_bigru(structure: Path, out: Path, config: TrainConfig = FAST) -> dict:
    """A small per-residue GRU on the structure data, seed 0, one thread."""
    return train(
        structure / "data",
        out,
        model_name="bigru",
        model_type="gru",
        model_args={"hidden": 8},
        train_config=config,
        seed=0,
        threads=1,
    )


def test_token_classifier_trains_and_writes_a_row_per_test_residue(structure, tmp_path):
    info = train_bigru(structure, tmp_path)
    assert info["epochs"] == 2
    predictions = pd.read_csv(tmp_path / "predictions.tsv", sep="\t", keep_default_na=False)
    assert list(predictions.columns) == [
        "id",
        "position",
        "label",
        "predicted",
        "prob_C",
        "prob_E",
        "prob_H",
    ]
    expected = expected_labels(CB513)
    assert len(predictions) == sum(map(len, expected))  # every residue, labelled or not
    first = predictions[predictions["id"] == "CB513_excerpt|0"]
    assert list(first["position"]) == list(range(1, len(expected[0]) + 1))
    assert [x or "." for x in first["label"]] == expected[0]
    probs = predictions[["prob_C", "prob_E", "prob_H"]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=2e-3)
    metrics = evaluate(tmp_path / "predictions.tsv", tmp_path / "metrics.json", n_boot=20)
    assert metrics["task"] == "token_classification"
    assert metrics["n_unlabelled_residues"] == sum(x.count(".") for x in expected)
    # the validation residues too, for the ensemble row and calibrated selection to score
    val = pd.read_csv(tmp_path / "val_predictions.tsv", sep="\t", keep_default_na=False)
    assert list(val.columns) == list(predictions.columns)
    assert (val["label"] != "").sum() > 0 and not val["id"].str.startswith("CB513").any()


def test_per_residue_models_can_keep_the_epoch_of_the_best_residue_mcc(structure, tmp_path):
    """monitor val_mcc on a per-residue task: Matthews' correlation over every labelled
    validation residue (padding and masked residues left out), as sklearn computes it from the
    kept model's predictions of the validation split."""
    from sklearn.metrics import matthews_corrcoef

    from genoflow.data import TokenDataModule
    from genoflow.tasks.train import load_model, predict_outputs

    config = TrainConfig(max_epochs=2, batch_size=8, patience=2, monitor="val_mcc")
    info = train_bigru(structure, tmp_path, config)
    module, _ = load_model(tmp_path / "model.ckpt")
    data = TokenDataModule(structure / "data", batch_size=8)
    outputs = predict_outputs(module, data.loader("val", shard=False))
    labels = data.arrays["residue_labels"][outputs["index"], outputs["position"]]
    labelled = labels != NO_LABEL
    assert 0 < labelled.sum() < len(labels)  # masked residues are there, and left out
    predicted = outputs["values"].argmax(axis=1)
    expected = matthews_corrcoef(labels[labelled], predicted[labelled])
    assert info["best_val_mcc"] == pytest.approx(expected, abs=1e-4)


def assert_cnn_refused(data_dir: Path, out_dir: Path, config: TrainConfig, problem: str, **args):
    """Training a small cnn with `config` stops with `problem`, before anything is written."""
    with pytest.raises(InputError, match=problem):
        train(
            data_dir,
            out_dir,
            model_name="cnn",
            model_type="cnn",
            model_args={"channels": 4, **args},
            train_config=config,
        )
    assert not (out_dir / "history.csv").exists()


def test_whole_split_metrics_are_for_classifiers_only(multilabel, tmp_path):
    config = TrainConfig(max_epochs=1, monitor="val_auroc")
    assert_cnn_refused(
        multilabel / "data", tmp_path, config, "val_auroc needs a classification task"
    )


@pytest.mark.parametrize("model_type", ["gru", "window_logreg"])
def test_predict_scores_new_proteins_residue_by_residue(structure, tmp_path, model_type):
    """The CB513 excerpt as FASTA scores exactly as the test split did, a row per residue; a
    protein longer than any seen in training is scored too; a bad letter is one status row."""
    from genoflow.predict import predict_fasta

    run = tmp_path / "run"
    if model_type == "gru":
        train(
            structure / "data",
            run,
            model_name="bigru",
            model_type="gru",
            model_args={"hidden": 8},
            train_config=FAST,
            seed=0,
            threads=1,
        )
    else:
        train_window_baseline(structure / "data", run, model_name="window_logreg", window=3)
    fasta = (DATA / "CB513_excerpt.fa").read_text()
    (tmp_path / "new.fa").write_text(fasta + ">long\n" + "ACDEFGHIKL" * 150 + "\n>odd\nAC1D\n")
    counts = predict_fasta(run / "model.ckpt", [tmp_path / "new.fa"], tmp_path / "out.tsv")
    scored = pd.read_csv(tmp_path / "out.tsv", sep="\t", keep_default_na=False)
    expected = pd.read_csv(run / "predictions.tsv", sep="\t", keep_default_na=False)
    known = scored[scored["id"].str.startswith("CB513|")]
    assert len(known) == len(expected) == 4081
    assert list(known["id"].str.removeprefix("CB513|")) == list(
        expected["id"].str.removeprefix("CB513_excerpt|")
    )
    assert list(known["position"]) == [str(p) for p in expected["position"]]
    assert list(known["predicted"]) == list(expected["predicted"])
    columns = ["prob_C", "prob_E", "prob_H"]
    np.testing.assert_allclose(known[columns].to_numpy(float), expected[columns], atol=2e-3)
    assert (scored["id"] == "long").sum() == 1500  # wider than the 1,111 of training
    odd = scored[scored["id"] == "odd"]
    assert len(odd) == 1 and odd["status"].iloc[0].startswith("character '1' at position 3")
    assert counts == {"ok": 13, "character": 1}  # per record


def test_window_features_one_hot_each_neighbour():
    """Residue i of a 3-residue protein with window 1 sees i-1, i, i+1 ('beyond' at the ends)."""
    tokens = np.array([[1, 2, 3, 0], [4, 0, 0, 0]], dtype=np.uint8)  # A C D / E
    x, rows, positions = window_features(tokens, np.array([3, 1]), letters=20, window=1)
    assert rows.tolist() == [0, 0, 0, 1] and positions.tolist() == [0, 1, 2, 0]
    dense = x.toarray()
    assert dense.shape == (4, 3 * 21) and (dense.sum(axis=1) == 3).all()
    beyond = 20
    assert np.flatnonzero(dense[0]).tolist() == [beyond, 21 + 0, 42 + 1]  # |A|C
    assert np.flatnonzero(dense[2]).tolist() == [1, 21 + 2, 42 + beyond]  # C|D|
    assert np.flatnonzero(dense[3]).tolist() == [beyond, 21 + 3, 42 + beyond]  # |E|


def test_window_baseline_beats_the_majority_class(structure, tmp_path):
    train_window_baseline(structure / "data", tmp_path, model_name="window_logreg", window=5)
    metrics = evaluate(tmp_path / "predictions.tsv", tmp_path / "metrics.json", n_boot=50)
    table = pd.read_csv(tmp_path / "predictions.tsv", sep="\t", keep_default_na=False)
    labelled = table[table["label"] != ""]
    majority = labelled["label"].value_counts(normalize=True).max()
    assert metrics["q3"] == pytest.approx((labelled["label"] == labelled["predicted"]).mean())
    assert metrics["q3"] > majority + 0.05
    assert set(metrics["per_class"]) == {"C", "E", "H"}
    low, high = metrics["ci95"]["q3"]
    assert low < metrics["q3"] < high


def test_token_bootstrap_resamples_whole_sequences(tmp_path):
    """Two sequences, one all right and one all wrong: resampling sequences gives Q3 values in
    {0, 1/3, 1/2, ...} of whole sequences; resampling residues would give many more."""
    rows = ["id\tposition\tlabel\tpredicted\tprob_A\tprob_B"]
    rows += [f"good\t{i}\tA\tA\t0.9\t0.1" for i in range(1, 51)]
    rows += [f"bad\t{i}\tA\tB\t0.1\t0.9" for i in range(1, 51)]
    rows += ["bad\t51\t\tB\t0.1\t0.9"]  # a residue without a label: left out
    (tmp_path / "p.tsv").write_text("\n".join(rows) + "\n")
    metrics = evaluate(tmp_path / "p.tsv", tmp_path / "m.json", n_boot=200)
    assert metrics["q3"] == 0.5 and metrics["n_sequences"] == 2
    assert metrics["n_unlabelled_residues"] == 1
    assert metrics["ci95"]["q3"] == [0.0, 1.0]


# --- multilabel --------------------------------------------------------------------------


def write_multilabel_table(root: Path) -> list[str]:
    """labels.tsv of three 0/1 labels that follow from each motifs.fa sequence."""
    from conftest import MOTIF

    rows = ["id\thas_motif\ttwo_motifs\tgc_rich"]
    for record in read_fasta(root / "motifs.fa"):
        sequence = record.sequence.decode()
        count, gc = sequence.count(MOTIF), (sequence.count("G") + sequence.count("C"))
        rows.append(f"{record.id}\t{int(count >= 1)}\t{int(count >= 2)}\t{int(gc > 25)}")
    (root / "labels.tsv").write_text("\n".join(rows) + "\n")
    return ["has_motif", "two_motifs", "gc_rich"]


@pytest.fixture(scope="module")
def multilabel(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("multilabel")
    write_motif_count_data(root, n=300)
    write_multilabel_table(root)
    fasta = [FastaInput(root / "motifs.fa")]
    ingest(
        fasta, root / "ingest", alphabet="dna", values_table=root / "labels.tsv", multilabel=True
    )
    preprocess(root / "ingest", root / "data", seed=3)
    return root


def test_multilabel_labels_stay_zero_or_one(multilabel):
    meta = json.loads((multilabel / "data" / "meta.json").read_text())
    assert meta["task"] == "multilabel" and meta["targets"] == [
        "has_motif",
        "two_motifs",
        "gc_rich",
    ]
    targets = np.load(multilabel / "data" / "targets.npy")
    assert set(np.unique(targets)) == {0.0, 1.0}


def test_multilabel_values_must_be_zero_or_one(multilabel, tmp_path):
    lines = (multilabel / "labels.tsv").read_text().splitlines()
    lines[5] = lines[5].rsplit("\t", 1)[0] + "\t0.7"
    (tmp_path / "labels.tsv").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"labels.tsv:6: column 'gc_rich' .* not 0 or 1"):
        ingest(
            [FastaInput(multilabel / "motifs.fa")],
            tmp_path / "out",
            alphabet="dna",
            values_table=tmp_path / "labels.tsv",
            multilabel=True,
        )


@pytest.mark.parametrize("model_type", ["cnn", "kmer_logreg"])
def test_multilabel_models_learn_each_label(multilabel, tmp_path, model_type):
    """Per-label AUROC/AUPRC and their macro mean; the motif labels are learnable."""
    if model_type == "kmer_logreg":
        train_kmer_baseline(multilabel / "data", tmp_path, model_name="k", k=3)
    else:
        config = TrainConfig(max_epochs=12, batch_size=32, patience=12, lr=0.01)
        train(
            multilabel / "data",
            tmp_path,
            model_name="cnn",
            model_type="cnn",
            model_args={"channels": 16, "kernel_size": 7},
            train_config=config,
            seed=0,
            threads=1,
        )
    table = pd.read_csv(tmp_path / "predictions.tsv", sep="\t")
    names = ["has_motif", "two_motifs", "gc_rich"]
    assert list(table.columns) == ["id"] + [f"{k}_{n}" for n in names for k in ("true", "prob")]
    metrics = evaluate(tmp_path / "predictions.tsv", tmp_path / "metrics.json", n_boot=50)
    assert metrics["task"] == "multilabel" and set(metrics["per_label"]) == set(names)
    per_label = [metrics["per_label"][n]["auroc"] for n in names]
    assert metrics["auroc"] == pytest.approx(np.mean(per_label))
    assert metrics["per_label"]["has_motif"]["auroc"] > 0.8
    assert 0 <= metrics["exact_match"] <= 1 and 0 <= metrics["f1"] <= 1


def test_balanced_baselines_weigh_labels_and_residues_as_the_networks_do(
    multilabel, structure, tmp_path
):
    """class_weights: balanced reaches the baselines too: per label, negatives / positives of
    train (multilabel); per class, the inverse frequency of the labelled training residues."""
    from genoflow.formats.arrays import class_counts, load_arrays

    info = train_kmer_baseline(
        multilabel / "data", tmp_path / "k", model_name="k", k=3, class_weights="balanced"
    )
    arrays = load_arrays(multilabel / "data")
    truth = arrays["targets"][arrays["split"] == 0]
    assert info["loss_weights"] == pytest.approx((len(truth) - truth.sum(0)) / truth.sum(0))
    plain = train_kmer_baseline(multilabel / "data", tmp_path / "p", model_name="k", k=3)
    assert plain["best_val_loss"] != pytest.approx(info["best_val_loss"])
    window = train_window_baseline(
        structure / "data", tmp_path / "w", model_name="w", window=3, class_weights="balanced"
    )
    arrays = load_arrays(structure / "data")
    counts = class_counts(arrays, np.flatnonzero(arrays["split"] == 0), len(window["loss_weights"]))
    assert window["loss_weights"] == pytest.approx(counts.sum() / (len(counts) * counts))
    # and a network labelling residues: its val_loss is the weighted mean over the residues
    info = train(
        structure / "data",
        tmp_path / "gru",
        model_name="gru",
        model_type="gru",
        model_args={"hidden": 8},
        train_config=dataclasses.replace(FAST, class_weights="balanced"),
        seed=0,
        threads=1,
    )
    assert info["loss_weights"] == pytest.approx(window["loss_weights"])
    _, _, y, probs = read_predictions(tmp_path / "gru" / VAL_PREDICTIONS, labelled_only=True)
    weighted = cross_entropy(y, probs, info["loss_weights"])
    assert info["best_val_loss"] == pytest.approx(weighted, abs=1e-4)


def test_shift_augmentation_is_refused_for_a_label_per_residue(structure, tmp_path):
    """Moving the letters would move them away from their labels."""
    config = TrainConfig(max_epochs=1, batch_size=8, shift=2)
    assert_cnn_refused(
        structure / "data", tmp_path, config, "shift: sequences with one label", pool="none"
    )
