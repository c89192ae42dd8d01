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
            [
                "snakemake",
                "--snakefile",
                str(REPO / "Snakefile"),
                "--directory",
                str(project),
                "--cores",
                "1",
                *targets,
                "--cache",
            ],  # (--cache would take the targets as rules)
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
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
    command = [
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(project),
        "--cores",
        "1",
        "results/tiny/lstm/seed0/model.ckpt",
    ]
    process = subprocess.Popen(
        command,
        env=genoflow_env(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
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


def test_each_command_digests_every_module_it_imports():
    """The rules' code digests (genoflow.sources, computed from the imports) cover every
    genoflow module a command loads when it runs; and editing the C kernels reruns ingest and
    preprocess, not training."""
    from genoflow.cli import build_parser
    from genoflow.sources import command_modules

    parsers = build_parser()._subparsers._group_actions[0].choices
    commands = sorted(parsers)
    # the module of each command's handler (genoflow.commands.<domain>)
    homes = {name: parsers[name].get_default("func").__module__ for name in commands}
    listing = "print(' '.join(m for m in sys.modules if m.startswith('genoflow')))"

    def imported(command: str) -> list[str]:  # the handler's imports, in a fresh interpreter
        code = (
            "import ast, importlib, sys;"
            f"home = importlib.import_module({homes[command]!r});"
            f"fn = getattr(home, 'cmd_' + {command!r}.replace('-', '_'));"
            "tree = ast.parse(open(home.__file__).read());"
            "node = next(n for n in tree.body if getattr(n, 'name', '') == fn.__name__);"
            "[importlib.import_module(n.module) for n in ast.walk(node)"
            " if isinstance(n, ast.ImportFrom) and n.module.startswith('genoflow')];"
            "[importlib.import_module(f'{n.module}.{a.name}') for n in ast.walk(node)"
            " if isinstance(n, ast.ImportFrom) and n.module.startswith('genoflow')"
            " for a in n.names if not hasattr(importlib.import_module(n.module), a.name)];"
            f"{listing}"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=genoflow_env()
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.split()

    with ThreadPoolExecutor(max_workers=4) as pool:  # interpreters side by side
        loaded = dict(zip(commands, pool.map(imported, commands), strict=True))
    for command in commands:
        assert "genoflow.io.ingest" not in loaded["train"]  # (the probe loads real handlers)
        missing = set(loaded[command]) - set(command_modules(command))
        assert not missing, (command, sorted(missing))
    assert "genoflow.kernels" in command_modules("ingest")
    assert "genoflow.kernels" in command_modules("preprocess")
    assert "genoflow.kernels" not in command_modules("train")
