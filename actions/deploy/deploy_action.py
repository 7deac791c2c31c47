"""The `deploy` action: the generated project's deployment commands, then outputs and summary.

target=local runs `make deploy|rollback|undeploy` (the project's deploy.py does the canary,
the checks and the automatic rollback; the last line it prints is the endpoint URL).
target=kserve renders the project's InferenceService for each canary step (`make
kserve-manifest`), applies it with kubectl and waits for its readiness (KServe's own
probes); a failed step re-applies `canaryTrafficPercent: 0`, which
pins the previous revision. The prediction checks of the local canary are not run against
the cluster yet (docs/deployment.md). Unit-tested in-process with recorded commands.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

COMMANDS = ("deploy", "rollback", "undeploy")
TARGETS = ("local", "kserve")
VERSION = re.compile(r"^[0-9]*$")
VENV = re.compile(r"^[A-Za-z0-9_./-]+$")
CANARY = re.compile(r"^canary (\d+)%: .*$")
MANIFEST = "kserve/rendered.yaml"

Runner = Callable[[Sequence[str], Mapping[str, str]], "subprocess.CompletedProcess[str]"]


class InputError(ValueError):
    pass


def parse_inputs(env: Mapping[str, str]) -> dict[str, str]:
    values = {
        "command": env.get("DEPLOY_COMMAND", ""),
        "target": env.get("DEPLOY_TARGET", ""),
        "version": env.get("DEPLOY_VERSION", "").strip(),
        "venv": env.get("DEPLOY_VENV", ""),
        "stop_after": env.get("DEPLOY_STOP_AFTER", ""),
        "uri": env.get("DEPLOY_TRACKING_URI", ""),
    }
    if values["command"] not in COMMANDS:
        raise InputError(f"command must be one of {', '.join(COMMANDS)}, got {values['command']!r}")
    if values["target"] not in TARGETS:
        raise InputError(f"target must be one of {', '.join(TARGETS)}, got {values['target']!r}")
    if not VERSION.match(values["version"]):
        raise InputError(f"version must be a registered version number, got {values['version']!r}")
    if not VENV.match(values["venv"]) or values["venv"].startswith("-"):
        raise InputError(f"venv must be a directory path, got {values['venv']!r}")
    if values["stop_after"] not in ("true", "false"):
        raise InputError(f"stop-after must be true or false, got {values['stop_after']!r}")
    return values


def run(command: Sequence[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(command), env=dict(env), capture_output=True, text=True)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result


def failure(result: subprocess.CompletedProcess[str], what: str) -> str:
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    return errors[-1].removeprefix("error: ") if errors else f"{what} failed ({result.returncode})"


def local_summary(command: str, stdout: str, ok: bool, reason: str = "") -> str:
    """The canary steps and the outcome, as Markdown."""
    lines = [f"### `make {command}` on this runner: {'succeeded' if ok else 'FAILED'}", ""]
    if reason:
        lines += [f"**{reason}**", ""]
    steps = [line for line in stdout.splitlines() if CANARY.match(line)]
    if steps:
        lines += ["| Canary step | Result |", "|---|---|"]
        lines += [
            f"| {line.split(':', 1)[0]} | {line.split(':', 1)[1].strip()} |" for line in steps
        ]
        lines.append("")
    notes = [
        line
        for line in stdout.splitlines()
        if line.startswith(("deploy:", "rollback:", "undeploy:"))
    ]
    lines += [f"- {line}" for line in notes]
    return "\n".join(lines) + "\n"


def deploy_local(
    values: Mapping[str, str], env: dict[str, str], runner: Runner
) -> tuple[int, dict]:
    command = values["command"]
    make = ["make", command, f"VENV={values['venv']}"]
    if values["version"] and command != "undeploy":
        make.append(f"VERSION={values['version']}")
    result = runner(make, env)
    outputs: dict[str, str] = {}
    lines = result.stdout.strip().splitlines()
    if result.returncode == 0 and lines and lines[-1].startswith("http://"):
        outputs["url"] = lines[-1]
        state = Path(".deploy/state.json")
        if state.exists():
            outputs["version"] = json.loads(state.read_text(encoding="utf-8"))["stable"]["version"]
    reason = "" if result.returncode == 0 else failure(result, f"make {command}")
    report = local_summary(command, result.stdout, result.returncode == 0, reason)
    if values["stop_after"] == "true" and command != "undeploy":
        stopped = runner(["make", "undeploy", f"VENV={values['venv']}"], env)
        report += f"- stopped afterwards (stop-after): {stopped.stdout.strip().splitlines()[-1:]}\n"
    if result.returncode != 0:
        print(f"::error::{reason}")
    return result.returncode, {"outputs": outputs, "summary": report}


def canary_steps(venv: str, runner: Runner, env: Mapping[str, str]) -> list[int]:
    code = "import yaml; print(yaml.safe_load(open('params.yaml'))['deploy']['canary_steps'])"
    result = runner([f"{venv}/bin/python", "-c", code], env)
    return [int(step) for step in json.loads(result.stdout.strip().splitlines()[-1])]


def deploy_kserve(
    values: Mapping[str, str], env: dict[str, str], runner: Runner
) -> tuple[int, dict]:
    """One apply per canary step, each waiting for readiness."""
    venv, version = values["venv"], values["version"]
    if values["command"] == "undeploy":
        result = runner(["kubectl", "delete", "--ignore-not-found", "-f", MANIFEST], env)
        reason = "" if result.returncode == 0 else failure(result, "kubectl delete")
        if reason:
            print(f"::error::{reason}")
        return result.returncode, {"outputs": {}, "summary": f"### KServe undeploy\n\n{reason}\n"}
    # rollback pins the previous revision: all traffic back to it
    weights = [0] if values["command"] == "rollback" else canary_steps(venv, runner, env)
    lines = ["### KServe rollout", "", "| canaryTrafficPercent | Result |", "|---|---|"]
    for weight in weights:
        render = ["make", "kserve-manifest", f"VENV={venv}", f"CANARY={weight}"]
        if version:
            render.append(f"VERSION={version}")
        steps = [
            render,
            ["kubectl", "apply", "-f", MANIFEST],
            ["kubectl", "wait", "--for=condition=Ready", "-f", MANIFEST, "--timeout=15m"],
        ]
        for command in steps:
            result = runner(command, env)
            if result.returncode != 0:
                reason = f"{' '.join(command[:2])} at {weight}%: {failure(result, command[0])}"
                lines.append(f"| {weight} | FAILED: {reason} |")
                if values["command"] == "deploy" and weight > 0:
                    pin = ["make", "kserve-manifest", f"VENV={venv}", "CANARY=0"]
                    runner(pin + ([f"VERSION={version}"] if version else []), env)
                    runner(["kubectl", "apply", "-f", MANIFEST], env)
                    lines.append("| 0 | rolled back: previous revision pinned |")
                print(f"::error::{reason}")
                return 1, {"outputs": {}, "summary": "\n".join(lines) + "\n"}
        lines.append(f"| {weight} | ready |")
    url = runner(
        ["kubectl", "get", "-f", MANIFEST, "-o", "jsonpath={.status.url}"], env
    ).stdout.strip()
    return 0, {"outputs": {"url": url, "version": version}, "summary": "\n".join(lines) + "\n"}


def main(env: Mapping[str, str], runner: Runner = run) -> int:
    try:
        values = parse_inputs(env)
    except InputError as exc:
        print(f"::error::{exc}")
        return 1
    child = dict(env)
    if values["uri"]:
        child["MLFLOW_TRACKING_URI"] = values["uri"]
    if values["target"] == "local":
        code, result = deploy_local(values, child, runner)
    else:
        code, result = deploy_kserve(values, child, runner)
    if path := env.get("GITHUB_OUTPUT"):
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.writelines(f"{key}={value}\n" for key, value in result["outputs"].items())
    if path := env.get("GITHUB_STEP_SUMMARY"):
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(result["summary"])
    return code


if __name__ == "__main__":
    sys.exit(main(os.environ))
