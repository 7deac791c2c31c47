"""monitor.yml run for real with act: schedule and workflow_dispatch, a recording `gh`.

An alert opens one issue and a second alerting run updates it; a run without drift opens
nothing; `retrain_on_drift` pushes a branch and opens a pull request, never merging. Third-party
actions are mapped to the stand-ins in tests/act_monitor/ (see its README).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import QUIET_ENV, ROOT, SHARED_VENV

STANDINS = ROOT / "tests" / "act_monitor"
ISSUE_TITLE = "Monitoring alert: data or model drift"
THIRD_PARTY = {
    "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065": "setup-python",
    "astral-sh/setup-uv@e92bafb6253dcd438e0484186d7669ea7a8ca1cc": "setup-uv",
    "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02": "upload-artifact",
    "actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093": "download-artifact",
}

pytestmark = pytest.mark.slow


def uses_of(workflow: Path) -> set[str]:
    return {
        line.split("uses:", 1)[1].split("#")[0].strip()
        for line in workflow.read_text(encoding="utf-8").splitlines()
        if "uses:" in line
    }


@pytest.fixture
def project(demo_classification: Path, tmp_path: Path) -> Path:
    """A private copy of the demo project after `make repro`, with a bare `origin` to push to."""
    copy = tmp_path / "project"
    shutil.copytree(demo_classification, copy, symlinks=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(copy), str(tmp_path / "origin.git")],
                   check=True)  # fmt: skip
    # origin looks like GitHub (act names the repository after it) and pushes to the bare clone
    url = f"https://github.com/octo-org/{copy.name}.git"
    for args in (
        ["remote", "add", "origin", url],
        ["config", f"url.{tmp_path / 'origin.git'}.insteadOf", url],
    ):
        subprocess.run(["git", *args], cwd=copy, check=True)  # fmt: skip
    train = pd.read_csv(copy / "data/interim/train.csv")
    (copy / "data/monitoring").mkdir(parents=True)
    drifted = train.sample(n=1500, replace=True, random_state=1)
    drifted["mean radius"] += 1.5 * train["mean radius"].std()
    drifted.to_csv(copy / "data/monitoring/drifted.csv", index=False)
    train.sample(n=1500, replace=True, random_state=2).to_csv(
        copy / "data/monitoring/steady.csv", index=False
    )
    return copy


class Act:
    """Runs monitor.yml in `project` with act; the recording gh keeps state across runs."""

    def __init__(self, project: Path, work: Path):
        self.project, self.work = project, work
        self.record, self.state = work / "gh-calls.jsonl", work / "gh-state.json"
        self.template = work / "template-repo"
        shutil.copytree(ROOT / "actions", self.template / "actions")
        self.answers = json.loads((project / ".cookiecutter.json").read_text(encoding="utf-8"))
        self.runs = 0

    def __call__(self, event: str, payload: dict) -> subprocess.CompletedProcess[str]:
        self.runs += 1
        artifacts = self.work / f"artifacts-{self.runs}"
        event_file = self.work / f"event-{self.runs}.json"
        payload = {"repository": {"default_branch": "main"}, **payload}
        event_file.write_text(json.dumps(payload), encoding="utf-8")
        workflow = self.project / ".github/workflows/monitor.yml"
        template = f"{self.answers['template_repo']}@{self.answers['template_ref']}"
        mappings = [f"{template}={self.template}"]
        mappings += [f"{ref}={STANDINS / folder}" for ref, folder in THIRD_PARTY.items()]
        unmapped = {
            use for use in uses_of(workflow)
            if not use.startswith(("actions/checkout@", self.answers["template_repo"]))
        } - set(THIRD_PARTY)  # fmt: skip
        assert unmapped == set(), f"map these to stand-ins: {unmapped}"
        command = [
            str(SHARED_VENV / "bin" / "act"), event, "-W", str(workflow), "-e", str(event_file),
            "-P", "ubuntu-latest=-self-hosted", "--action-offline-mode", "--use-gitignore=false",
            "-s", "GITHUB_TOKEN=fake-token", "--env", "DO_NOT_TRACK=1",
        ]  # fmt: skip
        for mapping in mappings:
            command += ["--local-repository", mapping]
        env = {
            **os.environ,
            **QUIET_ENV,
            "PATH": os.pathsep.join([str(STANDINS / "bin"), str(SHARED_VENV / "bin"),
                                     os.environ["PATH"]]),
            "GH_RECORD": str(self.record),
            "GH_STATE": str(self.state),
            "ACT_MONITOR_ARTIFACTS": str(artifacts),
            "ACT_MONITOR_PYTHON": str(SHARED_VENV / "bin" / "python"),
            "ACT_MONITOR_VENV": str(SHARED_VENV),
        }  # fmt: skip
        env.pop("MLFLOW_TRACKING_URI", None)
        env.pop("VIRTUAL_ENV", None)
        return subprocess.run(
            command, cwd=self.project, env=env, capture_output=True, text=True, timeout=900
        )

    def calls(self) -> list[list[str]]:
        if not self.record.exists():
            return []
        return [json.loads(line)["args"] for line in self.record.read_text().splitlines()]

    def github(self) -> dict:
        return json.loads(self.state.read_text()) if self.state.exists() else {"issues": []}


def verbs(calls: list[list[str]]) -> list[str]:
    return [" ".join(call[:2]) for call in calls]


@pytest.fixture
def act(project: Path, tmp_path: Path) -> Act:
    return Act(project, tmp_path)


def log(result: subprocess.CompletedProcess[str]) -> str:
    return f"--- act stdout ---\n{result.stdout[-8000:]}\n--- stderr ---\n{result.stderr[-3000:]}"


def test_an_alert_opens_one_issue_and_the_next_run_updates_it(act: Act):
    # Given a drifted batch, when the workflow is dispatched by hand
    first = act("workflow_dispatch", {"inputs": {"current": "data/monitoring/drifted.csv",
                                                 "retrain_on_drift": "false"}})  # fmt: skip
    assert first.returncode == 0, log(first)
    # then the job summary shows the verdict and one issue is opened with the numbers and run link
    assert "Summary - ### Monitoring alert" in first.stdout, log(first)
    assert verbs(act.calls()) == ["label create", "issue list", "issue create"]
    issues = act.github()["issues"]
    assert [(i["title"], i["state"]) for i in issues] == [(ISSUE_TITLE, "open")]
    assert "mean radius" in issues[0]["body"] and "/actions/runs/" in issues[0]["body"]
    assert "| mean radius | wasserstein |" in issues[0]["body"]
    assert (act.work / "artifacts-1/monitoring-report/report.html").is_file()

    # When the schedule runs on the same drifted data (monitor.current points at it)
    shutil.copy(act.project / "data/monitoring/drifted.csv",
                act.project / "data/monitoring/current.csv")  # fmt: skip
    before = len(act.calls())
    second = act("schedule", {"schedule": "17 6 * * *"})
    assert second.returncode == 0, log(second)
    # then the open issue is updated and commented, and no second issue appears
    assert verbs(act.calls()[before:]) == ["label create", "issue list", "issue edit",
                                           "issue comment"]  # fmt: skip
    issues = act.github()["issues"]
    assert len(issues) == 1 and len(issues[0]["comments"]) == 1
    assert issues[0]["comments"][0].startswith("Alert again in ")
    assert not any(call[:2] == ["pr", "create"] for call in act.calls())


def test_no_drift_opens_nothing(act: Act):
    shutil.copy(act.project / "data/monitoring/steady.csv",
                act.project / "data/monitoring/current.csv")  # fmt: skip
    result = act("schedule", {"schedule": "17 6 * * *"})
    assert result.returncode == 0, log(result)
    assert "Summary - ### Monitoring: no alert" in result.stdout, log(result)
    assert act.calls() == []


def test_bad_current_data_fails_the_run_and_opens_nothing(act: Act):
    (act.project / "data/monitoring/current.csv").write_text("", encoding="utf-8")
    result = act("schedule", {"schedule": "17 6 * * *"})
    assert result.returncode != 0
    assert "is empty (no header, no rows)" in result.stdout, log(result)
    assert "Summary - ### Monitoring failed" in result.stdout
    assert act.calls() == []


def test_retrain_on_drift_pushes_a_branch_and_opens_a_pull_request(act: Act):
    result = act("workflow_dispatch", {"inputs": {"current": "data/monitoring/drifted.csv",
                                                  "retrain_on_drift": "true"}})  # fmt: skip
    assert result.returncode == 0, log(result)
    calls = act.calls()
    assert verbs(calls) == ["label create", "issue list", "issue create", "auth setup-git",
                            "pr create"]  # fmt: skip
    pr = calls[-1]
    branch = pr[pr.index("--head") + 1]
    assert branch.startswith("monitoring/retrain-")
    assert pr[pr.index("--base") + 1] == "main"
    assert pr[pr.index("--title") + 1] == (
        "Retrain on refreshed data (monitoring alert, drifted: mean radius)"
    )
    assert not any("merge" in part for call in calls for part in call)
    pushed = subprocess.run(
        ["git", "--git-dir", str(act.work / "origin.git"), "log", "--format=%s", branch],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert pushed.startswith("Retrain on refreshed data after the monitoring alert")
