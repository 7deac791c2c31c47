"""`make demo`'s loop (demo/), run once end to end, then each step's artefact checked.

The run is `python -m demo --work DIR`, the command `make demo` runs: real workflows through
act, a real deployment behind nginx, real HTTP. Its wall time is measured in
benchmarks/bench_demo.py, never here. The prerequisite check and the step bookkeeping are
tested in-process (no act, no nginx).
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from demo import prerequisites
from demo.progress import Progress, StepFailed
from demo.runner import Runner, listening, processes_naming

from .conftest import ROOT, project_env


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, int]:
    """One run of the demo: (its work folder, what it printed, its exit status)."""
    if prerequisites.nginx_path() is None:
        message = "nginx is not installed (apt-get install nginx)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + ": .ci/run installs it")
        pytest.skip(message)
    work = tmp_path_factory.mktemp("loop-demo") / "work"
    done = subprocess.run(
        [sys.executable, "-m", "demo", "--work", str(work)],
        cwd=ROOT, env=project_env(), capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    print(done.stdout[-6000:])
    return work, done.stdout + done.stderr, done.returncode


@pytest.mark.slow
def test_every_step_succeeds_and_the_table_lists_them(played):
    work, output, status = played
    assert status == 0, output[-8000:]
    for number in range(1, 7):
        assert re.search(rf"^\[\d\d:\d\d\] Step {number}: ", output, re.MULTILINE), number
        assert re.search(rf"^{number} +\| .+ \| \d+\.\d s +\| ", output, re.MULTILINE), number
    assert "FAILED" not in output
    assert f"Everything is in {work}" in output


@pytest.mark.slow
def test_step1_pushed_the_project_and_main_yml_published_the_first_champion(played):
    work, output, _ = played
    log = subprocess.run(
        ["git", "--git-dir", str(work / "origin.git"), "log", "--format=%s", "main"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "Initial commit from cookiecutter-gitops-ml" in log
    assert (work / "github" / "releases" / "model-v1" / "model.joblib").is_file()
    # and the tag v0.1.0 put it in service on the deploy runner: the stable version of step 4
    assert re.search(r"deployed release model-v1 \(version 1\) at http://127\.0\.0\.1:", output)


@pytest.mark.slow
def test_step2_saved_the_posted_report_as_markdown_and_html(played):
    work, output, _ = played
    markdown = (work / "pr-report.md").read_text(encoding="utf-8")
    assert markdown.startswith("## Model report: `tune-c` vs `main`")
    assert "| `train.logistic_regression.C` | 1 | 0.05 |" in markdown
    assert "### Metrics" in markdown
    page = (work / "pr-report.html").read_text(encoding="utf-8")
    assert "<table>" in page and "<code>train.logistic_regression.C</code>" in page
    assert markdown.splitlines()[0] in output, "the report is printed"


@pytest.mark.slow
def test_step3_printed_the_gate_numbers_of_the_merge(played):
    work, output, _ = played
    record = json.loads((work / "promotion-record.json").read_text(encoding="utf-8"))
    assert (record["kind"], record["candidate_version"], record["champion_version"]) == (
        "promotion",
        "2",
        "1",
    )
    # A simpler model accepted within the PR's non-inferiority margin of 0.01 AUC
    low, high = record["interval"]
    assert low <= record["difference"] <= high
    assert record["gate"]["min_improvement"] == -0.01
    assert (record["decision"], low > -0.01) == ("promoted", True)
    assert (work / "github" / "releases" / "model-v2" / "model.joblib").is_file()
    assert f"decision: {record['decision']}: {record['reason']}" in output
    assert f"candidate (version 2) {record['candidate_metric']}" in output


@pytest.mark.slow
def test_step4_the_release_rolled_the_champion_out_as_a_canary_and_answered(played):
    _, output, _ = played
    assert "deploy: canary of version 2 beside version 1" in output
    for share in (10, 50, 100):
        assert re.search(
            rf"canary {share}%: candidate served \d+/\d+ requests, errors 0, .+: ok$", output, re.M
        ), share
    assert "version 2 serves all traffic (before: version 1)" in output
    answers = re.findall(
        r"POST /invocations \(test row \d, label \S+\) -> 200 prediction \[\S+\] from version "
        r"(\d+) \(stable\)",
        output,
    )
    assert answers == ["2", "2", "2"], output[-6000:]


@pytest.mark.slow
def test_step5_the_drifted_log_opened_the_alert_issue(played):
    work, output, _ = played
    shifted = re.search(r"shifted by [\d.]+ sd: \[(.+)\]", output)
    assert shifted, output[-6000:]
    columns = [c.strip(" '\"") for c in shifted.group(1).split(",")]
    current = pd.read_csv(work / "my-ml-project" / "data" / "monitoring" / "current.csv")
    assert len(current) >= 1000 and "prediction" in current.columns
    issue = (work / "alert-issue.md").read_text(encoding="utf-8")
    assert issue.startswith("# Monitoring alert: data or model drift")
    for column in columns:
        assert column in issue
    github = json.loads((work / "github" / "github.json").read_text(encoding="utf-8"))
    assert [i["state"] for i in github["issues"]] == ["open"]


@pytest.mark.slow
def test_step6_left_no_process_and_no_port(played):
    work, output, _ = played
    runner = Runner(work / "deploy-runner")
    assert runner.deployment() is None
    assert processes_naming(work) == []
    checked = re.search(r"ports ([\d, ]+) free \(ss -ltn\)", output)
    assert checked, output[-4000:]
    ports = [int(p) for p in checked.group(1).split(",")]
    assert len(ports) >= 2 and listening(ports) == []


def test_a_missing_prerequisite_is_named_with_its_install_command(monkeypatch):
    monkeypatch.setattr(prerequisites, "nginx_path", lambda: None)
    problems = prerequisites.missing("3.11")
    assert [p for p in problems if p.startswith("nginx:")] == [
        "nginx: sudo apt-get install nginx (Debian/Ubuntu) or brew install nginx (macOS)"
    ]
    assert any(p.startswith("python0.1 ") for p in prerequisites.missing("0.1"))


def test_a_failing_step_is_named_with_its_reason_and_timed():
    out = io.StringIO()
    progress = Progress(Path(), out)
    with pytest.raises(StepFailed) as failure, progress.step(4, "Tag v1.0.0"):
        raise RuntimeError("release.yml failed at step 'Deploy'")
    assert (failure.value.step, failure.value.reason) == (
        "Tag v1.0.0",
        "RuntimeError: release.yml failed at step 'Deploy'",
    )
    assert progress.steps[0].outcome.startswith("FAILED: RuntimeError")
    assert "Step 4 FAILED in " in out.getvalue()
    assert re.search(r"^4 +\| Tag v1.0.0 +\| \d+\.\d s +\| FAILED", progress.table(), re.M)
