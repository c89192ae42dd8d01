"""Training speed: genoflow's full training path against a minimal raw PyTorch loop, and the
cost of each model family at several sequence lengths.

    python benchmarks/training.py                          # both parts, defaults below
    python benchmarks/training.py --part throughput --reps 2 --epochs 3 --train-batches 8
    python benchmarks/training.py --part families --lengths 200,1000 --steps 3
    python benchmarks/training.py --part families --device cuda --precision 32-true,bf16-mixed
    python benchmarks/training.py --part throughput --device cuda --precision 32-true,bf16-mixed
    python benchmarks/training.py --part fixed --reps 3 --epochs 10

Part `throughput` (LSTM, batch 128, length 200): random DNA with random binary labels is
ingested and preprocessed by genoflow into memory-mapped arrays. Each repetition runs, in
fresh processes and in alternating order,
  raw      a minimal PyTorch loop: the same `SequenceModel` (fixed one-hot embedding -> LSTM ->
           pool -> linear), token and label tensors in memory, a shuffled permutation sliced
           into batches of 128, Adam, cross-entropy; nothing else;
  genoflow `genoflow.tasks.train.train` exactly as `genoflow train` calls it, with the default
           `TrainConfig` (Lightning; TokenDataModule reading batches of the memory-mapped
           token array; one-hot on the fly; AdamW, gradient clipping, deterministic mode,
           validation, early stopping, checkpoints, the log progress bar, history.csv).
Both train the same number of epochs over the same training split, on --device, once per
--precision (the raw loop under torch.autocast for a mixed precision, genoflow with Lightning's
`precision`; on CUDA the raw loop's tensors sit on the GPU from the start); samples/s is
(training sequences per epoch) / (epoch seconds), over every epoch but the first (warm-up).
genoflow's epoch seconds are History's (from the start of a training epoch to its end, which
includes its validation pass, over 2 % of the records, and the checkpoint writes): the whole
cost a user pays per epoch. Reported: median and min-max over repetitions of each side's
median epoch rate, and the ratio genoflow / raw per repetition (pairs run back to back).

Part `families`: for each model family with its default hyperparameters (genoflow.models) and
each length, train steps (forward, backward, Adam) on random tokens, batch --family-batch, in a
fresh process per (family, length): seconds per 1000 sequences (median and min-max over
--steps timed steps after one warm-up step) and peak memory (CPU: the process's peak RSS, and
its growth over the RSS before the first step; CUDA: torch.cuda.max_memory_allocated).

Part `fixed` (the fixed cost of the training loop): a model too small to cost anything (LSTM,
hidden 2, one direction, length 8, batch 8) trains, on both sides as in `throughput`, three
times: with the smaller of --fixed-batches (default 4,64) training batches per epoch for
--epochs and for four times as many, and with the larger for --epochs. Timed: the whole
training call (raw: its epochs; genoflow: `train()`, set-up, checkpoints and outputs
included). The differences give, per side, per_step (one optimizer step with almost no
compute) and per_epoch (what an epoch costs beside its steps; genoflow: validation,
checkpoint writes, history, progress). Reported: both per side and genoflow's excess over raw,
per repetition (median and min-max).

Threads: --threads per side, default 1 (on a shared 2-core machine, two OpenMP threads per
side slowed down tenfold whenever another process took a core: spinning threads wait for a
descheduled one). Writes benchmarks/results/training.json (or --results). Not a test: never
fails for speed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stats import fmt, summary  # benchmarks/stats.py: scripts run from this folder

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FAMILIES = ("rnn", "lstm", "gru", "transformer", "cnn")


# ---------------------------------------------------------------------------- the data
def make_dataset(root: Path, records: int, length: int, seed: int) -> Path:
    """Random DNA of one length with random pos/neg labels, ingested and preprocessed."""
    import numpy as np

    from genoflow.io.ingest import ingest
    from genoflow.io.sources import FastaInput
    from genoflow.preprocess.sequences import preprocess

    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    bases = letters[rng.integers(0, 4, size=(records, length))]
    labels = rng.integers(0, 2, size=records)
    with open(root / "random.fa", "w") as out:
        for i in range(records):
            out.write(f">r{i} {'pos' if labels[i] else 'neg'}\n{bases[i].tobytes().decode()}\n")
    ingest(
        [FastaInput(root / "random.fa")],
        root / "ingest",
        alphabet="dna",
        label_pattern=r"^\S+\s+(\S+)",
    )
    preprocess(root / "ingest", root / "data", val=0.02, test=0.02)
    return root / "data"


# ---------------------------------------------------------------------------- workers
# Each measurement runs in a fresh process (`--worker ...`) so that neither side inherits the
# other's state (Lightning's deterministic mode is process-wide, allocator caches, warm-up).
def worker_raw(args) -> dict:
    """A minimal raw PyTorch loop over in-memory tensors: the reference."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from genoflow.formats.arrays import load_arrays
    from genoflow.formats.files import read_json
    from genoflow.models.build import token_model
    from genoflow.registry import SPLIT_CODES

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    meta = read_json(args.data / "meta.json")
    arrays = load_arrays(args.data)
    train = np.flatnonzero(arrays["split"] == SPLIT_CODES["train"])
    # in memory, on the device already: the raw loop pays no transfer either (lengths too: in
    # two H200 runs, on two machines, the raw loop was quicker so than with them on the host)
    tokens = torch.from_numpy(np.ascontiguousarray(arrays["tokens"][train])).to(device)
    labels = torch.from_numpy(arrays["labels"][train].astype(np.int64)).to(device)
    lengths = torch.from_numpy(arrays["lengths"][train].astype(np.int64)).to(device)
    model = token_model(
        "lstm",
        json.loads(args.model_args),
        meta["alphabet"],
        len(meta["classes"]),
        meta["max_length"],
    ).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    autocast = {"dtype": _autocast_dtype(args.precision)}
    autocast["enabled"] = autocast["dtype"] is not None
    model.train()
    seconds = []
    for _ in range(args.epochs):
        started = time.perf_counter()
        order = torch.randperm(len(tokens), device=device)
        for i in range(0, len(order), args.batch_size):
            rows = order[i : i + args.batch_size]
            with torch.autocast(device.type, **autocast):
                logits = model(tokens[rows], lengths[rows])
            loss = F.cross_entropy(logits.float(), labels[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - started)
    return {"side": "raw", "train_samples": len(tokens), "epoch_seconds": seconds}


def worker_genoflow(args) -> dict:
    """genoflow's full training path, as `genoflow train` runs it."""
    import csv

    from genoflow.tasks.train import TrainConfig, train

    out = Path(tempfile.mkdtemp(prefix="genoflow-bench-run-"))
    config = TrainConfig(
        max_epochs=args.epochs,
        batch_size=args.batch_size,
        patience=args.epochs + 1,  # train every epoch; early stopping still runs
        accelerator="gpu" if args.device == "cuda" else "cpu",
        precision=args.precision,
    )
    info = train(
        args.data,
        out,
        model_name="lstm",
        model_type="lstm",
        model_args=json.loads(args.model_args),
        train_config=config,
        seed=args.seed,
        threads=args.threads,
    )
    with open(out / "history.csv") as handle:
        seconds = [float(row["seconds"]) for row in csv.DictReader(handle)]
    from genoflow.formats.arrays import load_arrays
    from genoflow.registry import SPLIT_CODES

    arrays = load_arrays(args.data)
    n_train = int((arrays["split"] == SPLIT_CODES["train"]).sum())
    import shutil

    shutil.rmtree(out, ignore_errors=True)
    return {
        "side": "genoflow",
        "train_samples": n_train,
        "epoch_seconds": seconds,
        "wall_seconds": info["wall_seconds_this_run"],
    }


def worker_steps(args) -> dict:
    """Training steps of one family at one length on random tokens: seconds per step, peak
    memory."""
    import torch
    import torch.nn.functional as F

    from genoflow.models.build import token_model

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    model = token_model(args.family, {}, "dna", 2, args.length).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    tokens = torch.randint(1, 5, (args.batch_size, args.length), dtype=torch.uint8, device=device)
    lengths = torch.full((args.batch_size,), args.length, device=device)
    labels = torch.randint(0, 2, (args.batch_size,), device=device)
    dtype = _autocast_dtype(args.precision)

    def step() -> None:
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            loss = F.cross_entropy(model(tokens, lengths).float(), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    rss_before = _rss_bytes()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    step()  # warm-up: allocations, kernel selection
    sync()
    seconds = []
    for _ in range(args.steps):
        started = time.perf_counter()
        step()
        sync()
        seconds.append(time.perf_counter() - started)
    result = {
        "family": args.family,
        "length": args.length,
        "batch_size": args.batch_size,
        "device": args.device,
        "precision": args.precision,
        "params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "step_seconds": seconds,
    }
    if device.type == "cuda":
        result["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 1e6
        result["gpu"] = torch.cuda.get_device_name()
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        result["peak_rss_mb"] = peak / 1e6
        result["rss_growth_mb"] = (peak - rss_before) / 1e6
    return result


def _rss_bytes() -> int:
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) * 1024 for line in handle if line.startswith("VmRSS"))


def _autocast_dtype(precision: str):
    """Lightning's mixed-precision name -> the dtype torch.autocast runs in; None: 32-true."""
    import torch

    return {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}.get(precision)


WORKERS = {"raw": worker_raw, "genoflow": worker_genoflow, "steps": worker_steps}


def run_worker(
    kind: str, args, allow_fail: bool = False, src: Path | None = None, **options
) -> dict | None:
    command = [sys.executable, __file__, "--worker", kind, "--threads", str(args.threads)]
    command += ["--seed", str(args.seed)]
    for key, value in options.items():
        command += [f"--{key.replace('_', '-')}", str(value)]
    env = dict(os.environ, PYTHONPATH=str(src or args.src))
    process = subprocess.run(command, capture_output=True, text=True, env=env)
    if process.returncode != 0:
        message = (
            f"worker {kind} {options} failed:\n{process.stdout[-2000:]}{process.stderr[-3000:]}"
        )
        if allow_fail:  # e.g. a kernel missing for one precision on one GPU: report, go on
            print(message, file=sys.stderr)
            return None
        sys.exit(message)
    return json.loads(process.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------- the parts
def throughput(args, precision: str) -> dict:
    root = Path(tempfile.mkdtemp(prefix="genoflow-bench-train-"))
    # train split = 96 % of the records: enough records for --train-batches full batches
    records = int(args.train_batches * args.batch_size / 0.96) + 2
    print(
        f"throughput ({args.device}, {precision}): preparing {records} random DNA records"
        f" of length {args.length} ..."
    )
    data = make_dataset(root, records, args.length, args.seed)
    options = dict(
        data=data,
        epochs=args.epochs,
        batch_size=args.batch_size,
        model_args=args.model_args,
        device=args.device,
        precision=precision,
    )
    runs = []
    sides = ["raw", "genoflow"] + (["genoflow_compare"] if args.compare_src else [])
    for rep in range(args.reps):
        order = sides if rep % 2 == 0 else sides[::-1]
        pair = {}
        for side in order:
            if side == "genoflow_compare":  # the same path from another source tree
                result = run_worker("genoflow", args, src=args.compare_src, **options)
            else:
                result = run_worker(side, args, **options)
            timed = result["epoch_seconds"][1:]  # the first epoch is warm-up
            result["samples_per_s"] = result["train_samples"] / statistics.median(timed)
            pair[side] = result
            print(
                f"  rep {rep} {side:<9} {result['samples_per_s']:7.1f} samples/s"
                f"  (epochs {', '.join(f'{s:.2f}' for s in result['epoch_seconds'])} s)"
            )
        pair["ratio"] = pair["genoflow"]["samples_per_s"] / pair["raw"]["samples_per_s"]
        if args.compare_src:
            raw = pair["raw"]["samples_per_s"]
            pair["ratio_compare"] = pair["genoflow_compare"]["samples_per_s"] / raw
        runs.append(pair)
    import shutil

    shutil.rmtree(root, ignore_errors=True)
    result = {
        "model": {"type": "lstm", **json.loads(args.model_args)},
        "device": args.device,
        "precision": precision,
        "batch_size": args.batch_size,
        "length": args.length,
        "train_samples": runs[0]["raw"]["train_samples"],
        "epochs": args.epochs,
        "reps": args.reps,
        "raw_samples_per_s": summary([r["raw"]["samples_per_s"] for r in runs]),
        "genoflow_samples_per_s": summary([r["genoflow"]["samples_per_s"] for r in runs]),
        "ratio_genoflow_over_raw": summary([r["ratio"] for r in runs]),
        "goal": ">= 0.95",
        "src": str(args.src),
        "runs": runs,
    }
    if args.compare_src:
        result["compare_src"] = str(args.compare_src)
        result["compare_samples_per_s"] = summary(
            [r["genoflow_compare"]["samples_per_s"] for r in runs]
        )
        result["ratio_compare_over_raw"] = summary([r["ratio_compare"] for r in runs])
    print()
    print(
        f"LSTM {result['model']}, batch {args.batch_size}, length {args.length},"
        f" {result['train_samples']} training sequences, {args.epochs} epochs (first excluded),"
        f" {args.reps} alternating repetitions; {args.device}, {precision};"
        " median (min-max)"
    )
    print(f"{'':<28}{'samples/s':>24}")
    print(f"{'raw PyTorch loop':<28}{fmt(result['raw_samples_per_s']):>24}")
    print(f"{'genoflow train()':<28}{fmt(result['genoflow_samples_per_s']):>24}")
    ratio = fmt(result["ratio_genoflow_over_raw"], 3)
    print(f"{'ratio genoflow / raw':<28}{ratio:>24}   (goal >= 0.95)")
    if args.compare_src:
        print(f"{'genoflow, --compare-src':<28}{fmt(result['compare_samples_per_s']):>24}")
        ratio = fmt(result["ratio_compare_over_raw"], 3)
        print(f"{'ratio --compare-src / raw':<28}{ratio:>24}   ({args.compare_src})")
    return result


FIXED_MODEL = '{"hidden": 2, "bidirectional": false}'
FIXED_LENGTH, FIXED_BATCH = 8, 8


def fixed_cost(args) -> dict:
    """Per-step and per-epoch cost of each side's loop, with a model that costs ~nothing."""
    sizes = [int(n) for n in args.fixed_batches.split(",")]
    root = Path(tempfile.mkdtemp(prefix="genoflow-bench-fixed-"))
    print(
        f"fixed cost: a tiny LSTM {FIXED_MODEL}, length {FIXED_LENGTH}, batch {FIXED_BATCH};"
        f" {' and '.join(map(str, sizes))} training batches per epoch"
    )
    datasets = {}
    for n in sizes:
        records = int(n * FIXED_BATCH / 0.96) + 2
        (root / str(n)).mkdir()
        datasets[n] = make_dataset(root / str(n), records, FIXED_LENGTH, args.seed)
    small, large = sizes
    runs = []
    for rep in range(args.reps):
        run: dict = {}
        for side in ["raw", "genoflow"] if rep % 2 == 0 else ["genoflow", "raw"]:
            total = {}
            for n, epochs in ((small, args.epochs), (large, args.epochs), (small, 4 * args.epochs)):
                result = run_worker(
                    side,
                    args,
                    data=datasets[n],
                    epochs=epochs,
                    batch_size=FIXED_BATCH,
                    model_args=FIXED_MODEL,
                    device="cpu",
                    precision="32-true",
                )
                steps = -(-result["train_samples"] // FIXED_BATCH)
                seconds = result.get("wall_seconds", sum(result["epoch_seconds"]))
                total[(n, epochs)] = (steps, seconds)
            (steps_s, t_s), (steps_l, t_l), (_, t_4) = total.values()
            per_step = (t_l - t_s) / (args.epochs * (steps_l - steps_s))
            per_epoch = (t_4 - t_s) / (3 * args.epochs) - steps_s * per_step
            run[side] = {
                "seconds": {f"{n} batches x {e} epochs": t for (n, e), (_, t) in total.items()},
                "per_step_ms": 1e3 * per_step,
                "per_epoch_ms": 1e3 * per_epoch,
            }
            print(
                f"  rep {rep} {side:<9} per step {run[side]['per_step_ms']:6.2f} ms"
                f"  per epoch {run[side]['per_epoch_ms']:7.1f} ms"
            )
        for key in ("per_step_ms", "per_epoch_ms"):
            run[f"excess_{key}"] = run["genoflow"][key] - run["raw"][key]
        runs.append(run)
    import shutil

    shutil.rmtree(root, ignore_errors=True)
    result = {
        "model": json.loads(FIXED_MODEL),
        "length": FIXED_LENGTH,
        "batch_size": FIXED_BATCH,
        "batches_per_epoch": sizes,
        "epochs": args.epochs,
        "reps": args.reps,
        "runs": runs,
    }
    for side in ("raw", "genoflow"):
        for key in ("per_step_ms", "per_epoch_ms"):
            result[f"{side}_{key}"] = summary([r[side][key] for r in runs])
    for key in ("per_step_ms", "per_epoch_ms"):
        result[f"excess_{key}"] = summary([r[f"excess_{key}"] for r in runs])
    result["goal"] = "excess per step <= 1 ms"
    print()
    print(f"{'':<22}{'per step, ms':>22}{'per epoch, ms':>24}")
    for side, label in (("raw", "raw PyTorch loop"), ("genoflow", "genoflow train()")):
        print(
            f"{label:<22}{fmt(result[side + '_per_step_ms'], 2):>22}"
            f"{fmt(result[side + '_per_epoch_ms'], 1):>24}"
        )
    print(
        f"{'genoflow - raw':<22}{fmt(result['excess_per_step_ms'], 2):>22}"
        f"{fmt(result['excess_per_epoch_ms'], 1):>24}   (goal: <= 1 ms per step)"
    )
    return result


def families(args) -> dict:
    rows, failed = [], []
    precisions = args.precision.split(",")
    for family in args.families.split(","):
        for length in (int(x) for x in args.lengths.split(",")):
            for precision in precisions:
                result = run_worker(
                    "steps",
                    args,
                    allow_fail=True,
                    family=family,
                    length=length,
                    batch_size=args.family_batch,
                    steps=args.steps,
                    device=args.device,
                    precision=precision,
                )
                if result is None:
                    failed.append({"family": family, "length": length, "precision": precision})
                    print(f"  {family:<12}{length:>6}  {precision:<11} FAILED (see above)")
                    continue
                per_1k = [s / result["batch_size"] * 1000 for s in result["step_seconds"]]
                result["seconds_per_1k"] = summary(per_1k)
                result["samples_per_s"] = summary(
                    [result["batch_size"] / s for s in result["step_seconds"]]
                )
                rows.append(result)
                if "peak_gpu_mb" in result:
                    memory = f"peak GPU {result['peak_gpu_mb']:8.0f} MB"
                else:
                    growth = result["rss_growth_mb"]
                    memory = f"peak RSS {result['peak_rss_mb']:6.0f} MB (+{growth:.0f})"
                print(
                    f"  {family:<12}{length:>6}  {precision:<11}"
                    f" {fmt(result['seconds_per_1k'], 2):>22} s/1k seqs"
                    f"  {fmt(result['samples_per_s'], 0):>18} samples/s  {memory}"
                )
    return {
        "batch_size": args.family_batch,
        "steps": args.steps,
        "device": args.device,
        "gpu": rows[0].get("gpu") if rows else None,
        "rows": rows,
        "failed": failed,
    }


def print_families(result: dict) -> None:
    print()
    for f in result["failed"]:
        print(f"FAILED: {f['family']} length {f['length']} {f['precision']}")
    device = result["gpu"] or result["device"]
    print(
        f"training steps, batch {result['batch_size']}, default hyperparameters, device"
        f" {device}; median (min-max) over {result['steps']} steps"
    )
    cuda = result["device"] == "cuda"
    memory = "peak GPU MB" if cuda else "peak RSS MB (growth)"
    print(
        f"{'family':<12}{'length':>7}  {'precision':<11}{'s / 1k sequences':>24}"
        f"{'samples/s':>20}  {memory}"
    )
    for r in result["rows"]:
        mem = (
            f"{r['peak_gpu_mb']:.0f}"
            if cuda
            else f"{r['peak_rss_mb']:.0f} (+{r['rss_growth_mb']:.0f})"
        )
        print(
            f"{r['family']:<12}{r['length']:>7}  {r['precision']:<11}"
            f"{fmt(r['seconds_per_1k'], 2):>24}{fmt(r['samples_per_s'], 0):>20}  {mem}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("all", "throughput", "families", "fixed"), default="all")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (both sides)")
    parser.add_argument("--seed", type=int, default=0)
    # throughput
    parser.add_argument("--reps", type=int, default=3, help="alternating repetitions")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (first excluded)")
    parser.add_argument("--train-batches", type=int, default=8, help="training batches/epoch")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument(
        "--model-args",
        default='{"hidden": 64, "bidirectional": true}',
        help="LSTM hyperparameters (JSON), the same on both sides",
    )
    parser.add_argument(
        "--fixed-batches", default="4,64", help="fixed: training batches per epoch, two sizes"
    )
    # families
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--lengths", default="200,1000,2000")
    parser.add_argument("--family-batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=2, help="timed steps per (family, length)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--precision", default="32-true", help="comma-separated: 32-true,bf16-mixed"
    )
    parser.add_argument("--results", type=Path, default=HERE / "results" / "training.json")
    parser.add_argument(
        "--src", type=Path, default=REPO / "src", help="genoflow source to run (to compare)"
    )
    parser.add_argument(
        "--compare-src", type=Path, help="throughput: also run genoflow from this source tree"
    )
    # internal: one measurement in this process
    parser.add_argument("--worker", choices=tuple(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--family", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(WORKERS[args.worker](args)))
        return
    import torch

    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "threads": args.threads,
            "python": platform.python_version(),
            "torch": torch.__version__,
            "processor": platform.processor() or platform.machine(),
        },
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if args.part in ("all", "throughput"):
        runs = [throughput(args, precision) for precision in args.precision.split(",")]
        result["throughput"] = runs[0] if len(runs) == 1 else runs
    if args.part in ("all", "fixed"):
        print()
        result["fixed"] = fixed_cost(args)
    if args.part in ("all", "families"):
        print("\nfamilies: training steps per model family and length ...")
        result["families"] = families(args)
        print_families(result["families"])
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.results}")


if __name__ == "__main__":
    main()
