"""Act on a monitoring alert through GitHub (the `monitor/alert` and `monitor/retrain` actions).

    python alert.py issue    one open issue per alert title: opened once, then updated
    python alert.py retrain  a branch with the refreshed pipeline and a pull request, never merged

Every GitHub call goes through the `gh` CLI; `Gh` is injectable so the logic is unit-tested
in-process, and the workflows are run under act with a recording `gh` stand-in.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))
from monitor import InputError, append, load_summary, markdown  # noqa: E402
from workflow_commands import error, warning  # noqa: E402

LABEL = re.compile(r"^[A-Za-z0-9 ._:/-]{1,50}$")
BRANCH = re.compile(r"^[A-Za-z0-9._/-]{1,100}$")
ISSUE_NUMBER = re.compile(r"/issues/(\d+)\s*$")
Runner = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]


def default_runner(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), capture_output=True, text=True, check=False)


@dataclass
class Gh:
    """The few `gh` and `git` calls the alert needs; each failure names the command."""

    runner: Runner = default_runner

    def __call__(self, *args: str) -> str:
        result = self.runner(list(args))
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args[:3])} failed ({result.returncode}): {result.stderr.strip()}"
            )
        return result.stdout


def issue_body(summary: Mapping[str, Any], run_url: str, report: str) -> str:
    return (
        "The scheduled monitor raised an alert. This issue is updated on each alerting run "
        "(one open issue per alert); close it once the model is retrained or the change "
        "is understood.\n\n"
        f"**Run:** {run_url} (the HTML report is the `monitoring-report` artifact)\n\n"
        + markdown(summary, report)
    )


def find_open_issue(gh: Gh, title: str, label: str) -> int | None:
    """The open issue for this alert: same label and exactly the same title."""
    listed = gh(
        "issue", "list", "--state", "open", "--label", label,
        "--search", f'"{title}" in:title', "--json", "number,title", "--limit", "50",
    )  # fmt: skip
    matches = [issue["number"] for issue in json.loads(listed or "[]") if issue["title"] == title]
    return min(matches) if matches else None


def open_or_update(
    gh: Gh,
    summary: Mapping[str, Any],
    title: str,
    label: str,
    run_url: str,
    report: str,
    work: Path,
) -> tuple[str, int]:
    """('opened'|'updated', issue number). No duplicate while an alert issue is open."""
    body = work / "monitoring-issue.md"
    body.write_text(issue_body(summary, run_url, report), encoding="utf-8")
    gh(
        "label", "create", label, "--force", "--color", "d93f0b",
        "--description", "Raised by the scheduled monitor (monitor.yml)",
    )  # fmt: skip
    number = find_open_issue(gh, title, label)
    if number is None:
        url = gh("issue", "create", "--title", title, "--label", label, "--body-file", str(body))
        match = ISSUE_NUMBER.search(url.strip())
        if not match:
            raise RuntimeError(f"gh issue create printed no issue URL: {url!r}")
        return "opened", int(match.group(1))
    gh("issue", "edit", str(number), "--body-file", str(body))
    reasons = "; ".join(summary.get("reasons", []))
    gh("issue", "comment", str(number), "--body", f"Alert again in {run_url}: {reasons}")
    return "updated", number


def notify(url: str, summary: Mapping[str, Any], run_url: str, issue_url: str) -> None:
    """POST a Slack-compatible {"text": ...} message; a failure is a warning, not an error."""
    text = f"Monitoring alert: {'; '.join(summary.get('reasons', []))}\nRun: {run_url}" + (
        f"\nIssue: {issue_url}" if issue_url else ""
    )
    request = urllib.request.Request(
        url,
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 (https only)
            response.read()
    except OSError as exc:
        warning("monitor webhook", f"the webhook call failed: {exc}")


def retrain(
    gh: Gh,
    summary: Mapping[str, Any],
    branch: str,
    base: str,
    run_url: str,
    refresh: Callable[[], int],
    work: Path,
) -> str:
    """Branch, refresh the pipeline, commit, push, open a pull request; return its URL."""
    drifted = ", ".join(summary.get("drifted_columns", [])) or "none"
    title = f"Retrain on refreshed data (monitoring alert, drifted: {drifted})"
    gh("git", "switch", "-c", branch)
    status = refresh()
    if status != 0:
        raise RuntimeError(f"the refresh command failed with status {status}")
    gh("git", "add", "--update")  # tracked files the refresh changed: dvc.lock, metrics, plots
    message = f"Retrain on refreshed data after the monitoring alert\n\n{run_url}\n"
    gh("git", "-c", "user.name=github-actions[bot]",
       "-c", "user.email=41898282+github-actions[bot]@users.noreply.github.com",
       "commit", "--allow-empty", "-m", message)  # fmt: skip
    gh("git", "push", "origin", f"HEAD:refs/heads/{branch}")
    body = work / "retrain-pr.md"
    body.write_text(
        "The scheduled monitor raised an alert; this branch re-runs the pipeline on the data "
        "the DVC source points at now. The pull-request workflow trains the model and posts "
        "its report here: **review it before merging. Nothing is merged automatically.**\n\n"
        f"**Monitoring run:** {run_url}\n\n" + markdown(summary, "reports/monitoring/report.html"),
        encoding="utf-8",
    )
    url = gh(
        "gh", "pr", "create", "--base", base, "--head", branch, "--title", title,
        "--body-file", str(body),
    )  # fmt: skip
    return url.strip()


def _gh_and_git(runner: Runner) -> Gh:
    """`gh ...` goes to the GitHub CLI; `gh('git', ...)` and `gh('gh', ...)` name the tool."""

    def run(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        if args and args[0] in {"git", "gh"}:
            return runner(list(args))
        return runner(["gh", *args])

    return Gh(run)


def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    runner: Runner = default_runner,
) -> int:
    env = os.environ if env is None else env
    command = (argv or sys.argv[1:] or [""])[0]
    gh = _gh_and_git(runner)
    work = Path(env.get("RUNNER_TEMP") or ".")
    try:
        summary_path = Path(env.get("ALERT_SUMMARY", ""))
        if not summary_path.is_file():
            raise InputError(f"summary {str(summary_path)!r} not found")
        summary = load_summary(summary_path)
        run_url = env.get("ALERT_RUN_URL", "")
        if command == "issue":
            title, label = env.get("ALERT_TITLE", ""), env.get("ALERT_LABEL", "")
            if not title.strip() or len(title) > 200:
                raise InputError("title must be 1 to 200 characters")
            if not LABEL.match(label):
                raise InputError(f"label {label!r}: letters, digits, spaces and ._:/- only")
            webhook = env.get("ALERT_WEBHOOK_URL", "")
            if webhook and not webhook.startswith("https://"):
                raise InputError("webhook-url must be an https:// URL")
        elif command == "retrain":
            branch, base = env.get("ALERT_BRANCH", ""), env.get("ALERT_BASE", "")
            for name, value in (("branch", branch), ("base", base)):
                if not BRANCH.match(value) or ".." in value or value.startswith("-"):
                    raise InputError(f"{name} {value!r} is not a valid branch name")
        else:
            raise InputError(f"unknown command {command!r}: expected issue or retrain")
    except (InputError, ValueError) as exc:
        return error("monitor alert", exc)

    try:
        if command == "issue":
            if not summary["alert"]:
                print("monitor alert: the summary holds no alert; nothing to do")
                append("GITHUB_OUTPUT", "issue-action=none\nissue-number=\n", env)
                return 0
            repo = env.get("GH_REPO", "")
            action, number = open_or_update(
                gh, summary, title, label, run_url, env.get("ALERT_REPORT", ""), work
            )
            issue_url = (
                f"{env.get('GITHUB_SERVER_URL', 'https://github.com')}/{repo}/issues/{number}"
            )
            append("GITHUB_OUTPUT", f"issue-action={action}\nissue-number={number}\n", env)
            append("GITHUB_STEP_SUMMARY", f"Alert issue {action}: {issue_url}\n", env)
            print(f"monitor alert: issue #{number} {action}")
            if webhook:
                notify(webhook, summary, run_url, issue_url)
            return 0
        refresh_command = env.get("ALERT_REFRESH", "")
        url = retrain(
            gh, summary, branch, base, run_url,
            lambda: subprocess.run(["bash", "-c", refresh_command], check=False).returncode
            if refresh_command.strip() else 0,
            work,
        )  # fmt: skip
        append("GITHUB_OUTPUT", f"pr-url={url}\n", env)
        append("GITHUB_STEP_SUMMARY", f"Retraining pull request: {url}\n", env)
        print(f"monitor retrain: {url}")
        return 0
    except RuntimeError as exc:
        return error("monitor alert", exc)


if __name__ == "__main__":
    sys.exit(main())
