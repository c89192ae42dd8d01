"""Write the time-course example (workflow/configs/timecourse.yaml) from DREAM4 size-10 network 2.

The example shows a layout a lab's own data has and the stacked DREAM4 files lack: a genes x
samples matrix with sample ids, a sample table (sample, series, time, condition), time points
sampled densely early and sparsely late (irregular: preprocess-series resamples them), and
named series for the split. Values are the DREAM4 ones (0..1) times 1,000, to look like
normalised counts (so `log1p` applies).

Source: workflow/resources/benchmarks/dream4/insilico_size10_2_timeseries.tsv (5 trajectories x
21 time points, every 50 time units; provenance and licence in
workflow/resources/benchmarks/README.md). Kept: the time points at 0, 50, 100, 150, 200, 300,
400, 500, 600, 800 and 1000 of each trajectory.

Run from the repository root: python workflow/resources/demo/timecourse/make_timecourse.py
"""

from __future__ import annotations

from pathlib import Path

SOURCE = Path("workflow/resources/benchmarks/dream4/insilico_size10_2_timeseries.tsv")
OUT = Path("workflow/resources/demo/timecourse")
KEPT = (0, 1, 2, 3, 4, 6, 8, 10, 12, 16, 20)  # indices of 21 points, 50 time units apart
LENGTH, STEP = 21, 50


def main() -> None:
    lines = SOURCE.read_text().splitlines()
    genes, rows = lines[0].split("\t"), [line.split("\t") for line in lines[1:]]
    samples, columns = [], []
    for series in range(len(rows) // LENGTH):
        for index in KEPT:
            name = f"p{series + 1}_t{index * STEP}"
            samples.append((name, f"perturbation_{series + 1}", index * STEP))
            columns.append([f"{1000 * float(v):.2f}" for v in rows[series * LENGTH + index]])
    matrix = ["\t".join(["gene", *(s[0] for s in samples)])]
    for g, gene in enumerate(genes):
        matrix.append("\t".join([gene, *(column[g] for column in columns)]))
    (OUT / "matrix.tsv").write_text("\n".join(matrix) + "\n")
    table = ["sample\tseries\ttime\tcondition"]
    table += [f"{name}\t{series}\t{time}\t{series}" for name, series, time in samples]
    (OUT / "samples.tsv").write_text("\n".join(table) + "\n")


if __name__ == "__main__":
    main()
