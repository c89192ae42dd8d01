"""Proteins read from either end: the training option `reverse` and the model option
`directions: both`, the protein counterparts of DNA's `reverse_complement` and `strands`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genoflow.tasks.train import TrainConfig, load_model, train


def test_peptides_read_from_either_end_learn_a_motif(motif_data, tmp_path):
    """train: {reverse: true} reads each training peptide from a random end, and directions
    both averages both readings: a motif planted in either orientation is learnt, the
    checkpoint keeps both settings; the DNA and the protein options refuse each other's data."""
    from genoflow.io.ingest import ingest
    from genoflow.io.sources import FastaInput
    from genoflow.preprocess.sequences import preprocess

    rng = np.random.default_rng(0)
    lines = []
    for i in range(240):
        residues = list(rng.choice(list("ADEGNPQST"), size=int(rng.integers(20, 41))))
        if i % 2:  # the motif, read forward or backward
            start = int(rng.integers(0, len(residues) - 6))
            residues[start : start + 6] = list("KKWLRF" if i % 4 == 1 else "FRLWKK")
        lines.append(f">p{i} {'amp' if i % 2 else 'decoy'}\n{''.join(residues)}\n")
    (tmp_path / "peptides.fa").write_text("".join(lines))
    ingest(
        [FastaInput(tmp_path / "peptides.fa")],
        tmp_path / "ingest",
        alphabet="protein",
        label_pattern=r"^\S+\s+(\S+)",
    )
    preprocess(tmp_path / "ingest", tmp_path / "data")
    config = TrainConfig(max_epochs=15, batch_size=32, patience=15, lr=0.01, reverse=True)
    args = {"hidden": 16, "stem": {"channels": 16, "kernel_size": 5}, "directions": "both"}
    run = {"model_name": "p", "model_type": "gru", "model_args": args}
    info = train(tmp_path / "data", tmp_path / "run", **run, train_config=config)
    predictions = pd.read_csv(tmp_path / "run" / "predictions.tsv", sep="\t")
    assert (predictions["label"] == predictions["predicted"]).mean() > 0.9
    module, payload = load_model(tmp_path / "run" / "model.ckpt")
    assert payload["module_args"]["mirror"] is True and module.model.both
    assert info["train"]["reverse"] is True
    for data, option, message in (
        (motif_data, "reverse", "reverse: protein sequences"),
        (tmp_path / "data", "reverse_complement", "reverse_complement: dna or rna"),
    ):
        with pytest.raises(ValueError, match=message):
            train(data, tmp_path / option, **run, train_config=TrainConfig(**{option: True}))
        assert not (tmp_path / option / "model.ckpt").exists()
