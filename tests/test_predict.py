"""genoflow predict: new FASTA records scored by a trained model.ckpt, as in training."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import genoflow_env

from genoflow.alphabets import reverse_complement
from genoflow.errors import InputError
from genoflow.evaluate.baselines import train_kmer_baseline
from genoflow.formats.arrays import load_arrays, read_ids
from genoflow.io.fasta import read_fasta
from genoflow.io.sources import RegionInput
from genoflow.predict import predict_fasta
from genoflow.tasks.train import TrainConfig, train

FAST = TrainConfig(max_epochs=2, batch_size=32, patience=5)
MGEN, MGEN_ID = Path(__file__).parent / "data" / "Mycoplasma_genitalium.fna", "NC_000908.2"
DNA = "ACGT"


@pytest.fixture(scope="module", params=["gru", "kmer_logreg"])
def trained(request, motif_data, tmp_path_factory) -> tuple:
    """A trained model and the FASTA of its test split, written back from the tokens."""
    run = tmp_path_factory.mktemp(request.param)
    if request.param == "kmer_logreg":
        train_kmer_baseline(motif_data, run, model_name="kmer_logreg", k=3)
    else:
        train(
            motif_data,
            run,
            model_name="gru",
            model_type="gru",
            model_args={"hidden": 8},
            train_config=FAST,
            seed=0,
            threads=1,
        )
    arrays = load_arrays(motif_data)
    test = np.flatnonzero(arrays["split"] == 2)
    fasta = run / "test.fa"
    with open(fasta, "w") as out:
        for row, record_id in zip(test, read_ids(motif_data, test), strict=True):
            tokens = arrays["tokens"][row, : arrays["lengths"][row]]
            out.write(f">{record_id}\n{''.join(DNA[t - 1] for t in tokens)}\n")
    return run, fasta


def test_new_records_score_exactly_as_the_test_split_did(trained, tmp_path):
    """Re-reading the test split from FASTA gives the run's own test probabilities."""
    run, fasta = trained
    counts = predict_fasta(run / "model.ckpt", [fasta], tmp_path / "new.tsv", batch_size=17)
    new = pd.read_csv(tmp_path / "new.tsv", sep="\t")
    saved = pd.read_csv(run / "predictions.tsv", sep="\t")
    assert counts == {"ok": len(saved)} and (new["status"] == "ok").all()
    assert list(new["id"]) == list(saved["id"])
    assert list(new["predicted"]) == list(saved["predicted"])
    np.testing.assert_allclose(
        new[["prob_neg", "prob_pos"]], saved[["prob_neg", "prob_pos"]], rtol=1e-4, atol=1e-5
    )


def test_records_the_model_cannot_take_are_reported_one_per_line(trained, tmp_path):
    run, _ = trained
    fasta = tmp_path / "mixed.fa"
    fasta.write_text(
        ">good\nACGTTATAATACGTACGTACGTACGTACGTACGTACGTAC\n"
        ">bad_letter\nACGTXACGT\n"
        ">too_long\n" + "A" * 41 + "\n"  # rows are 40 wide; trained with trim=error
        ">empty\n\n"
        ">lower_and_n\nacgtnnacgt\n"  # soft-masked, with ambiguity codes: encoded as in training
    )
    counts = predict_fasta(run / "model.ckpt", [fasta], tmp_path / "out.tsv")
    table = pd.read_csv(tmp_path / "out.tsv", sep="\t", keep_default_na=False)
    status = dict(zip(table["id"], table["status"], strict=True))
    assert status["good"] == status["lower_and_n"] == "ok"
    assert status["bad_letter"] == "character 'X' at position 5 is not in the dna alphabet"
    assert status["too_long"].startswith("length 41 exceeds the model's 40")
    assert status["empty"] == "empty sequence"
    assert counts == {"ok": 2, "character": 1, "length": 1, "empty": 1}
    assert table.loc[table["id"] == "bad_letter", "prob_pos"].item() == ""


def test_cli_predicts_and_fails_clearly_on_a_broken_file(trained, tmp_path):
    run, fasta = trained
    out = tmp_path / "preds.tsv"
    command = [sys.executable, "-m", "genoflow", "predict", "--checkpoint", str(run / "model.ckpt")]
    done = subprocess.run(
        [*command, "--input", str(fasta), "--output", str(out)],
        capture_output=True,
        text=True,
        env=genoflow_env(),
    )
    assert done.returncode == 0, done.stderr
    assert "scored" in done.stderr and out.is_file()
    broken = tmp_path / "broken.fa"
    broken.write_text("ACGT\n>x\nACGT\n")  # sequence before the first header
    failed = subprocess.run(
        [*command, "--input", str(broken), "--output", str(tmp_path / "b.tsv")],
        capture_output=True,
        text=True,
        env=genoflow_env(),
    )
    assert failed.returncode == 1 and "broken.fa:1" in failed.stderr
    assert not (tmp_path / "b.tsv").exists()


def test_scoring_and_explaining_start_without_lightning_or_scikit_learn():
    """predict and interpret rebuild the network with plain torch (genoflow.formats.checkpoint) and
    the baselines' features without scikit-learn: importing Lightning alone takes ~7 s."""
    code = (
        "import sys, genoflow.predict, genoflow.evaluate.interpret;"
        " print(sorted(m for m in ('lightning', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=genoflow_env(), check=True
    ).stdout
    assert out.strip() == "[]"


def test_a_checkpoint_holding_arbitrary_objects_is_refused(tmp_path):
    """Only tensors and plain data load: a pickled object is never run."""
    evil = tmp_path / "model.ckpt"
    torch.save({"format": "genoflow-model/1", "thing": ValueError("x")}, evil)
    with pytest.raises(InputError, match="not a loadable genoflow checkpoint"):
        predict_fasta(evil, [], tmp_path / "out.tsv")


def test_bed_regions_of_a_reference_score_like_the_same_sequences_in_fasta(trained, tmp_path):
    """Regions of M. genitalium (one on the minus strand), resized to the model's 40 nt, score
    exactly as their sequences written to FASTA; the CLI takes --bed and --reference."""
    run, _ = trained
    genome = next(iter(read_fasta(MGEN))).sequence.decode()
    bed = tmp_path / "regions.bed"
    bed.write_text(f"{MGEN_ID}\t1000\t1100\tplus\t0\t+\n{MGEN_ID}\t5000\t5030\tminus\t0\t-\n")
    fasta = tmp_path / "same.fa"
    minus = reverse_complement(genome[4995:5035].encode(), "dna").decode()
    fasta.write_text(f">plus\n{genome[1030:1070]}\n>minus\n{minus}\n")
    region = RegionInput(bed, MGEN, resize=40)
    predict_fasta(run / "model.ckpt", [region], tmp_path / "bed.tsv")
    predict_fasta(run / "model.ckpt", [fasta], tmp_path / "fasta.tsv")
    from_bed = pd.read_csv(tmp_path / "bed.tsv", sep="\t")
    assert from_bed.equals(pd.read_csv(tmp_path / "fasta.tsv", sep="\t"))
    assert list(from_bed["status"]) == ["ok", "ok"]
    command = [sys.executable, "-m", "genoflow", "predict", "--checkpoint", str(run / "model.ckpt")]
    command += ["--bed", str(bed), "--reference", str(MGEN), "--output", str(tmp_path / "c.tsv")]
    done = subprocess.run(command, capture_output=True, text=True, env=genoflow_env())
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "c.tsv", sep="\t")  # not resized: 100 nt > 40 (trim=error)
    assert table["status"][0].startswith("length 100 exceeds") and table["status"][1] == "ok"
