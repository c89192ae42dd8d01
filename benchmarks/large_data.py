"""Data larger than memory: ingest and preprocess a generated multi-GB FASTA in bounded memory.

    python benchmarks/large_data.py --out-dir /tmp/genoflow-large            # 2 GB, 5.5 M records
    python benchmarks/large_data.py --out-dir /tmp/gf --size-gb 0.2 --records 500000 --keep

Steps, each stage in a fresh process whose own peak RSS is measured by /usr/bin/time:
  1. generate a FASTA by streaming vectorised numpy chunks: random DNA (fixed seed), the label
     (`pos` / `neg`) as the second header token, wrapped at 80 columns; at least --size-gb
     (GiB) and at least --records records;
  2. `python -m genoflow ingest` and `python -m genoflow preprocess` (wall time, MB/s, peak RSS);
  3. a short training check in its own process: Lightning trains a small CNN for
     --train-batches batches of tokens.npy (TokenDataModule, the data module `genoflow train`
     uses: it opens the arrays memory-mapped and reads token rows with os.pread), reporting RSS
     growth against the size of tokens.npy: the anonymous part (memory the process allocated)
     and the file-backed part (file pages mapped into the process); then, for comparison, the
     same number of batches read through the memory map (fancy indexing), which maps whole
     page-cache folios around each row into the process.
Prints a table and writes benchmarks/results/large_data.json. The data is deleted afterwards
unless --keep. This is a benchmark, not a test: it takes minutes and several GB of disk.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GiB = 1 << 30
MB = 1e6
LIMIT_BYTES = 1e9  # peak RSS of ingest and preprocess must stay under 1 GB
HEADER_PATTERN = r"^\S+\s+(\S+)"
WIDTH = 80  # FASTA line width
HEADER_DIGITS = 10
TIME = "/usr/bin/time"  # GNU time: -f %M prints the child's peak RSS in kilobytes


def generate_fasta(path: Path, size_bytes: int, records: int, seed: int) -> dict:
    """Write random DNA records (`>r0000000001 pos`) until both targets are met; vectorised."""
    rng = np.random.default_rng(seed)
    header_len = len(f">r{0:0{HEADER_DIGITS}d} pos\n")
    # Mean sequence length so that `records` records reach `size_bytes` (line breaks included).
    per_record = -(-size_bytes // records) - header_len
    mean = max(8, int(per_record * WIDTH / (WIDTH + 1)))
    spread = max(1, mean // 8)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    labels = np.frombuffer(b"posneg", dtype=np.uint8).reshape(2, 3)
    powers = 10 ** np.arange(HEADER_DIGITS - 1, -1, -1, dtype=np.int64)
    written = n = 0
    started = time.perf_counter()
    with open(path, "wb", buffering=1 << 22) as out:
        while n < records or written < size_bytes:
            count = 20_000
            lengths = rng.integers(mean - spread, mean + spread + 1, size=count)
            label = rng.integers(0, 2, size=count)
            lines = -(-lengths // WIDTH)
            sizes = header_len + lengths + lines
            offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
            buffer = np.full(int(sizes.sum()), ord("\n"), dtype=np.uint8)
            # headers: '>r' + zero-padded number + ' ' + label + '\n' (the '\n' is already there)
            header = np.empty((count, header_len - 1), dtype=np.uint8)
            header[:, 0], header[:, 1] = ord(">"), ord("r")
            numbers = np.arange(n, n + count, dtype=np.int64)
            header[:, 2 : 2 + HEADER_DIGITS] = (numbers[:, None] // powers) % 10 + ord("0")
            header[:, 2 + HEADER_DIGITS] = ord(" ")
            header[:, 3 + HEADER_DIGITS :] = labels[label]
            buffer[offsets[:, None] + np.arange(header_len - 1)] = header
            # bases: base j of a record goes after the header, one '\n' per WIDTH bases before it
            total = int(lengths.sum())
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
            j = np.arange(total, dtype=np.int64) - np.repeat(starts, lengths)
            position = np.repeat(offsets + header_len, lengths) + j + j // WIDTH
            buffer[position] = letters[rng.integers(0, 4, size=total, dtype=np.uint8)]
            out.write(buffer.tobytes())
            written += len(buffer)
            n += count
    seconds = time.perf_counter() - started
    return {"bytes": written, "records": n, "seconds": round(seconds, 2)}


def run_stage(name: str, command: list[str], input_bytes: int, log: Path, src: Path) -> dict:
    """Run one stage in a fresh process and measure its own peak RSS.

    The peak comes from /usr/bin/time, whose child is forked from that small program. (Reading
    ru_maxrss of a child forked from this script would not do: Linux counts the parent's peak
    RSS, at the fork, into the child's, so a stage would inherit the generator's peak.)
    """
    env = dict(os.environ, PYTHONPATH=str(src))
    peak_file = log.with_suffix(".maxrss")
    started = time.perf_counter()
    with open(log, "w") as handle:
        timed = [TIME, "-f", "%M", "-o", str(peak_file), *command]
        returncode = subprocess.call(timed, stdout=handle, stderr=subprocess.STDOUT, env=env)
    seconds = time.perf_counter() - started
    if returncode != 0:
        sys.exit(f"{name} failed ({returncode}); see {log}:\n{log.read_text()[-3000:]}")
    peak = int(peak_file.read_text().split()[-1]) * 1024  # kilobytes
    return {
        "stage": name,
        "input_mb": round(input_bytes / MB, 1),
        "seconds": round(seconds, 2),
        "mb_per_s": round(input_bytes / MB / seconds, 1),
        "peak_rss_mb": round(peak / MB, 1),
        "command": " ".join(command),
    }


TRAIN_CHECK = r"""
import json, resource, sys, time
import numpy as np

def status():
    fields = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                fields[key] = int(value.split()[0]) * 1024
    return fields

def mapped(path):
    # resident bytes of the memory maps of path: the tokens.npy pages in this process
    total, inside = 0, False
    with open("/proc/self/smaps") as handle:
        for line in handle:
            first = line.split(maxsplit=1)[0]
            if "-" in first and not first.endswith(":"):
                inside = line.rstrip().endswith(path)
            elif inside and first == "Rss:":
                total += int(line.split()[1]) * 1024
    return total

import torch, lightning as L
from genoflow.data import TokenDataModule
from genoflow.formats.files import read_json
from genoflow.tasks.modules import SequenceClassifier

data_dir, batches, batch_size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(2)
meta = read_json(f"{data_dir}/meta.json")
before = status()
data = TokenDataModule(data_dir, batch_size=batch_size)
assert isinstance(data.arrays["tokens"], np.memmap), type(data.arrays["tokens"])
loaded = status()
module = SequenceClassifier(
    "cnn", {"channels": 32, "layers": 2, "kernel_size": 9}, meta["alphabet"], meta["classes"],
    meta["max_length"],
)
trainer = L.Trainer(
    max_epochs=1, limit_train_batches=batches, limit_val_batches=max(1, batches // 10),
    accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
    enable_model_summary=False, num_sanity_val_steps=0,
)
started = time.perf_counter()
trainer.fit(module, datamodule=data)
seconds = time.perf_counter() - started
after = status()
print(json.dumps({
    "batches": batches, "batch_size": batch_size, "seconds": round(seconds, 2),
    "tokens_shape": list(data.arrays["tokens"].shape),
    "rss_before_data_mb": round(before["VmRSS"] / 1e6, 1),
    "rss_after_data_mb": round(loaded["VmRSS"] / 1e6, 1),
    "rss_after_training_mb": round(after["VmRSS"] / 1e6, 1),
    "rss_growth_mb": round((after["VmRSS"] - before["VmRSS"]) / 1e6, 1),
    "anon_growth_mb": round((after["RssAnon"] - before["RssAnon"]) / 1e6, 1),
    "file_backed_growth_mb": round((after["RssFile"] - before["RssFile"]) / 1e6, 1),
    "tokens_resident_mb": round(mapped(f"{data_dir}/tokens.npy") / 1e6, 1),
    "train_loss": float(trainer.callback_metrics.get("train_loss", float("nan"))),
}))
"""


# For comparison: the same number of random training batches read through the memory map
# (fancy indexing), as genoflow did before it read rows with os.pread: the kernel maps whole
# page-cache folios around each row read, and they count in the process's RSS.
MMAP_CHECK = r"""
import json, sys, time
import numpy as np
from genoflow.data import TokenDataModule

def rss():
    with open("/proc/self/status") as handle:
        return next(int(l.split()[1]) * 1024 for l in handle if l.startswith("VmRSS"))

data_dir, batches, batch_size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = TokenDataModule(data_dir, batch_size=batch_size)
tokens, train = data.arrays["tokens"], data.indices("train")
rng = np.random.default_rng(0)
before, started = rss(), time.perf_counter()
for _ in range(batches):
    rows = np.sort(rng.choice(train, batch_size, replace=False))
    batch = np.ascontiguousarray(tokens[rows])
print(json.dumps({
    "mmap_seconds": round(time.perf_counter() - started, 2),
    "mmap_rss_growth_mb": round((rss() - before) / 1e6, 1),
}))
"""


def train_check(data_dir: Path, batches: int, batch_size: int, log: Path, src: Path) -> dict:
    result = {}
    for script in (TRAIN_CHECK, MMAP_CHECK):
        result.update(_run_check(script, data_dir, batches, batch_size, log, src))
    return result


def _run_check(script, data_dir: Path, batches: int, batch_size: int, log: Path, src) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src))
    command = [sys.executable, "-c", script, str(data_dir), str(batches), str(batch_size)]
    with open(log, "a") as handle:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=handle, env=env)
        output, _ = process.communicate()
    if process.returncode != 0:
        sys.exit(f"training check failed; see {log}:\n{log.read_text()[-3000:]}")
    return json.loads(output.decode().strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, help="working folder (default: a new temp folder)")
    parser.add_argument("--size-gb", type=float, default=2.0, help="FASTA size in GiB (>=)")
    parser.add_argument("--records", type=int, default=5_500_000, help="records (>=)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-batches", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    parser.add_argument(
        "--src", type=Path, default=REPO / "src", help="genoflow source to run (to compare)"
    )
    parser.add_argument(
        "--results", type=Path, default=HERE / "results" / "large_data.json", help="JSON output"
    )
    args = parser.parse_args(argv)

    if not Path(TIME).is_file():
        sys.exit(f"{TIME} (GNU time) is needed to measure each stage's peak memory")
    out = args.out_dir or Path(tempfile.mkdtemp(prefix="genoflow-large-"))
    out.mkdir(parents=True, exist_ok=True)
    size_bytes = int(args.size_gb * GiB)
    free = shutil.disk_usage(out).free
    if free < 4 * size_bytes:  # FASTA, sequences.tsv, tokens.npy and some room
        sys.exit(f"{out}: {free / GiB:.1f} GiB free; need about {4 * size_bytes / GiB:.1f} GiB")
    fasta, ingested, preprocessed = out / "large.fa", out / "ingest", out / "preprocess"
    python = sys.executable
    try:
        print(f"generating {fasta} (>= {args.size_gb} GiB, >= {args.records:,} records) ...")
        generated = generate_fasta(fasta, size_bytes, args.records, args.seed)
        print(
            f"  {generated['bytes'] / MB:,.0f} MB, {generated['records']:,} records"
            f" in {generated['seconds']} s"
        )
        stages = []
        ingest_cmd = [python, "-m", "genoflow", "ingest", "--alphabet", "dna", "--fasta"]
        ingest_cmd += [str(fasta), "--label-pattern", HEADER_PATTERN, "--out", str(ingested)]
        print("ingest ...")
        log = out / "ingest.log"
        stages.append(run_stage("ingest", ingest_cmd, fasta.stat().st_size, log, args.src))
        table = ingested / "sequences.tsv"
        preprocess_cmd = [python, "-m", "genoflow", "preprocess", "--ingest", str(ingested)]
        preprocess_cmd += ["--out", str(preprocessed)]
        print("preprocess ...")
        log = out / "preprocess.log"
        stages.append(run_stage("preprocess", preprocess_cmd, table.stat().st_size, log, args.src))
        tokens_bytes = (preprocessed / "tokens.npy").stat().st_size
        print(f"training check ({args.train_batches} batches from the memory-mapped tokens) ...")
        training = train_check(
            preprocessed, args.train_batches, args.batch_size, out / "train_check.log", args.src
        )
        training["tokens_npy_mb"] = round(tokens_bytes / MB, 1)
        meta = json.loads((preprocessed / "meta.json").read_text())
        sizes = {
            "fasta_mb": round(fasta.stat().st_size / MB, 1),
            "sequences_tsv_mb": round(table.stat().st_size / MB, 1),
            "tokens_npy_mb": round(tokens_bytes / MB, 1),
        }
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)

    print()
    print(f"{'stage':<12}{'input MB':>10}{'seconds':>10}{'MB/s':>8}{'peak RSS MB':>13}")
    for row in stages:
        print(
            f"{row['stage']:<12}{row['input_mb']:>10,.0f}{row['seconds']:>10.1f}"
            f"{row['mb_per_s']:>8.1f}{row['peak_rss_mb']:>13,.0f}"
        )
    print(
        f"{'train':<12}{training['tokens_npy_mb']:>10,.0f}{training['seconds']:>10.1f}"
        f"{'':>8}{training['rss_after_training_mb']:>13,.0f}"
        f"   ({training['batches']} batches; RSS growth {training['rss_growth_mb']} MB:"
        f" anonymous {training['anon_growth_mb']}, file-backed"
        f" {training['file_backed_growth_mb']}, of which tokens.npy pages"
        f" {training['tokens_resident_mb']}; tokens.npy {training['tokens_npy_mb']:,.0f} MB)"
    )
    print(
        f"{'(mmap)':<12}{'':>10}{training['mmap_seconds']:>10.1f}{'':>8}{'':>13}"
        f"   (the same number of batches read through the memory map instead: RSS growth"
        f" {training['mmap_rss_growth_mb']} MB)"
    )
    ok = all(row["peak_rss_mb"] * MB < LIMIT_BYTES for row in stages)
    result = {
        "generated": generated,
        "sizes": sizes,
        "records": meta["records"],
        "max_length": meta["max_length"],
        "stages": stages,
        "training": training,
        "peak_rss_under_1GB": ok,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "kernel": platform.release(),
        },
        "src": str(args.src),
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.results}; peak RSS of ingest and preprocess under 1 GB: {ok}")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
