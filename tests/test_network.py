"""Gene-interaction ranking: recovering a known network from simulated linear dynamics."""

from __future__ import annotations

import numpy as np
import pytest

from genoflow.errors import InputError
from genoflow.evaluate.network import (
    decay_rates,
    edge_table,
    rank_network,
    read_gold_standard,
    regulator_inputs,
    score_against,
)
from genoflow.io.expression import ingest_matrix
from genoflow.preprocess.series import preprocess_series
from genoflow.tasks.train import TrainConfig, train

GENES = [f"G{i}" for i in range(1, 7)]
EDGES = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 0)]  # a directed ring


def simulate(root, series: int = 8, points: int = 25, seed: int = 0):
    """x(t+1) = x(t) + 0.3 * (A x(t) - x(t)) + noise, with A the ring; stacked like DREAM4."""
    rng = np.random.default_rng(seed)
    a = np.zeros((6, 6))
    for regulator, target in EDGES:
        a[target, regulator] = 0.9
    rows = []
    for _ in range(series):
        x = rng.normal(0, 1, 6)
        for _ in range(points):
            rows.append(x)
            x = x + 0.3 * (a @ x - x) + rng.normal(0, 0.05, 6)
    matrix = root / "matrix.tsv"
    lines = ["\t".join(GENES)] + ["\t".join(f"{v:.5f}" for v in row) for row in rows]
    matrix.write_text("\n".join(lines) + "\n")
    gold = root / "gold.tsv"
    gold.write_text(
        "".join(
            f"{GENES[i]}\t{GENES[j]}\t{int((i, j) in EDGES)}\n"
            for i in range(6)
            for j in range(6)
            if i != j
        )
    )
    ingest_matrix(matrix, root / "ingest", series_length=points)
    preprocess_series(root / "ingest", root / "data", input=2, horizon=1)
    return root / "data", gold


@pytest.fixture(scope="module")
def ring(tmp_path_factory):
    root = tmp_path_factory.mktemp("ring")
    data, gold = simulate(root)
    config = TrainConfig(max_epochs=60, batch_size=16, lr=3e-3, patience=10)
    model = root / "gru"
    train(
        data,
        model,
        model_name="gru",
        model_type="gru",
        train_config=config,
        threads=1,
        model_args={"hidden": 16, "pool": "flatten"},
    )
    return root, data, gold, model / "model.ckpt"


def test_ranking_recovers_a_known_network(ring):
    """On simulated linear dynamics both the neural and the ridge ranking find the ring."""
    root, data, gold, model = ring
    result = rank_network([model], data, root / "network", gold_standard=gold)
    assert result["neural"]["edges_true"] == 6 and result["neural"]["edges_scored"] == 30
    assert result["neural"]["auroc"] > 0.9
    assert result["ridge"]["auroc"] > 0.9 and result["ridge_ar1"]["auroc"] > 0.9
    assert result["dyngenie3"]["auroc"] > 0.75  # no decay term: the values go negative
    assert result["neural"]["precision_top_k"] >= 4 / 6
    assert result["regulation"]["auroc"] > 0.9
    names = ("edges.tsv", "regulation_edges.tsv", "ridge_edges.tsv", "ridge_ar1_edges.tsv")
    names += ("dyngenie3_edges.tsv",)
    for name in (*names, "metrics.json"):
        assert (root / "network" / name).is_file()


def test_edge_table_and_scoring_by_hand():
    scores = np.array([[9.0, 1.0, 2.0], [3.0, 9.0, 4.0], [5.0, 6.0, 9.0]])
    table = edge_table(scores, ["a", "b", "c"])
    assert list(zip(table["regulator"], table["target"], strict=True))[:2] == [
        ("c", "b"),
        ("c", "a"),
    ]
    assert list(table["rank"]) == [1, 2, 3, 4, 5, 6]  # self-edges (the 9s) left out
    gold = table[["regulator", "target"]].assign(edge=[1, 0, 0, 0, 0, 1])
    # true edges ranked 1st and 6th: AUROC = P(true > false) = (4 + 0) / (2 * 4)
    scored = score_against(table, gold)
    assert scored["auroc"] == pytest.approx(0.5)
    assert scored["precision_top_k"] == 0.5  # k = 2 true edges; of the top 2, one is true
    # with regulators, only their rows are ranked and scored
    only = edge_table(scores, ["a", "b", "c"], regulators=["c"])
    assert list(only["regulator"]) == ["c", "c"] and list(only["rank"]) == [1, 2]
    assert score_against(only, gold)["edges_scored"] == 2


def test_decay_rates_by_hand():
    """dynGENIE3's estimate: log(max / min) / |t(max) - t(min)|; 0 when not positive."""
    raw = np.array([[1.0, -1.0], [np.e, 2.0], [2.0, 3.0]])
    rates = decay_rates(raw, np.array([0.0, 2.0, 4.0]))
    assert rates[0] == pytest.approx(1 / 2) and rates[1] == 0.0


def test_regulator_inputs_are_logs_of_non_negative_states():
    """The sigmoid reads log(x + 1 % of the largest value) (a Hill function of x is a sigmoid
    of log x); states with a negative value are taken to be on a log scale already."""
    state = np.array([[0.0, 1.0], [2.0, 4.0]])
    assert regulator_inputs(state) == pytest.approx(np.log(state + 0.04))
    logs = np.array([[-1.0, 0.5], [2.0, 3.0]])
    assert regulator_inputs(logs) is logs


def test_regulators_restrict_the_ranking(ring, tmp_path):
    root, data, gold, model = ring
    result = rank_network([model], data, tmp_path, gold_standard=gold, regulators=["G1", "G2"])
    assert result["regulators"] == 2
    for name in ("neural", "regulation", "ridge", "ridge_ar1", "dyngenie3"):
        assert result[name]["edges_scored"] == 10 and result[name]["edges_true"] == 2, name
    with pytest.raises(InputError, match=r"regulators: 1 gene\(s\) not in the expression"):
        rank_network([model], data, tmp_path / "x", regulators=["G1", "TF9"])


def test_gold_standard_with_unknown_gene_is_refused(tmp_path):
    gold = tmp_path / "gold.tsv"
    gold.write_text("G1\tG9\t1\n")
    with pytest.raises(InputError, match=r"gold.tsv:1: gene\(s\) \['G9'\]"):
        read_gold_standard(gold, ["G1", "G2"])


def test_cli_draws_the_ranking_as_a_heatmap_with_known_edges(ring, tmp_path):
    """`genoflow network --figure` writes the regulator × target heatmap, one circle per known
    edge of the gold standard."""
    from genoflow.cli import main

    root, data, gold, model = ring
    figure = tmp_path / "network.svg"
    main(
        [
            "network",
            "--models",
            str(model),
            "--data",
            str(data),
            "--gold-standard",
            str(gold),
            "--out",
            str(tmp_path / "network"),
            "--figure",
            str(figure),
        ]
    )
    svg = figure.read_text()
    assert svg.startswith("<?xml") and "Regulator gene" in svg and "known edge" in svg
    assert (tmp_path / "network" / "edges.tsv").is_file()


def test_tree_scores_do_not_depend_on_the_processes(ring):
    """The dynGENIE3-style fits are split over processes by target; same numbers either way."""
    from genoflow.evaluate.network import tree_scores
    from genoflow.formats.series import load_windows

    data = load_windows(ring[1])
    one = tree_scores(data, trees=20)
    np.testing.assert_array_equal(one, tree_scores(data, trees=20, threads=2))
    candidates = np.array([0, 2])
    some = tree_scores(data, trees=20, candidates=candidates, threads=3)
    assert (some[[1, 3, 4, 5]] == 0).all() and (some[candidates].sum(axis=0) > 0.99).all()
