"""The `deploy` action: the generated project's deployment commands, then outputs and summary.

One path for both targets: `make [kserve-]deploy|rollback|undeploy [VERSION=n]`. The project
does the canary, the checks and the automatic rollback (src/<package>/deploy.py on this
runner behind nginx, src/<package>/kserve.py against the cluster), and both print the same
contract: `canary <N>%: ...: ok|FAILED (...)` per step, notes starting `deploy: `,
`rollback: ` or `undeploy: `, the endpoint URL on the last stdout line on success, and
`error: <reason>` on stderr with exit 1 on failure. This script only validates the inputs
and turns that output into step outputs and a job summary.

Without a registry URI but with a GitHub token, the champion lives in GitHub releases
`model-v<N>` (src/<package>/champion_store.py): `make champion-pull` first restores release N
as `champion` and N-1 as `previous-champion` in the runner's fresh registry (and, when a
version is given, release `model-v<version>`: without a server a version is a release
number). After a successful rollback, `make champion-rollback` publishes the restored model
as release `model-v<N+1>`, so the rollback outlives the job. Unit-tested in-process with
recorded commands (tests/test_promote_deploy_actions.py).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

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
from workflow_commands import error  # noqa: E402

COMMANDS = ("deploy", "rollback", "undeploy")
PREFIX = {"local": "", "kserve": "kserve-"}
WHERE = {"local": "on this runner", "kserve": "on the cluster (KUBECONFIG)"}
VERSION = re.compile(r"^[0-9]*$")
CANARY = re.compile(r"^canary (\d+)%: .*$")
NOTE = ("deploy: ", "rollback: ", "undeploy: ")
SERVING = re.compile(r"^(?:deploy|rollback): version (\S+) (?:serving|serves 100%|is already)")
REQUESTED = re.compile(r"^release (model-v\d+) is version (\d+)$")
RELEASE = re.compile(r"release (model-v\d+)")


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


def report(title: str, stdout: str, reason: str, notes: list[str], quote: str) -> str:
    """The canary steps, the project's notes and where the champion came from, as Markdown."""
    lines = [title, ""]
    if reason:
        lines += [f"**{reason}**", ""]
    steps = [line for line in stdout.splitlines() if CANARY.match(line)]
    if steps:
        lines += ["| Canary step | Result |", "|---|---|"]
        lines += [
            f"| {line.split(':', 1)[0]} | {line.split(':', 1)[1].strip()} |" for line in steps
        ]
        lines.append("")
    lines += [f"- {line}" for line in stdout.splitlines() if line.startswith(NOTE)]
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
    release = match[1] if said and (match := RELEASE.search(said[0])) else ""
    if not version:
        return "", release, notes
    requested = [m for line in said if (m := REQUESTED.match(line))]
    if not requested:
        raise StepError(f"make champion-pull did not register release model-v{version}")
    return requested[-1][2], requested[-1][1], notes


def main(env: Mapping[str, str], runner: Runner = run) -> int:
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
    version, stdout, reason = values["version"], "", ""
    try:
        if uses_releases:
            version, outputs["release"], store = pull_champion(values, gh_env, runner)
        extra = [f"VERSION={version}"] if version and command != "undeploy" else []
        result = make(runner, target, venv, child, *extra)
        stdout = result.stdout
        if result.returncode != 0:
            raise StepError(failure(result, f"make {target}"))
        lines = stdout.strip().splitlines()
        if lines and lines[-1].startswith(("http://", "https://")):
            outputs["url"] = lines[-1]
        serving = [m[1] for line in lines if (m := SERVING.match(line))]
        outputs["version"] = serving[-1] if serving else ""
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
        stopped = make(runner, PREFIX[values["target"]] + "undeploy", venv, child)
        notes.append(f"stopped afterwards (stop-after): {stopped.stdout.strip().splitlines()[-1:]}")
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
    summary = report(title, stdout, reason, notes, quote)
    if path := env.get("GITHUB_OUTPUT"):
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.writelines(f"{key}={value}\n" for key, value in outputs.items())
    if path := env.get("GITHUB_STEP_SUMMARY"):
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(summary)
    return error("", reason) if not ok else 0


if __name__ == "__main__":
    sys.exit(main(os.environ))
