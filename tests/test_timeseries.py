"""preprocess-series: whole-series splits, train-only transforms, windows and the leakage check."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genoflow.errors import InputError
from genoflow.formats.series import inverse_transform, load_series, standardised
from genoflow.io.expression import ingest_matrix
from genoflow.preprocess.series import preprocess_series

DREAM4 = (
    Path(__file__).resolve().parents[1]
    / "workflow/resources/demo/dream4/insilico_size10_1_timeseries.tsv"
)
# Five series of different lengths; conditions group them. Sorted by name: a b c d e.
SERIES = {"a": (8, "ctrl"), "b": (6, "ctrl"), "c": (7, "drug"), "d": (5, "drug"), "e": (9, "heat")}
N_GENES = 3


def make_dataset(root: Path, *, bump: float = 0.0, values: np.ndarray | None = None) -> Path:
    """Ingest a generated time course (rows given in reverse order); `bump` is added to one
    value of series e only."""
    rng = np.random.default_rng(0)
    rows, samples = [], []
    for name, (length, condition) in SERIES.items():
        for t in range(length):
            samples.append((f"{name}{t}", name, str(t * 2), condition))
    if values is None:
        values = rng.gamma(2.0, 3.0, size=(len(samples), N_GENES))
    values = values.copy()
    values[[s[0] for s in samples].index("e4"), 1] += bump
    for sample, value in zip(samples, values, strict=True):
        rows.append("\t".join([sample[0], *(repr(float(v)) for v in value)]))
    root.mkdir(parents=True, exist_ok=True)
    header = "\t".join(["sample", *(f"g{i}" for i in range(1, N_GENES + 1))])
    (root / "m.tsv").write_text("\n".join([header, *rows[::-1]]) + "\n")
    table = ["sample\tseries\ttime\tcondition", *("\t".join(s) for s in samples)]
    (root / "s.tsv").write_text("\n".join(table) + "\n")
    ingest_matrix(root / "m.tsv", root / "ingest", samples=root / "s.tsv")
    return root / "ingest"


@pytest.fixture
def dataset(tmp_path) -> Path:
    return make_dataset(tmp_path / "data")


def read_records(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def window_rows(arrays, span: int) -> np.ndarray:
    return arrays["windows"][:, None] + np.arange(span)


# --- splits and windows ----------------------------------------------------------------------


def test_default_holdout_is_the_last_series(dataset, tmp_path):
    meta = preprocess_series(dataset, tmp_path / "out", input=3, horizon=2)
    assert meta["split"]["test"] == ["e"] and meta["split"]["val"] == ["d"]
    assert meta["split"]["train"] == ["a", "b", "c"]
    # windows per series = length - (input + horizon) + 1
    assert meta["windows"] == {"train": 4 + 2 + 3, "val": 1, "test": 5}
    records = read_records(tmp_path / "out/records.tsv")
    assert [
        (r["series"], r["condition"], r["split"], r["time_points"], r["windows"]) for r in records
    ] == [
        ("a", "ctrl", "train", "8", "4"),
        ("b", "ctrl", "train", "6", "2"),
        ("c", "drug", "train", "7", "3"),
        ("d", "drug", "val", "5", "1"),
        ("e", "heat", "test", "9", "5"),
    ]
    saved = json.loads((tmp_path / "out/meta.json").read_text())
    assert saved == meta and saved["task"] == "forecasting" and saved["genes"] == ["g1", "g2", "g3"]
    assert saved["input"] == 3 and saved["horizon"] == 2


def test_windows_stay_inside_one_series(dataset, tmp_path):
    preprocess_series(dataset, tmp_path / "out", input=2, horizon=3)
    arrays = load_series(tmp_path / "out")
    rows = window_rows(arrays, 5)
    assert arrays["windows"].dtype == np.int64 and arrays["window_split"].dtype == np.uint8
    assert (arrays["series"][rows] == arrays["series"][rows[:, :1]]).all()
    # Consecutive time points: each window's rows are one block of increasing time.
    assert (np.diff(arrays["time"][rows], axis=1) > 0).all()
    # Every possible start is used: 35 points - 5 series * (5 - 1) = 15 windows.
    assert len(arrays["windows"]) == 35 - 5 * 4
    assert arrays["series"].dtype == np.int32 and arrays["time"].dtype == np.float64
    assert arrays["values"].dtype == np.float32 and arrays["raw"].dtype == np.float32
    assert arrays["values"].shape == arrays["raw"].shape == (35, N_GENES)


def test_no_test_or_val_point_is_seen_by_a_train_window(dataset, tmp_path):
    meta = preprocess_series(dataset, tmp_path / "out", input=2, horizon=2, val=["a"], test=["c"])
    arrays = load_series(tmp_path / "out")
    names = [r["series"] for r in read_records(tmp_path / "out/records.tsv")]
    held_out = {names.index("a"), names.index("c")}
    train_rows = window_rows(arrays, 4)[arrays["window_split"] == 0]  # inputs and targets
    touched_series = set(arrays["series"][train_rows.ravel()].tolist())
    assert touched_series == {names.index(s) for s in ("b", "d", "e")}
    assert not touched_series & held_out
    # Window split agrees with its series' split, for every window.
    split_of_series = {names.index("a"): 1, names.index("c"): 2}
    expected = [split_of_series.get(int(s), 0) for s in arrays["series"][arrays["windows"]]]
    assert arrays["window_split"].tolist() == expected
    assert meta["leakage_check"] == {
        "test_points_in_train_windows": 0,
        "val_points_in_train_windows": 0,
    }


def test_split_by_condition(dataset, tmp_path):
    meta = preprocess_series(
        dataset,
        tmp_path / "out",
        input=2,
        horizon=1,
        split="condition",
        val=["drug"],
        test=["heat"],
    )
    assert meta["split"]["method"] == "condition"
    assert (meta["split"]["train"], meta["split"]["val"], meta["split"]["test"]) == (
        ["a", "b"],
        ["c", "d"],
        ["e"],
    )
    assert meta["windows"] == {"train": 6 + 4, "val": 5 + 3, "test": 7}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"test": ["z"]}, "test series 'z' does not exist; the series names are a, b, c, d, e"),
        ({"val": ["a"], "test": ["a"]}, "series 'a' is in both val and test"),
        ({"val": ["a", "b"], "test": ["c", "d", "e"]}, "no series left for training"),
        ({"val": [], "test": ["e"]}, "the val split is empty"),
        ({"split": "condition", "test": ["ctrl", "x"]}, "test condition 'x' does not exist"),
        ({"split": "random"}, "split method 'random' is not one of"),
        ({"input": 0}, "input must be a positive integer"),
    ],
)
def test_split_errors(dataset, tmp_path, kwargs, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        preprocess_series(dataset, tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_too_short_series_is_named(dataset, tmp_path):
    with pytest.raises(InputError) as error:
        preprocess_series(dataset, tmp_path / "out", input=4, horizon=2)
    assert str(error.value) == (
        f"{dataset / 'samples.tsv'}: series 'd' (val) has 5 time point(s); a window needs"
        " input 4 + horizon 2 = 6"
    )
    assert not (tmp_path / "out").exists()


# --- transforms ------------------------------------------------------------------------------


def test_zscore_is_fitted_on_train_series_only(tmp_path):
    first = make_dataset(tmp_path / "one")
    meta = preprocess_series(first, tmp_path / "one/out", input=2, horizon=1)
    raw = np.load(first / "matrix.npy").astype(np.float64)
    series = np.load(tmp_path / "one/out/series.npy")
    train = raw[np.isin(series, [0, 1, 2])]  # a, b, c
    assert np.allclose(meta["transform"]["mean"], train.mean(axis=0), rtol=0, atol=1e-12)
    assert np.allclose(meta["transform"]["std"], train.std(axis=0), rtol=0, atol=1e-12)
    values = np.load(tmp_path / "one/out/values.npy")
    expected = (raw - train.mean(axis=0)) / train.std(axis=0)
    assert np.allclose(values, expected, atol=1e-5)
    assert np.array_equal(np.load(tmp_path / "one/out/raw.npy"), raw.astype(np.float32))

    # A different value in the test series (e) changes neither the parameters nor train values.
    second = make_dataset(tmp_path / "two", bump=100.0)
    other = preprocess_series(second, tmp_path / "two/out", input=2, horizon=1)
    assert other["transform"]["mean"] == meta["transform"]["mean"]
    assert other["transform"]["std"] == meta["transform"]["std"]
    changed = np.load(tmp_path / "two/out/values.npy")
    rows_differ = np.flatnonzero((changed != values).any(axis=1))
    assert rows_differ.tolist() == [len(raw) - 9 + 4]  # only e4 (e is last, 9 points)


def test_constant_gene_keeps_std_one(tmp_path):
    values = np.random.default_rng(1).gamma(2.0, 3.0, size=(35, N_GENES))
    values[:, 2] = 0.1
    data = make_dataset(tmp_path / "c", values=values)
    meta = preprocess_series(data, tmp_path / "out", input=2, horizon=1)
    assert meta["transform"]["std"][2] == 1.0
    assert np.allclose(np.load(tmp_path / "out/values.npy")[:, 2], 0.0, atol=1e-6)


def test_log1p_then_zscore_and_inverse_round_trip(dataset, tmp_path):
    meta = preprocess_series(dataset, tmp_path / "out", input=2, horizon=1, log1p=True)
    arrays = load_series(tmp_path / "out")
    logged = np.log1p(np.asarray(arrays["raw"], dtype=np.float64))
    train = logged[np.isin(arrays["series"], [0, 1, 2])]
    assert np.allclose(meta["transform"]["mean"], train.mean(axis=0), atol=1e-12)
    assert np.allclose(arrays["values"], (logged - train.mean(0)) / train.std(0), atol=1e-5)
    assert meta["transform"]["log1p"] is True and meta["transform"]["zscore"] is True
    back = inverse_transform(arrays["values"], meta)
    assert np.allclose(back, arrays["raw"], rtol=1e-5, atol=1e-5)
    # Meta read from disk works too, and any leading shape (windows x time x genes).
    windows = arrays["values"][window_rows(arrays, 3)]
    back_windows = inverse_transform(windows, tmp_path / "out/meta.json")
    assert np.allclose(back_windows, arrays["raw"][window_rows(arrays, 3)], rtol=1e-5, atol=1e-5)


def test_no_zscore_keeps_raw_values(dataset, tmp_path):
    meta = preprocess_series(dataset, tmp_path / "out", input=2, horizon=1, zscore=False)
    arrays = load_series(tmp_path / "out")
    assert np.array_equal(arrays["values"], arrays["raw"])
    # mean and sd are still fitted on training: the metrics' standardised scale uses them
    records = pd.read_csv(tmp_path / "out/records.tsv", sep="\t", dtype={"series": str})
    train = np.flatnonzero(records["split"] == "train")
    z = standardised(arrays["raw"], meta)[np.isin(arrays["series"], train)]
    assert np.allclose(z.mean(axis=0), 0, atol=1e-6) and np.allclose(z.std(axis=0), 1, atol=1e-6)
    assert np.array_equal(inverse_transform(arrays["values"], meta), arrays["raw"])


def test_log1p_refuses_negative_values(tmp_path):
    values = np.random.default_rng(2).gamma(2.0, 3.0, size=(35, N_GENES))
    values[3, 1] = -0.5  # a3, gene g2
    data = make_dataset(tmp_path / "neg", values=values)
    with pytest.raises(InputError) as error:
        preprocess_series(data, tmp_path / "out", input=2, horizon=1, log1p=True)
    assert str(error.value) == (
        f"{data / 'matrix.npy'}: log1p needs values >= 0, but gene 'g2' is -0.5 in sample 'a3'"
        " (1 negative value(s))"
    )
    assert not (tmp_path / "out").exists()


# --- the real DREAM4 demo --------------------------------------------------------------------


def test_dream4_end_to_end(tmp_path):
    ingest_matrix(DREAM4, tmp_path / "ingest", series_length=21, time_step=50)
    meta = preprocess_series(tmp_path / "ingest", tmp_path / "out", input=5, horizon=2)
    assert meta["split"] == {
        "method": "series",
        "train": ["s1", "s2", "s3"],
        "val": ["s4"],
        "test": ["s5"],
        "holdout": {"val": ["s4"], "test": ["s5"]},
        "seed": 42,
    }
    assert meta["windows"] == {"train": 3 * 15, "val": 15, "test": 15}
    arrays = load_series(tmp_path / "out")
    assert isinstance(arrays["values"], np.memmap)
    assert arrays["time"][:3].tolist() == [0.0, 50.0, 100.0]
    assert np.array_equal(arrays["raw"], np.loadtxt(DREAM4, skiprows=1, dtype=np.float32))
    assert np.allclose(np.asarray(arrays["values"])[:63].mean(axis=0), 0.0, atol=1e-5)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "meta.json",
        "raw.npy",
        "records.tsv",
        "series.npy",
        "time.npy",
        "values.npy",
        "window_split.npy",
        "windows.npy",
    ]


# --- irregular time points -------------------------------------------------------------------


def irregular_dataset(root: Path, times: dict[str, list[float]]) -> Path:
    """One gene that is a line in time (value = 3 t + 1): interpolation must give it exactly."""
    samples = [(f"{s}_{i}", s, t) for s, ts in times.items() for i, t in enumerate(ts)]
    root.mkdir(parents=True, exist_ok=True)
    rows = [f"{name}\t{3 * t + 1!r}\t{len(series)!r}" for name, series, t in samples]
    (root / "m.tsv").write_text("\n".join(["sample\tg1\tg2", *rows]) + "\n")
    table = [f"{name}\t{series}\t{t!r}" for name, series, t in samples]
    (root / "s.tsv").write_text("\n".join(["sample\tseries\ttime", *table]) + "\n")
    ingest_matrix(root / "m.tsv", root / "ingest", samples=root / "s.tsv")
    return root / "ingest"


IRREGULAR = {  # early dense, late sparse, as stress time courses are sampled
    "a": [0, 0.5, 1, 2, 4, 8],
    "b": [0, 0.5, 1, 2, 4, 8],
    "c": [0, 1, 2, 3, 4, 5, 6],
    "d": [0, 1, 2, 4, 6, 7],
}


def test_irregular_series_are_resampled_onto_the_median_step(tmp_path):
    ingest = irregular_dataset(tmp_path, IRREGULAR)
    meta = preprocess_series(ingest, tmp_path / "out", input=2, horizon=1, zscore=False)
    arrays = load_series(tmp_path / "out")
    info = meta["resampled"]
    assert info["step"] == 1.0 and info["chosen"].startswith("auto")
    # a: 0..8 by 1 (9 points), c stays 7 points, d: 0..7 (8 points)
    records = pd.read_csv(tmp_path / "out/records.tsv", sep="\t")
    assert records["time_points"].tolist() == [9, 9, 7, 8]
    assert info["time_points_on_grid"] == 33 and info["time_points_measured"] == 25
    assert np.allclose(np.diff(arrays["time"][arrays["series"] == 0]), 1.0)
    # linear in time: interpolation is exact, and grid point t holds 3 t + 1
    assert np.allclose(arrays["raw"][:, 0], 3 * arrays["time"] + 1, atol=1e-4)
    assert info["grid_points_measured"] == 5 + 5 + 7 + 6  # a, b: 0, 1, 2, 4, 8; d: not 6.5


def test_a_given_step_resamples_every_series_and_none_keeps_the_points(tmp_path):
    ingest = irregular_dataset(tmp_path, IRREGULAR)
    meta = preprocess_series(ingest, tmp_path / "two", input=2, resample=2.0, zscore=False)
    assert meta["resampled"]["step"] == 2.0 and meta["time_points"] == 5 + 5 + 4 + 4
    meta = preprocess_series(ingest, tmp_path / "none", input=2, resample=None, zscore=False)
    assert meta["resampled"] is None and meta["time_points"] == 25
    with pytest.raises(InputError, match="resample must be a positive time step"):
        preprocess_series(ingest, tmp_path / "bad", input=2, resample=0)


def test_regular_series_are_left_as_measured(dataset, tmp_path):
    meta = preprocess_series(dataset, tmp_path / "out", input=2, horizon=1)
    assert meta["resampled"] is None
