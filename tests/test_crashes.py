"""Crashes and faults a user meets: a stage killed with SIGKILL at a random point (the next
run completes with the same outputs, byte for byte, and no stray files), a disk that fills up,
an input deleted while a stage runs.

Set GENOFLOW_KILL_SEED to replay a failing run's kill times (each failure prints its seed).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import genoflow_env, write_motif_fasta

PATTERN = r"^\S+\s+(\S+)"
SEED = int(os.environ.get("GENOFLOW_KILL_SEED", random.SystemRandom().randrange(10**6)))
RUN = "results/d/cnn/seed0"
# stage -> (command, the outputs it writes: a folder's whole content, or files)
STAGES = {
    "ingest": (
        [
            "ingest",
            "--alphabet",
            "dna",
            "--fasta",
            "big.fa",
            "--label-pattern",
            PATTERN,
            "--out",
            "results/d/ingest",
        ],
        ["results/d/ingest"],
    ),
    "preprocess": (
        ["preprocess", "--ingest", "results/d/ingest", "--out", "results/d/preprocess"],
        ["results/d/preprocess"],
    ),
    "train": (
        [
            "train",
            "--data",
            "results/d/preprocess",
            "--out",
            RUN,
            "--model",
            "cnn",
            "--type",
            "cnn",
            "--model-args",
            '{"channels": 8}',
            "--train",
            '{"max_epochs": 4, "batch_size": 256}',
        ],
        [RUN],
    ),
    "evaluate": (
        [
            "evaluate",
            "--predictions",
            f"{RUN}/predictions.tsv",
            "--out",
            f"{RUN}/metrics.json",
            "--bootstrap",
            "2000",
        ],
        [RUN],
    ),
    "summarize": (["summarize", "--runs", RUN, "--out", "results/d/summary.tsv"], ["results/d"]),
    "figures": (
        ["figures", "--runs", RUN, "--out-dir", "results/d/figures"],
        ["results/d/figures"],
    ),
    "report": (
        ["report", "--results", "results", "--datasets", "d", "--out", "results/report/index.html"],
        ["results/report"],
    ),
}
# The files each stage writes (the rest of a folder it writes into is another stage's).
# (Lightning's own resumable checkpoints in checkpoints/ hold the run's timings: their names
# are compared, their bytes are not.)
WRITES = {
    "train": ["model.ckpt", "history.csv", "predictions.tsv", "train.json"],
    "evaluate": ["metrics.json"],
    "summarize": ["summary.tsv", "comparison.json"],
}


def genoflow(cwd: Path, args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "genoflow", *args],
        cwd=cwd,
        env=genoflow_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def finish(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    """Every stage run once, undisturbed, in order; with each stage's wall time."""
    root = tmp_path_factory.mktemp("reference")
    write_motif_fasta(root / "big.fa", n=20_000, length=100)
    seconds = {}
    for stage, (args, _) in STAGES.items():
        started = time.perf_counter()
        finish(genoflow(root, args))
        seconds[stage] = time.perf_counter() - started
    return {"root": root, "seconds": seconds}


def snapshot(root: Path, stage: str) -> dict[str, bytes]:
    """Relative path -> content of every file the stage wrote, made comparable: the columns
    that hold a run's own timings (history.csv seconds, train.json times, the report's
    'generated' line) are left out, everything else byte for byte."""
    files = {}
    for output in STAGES[stage][1]:
        base = root / output
        names = WRITES.get(stage)
        paths = [base / n for n in names] if names else [base]
        for path in paths:
            for file in [path] if path.is_file() else sorted(path.rglob("*")):
                if file.is_file():
                    files[str(file.relative_to(root))] = comparable(file)
    return files


def comparable(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name == "history.csv":
        rows = [line.split(",") for line in data.decode().splitlines()]
        return "\n".join(",".join(r[:1] + r[2:]) for r in rows).encode()
    if path.name == "train.json":
        import json

        info = json.loads(data)
        for key in ("train_seconds", "wall_seconds_this_run", "resumed"):
            info.pop(key, None)
        return json.dumps(info, sort_keys=True).encode()
    if path.name == "index.html":
        lines = data.split(b"\n")  # (the report's time of writing is on two lines)
        return b"\n".join(line for line in lines if b"generated" not in line.lower())
    return data


def every_name(root: Path, stage: str) -> set[str]:
    """Every file and folder, hidden ones included, in the folders the stage writes to (a
    TensorBoard event file is named by its time, host and pid: by its folder here)."""
    return {
        str(path.relative_to(root).parent / "events.out.tfevents.*")
        if path.name.startswith("events.out.tfevents.")
        else str(path.relative_to(root))
        for output in STAGES[stage][1]
        for path in (root / output).rglob("*")
    }


@pytest.mark.parametrize("stage", list(STAGES))
def test_a_stage_killed_at_a_random_point_reruns_to_the_same_outputs(reference, tmp_path, stage):
    rng = random.Random(f"{SEED}-{stage}")
    work = tmp_path / "work"
    shutil.copytree(reference["root"], work)
    expected = snapshot(work, stage)
    names = every_name(work, stage)
    for output in STAGES[stage][1]:  # what the stage writes is gone before it runs again
        for name in WRITES.get(stage, [None]):
            path = work / output / name if name else work / output
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    if stage == "train":
        shutil.rmtree(work / RUN / "checkpoints")
    args = STAGES[stage][0]
    delay = rng.uniform(0.2, max(0.3, 0.95 * reference["seconds"][stage]))
    process = genoflow(work, args)
    time.sleep(delay)
    os.killpg(process.pid, signal.SIGKILL)  # the stage and anything it started
    process.communicate()
    took = reference["seconds"][stage]
    note = f"(killed after {delay:.2f} s of {took:.2f}; GENOFLOW_KILL_SEED={SEED})"
    finish(genoflow(work, args))
    assert snapshot(work, stage) == expected, f"outputs differ {note}"
    assert every_name(work, stage) == names, f"stray or missing files {note}"


def test_a_full_disk_is_named_and_leaves_nothing(reference, tmp_path):
    """Ingest into a 256 kB file system: one clear error naming the file, exit 1, and no
    output or temporary file left there."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    full = tmp_path / "full"
    full.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(full)])
    if mounted.returncode != 0:
        pytest.skip("this machine does not allow mounting a tmpfs")
    try:
        args = [*STAGES["ingest"][0][:-1], str(full / "ingest")]
        process = genoflow(reference["root"], args)
        _, err = process.communicate(timeout=600)
        assert process.returncode == 1, err
        assert "Traceback" not in err
        assert f"{full / 'ingest'}" in err and "No space left on device" in err, err
        assert list(full.rglob("*")) == []
    finally:
        subprocess.run(["umount", str(full)], check=True)


def test_an_input_deleted_while_ingest_runs_is_named(reference, tmp_path):
    """The second FASTA file is deleted while ingest reads the first: one clear error naming
    it, exit 1, nothing left."""
    shutil.copy(reference["root"] / "big.fa", tmp_path / "first.fa")
    write_motif_fasta(tmp_path / "second.fa", n=50, seed=1)
    out = tmp_path / "ingest"
    process = genoflow(
        tmp_path,
        [
            "ingest",
            "--alphabet",
            "dna",
            "--fasta",
            "first.fa",
            "second.fa",
            "--label-pattern",
            PATTERN,
            "--out",
            str(out),
        ],
    )
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".sequences.tsv.~") for p in out.glob(".*")):
        assert process.poll() is None and time.monotonic() < deadline, "ingest never started"
        time.sleep(0.002)
    (tmp_path / "second.fa").unlink()  # while the first file is being read
    _, err = process.communicate(timeout=600)
    assert process.returncode == 1, err
    assert "Traceback" not in err
    assert "second.fa" in err, err
    assert not out.exists() or list(out.rglob("*")) == []
