"""The workflow on a real SLURM cluster, through the repository's own SLURM profile.

`make test-cluster` starts a single-node cluster on this machine (scripts/slurm-cluster.sh), runs
these tests with GENOFLOW_SLURM=1 and stops the cluster. `make test` leaves this folder out, and
a plain `pytest` skips it. Jobs really go through sbatch; what ran where is read back from the
scheduler's own accounting records (sacct). The profile is used as it is, except where the test
node differs from a real cluster: it has no GPU and a few GB of memory, and a test should not
wait 40 s before its first status check.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, when run on its own
from conftest import REPO, genoflow_env  # noqa: E402
from test_workflow import MODELS, make_project  # noqa: E402

if os.environ.get("GENOFLOW_SLURM") != "1":
    pytest.skip("needs the SLURM test cluster: run `make test-cluster`", allow_module_level=True)

pytestmark = pytest.mark.e2e

PROFILE = REPO / "workflow" / "profiles" / "slurm" / "config.yaml"
# The compute stages of the tiny sequence dataset (interpret: ISM of its best model).
SLURM_RULES = {"ingest", "preprocess", "train", "interpret"}
LOCAL_RULES = {"evaluate", "summarize", "figures_classification", "report"}
TIMEOUT = 900  # seconds for one snakemake run (about 3 minutes on 2 cores)


def test_profile(folder: Path, *, gpu: bool) -> Path:
    """The repository's SLURM profile, adapted to the test node: `gpu` False asks for no GPU;
    memory requests shrink (the expressions keep their `attempt` factor); the first status
    check comes after 2 s instead of 40 s; SLURM logs of successful jobs are kept."""
    profile = yaml.safe_load(PROFILE.read_text())
    if not gpu:
        profile["set-resources"]["train"]["gpu"] = 0
        for resources in [profile["default-resources"], *profile["set-resources"].values()]:
            resources["mem_mb"] = "1000 * attempt"
    profile["slurm-init-seconds-before-status-checks"] = 2
    profile["slurm-keep-successful-logs"] = True
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return folder


test_profile.__test__ = False  # a helper, not a test


def snakemake_on_slurm(project: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    """snakemake through SLURM, run from the project folder as a user would. While it waits for
    jobs, snakemake ignores SIGTERM: the time limit sends SIGINT (it then cancels its jobs).
    --foreground keeps snakemake in this process group, so that a Ctrl-C reaches it too."""
    command = ["snakemake", "--snakefile", str(REPO / "Snakefile")]
    command += ["--workflow-profile", str(profile), *args]
    return subprocess.run(
        ["timeout", "--foreground", "-s", "INT", "-k", "60", str(TIMEOUT), *command],
        cwd=project,
        capture_output=True,
        text=True,
        env=genoflow_env(),
    )


def run_id(result: subprocess.CompletedProcess) -> str:
    """The plugin submits every job of a run under one job name, its run ID."""
    match = re.search(r"SLURM run ID: (\S+)", result.stderr)
    assert match, result.stderr[-3000:]
    return match.group(1)


def sbatch_calls(log: str) -> list[str]:
    """The sbatch command lines the plugin reports (with --verbose, or when sbatch fails)."""
    return re.findall(r"sbatch call:\s+(sbatch .*)", log)


def sacct(name: str) -> list[dict[str, str]]:
    """The accounting records of the jobs named `name` (one per job, not per step), with the
    rule of each job from the comment the plugin gives it (rule_<rule>[_wildcards_<values>])."""
    since = (datetime.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    fields = ["JobIDRaw", "JobName", "Comment", "State", "ExitCode", "Timelimit", "ReqTRES"]
    out = subprocess.run(
        ["sacct", "-X", "-n", "-P", "--name", name, "-S", since, "-o", ",".join(fields)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    jobs = [dict(zip(fields, line.split("|"), strict=True)) for line in out.splitlines()]
    for job in jobs:
        rule, _, wildcards = job["Comment"].removeprefix("rule_").partition("_wildcards_")
        job["rule"], job["wildcards"] = rule, wildcards
    return jobs


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory) -> dict:
    root = make_project(tmp_path_factory.mktemp("slurm"))
    profile = test_profile(tmp_path_factory.mktemp("profile"), gpu=False)
    result = snakemake_on_slurm(root, profile, "--verbose")  # --verbose: log the sbatch calls
    assert result.returncode == 0, f"snakemake on SLURM failed:\n{result.stderr[-6000:]}"
    return {"root": root, "log": result.stderr, "jobs": sacct(run_id(result))}


def test_every_contracted_output_exists(slurm_run):
    root = slurm_run["root"]
    for model in MODELS:
        run = root / "results" / "tiny" / model / "seed0"
        for name in ("model.ckpt", "history.csv", "metrics.json", "predictions.tsv"):
            assert (run / name).is_file(), f"{run / name} missing"
        assert (root / "logs" / "train" / "tiny" / model / "seed0.log").is_file()
    assert (root / "results" / "tiny" / "summary.tsv").is_file()
    assert (root / "results" / "report" / "index.html").is_file()


def test_heavy_stages_ran_as_completed_slurm_jobs(slurm_run):
    jobs = slurm_run["jobs"]
    assert {job["rule"] for job in jobs} == SLURM_RULES, jobs
    assert all(job["State"] == "COMPLETED" and job["ExitCode"] == "0:0" for job in jobs), jobs
    trained = sorted(job["wildcards"] for job in jobs if job["rule"] == "train")
    assert trained == sorted(f"tiny_{model}_0" for model in MODELS)
    assert len(jobs) == 3 + len(MODELS)  # ingest, preprocess, interpret, a training job a model


def test_light_rules_ran_on_the_submitting_host(slurm_run):
    submitted = {job["rule"] for job in slurm_run["jobs"]}
    for rule in LOCAL_RULES:
        assert rule not in submitted
        assert f"localrule {rule}:" in slurm_run["log"]


def test_jobs_get_the_profile_resources(slurm_run):
    """Wall time from the profile's `runtime` expressions at attempt 1, one CPU (threads: 1 in
    the config) and, with the GPU request turned off for this node, no GPU."""
    limits = {
        "ingest": "01:00:00",
        "preprocess": "01:00:00",
        "train": "04:00:00",
        "interpret": "01:00:00",
    }
    for job in slurm_run["jobs"]:
        assert job["Timelimit"] == limits[job["rule"]], job
        assert "cpu=1," in job["ReqTRES"] and "mem=1000M" in job["ReqTRES"], job
        assert "gpu" not in job["ReqTRES"], job
    calls = sbatch_calls(slurm_run["log"])
    assert len(calls) == len(slurm_run["jobs"]), calls
    assert not any("--gpus" in call or "--gres" in call for call in calls), calls


def test_slurm_logs_are_under_logs_slurm(slurm_run):
    root = slurm_run["root"]
    for job in slurm_run["jobs"]:
        log = root / "logs" / "slurm" / f"rule_{job['rule']}" / job["wildcards"]
        assert (log / f"{job['JobIDRaw']}.log").is_file(), f"no SLURM log in {log}"


def test_unchanged_profile_asks_for_one_gpu_per_training_job(slurm_run, tmp_path):
    """The test node has no GPU, so SLURM refuses the training job that the unchanged profile
    submits: the sbatch calls show the request, and its wall time growing with each retry."""
    project = tmp_path / "project"
    shutil.copytree(slurm_run["root"], project, symlinks=True)
    target = "results/tiny/cnn/seed0/model.ckpt"
    profile = test_profile(tmp_path / "profile", gpu=True)
    result = snakemake_on_slurm(project, profile, target, "--forcerun", target)
    assert result.returncode != 0
    calls = sbatch_calls(result.stderr)
    assert len(calls) == 3, result.stderr[-6000:]  # the first attempt and 2 retries
    assert all("--gpus=1" in call for call in calls), calls
    assert [re.search(r" -t '?(\d+)", call).group(1) for call in calls] == ["240", "480", "720"]
    assert not sacct(run_id(result)), "SLURM accepted a GPU job on a node without GPUs"
