"""Reruns, caching and parallel training, each through the real `snakemake`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml
from conftest import REPO, genoflow_env
from test_workflow import make_project, snakemake

pytestmark = pytest.mark.e2e


def one_model_project(root, model: dict, train: dict, per_class: int = 60):
    project = make_project(root, per_class=per_class)
    config = yaml.safe_load((project / "config.yaml").read_text())
    config["models"] = {"lstm": model}
    config["train"].update(train)
    (project / "config.yaml").write_text(yaml.safe_dump(config))
    return project


def test_ingest_and_preprocess_come_from_the_cache_in_a_second_project(tmp_path):
    """Same inputs and params in another folder: the cached stages are not run again."""
    cache = tmp_path / "cache"
    cache.mkdir()
    env = {**genoflow_env(), "SNAKEMAKE_OUTPUT_CACHE": str(cache)}
    model = {"type": "lstm", "hidden": 4}
    targets = ["results/tiny/preprocess/meta.json"]
    for name in ("first", "second"):
        project = one_model_project(tmp_path / name, model, {"max_epochs": 1})
        result = subprocess.run(
            ["snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(project),
             "--cores", "1", *targets, "--cache"],  # (--cache would take the targets as rules)
            capture_output=True, text=True, env=env, timeout=600,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
    first, second = tmp_path / "first", tmp_path / "second"
    for stage, output in (
        ("ingest", "ingest/summary.json"),
        ("preprocess", "preprocess/meta.json"),
    ):
        assert (first / "logs" / stage / "tiny.log").read_text()  # the first project ran it,
        assert not (second / "logs" / stage / "tiny.log").read_text()  # the second did not:
        linked = second / "results" / "tiny" / output  # its outputs point into the cache
        assert linked.is_symlink() and linked.resolve().parent == cache.resolve()
    meta = json.loads((second / "results/tiny/preprocess/meta.json").read_text())
    assert meta["records"] > 0


def test_a_killed_training_job_resumes_from_its_last_checkpoint(tmp_path):
    """kill -9 of Snakemake and its training job mid-run; the rerun resumes, not restarts."""
    project = one_model_project(
        tmp_path, {"type": "lstm", "hidden": 8}, {"max_epochs": 12, "patience": 50}
    )
    command = ["snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(project),
               "--cores", "1", "results/tiny/lstm/seed0/model.ckpt"]  # fmt: skip
    process = subprocess.Popen(command, env=genoflow_env(), start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    log = project / "logs" / "train" / "tiny" / "lstm" / "seed0.log"
    deadline = time.time() + 300
    while time.time() < deadline and not (log.is_file() and "epoch 3:" in log.read_text()):
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)  # Snakemake and the job, like a node failure
    process.wait(timeout=60)
    assert "epoch 3:" in log.read_text(), "training never reached epoch 3"
    assert (project / "results/tiny/lstm/seed0/checkpoints/last.ckpt").is_file()
    assert not (project / "results/tiny/lstm/seed0/train.json").exists()

    snakemake(project, "--unlock")
    snakemake(project, "--cores", "1", "--rerun-incomplete", "results/tiny/lstm/seed0/model.ckpt")
    assert "resuming from" in log.read_text()
    info = json.loads((project / "results/tiny/lstm/seed0/train.json").read_text())
    assert info["resumed"] is True and info["epochs"] == 12
    history = (project / "results/tiny/lstm/seed0/history.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in history[1:]] == [str(e) for e in range(12)]


def test_ddp_with_two_cpu_processes(tmp_path):
    """strategy ddp, devices 2 on CPU (gloo): one set of outputs, one line per epoch."""
    project = one_model_project(
        tmp_path,
        {"type": "lstm", "hidden": 8},
        {"max_epochs": 2, "accelerator": "cpu", "devices": 2, "strategy": "ddp"},
    )
    snakemake(project, "--cores", "2")
    run = project / "results" / "tiny" / "lstm" / "seed0"
    info = json.loads((run / "train.json").read_text())
    assert info["processes"] == 2 and info["epochs"] == 2
    metrics = json.loads((run / "metrics.json").read_text())
    predictions = (run / "predictions.tsv").read_text().splitlines()
    assert len(predictions) - 1 == metrics["n_test"]  # every test record, once
    assert sorted(p.name for p in (run / "checkpoints").glob("*.ckpt")) == [
        "best.ckpt",
        "last.ckpt",
    ]
    log = (project / "logs" / "train" / "tiny" / "lstm" / "seed0.log").read_text()
    assert log.count("epoch 0:") == 1 and log.count("epoch 1:") == 1
    assert "GLOBAL_RANK: 1" in log  # a second process really trained


def test_every_stage_lists_the_modules_it_imports():
    """STAGE_MODULES drives code-change reruns: a module a stage imports must be listed."""
    text = (REPO / "workflow" / "rules" / "common.smk").read_text()
    block = text[text.index("STAGE_MODULES = {") : text.index("}  # fmt: skip")] + "}"
    stages = eval(block.split("=", 1)[1])  # a plain dict literal of tuples of names
    entries = {
        "ingest": ["ingest"], "ingest_matrix": ["expression"], "preprocess": ["preprocess"],
        "preprocess_series": ["timeseries"], "train": ["train", "baselines", "forecast"],
        "evaluate": ["metrics", "forecast"], "network": ["network", "train", "figures"],
        "summarize": ["summarize"], "figures": ["figures"], "report": ["report"],
        "predict": ["predict"], "interpret": ["interpret", "figures"], "simulate": ["simulate"],
        "distance_figure": ["figures"],
    }  # fmt: skip
    assert set(entries) == set(stages)
    listing = "print(' '.join(m.split('.')[1] for m in sys.modules if m.startswith('genoflow.')))"

    def imported(modules: list[str]) -> list[str]:  # in a fresh interpreter
        code = f"import sys, {', '.join('genoflow.' + m for m in modules)}; {listing}"
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=genoflow_env(), check=True).stdout.split()  # fmt: skip

    with ThreadPoolExecutor(max_workers=4) as pool:  # interpreters side by side
        outputs = dict(zip(entries, pool.map(imported, entries.values()), strict=True))
    for stage, out in outputs.items():
        loaded = set(out) - {"cli", "config"}  # argument parsing, not results
        assert loaded <= set(stages[stage]), (stage, sorted(loaded - set(stages[stage])))
        for module in stages[stage]:
            assert (REPO / "src" / "genoflow" / module).exists() or (
                REPO / "src" / "genoflow" / f"{module}.py"
            ).exists(), module
