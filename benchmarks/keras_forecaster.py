"""The seed example: the classic Keras LSTM next-step forecaster against genoflow's LSTM
forecaster (and a minimal raw PyTorch loop) on the same windows and settings.

    python benchmarks/keras_forecaster.py --keras-python .venv-keras/bin/python
    python benchmarks/keras_forecaster.py --keras-python .venv-keras/bin/python --reps 1 --epochs 20

The data: 12 noisy two-frequency sine series of 109 points (one "gene"), ingested and
preprocessed by genoflow (`ingest_matrix`, `preprocess_series`: input 9, horizon 1, target
level, z-score fitted on the training series, split by series): 10 training series give
exactly 1000 training windows of 9 steps; one series is validation, one test (100 windows each).
The windows (z-scored) are exported to an .npz that every side reads.

Sides, each in a fresh process, in alternating order per repetition:
  keras    benchmarks/keras_reference.py in the Keras venv (tensorflow-cpu): LSTM(64) ->
           Dense(1), Adam, MSE, batch 32, 100 epochs, `fit(verbose=0)`;
  genoflow `genoflow.tasks.train.train` on the preprocessed folder, as `genoflow train` runs it: the
           same network (hidden 64, one direction, `pool: last`: the dense layer reads the last
           output, 17,217 parameters on every side; `--pool flatten` gives the variant of the
           earlier runs, a dense layer on all 9 outputs), batch 32, 100 epochs, lr 1e-3, no weight
           decay, no LR schedule, no gradient clipping, early stopping out of reach (patience
           > epochs); Lightning with its validation pass, checkpoints and history every epoch;
  torch    a minimal raw PyTorch loop: nn.LSTM(1, 64) -> Linear(64, 1) on the last step, the
           windows in memory, Adam, MSE, batch 32, 100 epochs (the reference point of the issue:
           raw PyTorch was ~3.4x faster than Keras here).
Timed: the training call alone (Keras `fit`, genoflow `train()` including its test-split
predictions and output files, the torch loop) and the whole process (imports included).
Reported: median and min-max over repetitions, the ratios of Keras to genoflow and of genoflow
to raw torch (training call), and the final MSEs: last epoch's training loss and the test MSE
(z-scored units; every side predicts the same 100 test windows).
Writes benchmarks/results/keras_forecaster.json. Threads: --threads for every side. --vary-seed:
repetition i trains every side with seed --seed + i (the MSE columns then span the seeds).
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

from stats import fmt, summary  # benchmarks/stats.py: scripts run from this folder

STARTED = time.perf_counter()
HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SERIES, POINTS, INPUT = 12, 109, 9  # 10 training series x (109 - 9) windows = 1000


def make_data(root: Path, seed: int) -> tuple[Path, Path]:
    """(genoflow's preprocessed folder, the exported windows .npz)."""
    import numpy as np

    from genoflow.data import WindowBatches, WindowDataModule
    from genoflow.io.expression import ingest_matrix
    from genoflow.preprocess.series import preprocess_series

    rng = np.random.default_rng(seed)
    t = np.arange(POINTS)
    rows = []
    for _ in range(SERIES):
        phase, period = rng.uniform(0, 2 * np.pi, size=2), rng.uniform(15, 25)
        y = np.sin(2 * np.pi * t / period + phase[0]) + 0.5 * np.sin(2 * np.pi * t / 7.3 + phase[1])
        rows += list(y + rng.normal(0, 0.1, size=POINTS))
    (root / "series.tsv").write_text("x\n" + "".join(f"{v:.6f}\n" for v in rows))
    ingest_matrix(root / "series.tsv", root / "ingest", series_length=POINTS)
    data = root / "data"
    preprocess_series(
        root / "ingest", data, input=INPUT, horizon=1, target="level", multistep="direct"
    )
    module = WindowDataModule(data)
    arrays = {}
    for split in ("train", "test"):
        ids = module.indices(split)
        batch = WindowBatches(module.values, module.windows, ids, INPUT, 1)[list(range(len(ids)))]
        arrays[f"x_{split}"] = batch["inputs"].numpy()  # (n, 9, 1)
        arrays[f"y_{split}"] = batch["targets"].numpy()[:, 0, :]  # (n, 1)
    assert len(arrays["x_train"]) == 1000, arrays["x_train"].shape
    np.savez(root / "windows.npz", **arrays)
    return data, root / "windows.npz"


# ---------------------------------------------------------------------------- workers
def worker_genoflow(args) -> dict:
    import numpy as np
    import torch

    from genoflow.tasks.train import TrainConfig, load_model, train

    imported = time.perf_counter() - STARTED
    out = Path(tempfile.mkdtemp(prefix="genoflow-bench-keras-"))
    config = TrainConfig(
        max_epochs=args.epochs,
        batch_size=args.batch_size,
        lr=1e-3,
        weight_decay=0.0,
        lr_schedule="none",
        gradient_clip=0.0,
        patience=args.epochs + 1,
        accelerator="cpu",
    )
    model_args = {"hidden": args.hidden, "bidirectional": False, "pool": args.pool}
    started = time.perf_counter()
    info = train(
        args.data,
        out,
        model_name="lstm",
        model_type="lstm",
        model_args=model_args,
        train_config=config,
        seed=args.seed,
        threads=args.threads,
    )
    fit_seconds = time.perf_counter() - started
    # model.ckpt: the weights a user gets, those of the best epoch by val_loss
    module, _ = load_model(out / "model.ckpt")
    windows = np.load(args.windows)
    with torch.no_grad():
        predicted = module(torch.from_numpy(windows["x_test"])).numpy()[:, 0, :]
    history = (out / "history.csv").read_text().splitlines()
    header, last = history[0].split(","), history[-1].split(",")
    shutil.rmtree(out, ignore_errors=True)
    return {
        "side": "genoflow",
        "fit_seconds": fit_seconds,
        "final_train_mse": float(last[header.index("train_loss")]),
        "test_mse": float(np.mean((predicted - windows["y_test"]) ** 2)),
        "best_epoch": info["best_epoch"],
        "import_seconds": imported,
        "params": info["params"],
    }


def worker_torch(args) -> dict:
    import numpy as np
    import torch
    import torch.nn.functional as F
    from torch import nn

    imported = time.perf_counter() - STARTED
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    windows = np.load(args.windows)
    x, y = torch.from_numpy(windows["x_train"]), torch.from_numpy(windows["y_train"])

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm, self.dense = (
                nn.LSTM(1, args.hidden, batch_first=True),
                nn.Linear(args.hidden, 1),
            )

        def forward(self, x):
            return self.dense(self.lstm(x)[0][:, -1])

    model = Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    started = time.perf_counter()
    for _ in range(args.epochs):
        order, total = torch.randperm(len(x)), 0.0
        for i in range(0, len(x), args.batch_size):
            rows = order[i : i + args.batch_size]
            loss = F.mse_loss(model(x[rows]), y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(rows)
    fit_seconds = time.perf_counter() - started
    with torch.no_grad():
        predicted = model(torch.from_numpy(windows["x_test"])).numpy()
    return {
        "side": "torch",
        "fit_seconds": fit_seconds,
        "final_train_mse": total / len(x),
        "test_mse": float(np.mean((predicted - windows["y_test"]) ** 2)),
        "import_seconds": imported,
        "params": sum(p.numel() for p in model.parameters()),
    }


WORKERS = {"genoflow": worker_genoflow, "torch": worker_torch}


def run_side(side: str, args, data: Path, windows: Path, seed: int) -> dict:
    common = ["--epochs", str(args.epochs), "--batch-size", str(args.batch_size)]
    common += ["--threads", str(args.threads), "--seed", str(seed)]
    common += ["--hidden", str(args.hidden)]
    if side == "keras":
        command = [str(args.keras_python), str(HERE / "keras_reference.py"), str(windows), *common]
    else:
        command = [sys.executable, __file__, "--worker", side, "--data", str(data)]
        command += ["--windows", str(windows), "--pool", args.pool, *common]
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    started = time.perf_counter()
    process = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        sys.exit(f"{side} failed:\n{process.stdout[-2000:]}\n{process.stderr[-4000:]}")
    result = json.loads(process.stdout.strip().splitlines()[-1])
    result["process_seconds"] = wall
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--keras-python",
        type=Path,
        default=REPO / ".venv-keras" / "bin" / "python",
        help="python of a venv with tensorflow-cpu (make bench creates .venv-keras)",
    )
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--vary-seed",
        action="store_true",
        help="repetition i trains with seed --seed + i (the data stay those of --seed): the"
        " MSE columns then show the spread over seeds",
    )
    parser.add_argument("--sides", default="keras,genoflow,torch")
    parser.add_argument("--pool", default="last", help="genoflow's pooling (last, flatten, ...)")
    parser.add_argument("--results", type=Path, default=HERE / "results" / "keras_forecaster.json")
    parser.add_argument("--worker", choices=tuple(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--windows", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args)))
        return

    sides = args.sides.split(",")
    if "keras" in sides and not args.keras_python.exists():
        sys.exit(f"{args.keras_python}: no Keras venv (make bench creates .venv-keras)")
    root = Path(tempfile.mkdtemp(prefix="genoflow-bench-forecast-"))
    try:
        data, windows = make_data(root, args.seed)
        runs = []
        for rep in range(args.reps):
            order = sides if rep % 2 == 0 else sides[::-1]
            run = {}
            seed = args.seed + rep if args.vary_seed else args.seed
            for side in order:
                run[side] = run_side(side, args, data, windows, seed) | {"seed": seed}
                r = run[side]
                print(
                    f"  rep {rep} {side:<9} fit {r['fit_seconds']:6.1f} s  process"
                    f" {r['process_seconds']:6.1f} s  train MSE {r['final_train_mse']:.4f}"
                    f"  test MSE {r['test_mse']:.4f}"
                )
            runs.append(run)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    result = {"settings": vars(args) | {"keras_python": str(args.keras_python)}, "runs": runs}
    result["settings"] = {
        k: str(v) if isinstance(v, Path) else v for k, v in result["settings"].items()
    }
    for side in sides:
        result[side] = {
            key: summary([run[side][key] for run in runs])
            for key in ("fit_seconds", "process_seconds", "final_train_mse", "test_mse")
        }
        result[side]["params"] = runs[0][side]["params"]
    ratios = {}
    if {"keras", "genoflow"} <= set(sides):
        ratios["keras_over_genoflow_fit"] = summary(
            [r["keras"]["fit_seconds"] / r["genoflow"]["fit_seconds"] for r in runs]
        )
        ratios["keras_over_genoflow_process"] = summary(
            [r["keras"]["process_seconds"] / r["genoflow"]["process_seconds"] for r in runs]
        )
    if {"keras", "torch"} <= set(sides):
        ratios["keras_over_torch_fit"] = summary(
            [r["keras"]["fit_seconds"] / r["torch"]["fit_seconds"] for r in runs]
        )
    if {"genoflow", "torch"} <= set(sides):
        ratios["genoflow_over_torch_fit"] = summary(
            [r["genoflow"]["fit_seconds"] / r["torch"]["fit_seconds"] for r in runs]
        )
    result["ratios"] = ratios
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    result["when"] = time.strftime("%Y-%m-%d %H:%M:%S")
    if "keras" in sides:
        result["machine"]["tensorflow"] = runs[0]["keras"]["tensorflow"]

    print()
    print(
        f"LSTM {args.hidden} -> dense 1, {INPUT}-step windows, 1000 training windows, batch"
        f" {args.batch_size}, Adam, MSE, {args.epochs} epochs, {args.threads} threads;"
        f" median (min-max) over {args.reps} repetitions"
    )
    print(
        f"{'side':<10}{'params':>8}{'training s':>22}{'process s':>22}"
        f"{'final train MSE':>26}{'test MSE':>26}"
    )
    for side in sides:
        s = result[side]
        print(
            f"{side:<10}{s['params']:>8}{fmt(s['fit_seconds'], 1):>22}"
            f"{fmt(s['process_seconds'], 1):>22}{fmt(s['final_train_mse'], 4):>26}"
            f"{fmt(s['test_mse'], 4):>26}"
        )
    for name, s in ratios.items():
        print(f"{name:<30}{fmt(s, 2):>22}")
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.results}")


if __name__ == "__main__":
    main()
