"""The `deploy` action: the generated project's deployment commands, then outputs and summary.

One path for both targets: `make [kserve-]deploy|rollback|undeploy [VERSION=n]`. The project
does the canary, the checks and the automatic rollback (gitops-ml deploy behind nginx on this
runner, gitops-ml kserve against the cluster), and both write what they did, failed or not, to
a `deployment` result file (`DEPLOY_RESULT=reports/deploy/result.json`; its fields:
src/gitops_ml/results.py): the outcome and its reason, the URL, the version serving all
traffic and the one before, every canary step with its checks, and the notes. This script
validates the inputs, removes any stale result, runs the target, and turns the result file
(never the command's stdout) into step outputs and a job summary. A result of a kind or
schema version this action does not understand fails the step with one sentence saying which
gitops-ml it needs (actions/_shared/results.py).

Without a registry URI but with a GitHub token, the champion lives in GitHub releases
`model-v<N>` (gitops-ml champion): `make champion-pull` first restores release N as `champion`
and N-1 as `previous-champion` in the runner's fresh registry (and, when a version is given,
release `model-v<version>`: without a server a version is a release number). After a
successful rollback, `make champion-rollback` publishes the restored model as release
`model-v<N+1>`, so the rollback outlives the job. Unit-tested in-process with recorded
commands (tests/test_promote_deploy_actions.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))

from project_make import (  # noqa: E402
    Runner,
    failure,
    github_env,
    make,
    run,
    store_lines,
    tracking_uri_error,
    venv_error,
)
from results import PATHS, ResultError, needs, read  # noqa: E402
from workflow_commands import error  # noqa: E402

COMMANDS = ("deploy", "rollback", "undeploy")
PREFIX = {"local": "", "kserve": "kserve-"}
WHERE = {"local": "on this runner", "kserve": "on the cluster (KUBECONFIG)"}
VERSION = re.compile(r"^[0-9]*$")
REQUESTED = re.compile(r"^release (model-v\d+) is version (\d+)$")
RELEASE = re.compile(r"release (model-v\d+)")
RESULT = PATHS["deployment"]
# stop-after's undeploy writes its own result, so the deployment's stays for later steps
STOPPED = "reports/deploy/stop-after.json"


class InputError(ValueError):
    pass


class StepError(RuntimeError):
    pass


def parse_inputs(env: Mapping[str, str]) -> dict[str, str]:
    values = {
        "command": env.get("DEPLOY_COMMAND", ""),
        "target": env.get("DEPLOY_TARGET", ""),
        "version": env.get("DEPLOY_VERSION", "").strip(),
        "venv": env.get("DEPLOY_VENV", ""),
        "stop_after": env.get("DEPLOY_STOP_AFTER", ""),
        "uri": env.get("DEPLOY_TRACKING_URI", ""),
        "token": env.get("DEPLOY_GITHUB_TOKEN", ""),
    }
    if values["command"] not in COMMANDS:
        raise InputError(f"command must be one of {', '.join(COMMANDS)}, got {values['command']!r}")
    if values["target"] not in PREFIX:
        raise InputError(f"target must be one of {', '.join(PREFIX)}, got {values['target']!r}")
    if not VERSION.match(values["version"]):
        raise InputError(f"version must be a registered version number, got {values['version']!r}")
    if problem := venv_error(values["venv"]):
        raise InputError(problem)
    if values["stop_after"] not in ("true", "false"):
        raise InputError(f"stop-after must be true or false, got {values['stop_after']!r}")
    if problem := tracking_uri_error(values["uri"]):
        raise InputError(problem)
    return values


def run_target(
    runner: Runner,
    target: str,
    venv: str,
    env: Mapping[str, str],
    cwd: Path,
    result_path: str,
    *extra: str,
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any] | None, str]:
    """`make <target> DEPLOY_RESULT=<result_path>`, then its result file.

    Returns (the process, the result or None, why it failed: '' on success). The reason is the
    result's own (`reason`), the refusal of a result this action does not understand, or, with
    no result written, the project's `error:` line.
    """
    (cwd / result_path).unlink(missing_ok=True)  # only a result written by this run counts
    done = make(runner, target, venv, env, f"DEPLOY_RESULT={result_path}", *extra)
    try:
        result = read(cwd / result_path, "deployment", result_path)
    except ResultError as exc:
        if (cwd / result_path).is_file():
            return done, None, str(exc)
        if done.returncode != 0:
            return done, None, failure(done, f"make {target}")
        missing = (
            f"make {target} succeeded but wrote no {result_path}, so this action cannot tell "
            f"what serves: it needs {needs()}"
        )
        return done, None, missing
    if done.returncode != 0:
        return done, result, result.get("reason") or failure(done, f"make {target}")
    return done, result, ""


def percent(value: Any) -> str:
    return "-" if value is None else f"{float(value):.0%}"


def steps_table(result: Mapping[str, Any]) -> list[str]:
    """The canary steps and their checks as a Markdown table, then the limits they met."""
    steps = result.get("steps") or []
    if not steps:
        return []
    lines = [
        "| Canary step | Requests (to the candidate) | Error rate | Candidate p95 | Agreement "
        "| Result |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for step in steps:
        rate = step.get("error_rate")
        p95 = step.get("p95_ms")
        failures = "; ".join(step.get("failures", [])).replace("|", "\\|")  # a table cell
        verdict = "ok" if step.get("passed") else f"FAILED: {failures}"
        lines.append(
            f"| {step['share']}% | {step.get('requests', 0)} ({step.get('candidate_requests', 0)}) "
            f"| {'-' if rate is None else f'{float(rate):.2%}'} "
            f"| {'-' if p95 is None else f'{float(p95):.0f} ms'} "
            f"| {percent(step.get('agreement'))} | {verdict} |"
        )
    limits = result.get("limits") or {}
    if limits:
        lines += [
            "",
            f"Limits (params.yaml `deploy:`): error rate <= {float(limits['max_error_rate']):.2%}, "
            f"candidate p95 <= {float(limits['max_p95_latency_ms']):g} ms, agreement >= "
            f"{float(limits['min_agreement']):.0%}"
            + (
                f", extra checks {', '.join(limits['extra_checks'])}"
                if limits.get("extra_checks")
                else ""
            ),
        ]
    return [*lines, ""]


def outcome_line(result: Mapping[str, Any]) -> str:
    """E.g. `Outcome: **deployed**: version 2 serves all traffic (before: version 1); ...`."""
    parts = []
    if result.get("version"):
        parts.append(f"version {result['version']} serves all traffic")
    elif result.get("ab"):
        ab = result["ab"]
        parts.append(
            f"A/B test: version {ab['candidate']} gets {ab['share']}% beside version {ab['stable']}"
        )
    else:
        parts.append(f"nothing serves {WHERE.get(result.get('target', ''), 'here')}")
    if result.get("previous_version"):
        parts[-1] += f" (before: version {result['previous_version']})"
    if result.get("champion"):
        parts.append(f"registry `champion`: version {result['champion']}")
    if result.get("url"):
        parts.append(f"URL {result['url']}")
    return f"Outcome: **{result.get('outcome', '?')}**: " + "; ".join(parts)


def report(
    title: str, result: Mapping[str, Any] | None, reason: str, notes: list[str], quote: str
) -> str:
    """The outcome, the canary steps, the project's notes and where the champion came from."""
    lines = [title, ""]
    if reason:
        lines += [f"**{reason}**", ""]
    if result is not None:
        lines += [outcome_line(result), ""]
        lines += steps_table(result)
        lines += [f"- {note}" for note in result.get("notes") or []]
    lines += [f"- {note}" for note in notes]
    if quote:
        lines += ["", f"> {quote}"]
    return "\n".join(lines) + "\n"


def pull_champion(
    values: Mapping[str, str], gh_env: Mapping[str, str], runner: Runner
) -> tuple[str, str, list[str]]:
    """`make champion-pull [RELEASE=n]`: (registry version to pass on, release, notes)."""
    version = values["version"]
    extra = [f"RELEASE={version}"] if version else []
    result = make(runner, "champion-pull", values["venv"], gh_env, *extra)
    if result.returncode != 0:
        raise StepError(
            "could not restore the champion from the GitHub releases: "
            + failure(result, "make champion-pull")
        )
    said = store_lines(result)
    notes = [f"Restored: {said[0]}." if said else "Restored nothing."]
    notes += [line for line in said[1:] if "attestation was not verified" in line]
    release = match[1] if said and (match := RELEASE.search(said[0])) else ""
    if not version:
        return "", release, notes
    requested = [m for line in said if (m := REQUESTED.match(line))]
    if not requested:
        raise StepError(f"make champion-pull did not register release model-v{version}")
    return requested[-1][2], requested[-1][1], notes


def main(env: Mapping[str, str], runner: Runner = run, cwd: Path | None = None) -> int:
    cwd = Path.cwd() if cwd is None else cwd
    try:
        values = parse_inputs(env)
    except InputError as exc:
        return error("", exc)
    command, venv = values["command"], values["venv"]
    child = dict(env)
    child.pop("DEPLOY_GITHUB_TOKEN", None)
    if values["uri"]:
        child["MLFLOW_TRACKING_URI"] = values["uri"]
    # The token reaches the `gh` steps only, never the model code of make deploy|rollback.
    gh_env = github_env(child, values["token"])
    uses_releases = not values["uri"] and bool(values["token"]) and command != "undeploy"
    target = PREFIX[values["target"]] + command
    store: list[str] = []
    outputs = {"url": "", "version": "", "release": ""}
    version, result, reason = values["version"], None, ""
    try:
        if uses_releases:
            version, outputs["release"], store = pull_champion(values, gh_env, runner)
        extra = [f"VERSION={version}"] if version and command != "undeploy" else []
        _, result, reason = run_target(runner, target, venv, child, cwd, RESULT, *extra)
        if result is not None:  # what serves now, even after a failed canary rolled back
            outputs["url"] = result.get("url") or ""
            outputs["version"] = result.get("version") or ""
        if reason:
            raise StepError(reason)
        if uses_releases and command == "rollback":
            published = make(runner, "champion-rollback", venv, gh_env)
            if published.returncode != 0:
                raise StepError(
                    f"rolled back {WHERE[values['target']]}, but the rollback release was not "
                    "created, so the next deployment and the next gate still start from the "
                    f"latest model-v<N>: {failure(published, 'make champion-rollback')}"
                )
            said = store_lines(published)
            match = RELEASE.search(said[-1]) if said else None
            outputs["release"] = match[1] if match else ""
            store.append(
                f"Rollback published as {said[-1].removeprefix('published ') if said else '?'}"
                ": the next deployment and the next gate start from it."
            )
    except StepError as exc:
        reason = str(exc)
    ok = not reason
    title = f"### `make {target}` {WHERE[values['target']]}: {'succeeded' if ok else 'FAILED'}"
    notes = []
    if values["stop_after"] == "true" and command != "undeploy":
        undeploy = PREFIX[values["target"]] + "undeploy"
        _, stopped, problem = run_target(runner, undeploy, venv, child, cwd, STOPPED)
        said = (stopped or {}).get("notes") or [problem or f"make {undeploy} reported nothing"]
        notes.append(f"stopped afterwards (stop-after): {said[-1]}")
    quote = ""
    if store:
        quote = (
            "No `MLFLOW_TRACKING_URI` secret: the champion comes from GitHub releases "
            "`model-v<N>` (docs/deployment.md). " + " ".join(store)
        )
    elif not values["uri"] and not values["token"] and command != "undeploy":
        quote = (
            "No `MLFLOW_TRACKING_URI` secret and no `github-token`: this runner's own registry "
            "was used as it is (docs/deployment.md)."
        )
    summary = report(title, result, reason, notes, quote)
    if path := env.get("GITHUB_OUTPUT"):
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.writelines(f"{key}={value}\n" for key, value in outputs.items())
    if path := env.get("GITHUB_STEP_SUMMARY"):
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(summary)
    return error("", reason) if not ok else 0


if __name__ == "__main__":
    sys.exit(main(os.environ))
