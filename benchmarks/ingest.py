"""FASTA ingest speed: genoflow's ingest + preprocess against FASTA parsers and the numpy floor.

    python benchmarks/ingest.py                      # 500,000 x 200 nt, 50 x 2 Mb, gzip; 3 repeats
    python benchmarks/ingest.py --scale 0.1 --repeats 2          # a quick look (~10x smaller)

Inputs, generated in a temporary folder (random DNA, fixed seed, 80-column lines): "short"
(500,000 records of 200 nt), "long" (50 records of 2 Mb) and "short.gz" (the short files, gzip
level 6). Each is two files, as a classification dataset comes: positives (`>r0000001 pos`)
and negatives (`>r0250001 neg`); every method reads both.

Methods, each in a fresh process, repeated and interleaved (every method once per round), so
a slow moment of a shared machine falls on all of them alike:
  floor        readinto() 2 MiB chunks, np.frombuffer, np.take of a 256-entry table; the line
               breaks and headers stay in (the least any FASTA-to-tokens path has to do)
  biopython    Bio.SeqIO.parse + np.take of the table per record
  simplefasta  Bio.SeqIO.FastaIO.SimpleFastaParser + the table per record
  pyfastx      pyfastx.Fasta(build_index=False) + the table per record (if installed)
  gzip -dc     `gzip -dc FILE > /dev/null` (gzip input only)
  genoflow     `python -m genoflow ingest` (labels from a sample sheet, one per file;
               validation on: FASTA syntax, alphabet, duplicate ids), then `python -m genoflow
               preprocess` (tokens.npy, split, leakage checks)
  genoflow, header labels   the same with the labels taken from the headers by a regex
               (`--label-pattern`; a Python regex match per record), short input only
  genoflow, N threads   the same with `--threads N` for both stages (`--threads`, default 2):
               checksums on a thread of their own, letters counted and digests, token rows
               and canonical hashes made on N threads

The reference parsers report the time of their own loop (interpreter start-up left out); the
genoflow stages are timed from outside, start-up included, as the workflow runs them. Two more
rows show what that costs: "genoflow start-up x2" (two processes that start as the stages do:
the interpreter, numpy, genoflow's modules) and "... less start-up" (a genoflow row's time
minus that). With `--compare-src DIR`, "genoflow (compare-src)" runs the same two stages
from another checkout's sources in the same rounds (a before/after). Speeds are
MB of FASTA (the uncompressed file) per second; the table shows medians, min-max and ratios.
Peak RSS of every process comes from /usr/bin/time (%M). Results: benchmarks/results/ingest.json.
This is a benchmark, not a test: nothing here fails for being slow.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MB = 1e6
WIDTH = 80  # FASTA line width
TIME = "/usr/bin/time"  # GNU time: -f %M prints the child's peak RSS in kilobytes
HEADER_PATTERN = r"^\S+\s+(\S+)"
CHUNK = 2 << 20  # the floor's read size (1-2 MiB is fastest; 64 MiB is ~8x slower)

# The reference readers: run as `python benchmarks/ingest.py --reader NAME FILE`; each prints
# the seconds of its own loop and the number of sequence bytes it encoded.
READERS = ("floor", "biopython", "simplefasta", "pyfastx")


def generate_fasta(
    path: Path, records: int, length: int, seed: int = 0, first: int = 1, label: str = "pos"
) -> int:
    """Write `records` random DNA records of `length` nt (`>r0000001 pos`, numbered from
    `first`, all with `label`: 3 letters), wrapped at 80 columns; vectorised, a block of
    records at a time. Returns the file size."""
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    lines = -(-length // WIDTH)
    j = np.arange(length)
    letter_at = j + j // WIDTH  # where letter j goes in its wrapped record (one '\n' per line)
    digits = 7
    powers = 10 ** np.arange(digits - 1, -1, -1, dtype=np.int64)
    assert len(label) == 3
    per_block = max(1, (8 << 20) // length)
    with open(path, "wb", buffering=1 << 22) as out:
        for start in range(0, records, per_block):
            count = min(per_block, records - start)
            header = np.full((count, digits + 7), ord("\n"), dtype=np.uint8)  # >r0000001 pos\n
            header[:, :2] = np.frombuffer(b">r", dtype=np.uint8)
            numbers = np.arange(start, start + count, dtype=np.int64) + first
            header[:, 2 : 2 + digits] = (numbers[:, None] // powers) % 10 + ord("0")
            header[:, 2 + digits] = ord(" ")
            header[:, 3 + digits : 6 + digits] = np.frombuffer(label.encode(), dtype=np.uint8)
            body = np.full((count, length + lines), ord("\n"), dtype=np.uint8)
            body[:, letter_at] = letters[rng.integers(0, 4, size=(count, length), dtype=np.uint8)]
            out.write(np.hstack([header, body]).tobytes())
    return path.stat().st_size


def encode_table() -> np.ndarray:
    table = np.full(256, 255, dtype=np.uint8)
    for token, letter in enumerate(b"ACGTRYSWKMBDHVN", start=1):
        table[letter] = token
        table[letter + 32] = token
    return table


def run_reader(name: str, paths: list[Path]) -> None:
    """One reference reader over `paths` (child process): prints {"seconds", "letters"}."""
    table = encode_table()
    started = time.perf_counter()
    letters = 0
    for path in paths:
        letters += read_one(name, path, table)
    print(json.dumps({"seconds": time.perf_counter() - started, "letters": letters}))


def read_one(name: str, path: Path, table: np.ndarray) -> int:
    """One reference reader over one file; returns the sequence bytes it encoded."""
    letters = 0
    if name == "floor":
        buffer = bytearray(CHUNK)
        tokens = np.empty(CHUNK, dtype=np.uint8)
        with open(path, "rb", buffering=0) as handle:
            while n := handle.readinto(buffer):
                chunk = np.frombuffer(buffer, dtype=np.uint8, count=n)
                np.take(table, chunk, out=tokens[:n])
                letters += n
    elif name == "biopython":
        from Bio import SeqIO

        with open(path) as handle:
            for record in SeqIO.parse(handle, "fasta"):
                sequence = np.frombuffer(bytes(record.seq), dtype=np.uint8)
                letters += len(np.take(table, sequence))
    elif name == "simplefasta":
        from Bio.SeqIO.FastaIO import SimpleFastaParser

        with open(path) as handle:
            for _, sequence in SimpleFastaParser(handle):
                letters += len(np.take(table, np.frombuffer(sequence.encode(), dtype=np.uint8)))
    elif name == "pyfastx":
        import pyfastx

        for _, sequence in pyfastx.Fasta(str(path), build_index=False):
            letters += len(np.take(table, np.frombuffer(sequence.encode(), dtype=np.uint8)))
    return letters


def timed(command: list[str], log: Path, env: dict | None = None) -> dict:
    """Run a command in a fresh process: wall seconds, peak RSS (MB) and its stdout."""
    peak_file = log.with_suffix(".maxrss")
    started = time.perf_counter()
    with open(log, "w") as handle:
        result = subprocess.run(
            [TIME, "-f", "%M", "-o", str(peak_file), *command],
            stdout=subprocess.PIPE,
            stderr=handle,
            env=env,
            check=False,
        )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{command} failed ({result.returncode}); see {log}:\n{log.read_text()[-3000:]}")
    peak = int(peak_file.read_text().split()[-1]) * 1024
    return {"wall": seconds, "peak_rss_mb": peak / MB, "stdout": result.stdout.decode()}


def genoflow_run(
    fastas: list[Path], work: Path, env: dict, labels: str = "samples", threads: int = 1
) -> dict:
    """`genoflow ingest` then `genoflow preprocess` (each `--threads N`) on a dataset's FASTA
    files, each stage in its own process; labels from a sample sheet (one per file) or the
    headers ("pattern")."""
    ingested, prepared = work / "ingest", work / "preprocess"
    for folder in (ingested, prepared):
        shutil.rmtree(folder, ignore_errors=True)
    python = [sys.executable, "-m", "genoflow"]
    if labels == "pattern":
        label_args = ["--fasta", *map(str, fastas), "--label-pattern", HEADER_PATTERN]
    else:
        sheet = work / "samples.tsv"
        rows = [f"{path}\t{path.name.split('.')[0].rsplit('-', 1)[1]}" for path in fastas]
        sheet.write_text("path\tlabel\n" + "\n".join(rows) + "\n")
        label_args = ["--samples", str(sheet)]
    threads_args = ["--threads", str(threads)] if threads > 1 else []
    ingest = timed(
        [
            *python,
            "ingest",
            "--alphabet",
            "dna",
            *label_args,
            "--out",
            str(ingested),
            *threads_args,
        ],
        work / "ingest.log",
        env,
    )
    preprocess = timed(
        [*python, "preprocess", "--ingest", str(ingested), "--out", str(prepared), *threads_args],
        work / "preprocess.log",
        env,
    )
    return {"ingest": ingest, "preprocess": preprocess}


def both(stages: dict) -> dict:
    """Ingest and preprocess as one: their wall times summed, the larger peak RSS."""
    return {
        "wall": sum(m["wall"] for m in stages.values()),
        "peak_rss_mb": max(m["peak_rss_mb"] for m in stages.values()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reader", choices=READERS, help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--repeats", "--reps", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--scale", type=float, default=1.0, help="input size factor (1.0)")
    parser.add_argument("--shapes", default="short,long,short.gz", help="inputs to run")
    parser.add_argument("--work-dir", type=Path, help="where to generate (default: a temp dir)")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated methods to run (floor, biopython, "
        "simplefasta, pyfastx, gzip, genoflow); default all",
    )
    parser.add_argument(
        "--src",
        type=Path,
        default=REPO / "src",
        help="the genoflow sources to run (e.g. another checkout's src, for a before/after)",
    )
    parser.add_argument(
        "--compare-src",
        type=Path,
        help="another checkout's src to run beside --src in the same rounds (before/after)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="preprocess --threads of the 'genoflow, N threads' row (default: 2 where the"
        " machine has 2 cores; 1 leaves the row out)",
    )
    parser.add_argument(
        "--results", type=Path, default=HERE / "results" / "ingest.json", help="JSON output"
    )
    args = parser.parse_args(argv)
    if args.reader:
        run_reader(args.reader, args.files)
        return
    if not Path(TIME).exists():
        sys.exit(f"needs GNU time at {TIME} for the peak RSS")
    work = Path(tempfile.mkdtemp(prefix="genoflow-ingest-", dir=args.work_dir))
    try:
        results = benchmark(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.results}")


def available_readers() -> list[str]:
    readers = ["floor"]
    for name, module in (("biopython", "Bio"), ("simplefasta", "Bio"), ("pyfastx", "pyfastx")):
        probe = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True)
        if probe.returncode == 0:
            readers.append(name)
    return readers


def benchmark(args, work: Path) -> dict:
    # As users run it: byte code cached (PYTHONDONTWRITEBYTECODE, set in some shells, would
    # recompile genoflow's modules in every process), and cached before the first round.
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env = dict(environ, PYTHONPATH=str(args.src.resolve()))
    compare_env = args.compare_src and dict(environ, PYTHONPATH=str(args.compare_src.resolve()))
    for sources in filter(None, (env, compare_env)):
        imports = "import genoflow.cli, genoflow.io.ingest, genoflow.preprocess.sequences"
        subprocess.run([sys.executable, "-c", imports], env=sources, check=True)
    only = {m.strip() for m in args.only.split(",") if m.strip()}

    def wanted_method(name: str) -> bool:
        return not only or name in only

    shapes = {
        "short": (round(500_000 * args.scale), 200),
        "long": (max(6, round(50 * args.scale)), 2_000_000),
    }
    wanted = [s.strip() for s in args.shapes.split(",") if s.strip()]
    files: dict[str, list[Path]] = {}  # per shape: its positives and negatives
    sizes: dict[str, int] = {}
    for shape in wanted:
        base = shape.removesuffix(".gz")
        if base not in files:
            records, length = shapes[base]
            half = records // 2
            files[base] = [work / f"{base}-pos.fa", work / f"{base}-neg.fa"]
            sizes[base] = generate_fasta(files[base][0], half, length, 0, 1, "pos")
            sizes[base] += generate_fasta(
                files[base][1], records - half, length, 1, half + 1, "neg"
            )
        if shape.endswith(".gz"):
            files[shape] = [path.with_name(path.name + ".gz") for path in files[base]]
            for plain_path, packed_path in zip(files[base], files[shape], strict=True):
                with open(plain_path, "rb") as plain, gzip.open(packed_path, "wb", 6) as packed:
                    shutil.copyfileobj(plain, packed, 1 << 22)
            sizes[shape] = sizes[base]
    readers = [r for r in available_readers() if wanted_method(r)]
    runs: dict[str, dict[str, list[dict]]] = {shape: {} for shape in wanted}
    for round_ in range(args.repeats):
        print(f"round {round_ + 1}/{args.repeats}", flush=True)
        for shape in wanted:
            paths, plain = files[shape], files[shape.removesuffix(".gz")]
            methods = runs[shape]
            if shape.endswith(".gz") and wanted_method("gzip"):
                quoted = " ".join(f"'{path}'" for path in paths)
                methods.setdefault("gzip -dc", []).append(
                    timed(["sh", "-c", f"gzip -dc {quoted} > /dev/null"], work / "gzip.log")
                )
            elif not shape.endswith(".gz"):
                for reader in readers:
                    measured = timed(
                        [sys.executable, __file__, "--reader", reader, *map(str, plain)],
                        work / f"{reader}.log",
                    )
                    measured["seconds"] = json.loads(measured.pop("stdout"))["seconds"]
                    methods.setdefault(reader, []).append(measured)
            if not wanted_method("genoflow"):
                continue
            if shape == "short":
                stages = genoflow_run(paths, work, env, labels="pattern")
                methods.setdefault("genoflow, header labels", []).append(both(stages))
            stages = genoflow_run(paths, work, env)
            for stage, measured in stages.items():
                measured.pop("stdout")
                methods.setdefault(f"genoflow {stage}", []).append(measured)
            methods.setdefault("genoflow", []).append(both(stages))
            if args.threads > 1:
                stages = genoflow_run(paths, work, env, threads=args.threads)
                methods.setdefault(f"genoflow, {args.threads} threads", []).append(both(stages))
            # What the two start-ups cost (the interpreter, numpy, genoflow's imports, as the
            # stage commands set them up): the genoflow rows include them, the reference
            # readers' own timings do not.
            start = "import genoflow.cli as cli; cli._streaming_stage(); import genoflow.{}"
            startup = [
                timed([sys.executable, "-c", start.format(stage)], work / "startup.log", env)
                for stage in ("io.ingest", "preprocess.sequences")
            ]
            startup_wall = sum(measured["wall"] for measured in startup)
            methods.setdefault("genoflow start-up x2", []).append(
                {"wall": startup_wall, "peak_rss_mb": max(m["peak_rss_mb"] for m in startup)}
            )
            for method in ("genoflow", f"genoflow, {args.threads} threads"):
                if method in methods:
                    methods.setdefault(f"{method} less start-up", []).append(
                        {
                            "wall": max(1e-3, methods[method][-1]["wall"] - startup_wall),
                            "peak_rss_mb": methods[method][-1]["peak_rss_mb"],
                        }
                    )
            if args.compare_src:
                before = genoflow_run(paths, work, compare_env)
                methods.setdefault("genoflow (compare-src)", []).append(both(before))
    return report(runs, sizes, args)


def report(runs: dict, sizes: dict, args) -> dict:
    """Print the table and return the JSON: per shape and method, MB/s median and range."""
    out = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "repeats": args.repeats,
        "scale": args.scale,
        "shapes": {},
    }
    header = (
        f"{'input':9} {'method':34} {'MB/s median':>11} {'min-max':>15} {'vs floor':>9}"
        f" {'vs biopython':>12} {'peak RSS MB':>11}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for shape, methods in runs.items():
        size = sizes[shape]
        rows = {}
        for method, measured in methods.items():
            # reference readers: their own loop; everything else: the process from outside
            seconds = [m.get("seconds", m["wall"]) for m in measured]
            speeds = [size / MB / s for s in seconds]
            rows[method] = {
                "mb_per_s_median": statistics.median(speeds),
                "mb_per_s_min": min(speeds),
                "mb_per_s_max": max(speeds),
                "seconds": seconds,
                "peak_rss_mb": max(m["peak_rss_mb"] for m in measured),
            }
        floor = rows.get("floor", {}).get("mb_per_s_median")
        biopython = rows.get("biopython", {}).get("mb_per_s_median")
        gunzip = rows.get("gzip -dc", {}).get("mb_per_s_median")
        for method, row in rows.items():
            median = row["mb_per_s_median"]
            row["vs_floor"] = median / floor if floor else None
            row["vs_biopython"] = median / biopython if biopython else None
            row["vs_gzip"] = median / gunzip if gunzip else None
            versus = (
                f"{row['vs_floor']:9.2f}"
                if floor
                else f"{row['vs_gzip']:>6.2f} gz"
                if gunzip
                else f"{'':9}"
            )
            print(
                f"{shape:9} {method:34} {median:11.1f}"
                f" {row['mb_per_s_min']:7.1f}-{row['mb_per_s_max']:<7.1f} {versus}"
                f" {row['vs_biopython'] or 0:12.2f} {row['peak_rss_mb']:11.1f}"
            )
        out["shapes"][shape] = {"fasta_mb": round(size / MB, 1), "methods": rows}
    return out


if __name__ == "__main__":
    main()
