"""ingest-matrix: expression matrices (TSV/CSV/Parquet, both orientations) + sample metadata."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import genoflow.io.expression
from genoflow.errors import InputError
from genoflow.io.expression import ingest_matrix

DREAM4 = (
    Path(__file__).resolve().parents[1]
    / "workflow/resources/demo/dream4/insilico_size10_1_timeseries.tsv"
)
OUTPUTS = ["genes.txt", "matrix.npy", "samples.tsv", "summary.json"]

# A small time course: series a (times 0, 1, 2, 10) and b (times 0, 5, 2): 7 samples x 3 genes.
SAMPLES = [
    ("a0", "a", "0", "ctrl"),
    ("a1", "a", "1", "ctrl"),
    ("a2", "a", "2", "ctrl"),
    ("a10", "a", "10", "ctrl"),
    ("b0", "b", "0", "drug"),
    ("b5", "b", "5", "drug"),
    ("b2", "b", "2", "drug"),
]
GENES = ["g1", "g2", "g3"]
# Values in SAMPLES order, distinct per cell so a misplaced row shows.
VALUES = np.arange(21, dtype=np.float64).reshape(7, 3) / 4 + 0.125
SORTED = ["a0", "a1", "a2", "a10", "b0", "b2", "b5"]  # by series, then numeric time


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def sample_table(path: Path, rows=SAMPLES, columns=("sample", "series", "time", "condition")):
    lines = ["\t".join(columns)] + ["\t".join(row[: len(columns)]) for row in rows]
    return write(path, "\n".join(lines) + "\n")


def matrix_text(ids, genes, values, sep="\t", corner="sample") -> str:
    lines = [sep.join([corner, *genes])]
    lines += [
        sep.join([i, *(repr(float(v)) for v in row)]) for i, row in zip(ids, values, strict=True)
    ]
    return "\n".join(lines) + "\n"


def small_matrix(path: Path, values=VALUES, ids=None, genes=GENES) -> Path:
    ids = ids or [row[0] for row in SAMPLES]
    return write(path, matrix_text(ids, genes, values))


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def expected_sorted() -> np.ndarray:
    index = {row[0]: i for i, row in enumerate(SAMPLES)}
    return VALUES[[index[s] for s in SORTED]].astype(np.float32)


# --- the real DREAM4 file --------------------------------------------------------------------


def test_dream4_stacked_ingest(tmp_path):
    out = tmp_path / "out"
    summary = ingest_matrix(DREAM4, out, series_length=21, time_step=50)
    matrix = np.load(out / "matrix.npy")
    assert matrix.shape == (105, 10) and matrix.dtype == np.float32
    # No id column in this file: every cell of the file is a value, in file order.
    assert np.array_equal(matrix, np.loadtxt(DREAM4, skiprows=1, dtype=np.float32))
    assert (out / "genes.txt").read_text().split() == [f"G{i}" for i in range(1, 11)]
    table = pd.read_csv(out / "samples.tsv", sep="\t", keep_default_na=False)
    assert list(table.columns) == ["sample", "series", "time", "condition"]
    assert table["series"].value_counts().to_dict() == {f"s{k}": 21 for k in range(1, 6)}
    assert table["time"].tolist() == list(range(0, 1001, 50)) * 5
    assert table["sample"].iloc[22] == "s2_t01"
    assert (table["condition"] == table["series"]).all()
    assert summary["samples"] == 105 and summary["genes"] == 10 and summary["series"] == 5
    assert summary["series_lengths"] == {f"s{k}": 21 for k in range(1, 6)}
    assert summary["conditions"] == {f"s{k}": 1 for k in range(1, 6)}
    assert summary["time_range"] == [0.0, 1000.0]
    assert summary["task"] == "forecasting"
    assert summary["missing"] == {"policy": "error", "imputed": 0}
    exact = np.loadtxt(DREAM4, skiprows=1)
    assert summary["value_range"] == [float(exact.min()), float(exact.max())]
    digest = hashlib.sha256(DREAM4.read_bytes()).hexdigest()
    assert summary["inputs"] == [{"path": str(DREAM4), "sha256": digest}]
    assert json.loads((out / "summary.json").read_text()) == summary


def test_dream4_transposed_gives_the_same_matrix(tmp_path):
    values = np.loadtxt(DREAM4, skiprows=1)
    ids = [f"x{i}" for i in range(105)]
    genes = [f"G{i}" for i in range(1, 11)]
    transposed = write(tmp_path / "t.tsv", matrix_text(genes, ids, values.T, corner="gene"))
    ingest_matrix(DREAM4, tmp_path / "a", series_length=21, time_step=50)
    ingest_matrix(
        transposed, tmp_path / "b", orientation="genes_x_samples", series_length=21, time_step=50
    )
    assert (tmp_path / "a/matrix.npy").read_bytes() == (tmp_path / "b/matrix.npy").read_bytes()
    # The matrix had sample ids, so they are kept.
    assert (tmp_path / "b/samples.tsv").read_text().splitlines()[1] == "x0\ts1\t0\ts1"


def test_dream4_without_an_id_column_needs_series_length(tmp_path):
    table = sample_table(tmp_path / "s.tsv")
    with pytest.raises(InputError, match="lack an id column"):
        ingest_matrix(DREAM4, tmp_path / "out", samples=table)


def test_stacked_time_column_is_refused(tmp_path):
    # The original DREAM4 layout: a Time column first (0, 50, ..., 1000 per trajectory).
    values = np.loadtxt(DREAM4, skiprows=1)[:42]
    times = [str(50 * (i % 21)) for i in range(42)]
    genes = [f"G{i}" for i in range(1, 11)]
    path = write(tmp_path / "timed.tsv", matrix_text(times, genes, values, corner="Time"))
    with pytest.raises(
        InputError, match=r"timed\.tsv:1: the first column 'Time' looks like a time"
    ):
        ingest_matrix(path, tmp_path / "out", series_length=21)


# --- formats and orientations ----------------------------------------------------------------


def test_formats_and_orientations_give_identical_outputs(tmp_path):
    ids = [row[0] for row in SAMPLES]
    frame = pd.DataFrame(VALUES, columns=GENES)
    frame.insert(0, "sample", ids)
    transposed = pd.DataFrame(VALUES.T, columns=ids)
    transposed.insert(0, "gene", GENES)
    files = {
        "tsv": small_matrix(tmp_path / "m.tsv"),
        "txt": write(tmp_path / "m.txt", matrix_text(ids, GENES, VALUES)),
        "csv": write(tmp_path / "m.csv", matrix_text(ids, GENES, VALUES, sep=",")),
        # R's write.table: no header cell above the row names, quoted names.
        "r_csv": write(
            tmp_path / "r.csv",
            ",".join(f'"{g}"' for g in GENES)
            + "\n"
            + "".join(
                f'"{i}",' + ",".join(repr(float(v)) for v in row) + "\n"
                for i, row in zip(ids, VALUES, strict=True)
            ),
        ),
        "parquet": tmp_path / "m.parquet",
        "parquet_index": tmp_path / "i.parquet",
        "tsv_t": write(tmp_path / "t.tsv", matrix_text(GENES, ids, VALUES.T, corner="gene")),
        "parquet_t": tmp_path / "t.parquet",
    }
    frame.to_parquet(files["parquet"], index=False)
    frame.set_index("sample").to_parquet(files["parquet_index"])
    transposed.to_parquet(files["parquet_t"], index=False)
    files["csv_gz"] = tmp_path / "m.csv.gz"
    files["csv_gz"].write_bytes(gzip.compress(files["csv"].read_bytes()))
    files["tsv_t_gz"] = tmp_path / "t.tsv.gz"
    files["tsv_t_gz"].write_bytes(gzip.compress(files["tsv_t"].read_bytes()))
    table = sample_table(tmp_path / "samples.tsv")

    outputs = {}
    for name, path in files.items():
        orientation = "genes_x_samples" if name.endswith(("_t", "_t_gz")) else "samples_x_genes"
        ingest_matrix(path, tmp_path / name, orientation=orientation, samples=table)
        outputs[name] = [(tmp_path / name / f).read_bytes() for f in OUTPUTS[:3]]
    reference = outputs["tsv"]
    assert np.array_equal(np.load(tmp_path / "tsv/matrix.npy"), expected_sorted())
    for name, output in outputs.items():
        assert output == reference, name


def test_sample_table_order_is_sorted_by_series_then_time(tmp_path):
    rng = np.random.default_rng(3)
    order = rng.permutation(len(SAMPLES))
    shuffled_table = sample_table(tmp_path / "s.tsv", [SAMPLES[i] for i in order[::-1]])
    matrix = small_matrix(
        tmp_path / "m.tsv", values=VALUES[order], ids=[SAMPLES[i][0] for i in order]
    )
    summary = ingest_matrix(matrix, tmp_path / "out", samples=shuffled_table)
    rows = [line.split("\t") for line in (tmp_path / "out/samples.tsv").read_text().splitlines()]
    assert rows[0] == ["sample", "series", "time", "condition"]
    assert [r[0] for r in rows[1:]] == SORTED  # numeric time: 10 after 2 in series a
    assert [r[2] for r in rows[1:]] == ["0", "1", "2", "10", "0", "2", "5"]
    assert np.array_equal(np.load(tmp_path / "out/matrix.npy"), expected_sorted())
    assert summary["series_lengths"] == {"a": 4, "b": 3}
    assert summary["conditions"] == {"ctrl": 1, "drug": 1}
    assert summary["time_range"] == [0.0, 10.0]
    assert [i["path"] for i in summary["inputs"]] == [str(matrix), str(shuffled_table)]


def test_condition_column_is_optional(tmp_path):
    table = sample_table(tmp_path / "s.tsv", columns=("sample", "series", "time"))
    summary = ingest_matrix(small_matrix(tmp_path / "m.tsv"), tmp_path / "out", samples=table)
    assert summary["conditions"] == {"": 2}
    assert (tmp_path / "out/samples.tsv").read_text().splitlines()[1] == "a0\ta\t0\t"


# --- missing values --------------------------------------------------------------------------

# Series a (times 0, 1, 2) and b (times 0, 1), given to the matrix in the order b1, a2, a0, b0,
# a1, so "previous time point" differs from "previous row of the file".
GAP_SAMPLES = [
    ("a0", "a", "0"),
    ("a1", "a", "1"),
    ("a2", "a", "2"),
    ("b0", "b", "0"),
    ("b1", "b", "1"),
]
GAP_TEXT = """sample\tg1\tg2
b1\t7\t8
a2\tNA\t5
a0\t\t1
b0\tnan\tinf
a1\t3\t3
"""


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        # rows a0 a1 a2 b0 b1 after sorting
        ("zero", [[0, 1], [3, 3], [0, 5], [0, 0], [7, 8]]),
        # gene means over observed values: g1 (3 + 7) / 2 = 5, g2 (1 + 3 + 5 + 8) / 4 = 4.25
        ("gene_mean", [[5, 1], [3, 3], [5, 5], [5, 4.25], [7, 8]]),
        # a0 has no earlier point: takes a1; a2 takes a1; b0 takes b1 (never series a's values)
        ("ffill", [[3, 1], [3, 3], [3, 5], [7, 8], [7, 8]]),
    ],
)
def test_imputation_policies(tmp_path, policy, expected):
    matrix = write(tmp_path / "gaps.tsv", GAP_TEXT)
    table = sample_table(tmp_path / "s.tsv", GAP_SAMPLES, ("sample", "series", "time"))
    summary = ingest_matrix(matrix, tmp_path / "out", samples=table, missing=policy)
    assert np.array_equal(np.load(tmp_path / "out/matrix.npy"), np.array(expected, np.float32))
    assert summary["missing"] == {"policy": policy, "imputed": 4}


def test_missing_values_are_an_error_by_default(tmp_path):
    matrix = write(tmp_path / "gaps.tsv", GAP_TEXT)
    table = sample_table(tmp_path / "s.tsv", GAP_SAMPLES, ("sample", "series", "time"))
    with pytest.raises(InputError) as error:
        ingest_matrix(matrix, tmp_path / "out", samples=table)
    message = str(error.value)
    assert message.startswith(f"{matrix}:3: record 'a2': missing or non-finite value 'NA'")
    assert "column 'g1'" in message and "4 such cell(s)" in message
    assert files_in(tmp_path / "out") == []


def test_ffill_needs_a_value_in_the_series(tmp_path):
    matrix = write(tmp_path / "m.tsv", "sample\tg1\na0\t1\na1\t2\nb0\tNA\nb1\tNA\n")
    rows = [("a0", "a", "0"), ("a1", "a", "1"), ("b0", "b", "0"), ("b1", "b", "1")]
    table = sample_table(tmp_path / "s.tsv", rows, ("sample", "series", "time"))
    with pytest.raises(InputError, match=r"gene 'g1' has no finite value in series 'b'"):
        ingest_matrix(matrix, tmp_path / "out", samples=table, missing="ffill")
    assert files_in(tmp_path / "out") == []


# --- errors: each names the file, the place and the problem ----------------------------------


def _replace_cell(text: str, line: int, column: int, value: str) -> str:
    lines = text.splitlines()
    cells = lines[line - 1].split("\t")
    cells[column] = value
    lines[line - 1] = "\t".join(cells)
    return "\n".join(lines) + "\n"


def _drop_last_cell(text: str, line: int) -> str:
    lines = text.splitlines()
    lines[line - 1] = lines[line - 1].rsplit("\t", 1)[0]
    return "\n".join(lines) + "\n"


BASE = matrix_text([row[0] for row in SAMPLES], GENES, VALUES)


ERROR_CASES = [
    (
        "non-numeric cell",
        _replace_cell(BASE, 4, 2, "1.2.3"),
        SAMPLES,
        "m.tsv:4: record 'a2': non-numeric value '1.2.3' in column 'g2'",
    ),
    (
        "infinite value",
        _replace_cell(BASE, 6, 3, "-inf"),
        SAMPLES,
        "m.tsv:6: record 'b0': missing or non-finite value '-inf' in column 'g3'",
    ),
    (
        "duplicate gene",
        BASE.replace("g3", "g1", 1),
        SAMPLES,
        "m.tsv:1: record 'g1': duplicate gene id 'g1' (header column 2 and header column 4)",
    ),
    (
        "duplicate sample in the matrix",
        BASE.replace("\nb5\t", "\na1\t"),
        SAMPLES,
        "m.tsv:7: record 'a1': duplicate sample id 'a1' (line 3 and line 7)",
    ),
    (
        "short row",
        _drop_last_cell(BASE, 6),
        SAMPLES,
        "m.tsv:6: record 'b0': 3 fields but the header has 4",
    ),
    (
        "duplicate sample in the table",
        BASE,
        [*SAMPLES, ("a1", "a", "7", "ctrl")],
        "s.tsv:9: record 'a1': duplicate sample id (first at line 3)",
    ),
    (
        "duplicate time in a series",
        BASE,
        [*SAMPLES[:6], ("b2", "b", "5.0", "drug")],
        "s.tsv:8: record 'b2': duplicate time 5.0 in series 'b': sample 'b5' at line 7",
    ),
    (
        "non-numeric time",
        BASE,
        [*SAMPLES[:2], ("a2", "a", "two", "ctrl"), *SAMPLES[3:]],
        "s.tsv:4: record 'a2': time 'two' is not a number",
    ),
    (
        "missing time",
        BASE,
        [*SAMPLES[:2], ("a2", "a", "", "ctrl"), *SAMPLES[3:]],
        "s.tsv:4: record 'a2': time '' is not a number",
    ),
    (
        "matrix sample not in the table",
        BASE,
        SAMPLES[:5],
        "s.tsv: 2 sample(s) of {matrix} are missing from the sample table: b5, b2",
    ),
    (
        "table sample not in the matrix",
        BASE,
        [*SAMPLES, ("c0", "c", "0", "x"), ("c1", "c", "1", "x")],
        "s.tsv: 2 sample(s) of the table are not in {matrix}: c0, c1",
    ),
    (
        "two conditions in one series",
        BASE,
        [*SAMPLES[:3], ("a10", "a", "10", "drug"), *SAMPLES[4:]],
        "s.tsv:5: record 'a10': series 'a' has condition 'drug' here but 'ctrl' at line 2",
    ),
]


@pytest.mark.parametrize(
    ("case", "matrix", "table_rows", "message"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES]
)
def test_errors_name_file_place_and_problem(tmp_path, case, matrix, table_rows, message):
    path = write(tmp_path / "m.tsv", matrix)
    table = sample_table(tmp_path / "s.tsv", table_rows)
    out = tmp_path / "out"
    out.mkdir()  # an existing folder stays empty too
    with pytest.raises(InputError) as error:
        ingest_matrix(path, out, samples=table)
    expected = f"{tmp_path}/{message.format(matrix=path)}"
    assert str(error.value).startswith(expected), (case, str(error.value))
    assert files_in(out) == []


def test_duplicate_gene_in_genes_x_samples_names_both_lines(tmp_path):
    ids = [row[0] for row in SAMPLES]
    text = matrix_text(["g1", "g2", "g1"], ids, VALUES.T, corner="gene")
    path = write(tmp_path / "t.tsv", text)
    table = sample_table(tmp_path / "s.tsv")
    with pytest.raises(InputError) as error:
        ingest_matrix(path, tmp_path / "out", orientation="genes_x_samples", samples=table)
    assert str(error.value) == (
        f"{path}:4: record 'g1': duplicate gene id 'g1' (line 2 and line 4)"
    )


def test_stacked_rows_must_fill_whole_series(tmp_path):
    with pytest.raises(InputError) as error:
        ingest_matrix(DREAM4, tmp_path / "out", series_length=20)
    assert str(error.value).startswith(
        f"{DREAM4}: 105 samples is not a multiple of series_length 20"
    )
    assert files_in(tmp_path / "out") == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "give exactly one of a sample table or series_length"),
        ({"series_length": 21, "samples": "s.tsv"}, "give exactly one of"),
        ({"series_length": 0}, "series_length must be a positive integer"),
        ({"series_length": 21, "time_step": 0.0}, "time_step must be a positive number"),
        ({"series_length": 21, "missing": "drop"}, "missing='drop' is not one of"),
        ({"series_length": 21, "orientation": "rows"}, "orientation='rows' is not one of"),
    ],
)
def test_bad_options(tmp_path, kwargs, message):
    with pytest.raises(InputError, match=message):
        ingest_matrix(DREAM4, tmp_path / "out", **kwargs)


def test_unknown_format_and_empty_file(tmp_path):
    with pytest.raises(InputError, match=r"m\.xlsx: unknown matrix format"):
        ingest_matrix(write(tmp_path / "m.xlsx", "x"), tmp_path / "out", series_length=1)
    with pytest.raises(InputError, match=r"e\.tsv: empty file: a header row is required"):
        ingest_matrix(write(tmp_path / "e.tsv", "\n\n"), tmp_path / "out", series_length=1)
    with pytest.raises(InputError, match=r"h\.tsv:1: no data rows after the header"):
        ingest_matrix(write(tmp_path / "h.tsv", "G1\tG2\n"), tmp_path / "out", series_length=1)


def test_parquet_errors_name_the_record(tmp_path):
    frame = pd.DataFrame({"sample": ["a0", "a1"], "g1": ["1.5", "oops"]})
    frame.to_parquet(tmp_path / "m.parquet", index=False)
    rows = [("a0", "a", "0"), ("a1", "a", "1")]
    table = sample_table(tmp_path / "s.tsv", rows, ("sample", "series", "time"))
    with pytest.raises(InputError) as error:
        ingest_matrix(tmp_path / "m.parquet", tmp_path / "out", samples=table)
    assert str(error.value) == (
        f"{tmp_path / 'm.parquet'}: record 'a1': non-numeric value 'oops' in column 'g1'"
    )


def test_failure_while_writing_leaves_nothing(tmp_path, monkeypatch):
    def broken(path, data):
        Path(path).write_text("partial")
        raise OSError("disk full")

    monkeypatch.setattr(genoflow.io.expression, "write_json", broken)
    with pytest.raises(OSError, match="disk full"):
        ingest_matrix(DREAM4, tmp_path / "out", series_length=21)
    assert files_in(tmp_path / "out") == []  # no outputs, no temporary files


def test_stacked_matrix_with_a_numeric_id_column_keeps_its_ids(tmp_path):
    # An id column named like one ("id") is ids even when its values are numbers.
    values = VALUES[:6]
    path = write(
        tmp_path / "m.tsv",
        matrix_text(["7", "8", "9", "10", "11", "12"], GENES, values, corner="id"),
    )
    ingest_matrix(path, tmp_path / "out", series_length=3)
    assert (tmp_path / "out/genes.txt").read_text().split() == GENES
    rows = (tmp_path / "out/samples.tsv").read_text().splitlines()
    assert rows[1:3] == ["7\ts1\t0\ts1", "8\ts1\t1\ts1"] and rows[4] == "10\ts2\t0\ts2"
    assert np.array_equal(np.load(tmp_path / "out/matrix.npy"), values.astype(np.float32))


# --- command line ----------------------------------------------------------------------------


def test_cli_ingest_matrix_and_preprocess_series(tmp_path, capsys):
    from genoflow.cli import main

    main(
        [
            "ingest-matrix",
            "--matrix",
            str(DREAM4),
            "--series-length",
            "21",
            "--time-step",
            "50",
            "--out",
            str(tmp_path / "i"),
        ]
    )
    logged = capsys.readouterr().err  # log lines: time, level, command, message
    assert logged.endswith(
        "INFO genoflow ingest-matrix: ingested 105 samples x 10 genes in 5 series;"
        " 0 value(s) imputed\n"
    )
    main(
        [
            "preprocess-series",
            "--ingest",
            str(tmp_path / "i"),
            "--out",
            str(tmp_path / "p"),
            "--input",
            "4",
            "--horizon",
            "1",
            "--test",
            "s1",
            "--val",
            "s2",
            "--log1p",
        ]
    )
    logged = capsys.readouterr().err
    assert (
        "preprocess-series: windows {'train': 51, 'val': 17, 'test': 17}; series train 3" in logged
    )
    meta = json.loads((tmp_path / "p/meta.json").read_text())
    assert meta["split"]["test"] == ["s1"] and meta["transform"]["log1p"] is True

    with pytest.raises(SystemExit) as stop:
        main(
            [
                "ingest-matrix",
                "--matrix",
                str(DREAM4),
                "--series-length",
                "4",
                "--out",
                str(tmp_path / "bad"),
            ]
        )
    assert stop.value.code == 1
    assert "is not a multiple of series_length 4" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:  # --samples and --series-length exclude each other
        main(
            [
                "ingest-matrix",
                "--matrix",
                str(DREAM4),
                "--series-length",
                "21",
                "--samples",
                "s.tsv",
                "--out",
                str(tmp_path / "bad"),
            ]
        )
    assert stop.value.code == 2
    assert not (tmp_path / "bad").exists()
