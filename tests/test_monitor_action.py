"""actions/monitor: verdict from the monitor's run, job summary, alert issue, webhook, retrain PR.

In-process tests of the helpers behind the composite actions (the YAML is thin glue that
tests/test_monitor_workflow.py runs through act).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import ModuleType

import pytest

ACTION = Path(__file__).resolve().parent.parent / "actions" / "monitor"
TITLE = "Monitoring alert: data or model drift"


def load(name: str) -> ModuleType:
    sys.path.insert(0, str(ACTION))
    try:
        module_name = f"monitor_action_{name}"
        spec = importlib.util.spec_from_file_location(module_name, ACTION / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(ACTION))


runner_module = load("monitor")
alert_module = load("alert")


UNDERSTOOD = (
    "has monitoring schema_version 2, which this action does not understand: it needs "
    "gitops-ml 1.x (the version released with these actions)"
)


def summary(alert: bool = True) -> dict:
    """The shape `gitops-ml monitor check` writes (reports/monitoring/summary.json): a
    `monitoring` result (src/gitops_ml/results.py)."""
    columns = {
        "mean radius": {"kind": "numerical", "method": "wasserstein", "score": 1.04,
                        "threshold": 0.1, "drifted": alert},
        "mean area": {"kind": "numerical", "method": "wasserstein", "score": 0.04,
                      "threshold": 0.1, "drifted": False},
    }  # fmt: skip
    return {
        "schema_version": 1,
        "kind": "monitoring",
        "alert": alert,
        "reasons": ["1 of 2 columns drifted: mean radius"] if alert else [],
        "drifted_columns": ["mean radius"] if alert else [],
        "drift_share": 0.5 if alert else 0.0,
        "columns_checked": 2,
        "columns": columns,
        "prediction_drift": {"method": "jensenshannon", "score": 0.02, "threshold": 0.1,
                             "drifted": False},
        "performance": None,
        "sampling": {"method": "uniform", "max_rows": 20000, "seed": 42,
                     "reference": {"rows": 455, "used": 455},
                     "current": {"rows": 2000, "used": 2000}},
    }  # fmt: skip


# ------------------------------------------------------------------------- monitor action


@pytest.mark.parametrize(
    ("returncode", "written", "expected"),
    [
        (0, summary(alert=False), "ok"),
        (0, summary(alert=True), "alert"),
        (3, summary(alert=True), "alert"),
        (2, summary(alert=True), "alert"),  # `make monitor` turns status 3 into 2
        (2, None, "error"),
        (1, summary(alert=False), "error"),
        (0, None, "error"),
        (0, {**summary(), "alert": "yes"}, "error"),
        (0, {**summary(), "schema_version": 2}, "error"),
        (3, {k: v for k, v in summary().items() if k != "schema_version"}, "error"),
    ],
    ids=["ok", "alert-0", "alert-3", "alert-via-make", "crash", "failed-no-alert",
         "no-summary", "malformed", "newer-schema", "no-schema"],
)  # fmt: skip
def test_the_verdict_needs_a_summary_from_this_run(tmp_path, returncode, written, expected):
    path = tmp_path / "summary.json"
    if written is not None:
        path.write_text(json.dumps(written), encoding="utf-8")
    assert runner_module.verdict(returncode, path)[0] == expected


def action_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    (tmp_path / "out.txt").touch()
    (tmp_path / "summary.md").touch()
    return {
        "MONITOR_COMMAND": "make monitor",
        "MONITOR_SUMMARY": "reports/monitoring/summary.json",
        "MONITOR_REPORT": "reports/monitoring/report.html",
        "MONITOR_CURRENT": "",
        "MONITOR_FAIL_ON_ALERT": "false",
        "GITHUB_OUTPUT": str(tmp_path / "out.txt"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        **extra,
    }


def test_an_alert_sets_outputs_and_the_job_summary(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    seen = {}

    def runner(command, env):
        seen.update(command=command, current=env.get("CURRENT"))
        Path("reports/monitoring").mkdir(parents=True)
        Path("reports/monitoring/summary.json").write_text(json.dumps(summary()))
        return 2

    env = action_env(tmp_path, MONITOR_CURRENT="data/monitoring/2026-*.csv")
    assert runner_module.main(env, runner) == 0
    assert seen == {"command": "make monitor", "current": "data/monitoring/2026-*.csv"}
    outputs = (tmp_path / "out.txt").read_text()
    assert "alert=true\n" in outputs and "drifted-columns=mean radius\n" in outputs
    job_summary = (tmp_path / "summary.md").read_text()
    assert job_summary.startswith("### Monitoring alert")
    assert "| mean radius | wasserstein | 1.04 | 0.1 | **yes** |" in job_summary
    assert "reference 455 of 455, current 2,000 of 2,000" in job_summary


def test_fail_on_alert_fails_the_step_with_status_3(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def runner(command, env):
        Path("reports/monitoring").mkdir(parents=True)
        Path("reports/monitoring/summary.json").write_text(json.dumps(summary()))
        return 0

    assert runner_module.main(action_env(tmp_path, MONITOR_FAIL_ON_ALERT="true"), runner) == 3


def test_a_stale_summary_never_passes_for_this_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("reports/monitoring").mkdir(parents=True)
    Path("reports/monitoring/summary.json").write_text(json.dumps(summary(alert=False)))
    assert runner_module.main(action_env(tmp_path), lambda command, env: 2) == 1
    assert "alert=\n" in (tmp_path / "out.txt").read_text()
    assert "### Monitoring failed" in (tmp_path / "summary.md").read_text()
    assert "::error title=monitor::'make monitor' failed (status 2)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"MONITOR_CURRENT": "$(curl evil)"}, "current must be a file, folder or glob"),
        ({"MONITOR_CURRENT": "../../etc/passwd"}, "current must be a file, folder or glob"),
        ({"MONITOR_SUMMARY": "/tmp/s.json"}, "summary must be a relative path"),
        ({"MONITOR_FAIL_ON_ALERT": "yes"}, "fail-on-alert must be true or false"),
    ],
    ids=["shell", "outside", "absolute-summary", "bad-bool"],
)
def test_invalid_inputs_fail_with_an_error_annotation(tmp_path, capsys, extra, message):
    ran = []
    assert runner_module.main(action_env(tmp_path, **extra), lambda c, e: ran.append(c)) == 1
    assert f"::error title=monitor::{message}" in capsys.readouterr().out
    assert ran == []


@pytest.mark.parametrize("returncode", [0, 2])
def test_a_summary_of_an_unknown_schema_version_fails_with_one_sentence(
    tmp_path, monkeypatch, capsys, returncode
):
    # Given a project whose gitops-ml writes monitoring schema_version 2
    monkeypatch.chdir(tmp_path)

    def runner(command, env):
        Path("reports/monitoring").mkdir(parents=True)
        Path("reports/monitoring/summary.json").write_text(
            json.dumps({**summary(), "schema_version": 2})
        )
        return returncode

    # Then the step fails with the sentence, and no verdict (not even its alert) is output
    assert runner_module.main(action_env(tmp_path), runner) == 1
    assert capsys.readouterr().out == (
        f"::error title=monitor::reports/monitoring/summary.json {UNDERSTOOD}\n"
    )
    assert "alert=\n" in (tmp_path / "out.txt").read_text()


# --------------------------------------------------------------------------- alert action


class FakeGh:
    """Records every command; answers `issue list` from the issues it has opened."""

    def __init__(self, open_issues: list[dict] | None = None, fail: str = ""):
        self.calls: list[list[str]] = []
        self.issues = list(open_issues or [])
        self.fail = fail

    def __call__(self, command: Sequence[str]) -> subprocess.CompletedProcess[str]:
        command = list(command)
        self.calls.append(command)
        out, code = "", 0
        if self.fail and " ".join(command).startswith(self.fail):
            code = 1
        elif command[:3] == ["gh", "issue", "list"]:
            out = json.dumps(self.issues)
        elif command[:3] == ["gh", "issue", "create"]:
            number = 40 + len(self.issues)
            self.issues.append({"number": number, "title": command[command.index("--title") + 1]})
            out = f"https://github.com/o/r/issues/{number}\n"
        elif command[:3] == ["gh", "pr", "create"]:
            out = "https://github.com/o/r/pull/9\n"
        return subprocess.CompletedProcess(command, code, out, "denied" if code else "")

    def verbs(self) -> list[str]:
        return [" ".join(c[:3]) for c in self.calls]


def alert_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    path = tmp_path / "summary.json"
    if not path.exists():
        path.write_text(json.dumps(summary()), encoding="utf-8")
    (tmp_path / "out.txt").touch()
    return {
        "ALERT_SUMMARY": str(path),
        "ALERT_TITLE": TITLE,
        "ALERT_LABEL": "monitoring-alert",
        "ALERT_RUN_URL": "https://github.com/o/r/actions/runs/1",
        "ALERT_REPORT": "reports/monitoring/report.html",
        "ALERT_WEBHOOK_URL": "",
        "GH_REPO": "o/r",
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_OUTPUT": str(tmp_path / "out.txt"),
        **extra,
    }


def test_the_first_alert_opens_an_issue_and_the_next_updates_it(tmp_path):
    gh = FakeGh()
    assert alert_module.main(["issue"], alert_env(tmp_path), gh) == 0
    assert gh.verbs() == ["gh label create", "gh issue list", "gh issue create"]
    create = gh.calls[-1]
    body = Path(create[create.index("--body-file") + 1]).read_text()
    assert "mean radius" in body and "https://github.com/o/r/actions/runs/1" in body
    assert "issue-action=opened\nissue-number=40\n" in (tmp_path / "out.txt").read_text()

    gh.calls.clear()
    assert alert_module.main(["issue"], alert_env(tmp_path), gh) == 0
    assert gh.verbs() == ["gh label create", "gh issue list", "gh issue edit", "gh issue comment"]
    assert gh.calls[2][3] == "40" and len(gh.issues) == 1
    assert "issue-action=updated\nissue-number=40\n" in (tmp_path / "out.txt").read_text()


def test_an_open_issue_with_another_title_is_not_reused(tmp_path):
    gh = FakeGh(open_issues=[{"number": 3, "title": f"{TITLE} (old)"}])
    assert alert_module.main(["issue"], alert_env(tmp_path), gh) == 0
    assert "gh issue create" in gh.verbs()


def test_a_summary_without_alert_opens_nothing(tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps(summary(alert=False)))
    gh = FakeGh()
    assert alert_module.main(["issue"], alert_env(tmp_path), gh) == 0
    assert gh.calls == []


def test_a_github_failure_is_reported(tmp_path, capsys):
    gh = FakeGh(fail="gh issue create")
    assert alert_module.main(["issue"], alert_env(tmp_path), gh) == 1
    assert "::error title=monitor alert::issue create --title failed (1): denied" in (
        capsys.readouterr().out
    )


def test_a_multi_line_github_failure_stays_in_one_annotation(tmp_path, capsys):
    def gh(command):
        return subprocess.CompletedProcess(command, 1, "", "HTTP 403\nrate limit 100% used\n")

    assert alert_module.main(["issue"], alert_env(tmp_path), gh) == 1
    assert capsys.readouterr().out == (
        "::error title=monitor alert::label create monitoring-alert failed (1): "
        "HTTP 403%0Arate limit 100%25 used\n"
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"ALERT_LABEL": "bad;label"}, "label 'bad;label'"),
        ({"ALERT_WEBHOOK_URL": "http://hooks.example/x"}, "webhook-url must be an https:// URL"),
        ({"ALERT_TITLE": " "}, "title must be 1 to 200 characters"),
    ],
    ids=["label", "plain-http-webhook", "empty-title"],
)
def test_invalid_alert_inputs_fail(tmp_path, capsys, extra, message):
    gh = FakeGh()
    assert alert_module.main(["issue"], alert_env(tmp_path, **extra), gh) == 1
    assert message in capsys.readouterr().out and gh.calls == []


@pytest.mark.parametrize("command", ["issue", "retrain"])
def test_the_alert_actions_refuse_a_summary_of_an_unknown_schema_version(tmp_path, capsys, command):
    # Given the monitor job's artifact written by a gitops-ml these actions do not know
    (tmp_path / "summary.json").write_text(json.dumps({**summary(), "schema_version": 2}))
    env = alert_env(tmp_path, ALERT_BRANCH="retrain/x", ALERT_BASE="main")
    gh = FakeGh()
    # Then nothing is opened and the step fails with the sentence
    assert alert_module.main([command], env, gh) == 1
    path = tmp_path / "summary.json"
    assert capsys.readouterr().out == f"::error title=monitor alert::{path} {UNDERSTOOD}\n"
    assert gh.calls == []


def test_the_webhook_gets_a_slack_compatible_message():
    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server API)
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/hook"
    alert_module.notify(url, summary(), "https://run", "https://github.com/o/r/issues/40")
    thread.join(10)
    server.server_close()
    assert received == [
        {
            "text": "Monitoring alert: 1 of 2 columns drifted: mean radius\nRun: https://run\n"
            "Issue: https://github.com/o/r/issues/40"
        }
    ]


def test_an_unreachable_webhook_is_a_warning(capsys):
    alert_module.notify("http://127.0.0.1:9/none", summary(), "https://run", "")
    assert "::warning title=monitor webhook::" in capsys.readouterr().out


# -------------------------------------------------------------------------- retrain action


def test_retraining_opens_a_pull_request_and_never_merges(tmp_path):
    gh = FakeGh()
    env = alert_env(tmp_path, ALERT_BRANCH="monitoring/retrain-7", ALERT_BASE="main")
    assert alert_module.main(["retrain"], env, gh) == 0
    assert [c[:2] for c in gh.calls] == [
        ["git", "switch"], ["git", "add"], ["git", "-c"], ["git", "push"], ["gh", "pr"],
    ]  # fmt: skip
    assert gh.calls[0] == ["git", "switch", "-c", "monitoring/retrain-7"]
    assert gh.calls[3] == ["git", "push", "origin", "HEAD:refs/heads/monitoring/retrain-7"]
    pr = gh.calls[4]
    assert pr[:7] == ["gh", "pr", "create", "--base", "main", "--head", "monitoring/retrain-7"]
    assert pr[pr.index("--title") + 1] == (
        "Retrain on refreshed data (monitoring alert, drifted: mean radius)"
    )
    assert not any("merge" in part for call in gh.calls for part in call)
    assert "pr-url=https://github.com/o/r/pull/9\n" in (tmp_path / "out.txt").read_text()


def test_a_failed_refresh_pushes_nothing(tmp_path):
    gh = FakeGh()
    with pytest.raises(RuntimeError, match="refresh command failed with status 2"):
        alert_module.retrain(gh_wrap(gh), summary(), "b", "main", "u", lambda: 2, tmp_path)
    assert [c[:2] for c in gh.calls] == [["git", "switch"]]


def gh_wrap(gh: FakeGh):
    return alert_module._gh_and_git(gh)


@pytest.mark.parametrize("branch", ["-rf", "a..b", "bad branch", ""])
def test_an_invalid_branch_is_refused(tmp_path, capsys, branch):
    gh = FakeGh()
    env = alert_env(tmp_path, ALERT_BRANCH=branch, ALERT_BASE="main")
    assert alert_module.main(["retrain"], env, gh) == 1
    assert "is not a valid branch name" in capsys.readouterr().out and gh.calls == []


# ------------------------------------------------------------------------------ static gates

NESTED = sorted(ACTION.rglob("action.yml"))


@pytest.mark.parametrize("action", NESTED, ids=lambda p: str(p.parent.relative_to(ACTION.parent)))
def test_each_monitor_action_keeps_the_action_contract(action):
    # tests/test_workflows_static.py checks actions/*/action.yml; the nested ones are checked here
    from tests.test_workflows_static import test_action_contract as action_contract

    action_contract(action)


def test_the_monitor_actions_match_the_schema_and_pass_zizmor():
    from tests.test_workflows_static import schema, zizmor

    result = schema("github-actions", NESTED)
    assert result.returncode == 0, result.stdout + result.stderr
    result = zizmor(ACTION)
    assert result.returncode == 0 and "No findings to report" in result.stdout, result.stdout
