"""monitor.yml run for real with act: schedule and workflow_dispatch, a recording `gh`.

An alert opens one issue and a second alerting run updates it; a run without drift opens
nothing; `retrain_on_drift` pushes a branch and opens a pull request, never merging. The runs
go through the act harness (harness/) with its shared stand-ins (see harness/README.md);
the `gh` stand-in keeps the issues and pull requests in ACT_GH_STATE_DIR across runs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from harness import ActResult, run_act

ISSUE_TITLE = "Monitoring alert: data or model drift"

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
        self.state = work / "gh-state"
        self.state.mkdir()
        self.results: list[ActResult] = []

    def __call__(self, event: str, payload: dict) -> ActResult:
        result = run_act(
            self.project,
            event,
            {"repository": {"default_branch": "main"}, **payload},
            workflow="monitor.yml",
            tmp_path=self.work,
            env={"ACT_GH_STATE_DIR": str(self.state)},
            timeout=900,
            use_gitignore=False,  # the DVC-tracked outputs of `make repro` come along
        )
        print(f"\n[act] monitor.yml {event}: {result.seconds:.0f} s, {result.job_results}")
        self.results.append(result)
        return result

    def calls(self) -> list[list[str]]:
        """Every gh call of every run so far, in order."""
        return [call["argv"] for result in self.results for call in result.calls("gh")]

    def github(self) -> dict:
        path = self.state / "github.json"
        return json.loads(path.read_text()) if path.exists() else {"issues": []}


def verbs(calls: list[list[str]]) -> list[str]:
    return [" ".join(call[:2]) for call in calls]


@pytest.fixture
def act(project: Path, tmp_path: Path) -> Act:
    return Act(project, tmp_path)


def log(result: ActResult) -> str:
    return result.tail()


def test_an_alert_opens_one_issue_and_the_next_run_updates_it(act: Act):
    # Given a drifted batch, when the workflow is dispatched by hand
    first = act("workflow_dispatch", {"inputs": {"current": "data/monitoring/drifted.csv",
                                                 "retrain_on_drift": "false"}})  # fmt: skip
    assert first.succeeded, log(first)
    # then the job summary shows the verdict and one issue is opened with the numbers and run link
    assert "### Monitoring alert" in first.summary, log(first)
    assert verbs(act.calls()) == ["label create", "issue list", "issue create"]
    issues = act.github()["issues"]
    assert [(i["title"], i["state"]) for i in issues] == [(ISSUE_TITLE, "open")]
    assert "mean radius" in issues[0]["body"] and "/actions/runs/" in issues[0]["body"]
    assert "| mean radius | wasserstein |" in issues[0]["body"]
    assert (first.artifact_dir / "monitoring-report" / "report.html").is_file()
    # the alert job read the monitor job's summary as a `monitoring` result it understands
    kept = json.loads(
        next((first.artifact_dir / "monitoring-report").rglob("summary.json")).read_text()
    )
    assert (kept["schema_version"], kept["kind"], kept["alert"]) == (1, "monitoring", True)

    # When the schedule runs on the same drifted data (monitor.current points at it)
    shutil.copy(act.project / "data/monitoring/drifted.csv",
                act.project / "data/monitoring/current.csv")  # fmt: skip
    before = len(act.calls())
    second = act("schedule", {"schedule": "17 6 * * *"})
    assert second.succeeded, log(second)
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
    assert result.succeeded, log(result)
    assert "### Monitoring: no alert" in result.summary, log(result)
    assert act.calls() == []


def test_bad_current_data_fails_the_run_and_opens_nothing(act: Act):
    (act.project / "data/monitoring/current.csv").write_text("", encoding="utf-8")
    result = act("schedule", {"schedule": "17 6 * * *"})
    assert not result.succeeded
    assert "is empty (no header, no rows)" in result.log, log(result)
    assert "### Monitoring failed" in result.summary
    assert act.calls() == []


def test_retrain_on_drift_pushes_a_branch_and_opens_a_pull_request(act: Act):
    result = act("workflow_dispatch", {"inputs": {"current": "data/monitoring/drifted.csv",
                                                  "retrain_on_drift": "true"}})  # fmt: skip
    assert result.succeeded, log(result)
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
